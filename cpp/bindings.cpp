// The one binding file: converts arrays, releases the GIL and maps errors. No mathematics here.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "relutope/attack.hpp"
#include "relutope/certify.hpp"
#include "relutope/certify_bab.hpp"
#include "relutope/enumerate.hpp"
#include "relutope/geometry.hpp"
#include "relutope/lp.hpp"
#include "relutope/network.hpp"
#include "relutope/verify.hpp"
#include "relutope/polygon2d.hpp"
#include "relutope/polytope.hpp"
#include "relutope/volume.hpp"

namespace py = pybind11;
using namespace relutope;

using darray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using i8array = py::array_t<int8_t, py::array::c_style | py::array::forcecast>;
using u8array = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;
using i32array = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using i64array = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

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

// Hand a std::vector to numpy without a copy: the vector (moved, not copied) lives on the heap, owned by a capsule.
template <typename T>
py::array to_numpy(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, heap->data(), owner);
}

// The same for a BlockVector: its blocks become one exact-size vector (BlockVector::take), handed over as above.
template <typename T>
py::array to_numpy(BlockVector<T>& v, std::vector<py::ssize_t> shape) {
  return to_numpy(v.take(), std::move(shape));
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

// Packed patterns (patterns.hpp): (R, n_units) int8 <-> (R, pattern_bytes) uint8.
py::array pack_patterns(const Network& net, const i8array& patterns) {
  check_shape(patterns, "patterns", {-1, net.n_units()});
  const PatternLayout& lay = net.pattern_layout();
  const py::ssize_t R = patterns.shape(0), B = static_cast<py::ssize_t>(lay.row_bytes());
  std::vector<uint8_t> out(static_cast<size_t>(R) * B);
  const int8_t* P = patterns.data();
  {
    py::gil_scoped_release release;
    for (py::ssize_t r = 0; r < R; ++r) lay.pack(P + r * net.n_units(), out.data() + r * B);
  }
  return to_numpy(std::move(out), {R, B});
}

py::array unpack_patterns(const Network& net, const u8array& packed) {
  const PatternLayout& lay = net.pattern_layout();
  const py::ssize_t B = static_cast<py::ssize_t>(lay.row_bytes());
  check_shape(packed, "packed", {-1, B});
  const py::ssize_t R = packed.shape(0), n = net.n_units();
  std::vector<int8_t> out(static_cast<size_t>(R) * n);
  const uint8_t* P = packed.data();
  {
    py::gil_scoped_release release;
    for (py::ssize_t r = 0; r < R; ++r) lay.unpack(P + r * B, out.data() + r * n);
  }
  return to_numpy(std::move(out), {R, n});
}

// The witness check's forward pass (Network::witnesses_agree), GIL released: (R,) uint8, 1 where the witness's
// plain forward pass chooses its region's packed pattern.
py::array witnesses_agree_py(const Network& net, const darray& x0, const darray& Q, const darray& u,
                             const u8array& packed, int threads) {
  if (threads < 1) throw std::invalid_argument("threads: must be at least 1");
  const int d = net.in_dim();
  check_shape(x0, "x0", {d});
  check_shape(Q, "Q", {d, -1});
  const py::ssize_t k = Q.shape(1);
  check_shape(u, "u", {-1, k});
  const py::ssize_t R = u.shape(0);
  check_shape(packed, "packed", {R, static_cast<py::ssize_t>(net.pattern_layout().row_bytes())});
  check_finite(x0, "x0");
  check_finite(Q, "Q");
  check_finite(u, "u");
  std::vector<uint8_t> agree(static_cast<size_t>(R));
  {
    py::gil_scoped_release release;
    net.witnesses_agree(x0.data(), Q.data(), static_cast<int>(k), u.data(), packed.data(), R, threads, agree.data());
  }
  const auto bad = std::find(agree.begin(), agree.end(), uint8_t(2));
  if (bad != agree.end())
    throw std::invalid_argument("packed: row " + std::to_string(bad - agree.begin()) +
                                " names a piece one of its units does not have");
  return to_numpy(std::move(agree), {R});
}

py::tuple region_halfspaces(const Network& net, const i8array& pattern) {
  check_shape(pattern, "pattern", {net.n_units()});
  std::vector<double> G, h;
  const int rows = net.region_halfspaces(pattern.data(), G, h);
  return py::make_tuple(to_numpy(std::move(G), {rows, net.in_dim()}), to_numpy(std::move(h), {rows}));
}

// The domain's engine form, checked against the network's input size; the arrays must outlive the result.
DomainForm domain_form(const Network& net, const darray& x0, const darray& Q, const darray& Adom,
                       const darray& bdom) {
  const int d = net.in_dim();
  check_shape(x0, "x0", {d});
  check_shape(Q, "Q", {d, -1});
  const int k = static_cast<int>(Q.shape(1));
  check_shape(Adom, "A_domain", {-1, k});
  check_shape(bdom, "b_domain", {Adom.shape(0)});
  check_finite(x0, "x0");
  check_finite(Q, "Q");
  check_finite(Adom, "A_domain");
  check_finite(bdom, "b_domain");
  DomainForm dom;
  dom.k = k;
  dom.m = static_cast<int>(Adom.shape(0));
  dom.x0 = x0.data();
  dom.Q = Q.data();
  dom.A = Adom.data();
  dom.b = bdom.data();
  return dom;
}

// The arguments every enumeration takes, checked once.
struct EnumArgs {
  const Network& net;
  darray x0, Q, Adom, bdom, u0;
  EnumOptions opt;
  py::object callback;
  int k = 0;
  i8array prefix;  // EnumOptions::prefix points into it

  EnumArgs(const Network& n, darray x0_, darray Q_, darray A_, darray b_, darray u0_, double tol, double radius_cap,
           int64_t max_regions, double time_limit, int64_t checkpoint_every, py::object cb)
      : net(n), x0(std::move(x0_)), Q(std::move(Q_)), Adom(std::move(A_)), bdom(std::move(b_)), u0(std::move(u0_)),
        callback(std::move(cb)) {
    k = domain_form(net, x0, Q, Adom, bdom).k;
    check_shape(u0, "u0", {k});
    opt.tol = tol;
    opt.radius_cap = radius_cap;
    opt.max_regions = max_regions;
    opt.time_limit = time_limit;
    opt.checkpoint_every = checkpoint_every;
  }

  // Run body(checkpoint) with the GIL released; every few thousand regions the checkpoint takes the GIL back to
  // let Python handle signals (Ctrl-C) and report progress.
  template <typename Body>
  auto guarded(Body&& body) -> decltype(body(std::declval<const Checkpoint&>())) {
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
          if (e.matches(PyExc_KeyboardInterrupt)) return false;  // Ctrl-C while the callback ran: interrupted
          pending = std::make_unique<py::error_already_set>(std::move(e));
          return false;
        }
      }
      return true;
    };
    decltype(body(cp)) res;
    {
      py::gil_scoped_release release;
      res = body(cp);
    }
    if (pending) throw std::move(*pending);
    return res;
  }

  // Worker threads and a fixed prefix (EnumOptions::threads, prefix, prefix_layers), checked against the network.
  void parallel(int threads, const py::object& prefix_, int prefix_layers, bool split_all) {
    if (threads < 1) throw std::invalid_argument("threads: must be at least 1");
    opt.threads = threads;
    opt.split_all = split_all;
    if (prefix_layers == 0) return;
    const int L = static_cast<int>(net.layers().size());
    if (prefix_layers < 0 || prefix_layers >= L)
      throw std::invalid_argument("prefix_layers: must be between 0 and the number of layers minus 1");
    prefix = prefix_.cast<i8array>();
    const int n = net.unit_offset(prefix_layers);
    if (prefix.ndim() == 1) check_shape(prefix, "prefix", {n});
    else check_shape(prefix, "prefix", {-1, n});  // several prefixes, one after the other
    const py::ssize_t count = prefix.ndim() == 1 ? 1 : prefix.shape(0);
    if (count == 0) throw std::invalid_argument("prefix: no rows");
    for (py::ssize_t c = 0; c < count; ++c) {
      int u = 0;
      for (int l = 0; l < prefix_layers; ++l)
        for (int i = 0; i < net.layers()[l].n_units; ++i, ++u) {
          const int v = prefix.data()[c * n + u];
          if (v < 0 || v >= net.layers()[l].n_pieces(i))
            throw std::invalid_argument("prefix: unit " + std::to_string(u) + " has no piece " + std::to_string(v));
        }
    }
    opt.prefix = prefix.data();
    opt.prefix_layers = prefix_layers;
    opt.prefix_count = count;
  }

  EnumResult run(RegionVisitor* visitor = nullptr) {
    return guarded([&](const Checkpoint& cp) {
      return enumerate_regions(net, x0.data(), Q.data(), k, Adom.data(), bdom.data(), static_cast<int>(Adom.shape(0)),
                               u0.data(), opt, cp, visitor);
    });
  }
};

