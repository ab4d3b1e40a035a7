#include "relutope/polytope.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "relutope/bits.hpp"
#include "relutope/certify.hpp"  // composed_zero: the rounding of the composed pieces
#include "relutope/lp.hpp"
#include "relutope/norms.hpp"
#include "relutope/piece_columns.hpp"
#include "relutope/polygon2d.hpp"  // kSideEps: the same relative epsilon as the 2-D path

namespace relutope {

namespace {

using Clock = std::chrono::steady_clock;

// CPU seconds of the calling thread (the phase profile, PolytopePhases).
inline double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Threads: a run of one job's output in the one-thread search's order: regions [begin, end) of the store of the
// worker that ran the job, or (job >= 0) the place of a donated job's output.
struct PolyPiece {
  int64_t job = -1;
  int64_t begin = 0, end = 0;
};

// Threads: a subtree of the search with the state it reads (PolytopeEnumerator::donate): the task that starts it
// (an Insert, SecondPart or MaxPiece of layer l at unit position idx, on the cell of n vertices whose next cut id
// is c), the cell's vertices and incidences, the constraint rows of ids below c, the pattern, layer l's pieces
// (l > 0; layer 0's are fixed) and unstable units; then its output.
struct PolyJob {
  bool root = false;  // the whole search, from the domain
  uint8_t op = 0;
  int l = 0, idx = 0, c = 0, r = 0, n = 0;
  std::vector<double> X, hyp, F;
  std::vector<Word> I;
  std::vector<int8_t> pattern;
  std::vector<int> unstable;
  int worker = -1;  // the worker that ran it (whose store its pieces index)
  std::vector<PolyPiece> out;
};

// Threads: what the workers share (SharedSearch), and the domain, which the root job reads.
struct PolyShared : SharedSearch<PolyJob> {
  using SharedSearch<PolyJob>::SharedSearch;
  const double *Adom = nullptr, *bdom = nullptr;
};

template <int KC>
class alignas(kCacheLine) PolytopeEnumerator {  // threads: no cache line shared with another worker's
 public:
  PolytopeEnumerator(const Network& net, const double* x0, const double* Q, int k, int mdom, const EnumOptions& opt,
                     const Checkpoint& checkpoint)
      : net_(net), k_(k), n_(k + 1), mdom_(mdom), opt_(opt), checkpoint_(checkpoint), rows_(k + 1) {
    const auto& layers = net.layers();
    const int L = static_cast<int>(layers.size());
    F_.resize(L);
    At_.resize(L);
    unstable_.resize(L);
    int cuts = 0;  // the most cuts along one search path: one per two-piece unit, K - 1 per K-piece unit
    terms_.resize(L);
    for (int l = 0, N = 0; l < L; ++l) {
      const Layer& layer = layers[l];
      const int P = layer.total_pieces();
      // rows: slope in u_0 (P), ..., slope in u_{k-1}, offset; then the magnitudes (slopes, offset; certify.hpp)
      F_[l].assign(static_cast<size_t>(dim1() + 2) * P, 0.0);
      N += layer.in_dim + 1;
      terms_[l] = N + 1;
      for (int u = 0; u < layer.n_units; ++u) {
        const int K = layer.n_pieces(u);
        if (K >= 2) last_split_ = l;
        if (K >= 2) cuts += K - 1;
      }
      if (l > 0) At_[l] = transposed_weights(layer);
    }
    // Constraint ids: the domain's rows, then the 2k faces of a bounding box, then the cuts by depth.
    box_first_ = mdom;
    cut_first_ = mdom + 2 * k;
    n_ids_ = cut_first_ + cuts;
    W_ = (n_ids_ + 63) / 64;
    hyp_.assign(static_cast<size_t>(n_ids_) * dim1(), 0.0);
    // Layer 0's pieces as functions of u: A (x0 + Q u) + c.
    const Layer& L0 = layers[0];
    const int P0 = L0.total_pieces();
    double* F = F_[0].data();
    double* Fm = F + static_cast<size_t>(k + 1) * P0;  // the magnitudes (certify.hpp, composed_zero)
    for (int p = 0; p < P0; ++p) {
      const double* a = &L0.A[static_cast<size_t>(p) * L0.in_dim];
      double off = L0.c[p];
      Fm[P0 + p] = std::fabs(off);
      for (int i = 0; i < L0.in_dim; ++i) {
        if (a[i] == 0.0) continue;
        const double* qi = Q + static_cast<size_t>(i) * k;
        for (int j = 0; j < k; ++j) {
          F[static_cast<size_t>(j) * P0 + p] += a[i] * qi[j];
          Fm[p] += std::fabs(a[i] * qi[j]);
        }
        off += a[i] * x0[i];
        Fm[P0 + p] += std::fabs(a[i] * x0[i]);
      }
      F[static_cast<size_t>(k) * P0 + p] = off;
    }
    // The layers' bounds of the slope magnitudes (composed_nonconstant, magnitude_bound; certify.hpp).
    double first = 0.0;
    for (int p = 0; p < P0; ++p) first = std::max(first, Fm[p]);
    mag_bound_ = rigorous::magnitude_bounds(layers, first);
    pattern_.assign(net.n_units(), 0);
    h_.assign(dim1(), 0.0);
    row_.assign(dim1(), 0.0);
    center_.assign(k, 0.0);
    cen_.assign(k, 0.0);
    obj_.assign(dim1(), 0.0);
    obj_[k] = 1.0;
    basis_.resize(dim1());
    res_.base.k = k;
    res_.base.n_units = net.n_units();
    res_.base.pattern_bytes = net.pattern_layout().row_bytes();
    res_.base.layer_counts.assign(L, 0);
    simplex_.feas_tol = std::min(simplex_.feas_tol, 0.1 * opt.tol);
    careful_.refactor_every = 1;
    careful_.feas_tol = simplex_.feas_tol;
    start_ = Clock::now();
  }

  PolytopeEnumResult run(const double* Adom, const double* bdom) {
    if (build_domain(Adom, bdom)) {
      start_layer(0, 0, top_, cut_first_);
      search();
    }
    return finish();
  }

  // Threads, a worker: the state shared with the other workers, its index among them, the clock started at
  // `start`.
  void attach(PolyShared* shared, int me, Clock::time_point start) {
    shared_ = shared;
    me_ = me;
    start_ = start;
  }

