#include "relutope/polygon2d.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "relutope/certify.hpp"  // composed_zero: the rounding of the composed pieces
#include "relutope/lp.hpp"
#include "relutope/piece_columns.hpp"

namespace relutope {

namespace {
// sqrt(a^2 + b^2); std::hypot where the squares would overflow or underflow (rows near 1e+-160 in the domain's
// frame: a box of half-width 1e160, or 1e-160, around a unit-scale network)
inline double norm2(double a, double b) {
  const double s = a * a + b * b;
  return s < 1e290 && s > 1e-290 ? std::sqrt(s) : std::hypot(a, b);
}
}  // namespace

void polygon_area_perimeter(const PolyVertex* v, int n, double& area, double& perimeter) {
  // Shoelace relative to the first vertex: no cancellation between large coordinates.
  double a = 0.0, p = 0.0;
  const double x0 = n ? v[0].x : 0.0, y0 = n ? v[0].y : 0.0;
  for (int i = 0; i < n; ++i) {
    const PolyVertex& s = v[i];
    const PolyVertex& t = v[i + 1 == n ? 0 : i + 1];
    a += (s.x - x0) * (t.y - y0) - (s.y - y0) * (t.x - x0);
    p += norm2(t.x - s.x, t.y - s.y);
  }
  area = 0.5 * a;
  perimeter = p;
}

namespace {

// Sign of h on every vertex with the relative epsilon of kSideEps; counts the strict signs.
inline void classify(const PolyVertex* v, int n, const double* h, int8_t* cls, double* s, int& npos, int& nneg) {
  npos = nneg = 0;
  for (int i = 0; i < n; ++i) {
    const double a = h[0] * v[i].x, b = h[1] * v[i].y;
    const double val = a + b + h[2];
    const double eps = kSideEps * (std::fabs(a) + std::fabs(b) + std::fabs(h[2]));
    s[i] = val;
    const int8_t c = val > eps ? 1 : (val < -eps ? -1 : 0);
    cls[i] = c;
    npos += c > 0;
    nneg += c < 0;
  }
}

// The point where the segment v -> w crosses h = 0, given h(v) = sv and h(w) = sw of strictly opposite signs. A
// coordinate of an axis-parallel line is set exactly.
inline void crossing(const PolyVertex& v, const PolyVertex& w, double sv, double sw, const double* h, double& x,
                     double& y) {
  const double t = sv / (sv - sw);
  x = v.x + t * (w.x - v.x);
  y = v.y + t * (w.y - v.y);
  if (h[1] == 0.0) x = -h[2] / h[0];
  if (h[0] == 0.0) y = -h[2] / h[1];
}

}  // namespace

namespace {

// split_polygon writing into raw buffers with room for 2 n vertices each (a convex polygon gains at most one
// vertex per part; the bound also covers sign patterns that rounding made non-convex). `cls` and `s` are scratch
// of n entries.
int split_raw(const PolyVertex* v, int n, const double* h, int32_t label, int8_t* cls, double* s, PolyVertex* pos,
              int* npos_out, PolyVertex* neg, int* nneg_out) {
  int npos, nneg;
  classify(v, n, h, cls, s, npos, nneg);
  if (npos == 0) return -1;  // h <= 0 on the polygon (all on the line: a tie, piece 0)
  if (nneg == 0) return 1;
  const double inv = 1.0 / norm2(h[0], h[1]);
  // The cut as an edge line of each part: h >= 0 is -h <= 0, h <= 0 is h <= 0.
  const double pn[3] = {-h[0] * inv, -h[1] * inv, h[2] * inv};
  const double nn[3] = {h[0] * inv, h[1] * inv, -h[2] * inv};
  int kp = 0, kn = 0;
  for (int i = 0; i < n; ++i) {
    const int j = i + 1 == n ? 0 : i + 1;
    const int ci = cls[i], cj = cls[j];
    double x = 0.0, y = 0.0;
    if (ci * cj < 0) crossing(v[i], v[j], s[i], s[j], h, x, y);
    // Part h >= 0.
    if (pos) {
      if (ci >= 0) {
        pos[kp] = v[i];
        if (ci == 0 && cj < 0) pos[kp] = PolyVertex{v[i].x, v[i].y, pn[0], pn[1], pn[2], label};
        ++kp;
        if (ci > 0 && cj < 0) pos[kp++] = PolyVertex{x, y, pn[0], pn[1], pn[2], label};
      } else if (cj > 0) {
        pos[kp++] = PolyVertex{x, y, v[i].nx, v[i].ny, v[i].c, v[i].label};
      }
    }
    // Part h <= 0.
    if (neg) {
      if (ci <= 0) {
        neg[kn] = v[i];
        if (ci == 0 && cj > 0) neg[kn] = PolyVertex{v[i].x, v[i].y, nn[0], nn[1], nn[2], label};
        ++kn;
        if (ci < 0 && cj > 0) neg[kn++] = PolyVertex{x, y, nn[0], nn[1], nn[2], label};
      } else if (cj < 0) {
        neg[kn++] = PolyVertex{x, y, v[i].nx, v[i].ny, v[i].c, v[i].label};
      }
    }
  }
  *npos_out = kp;
  *nneg_out = kn;
  return 0;
}

}  // namespace

int split_polygon(const PolyVertex* v, int n, const double* h, int32_t label, std::vector<PolyVertex>* pos,
                  std::vector<PolyVertex>* neg) {
  std::vector<int8_t> cls(n);
  std::vector<double> s(n);
  std::vector<PolyVertex> a(pos ? 2 * n : 0), b(neg ? 2 * n : 0);
  int na = 0, nb = 0;
  const int side = split_raw(v, n, h, label, cls.data(), s.data(), pos ? a.data() : nullptr, &na,
                             neg ? b.data() : nullptr, &nb);
  if (side == 0) {
    if (pos) pos->insert(pos->end(), a.begin(), a.begin() + na);
    if (neg) neg->insert(neg->end(), b.begin(), b.begin() + nb);
  }
  return side;
}

namespace {

inline double cross(double ax, double ay, double bx, double by) { return ax * by - ay * bx; }

// Twice the signed area of the triangle (a, b, c) of points given as normals of polygon edges.
inline double tri(const PolyVertex& a, const PolyVertex& b, const PolyVertex& c) {
  return cross(b.nx - a.nx, b.ny - a.ny, c.nx - a.nx, c.ny - a.ny);
}

// Chebyshev discs of convex polygons: maximise r subject to (n_e, 1) . (p, r) <= c_e over the edges e.
//
// A dual simplex specialised to three variables. A basis is three edges; it is dual feasible when
// (0, 0, 1) = sum_t lambda_t (n_t, 1) with lambda >= 0, i.e. when the origin lies in the triangle of the three unit
// normals, lambda being its barycentric coordinates (then r = lambda . c, and the basis' incircle bounds the
// polygon's). Each step brings in the most violated edge q and drops the basis edge t with the least
// lambda_t / alpha_t over alpha_t > 0, alpha the barycentric coordinates of n_q (Chvatal, "Linear Programming",
// 1983, ch. 10); the basic point is solved afresh from its three edges every time. Ties go to the lowest edge.
// When this fails (a degenerate triangle of normals; never seen on valid polygons) the general dual simplex of
// lp.hpp solves the same LP.
class ChebyshevSolver {
 public:
  ChebyshevSolver() : rows_(3) { basis_.resize(3); }