py::dict result_dict(EnumResult& res, int k) {
  const py::ssize_t R = res.regions();
  py::dict out;
  out["patterns"] = to_numpy(res.patterns, {R, static_cast<py::ssize_t>(res.pattern_bytes)});
  out["centers"] = to_numpy(res.centers, {R, static_cast<py::ssize_t>(k)});
  out["radii"] = to_numpy(res.radii, {R});
  const py::ssize_t L = static_cast<py::ssize_t>(res.layer_counts.size());
  out["layer_counts"] = to_numpy(std::move(res.layer_counts), {L});
  out["lps"] = res.lps;
  out["lp_iterations"] = res.lp_iterations;
  out["leaves"] = res.leaves;
  out["pruned"] = res.pruned;
  out["jobs"] = res.jobs;
  out["thin"] = res.thin;
  out["thin_open"] = res.thin_open;
  out["thin_regions"] = res.thin_regions;
  out["status"] = std::string(enum_status_name(res.status));
  out["message"] = res.message;
  out["seconds"] = res.seconds;
  return out;
}

#define ENUM_ARGS_DECL                                                                                          \
  const Network &net, darray x0, darray Q, darray Adom, darray bdom, darray u0, double tol, double radius_cap, \
      int64_t max_regions, double time_limit, int64_t checkpoint_every, py::object callback
#define ENUM_ARGS_PASS net, x0, Q, Adom, bdom, u0, tol, radius_cap, max_regions, time_limit, checkpoint_every, callback
#define ENUM_ARGS_PY                                                                                        \
  py::arg("net"), py::arg("x0"), py::arg("Q"), py::arg("A_domain"), py::arg("b_domain"), py::arg("u0"),   \
      py::arg("tol"), py::arg("radius_cap"), py::arg("max_regions"), py::arg("time_limit"),               \
      py::arg("checkpoint_every"), py::arg("callback")

// Certified enumeration (EnumOptions::certify): the options from a dict (dom_err (m,), half (k,), tol,
// max_failures, corrupt), and the counts and failures back as a dict.
struct CertifyArgs {
  darray dom_err, half;
  CertifyOptions opt;
  CertifyArgs(const py::dict& d, int m, int k)
      : dom_err(d["dom_err"].cast<darray>()), half(d["half"].cast<darray>()) {
    check_shape(dom_err, "certify.dom_err", {m});
    check_shape(half, "certify.half", {k});
    check_finite(dom_err, "certify.dom_err");
    check_finite(half, "certify.half");
    opt.dom_err = dom_err.data();
    opt.half = half.data();
    opt.tol = d["tol"].cast<double>();
    opt.max_failures = d["max_failures"].cast<int64_t>();
    opt.corrupt = d.contains("corrupt") && d["corrupt"].cast<bool>();
    opt.dump_max = d.contains("dump_max") ? d["dump_max"].cast<int64_t>() : 0;
    opt.max_thin_records = d.contains("max_thin_records") ? d["max_thin_records"].cast<int64_t>() : 0;
    if (opt.max_thin_records < 0) throw std::invalid_argument("certify.max_thin_records must be >= 0");
  }
};

py::dict certificate_dict(CertifyResult& c, int n_units) {
  py::dict out;
  out["decisions"] = c.decisions;
  out["certified"] = c.certified;
  out["empty"] = c.empty;
  out["thin"] = c.thin;
  out["max_thin"] = c.max_thin;
  out["failed"] = c.failed;
  // records (failures, thin decisions) as where (F, 4), bound (F,), pattern (F, n_units) under `name`_...
  auto records = [&](const std::vector<CertFailure>& list, const char* name) {
    const py::ssize_t F = static_cast<py::ssize_t>(list.size());
    std::vector<int32_t> where(static_cast<size_t>(F) * 4);
    std::vector<double> bound(F);
    std::vector<int8_t> pattern(static_cast<size_t>(F) * n_units);
    for (py::ssize_t i = 0; i < F; ++i) {
      const CertFailure& f = list[i];
      where[i * 4] = f.kind;
      where[i * 4 + 1] = f.layer;
      where[i * 4 + 2] = f.unit;
      where[i * 4 + 3] = f.piece;
      bound[i] = f.bound;
      std::copy(f.pattern.begin(), f.pattern.end(), pattern.begin() + i * n_units);
    }
    const std::string key(name);
    out[(key + "_where").c_str()] = to_numpy(std::move(where), {F, 4});
    out[(key + "_bound").c_str()] = to_numpy(std::move(bound), {F});
    out[(key + "_pattern").c_str()] = to_numpy(std::move(pattern), {F, static_cast<py::ssize_t>(n_units)});
  };
  records(c.failures, "failure");
  records(c.thin_records, "thin");
  if (!c.dumps.empty()) {  // the test hook CertifyOptions::dump_max
    py::list dumps;
    for (CertDump& d : c.dumps) {
      const py::ssize_t m = static_cast<py::ssize_t>(d.y.size());
      const py::ssize_t k = m ? static_cast<py::ssize_t>(d.g.size()) / m : 0;
      py::dict x;
      x["bound"] = d.bound;
      x["g"] = to_numpy(std::move(d.g), {m, k});
      x["h"] = to_numpy(std::move(d.h), {m});
      x["e"] = to_numpy(std::move(d.e), {m, k + 1});
      x["nl"] = to_numpy(std::move(d.nl), {m});
      x["y"] = to_numpy(std::move(d.y), {m});
      x["ng"] = to_numpy(std::move(d.ng), {m});
      x["label"] = to_numpy(std::move(d.label), {m, 4});
      x["pattern"] = to_numpy(std::move(d.pattern), {static_cast<py::ssize_t>(n_units)});
      dumps.append(x);
    }
    out["dumps"] = dumps;
  }
  return out;
}

