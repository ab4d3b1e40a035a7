// The one binding file: converts arrays, releases the GIL and maps errors. No mathematics here.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "relutope/enumerate.hpp"
#include "relutope/lp.hpp"
#include "relutope/network.hpp"
#include "relutope/polygon2d.hpp"

namespace py = pybind11;
using namespace relutope;

using darray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using i8array = py::array_t<int8_t, py::array::c_style | py::array::forcecast>;
using i32array = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

namespace {

void check_shape(const py::array& a, const char* name, std::vector<py::ssize_t> shape) {
  if (a.ndim() != static_cast<py::ssize_t>(shape.size()))
    throw std::invalid_argument(std::string(name) + ": expected " + std::to_string(shape.size()) +
                                "-D array, got " + std::to_string(a.ndim()) + "-D");
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] >= 0 && a.shape(i) != shape[i])
      throw std::invalid_argument(std::string(name) + ": axis " + std::to_string(i) + " has length " +
                                  std::to_string(a.shape(i)) + ", expected " + std::to_string(shape[i]));
}

void check_finite(const darray& a, const char* name, bool allow_inf = false) {
  const double* p = a.data();
  for (py::ssize_t i = 0; i < a.size(); ++i)
    if (std::isnan(p[i]) || (!allow_inf && std::isinf(p[i])))
      throw std::invalid_argument(std::string(name) + ": contains NaN" + (allow_inf ? "" : " or inf"));
}

// Hand a std::vector to numpy without a copy: the vector lives on the heap, owned by a capsule.
template <typename T>
py::array to_numpy(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, heap->data(), owner);
}

Network make_network(const py::list& layers) {
  std::vector<Layer> out;
  for (size_t l = 0; l < layers.size(); ++l) {
    auto t = layers[l].cast<py::tuple>();
    if (t.size() != 3) throw std::invalid_argument("layers: each layer is a tuple (A, c, n_pieces)");
    darray A = t[0].cast<darray>();
    darray c = t[1].cast<darray>();
    i32array np_ = t[2].cast<i32array>();
    check_shape(A, "A", {-1, -1});
    check_shape(c, "c", {A.shape(0)});
    check_shape(np_, "n_pieces", {-1});
    Layer L;
    L.in_dim = static_cast<int>(A.shape(1));
    L.n_units = static_cast<int>(np_.shape(0));
    L.piece_start.assign(1, 0);
    for (py::ssize_t u = 0; u < np_.shape(0); ++u) L.piece_start.push_back(L.piece_start.back() + np_.data()[u]);
    L.A.assign(A.data(), A.data() + A.size());
    L.c.assign(c.data(), c.data() + c.size());
    out.push_back(std::move(L));
  }
  return Network(std::move(out));
}

py::tuple local_affine_maps(const Network& net, const i8array& patterns) {
  check_shape(patterns, "patterns", {-1, net.n_units()});
  const py::ssize_t R = patterns.shape(0);
  const int m = net.out_dim(), d = net.in_dim();
  std::vector<double> A(static_cast<size_t>(R) * m * d), b(static_cast<size_t>(R) * m);
  const int8_t* P = patterns.data();
  {
    py::gil_scoped_release release;
    for (py::ssize_t r = 0; r < R; ++r)
      net.local_affine_map(P + r * net.n_units(), &A[static_cast<size_t>(r) * m * d], &b[static_cast<size_t>(r) * m]);
  }
  return py::make_tuple(to_numpy(std::move(A), {R, m, d}), to_numpy(std::move(b), {R, m}));
}

py::tuple region_halfspaces(const Network& net, const i8array& pattern) {
  check_shape(pattern, "pattern", {net.n_units()});
  std::vector<double> G, h;
  const int rows = net.region_halfspaces(pattern.data(), G, h);
  return py::make_tuple(to_numpy(std::move(G), {rows, net.in_dim()}), to_numpy(std::move(h), {rows}));
}