  // Threads, a worker: run one job (its subtree) to its end or to a stop, its regions into this worker's store
  // and their place into job.out.
  void run_job(PolyJob& job) {
    job_ = &job;
    job.worker = me_;
    tasks_.clear();
    scan_from_ = 0;
    stop_ = shared_->stop.load();
    top_ = 0;
    if (!stop_) {
      if (job.root) {
        if (build_domain(shared_->Adom, shared_->bdom)) {
          start_layer(0, 0, top_, cut_first_);
          search();
        }
      } else {
        reserve(job.n);
        std::copy(job.X.begin(), job.X.end(), X(0));
        std::copy(job.I.begin(), job.I.end(), I(0));
        top_ = job.n;
        std::copy(job.hyp.begin(), job.hyp.end(), hyp_.begin());
        std::copy(job.pattern.begin(), job.pattern.end(), pattern_.begin());
        std::copy(job.F.begin(), job.F.end(), F_[job.l].begin());  // the pieces (none for layer 0: this
        mag_valid_ = 0;  // worker's own): the magnitudes of layers 1..job.l are composed again from the job's pattern
        unstable_[job.l] = job.unstable;
        tasks_.push_back(Task{static_cast<Op>(job.op), job.l, job.idx, 0, job.n, job.c, job.r});
        search();
      }
    }
    // After a stop, the jobs handed over from the abandoned part of the stack still hold regions: they follow.
    for (size_t i = tasks_.size(); i-- > 0;)
      if (tasks_[i].op == Op::Joined) join(tasks_[i].idx);
    tasks_.clear();
    PolyJob done;
    done.out = std::move(job.out);
    done.worker = job.worker;
    job = std::move(done);  // the snapshot's memory back
    job_ = nullptr;
  }

  // The counters into the result, which is moved out.
  PolytopeEnumResult finish() {
    res_.base.lps = counters_.solves;
    res_.base.lp_iterations = counters_.iterations;
    res_.base.leaves = res_.base.regions();
    res_.base.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    return std::move(res_);
  }

 private:
  const Network& net_;
  const int k_, n_, mdom_;
  // dim() = k and dim1() = k + 1, compile-time constants in the instances for k = 3..6 (KC > 0), where the loops over
  // coordinates then unroll.
  int dim() const { return KC > 0 ? KC : k_; }
  int dim1() const { return KC > 0 ? KC + 1 : n_; }
  EnumOptions opt_;
  const Checkpoint& checkpoint_;
  std::vector<std::vector<double>> F_;      // per layer: pieces as affine functions of u, (k+1) x P, then their
                                            // magnitudes, 2 x P (slopes, offset; certify.hpp, composed_zero)
  std::vector<int> terms_;                  // per layer: N_l + 1 of composed_zero() (certify.hpp)
  std::vector<double> mag_bound_;           // per layer: a bound of every piece's slope magnitude (certify.hpp)
  int mag_valid_ = 0;                       // the magnitudes of layers 0..mag_valid_ are those of pattern_
  std::vector<std::vector<double>> At_;     // per layer l >= 1: A transposed, in_dim x P, then |A|
  std::vector<std::vector<int>> unstable_;  // per layer: units not stable on the current layer cell
  std::vector<int8_t> pattern_;
  int last_split_ = -1;                     // last layer with a unit of K >= 2 pieces
  int box_first_ = 0, cut_first_ = 0, n_ids_ = 0, W_ = 1;
  std::vector<double> hyp_;                 // per constraint id: a (k, |a| = 1) and b of the row a.u <= b
  // The cells of the current depth-first path, one after another in slots [0, top_) (they only grow): vertex
  // coordinates X_ (k per slot) and the constraints tight at it, I_ (W_ words per slot).
  std::vector<double> X_;
  std::vector<Word> I_;
  int top_ = 0;
  std::vector<double> val_;                 // scratch of a split: h at each vertex
  std::vector<int8_t> cls_;                 //   its sign (-1, 0, 1)
  std::vector<int> tight_;                  //   the number of constraints tight at it
  std::vector<int> simple_pos_, deg_pos_, simple_neg_, deg_neg_;  // cut_edges(): the vertices by kind
  std::vector<int> table_, owner_;          //   its hash table of keys and their vertices
  std::vector<Word> keys_, cut_scratch_;
  std::vector<int> pos_idx_, neg_idx_, pairs_;
  std::vector<Word> common_;                //   constraints of the new vertices (W_ per pair)
  std::vector<Word> mask_;                  // scratch: union of a cell's incidences
  std::vector<double> h_, row_, obj_, cen_, center_;
  std::vector<int> act_;                    // units of a layer with a non-zero chosen piece
  RowStack rows_;
  LPBasis basis_;
  DualSimplex simplex_, careful_;
  LPCounters counters_;
  PolytopeEnumResult res_;
  bool stop_ = false;
  Clock::time_point start_;
  PolyShared* shared_ = nullptr;                 // threads: set in the workers
  PolyJob* job_ = nullptr;                       // threads: the job being run
  int me_ = -1;                                  // threads: this worker's index
  size_t scan_from_ = 0;                         // threads: no task below this one in tasks_ can be handed over

  double* X(int s) { return &X_[static_cast<size_t>(s) * dim()]; }
  Word* I(int s) { return &I_[static_cast<size_t>(s) * W_]; }

  // Make room for `extra` more slots above top_ (pointers from X() and I() are invalid afterwards).
  void reserve(int extra) {
    const size_t need = static_cast<size_t>(top_) + static_cast<size_t>(extra);
    if (X_.size() < need * dim()) {
      const size_t slots = std::max(need, 2 * X_.size() / std::max(dim(), 1));
      X_.resize(slots * dim());
      I_.resize(slots * W_);
    }
  }

  enum class Op : uint8_t {
    Insert,      // insert unit idx of unstable_[l] into the cell [b, e) whose next cut id is c
    SecondPart,  // after a split's part h >= 0: its part h <= 0, [b, e)
    MaxPiece,    // after piece r - 1 of a K > 2 unit on [b, e): the pieces r, r + 1, ...
    SetTop,      // top_ = b: drop the cells above
    Joined       // threads: the subtree here was handed over as job idx; its regions come here
  };
  struct Task {
    Op op;
    int l, idx, b, e, c, r;
  };
  std::vector<Task> tasks_;

  void push(Op op, int l, size_t idx, int b, int e, int c, int r = 0) {
    tasks_.push_back(Task{op, l, static_cast<int>(idx), b, e, c, r});
  }