  bool solve(const PolyVertex* v, int n, double radius_cap, double* center, double* radius) {
    ++solves_;
    if (n >= 3 && solve_2d(v, n, center, radius)) {
      *radius = std::min(*radius, radius_cap);
      return true;
    }
    ++fallbacks_;
    return solve_general(v, n, radius_cap, center, radius);
  }

  int64_t solves() const { return solves_; }
  int64_t iterations() const { return iterations_ + counters_.iterations; }
  int64_t fallbacks() const { return fallbacks_; }

 private:
  RowStack rows_;
  LPBasis basis_;
  DualSimplex simplex_;
  LPCounters counters_;
  int64_t solves_ = 0, iterations_ = 0, fallbacks_ = 0;
  const double obj_[3] = {0.0, 0.0, 1.0};

  // The point where the basis' three edges are tight: r = lambda . c, then p from the best-conditioned pair.
  // `cl` holds the edges' offsets relative to the reference point (the first vertex), where p is solved.
  static bool basic_point(const PolyVertex* v, const double* cl, const int* B, double* p, double& r) {
    const PolyVertex &a = v[B[0]], &b = v[B[1]], &c = v[B[2]];
    const double l0 = cross(b.nx, b.ny, c.nx, c.ny), l1 = cross(c.nx, c.ny, a.nx, a.ny);
    const double l2 = cross(a.nx, a.ny, b.nx, b.ny);
    const double D = l0 + l1 + l2;
    if (!(std::fabs(D) > 1e-12)) return false;
    r = (l0 * cl[B[0]] + l1 * cl[B[1]] + l2 * cl[B[2]]) / D;
    // Rows n . p = c - r of the pair whose normals are the furthest from parallel.
    const PolyVertex *u = &b, *w = &c;
    int iu = B[1], iw = B[2];
    double det = l0;
    if (std::fabs(l1) > std::fabs(det)) { u = &c; w = &a; iu = B[2]; iw = B[0]; det = l1; }
    if (std::fabs(l2) > std::fabs(det)) { u = &a; w = &b; iu = B[0]; iw = B[1]; det = l2; }
    const double cu = cl[iu] - r, cw = cl[iw] - r;
    p[0] = (cu * w->ny - cw * u->ny) / det;
    p[1] = (u->nx * cw - w->nx * cu) / det;
    return true;
  }