py::dict enumerate_py(ENUM_ARGS_DECL, int lp_max_iter, int threads, py::object prefix, int prefix_layers,
                      bool split_all, py::object certify) {
  EnumArgs args(ENUM_ARGS_PASS);
  args.opt.lp_max_iter = lp_max_iter;
  args.parallel(threads, prefix, prefix_layers, split_all);
  std::unique_ptr<CertifyArgs> cert;
  if (!certify.is_none()) {
    cert = std::make_unique<CertifyArgs>(certify.cast<py::dict>(), static_cast<int>(args.Adom.shape(0)), args.k);
    args.opt.certify = &cert->opt;
  }
  EnumResult res = args.run();
  py::dict out = result_dict(res, args.k);
  if (cert) out["certificate"] = certificate_dict(res.cert, net.n_units());
  return out;
}

// The rigorous dual bound of certify.hpp for rows G (m, k), h (m), errors E (m, k+1) or None, norm lower bounds
// nl (m), multipliers y (m) and the box [-half, half] (k).
double chebyshev_dual_bound_py(darray G, darray h, py::object E_, darray nl, darray y, darray half) {
  check_shape(G, "G", {-1, -1});
  const py::ssize_t m = G.shape(0), k = G.shape(1);
  check_shape(h, "h", {m});
  check_shape(nl, "nl", {m});
  check_shape(y, "y", {m});
  check_shape(half, "half", {k});
  check_finite(G, "G");
  check_finite(h, "h");
  check_finite(nl, "nl");
  check_finite(half, "half");
  darray E;
  if (!E_.is_none()) {
    E = E_.cast<darray>();
    check_shape(E, "E", {m, k + 1});
    check_finite(E, "E");
  }
  std::vector<int> idx(m);
  for (py::ssize_t i = 0; i < m; ++i) idx[i] = static_cast<int>(i);
  return chebyshev_dual_bound(static_cast<int>(k), static_cast<int>(m), idx.data(), y.data(), G.data(),
                              static_cast<size_t>(k), h.data(), E_.is_none() ? nullptr : E.data(),
                              static_cast<size_t>(k + 1), nl.data(), half.data());
}

double norm_lower_bound_py(darray g, py::object e_) {
  check_shape(g, "g", {-1});
  check_finite(g, "g");
  darray e;
  if (!e_.is_none()) {
    e = e_.cast<darray>();
    check_shape(e, "e", {g.shape(0)});
    check_finite(e, "e");
  }
  return norm_lower_bound(static_cast<int>(g.shape(0)), g.data(), e_.is_none() ? nullptr : e.data());
}

// 2-D fast path (polygon2d.hpp): the dict of enumerate_regions (u0 unused) plus the regions' polygons as CSR:
// offsets (R+1,) int64, vertices (V, 2) in u, counter-clockwise, edge_labels (V,) (the unit or domain row of each edge).
py::dict polygons_py(ENUM_ARGS_DECL) {
  EnumArgs args(ENUM_ARGS_PASS);
  if (args.k != 2) throw std::invalid_argument("Q: the 2-D fast path needs a domain of intrinsic dimension 2");
  PolygonEnumResult res = args.guarded([&](const Checkpoint& cp) {
    return enumerate_polygons_2d(net, args.x0.data(), args.Q.data(), args.Adom.data(), args.bdom.data(),
                                 static_cast<int>(args.Adom.shape(0)), args.opt, cp);
  });
  const py::ssize_t R = res.base.regions(), V = static_cast<py::ssize_t>(res.edge_labels.size());
  res.base.leaves = R;
  py::dict out = result_dict(res.base, 2);
  out["offsets"] = to_numpy(res.offsets, {R + 1});
  out["vertices"] = to_numpy(res.vertices, {V, py::ssize_t(2)});
  out["edge_labels"] = to_numpy(res.edge_labels, {V});
  return out;
}

// Low-dimensional fast path (polytope.hpp): the dict of enumerate_regions (u0 unused) plus the count of splits and
// the most vertices a cell had.
py::dict polytopes_py(ENUM_ARGS_DECL, int lp_max_iter, int threads, bool split_all) {
  EnumArgs args(ENUM_ARGS_PASS);
  args.opt.lp_max_iter = lp_max_iter;
  args.parallel(threads, py::none(), 0, split_all);
  PolytopeEnumResult res = args.guarded([&](const Checkpoint& cp) {
    return enumerate_polytopes(net, args.x0.data(), args.Q.data(), args.k, args.Adom.data(), args.bdom.data(),
                               static_cast<int>(args.Adom.shape(0)), args.opt, cp);
  });
  py::dict out = result_dict(res.base, args.k);
  out["splits"] = res.splits;
  out["max_vertices"] = res.max_vertices;
  const PolytopePhases& ph = res.phases;  // threads: the profile of the run (wall, cpu seconds per phase)
  out["phases"] = py::dict(py::arg("serial") = py::make_tuple(ph.serial_wall, ph.serial_cpu),
                           py::arg("parallel") = py::make_tuple(ph.parallel_wall, ph.parallel_cpu),
                           py::arg("join") = py::make_tuple(ph.join_wall, ph.join_cpu));
  return out;
}

py::dict output_bounds_py(ENUM_ARGS_DECL, const darray& C, const darray& d, bool prune, bool store,
                          int lp_max_iter, int threads, py::object prefix, int prefix_layers, bool split_all,
                          double thin_min_tol) {
  EnumArgs args(ENUM_ARGS_PASS);
  args.opt.thin_min_tol = thin_min_tol;
  args.opt.lp_max_iter = lp_max_iter;
  args.parallel(threads, prefix, prefix_layers, split_all);
  check_shape(C, "C", {-1, net.out_dim()});
  check_shape(d, "d", {C.shape(0)});
  check_finite(C, "C");
  check_finite(d, "d");
  args.opt.store_regions = store;
  const int q = static_cast<int>(C.shape(0));
  OutputBoundsVisitor vis(q, net.out_dim(), C.data(), d.data(), args.k, prune);
  vis.set_time_limit(time_limit);
  EnumResult res = args.run(&vis);
  if (vis.failed) {
    res.status = EnumStatus::Numerical;
    res.message = vis.message;
  } else if (vis.timed_out) {
    res.status = EnumStatus::TimeLimit;
  }
  py::dict out = result_dict(res, args.k);
  out["ray_max"] = to_numpy(std::move(vis.ray_max), {q, args.k});
  out["ray_min"] = to_numpy(std::move(vis.ray_min), {q, args.k});
  out["max"] = to_numpy(std::move(vis.max_value), {q});
  out["min"] = to_numpy(std::move(vis.min_value), {q});
  out["argmax"] = to_numpy(std::move(vis.argmax), {q, args.k});
  out["argmin"] = to_numpy(std::move(vis.argmin), {q, args.k});
  out["widened"] = vis.widened;
  out["parent_pruned"] = vis.parent_pruned;
  out["hinted"] = vis.hinted;
  return out;
}

std::vector<PropertyVisitor::Term> parse_terms(const Network& net, const py::list& terms) {
  std::vector<PropertyVisitor::Term> ts;
  for (size_t i = 0; i < terms.size(); ++i) {
    auto t = terms[i].cast<py::tuple>();
    if (t.size() != 2) throw std::invalid_argument("terms: each term is a pair (C, d)");
    darray C = t[0].cast<darray>(), d = t[1].cast<darray>();
    check_shape(C, "C", {-1, net.out_dim()});
    check_shape(d, "d", {C.shape(0)});
    check_finite(C, "C");
    check_finite(d, "d");
    PropertyVisitor::Term term;
    term.rows = static_cast<int>(C.shape(0));
    term.C.assign(C.data(), C.data() + C.size());
    term.d.assign(d.data(), d.data() + d.size());
    ts.push_back(std::move(term));
  }
  return ts;
}