  void search() {
    while (!tasks_.empty() && !stop_) {  // a halt abandons the rest: nothing after it changes the result
      if (shared_ && shared_->stop.load(std::memory_order_relaxed)) {  // another worker halted
        stop_ = true;
        break;
      }
      const Task t = tasks_.back();
      tasks_.pop_back();
      if (scan_from_ > tasks_.size()) scan_from_ = tasks_.size();
      switch (t.op) {
        case Op::Insert: insert(t.l, static_cast<size_t>(t.idx), t.b, t.e, t.c); break;
        case Op::SecondPart: {
          const int u = unstable_[t.l][t.idx];
          const Layer& L = net_.layers()[t.l];
          unit_hyperplane(t.l, L.piece_start[u], h_.data());
          set_row(t.c - 1, h_.data(), -1);  // the cut as a row of the part h <= 0
          pattern_[net_.unit_offset(t.l) + u] = 0;
          insert(t.l, static_cast<size_t>(t.idx) + 1, t.b, t.e, t.c);
          break;
        }
        case Op::MaxPiece: max_pieces(t.l, static_cast<size_t>(t.idx), t.b, t.e, t.c, t.r); break;
        case Op::SetTop: top_ = t.b; break;
        case Op::Joined: join(t.idx); break;
      }
      // Threads: after a step (so that a job's own first task is never handed on), share the stack with an idle
      // worker.
      if (shared_ && (opt_.split_all || (shared_->idle.load(std::memory_order_relaxed) > 0 &&
                                         shared_->queued.load(std::memory_order_relaxed) == 0)))
        donate();
    }
  }

  // Threads: hand the shallowest pending subtree of the stack (an Insert, SecondPart or MaxPiece task) to an idle
  // worker. The subtree reads its cell's slots, the rows of ids below its c, layer l's pieces and unstable units
  // and the pattern: none of them is written by the work above it in the stack (that work lives in slots above the
  // cell's, ids >= c, layers > l or units of layer l after idx, and a SecondPart or MaxPiece sets its own unit), so
  // the snapshot taken now is what the subtree would see when the one-thread search reaches it.
  void donate() {
    size_t i = std::min(scan_from_, tasks_.size());
    while (i < tasks_.size() && (tasks_[i].op == Op::SetTop || tasks_[i].op == Op::Joined)) ++i;
    scan_from_ = i;
    if (i == tasks_.size()) return;
    Task& t = tasks_[i];
    PolyJob job;
    job.op = static_cast<uint8_t>(t.op);
    job.l = t.l;
    job.idx = t.idx;
    job.c = t.c;
    job.r = t.r;
    job.n = t.e - t.b;
    job.X.assign(X(t.b), X(t.b) + static_cast<size_t>(job.n) * dim());
    job.I.assign(I(t.b), I(t.b) + static_cast<size_t>(job.n) * W_);
    job.hyp.assign(hyp_.begin(), hyp_.begin() + static_cast<size_t>(t.c) * dim1());
    job.pattern = pattern_;
    if (t.l > 0)  // layer l's pieces, not its magnitudes: the receiver composes those (compose_magnitudes)
      job.F.assign(F_[t.l].begin(),
                   F_[t.l].begin() + static_cast<std::ptrdiff_t>(dim1()) * net_.layers()[t.l].total_pieces());
    job.unstable = unstable_[t.l];
    const int64_t id = push_job(*shared_, std::move(job));
    t = Task{Op::Joined, 0, static_cast<int>(id), 0, 0, 0, 0};
    scan_from_ = i + 1;
  }

  // Threads: the regions of job `id` come next in the output.
  void join(int id) {
    PolyPiece pc;
    pc.job = id;
    job_->out.push_back(pc);
  }

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  void halt(EnumStatus s, const std::string& msg = std::string()) {
    if (stop_) return;
    stop_ = true;
    res_.base.status = s;
    res_.base.message = msg;
    if (shared_) shared_->halt(s, msg);
  }

  // h = f_r - f_s for global piece indices r, s of layer l (k+1 entries: gradient, offset).
  void difference(int l, int r, int s, double* h) const {
    const int P = net_.layers()[l].total_pieces();
    const double* F = F_[l].data();
    for (int j = 0; j < dim1(); ++j) h[j] = F[static_cast<size_t>(j) * P + r] - F[static_cast<size_t>(j) * P + s];
  }
  // A two-piece unit whose pieces start at p: h = f_1 - f_0.
  void unit_hyperplane(int l, int p, double* h) const { difference(l, p + 1, p, h); }

  // Whether h = f_r - f_s (global pieces r, s of layer l) is constant on every cell within the rounding of its
  // composition (certify.hpp, composed_zero); then `sign` is the sign of its offset beyond that rounding (0 within
  // it: a tie). The magnitudes are composed only when the prefilter on the layer's bound cannot rule the row
  // non-constant.
  bool constant_row(int l, int r, int s, const double* h, int& sign) {
    const double ng = grad_norm(h);
    if (rigorous::composed_nonconstant(ng, terms_[l], mag_bound_[l])) return false;
    compose_magnitudes(l);
    const int P = net_.layers()[l].total_pieces();
    const double* m = magnitudes(l);
    return rigorous::composed_constant(ng, h[dim()], terms_[l], m[r] + m[s], m[P + r] + m[P + s], sign);
  }

  // The magnitudes of layers mag_valid_+1..l from pattern_ (certify.hpp, piece_columns.hpp), in the order
  // the pieces are composed.
  void compose_magnitudes(int l) { compose_magnitudes_to(net_, At_, F_, dim1(), pattern_.data(), mag_valid_, l); }
  // Layer l's magnitudes: 2 rows of its P pieces (slopes, offsets), after the pieces' rows.
  double* magnitudes(int l) {
    return F_[l].data() + static_cast<size_t>(dim1()) * net_.layers()[l].total_pieces();
  }

  double grad_norm(const double* h) const { return stable_norm(h, dim()); }

  // Constraint `id` as the row a.u <= b of the side `side` (+1: h >= 0, -1: h <= 0) of h, normalised.
  void set_row(int id, const double* h, int side) {
    const double inv = 1.0 / grad_norm(h);
    double* r = &hyp_[static_cast<size_t>(id) * dim1()];
    const double sg = side > 0 ? -inv : inv;
    for (int j = 0; j < dim(); ++j) r[j] = sg * h[j];
    r[dim()] = -sg * h[dim()];
  }

  // Value of h at slot s and the scale of its terms (for the relative epsilon): |h_j x_j| and |h_j| (a vertex's
  // coordinates carry rounding of the frame's unit, the domain's size, even where they are near 0; see kSideEps).
  inline int sign_at(int s, const double* h, double& val) {
    const double* x = X(s);
    double v = h[dim()], mag = std::fabs(h[dim()]);
    for (int j = 0; j < dim(); ++j) {
      const double t = h[j] * x[j];
      v += t;
      mag += std::fabs(t) + std::fabs(h[j]);
    }
    val = v;
    const double eps = kSideEps * mag;
    return v > eps ? 1 : (v < -eps ? -1 : 0);
  }

  // Whether h has vertices strictly on both sides of it in [b, e); else `side` is +1 when none is strictly below
  // (some strictly above) and -1 when none is strictly above (all on h: a tie, piece 0).
  bool straddles(int b, int e, const double* h, int& side) {
    bool pos = false, neg = false;
    for (int s = b; s < e; ++s) {
      double v;
      const int c = sign_at(s, h, v);
      pos |= c > 0;
      neg |= c < 0;
      if (pos && neg) return true;
    }
    side = pos ? 1 : -1;
    return false;
  }