  bool solve_2d(const PolyVertex* v, int n, double* center, double* radius) {
    // Start: edge 0, the edge whose normal is the most opposite to it, and the edge that puts the origin the
    // deepest inside the triangle of normals.
    int B[3] = {0, 0, -1};
    double best = 2.0;
    for (int j = 1; j < n; ++j) {
      const double d = v[0].nx * v[j].nx + v[0].ny * v[j].ny;
      if (d < best) { best = d; B[1] = j; }
    }
    double depth = -1.0;
    for (int j = 1; j < n; ++j) {
      if (j == B[1]) continue;
      const double l0 = cross(v[B[1]].nx, v[B[1]].ny, v[j].nx, v[j].ny);
      const double l1 = cross(v[j].nx, v[j].ny, v[0].nx, v[0].ny);
      const double l2 = cross(v[0].nx, v[0].ny, v[B[1]].nx, v[B[1]].ny);
      const double D = l0 + l1 + l2;
      if (!(std::fabs(D) > 1e-12)) continue;
      const double m = std::min(l0 / D, std::min(l1 / D, l2 / D));
      if (m > depth) { depth = m; B[2] = j; }
    }
    if (B[2] < 0 || depth < -1e-12) return false;
    // Offsets relative to the first vertex: the LP's numbers are then of the polygon's size.
    double cl_buf[256];
    std::vector<double> cl_vec;
    double* cl = cl_buf;
    if (n > 256) {
      cl_vec.resize(n);
      cl = cl_vec.data();
    }
    const double rx = v[0].x, ry = v[0].y;
    for (int j = 0; j < n; ++j) cl[j] = v[j].c - (v[j].nx * rx + v[j].ny * ry);
    double p[2], r;
    for (int it = 0; it < 4 * n + 20; ++it) {
      if (!basic_point(v, cl, B, p, r)) return false;
      int q = -1;
      double worst = 0.0;
      for (int j = 0; j < n; ++j) {
        const double np = v[j].nx * p[0] + v[j].ny * p[1];
        const double viol = np + r - cl[j];
        if (viol > worst && viol > 1e-12 * (std::fabs(cl[j]) + std::fabs(np) + std::fabs(r))) {
          worst = viol;
          q = j;
        }
      }
      if (q < 0) {
        center[0] = p[0] + rx;
        center[1] = p[1] + ry;
        *radius = r;
        return true;
      }
      ++iterations_;
      const PolyVertex &a = v[B[0]], &b = v[B[1]], &c = v[B[2]], &e = v[q];
      const double A = tri(a, b, c);
      if (!(std::fabs(A) > 1e-12)) return false;
      const double alpha[3] = {tri(e, b, c) / A, tri(a, e, c) / A, tri(a, b, e) / A};
      const double lambda[3] = {cross(b.nx, b.ny, c.nx, c.ny) / A, cross(c.nx, c.ny, a.nx, a.ny) / A,
                                cross(a.nx, a.ny, b.nx, b.ny) / A};
      int t = -1;
      double ratio = INFINITY;
      for (int k = 0; k < 3; ++k) {
        if (!(alpha[k] > 1e-12)) continue;
        const double rk = std::max(lambda[k], 0.0) / alpha[k];
        if (rk < ratio - 1e-15 || (rk <= ratio + 1e-15 && t >= 0 && B[k] < B[t])) {
          ratio = rk;
          t = k;
        }
      }
      if (t < 0) return false;
      B[t] = q;
    }
    return false;
  }