py::dict verify_py(ENUM_ARGS_DECL, const py::list& terms, bool prune, bool stop_at_first, bool store,
                   int lp_max_iter, int threads, py::object prefix, int prefix_layers, bool split_all,
                   double thin_min_tol) {
  EnumArgs args(ENUM_ARGS_PASS);
  args.opt.thin_min_tol = thin_min_tol;
  args.opt.lp_max_iter = lp_max_iter;
  args.parallel(threads, prefix, prefix_layers, split_all);
  std::vector<PropertyVisitor::Term> ts = parse_terms(net, terms);
  args.opt.store_regions = store;
  PropertyVisitor vis(std::move(ts), net.out_dim(), args.k, prune, stop_at_first);
  vis.set_time_limit(time_limit);
  EnumResult res = args.run(&vis);
  if (vis.failed) {
    res.status = EnumStatus::Numerical;
    res.message = vis.message;
  } else if (vis.timed_out) {
    res.status = EnumStatus::TimeLimit;
  }
  py::dict out = result_dict(res, args.k);
  out["violated"] = vis.violated;
  out["term"] = vis.term;
  out["margin"] = vis.margin;
  out["candidates"] = vis.candidates;
  out["pruned_terms"] = vis.pruned_terms;
  out["parent_pruned"] = vis.parent_pruned;
  out["hinted"] = vis.hinted;
  out["counterexample"] = to_numpy(std::move(vis.counterexample), {static_cast<py::ssize_t>(vis.violated ? args.k : 0)});
  return out;
}

// Input splitting on the box [lo, hi] (verify.hpp, split_verify), GIL released.
py::dict split_verify_py(const Network& net, const darray& lo, const darray& hi, const py::list& terms, int max_depth,
                         int64_t max_boxes, double time_limit, int branch_candidates, int attack_steps,
                         int pace_from, int pace_window, double merge_closed, int attack_patience,
                         int attack_starts, double attack_share, int branch_score, bool point_slopes,
                         double attack_min_gain, double attack_gap) {
  const int n = net.in_dim();
  if (branch_candidates < 1) throw std::invalid_argument("branch_candidates must be >= 1");
  if (attack_steps < 0) throw std::invalid_argument("attack_steps must be >= 0");
  if (attack_patience < 0) throw std::invalid_argument("attack_patience must be >= 0");
  if (attack_starts < 1 || attack_starts > 2) throw std::invalid_argument("attack_starts must be 1 or 2");
  if (!(attack_share >= 0.0 && attack_share <= 1.0)) throw std::invalid_argument("attack_share must be in [0, 1]");
  if (!(attack_min_gain >= 0.0 && attack_min_gain < 1.0))
    throw std::invalid_argument("attack_min_gain must be in [0, 1)");
  if (!(attack_gap >= 0.0 && attack_gap < 1.0)) throw std::invalid_argument("attack_gap must be in [0, 1)");
  if (branch_score < 0 || branch_score > 2) throw std::invalid_argument("branch_score must be 0, 1 or 2");
  if (pace_from < 0) throw std::invalid_argument("pace_from must be >= 0");
  if (pace_window < 1) throw std::invalid_argument("pace_window must be >= 1");
  if (!(merge_closed >= 0.0 && merge_closed <= 1.0)) throw std::invalid_argument("merge_closed must be in [0, 1]");
  SplitOptions opt;
  opt.merge_closed = merge_closed;
  opt.pace_from = pace_from;
  opt.pace_window = pace_window;
  opt.branch_candidates = branch_candidates;
  opt.attack_steps = attack_steps;
  opt.attack_patience = attack_patience;
  opt.attack_starts = attack_starts;
  opt.attack_share = attack_share;
  opt.branch_score = branch_score;
  opt.point_slopes = point_slopes;
  opt.attack_min_gain = attack_min_gain;
  opt.attack_gap = attack_gap;
  check_shape(lo, "lo", {n});
  check_shape(hi, "hi", {n});
  check_finite(lo, "lo");
  check_finite(hi, "hi");
  for (int j = 0; j < n; ++j)
    if (!(lo.data()[j] <= hi.data()[j])) throw std::invalid_argument("lo, hi: need lo <= hi");
  std::vector<PropertyVisitor::Term> ts = parse_terms(net, terms);
  SplitResult res;
  {
    py::gil_scoped_release release;
    res = split_verify(net, lo.data(), hi.data(), ts, max_depth, max_boxes, time_limit, opt);
  }
  const py::ssize_t open = static_cast<py::ssize_t>(res.open_lo.size() / std::max(n, 1));
  py::dict out;
  out["status"] = res.status;
  out["term"] = res.term;
  out["counterexample"] = to_numpy(std::move(res.counterexample), {static_cast<py::ssize_t>(res.status == 1 ? n : 0)});
  out["open_lo"] = to_numpy(std::move(res.open_lo), {open, static_cast<py::ssize_t>(n)});
  out["open_hi"] = to_numpy(std::move(res.open_hi), {open, static_cast<py::ssize_t>(n)});
  out["open_score"] = to_numpy(std::move(res.open_score), {open});
  out["closed_fraction"] = res.closed_fraction;
  out["boxes"] = res.boxes;
  out["bounds"] = res.bounds;
  out["paced"] = res.paced;
  out["merged"] = res.merged;
  return out;
}

// Counterexample search on the box [lo, hi] (attack.hpp, falsify_box), GIL released. starts: (n0, in_dim) extra
// start points.
py::dict falsify_py(const Network& net, const darray& lo, const darray& hi, const py::list& terms, int samples,
                    int starts, int steps, uint64_t seed, const darray& x0, double time_limit, int64_t restarts,
                    int faces) {
  const int n = net.in_dim();
  check_shape(lo, "lo", {n});
  check_shape(hi, "hi", {n});
  check_finite(lo, "lo");
  check_finite(hi, "hi");
  for (int j = 0; j < n; ++j)
    if (!(lo.data()[j] <= hi.data()[j])) throw std::invalid_argument("lo, hi: need lo <= hi");
  check_shape(x0, "x0", {-1, n});
  check_finite(x0, "x0");
  if (samples < 0 || starts < 0 || steps < 0) throw std::invalid_argument("samples, starts, steps must be >= 0");
  if (restarts < 0) throw std::invalid_argument("restarts must be >= 0");
  std::vector<PropertyVisitor::Term> ts = parse_terms(net, terms);
  AttackOptions opt;
  opt.samples = samples, opt.starts = starts, opt.steps = steps, opt.seed = seed, opt.time_limit = time_limit;
  opt.restarts = restarts;
  opt.faces = std::max(faces, -1);
  AttackResult res;
  {
    py::gil_scoped_release release;
    res = falsify_box(net, lo.data(), hi.data(), ts, opt, x0.data(), static_cast<int>(x0.shape(0)));
  }
  py::dict out;
  out["found"] = res.found;
  out["term"] = res.term;
  out["violation"] = res.violation;
  out["passes"] = res.passes;
  out["restarts"] = res.restarts;
  const py::ssize_t len = static_cast<py::ssize_t>(res.x.size());
  out["x"] = to_numpy(std::move(res.x), {len});
  return out;
}