  // Split the cell [b, e) by h with the new constraint `id`: its part h >= 0 (when `want_pos`) and its part h <= 0
  // (when `want_neg`) are written above top_, pos first, with top_ moved past them; a part all of whose vertices
  // lie within 2 tol of h holds no ball of radius > tol and is not written (its range is empty). Returns +1 when
  // no vertex is strictly below h, -1 when none is strictly above (nothing written), 0 when split.
  int split(int b, int e, const double* h, int id, bool want_pos, bool want_neg, int& pb, int& pe, int& nb,
            int& ne) {
    const int n = e - b;
    if (static_cast<int>(val_.size()) < n) {
      val_.resize(n);
      cls_.resize(n);
      tight_.resize(n);
    }
    pos_idx_.clear();
    neg_idx_.clear();
    double vmax = 0.0, vmin = 0.0;
    for (int i = 0; i < n; ++i) {
      const int c = sign_at(b + i, h, val_[i]);
      cls_[i] = static_cast<int8_t>(c);
      if (c > 0) {
        pos_idx_.push_back(i);
        vmax = std::max(vmax, val_[i]);
      } else if (c < 0) {
        neg_idx_.push_back(i);
        vmin = std::min(vmin, val_[i]);
      }
    }
    if (pos_idx_.empty()) return -1;
    if (neg_idx_.empty()) return 1;
    ++res_.splits;
    const double ng = grad_norm(h);
    const bool pos_thin = !(vmax > 2.0 * opt_.tol * ng), neg_thin = !(-vmin > 2.0 * opt_.tol * ng);
    want_pos = want_pos && !pos_thin;
    want_neg = want_neg && !neg_thin;
    const int W = W_;
    pairs_.clear();
    common_.clear();
    if (want_pos || want_neg) cut_edges(b, n);
    const int nz = n - static_cast<int>(pos_idx_.size()) - static_cast<int>(neg_idx_.size());
    const int nnew = static_cast<int>(pairs_.size() / 2);
    const int np = want_pos ? static_cast<int>(pos_idx_.size()) + nz + nnew : 0;
    const int nn = want_neg ? static_cast<int>(neg_idx_.size()) + nz + nnew : 0;
    reserve(np + nn);
    const int word = id >> 6;
    const Word bit = Word(1) << (id & 63);
    // The coordinate an axis-parallel cut fixes is set exactly.
    int axis = -1;
    for (int j = 0; j < dim(); ++j) {
      if (h[j] == 0.0) continue;
      axis = axis == -1 ? j : -2;
    }
    auto write_part = [&](int sgn, int at) {
      int s = at;
      for (int i = 0; i < n; ++i) {
        if (cls_[i] != 0 && cls_[i] != sgn) continue;
        std::copy(X(b + i), X(b + i) + dim(), X(s));
        std::copy(I(b + i), I(b + i) + W, I(s));
        if (cls_[i] == 0) I(s)[word] |= bit;
        ++s;
      }
      for (int q = 0; q < nnew; ++q) {
        const int ip = pairs_[2 * q], in = pairs_[2 * q + 1];
        const double t = val_[ip] / (val_[ip] - val_[in]);
        const double* xp = X(b + ip);
        const double* xn = X(b + in);
        double* x = X(s);
        for (int j = 0; j < dim(); ++j) x[j] = xp[j] == xn[j] ? xp[j] : xp[j] + t * (xn[j] - xp[j]);
        if (axis >= 0) x[axis] = -h[dim()] / h[axis];
        std::copy(&common_[static_cast<size_t>(q) * W], &common_[static_cast<size_t>(q) * W] + W, I(s));
        I(s)[word] |= bit;
        ++s;
      }
      return s;
    };
    pb = pe = nb = ne = top_;
    if (want_pos) {
      pe = write_part(1, pb);
      top_ = pe;
    }
    nb = ne = top_;
    if (want_neg) {
      ne = write_part(-1, nb);
      top_ = ne;
    }
    res_.max_vertices = std::max<int64_t>(res_.max_vertices, std::max(np, nn));
    return 0;
  }

  // Whether the strictly positive vertex ip and the strictly negative vertex in of the cell at b (n vertices) are
  // the ends of an edge: they share at least k - 1 constraints and no third vertex is tight at all of them. A
  // vertex tight at exactly k constraints (a simple vertex) has them linearly independent, and any k - 1 of them
  // span an edge from it, so a vertex tight at those k - 1 is that edge's other end: the third-vertex test is only
  // needed when both are degenerate. On an edge, the pair and its shared constraints are recorded.
  void pair_test(int b, int n, int ip, int in, Word* c) {
    const Word* a = I(b + ip);
    const Word* w = I(b + in);
    int shared = 0;
    for (int t = 0; t < W_; ++t) {
      c[t] = a[t] & w[t];
      shared += popcount(c[t]);
    }
    if (shared < dim() - 1) return;
    if (tight_[ip] > dim() && tight_[in] > dim()) {
      for (int z = 0; z < n; ++z) {
        if (z == ip || z == in) continue;
        const Word* iz = I(b + z);
        bool sub = true;
        for (int t = 0; t < W_ && sub; ++t) sub = (c[t] & ~iz[t]) == 0;
        if (sub) return;
      }
    }
    pairs_.push_back(ip);
    pairs_.push_back(in);
    common_.insert(common_.end(), c, c + W_);
  }

  size_t key_hash(const Word* key) const { return hash_words(key, W_); }