py::dict enumerate_py(const Network& net, const darray& x0, const darray& Q, const darray& Adom, const darray& bdom,
                      const darray& u0, double tol, double radius_cap, int64_t max_regions, double time_limit,
                      int64_t checkpoint_every, py::object callback) {
  const int d = net.in_dim();
  check_shape(x0, "x0", {d});
  check_shape(Q, "Q", {d, -1});
  const int k = static_cast<int>(Q.shape(1));
  check_shape(Adom, "A_domain", {-1, k});
  check_shape(bdom, "b_domain", {Adom.shape(0)});
  check_shape(u0, "u0", {k});
  check_finite(x0, "x0");
  check_finite(Q, "Q");
  check_finite(Adom, "A_domain");
  check_finite(bdom, "b_domain");
  EnumOptions opt;
  opt.tol = tol;
  opt.radius_cap = radius_cap;
  opt.max_regions = max_regions;
  opt.time_limit = time_limit;
  opt.checkpoint_every = checkpoint_every;
  // Every few thousand regions: take the GIL, let Python handle signals (Ctrl-C) and report progress.
  std::unique_ptr<py::error_already_set> pending;
  Checkpoint cp = [&](int64_t regions) -> bool {
    py::gil_scoped_acquire acquire;
    if (PyErr_CheckSignals() != 0) {
      PyErr_Clear();
      return false;
    }
    if (!callback.is_none()) {
      try {
        py::object r = callback(regions);
        if (!r.is_none() && !r.cast<bool>()) return false;
      } catch (py::error_already_set& e) {
        pending = std::make_unique<py::error_already_set>(std::move(e));
        return false;
      }
    }
    return true;
  };
  EnumResult res;
  {
    py::gil_scoped_release release;
    res = enumerate_regions(net, x0.data(), Q.data(), k, Adom.data(), bdom.data(), static_cast<int>(Adom.shape(0)),
                            u0.data(), opt, cp);
  }
  if (pending) throw std::move(*pending);
  const py::ssize_t R = res.regions();
  py::dict out;
  out["patterns"] = to_numpy(std::move(res.patterns), {R, static_cast<py::ssize_t>(res.n_units)});
  out["centers"] = to_numpy(std::move(res.centers), {R, static_cast<py::ssize_t>(k)});
  out["radii"] = to_numpy(std::move(res.radii), {R});
  const py::ssize_t L = static_cast<py::ssize_t>(res.layer_counts.size());
  out["layer_counts"] = to_numpy(std::move(res.layer_counts), {L});
  out["lps"] = res.lps;
  out["lp_iterations"] = res.lp_iterations;
  out["status"] = std::string(enum_status_name(res.status));
  out["message"] = res.message;
  out["seconds"] = res.seconds;
  return out;
}