  // The general dual simplex (lp.hpp) from pins at the vertex centroid and the cap r <= radius_cap.
  bool solve_general(const PolyVertex* v, int n, double radius_cap, double* center, double* radius) {
    if (n < 1) return false;
    rows_.truncate(0);
    double cx = 0.0, cy = 0.0;
    for (int i = 0; i < n; ++i) {
      const double g[3] = {v[i].nx, v[i].ny, 1.0};
      rows_.push(g, v[i].c);
      cx += v[i].x;
      cy += v[i].y;
    }
    const double cap[3] = {0.0, 0.0, 1.0};
    rows_.push(cap, radius_cap);
    LPBasis& B = basis_;
    B.active[0] = -1;
    B.active[1] = -2;
    B.active[2] = rows_.m() - 1;
    B.rhs[0] = cx / n;
    B.rhs[1] = cy / n;
    B.rhs[2] = radius_cap;
    std::fill(B.binv.begin(), B.binv.end(), 0.0);
    B.binv[0] = B.binv[4] = B.binv[8] = 1.0;
    B.lambda[0] = B.lambda[1] = 0.0;
    B.lambda[2] = 1.0;
    B.updates = 0;
    LPStatus st = simplex_.solve(rows_, obj_, B, counters_);
    if (st != LPStatus::Optimal && simplex_.refactor(rows_, obj_, B)) st = simplex_.solve(rows_, obj_, B, counters_);
    if (st != LPStatus::Optimal) return false;
    center[0] = B.y[0];
    center[1] = B.y[1];
    *radius = B.y[2];
    return true;
  }
};

constexpr int32_t kBoundLabel = INT32_MIN;  // edges of the bounding square of domain_polygon

}  // namespace

bool polygon_chebyshev(const PolyVertex* v, int n, double radius_cap, double* center, double* radius,
                       int64_t* lp_iterations) {
  if (n < 3) return false;
  ChebyshevSolver solver;
  const bool ok = solver.solve(v, n, radius_cap, center, radius);
  if (lp_iterations) *lp_iterations += solver.iterations();
  return ok;
}

std::vector<PolyVertex> domain_polygon(const double* Adom, const double* bdom, int m) {
  // A square that strictly holds every vertex of the arrangement of the rows that satisfies all rows; clipped by
  // the rows it is the domain, and an edge of the square that survives means the domain is unbounded.
  double bound = 0.0;
  for (int i = 0; i < m; ++i) {
    for (int j = i + 1; j < m; ++j) {
      const double* a = Adom + 2 * i;
      const double* b = Adom + 2 * j;
      const double det = a[0] * b[1] - a[1] * b[0];
      const double scale = norm2(a[0], a[1]) * norm2(b[0], b[1]);
      if (!(std::fabs(det) > 1e-14 * scale)) continue;
      const double x = (bdom[i] * b[1] - a[1] * bdom[j]) / det;
      const double y = (a[0] * bdom[j] - bdom[i] * b[0]) / det;
      bool feasible = true;
      for (int k = 0; k < m && feasible; ++k) {
        const double* r = Adom + 2 * k;
        feasible = r[0] * x + r[1] * y <= bdom[k] + 1e-9 * (std::fabs(bdom[k]) + norm2(r[0], r[1]) *
                                                                                       (std::fabs(x) + std::fabs(y)));
      }
      if (feasible) bound = std::max(bound, std::max(std::fabs(x), std::fabs(y)));
    }
  }
  const double B = 2.0 * bound + 1.0;
  std::vector<PolyVertex> poly = {{-B, -B, 0.0, -1.0, B, kBoundLabel},
                                  {B, -B, 1.0, 0.0, B, kBoundLabel},
                                  {B, B, 0.0, 1.0, B, kBoundLabel},
                                  {-B, B, -1.0, 0.0, B, kBoundLabel}};
  std::vector<PolyVertex> next;
  for (int i = 0; i < m && !poly.empty(); ++i) {
    const double a0 = Adom[2 * i], a1 = Adom[2 * i + 1];
    const double nrm = norm2(a0, a1);
    if (nrm == 0.0) {
      if (bdom[i] < 0.0) poly.clear();
      continue;
    }
    const double h[3] = {-a0, -a1, bdom[i]};  // keep h = b - a.u >= 0
    next.clear();
    const int side = split_polygon(poly.data(), static_cast<int>(poly.size()), h, -1 - i, &next, nullptr);
    if (side == -1) {
      poly.clear();
    } else if (side == 0) {
      poly.swap(next);
    }
  }
  if (poly.size() < 3) return {};
  double area, perimeter;
  polygon_area_perimeter(poly.data(), static_cast<int>(poly.size()), area, perimeter);
  if (!(area > 0.0)) return {};
  for (const PolyVertex& p : poly)
    if (p.label == kBoundLabel) throw std::invalid_argument("domain: the polygon A u <= b is unbounded");
  return poly;
}

namespace {

using Clock = std::chrono::steady_clock;

class PolygonEnumerator {
 public:
  PolygonEnumerator(const Network& net, const double* x0, const double* Q, const EnumOptions& opt,
                    const Checkpoint& checkpoint)
      : net_(net), opt_(opt), checkpoint_(checkpoint) {
    const auto& layers = net.layers();
    const int L = static_cast<int>(layers.size());
    F_.resize(L);
    At_.resize(L);
    unstable_.resize(L);
    last_split_ = -1;
    terms_.resize(L);
    for (int l = 0, N = 2; l < L; ++l) {  // (2: the shift of layer 0's offsets in run())
      const Layer& layer = layers[l];
      const int P = layer.total_pieces();
      // rows: slope in u0 (P), slope in u1 (P), offset (P), then the magnitudes (slopes, offset; certify.hpp)
      F_[l].assign(static_cast<size_t>(5) * P, 0.0);
      N += layer.in_dim + 1;
      terms_[l] = N + 1;
      for (int u = 0; u < layer.n_units; ++u)
        if (layer.n_pieces(u) >= 2) last_split_ = l;
      if (l > 0) At_[l] = transposed_weights(layer);  // so that a layer's pieces are built by contiguous axpys
    }
    // Layer 0's pieces as functions of u: A (x0 + Q u) + c.
    const Layer& L0 = layers[0];
    const int P0 = L0.total_pieces();
    double* fx = F_[0].data();
    double* fy = fx + P0;
    double* fc = fy + P0;
    double* fm = fc + P0;  // the magnitudes (certify.hpp, composed_zero)
    for (int p = 0; p < P0; ++p) {
      const double* a = &L0.A[static_cast<size_t>(p) * L0.in_dim];
      double sx = 0.0, sy = 0.0, sc = L0.c[p], mg = 0.0, mc = std::fabs(L0.c[p]);
      for (int i = 0; i < L0.in_dim; ++i) {
        sx += a[i] * Q[2 * i];
        sy += a[i] * Q[2 * i + 1];
        sc += a[i] * x0[i];
        mg += std::fabs(a[i] * Q[2 * i]) + std::fabs(a[i] * Q[2 * i + 1]);
        mc += std::fabs(a[i] * x0[i]);
      }
      fx[p] = sx;
      fy[p] = sy;
      fc[p] = sc;
      fm[p] = mg;
      fm[P0 + p] = mc;
    }
    // The layers' bounds of the slope magnitudes (composed_nonconstant, magnitude_bound; certify.hpp); run()'s
    // shift changes the offsets' magnitudes only.
    double first = 0.0;
    for (int p = 0; p < P0; ++p) first = std::max(first, fm[p]);
    mag_bound_ = rigorous::magnitude_bounds(layers, first);
    pattern_.assign(net.n_units(), 0);
    res_.base.k = 2;
    res_.base.n_units = net.n_units();
    res_.base.pattern_bytes = net.pattern_layout().row_bytes();
    res_.base.layer_counts.assign(L, 0);
    res_.offsets.push_back(0);
    start_ = Clock::now();
  }