  // The edges of the cell at b (n vertices, classified in cls_) from a strictly positive to a strictly negative
  // vertex, into pairs_ and common_. Two simple vertices are adjacent iff they share exactly k - 1 constraints,
  // i.e. iff one's constraints less one equal the other's less one: those keys are matched in a hash table (O(n k)
  // rather than a test of every pair). Pairs with a degenerate vertex are tested one by one (pair_test).
  void cut_edges(int b, int n) {
    const int W = W_, k = dim();
    std::vector<Word>& c = cut_scratch_;
    c.resize(W);
    simple_pos_.clear();
    deg_pos_.clear();
    simple_neg_.clear();
    deg_neg_.clear();
    // The number of constraints tight at each vertex off the cut (only a split that cuts needs it).
    for (const std::vector<int>* side : {&pos_idx_, &neg_idx_}) {
      for (int i : *side) {
        const Word* w = I(b + i);
        int t = 0;
        for (int q = 0; q < W; ++q) t += popcount(w[q]);
        tight_[i] = t;
      }
    }
    for (int i : pos_idx_) (tight_[i] == k ? simple_pos_ : deg_pos_).push_back(i);
    for (int i : neg_idx_) (tight_[i] == k ? simple_neg_ : deg_neg_).push_back(i);
    // Degenerate vertices against every vertex of the other side (degenerate pairs once).
    for (int ip : deg_pos_)
      for (int in : neg_idx_) pair_test(b, n, ip, in, c.data());
    for (int in : deg_neg_)
      for (int ip : simple_pos_) pair_test(b, n, ip, in, c.data());
    if (simple_pos_.empty() || simple_neg_.empty()) return;
    if (simple_pos_.size() * simple_neg_.size() <=
        8 * static_cast<size_t>(k) * (simple_pos_.size() + simple_neg_.size())) {
      // Few pairs: testing each is cheaper than hashing. Two simple vertices share k - 1 constraints iff one has at
      // most one constraint the other lacks (no bit count needed).
      for (int ip : simple_pos_) {
        const Word* a = I(b + ip);
        for (int in : simple_neg_) {
          const Word* w = I(b + in);
          bool ok = true;
          if (W == 1) {  // up to 64 constraints (e.g. a 4-D box and three layers of 16 units): one word
            const Word d = a[0] & ~w[0];
            ok = (d & (d - 1)) == 0;
          } else {
            bool one = false;
            for (int t = 0; t < W && ok; ++t) {
              const Word d = a[t] & ~w[t];
              if (d == 0) continue;
              ok = !one && (d & (d - 1)) == 0;
              one = true;
            }
          }
          if (!ok) continue;
          for (int t = 0; t < W; ++t) c[t] = a[t] & w[t];
          pairs_.push_back(ip);
          pairs_.push_back(in);
          common_.insert(common_.end(), c.begin(), c.end());
        }
      }
      return;
    }
    // Simple against simple: the keys of the negative ones in an open-addressing table.
    const size_t entries = simple_neg_.size() * static_cast<size_t>(k);
    size_t cap = 16;
    while (cap < 2 * entries) cap <<= 1;
    table_.assign(cap, -1);
    keys_.resize(entries * W);
    owner_.resize(entries);
    size_t ne = 0;
    for (int in : simple_neg_) {
      const Word* w = I(b + in);
      for (int t = 0; t < W; ++t) {
        Word bits = w[t];
        while (bits) {
          const Word low = bits & (~bits + 1);
          bits ^= low;
          Word* key = &keys_[ne * W];
          std::copy(w, w + W, key);
          key[t] ^= low;
          owner_[ne] = in;
          size_t slot = key_hash(key) & (cap - 1);
          while (table_[slot] >= 0) slot = (slot + 1) & (cap - 1);
          table_[slot] = static_cast<int>(ne);
          ++ne;
        }
      }
    }
    for (int ip : simple_pos_) {
      const Word* v = I(b + ip);
      for (int t = 0; t < W; ++t) {
        Word bits = v[t];
        while (bits) {
          const Word low = bits & (~bits + 1);
          bits ^= low;
          std::copy(v, v + W, c.begin());
          c[t] ^= low;
          size_t slot = key_hash(c.data()) & (cap - 1);
          for (; table_[slot] >= 0; slot = (slot + 1) & (cap - 1)) {
            const Word* key = &keys_[static_cast<size_t>(table_[slot]) * W];
            bool same = true;
            for (int q = 0; q < W && same; ++q) same = key[q] == c[q];
            if (!same) continue;
            pairs_.push_back(ip);
            pairs_.push_back(owner_[table_[slot]]);
            common_.insert(common_.end(), c.begin(), c.end());
            break;  // k - 1 independent constraints hold one line: one other vertex at most
          }
        }
      }
    }
  }

  // The union of the constraints tight at the vertices of [b, e): the cell's facets (and perhaps lower faces'
  // constraints, which are valid and harmless in an LP).
  void facet_mask(int b, int e) {
    mask_.assign(W_, 0);
    for (int s = b; s < e; ++s) {
      const Word* w = I(s);
      for (int t = 0; t < W_; ++t) mask_[t] |= w[t];
    }
  }

  void centroid(int b, int e, double* c) {
    std::fill(c, c + dim(), 0.0);
    for (int s = b; s < e; ++s) {
      const double* x = X(s);
      for (int j = 0; j < dim(); ++j) c[j] += x[j];
    }
    const double inv = 1.0 / (e - b);
    for (int j = 0; j < dim(); ++j) c[j] *= inv;
  }

  // The radius of the largest ball centred at c inside the cell (facet_mask() must be current).
  double ball_at(const double* c) const {
    double r = opt_.radius_cap;
    for (int t = 0; t < W_; ++t) {
      Word w = mask_[t];
      while (w) {
        const int id = t * 64 + __builtin_ctzll(w);
        w &= w - 1;
        const double* a = &hyp_[static_cast<size_t>(id) * dim1()];
        double v = a[dim()];
        for (int j = 0; j < dim(); ++j) v -= a[j] * c[j];
        r = std::min(r, v);
      }
    }
    return r;
  }

  // The Chebyshev ball of the cell [b, e): maximise r s.t. a.u + r <= b over its facets and r <= radius_cap,
  // by the dual simplex from pins at the vertex centroid (dual feasible: lambda on the cap).
  bool chebyshev(int b, int e, double* center, double* radius) {
    facet_mask(b, e);
    rows_.truncate(0);
    for (int t = 0; t < W_; ++t) {
      Word w = mask_[t];
      while (w) {
        const int id = t * 64 + __builtin_ctzll(w);
        w &= w - 1;
        const double* a = &hyp_[static_cast<size_t>(id) * dim1()];
        std::copy(a, a + dim(), row_.begin());
        row_[dim()] = 1.0;
        rows_.push(row_.data(), a[dim()]);
      }
    }
    std::fill(row_.begin(), row_.end(), 0.0);
    row_[dim()] = 1.0;
    rows_.push(row_.data(), opt_.radius_cap);
    cen_.resize(dim());
    centroid(b, e, cen_.data());
    LPStatus st = LPStatus::Numerical;
    for (int attempt = 0; attempt < 2; ++attempt) {
      LPBasis& B = basis_;
      std::fill(B.binv.begin(), B.binv.end(), 0.0);
      std::fill(B.lambda.begin(), B.lambda.end(), 0.0);
      for (int j = 0; j < dim(); ++j) {
        B.active[j] = -1 - j;
        B.rhs[j] = cen_[j];
      }
      B.active[dim()] = rows_.m() - 1;
      B.rhs[dim()] = opt_.radius_cap;
      for (int i = 0; i < dim1(); ++i) B.binv[static_cast<size_t>(i) * dim1() + i] = 1.0;
      B.lambda[dim()] = 1.0;
      B.updates = 0;
      B.binv_max = 1.0;
      const DualSimplex& solver = attempt == 0 ? simplex_ : careful_;
      st = solver.solve(rows_, obj_.data(), B, counters_, opt_.lp_max_iter);
      if (st == LPStatus::Optimal) {
        std::copy(B.y.begin(), B.y.begin() + dim(), center);
        *radius = B.y[dim()];
        return true;
      }
      if (st == LPStatus::Infeasible) {  // a cell whose facets admit no point (rounding at the tolerance's edge)
        *radius = -std::numeric_limits<double>::infinity();
        return true;
      }
    }
    halt(EnumStatus::Numerical, std::string("LP solver failed (") + lp_status_name(st) +
                                    ") on the Chebyshev LP of a cell with " + std::to_string(e - b) + " vertices");
    return false;
  }