py::tuple solve_lp_py(const darray& c, const darray& G, const darray& h, const darray& lb, const darray& ub) {
  check_shape(c, "c", {-1});
  const py::ssize_t n = c.shape(0);
  check_shape(G, "G", {-1, n});
  check_shape(h, "h", {G.shape(0)});
  check_shape(lb, "lb", {n});
  check_shape(ub, "ub", {n});
  check_finite(c, "c");
  check_finite(G, "G");
  check_finite(h, "h");
  check_finite(lb, "lb", true);
  check_finite(ub, "ub", true);
  LPResult r;
  {
    py::gil_scoped_release release;
    r = solve_lp(static_cast<int>(n), static_cast<int>(G.shape(0)), c.data(), G.data(), h.data(), lb.data(),
                 ub.data());
  }
  return py::make_tuple(std::string(lp_status_name(r.status)), to_numpy(std::move(r.y), {n}), r.value,
                        r.iterations);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "relutope's compiled core (private: use the relutope package)";

  py::class_<Network>(m, "Network")
      .def(py::init(&make_network), py::arg("layers"))
      .def_property_readonly("n_units", &Network::n_units)
      .def_property_readonly("in_dim", &Network::in_dim)
      .def_property_readonly("out_dim", &Network::out_dim);

  m.def("local_affine_maps", &local_affine_maps, py::arg("net"), py::arg("patterns"));
  m.def("region_halfspaces", &region_halfspaces, py::arg("net"), py::arg("pattern"));
  m.def("enumerate_regions", &enumerate_py, py::arg("net"), py::arg("x0"), py::arg("Q"), py::arg("A_domain"),
        py::arg("b_domain"), py::arg("u0"), py::arg("tol"), py::arg("radius_cap"), py::arg("max_regions"),
        py::arg("time_limit"), py::arg("checkpoint_every"), py::arg("callback"));
  m.def("solve_lp", &solve_lp_py, py::arg("c"), py::arg("G"), py::arg("h"), py::arg("lb"), py::arg("ub"));

  // ------------------------------------------------------------------------------------------------------------
  // 2-D fast path (polygon2d.hpp): the same inputs and dict as enumerate_regions for a bounded 2-D domain, plus the
  // regions' polygons as CSR (offsets (R+1,) int64, vertices (V, 2) in u, counter-clockwise, edge_labels (V,)).
  m.def(
      "enumerate_polygons_2d",
      [](const Network& net, const darray& x0, const darray& Q, const darray& Adom, const darray& bdom, double tol,
         double radius_cap, int64_t max_regions, double time_limit, int64_t checkpoint_every,
         py::object callback) {
        const int d = net.in_dim();
        check_shape(x0, "x0", {d});
        check_shape(Q, "Q", {d, 2});
        check_shape(Adom, "A_domain", {-1, 2});
        check_shape(bdom, "b_domain", {Adom.shape(0)});
        check_finite(x0, "x0");
        check_finite(Q, "Q");
        check_finite(Adom, "A_domain");
        check_finite(bdom, "b_domain");
        EnumOptions opt;
        opt.tol = tol;
        opt.radius_cap = radius_cap;
        opt.max_regions = max_regions;
        opt.time_limit = time_limit;
        opt.checkpoint_every = checkpoint_every;
        std::unique_ptr<py::error_already_set> pending;
        Checkpoint cp = [&](int64_t regions) -> bool {
          py::gil_scoped_acquire acquire;
          if (PyErr_CheckSignals() != 0) {
            PyErr_Clear();
            return false;
          }
          if (callback.is_none()) return true;
          try {
            py::object r = callback(regions);
            return r.is_none() || r.cast<bool>();
          } catch (py::error_already_set& e) {
            pending = std::make_unique<py::error_already_set>(std::move(e));
            return false;
          }
        };
        PolygonEnumResult res;
        {
          py::gil_scoped_release release;
          res = enumerate_polygons_2d(net, x0.data(), Q.data(), Adom.data(), bdom.data(),
                                      static_cast<int>(Adom.shape(0)), opt, cp);
        }
        if (pending) throw std::move(*pending);
        EnumResult& b = res.base;
        const py::ssize_t R = b.regions(), V = static_cast<py::ssize_t>(res.edge_labels.size());
        const py::ssize_t L = static_cast<py::ssize_t>(b.layer_counts.size());
        py::dict out;
        out["patterns"] = to_numpy(std::move(b.patterns), {R, static_cast<py::ssize_t>(b.n_units)});
        out["centers"] = to_numpy(std::move(b.centers), {R, py::ssize_t(2)});
        out["radii"] = to_numpy(std::move(b.radii), {R});
        out["layer_counts"] = to_numpy(std::move(b.layer_counts), {L});
        out["lps"] = b.lps;
        out["lp_iterations"] = b.lp_iterations;
        out["status"] = std::string(enum_status_name(b.status));
        out["message"] = b.message;
        out["seconds"] = b.seconds;
        out["offsets"] = to_numpy(std::move(res.offsets), {R + 1});
        out["vertices"] = to_numpy(std::move(res.vertices), {V, py::ssize_t(2)});
        out["edge_labels"] = to_numpy(std::move(res.edge_labels), {V});
        return out;
      },
      py::arg("net"), py::arg("x0"), py::arg("Q"), py::arg("A_domain"), py::arg("b_domain"), py::arg("tol"),
      py::arg("radius_cap"), py::arg("max_regions"), py::arg("time_limit"), py::arg("checkpoint_every"),
      py::arg("callback"));
  // ------------------------------------------------------------------------------------------ end 2-D fast path
}