  PolygonEnumResult run(const double* Adom, const double* bdom, int mdom) {
    std::vector<PolyVertex> dom = domain_polygon(Adom, bdom, mdom);
    if (!dom.empty()) {
      // Work in coordinates centred on the domain's bounding box (u - shift), so that the sign tests and areas
      // of a small domain far from the origin do not cancel large numbers; shifted back on output.
      double lo[2] = {dom[0].x, dom[0].y}, hi[2] = {dom[0].x, dom[0].y};
      for (const PolyVertex& v : dom) {
        lo[0] = std::min(lo[0], v.x);
        lo[1] = std::min(lo[1], v.y);
        hi[0] = std::max(hi[0], v.x);
        hi[1] = std::max(hi[1], v.y);
      }
      shift_[0] = 0.5 * (lo[0] + hi[0]);
      shift_[1] = 0.5 * (lo[1] + hi[1]);
      for (PolyVertex& v : dom) {
        v.x -= shift_[0];
        v.y -= shift_[1];
        v.c -= v.nx * shift_[0] + v.ny * shift_[1];
      }
      const int P0 = net_.layers()[0].total_pieces();
      double* F = F_[0].data();
      for (int p = 0; p < P0; ++p) {
        F[2 * P0 + p] += F[p] * shift_[0] + F[P0 + p] * shift_[1];
        F[4 * P0 + p] += F[3 * P0 + p] * std::max(std::fabs(shift_[0]), std::fabs(shift_[1]));
      }
      reserve(static_cast<int>(dom.size()));
      std::copy(dom.begin(), dom.end(), poly_.begin());
      top_ = static_cast<int>(dom.size());
      start_layer(0, 0, top_);
      search();
    }
    res_.base.lps = cheb_.solves();
    res_.base.lp_iterations = cheb_.iterations();
    res_.base.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    return std::move(res_);
  }

 private:
  const Network& net_;
  EnumOptions opt_;
  const Checkpoint& checkpoint_;
  std::vector<std::vector<double>> F_;      // per layer: pieces as affine functions of u, 3 x P (x, y, offset),
                                            // then their magnitudes, 2 x P (slopes, offset; certify.hpp)
  std::vector<int> terms_;                  // per layer: N_l + 1 of composed_zero() (certify.hpp)
  std::vector<double> mag_bound_;           // per layer: a bound of every piece's slope magnitude (certify.hpp)
  int mag_valid_ = 0;                       // the magnitudes of layers 0..mag_valid_ are those of pattern_
  std::vector<std::vector<double>> At_;     // per layer l >= 1: A transposed, in_dim x P, then |A|
  std::vector<std::vector<int>> unstable_;  // per layer: units not stable on the current layer cell
  std::vector<int8_t> pattern_;
  // The polygons of the current depth-first path, one after another in poly_[0, top_); poly_ only grows.
  std::vector<PolyVertex> poly_;
  int top_ = 0;
  std::vector<int8_t> cls_;                 // scratch of the sign tests
  std::vector<double> side_;
  struct Active {
    int unit;
    double mx, my, mc;
  };
  std::vector<Active> act_;                 // units of a layer with a non-zero chosen piece, and that piece
  ChebyshevSolver cheb_;
  int last_split_ = -1;  // last layer with a unit of K >= 2 pieces
  double shift_[2] = {0.0, 0.0};  // the working coordinates are u - shift
  PolygonEnumResult res_;
  bool stop_ = false;
  Clock::time_point start_;

  // The depth-first search runs on an explicit stack of tasks (a split per unit along a path can be tens of
  // thousands deep): a step that would recurse pushes its continuation, then its child, so the order is the
  // recursive algorithm's.
  enum class Op : uint8_t {
    Insert,      // insert unit idx of unstable_[l] into the polygon poly_[b, e)
    SecondPart,  // after a split's part h >= 0: its part h <= 0, poly_[b, e)
    MaxPiece,    // after piece r - 1 of a K > 2 unit on poly_[b, e): the pieces r, r + 1, ...
    SetTop       // top_ = b: drop the polygons above
  };
  struct Task {
    Op op;
    int l, idx, b, e, r;
  };
  std::vector<Task> tasks_;