  // The domain as a polytope: a box strictly around it (from 2k LPs), cut by every row.
  bool build_domain(const double* Adom, const double* bdom) {
    const int k = dim(), m = mdom_;
    std::vector<double> lo(k), hi(k), c(k, 0.0), lb(k, -INFINITY), ub(k, INFINITY);
    for (int j = 0; j < k; ++j) {
      for (int sgn = -1; sgn <= 1; sgn += 2) {
        c[j] = sgn;
        const LPResult r = solve_lp(k, m, c.data(), Adom, bdom, lb.data(), ub.data());
        c[j] = 0.0;
        if (r.status == LPStatus::Infeasible) return false;
        if (r.status == LPStatus::Unbounded)
          throw std::invalid_argument("domain: the polytope A u <= b is unbounded");
        if (r.status != LPStatus::Optimal) throw std::invalid_argument("domain: its bounding box LP failed");
        (sgn > 0 ? hi : lo)[j] = r.y[j];
      }
    }
    double ext = 0.0;
    for (int j = 0; j < k; ++j) ext = std::max(ext, hi[j] - lo[j]);
    const double margin = 0.5 * ext + 1.0;
    if (k > 24) throw std::invalid_argument("domain: the polytope path takes at most 24 free coordinates");
    const int nv = 1 << k;
    top_ = 0;
    reserve(nv);
    for (int v = 0; v < nv; ++v) {
      double* x = X(v);
      Word* w = I(v);
      std::fill(w, w + W_, Word(0));
      for (int j = 0; j < k; ++j) {
        const bool up = (v >> j) & 1;
        x[j] = up ? hi[j] + margin : lo[j] - margin;
        const int id = box_first_ + 2 * j + (up ? 1 : 0);
        w[id >> 6] |= Word(1) << (id & 63);
      }
    }
    top_ = nv;
    int b = 0, e = nv;
    for (int i = 0; i < m; ++i) {
      const double* a = Adom + static_cast<size_t>(i) * k;
      for (int j = 0; j < k; ++j) h_[j] = -a[j];  // keep h = b - a.u >= 0
      h_[k] = bdom[i];
      if (!(grad_norm(h_.data()) > 0.0)) {
        if (bdom[i] < 0.0) return false;
        continue;
      }
      set_row(i, h_.data(), 1);
      int pb, pe, nb, ne;
      const int side = split(b, e, h_.data(), i, true, false, pb, pe, nb, ne);
      if (side < 0) return false;
      if (side == 0) {
        if (pe == pb) return false;  // thinner than 2 tol
        // Move the part down to slot 0 (the domain is the bottom of the stack).
        const int n = pe - pb;
        std::copy(X(pb), X(pb) + static_cast<size_t>(n) * dim(), X(0));
        std::copy(I(pb), I(pb) + static_cast<size_t>(n) * W_, I(0));
        b = 0;
        e = n;
        top_ = n;
      }
    }
    facet_mask(b, e);
    for (int id = box_first_; id < cut_first_; ++id)
      if ((mask_[id >> 6] >> (id & 63)) & 1) throw std::invalid_argument("domain: the polytope A u <= b is unbounded");
    return e - b > dim();
  }

  void start_layer(int l, int b, int e, int c) {
    const Layer& L = net_.layers()[l];
    const int off = net_.unit_offset(l);
    std::vector<int>& unst = unstable_[l];
    unst.clear();
    double* h = h_.data();
    for (int u = 0; u < L.n_units; ++u) {
      const int K = L.n_pieces(u);
      pattern_[off + u] = 0;
      if (K == 1) continue;
      if (K > 2) {
        unst.push_back(u);
        continue;
      }
      unit_hyperplane(l, L.piece_start[u], h);
      int sign = 0;
      if (constant_row(l, L.piece_start[u] + 1, L.piece_start[u], h, sign)) {  // constant on the cell (within
        pattern_[off + u] = sign > 0 ? 1 : 0;  // rounding); a zero (within rounding) is a tie and goes to piece 0
        continue;
      }
      int side = 0;
      if (straddles(b, e, h, side)) {
        unst.push_back(u);
      } else {
        pattern_[off + u] = side > 0 ? 1 : 0;
      }
    }
    push(Op::Insert, l, 0, b, e, c);  // queued, not called: a layer's insertion may finish it and start the next
  }

  // Units idx, idx + 1, ... of layer l on the cell [b, e): the units that miss it in a loop, then the first split
  // queues its two parts (h >= 0 first).
  void insert(int l, size_t idx, int b, int e, int c) {
    const std::vector<int>& unst = unstable_[l];
    const Layer& L = net_.layers()[l];
    double* h = h_.data();
    for (;; ++idx) {
      if (stop_) return;
      if (idx == unst.size()) {
        finish_layer(l, b, e, c);
        return;
      }
      const int u = unst[idx];
      const int gu = net_.unit_offset(l) + u;
      if (L.n_pieces(u) > 2) {
        max_pieces(l, idx, b, e, c, 0);
        return;
      }
      unit_hyperplane(l, L.piece_start[u], h);
      const int m0 = top_;
      int pb, pe, nb, ne;
      const int side = split(b, e, h, c, true, true, pb, pe, nb, ne);
      if (side != 0) {
        pattern_[gu] = static_cast<int8_t>(side > 0 ? 1 : 0);
        continue;
      }
      if (pe == pb && ne == nb) {  // both parts thinner than 2 tol: the cell holds no region
        top_ = m0;
        return;
      }
      if (pe == pb || ne == nb) {  // one part is a sliver: the unit is stable on the rest, which gets the cut
        const bool pos = pe > pb;
        set_row(c, h, pos ? 1 : -1);
        pattern_[gu] = static_cast<int8_t>(pos ? 1 : 0);
        push(Op::SetTop, l, idx, m0, m0, c);
        push(Op::Insert, l, idx + 1, pos ? pb : nb, pos ? pe : ne, c + 1);
        return;
      }
      set_row(c, h, 1);
      push(Op::SetTop, l, idx, m0, m0, c);
      push(Op::SecondPart, l, idx, nb, ne, c + 1);
      pattern_[gu] = 1;
      push(Op::Insert, l, idx + 1, pb, pe, c + 1);
      return;
    }
  }