// Linear relaxation lower bounds of C y + d over a box of the inputs: (G (q, n+1), lower (q,)).
// With rows A (m, n), b (m,): the set is {A x <= b} within the box (LP-tightened bounds; mutate: unsound, tests).
py::tuple box_linear_bounds_py(const Network& net, const darray& lo, const darray& hi, const darray& C, const darray& d,
                               bool forward, py::object A_, py::object b_, bool mutate, py::object point_) {
  const int n = net.in_dim();
  check_shape(lo, "lo", {n});
  check_shape(hi, "hi", {n});
  check_finite(lo, "lo");
  check_finite(hi, "hi");
  check_shape(C, "C", {-1, net.out_dim()});
  check_shape(d, "d", {C.shape(0)});
  check_finite(C, "C");
  check_finite(d, "d");
  const int q = static_cast<int>(C.shape(0));
  if (A_.is_none() != b_.is_none()) throw std::invalid_argument("A and b must be given together");
  int m = 0;
  darray A, b;
  if (!A_.is_none()) {
    A = A_.cast<darray>();
    b = b_.cast<darray>();
    check_shape(A, "A", {-1, n});
    check_shape(b, "b", {A.shape(0)});
    check_finite(A, "A");
    check_finite(b, "b");
    m = static_cast<int>(A.shape(0));
  }
  darray point;
  if (!point_.is_none()) {
    point = point_.cast<darray>();
    check_shape(point, "point", {n});
    check_finite(point, "point");
  }
  std::vector<double> G, lower;
  {
    py::gil_scoped_release release;
    box_linear_bounds(net, lo.data(), hi.data(), q, C.data(), d.data(), forward, G, lower, m,
                      m ? A.data() : nullptr, m ? b.data() : nullptr, mutate,
                      point_.is_none() ? nullptr : point.data());
  }
  return py::make_tuple(to_numpy(std::move(G), {q, n + 1}), to_numpy(std::move(lower), {q}));
}

// A checkpoint for the geometry loops: take the GIL, let Python handle signals, then call `callback(done)` when
// it is not None (progress; its result is ignored). A pending exception (KeyboardInterrupt, or one the callback
// raised) stops the loop, stays set and is raised once the loop has returned.
Checkpoint signal_checkpoint(py::object callback) {
  return [callback = std::move(callback)](int64_t done) -> bool {
    py::gil_scoped_acquire acquire;
    if (PyErr_CheckSignals() != 0) return false;
    if (callback.is_none()) return true;
    try {
      callback(done);
    } catch (py::error_already_set& e) {
      e.restore();
      return false;
    }
    return true;
  };
}

py::dict region_facets_py(const Network& net, const darray& x0, const darray& Q, const darray& Adom,
                          const darray& bdom, const i8array& patterns, const darray& centers, double tol,
                          double radius_cap, py::object callback, int64_t checkpoint_every, int threads) {
  const DomainForm dom = domain_form(net, x0, Q, Adom, bdom);
  check_shape(patterns, "patterns", {-1, net.n_units()});
  check_shape(centers, "centers", {patterns.shape(0), dom.k});
  check_finite(centers, "centers");
  if (threads < 1) throw std::invalid_argument("threads: must be at least 1");
  FacetOptions opt;
  opt.tol = tol;
  opt.radius_cap = radius_cap;
  opt.threads = threads;
  if (checkpoint_every > 0) opt.checkpoint_every = checkpoint_every;
  const Checkpoint cp = signal_checkpoint(std::move(callback));
  FacetSet res;
  {
    py::gil_scoped_release release;
    res = region_facets(net, dom, patterns.data(), centers.data(), patterns.shape(0), opt, cp);
  }
  if (PyErr_Occurred()) throw py::error_already_set();
  const py::ssize_t R = res.regions(), F = static_cast<py::ssize_t>(res.rhs.size()), k = dom.k;
  py::dict out;
  out["offsets"] = to_numpy(std::move(res.offsets), {R + 1});
  out["rows"] = to_numpy(std::move(res.rows), {F, k});
  out["rhs"] = to_numpy(std::move(res.rhs), {F});
  out["unit"] = to_numpy(std::move(res.unit), {F});
  out["piece"] = to_numpy(std::move(res.piece), {F});
  out["points"] = to_numpy(std::move(res.points), {F, k});
  out["radii"] = to_numpy(std::move(res.radii), {F});
  const py::ssize_t D = static_cast<py::ssize_t>(res.dup_facet.size());
  out["dup_facet"] = to_numpy(std::move(res.dup_facet), {D});
  out["dup_unit"] = to_numpy(std::move(res.dup_unit), {D});
  out["dup_piece"] = to_numpy(std::move(res.dup_piece), {D});
  out["dup_exact"] = to_numpy(std::move(res.dup_exact), {D});
  out["rows_total"] = res.rows_total;
  out["candidates"] = res.candidates;
  out["lps"] = res.lps;
  out["lp_iterations"] = res.lp_iterations;
  out["status"] = std::string(geometry_status_name(res.status));
  out["message"] = res.message;
  out["seconds"] = res.seconds;
  return out;
}

py::dict polytope_measures_py(const i64array& offsets, const darray& rows, const darray& rhs, const darray& centers,
                             bool vertices, py::object callback, int64_t checkpoint_every, int threads) {
  check_shape(rows, "rows", {-1, -1});
  const py::ssize_t k = rows.shape(1), F = rows.shape(0);
  check_shape(rhs, "rhs", {F});
  check_shape(offsets, "offsets", {-1});
  if (offsets.shape(0) < 1) throw std::invalid_argument("offsets: needs at least one entry");
  const py::ssize_t R = offsets.shape(0) - 1;
  check_shape(centers, "centers", {R, k});
  check_finite(rows, "rows");
  check_finite(rhs, "rhs");
  check_finite(centers, "centers");
  if (offsets.data()[R] != F) throw std::invalid_argument("offsets: must end at the number of rows");
  if (threads < 1) throw std::invalid_argument("threads: must be at least 1");
  VolumeOptions opt;
  opt.threads = threads;
  opt.vertices = vertices;
  if (checkpoint_every > 0) opt.checkpoint_every = checkpoint_every;
  const Checkpoint cp = signal_checkpoint(std::move(callback));
  PolytopeMeasures res;
  {
    py::gil_scoped_release release;
    res = polytope_measures(static_cast<int>(k), R, offsets.data(), rows.data(), rhs.data(), centers.data(), opt,
                            cp);
  }
  if (PyErr_Occurred()) throw py::error_already_set();
  const py::ssize_t done = res.regions(), V = static_cast<py::ssize_t>(res.vertices.size()) / k;
  py::dict out;
  out["vertex_offsets"] = to_numpy(std::move(res.vertex_offsets), {static_cast<py::ssize_t>(vertices ? done + 1 : 1)});
  out["vertices"] = to_numpy(std::move(res.vertices), {V, k});
  out["volumes"] = to_numpy(std::move(res.volume), {done});
  out["surfaces"] = to_numpy(std::move(res.surface), {done});
  out["status"] = std::string(volume_status_name(res.status));
  out["region"] = res.failed_region;
  out["message"] = res.message;
  out["seconds"] = res.seconds;
  return out;
}