  void push(Op op, int l, size_t idx, int b, int e, int r = 0) {
    tasks_.push_back(Task{op, l, static_cast<int>(idx), b, e, r});
  }

  void search() {
    while (!tasks_.empty() && !stop_) {  // a halt abandons the rest: nothing after it changes the result
      const Task t = tasks_.back();
      tasks_.pop_back();
      switch (t.op) {
        case Op::Insert: insert(t.l, static_cast<size_t>(t.idx), t.b, t.e); break;
        case Op::SecondPart:
          if (!surely_thin(t.b, t.e)) {
            pattern_[net_.unit_offset(t.l) + unstable_[t.l][t.idx]] = 0;
            insert(t.l, static_cast<size_t>(t.idx) + 1, t.b, t.e);
          }
          break;
        case Op::MaxPiece: max_pieces(t.l, static_cast<size_t>(t.idx), t.b, t.e, t.r); break;
        case Op::SetTop: top_ = t.b; break;
      }
    }
  }

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  void halt(EnumStatus s, const std::string& msg = std::string()) {
    if (stop_) return;
    stop_ = true;
    res_.base.status = s;
    res_.base.message = msg;
  }

  // Whether h = f_r - f_s (global pieces r, s of layer l) is constant on every cell within the rounding of its
  // composition (certify.hpp, composed_zero); then `sign` is the sign of its offset beyond that rounding (0 within
  // it: a tie). The magnitudes are composed only when the prefilter on the layer's bound cannot rule the row
  // non-constant.
  bool constant_row(int l, int r, int s, const double* h, int& sign) {
    const double ng = norm2(h[0], h[1]);
    if (rigorous::composed_nonconstant(ng, terms_[l], mag_bound_[l])) return false;
    compose_magnitudes(l);
    const int P = net_.layers()[l].total_pieces();
    const double* m = magnitudes(l);
    return rigorous::composed_constant(ng, h[2], terms_[l], m[r] + m[s], m[P + r] + m[P + s], sign);
  }

  // The magnitudes of layers mag_valid_+1..l from pattern_ (certify.hpp, piece_columns.hpp), in the order
  // the pieces are composed.
  void compose_magnitudes(int l) { compose_magnitudes_to(net_, At_, F_, 3, pattern_.data(), mag_valid_, l); }
  // Layer l's magnitudes: 2 rows of its P pieces (slopes, offsets), after the pieces' rows.
  double* magnitudes(int l) {
    return F_[l].data() + static_cast<size_t>(3) * net_.layers()[l].total_pieces();
  }

  // h = f_r - f_s for pieces r, s (global piece indices) of layer l.
  void difference(int l, int r, int s, double* h) const {
    const int P = net_.layers()[l].total_pieces();
    const double* F = F_[l].data();
    h[0] = F[r] - F[s];
    h[1] = F[P + r] - F[P + s];
    h[2] = F[2 * P + r] - F[2 * P + s];
  }

  // g = c + sum over the active units of At[i] * (mx, my, mc): the next layer's pieces (in the order of the LP
  // path's sums: units in order for every piece), four pieces at a time in registers.
  // (Under -ffp-contract the compiler may fuse a multiply-add; the LP path's loop may differ in the last bit.)
  void next_pieces(const double* At, const double* c, int Pn, double* gx, double* gy, double* gc) const {
    const Active* act = act_.data();
    const int na = static_cast<int>(act_.size());
    int p = 0;
#if defined(__GNUC__)
    // Two-wide vectors (SSE2 / NEON) by the GCC and Clang vector extension; the same sums as the scalar loop.
    typedef double v2d __attribute__((vector_size(16)));
    for (; p + 4 <= Pn; p += 4) {
      v2d sx0 = {0.0, 0.0}, sx1 = sx0, sy0 = sx0, sy1 = sx0;
      v2d sc0 = {c[p], c[p + 1]}, sc1 = {c[p + 2], c[p + 3]};
      for (int k = 0; k < na; ++k) {
        const double* a = At + static_cast<size_t>(act[k].unit) * Pn + p;
        v2d a0, a1;
        std::memcpy(&a0, a, sizeof a0);
        std::memcpy(&a1, a + 2, sizeof a1);
        const v2d mx = {act[k].mx, act[k].mx}, my = {act[k].my, act[k].my}, mc = {act[k].mc, act[k].mc};
        sx0 += a0 * mx;
        sx1 += a1 * mx;
        sy0 += a0 * my;
        sy1 += a1 * my;
        sc0 += a0 * mc;
        sc1 += a1 * mc;
      }
      std::memcpy(gx + p, &sx0, sizeof sx0);
      std::memcpy(gx + p + 2, &sx1, sizeof sx1);
      std::memcpy(gy + p, &sy0, sizeof sy0);
      std::memcpy(gy + p + 2, &sy1, sizeof sy1);
      std::memcpy(gc + p, &sc0, sizeof sc0);
      std::memcpy(gc + p + 2, &sc1, sizeof sc1);
    }
#endif
    for (; p < Pn; ++p) {
      double sx = 0.0, sy = 0.0, sc = c[p];
      for (int k = 0; k < na; ++k) {
        const double a = At[static_cast<size_t>(act[k].unit) * Pn + p];
        sx += a * act[k].mx;
        sy += a * act[k].my;
        sc += a * act[k].mc;
      }
      gx[p] = sx;
      gy[p] = sy;
      gc[p] = sc;
    }
  }