  // Pieces r0, r0 + 1, ... of a K > 2 unit on [b, e) (with top_ where the unit found it): the cell clipped to each
  // piece's argmax cell (its K - 1 half-spaces); queues the first child found and its continuation.
  void max_pieces(int l, size_t idx, int b, int e, int c, int r0) {
    const Layer& L = net_.layers()[l];
    const int u = unstable_[l][idx];
    const int gu = net_.unit_offset(l) + u;
    const int K = L.n_pieces(u);
    const int p0 = L.piece_start[u];
    const int m0 = top_;
    double* h = h_.data();
    for (int r = r0; r < K && !stop_; ++r) {
      int cb = b, ce = e, cc = c;
      bool empty = false;
      for (int s = 0; s < K && !empty; ++s) {
        if (s == r) continue;
        difference(l, p0 + r, p0 + s, h);  // piece r beats piece s where h >= 0
        int sign = 0;
        if (constant_row(l, p0 + r, p0 + s, h, sign)) {  // parallel pieces (within rounding): ties go to the
          if (sign < 0 || (sign == 0 && s < r)) empty = true;  // lower index
          continue;
        }
        int pb, pe, nb, ne;
        const int side = split(cb, ce, h, cc, true, false, pb, pe, nb, ne);
        if (side < 0) {
          empty = true;
        } else if (side == 0) {
          if (pe == pb) {
            empty = true;
          } else {
            set_row(cc, h, 1);
            ++cc;
            cb = pb;
            ce = pe;
          }
        }
      }
      if (!empty) {
        pattern_[gu] = static_cast<int8_t>(r);
        if (r + 1 < K) push(Op::MaxPiece, l, idx, b, e, c, r + 1);
        push(Op::SetTop, l, idx, m0, m0, c);
        push(Op::Insert, l, idx + 1, cb, ce, cc);
        return;
      }
      top_ = m0;
    }
  }

  void finish_layer(int l, int b, int e, int c) {
    if (l >= last_split_) {  // no unit splits after this layer: the cell is a region
      emit(l, b, e);
      return;
    }
    // Does the cell hold a ball of radius > tol? The ball at the vertex centroid first, else the exact LP.
    facet_mask(b, e);
    cen_.resize(dim());
    centroid(b, e, cen_.data());
    if (!(ball_at(cen_.data()) > opt_.tol)) {
      double radius;
      if (!chebyshev(b, e, center_.data(), &radius) || radius <= opt_.tol) return;
    }
    ++res_.base.layer_counts[l];
    next_layer(l, b, e, c);
  }

  // Layer l+1's pieces on the cell [b, e) of layers 0..l (pattern_ set), then its insertion.
  void next_layer(int l, int b, int e, int c) {
    const auto& layers = net_.layers();
    // Layer l+1's pieces as functions of u: A_{l+1} M + c, M = the chosen pieces of layer l.
    const Layer& cur = layers[l];
    const Layer& nxt = layers[l + 1];
    const int off = net_.unit_offset(l);
    const int Pc = cur.total_pieces(), Pn = nxt.total_pieces();
    const double* Fl = F_[l].data();
    double* G = F_[l + 1].data();
    const double* At = At_[l + 1].data();
    act_.clear();
    for (int i = 0; i < cur.n_units; ++i) {
      const int pc = cur.piece_start[i] + pattern_[off + i];
      if (!cur.zero_piece[pc]) act_.push_back(i);
    }
    for (int j = 0; j < dim1(); ++j) {
      double* g = G + static_cast<size_t>(j) * Pn;
      if (j == dim()) {
        std::copy(nxt.c.begin(), nxt.c.end(), g);
      } else {
        std::fill(g, g + Pn, 0.0);
      }
      for (int i : act_) {
        const int pc = cur.piece_start[i] + pattern_[off + i];
        const double m = Fl[static_cast<size_t>(j) * Pc + pc];
        if (m == 0.0) continue;
        const double* a = At + static_cast<size_t>(i) * Pn;
        for (int p = 0; p < Pn; ++p) g[p] += a[p] * m;
      }
    }
    mag_valid_ = std::min(mag_valid_, l);  // layer l+1's magnitudes: composed on demand (compose_magnitudes)
    start_layer(l + 1, b, e, c);
  }