py::dict adjacency_py(const Network& net, const darray& x0, const darray& Q, const darray& Adom, const darray& bdom,
                      const i8array& patterns, const i64array& offsets, const darray& rows, const darray& rhs,
                      const i64array& unit, const i8array& piece, const darray& points, const darray& radii,
                      const i64array& dup_facet, const i64array& dup_unit, const i8array& dup_piece,
                      const i8array& dup_exact, double contain_tol, double tol, py::object callback, int64_t checkpoint_every,
                      int threads) {
  const DomainForm dom = domain_form(net, x0, Q, Adom, bdom);
  check_shape(patterns, "patterns", {-1, net.n_units()});
  const py::ssize_t R = patterns.shape(0);
  check_shape(offsets, "offsets", {R + 1});
  check_shape(rows, "rows", {-1, dom.k});
  const py::ssize_t F = rows.shape(0);
  check_shape(rhs, "rhs", {F});
  check_shape(unit, "unit", {F});
  check_shape(piece, "piece", {F});
  check_shape(points, "points", {F, dom.k});
  check_shape(radii, "radii", {F});
  check_shape(dup_facet, "dup_facet", {-1});
  check_shape(dup_unit, "dup_unit", {dup_facet.shape(0)});
  check_shape(dup_piece, "dup_piece", {dup_facet.shape(0)});
  check_shape(dup_exact, "dup_exact", {dup_facet.shape(0)});
  check_finite(rows, "rows");
  check_finite(rhs, "rhs");
  check_finite(points, "points");
  const int64_t* off = offsets.data();
  if (off[0] != 0 || off[R] != F) throw std::invalid_argument("offsets: must run from 0 to the number of facets");
  for (py::ssize_t r = 0; r < R; ++r)
    if (off[r + 1] < off[r]) throw std::invalid_argument("offsets: must not decrease");
  for (py::ssize_t e = 0; e < F; ++e)
    if (unit.data()[e] >= net.n_units()) throw std::invalid_argument("unit: index out of range");
  FacetView v;
  v.k = dom.k;
  v.R = R;
  v.offsets = off;
  v.rows = rows.data();
  v.rhs = rhs.data();
  v.unit = unit.data();
  v.piece = piece.data();
  v.points = points.data();
  v.radii = radii.data();
  v.D = dup_facet.shape(0);
  v.dup_facet = dup_facet.data();
  v.dup_unit = dup_unit.data();
  v.dup_piece = dup_piece.data();
  v.dup_exact = dup_exact.data();
  if (threads < 1) throw std::invalid_argument("threads: must be at least 1");
  AdjacencyOptions opt;
  opt.contain_tol = contain_tol;
  opt.tol = tol;
  opt.threads = threads;
  if (checkpoint_every > 0) opt.checkpoint_every = checkpoint_every;
  const Checkpoint cp = signal_checkpoint(std::move(callback));
  Adjacency res;
  {
    py::gil_scoped_release release;
    res = region_adjacency(net, dom, patterns.data(), v, opt, cp);
  }
  if (PyErr_Occurred()) throw py::error_already_set();
  const py::ssize_t E = static_cast<py::ssize_t>(res.edge_unit.size());
  py::dict out;
  out["edges"] = to_numpy(std::move(res.edges), {E, 2});
  out["edge_facet"] = to_numpy(std::move(res.edge_facet), {E});
  out["edge_unit"] = to_numpy(std::move(res.edge_unit), {E});
  out["edge_layer"] = to_numpy(std::move(res.edge_layer), {E});
  out["edge_index"] = to_numpy(std::move(res.edge_index), {E});
  const py::ssize_t U = static_cast<py::ssize_t>(res.undecided_facet.size());
  out["undecided_edges"] = to_numpy(std::move(res.undecided_edges), {U, 2});
  out["undecided_facet"] = to_numpy(std::move(res.undecided_facet), {U});
  out["undecided"] = to_numpy(std::move(res.undecided), {F});
  out["neighbor"] = to_numpy(std::move(res.neighbor), {F});
  out["found_by"] = to_numpy(std::move(res.found_by), {F});
  out["expected"] = to_numpy(std::move(res.expected), {F});
  out["forward_passes"] = res.forward_passes;
  out["status"] = std::string(geometry_status_name(res.status));
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

// Branch and bound on the ReLUs for certified holds (certify_bab.hpp): its pieces, for the tests, and the loop.
py::dict relu_node_bound_py(const Network& net, const darray& lo, const darray& hi, const i8array& fix,
                            const darray& C, bool refine, const py::object& prior) {
  const int k = net.in_dim();
  check_shape(lo, "lo", {k});
  check_shape(hi, "hi", {k});
  check_finite(lo, "lo");
  check_finite(hi, "hi");
  check_shape(C, "C", {-1, net.out_dim()});
  check_finite(C, "C");
  if (!relu_structure(net)) throw std::invalid_argument("net: needs ReLU layers and an affine output layer");
  int n_hidden = 0;
  for (size_t li = 0; li + 1 < net.layers().size(); ++li) n_hidden += net.layers()[li].n_units;
  check_shape(fix, "fix", {-1});
  if (fix.size() != 0 && fix.size() != n_hidden)
    throw std::invalid_argument("fix: one entry per hidden unit (" + std::to_string(n_hidden) + ") or none");
  darray pl, pu;  // prior: (l, u) proven on a superset of the node, or None
  if (!prior.is_none()) {
    auto pair = prior.cast<py::tuple>();
    if (pair.size() != 2) throw std::invalid_argument("prior: a tuple (l, u) or None");
    pl = pair[0].cast<darray>();
    pu = pair[1].cast<darray>();
    check_shape(pl, "prior.l", {n_hidden});
    check_shape(pu, "prior.u", {n_hidden});
  }
  NodeBound nb;
  {
    py::gil_scoped_release release;
    relu_node_bound(net, lo.data(), hi.data(), fix.size() ? fix.data() : nullptr, static_cast<int>(C.shape(0)),
                    C.data(), refine, nb, prior.is_none() ? nullptr : pl.data(), prior.is_none() ? nullptr : pu.data());
  }
  const py::ssize_t q = nb.q, k1 = k + 1, h = static_cast<py::ssize_t>(nb.l.size());
  py::dict out;
  out["X"] = to_numpy(std::move(nb.X), {q, k1});
  out["e"] = to_numpy(std::move(nb.e), {q});
  out["l"] = to_numpy(std::move(nb.l), {h});
  out["u"] = to_numpy(std::move(nb.u), {h});
  out["DL"] = to_numpy(std::move(nb.DL), {h, k1});
  out["eDL"] = to_numpy(std::move(nb.eDL), {h});
  out["DU"] = to_numpy(std::move(nb.DU), {h, k1});
  out["eDU"] = to_numpy(std::move(nb.eDU), {h});
  out["empty"] = nb.empty;
  return out;
}

// The rows (p, k+1), their errors (p,) and a box (k,) of the node functions, checked.
int bab_rows_check(const darray& rows, const darray& erows, const darray& lo, const darray& hi) {
  check_shape(lo, "lo", {-1});
  const py::ssize_t k = lo.shape(0);
  check_shape(hi, "hi", {k});
  check_shape(rows, "rows", {-1, k + 1});
  check_shape(erows, "erows", {rows.shape(0)});
  check_finite(lo, "lo");
  check_finite(hi, "hi");
  check_finite(rows, "rows");
  check_finite(erows, "erows");
  return static_cast<int>(k);
}

py::tuple bab_tighten_box_py(const darray& rows, const darray& erows, const darray& lo, const darray& hi,
                             int passes) {
  const int k = bab_rows_check(rows, erows, lo, hi);
  std::vector<double> l(lo.data(), lo.data() + k), u(hi.data(), hi.data() + k);
  const bool empty = tighten_box(static_cast<int>(rows.shape(0)), k, rows.data(), erows.data(), l.data(), u.data(),
                                 passes);
  return py::make_tuple(to_numpy(std::move(l), {k}), to_numpy(std::move(u), {k}), empty);
}

py::tuple bab_lp_box_py(const darray& rows, const darray& erows, const darray& lo, const darray& hi) {
  const int k = bab_rows_check(rows, erows, lo, hi);
  std::vector<double> l(lo.data(), lo.data() + k), u(hi.data(), hi.data() + k);
  const bool empty = lp_box(static_cast<int>(rows.shape(0)), k, rows.data(), erows.data(), l.data(), u.data());
  return py::make_tuple(to_numpy(std::move(l), {k}), to_numpy(std::move(u), {k}), empty);
}

double bab_weighted_min_py(const darray& w, const darray& F, const darray& e, const darray& lo, const darray& hi) {
  const int k = bab_rows_check(F, e, lo, hi);
  check_shape(w, "w", {F.shape(0)});
  check_finite(w, "w");
  return weighted_min(static_cast<int>(F.shape(0)), k, w.data(), F.data(), e.data(), lo.data(), hi.data());
}

double bab_check_node_py(const darray& lam, const darray& mu, const darray& obj, const darray& eobj, const darray& d,
                         const darray& rows, const darray& erows, const darray& lo, const darray& hi) {
  const int k = bab_rows_check(rows, erows, lo, hi);
  check_shape(obj, "obj", {-1, k + 1});
  check_shape(eobj, "eobj", {obj.shape(0)});
  check_shape(d, "d", {obj.shape(0)});
  check_shape(lam, "lam", {obj.shape(0)});
  check_shape(mu, "mu", {rows.shape(0)});
  for (const darray* a : {&obj, &eobj, &d, &lam, &mu}) check_finite(*a, "obj, eobj, d, lam, mu");
  return check_node(static_cast<int>(obj.shape(0)), static_cast<int>(rows.shape(0)), k, lam.data(), mu.data(),
                    obj.data(), eobj.data(), d.data(), rows.data(), erows.data(), lo.data(), hi.data());
}

py::tuple bab_node_lp_py(const darray& obj, const darray& eobj, const darray& d, const darray& rows,
                         const darray& erows, const darray& lo, const darray& hi) {
  const int k = bab_rows_check(rows, erows, lo, hi);
  check_shape(obj, "obj", {-1, k + 1});
  check_shape(eobj, "eobj", {obj.shape(0)});
  check_shape(d, "d", {obj.shape(0)});
  for (const darray* a : {&obj, &eobj, &d}) check_finite(*a, "obj, eobj, d");
  double value = 0.0;
  bool empty = false;
  const double bound = node_lp(static_cast<int>(obj.shape(0)), static_cast<int>(rows.shape(0)), k, obj.data(),
                               eobj.data(), d.data(), rows.data(), erows.data(), lo.data(), hi.data(), value, empty);
  return py::make_tuple(value, bound, empty);
}

py::dict relu_bab_certify_py(const Network& net, const darray& lo, const darray& hi, const py::list& terms,
                             double time_limit, int64_t max_nodes, bool refine, int64_t checkpoint_every,
                             int split_unstable, int64_t max_splits, int input_depth, bool babsr,
                             bool lp_box, int rebound, bool cheap_first) {
  const int k = net.in_dim(), m = net.out_dim();
  check_shape(lo, "lo", {-1, k});
  check_shape(hi, "hi", {lo.shape(0), k});
  check_finite(lo, "lo");
  check_finite(hi, "hi");
  if (max_nodes < 1) throw std::invalid_argument("max_nodes: must be at least 1");
  if (checkpoint_every < 1) throw std::invalid_argument("checkpoint_every: must be at least 1");
  std::vector<BabTerm> ts;
  for (const auto& t : terms) {
    auto pair = t.cast<py::tuple>();
    if (pair.size() != 2) throw std::invalid_argument("terms: each term is a tuple (C, d)");
    darray C = pair[0].cast<darray>(), d = pair[1].cast<darray>();
    check_shape(C, "terms.C", {-1, m});
    check_shape(d, "terms.d", {C.shape(0)});
    check_finite(C, "terms.C");
    check_finite(d, "terms.d");
    BabTerm bt;
    bt.q = static_cast<int>(C.shape(0));
    bt.C.assign(C.data(), C.data() + C.size());
    bt.d.assign(d.data(), d.data() + d.size());
    ts.push_back(std::move(bt));
  }
  BabOptions opt;
  opt.time_limit = time_limit;
  opt.max_nodes = max_nodes;
  opt.refine = refine;
  opt.checkpoint_every = checkpoint_every;
  opt.split_unstable = split_unstable;
  if (max_splits < 0) throw std::invalid_argument("max_splits: must be >= 0");
  opt.max_splits = max_splits;
  opt.input_depth = input_depth;
  opt.babsr = babsr;
  if (rebound < 0) throw std::invalid_argument("rebound: must be >= 0");
  opt.lp_box = lp_box;
  opt.rebound = rebound;
  opt.cheap_first = cheap_first;
  opt.checkpoint = signal_checkpoint(py::none());
  BabResult r;
  {
    py::gil_scoped_release release;
    r = relu_bab_certify(net, static_cast<int>(lo.shape(0)), lo.data(), hi.data(), ts, opt);
  }
  // Ctrl-C: the partial counts come back with status "interrupted" (the interrupt is consumed); other errors raise
  if (r.status == BabStatus::Interrupted && PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) PyErr_Clear();
  if (PyErr_Occurred()) throw py::error_already_set();
  py::dict out;
  out["status"] = std::string(bab_status_name(r.status));
  out["proven"] = r.proven;
  out["nodes"] = r.nodes;
  out["lps"] = r.lps;
  out["by_bound"] = r.by_bound;
  out["empty"] = r.empty;
  out["max_depth"] = r.max_depth;
  out["splits"] = r.splits;
  out["box_leaves"] = r.box_leaves;
  out["box_lps"] = r.box_lps;
  out["rebounds"] = r.rebounds;
  out["cheap_open"] = r.cheap_open;
  out["margin"] = r.margin;
  out["value"] = r.value;
  return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "relutope's compiled core (private: use the relutope package)";

  py::class_<Network>(m, "Network")
      .def(py::init(&make_network), py::arg("layers"))
      .def_property_readonly("n_units", &Network::n_units)
      .def_property_readonly("in_dim", &Network::in_dim)
      .def_property_readonly("out_dim", &Network::out_dim)
      .def_property_readonly("pattern_bytes", [](const Network& n) { return n.pattern_layout().row_bytes(); });

  m.def("local_affine_maps", &local_affine_maps, py::arg("net"), py::arg("patterns"));
  m.def("region_halfspaces", &region_halfspaces, py::arg("net"), py::arg("pattern"));
  m.def("pack_patterns", &pack_patterns, py::arg("net"), py::arg("patterns"));
  m.def("unpack_patterns", &unpack_patterns, py::arg("net"), py::arg("packed"));
  m.def("witnesses_agree", &witnesses_agree_py, py::arg("net"), py::arg("x0"), py::arg("Q"), py::arg("u"),
        py::arg("packed"), py::arg("threads") = 1);
  // lp_max_iter: dual simplex iterations per LP (0: the solver's default), a hook for tests of LP breakdowns.
  // threads: worker threads (1: the calling thread alone); prefix, prefix_layers: only the regions whose pattern
  // on layers 0..prefix_layers-1 is `prefix` (EnumOptions::prefix; relutope.distributed).
  // split_all: hand every pending subtree to another worker (a test hook for the snapshots of threads).
#define PARALLEL_ARGS_PY                                                                            \
  py::arg("threads") = 1, py::arg("prefix") = py::none(), py::arg("prefix_layers") = 0, \
      py::arg("split_all") = false
  m.def("enumerate_regions", &enumerate_py, ENUM_ARGS_PY, py::arg("lp_max_iter") = 0, PARALLEL_ARGS_PY,
        py::arg("certify") = py::none());
  m.def("chebyshev_dual_bound", &chebyshev_dual_bound_py, py::arg("G"), py::arg("h"), py::arg("E"), py::arg("nl"),
        py::arg("y"), py::arg("half"));
  m.def("norm_lower_bound", &norm_lower_bound_py, py::arg("g"), py::arg("e") = py::none());
  // thin_min_tol > 0: verification mode, no cell skipped for being thin (EnumOptions::thin_min_tol, engine units).
  m.def("output_bounds", &output_bounds_py, ENUM_ARGS_PY, py::arg("C"), py::arg("d"), py::arg("prune"),
        py::arg("store_regions"), py::arg("lp_max_iter") = 0, PARALLEL_ARGS_PY, py::arg("thin_min_tol") = 0.0);
  m.def("verify", &verify_py, ENUM_ARGS_PY, py::arg("terms"), py::arg("prune"), py::arg("stop_at_first"),
        py::arg("store_regions"), py::arg("lp_max_iter") = 0, PARALLEL_ARGS_PY, py::arg("thin_min_tol") = 0.0);
  m.def("split_verify", &split_verify_py, py::arg("net"), py::arg("lo"), py::arg("hi"), py::arg("terms"),
        py::arg("max_depth"), py::arg("max_boxes"), py::arg("time_limit"), py::arg("branch_candidates") = 1,
        py::arg("attack_steps") = 0, py::arg("pace_from") = 0, py::arg("pace_window") = 32,
        py::arg("merge_closed") = 0.0, py::arg("attack_patience") = 0, py::arg("attack_starts") = 1,
        py::arg("attack_share") = 0.0, py::arg("branch_score") = 0, py::arg("point_slopes") = true,
        py::arg("attack_min_gain") = 0.0, py::arg("attack_gap") = 0.0);
  m.def("falsify", &falsify_py, py::arg("net"), py::arg("lo"), py::arg("hi"), py::arg("terms"), py::arg("samples"),
        py::arg("starts"), py::arg("steps"), py::arg("seed"), py::arg("x0"), py::arg("time_limit"),
        py::arg("restarts") = 0, py::arg("faces") = -1);
  m.def("box_linear_bounds", &box_linear_bounds_py, py::arg("net"), py::arg("lo"), py::arg("hi"), py::arg("C"),
        py::arg("d"), py::arg("forward") = false, py::arg("A") = py::none(), py::arg("b") = py::none(),
        py::arg("mutate") = false, py::arg("point") = py::none());
  m.def("region_facets", &region_facets_py, py::arg("net"), py::arg("x0"), py::arg("Q"), py::arg("A_domain"),
        py::arg("b_domain"), py::arg("patterns"), py::arg("centers"), py::arg("tol"), py::arg("radius_cap"),
        py::arg("callback") = py::none(), py::arg("checkpoint_every") = 0, py::arg("threads") = 1);
  m.def("region_adjacency", &adjacency_py, py::arg("net"), py::arg("x0"), py::arg("Q"), py::arg("A_domain"),
        py::arg("b_domain"), py::arg("patterns"), py::arg("offsets"), py::arg("rows"), py::arg("rhs"),
        py::arg("unit"), py::arg("piece"), py::arg("points"), py::arg("radii"), py::arg("dup_facet"),
        py::arg("dup_unit"), py::arg("dup_piece"), py::arg("dup_exact"), py::arg("contain_tol"), py::arg("tol"),
        py::arg("callback") = py::none(), py::arg("checkpoint_every") = 0, py::arg("threads") = 1);
  m.def("polytope_measures", &polytope_measures_py, py::arg("offsets"), py::arg("rows"), py::arg("rhs"),
        py::arg("centers"), py::arg("vertices") = true, py::arg("callback") = py::none(),
        py::arg("checkpoint_every") = 0, py::arg("threads") = 1);
  m.def("solve_lp", &solve_lp_py, py::arg("c"), py::arg("G"), py::arg("h"), py::arg("lb"), py::arg("ub"));
  m.def("enumerate_polygons_2d", &polygons_py, ENUM_ARGS_PY);
  // threads: that many worker threads sharing the search by work splitting (polytope.cpp); split_all: a test hook.
  m.def("enumerate_polytopes", &polytopes_py, ENUM_ARGS_PY, py::arg("lp_max_iter") = 0, py::arg("threads") = 1,
        py::arg("split_all") = false);
  m.def("relu_node_bound", &relu_node_bound_py, py::arg("net"), py::arg("lo"), py::arg("hi"), py::arg("fix"),
        py::arg("C"), py::arg("refine") = true, py::arg("prior") = py::none());
  m.def("bab_tighten_box", &bab_tighten_box_py, py::arg("rows"), py::arg("erows"), py::arg("lo"), py::arg("hi"),
        py::arg("passes") = 2);
  m.def("bab_weighted_min", &bab_weighted_min_py, py::arg("w"), py::arg("F"), py::arg("e"), py::arg("lo"),
        py::arg("hi"));
  m.def("bab_check_node", &bab_check_node_py, py::arg("lam"), py::arg("mu"), py::arg("obj"), py::arg("eobj"),
        py::arg("d"), py::arg("rows"), py::arg("erows"), py::arg("lo"), py::arg("hi"));
  m.def("bab_node_lp", &bab_node_lp_py, py::arg("obj"), py::arg("eobj"), py::arg("d"), py::arg("rows"),
        py::arg("erows"), py::arg("lo"), py::arg("hi"));
  // The search's tuning defaults are BabOptions' (certify_bab.hpp), the one place they are written; Python reads
  // them from relu_bab_defaults.
  const BabOptions bab;
  m.def("relu_bab_certify", &relu_bab_certify_py, py::arg("net"), py::arg("lo"), py::arg("hi"), py::arg("terms"),
        py::arg("time_limit"), py::arg("max_nodes"), py::arg("refine") = bab.refine,
        py::arg("checkpoint_every") = bab.checkpoint_every, py::arg("split_unstable") = bab.split_unstable,
        py::arg("max_splits") = bab.max_splits, py::arg("input_depth") = bab.input_depth,
        py::arg("babsr") = bab.babsr, py::arg("lp_box") = bab.lp_box, py::arg("rebound") = bab.rebound,
        py::arg("cheap_first") = bab.cheap_first);
  py::dict bab_defaults;
  bab_defaults["refine"] = bab.refine;
  bab_defaults["checkpoint_every"] = bab.checkpoint_every;
  bab_defaults["split_unstable"] = bab.split_unstable;
  bab_defaults["max_splits"] = bab.max_splits;
  bab_defaults["input_depth"] = bab.input_depth;
  bab_defaults["babsr"] = bab.babsr;
  bab_defaults["lp_box"] = bab.lp_box;
  bab_defaults["rebound"] = bab.rebound;
  bab_defaults["cheap_first"] = bab.cheap_first;
  m.attr("relu_bab_defaults") = bab_defaults;
  m.def("bab_lp_box", &bab_lp_box_py, py::arg("rows"), py::arg("erows"), py::arg("lo"), py::arg("hi"));
}