  // A polygon of area A and perimeter P has inradius r with A / P <= r <= 2 A / P.
  bool surely_thin(int b, int e) const {
    double area, perimeter;
    polygon_area_perimeter(&poly_[b], e - b, area, perimeter);
    return !(2.0 * area > opt_.tol * perimeter);
  }

  // Make room for k more vertices above top_ (pointers into poly_ are invalid afterwards), and sign-test
  // scratch for polygons of up to k vertices.
  void reserve(int k) {
    const size_t need = static_cast<size_t>(top_) + static_cast<size_t>(k);
    if (poly_.size() < need) poly_.resize(std::max(need, 2 * poly_.size()));
    if (cls_.size() < static_cast<size_t>(k)) {
      cls_.resize(k);
      side_.resize(k);
    }
  }

  bool chebyshev(int b, int e, double* center, double* radius) {
    if (!cheb_.solve(&poly_[b], e - b, opt_.radius_cap, center, radius)) {
      halt(EnumStatus::Numerical, "Chebyshev LP of a polygon failed");
      return false;
    }
    return true;
  }

  void start_layer(int l, int b, int e) {
    const Layer& L = net_.layers()[l];
    const int off = net_.unit_offset(l);
    std::vector<int>& unst = unstable_[l];
    unst.clear();
    reserve(e - b);
    int8_t* cls = cls_.data();
    double* s = side_.data();
    for (int u = 0; u < L.n_units; ++u) {
      const int K = L.n_pieces(u);
      pattern_[off + u] = 0;
      if (K == 1) continue;
      if (K > 2) {
        unst.push_back(u);
        continue;
      }
      double h[3];
      const int p = L.piece_start[u];
      difference(l, p + 1, p, h);
      int sign = 0;
      if (constant_row(l, p + 1, p, h, sign)) {  // constant on the cell (within rounding); a zero (within
        pattern_[off + u] = sign > 0 ? 1 : 0;    // rounding) is a tie and goes to piece 0
        continue;
      }
      int npos, nneg;
      classify(&poly_[b], e - b, h, cls, s, npos, nneg);
      if (npos > 0 && nneg > 0) {
        unst.push_back(u);
      } else {
        pattern_[off + u] = npos > 0 ? 1 : 0;
      }
    }
    push(Op::Insert, l, 0, b, e);  // queued, not called: a layer's insertion may finish it and start the next
  }

  // Units idx, idx + 1, ... of layer l on poly_[b, e): the units that miss the polygon in a loop, then the first
  // split queues its two parts.
  void insert(int l, size_t idx, int b, int e) {
    const std::vector<int>& unst = unstable_[l];
    const Layer& L = net_.layers()[l];
    for (;; ++idx) {
      if (stop_) return;
      if (idx == unst.size()) {
        finish_layer(l, b, e);
        return;
      }
      const int u = unst[idx];
      const int gu = net_.unit_offset(l) + u;
      if (L.n_pieces(u) > 2) {
        insert_max_unit(l, idx, b, e);
        return;
      }
      double h[3];
      const int p = L.piece_start[u];
      difference(l, p + 1, p, h);
      const int n = e - b, m0 = top_;
      reserve(4 * n);
      int np = 0, nn = 0;
      const int side = split_raw(&poly_[b], n, h, gu, cls_.data(), side_.data(), &poly_[m0], &np,
                                 &poly_[m0 + 2 * n], &nn);
      if (side != 0) {
        pattern_[gu] = static_cast<int8_t>(side > 0 ? 1 : 0);
        continue;
      }
      top_ = m0 + 2 * n + nn;  // the two parts, with a gap between them; the part h >= 0 goes first
      push(Op::SetTop, l, idx, m0, m0);
      push(Op::SecondPart, l, idx, m0 + 2 * n, m0 + 2 * n + nn);
      if (!surely_thin(m0, m0 + np)) {
        pattern_[gu] = 1;
        push(Op::Insert, l, idx + 1, m0, m0 + np);
      }
      return;
    }
  }

  // A unit with K > 2 pieces: the cell clipped to each piece's argmax cell (its K - 1 half-planes).
  void insert_max_unit(int l, size_t idx, int b, int e) { max_pieces(l, idx, b, e, 0); }