  void emit(int l, int b, int e) {
    double radius;
    if (!chebyshev(b, e, center_.data(), &radius) || radius <= opt_.tol) return;
    const int L = static_cast<int>(net_.layers().size());
    const int64_t R = res_.base.regions();
    if (shared_ ? !shared_->count_region(me_, R, opt_.max_regions)  // threads: counted over all workers
                : opt_.max_regions >= 0 && R >= opt_.max_regions) {
      halt(EnumStatus::MaxRegions);
      return;
    }
    for (int j = l; j < L; ++j) ++res_.base.layer_counts[j];
    net_.pattern_layout().pack(pattern_.data(), res_.base.patterns.extend(res_.base.pattern_bytes));
    res_.base.centers.append(center_.data(), dim());
    res_.base.radii.push_back(radius);
    if (job_) {  // threads: the region into the job's output
      if (job_->out.empty() || job_->out.back().job >= 0) {
        job_->out.emplace_back();
        job_->out.back().begin = job_->out.back().end = R;
      }
      ++job_->out.back().end;
    }
    if ((R + 1) % 1024 == 0 && opt_.time_limit >= 0 && elapsed() > opt_.time_limit) halt(EnumStatus::TimeLimit);
    if (opt_.checkpoint_every > 0 && (R + 1) % opt_.checkpoint_every == 0 && checkpoint_ && !checkpoint_(R + 1))
      halt(EnumStatus::Interrupted);
  }
};

// Threads: the workers share the search by on-demand work splitting (PolytopeEnumerator::donate), from one root
// job; the calling thread watches the run (checkpoint, time limit), then concatenates the jobs' outputs in the
// one-thread search's order, so a complete run gives the one-thread result, region for region and bit for bit
// (every LP is solved from a fresh basis at the cell's vertex centroid: the result depends on the cell alone, and a
// job's snapshot is the state the one-thread search reads there).
template <int KC>
PolytopeEnumResult run_polytopes(const Network& net, const double* x0, const double* Q, int k, const double* Adom,
                                 const double* bdom, int mdom, const EnumOptions& opt, const Checkpoint& checkpoint) {
  const Clock::time_point start = Clock::now();
  const double cpu0 = thread_cpu_seconds();
  if (opt.threads <= 1) {  // the search in the calling thread: all of it the "parallel" phase of the profile
    PolytopeEnumResult res = PolytopeEnumerator<KC>(net, x0, Q, k, mdom, opt, checkpoint).run(Adom, bdom);
    res.phases.parallel_wall = seconds_since(start);
    res.phases.parallel_cpu = thread_cpu_seconds() - cpu0;
    return res;
  }
  EnumOptions wopt = opt;
  wopt.checkpoint_every = 0;  // the calling thread calls the checkpoint
  wopt.threads = 1;
  const int T = opt.threads;
  static const Checkpoint none;
  PolyShared sh(T);
  sh.Adom = Adom;
  sh.bdom = bdom;
  std::vector<std::unique_ptr<PolytopeEnumerator<KC>>> workers(T);  // each made in its own thread
  std::vector<PolytopeEnumResult> results(T);
  std::vector<std::vector<uint8_t>> pat(T);  // each worker's regions, as one exact-size vector each
  std::vector<std::vector<double>> cen(T), rad(T);
  std::exception_ptr error;
  std::vector<double> worker_cpu(T, 0.0);
  auto loop = [&](int me) {
    const double c0 = thread_cpu_seconds();
    worker_thread(
        sh, error, workers[me],
        [&] {
          auto w = std::make_unique<PolytopeEnumerator<KC>>(net, x0, Q, k, mdom, wopt, none);
          w->attach(&sh, me, start);
          return w;
        },
        [](PolytopeEnumerator<KC>& w, PolyJob& job) { w.run_job(job); });
    if (!workers[me]) return;  // its make() failed: the run stopped, the error is rethrown
    try {  // the worker's store as one vector per field (BlockVector::take), in its own thread
      PolytopeEnumerator<KC>& w = *workers[me];
      results[me] = w.finish();
      pat[me] = results[me].base.patterns.take();
      cen[me] = results[me].base.centers.take();
      rad[me] = results[me].base.radii.take();
    } catch (...) {
      std::lock_guard<std::mutex> lk(sh.mu);
      if (!error) error = std::current_exception();
    }
    worker_cpu[me] = thread_cpu_seconds() - c0;
  };
  PolytopeEnumResult res;
  res.phases.serial_wall = seconds_since(start);
  res.phases.serial_cpu = thread_cpu_seconds() - cpu0;
  const Clock::time_point parallel = Clock::now();
  std::vector<std::thread> pool;
  for (int i = 0; i < T; ++i) pool.emplace_back(loop, i);
  {
    std::unique_lock<std::mutex> lk(sh.mu);
    watch_workers(
        lk, sh.watch, opt, checkpoint, start, [&] { return sh.done; }, [&] { return sh.found(); },
        [&](EnumStatus s) { sh.halt_locked(s, std::string()); });
  }
  for (std::thread& t : pool) t.join();
  res.phases.parallel_wall = seconds_since(parallel);
  for (double c : worker_cpu) res.phases.parallel_cpu += c;
  if (error) std::rethrow_exception(error);
  const Clock::time_point join = Clock::now();
  const double cpu1 = thread_cpu_seconds();
  res.base = std::move(results[0].base);
  for (int i = 1; i < T; ++i) {
    const PolytopeEnumResult& r = results[i];
    for (size_t l = 0; l < r.base.layer_counts.size(); ++l) res.base.layer_counts[l] += r.base.layer_counts[l];
    res.base.lps += r.base.lps;
    res.base.lp_iterations += r.base.lp_iterations;
  }
  for (const PolytopeEnumResult& r : results) {
    res.splits += r.splits;
    res.max_vertices = std::max(res.max_vertices, r.max_vertices);
  }
  // Concatenate the outputs: depth first over the jobs from the root job, each piece copied once from the store
  // of the worker that ran it.
  int64_t R = 0;
  for (int i = 0; i < T; ++i) R += static_cast<int64_t>(rad[i].size());
  const size_t pb = res.base.pattern_bytes;
  uint8_t* P = res.base.patterns.extend(static_cast<size_t>(R) * pb);
  double* C = res.base.centers.extend(static_cast<size_t>(R) * k);
  double* D = res.base.radii.extend(static_cast<size_t>(R));
  std::vector<std::pair<const PolyJob*, size_t>> stack{{&sh.jobs.front(), 0}};
  int64_t at = 0;
  while (!stack.empty()) {
    const PolyJob* j = stack.back().first;
    const size_t i = stack.back().second;
    if (i == j->out.size()) {
      stack.pop_back();
      continue;
    }
    ++stack.back().second;
    const PolyPiece& pc = j->out[i];
    if (pc.job >= 0) {
      stack.emplace_back(&sh.jobs[static_cast<size_t>(pc.job)], 0);
      continue;
    }
    const int w = j->worker;
    const size_t n = static_cast<size_t>(pc.end - pc.begin);
    std::copy_n(pat[w].data() + static_cast<size_t>(pc.begin) * pb, n * pb, P + static_cast<size_t>(at) * pb);
    std::copy_n(cen[w].data() + static_cast<size_t>(pc.begin) * k, n * k, C + static_cast<size_t>(at) * k);
    std::copy_n(rad[w].data() + pc.begin, n, D + at);
    at += static_cast<int64_t>(n);
  }
  res.base.status = sh.status;
  res.base.message = sh.message;
  res.base.jobs = static_cast<int64_t>(sh.jobs.size());
  res.base.leaves = res.base.regions();
  res.phases.join_wall = seconds_since(join);
  res.phases.join_cpu = thread_cpu_seconds() - cpu1;
  res.base.seconds = seconds_since(start);
  return res;
}

}  // namespace

PolytopeEnumResult enumerate_polytopes(const Network& net, const double* x0, const double* Q, int k,
                                       const double* Adom, const double* bdom, int mdom, const EnumOptions& opt,
                                       const Checkpoint& checkpoint) {
  if (k < 1) throw std::invalid_argument("domain: needs at least one free coordinate");
  if (!(opt.tol > 0) || !std::isfinite(opt.tol)) throw std::invalid_argument("tol: must be positive and finite");
  if (!(opt.radius_cap > opt.tol)) throw std::invalid_argument("radius_cap: must exceed tol");
  switch (k) {
    case 3: return run_polytopes<3>(net, x0, Q, k, Adom, bdom, mdom, opt, checkpoint);
    case 4: return run_polytopes<4>(net, x0, Q, k, Adom, bdom, mdom, opt, checkpoint);
    case 5: return run_polytopes<5>(net, x0, Q, k, Adom, bdom, mdom, opt, checkpoint);
    case 6: return run_polytopes<6>(net, x0, Q, k, Adom, bdom, mdom, opt, checkpoint);
    default: return run_polytopes<0>(net, x0, Q, k, Adom, bdom, mdom, opt, checkpoint);
  }
}

}  // namespace relutope
