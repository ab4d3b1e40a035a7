// Certified `holds` by branch and bound on the ReLUs (see certify_bab.hpp). Every bound here is the a priori
// analysis of the former numpy implementation, node by node: gamma_n (Higham 2002, Section 3.1) on every sum,
// inflate() on every computed sum of non-negative error terms, nextafter() on every final rounding.
#include "relutope/certify_bab.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "relutope/certify.hpp"
#include "relutope/lp.hpp"

namespace relutope {

namespace {

using rigorous::gamma;
using rigorous::inflate;
using rigorous::kTiny;
using rigorous::kUnit;

constexpr double kInf = std::numeric_limits<double>::infinity();

inline double down(double v) { return std::nextafter(v, -kInf); }
inline double up(double v) { return std::nextafter(v, kInf); }

// One affine layer y = W x + b (n x m), with the row sums of |W|.
struct Dense {
  int n = 0, m = 0;
  std::vector<double> W, b, absrow;
};

// The network as ReLU layers (the pieces W x + b of the units) and an affine output layer.
struct ReluView {
  std::vector<Dense> layers;
  int hidden = 0;                 // ReLU layers: all but the last
  std::vector<int> offset;        // first hidden unit of each ReLU layer
  int n_hidden = 0;
};

ReluView relu_view(const Network& net) {
  if (!relu_structure(net))
    throw std::invalid_argument("net: the branch and bound on the ReLUs needs ReLU layers and an affine output layer");
  ReluView V;
  const auto& Ls = net.layers();
  V.hidden = static_cast<int>(Ls.size()) - 1;
  for (size_t li = 0; li < Ls.size(); ++li) {
    const Layer& L = Ls[li];
    const bool relu = static_cast<int>(li) < V.hidden;
    Dense D;
    D.n = L.n_units;
    D.m = L.in_dim;
    D.W.resize(static_cast<size_t>(D.n) * D.m);
    D.b.resize(D.n);
    D.absrow.assign(D.n, 0.0);
    for (int i = 0; i < D.n; ++i) {
      const int r = relu ? L.piece_start[i] + 1 : L.piece_start[i];
      for (int j = 0; j < D.m; ++j) {
        const double w = L.A[static_cast<size_t>(r) * D.m + j];
        D.W[static_cast<size_t>(i) * D.m + j] = w;
        D.absrow[i] += std::fabs(w);
      }
      D.b[i] = L.c[r];
    }
    if (relu) {
      V.offset.push_back(V.n_hidden);
      V.n_hidden += D.n;
    }
    V.layers.push_back(std::move(D));
  }
  return V;
}

// A rigorous lower (upper) bound of f . (x, 1) - e (+ e) over the box, f exact (k + 1 entries).
double box_min(int k, const double* f, double e, const double* lo, const double* hi, const double* xm1) {
  double v = 0.0, mag = 0.0;
  for (int j = 0; j < k; ++j) {
    v += f[j] > 0 ? f[j] * lo[j] : f[j] * hi[j];
    mag += std::fabs(f[j]) * xm1[j];
  }
  v += f[k];
  mag += std::fabs(f[k]);
  const double err = inflate(gamma(k + 1) * mag, k + 1) + e;
  return down(v - err * (1 + 4 * kUnit) - 4 * kTiny);
}

double box_max(int k, const double* f, double e, const double* lo, const double* hi, const double* xm1) {
  double v = 0.0, mag = 0.0;
  for (int j = 0; j < k; ++j) {
    v += f[j] > 0 ? f[j] * hi[j] : f[j] * lo[j];
    mag += std::fabs(f[j]) * xm1[j];
  }
  v += f[k];
  mag += std::fabs(f[k]);
  const double err = inflate(gamma(k + 1) * mag, k + 1) + e;
  return up(v + err * (1 + 4 * kUnit) + 4 * kTiny);
}

// The symbolic intervals of a layer's inputs: L . (x, 1) - eL <= z <= U . (x, 1) + eU (units x (k + 1)).
struct Sym {
  std::vector<double> L, U, eL, eU;
  void resize(int n, int k) {
    L.assign(static_cast<size_t>(n) * (k + 1), 0.0);
    U.assign(static_cast<size_t>(n) * (k + 1), 0.0);
    eL.assign(n, 0.0);
    eU.assign(n, 0.0);
  }
};

// P = D applied to the intervals `in` (W+ L + W- U below, W+ U + W- L above). Each coefficient's rounding is at
// most gamma_(2m+2) (|W| max_t max(|L_t|, |U_t|) + |c|), which moves the value by that times xm1.
void affine(const Dense& D, bool with_c, int k, const Sym& in, const double* xm1, Sym& out) {
  const int n = D.n, m = D.m, k1 = k + 1;
  out.resize(n, k);
  double mag = 0.0;
  for (int j = 0; j < k1; ++j) {
    double cm = 0.0;
    for (int t = 0; t < m; ++t)
      cm = std::max(cm, std::max(std::fabs(in.L[static_cast<size_t>(t) * k1 + j]),
                                 std::fabs(in.U[static_cast<size_t>(t) * k1 + j])));
    mag += cm * xm1[j];
  }
  const double g = gamma(2 * m + 2);
  for (int i = 0; i < n; ++i) {
    double* PL = &out.L[static_cast<size_t>(i) * k1];
    double* PU = &out.U[static_cast<size_t>(i) * k1];
    double aL = 0.0, aU = 0.0;
    for (int t = 0; t < m; ++t) {
      const double w = D.W[static_cast<size_t>(i) * m + t];
      if (w == 0.0) continue;
      const double* Lt = &in.L[static_cast<size_t>(t) * k1];
      const double* Ut = &in.U[static_cast<size_t>(t) * k1];
      if (w > 0) {
        for (int j = 0; j < k1; ++j) {
          PL[j] += w * Lt[j];
          PU[j] += w * Ut[j];
        }
        aL += w * in.eL[t];
        aU += w * in.eU[t];
      } else {
        for (int j = 0; j < k1; ++j) {
          PL[j] += w * Ut[j];
          PU[j] += w * Lt[j];
        }
        aL -= w * in.eU[t];
        aU -= w * in.eL[t];
      }
    }
    const double c = with_c ? D.b[i] : 0.0;
    PL[k] += c;
    PU[k] += c;
    const double rnd = g * (D.absrow[i] * mag + std::fabs(c));
    out.eL[i] = inflate(rnd + aL, 2 * m + k + 3);
    out.eU[i] = inflate(rnd + aU, 2 * m + k + 3);
  }
}

// What the back-substitution needs of each ReLU layer (lam, mu, shift, Dmax per unit) and of every layer (the
// magnitudes of its input, zmax_prev).
struct Records {
  std::vector<std::vector<double>> lam, mu, shift, dmax, zprev;
};

// Rigorous lower functions of the r rows R (r x n of layer top-1's output) by back-substitution through the
// relaxations of layers [0, top): R z >= X . (x, 1) - err.
void backsub(const ReluView& V, int top, int r, const double* R, const Records& rec, int k, std::vector<double>& X,
             std::vector<double>& err, std::vector<double>* score = nullptr) {
  int n = V.layers[top - 1].n;
  std::vector<double> Lam(R, R + static_cast<size_t>(r) * n), cst(r, 0.0), w, next;
  err.assign(r, 0.0);
  for (int li = top - 1; li >= 0; --li) {
    const Dense& D = V.layers[li];
    const int m = D.m;
    const std::vector<double>& zp = rec.zprev[li];
    w.assign(n, 0.0);
    const double gp = gamma(m + 2);
    for (int i = 0; i < n; ++i) {
      double s = 0.0;
      for (int j = 0; j < m; ++j) s += std::fabs(D.W[static_cast<size_t>(i) * m + j]) * zp[j];
      w[i] = gp * (s + std::fabs(D.b[i]));
    }
    const double gn = gamma(n + 2);
    if (li < V.hidden) {
      const auto &lam = rec.lam[li], &mu = rec.mu[li], &sh = rec.shift[li], &dm = rec.dmax[li];
      for (int i = 0; i < n; ++i) w[i] += 2 * kUnit * dm[i];
      if (score != nullptr) {  // BaBSR's estimate: the upper relaxation's intercept a row pays at each unit
        const int off = V.offset[li];
        for (int a = 0; a < r; ++a)
          for (int i = 0; i < n; ++i) {
            const double v = Lam[static_cast<size_t>(a) * n + i];
            (*score)[static_cast<size_t>(a) * V.n_hidden + off + i] = v < 0 ? -v * sh[i] : 0.0;
          }
      }
      for (int a = 0; a < r; ++a) {
        double* La = &Lam[static_cast<size_t>(a) * n];
        double ssum = 0.0, sabs = 0.0;
        for (int i = 0; i < n; ++i) {
          if (La[i] < 0) {
            const double s = La[i] * sh[i];
            ssum += s;
            sabs += std::fabs(s);
            La[i] *= mu[i];
          } else {
            La[i] *= lam[i];
          }
        }
        cst[a] += ssum;
        err[a] += gn * (sabs + std::fabs(cst[a]));
      }
    }
    next.assign(static_cast<size_t>(r) * m, 0.0);
    for (int a = 0; a < r; ++a) {
      const double* La = &Lam[static_cast<size_t>(a) * n];
      double e = 0.0, cb = 0.0;
      double* Na = &next[static_cast<size_t>(a) * m];
      for (int i = 0; i < n; ++i) {
        const double v = La[i];
        if (v == 0.0) continue;
        e += std::fabs(v) * w[i];
        cb += v * D.b[i];
        const double* Wi = &D.W[static_cast<size_t>(i) * m];
        for (int j = 0; j < m; ++j) Na[j] += v * Wi[j];
      }
      err[a] = inflate(err[a] + e + gn * std::fabs(cst[a]), m + n + 4);
      cst[a] += cb;
    }
    Lam.swap(next);
    n = m;
  }
  const int k1 = k + 1;
  X.assign(static_cast<size_t>(r) * k1, 0.0);
  for (int a = 0; a < r; ++a) {
    for (int j = 0; j < k; ++j) X[static_cast<size_t>(a) * k1 + j] = Lam[static_cast<size_t>(a) * k + j];
    X[static_cast<size_t>(a) * k1 + k] = cst[a];
  }
}

void node_bound(const ReluView& V, int k, const double* lo, const double* hi, const int8_t* fix, int q,
                const double* C, bool refine, NodeBound& out, const double* pl = nullptr, const double* pu = nullptr) {
  const int k1 = k + 1;
  std::vector<double> xm1(k1, 1.0);
  for (int j = 0; j < k; ++j) xm1[j] = std::max(std::fabs(lo[j]), std::fabs(hi[j]));
  out.k = k;
  out.q = q;
  out.empty = false;
  out.l.assign(V.n_hidden, 0.0);
  out.u.assign(V.n_hidden, 0.0);
  out.DL.assign(static_cast<size_t>(V.n_hidden) * k1, 0.0);
  out.DU.assign(static_cast<size_t>(V.n_hidden) * k1, 0.0);
  out.eDL.assign(V.n_hidden, 0.0);
  out.eDU.assign(V.n_hidden, 0.0);
  Records rec;
  const int nl = static_cast<int>(V.layers.size());
  rec.lam.resize(nl);
  rec.mu.resize(nl);
  rec.shift.resize(nl);
  rec.dmax.resize(nl);
  rec.zprev.resize(nl);
  Sym cur, P;
  cur.resize(k, k);
  for (int j = 0; j < k; ++j) {
    cur.L[static_cast<size_t>(j) * k1 + j] = 1.0;
    cur.U[static_cast<size_t>(j) * k1 + j] = 1.0;
  }
  std::vector<double> zprev(xm1.begin(), xm1.begin() + k);
  std::vector<double> BX, Berr, Rrows;
  for (int li = 0; li < nl; ++li) {
    const Dense& D = V.layers[li];
    affine(D, true, k, cur, xm1.data(), P);
    rec.zprev[li] = zprev;
    if (li == V.hidden) {  // the affine output layer
      cur = P;
      break;
    }
    const int n = D.n, off = V.offset[li];
    std::vector<double> l(n), u(n);
    for (int i = 0; i < n; ++i) {
      l[i] = box_min(k, &P.L[static_cast<size_t>(i) * k1], P.eL[i], lo, hi, xm1.data());
      u[i] = box_max(k, &P.U[static_cast<size_t>(i) * k1], P.eU[i], lo, hi, xm1.data());
      if (pl != nullptr) {  // bounds proven on a superset of the node (its parent): valid here too
        l[i] = std::max(l[i], pl[off + i]);
        u[i] = std::min(u[i], pu[off + i]);
      }
    }
    if (refine && li > 0) {  // CROWN's intermediate bounds of the unstable units: back-substitute +-W_i, keep tighter
      std::vector<int> sel;
      for (int i = 0; i < n; ++i)
        if (l[i] < 0 && u[i] > 0) sel.push_back(i);
      const int s = static_cast<int>(sel.size());
      if (s) {
        const int m = D.m;
        Rrows.assign(static_cast<size_t>(2 * s) * m, 0.0);
        for (int a = 0; a < s; ++a)
          for (int j = 0; j < m; ++j) {
            const double w = D.W[static_cast<size_t>(sel[a]) * m + j];
            Rrows[static_cast<size_t>(a) * m + j] = w;
            Rrows[static_cast<size_t>(a + s) * m + j] = -w;
          }
        backsub(V, li, 2 * s, Rrows.data(), rec, k, BX, Berr);
        for (int a = 0; a < s; ++a) {
          const int i = sel[a];
          const double bl = box_min(k, &BX[static_cast<size_t>(a) * k1], Berr[a], lo, hi, xm1.data());
          const double bu = box_min(k, &BX[static_cast<size_t>(a + s) * k1], Berr[a + s], lo, hi, xm1.data());
          l[i] = std::max(l[i], down(bl + D.b[i]));
          u[i] = std::min(u[i], up(-bu + D.b[i]));
        }
      }
    }
    for (int i = 0; i < n; ++i)
      if (l[i] > u[i]) {  // the prior and the new bounds cross: no point of the node has a value for z_i
        out.empty = true;
        u[i] = l[i];
      }
    if (fix != nullptr) {
      for (int i = 0; i < n; ++i) {
        const int8_t f = fix[off + i];
        if (f > 0) {
          if (u[i] < 0) out.empty = true;
          l[i] = std::max(l[i], 0.0);
        } else if (f < 0) {
          if (l[i] > 0) out.empty = true;
          u[i] = std::min(u[i], 0.0);
        }
        u[i] = std::max(u[i], l[i]);  // an empty node: any consistent values (it is discarded)
      }
    }
    std::copy(P.L.begin(), P.L.end(), out.DL.begin() + static_cast<size_t>(off) * k1);
    std::copy(P.U.begin(), P.U.end(), out.DU.begin() + static_cast<size_t>(off) * k1);
    std::copy(P.eL.begin(), P.eL.end(), out.eDL.begin() + off);
    std::copy(P.eU.begin(), P.eU.end(), out.eDU.begin() + off);
    std::copy(l.begin(), l.end(), out.l.begin() + off);
    std::copy(u.begin(), u.end(), out.u.begin() + off);
    auto& lam = rec.lam[li];
    auto& mu = rec.mu[li];
    auto& sh = rec.shift[li];
    auto& dm = rec.dmax[li];
    lam.assign(n, 0.0);
    mu.assign(n, 0.0);
    sh.assign(n, 0.0);
    dm.assign(n, 0.0);
    cur.resize(n, k);
    zprev.assign(n, 0.0);
    for (int i = 0; i < n; ++i) {
      const bool act = l[i] >= 0, dead = u[i] <= 0, unst = !(act || dead);
      // lower slope: CROWN's adaptive choice (any value in [0, 1] is valid); upper: mu >= u / (u - l), rounded up
      lam[i] = act ? 1.0 : (dead ? 0.0 : (u[i] > -l[i] ? 1.0 : 0.0));
      mu[i] = act ? 1.0 : (dead ? 0.0 : u[i] / (u[i] - l[i]) * (1 + 8 * kUnit));
      sh[i] = unst ? up(-mu[i] * l[i]) : 0.0;  // >= -mu l despite its rounding
      dm[i] = std::max(std::fabs(l[i]), std::fabs(u[i]));
      zprev[i] = std::max(u[i], 0.0);
      const double* DLi = &P.L[static_cast<size_t>(i) * k1];
      const double* DUi = &P.U[static_cast<size_t>(i) * k1];
      double* Li = &cur.L[static_cast<size_t>(i) * k1];
      double* Ui = &cur.U[static_cast<size_t>(i) * k1];
      double magL = 0.0, magU = 0.0;
      for (int j = 0; j < k1; ++j) {
        Li[j] = lam[i] * DLi[j];
        Ui[j] = mu[i] * DUi[j];
        magL += std::fabs(Li[j]) * xm1[j];
        magU += std::fabs(Ui[j]) * xm1[j];
      }
      Ui[k] += sh[i];
      magU += std::fabs(sh[i]);
      cur.eL[i] = inflate(gamma(2) * magL + std::fabs(lam[i]) * P.eL[i], k1 + 3);
      cur.eU[i] = inflate(gamma(3) * magU + std::fabs(mu[i]) * P.eU[i], k1 + 4);
    }
  }
  // the objectives: through the output layer's intervals, and by back-substitution; the tighter per row
  Dense Cd;
  Cd.n = q;
  Cd.m = V.layers.back().n;
  Cd.W.assign(C, C + static_cast<size_t>(q) * Cd.m);
  Cd.b.assign(q, 0.0);
  Cd.absrow.assign(q, 0.0);
  for (int a = 0; a < q; ++a)
    for (int j = 0; j < Cd.m; ++j) Cd.absrow[a] += std::fabs(Cd.W[static_cast<size_t>(a) * Cd.m + j]);
  Sym O;
  affine(Cd, false, k, cur, xm1.data(), O);
  out.score.assign(static_cast<size_t>(q) * V.n_hidden, 0.0);
  backsub(V, nl, q, C, rec, k, BX, Berr, &out.score);
  out.X.assign(static_cast<size_t>(q) * k1, 0.0);
  out.e.assign(q, 0.0);
  for (int a = 0; a < q; ++a) {
    const double* f1 = &O.L[static_cast<size_t>(a) * k1];
    const double* f2 = &BX[static_cast<size_t>(a) * k1];
    const bool better = box_min(k, f2, Berr[a], lo, hi, xm1.data()) > box_min(k, f1, O.eL[a], lo, hi, xm1.data());
    std::copy(better ? f2 : f1, (better ? f2 : f1) + k1, out.X.begin() + static_cast<size_t>(a) * k1);
    out.e[a] = better ? Berr[a] : O.eL[a];
  }
}

// The rows x_j <= hi_j and -x_j <= -lo_j of the box after the rows already in `rows` (g: a scratch row of >=
// k entries, overwritten): their indices go to up_row / lo_row, norm 1 and source -1 (not a row of the node).
void push_box_rows(RowStack& rows, int k, const double* lo, const double* hi, std::vector<double>& g,
                   std::vector<int>& up_row, std::vector<int>& lo_row, std::vector<double>& norm,
                   std::vector<int>& source) {
  for (int j = 0; j < k; ++j) {
    std::fill(g.begin(), g.end(), 0.0);
    g[j] = 1.0;
    rows.push(g.data(), hi[j]);
    up_row[j] = rows.m() - 1;
    g[j] = -1.0;
    rows.push(g.data(), -lo[j]);
    lo_row[j] = rows.m() - 1;
    norm.push_back(1.0);
    norm.push_back(1.0);
    source.push_back(-1);
    source.push_back(-1);
  }
}

// min t s.t. F_r . (x, 1) - t <= 0 (r < q), G_j . (x, 1) <= 0 (j < p), lo <= x <= hi, on the dual simplex.
// The multipliers of the rows as given (not normalised) go to lam (q) and mu (p).
LPStatus minmax_lp(int q, int p, int k, const double* F, const double* G, const double* lo, const double* hi,
                   double& value, std::vector<double>& lam, std::vector<double>& mu, int64_t& iters) {
  const int n = k + 1;
  RowStack rows(n);
  std::vector<double> g(n), norm;
  std::vector<int> source;  // row -> r (< q), q + j, or -1 (box)
  for (int r = 0; r < q; ++r) {
    const double* f = F + static_cast<size_t>(r) * n;
    double s = 1.0;
    for (int j = 0; j < k; ++j) s += f[j] * f[j];
    s = std::sqrt(s);
    for (int j = 0; j < k; ++j) g[j] = f[j] / s;
    g[k] = -1.0 / s;
    rows.push(g.data(), -f[k] / s);
    norm.push_back(s);
    source.push_back(r);
  }
  for (int j = 0; j < p; ++j) {
    const double* f = G + static_cast<size_t>(j) * n;
    double s = 0.0;
    for (int i = 0; i < k; ++i) s += f[i] * f[i];
    s = std::sqrt(s);
    if (!(s > 0) || !std::isfinite(s)) continue;  // a constant row: left out (a relaxation, still valid)
    for (int i = 0; i < k; ++i) g[i] = f[i] / s;
    g[k] = 0.0;
    rows.push(g.data(), -f[k] / s);
    norm.push_back(s);
    source.push_back(q + j);
  }
  std::vector<int> up_row(k), lo_row(k);
  push_box_rows(rows, k, lo, hi, g, up_row, lo_row, norm, source);
  // a dual-feasible start: the row of largest minimum over the box, at the box's vertex minimising it
  int best = 0;
  double bv = -kInf;
  for (int r = 0; r < q; ++r) {
    const double* f = F + static_cast<size_t>(r) * n;
    double v = f[k];
    for (int j = 0; j < k; ++j) v += f[j] > 0 ? f[j] * lo[j] : f[j] * hi[j];
    if (v > bv) { bv = v; best = r; }
  }
  std::vector<double> c(n, 0.0);
  c[k] = -1.0;
  LPBasis B;
  B.resize(n);
  const double* fb = F + static_cast<size_t>(best) * n;
  for (int j = 0; j < k; ++j) B.active[j] = fb[j] > 0 ? lo_row[j] : up_row[j];
  B.active[k] = best;
  for (int i = 0; i < n; ++i) B.rhs[i] = rows.rhs(B.active[i]);
  DualSimplex ds;
  if (!ds.refactor(rows, c.data(), B)) return LPStatus::Numerical;
  for (int i = 0; i < n; ++i) {
    double s = 0.0;
    for (int j = 0; j < n; ++j) s += B.binv[static_cast<size_t>(i) * n + j] * B.rhs[j];
    B.y[i] = s;
  }
  LPCounters cnt;
  const LPStatus st = ds.solve(rows, c.data(), B, cnt, 50 * (rows.m() + n));
  iters += cnt.iterations;
  if (st != LPStatus::Optimal) return st;
  value = B.y[k];
  lam.assign(q, 0.0);
  mu.assign(p, 0.0);
  for (int i = 0; i < n; ++i) {
    const int a = B.active[i];
    if (a < 0) continue;
    const int s = source[a];
    if (s < 0) continue;
    if (s < q) lam[s] = B.lambda[i] / norm[a];
    else mu[s - q] = B.lambda[i] / norm[a];
  }
  return LPStatus::Optimal;
}

// min c . x s.t. G_j . (x, 1) <= 0 (j < p), lo <= x <= hi, on the dual simplex: the multipliers of the rows as
// given (not normalised) go to mu (p). A start from the box's vertex minimising c (dual feasible).
LPStatus linear_lp(int p, int k, const double* c, const double* G, const double* lo, const double* hi,
                   std::vector<double>& mu, int64_t& iters) {
  RowStack rows(k);
  std::vector<double> g(k), norm;
  std::vector<int> source;
  for (int j = 0; j < p; ++j) {
    const double* f = G + static_cast<size_t>(j) * (k + 1);
    double s = 0.0;
    for (int i = 0; i < k; ++i) s += f[i] * f[i];
    s = std::sqrt(s);
    if (!(s > 0) || !std::isfinite(s)) continue;  // a constant row: left out (a relaxation, still valid)
    for (int i = 0; i < k; ++i) g[i] = f[i] / s;
    rows.push(g.data(), -f[k] / s);
    norm.push_back(s);
    source.push_back(j);
  }
  std::vector<int> up_row(k), lo_row(k);
  push_box_rows(rows, k, lo, hi, g, up_row, lo_row, norm, source);
  std::vector<double> cmax(k);  // maximise -c . x
  for (int j = 0; j < k; ++j) cmax[j] = -c[j];
  LPBasis B;
  B.resize(k);
  for (int j = 0; j < k; ++j) B.active[j] = cmax[j] > 0 ? up_row[j] : lo_row[j];
  for (int i = 0; i < k; ++i) B.rhs[i] = rows.rhs(B.active[i]);
  DualSimplex ds;
  if (!ds.refactor(rows, cmax.data(), B)) return LPStatus::Numerical;
  for (int i = 0; i < k; ++i) {
    double s = 0.0;
    for (int j = 0; j < k; ++j) s += B.binv[static_cast<size_t>(i) * k + j] * B.rhs[j];
    B.y[i] = s;
  }
  LPCounters cnt;
  const LPStatus st = ds.solve(rows, cmax.data(), B, cnt, 50 * (rows.m() + k));
  iters += cnt.iterations;
  if (st != LPStatus::Optimal) return st;
  mu.assign(p, 0.0);
  for (int i = 0; i < k; ++i) {
    const int a = B.active[i];
    if (a < 0 || source[a] < 0) continue;
    mu[source[a]] = B.lambda[i] / norm[a];
  }
  return LPStatus::Optimal;
}

}  // namespace

bool relu_structure(const Network& net) {
  const auto& Ls = net.layers();
  if (Ls.size() < 2) return false;
  for (size_t li = 0; li + 1 < Ls.size(); ++li) {
    const Layer& L = Ls[li];
    for (int i = 0; i < L.n_units; ++i) {
      if (L.n_pieces(i) != 2) return false;
      const int r0 = L.piece_start[i];
      if (L.c[r0] != 0.0) return false;
      for (int j = 0; j < L.in_dim; ++j)
        if (L.A[static_cast<size_t>(r0) * L.in_dim + j] != 0.0) return false;
    }
  }
  const Layer& last = Ls.back();
  for (int i = 0; i < last.n_units; ++i)
    if (last.n_pieces(i) != 1) return false;
  return true;
}

void relu_node_bound(const Network& net, const double* lo, const double* hi, const int8_t* fix, int q,
                     const double* C, bool refine, NodeBound& out, const double* pl, const double* pu) {
  const ReluView V = relu_view(net);
  node_bound(V, net.in_dim(), lo, hi, fix, q, C, refine, out, pl, pu);
}

double weighted_min(int p, int k, const double* w, const double* F, const double* e, const double* lo,
                    const double* hi) {
  const int k1 = k + 1;
  std::vector<double> xm1(k1, 1.0), S(k1, 0.0);
  for (int j = 0; j < k; ++j) xm1[j] = std::max(std::fabs(lo[j]), std::fabs(hi[j]));
  double mag = 0.0, we = 0.0;
  for (int a = 0; a < p; ++a) {
    const double wa = std::max(w[a], 0.0);
    if (wa == 0.0) continue;
    const double* f = F + static_cast<size_t>(a) * k1;
    for (int j = 0; j < k1; ++j) {
      S[j] += wa * f[j];
      mag += wa * std::fabs(f[j]) * xm1[j];
    }
    we += wa * e[a];
  }
  const double err = inflate(gamma(p + 1) * mag + we, 2 * p + k1);
  return box_min(k, S.data(), err, lo, hi, xm1.data());
}

bool tighten_box(int p, int k, const double* rows, const double* erows, double* lo, double* hi, int passes) {
  const int k1 = k + 1;
  std::vector<double> T(k);
  for (int pass = 0; pass < passes; ++pass) {
    for (int a = 0; a < p; ++a) {
      const double* r = rows + static_cast<size_t>(a) * k1;
      double tot = 0.0, mag = std::fabs(r[k]) + erows[a];
      for (int j = 0; j < k; ++j) {
        T[j] = std::min(r[j] * lo[j], r[j] * hi[j]);  // min of a_j x_j over [lo_j, hi_j]
        tot += T[j];
        mag += std::fabs(T[j]);
      }
      // a_j x_j <= -b + e - sum_(i != j) a_i x_i <= R_j, rounded up
      const double slack = inflate(gamma(k + 4) * mag, k + 3) * (1 + 4 * kUnit) + 4 * (k + 4) * kTiny;
      for (int j = 0; j < k; ++j) {
        if (r[j] == 0.0) continue;
        const double R = (-r[k] + erows[a]) - (tot - T[j]) + slack;
        const double qv = R / r[j];
        if (std::isnan(qv)) continue;
        if (r[j] > 0) hi[j] = std::min(hi[j], up(up(qv)));
        else lo[j] = std::max(lo[j], down(down(qv)));
      }
      for (int j = 0; j < k; ++j)
        if (lo[j] > hi[j]) return true;
    }
  }
  return false;
}

bool lp_box(int p, int k, const double* rows, const double* erows, double* lo, double* hi, int64_t* lps) {
  if (p == 0) return false;
  const int k1 = k + 1;
  std::vector<double> c(k, 0.0), w(p + 1), F(static_cast<size_t>(p + 1) * k1), e(p + 1, 0.0), mu;
  std::copy(rows, rows + static_cast<size_t>(p) * k1, F.begin() + k1);
  std::copy(erows, erows + p, e.begin() + 1);
  w[0] = 1.0;
  int64_t iters = 0;
  // The LPs in the box's own coordinates x = mid + half * t, t in [-1, 1] (the dual simplex's tolerances are
  // absolute: at scale 1e-6 its optimum in x was 1e-3 of the width off). Only the multipliers are taken from it.
  std::vector<double> mid(k), half(k), tlo(k), thi(k), G(static_cast<size_t>(p) * k1);
  auto rescale = [&]() {
    for (int j = 0; j < k; ++j) {
      mid[j] = 0.5 * lo[j] + 0.5 * hi[j];
      half[j] = 0.5 * hi[j] - 0.5 * lo[j];
      if (!(half[j] > 0)) half[j] = 1.0;
      tlo[j] = (lo[j] - mid[j]) / half[j];
      thi[j] = (hi[j] - mid[j]) / half[j];
    }
    for (int i = 0; i < p; ++i) {
      const double* r = rows + static_cast<size_t>(i) * k1;
      double* g = &G[static_cast<size_t>(i) * k1];
      g[k] = r[k];
      for (int j = 0; j < k; ++j) {
        g[j] = r[j] * half[j];
        g[k] += r[j] * mid[j];
      }
    }
  };
  for (int j = 0; j < k; ++j) {
    if (!(lo[j] < hi[j])) continue;
    for (int s : {1, -1}) {
      rescale();
      std::fill(c.begin(), c.end(), 0.0);
      c[j] = s;
      if (lps != nullptr) ++*lps;
      if (linear_lp(p, k, c.data(), G.data(), tlo.data(), thi.data(), mu, iters) != LPStatus::Optimal) continue;
      // s x_j >= s x_j + sum_i mu_i (rows_i . (x, 1) - erows_i) on the node, >= its rigorous minimum over the box
      // (mu = half_j mu_t: the multipliers of s t_j, scaled to s x_j; any mu >= 0 is valid)
      std::fill(F.begin(), F.begin() + k1, 0.0);
      F[j] = s;
      for (int i = 0; i < p; ++i) w[i + 1] = mu[i] * half[j];
      const double b = weighted_min(p + 1, k, w.data(), F.data(), e.data(), lo, hi);
      if (!std::isfinite(b)) continue;
      if (s > 0) lo[j] = std::max(lo[j], b);
      else hi[j] = std::min(hi[j], -b);
      if (lo[j] > hi[j]) return true;
    }
  }
  return false;
}

double check_node(int q, int p, int k, const double* lam, const double* mu, const double* obj, const double* eobj,
                  const double* d, const double* rows, const double* erows, const double* lo, const double* hi) {
  const int k1 = k + 1, n = 2 * q + p;
  std::vector<double> w(n), F(static_cast<size_t>(n) * k1, 0.0), e(n, 0.0);
  double total = 0.0;
  for (int r = 0; r < q; ++r) {
    const double lr = lam[r] > 0 ? lam[r] : 0.0;  // (NaN counts as 0)
    w[r] = w[q + r] = lr;
    total += lr;
    std::copy(obj + static_cast<size_t>(r) * k1, obj + static_cast<size_t>(r + 1) * k1, &F[static_cast<size_t>(r) * k1]);
    e[r] = eobj[r];
    F[static_cast<size_t>(q + r) * k1 + k] = -d[r];
  }
  for (int j = 0; j < p; ++j) {
    w[2 * q + j] = mu[j] > 0 ? mu[j] : 0.0;
    std::copy(rows + static_cast<size_t>(j) * k1, rows + static_cast<size_t>(j + 1) * k1,
              &F[static_cast<size_t>(2 * q + j) * k1]);
    e[2 * q + j] = erows[j];
  }
  if (!std::isfinite(total)) return -kInf;
  const double bound = weighted_min(n, k, w.data(), F.data(), e.data(), lo, hi);
  total = inflate(total, q);
  // bound <= sum lam (C y - d) <= total max_r (C_r y - d_r)
  if (bound > 0 && total > 0 && std::isfinite(bound)) return down(bound / total);
  return -kInf;
}

double node_lp(int q, int p, int k, const double* obj, const double* eobj, const double* d, const double* rows,
               const double* erows, const double* lo, const double* hi, double& value, bool& empty) {
  const int k1 = k + 1;
  empty = false;
  std::vector<double> F(obj, obj + static_cast<size_t>(q) * k1), lam, mu;
  for (int r = 0; r < q; ++r) F[static_cast<size_t>(r) * k1 + k] -= d[r];  // a guess: the check redoes it exactly
  int64_t iters = 0;
  LPStatus st = minmax_lp(q, p, k, F.data(), rows, lo, hi, value, lam, mu, iters);
  if (st == LPStatus::Infeasible && p > 0) {
    std::vector<double> none, mu2;
    double v2 = 0.0;
    st = minmax_lp(p, 0, k, rows, nullptr, lo, hi, v2, mu2, none, iters);
    if (st == LPStatus::Optimal && v2 > 0 && weighted_min(p, k, mu2.data(), rows, erows, lo, hi) > 0) {
      empty = true;
      value = kInf;
      return kInf;
    }
    value = -kInf;
    return -kInf;
  }
  if (st != LPStatus::Optimal) {
    value = -kInf;
    return -kInf;
  }
  if (!(value > 0)) return -kInf;
  return check_node(q, p, k, lam.data(), mu.data(), obj, eobj, d, rows, erows, lo, hi);
}

const char* bab_status_name(BabStatus s) {
  switch (s) {
    case BabStatus::Proven: return "proven";
    case BabStatus::Unrefuted: return "unrefuted";
    case BabStatus::TimeLimit: return "time_limit";
    case BabStatus::NodeLimit: return "node_limit";
    case BabStatus::Interrupted: return "interrupted";
  }
  return "unknown";
}

BabResult relu_bab_certify(const Network& net, int n_boxes, const double* lo, const double* hi,
                           const std::vector<BabTerm>& terms, const BabOptions& opt) {
  const ReluView V = relu_view(net);
  const int k = net.in_dim(), k1 = k + 1, m = net.out_dim(), nt = static_cast<int>(terms.size());
  std::vector<double> allC, ds;
  std::vector<int> qs{0};
  for (const BabTerm& t : terms) {
    if (static_cast<int>(t.C.size()) != t.q * m || static_cast<int>(t.d.size()) != t.q)
      throw std::invalid_argument("terms: C must be q x n_outputs and d of length q");
    allC.insert(allC.end(), t.C.begin(), t.C.end());
    ds.insert(ds.end(), t.d.begin(), t.d.end());
    qs.push_back(qs.back() + t.q);
  }
  const int Q = qs.back();
  struct Node {
    std::vector<double> lo, hi;
    std::vector<int8_t> fix;
    std::vector<int> terms;
    int depth = 0;  // signs imposed
    int root = 0;   // the box it comes from
    int isplit = 0; // input splits made above it
    std::vector<double> pl, pu;  // the parent's proven unit bounds (valid on the node; empty: none)
  };
  std::vector<Node> stack;
  for (int b = n_boxes - 1; b >= 0; --b) {
    Node nd;
    nd.lo.assign(lo + static_cast<size_t>(b) * k, lo + static_cast<size_t>(b + 1) * k);
    nd.hi.assign(hi + static_cast<size_t>(b) * k, hi + static_cast<size_t>(b + 1) * k);
    nd.fix.assign(V.n_hidden, 0);
    for (int t = 0; t < nt; ++t) nd.terms.push_back(t);
    nd.root = b;
    stack.push_back(std::move(nd));
  }
  const auto t0 = std::chrono::steady_clock::now();
  BabResult res;
  res.margin = kInf;
  NodeBound nb;
  std::vector<double> rows, erows, width(k);
  std::vector<int> still;
  while (!stack.empty()) {
    if (opt.time_limit > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > opt.time_limit) {
      res.status = BabStatus::TimeLimit;
      return res;
    }
    if (res.nodes >= opt.max_nodes) {
      res.status = BabStatus::NodeLimit;
      return res;
    }
    if (opt.checkpoint && res.nodes > 0 && res.nodes % opt.checkpoint_every == 0 && !opt.checkpoint(res.nodes)) {
      res.status = BabStatus::Interrupted;
      return res;
    }
    Node nd = std::move(stack.back());
    stack.pop_back();
    ++res.nodes;
    res.max_depth = std::max(res.max_depth, nd.depth);
    // A node with a parent is bounded first without the CROWN intermediate bounds, from its parent's unit bounds
    // (cheap; most nodes are closed so, as verify.cpp's CellRelaxation::from_parent), then, when still open, with
    // them. Each stage: the bound, the box shrunk by the signed units' rows (intervals, then LPs), and the bound
    // again on the smaller box while some input's width shrank by a quarter (a bound on any box holding the node's
    // points is valid), then each open term by the bound alone, else by the node's LP.
    bool empty = false, by_bound = true;
    int p = 0;
    double value = 0.0;
    const bool cheap = opt.cheap_first && opt.refine && !nd.pl.empty();
    for (int stage = cheap ? 0 : 1; stage < 2; ++stage) {
      const bool rf = stage == 1 && opt.refine;
      if (stage == 1 && cheap) {  // the first stage's bounds as the prior
        nd.pl = nb.l;
        nd.pu = nb.u;
        ++res.cheap_open;
      }
      empty = false;
      for (int pass = 0;; ++pass) {
        node_bound(V, k, nd.lo.data(), nd.hi.data(), nd.fix.data(), Q, allC.data(), rf, nb,
                   nd.pl.empty() ? nullptr : nd.pl.data(), nd.pu.empty() ? nullptr : nd.pu.data());
        if (nb.empty) break;
        // the signed units' rows: the rigorous lower function of -sign * z, which is <= 0 on the node
        rows.clear();
        erows.clear();
        for (int i = 0; i < V.n_hidden; ++i) {
          if (nd.fix[i] == 0) continue;
          const double* src = nd.fix[i] < 0 ? &nb.DL[static_cast<size_t>(i) * k1] : &nb.DU[static_cast<size_t>(i) * k1];
          for (int j = 0; j < k1; ++j) rows.push_back(nd.fix[i] < 0 ? src[j] : -src[j]);
          erows.push_back(nd.fix[i] < 0 ? nb.eDL[i] : nb.eDU[i]);
        }
        p = static_cast<int>(erows.size());
        for (int j = 0; j < k; ++j) width[j] = nd.hi[j] - nd.lo[j];
        empty = tighten_box(p, k, rows.data(), erows.data(), nd.lo.data(), nd.hi.data());
        if (!empty && opt.lp_box)
          empty = lp_box(p, k, rows.data(), erows.data(), nd.lo.data(), nd.hi.data(), &res.box_lps);
        if (empty || pass >= opt.rebound) break;
        bool shrunk = false;
        for (int j = 0; j < k; ++j) shrunk = shrunk || nd.hi[j] - nd.lo[j] < 0.75 * width[j];
        if (!shrunk) break;
        ++res.rebounds;
        nd.pl = nb.l;  // (the bounds just proven hold on the smaller box's points of the node)
        nd.pu = nb.u;
      }
      if (nb.empty) {
        empty = true;
        break;
      }
      std::vector<double> xm1(k1, 1.0);
      for (int j = 0; j < k; ++j) xm1[j] = std::max(std::fabs(nd.lo[j]), std::fabs(nd.hi[j]));
      still.clear();
      by_bound = true;
      for (int t : nd.terms) {
        if (empty) break;
        double best = -kInf;
        for (int r = qs[t]; r < qs[t + 1]; ++r)
          best = std::max(best, down(box_min(k, &nb.X[static_cast<size_t>(r) * k1], nb.e[r], nd.lo.data(),
                                             nd.hi.data(), xm1.data()) - ds[r]));
        if (best > 0) {
          res.margin = std::min(res.margin, best);
          continue;
        }
        by_bound = false;
        ++res.lps;
        const double bound = node_lp(terms[t].q, p, k, &nb.X[static_cast<size_t>(qs[t]) * k1], &nb.e[qs[t]],
                                     &ds[qs[t]], rows.data(), erows.data(), nd.lo.data(), nd.hi.data(), value, empty);
        if (empty) break;
        if (bound > 0) {
          res.margin = std::min(res.margin, bound);
          continue;
        }
        still.push_back(t);
      }
      if (empty || still.empty()) break;
      nd.terms = still;  // (the terms refuted by the first stage stay refuted)
    }
    if (empty || still.empty()) {
      ++res.proven;
      if (empty) ++res.empty;
      else if (by_bound) ++res.by_bound;
      if (nd.depth == 0 && !nb.empty) ++res.box_leaves;
      continue;
    }
    if (nd.depth == 0 && nd.isplit < opt.input_depth && res.splits < opt.max_splits) {
      int unstable = 0;
      for (int i = 0; i < V.n_hidden; ++i) unstable += (nb.l[i] < 0 && nb.u[i] > 0);
      if (unstable > opt.split_unstable) {
        std::vector<double> rel(k), smear(k, 0.0);
        double rmax = 0.0;
        for (int j = 0; j < k; ++j) {
          const double span = hi[static_cast<size_t>(nd.root) * k + j] - lo[static_cast<size_t>(nd.root) * k + j];
          rel[j] = (nd.hi[j] - nd.lo[j]) / (span > 0 ? span : 1.0);
          rmax = std::max(rmax, rel[j]);
          for (int t : still)
            for (int r = qs[t]; r < qs[t + 1]; ++r) smear[j] += std::fabs(nb.X[static_cast<size_t>(r) * k1 + j]);
          smear[j] *= nd.hi[j] - nd.lo[j];
        }
        int js = -1;
        for (int j = 0; j < k; ++j)
          if (rel[j] > 0 && rel[j] >= rmax / 16 && (js < 0 || smear[j] > smear[js])) js = j;
        const double mid = js < 0 ? 0.0 : 0.5 * (nd.lo[js] + nd.hi[js]);
        if (js >= 0 && mid > nd.lo[js] && mid < nd.hi[js]) {
          ++res.splits;
          for (int side = 1; side >= 0; --side) {
            Node ch;
            ch.lo = nd.lo;
            ch.hi = nd.hi;
            (side ? ch.lo : ch.hi)[js] = mid;
            ch.fix = nd.fix;
            ch.terms = still;
            ch.root = nd.root;
            ch.isplit = nd.isplit + 1;
            ch.pl = nb.l;
            ch.pu = nb.u;
            stack.push_back(std::move(ch));
          }
          continue;
        }
      }
    }
    // the ReLU to split: BaBSR's score over the open rows (Bunel et al., "Branch and Bound for Piecewise Linear
    // Neural Network Verification", JMLR 2020), else a free unit of the first layer with one: the tallest triangle
    int j = -1;
    if (opt.babsr) {
      double sbest = 0.0;
      for (int i = 0; i < V.n_hidden; ++i) {
        if (nd.fix[i] != 0 || !(nb.l[i] < 0 && nb.u[i] > 0)) continue;
        double sc = 0.0;
        for (int t : still)
          for (int r = qs[t]; r < qs[t + 1]; ++r) sc += nb.score[static_cast<size_t>(r) * V.n_hidden + i];
        if (sc > sbest) {
          sbest = sc;
          j = i;
        }
      }
    }
    for (int li = 0; li < V.hidden && j < 0; ++li) {
      double height = -kInf;
      for (int i = V.offset[li]; i < V.offset[li] + V.layers[li].n; ++i) {
        if (nd.fix[i] != 0 || !(nb.l[i] < 0 && nb.u[i] > 0)) continue;
        const double h = -nb.l[i] * nb.u[i] / (nb.u[i] - nb.l[i]);
        if (j < 0 || h > height) {
          height = h;
          j = i;
        }
      }
    }
    if (j < 0) {
      res.status = BabStatus::Unrefuted;
      res.value = value;
      return res;
    }
    for (int sign : {-1, 1}) {
      Node ch;
      ch.lo = nd.lo;
      ch.hi = nd.hi;
      ch.fix = nd.fix;
      ch.fix[j] = static_cast<int8_t>(sign);
      ch.terms = still;
      ch.depth = nd.depth + 1;
      ch.root = nd.root;
      ch.isplit = nd.isplit;
      ch.pl = nb.l;
      ch.pu = nb.u;
      stack.push_back(std::move(ch));
    }
  }
  res.status = BabStatus::Proven;
  return res;
}

}  // namespace relutope