  // Pieces r0, r0 + 1, ... of a K > 2 unit on poly_[b, e) (with top_ where the unit found it); queues the first
  // child found and its continuation.
  void max_pieces(int l, size_t idx, int b, int e, int r0) {
    const Layer& L = net_.layers()[l];
    const int u = unstable_[l][idx];
    const int gu = net_.unit_offset(l) + u;
    const int K = L.n_pieces(u);
    const int p0 = L.piece_start[u];
    const int m0 = top_;
    for (int r = r0; r < K && !stop_; ++r) {
      int cb = b, ce = e;
      bool empty = false;
      for (int s = 0; s < K && !empty; ++s) {
        if (s == r) continue;
        double h[3];
        difference(l, p0 + r, p0 + s, h);  // piece r beats piece s where h >= 0
        int sign = 0;
        if (constant_row(l, p0 + r, p0 + s, h, sign)) {  // parallel pieces (within rounding): ties go to the
          if (sign < 0 || (sign == 0 && s < r)) empty = true;  // lower index
          continue;
        }
        const int n = ce - cb;
        reserve(2 * n);
        int np = 0, nn = 0;
        const int side = split_raw(&poly_[cb], n, h, gu, cls_.data(), side_.data(), &poly_[top_], &np, nullptr,
                                   &nn);
        if (side < 0) {
          empty = true;
        } else if (side == 0) {
          cb = top_;
          ce = top_ + np;
          top_ = ce;
        }
      }
      if (!empty && !surely_thin(cb, ce)) {
        pattern_[gu] = static_cast<int8_t>(r);
        if (r + 1 < K) push(Op::MaxPiece, l, idx, b, e, r + 1);
        push(Op::SetTop, l, idx, m0, m0);
        push(Op::Insert, l, idx + 1, cb, ce);
        return;
      }
      top_ = m0;
    }
  }

  void finish_layer(int l, int b, int e) {
    const auto& layers = net_.layers();
    if (l >= last_split_) {  // no unit splits after this layer: the cell is a region
      emit(l, b, e);
      return;
    }
    double area, perimeter;
    polygon_area_perimeter(&poly_[b], e - b, area, perimeter);
    if (!(area > opt_.tol * perimeter)) {  // the cell may hold no disc of radius tol: decide exactly
      double center[2], radius;
      if (!chebyshev(b, e, center, &radius) || radius <= opt_.tol) return;
    }
    ++res_.base.layer_counts[l];
    // Layer l+1's pieces as functions of u: A_{l+1} M + c, M = the chosen pieces of layer l.
    const Layer& cur = layers[l];
    const Layer& nxt = layers[l + 1];
    const int off = net_.unit_offset(l);
    const int Pc = cur.total_pieces(), Pn = nxt.total_pieces();
    const double* Fl = F_[l].data();
    double* gx = F_[l + 1].data();
    double* gy = gx + Pn;
    double* gc = gy + Pn;
    act_.clear();
    for (int i = 0; i < cur.n_units; ++i) {
      const int pc = cur.piece_start[i] + pattern_[off + i];
      if (!cur.zero_piece[pc]) act_.push_back(Active{i, Fl[pc], Fl[Pc + pc], Fl[2 * Pc + pc]});
    }
    next_pieces(At_[l + 1].data(), nxt.c.data(), Pn, gx, gy, gc);
    mag_valid_ = std::min(mag_valid_, l);  // layer l+1's magnitudes: composed on demand (compose_magnitudes)
    start_layer(l + 1, b, e);
  }

  void emit(int l, int b, int e) {
    double center[2], radius;
    if (!chebyshev(b, e, center, &radius) || radius <= opt_.tol) return;
    const int L = static_cast<int>(net_.layers().size());
    const int64_t R = res_.base.regions();
    if (opt_.max_regions >= 0 && R >= opt_.max_regions) {
      halt(EnumStatus::MaxRegions);
      return;
    }
    for (int j = l; j < L; ++j) ++res_.base.layer_counts[j];
    net_.pattern_layout().pack(pattern_.data(), res_.base.patterns.extend(res_.base.pattern_bytes));
    res_.base.centers.push_back(center[0] + shift_[0]);
    res_.base.centers.push_back(center[1] + shift_[1]);
    res_.base.radii.push_back(radius);
    for (int i = b; i < e; ++i) {
      res_.vertices.push_back(poly_[i].x + shift_[0]);
      res_.vertices.push_back(poly_[i].y + shift_[1]);
      res_.edge_labels.push_back(poly_[i].label);
    }
    res_.offsets.push_back(static_cast<int64_t>(res_.edge_labels.size()));
    if ((R + 1) % 1024 == 0 && opt_.time_limit >= 0 && elapsed() > opt_.time_limit) halt(EnumStatus::TimeLimit);
    if (opt_.checkpoint_every > 0 && (R + 1) % opt_.checkpoint_every == 0 && checkpoint_ && !checkpoint_(R + 1))
      halt(EnumStatus::Interrupted);
  }
};

}  // namespace

PolygonEnumResult enumerate_polygons_2d(const Network& net, const double* x0, const double* Q, const double* Adom,
                                        const double* bdom, int mdom, const EnumOptions& opt,
                                        const Checkpoint& checkpoint) {
  if (!(opt.tol > 0) || !std::isfinite(opt.tol)) throw std::invalid_argument("tol: must be positive and finite");
  if (!(opt.radius_cap > opt.tol)) throw std::invalid_argument("radius_cap: must exceed tol");
  PolygonEnumerator e(net, x0, Q, opt, checkpoint);
  return e.run(Adom, bdom, mdom);
}

}  // namespace relutope
