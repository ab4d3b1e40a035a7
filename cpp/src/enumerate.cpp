#include "relutope/enumerate.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "relutope/certify.hpp"
#include "relutope/lp.hpp"
#include "relutope/norms.hpp"
#include "relutope/sparse_rows.hpp"

namespace relutope {

void CertifyResult::merge(const CertifyResult& o, int64_t max_failures, int64_t max_thin_records) {
  decisions += o.decisions;
  certified += o.certified;
  empty += o.empty;
  thin += o.thin;
  max_thin = std::max(max_thin, o.max_thin);
  failed += o.failed;
  for (const CertFailure& f : o.failures)
    if (static_cast<int64_t>(failures.size()) < max_failures) failures.push_back(f);
  for (const CertFailure& f : o.thin_records)
    if (static_cast<int64_t>(thin_records.size()) < max_thin_records) thin_records.push_back(f);
  dumps.insert(dumps.end(), o.dumps.begin(), o.dumps.end());
}

const char* enum_status_name(EnumStatus s) {
  switch (s) {
    case EnumStatus::Complete: return "complete";
    case EnumStatus::MaxRegions: return "max_regions";
    case EnumStatus::TimeLimit: return "time_limit";
    case EnumStatus::Interrupted: return "interrupted";
    case EnumStatus::Numerical: return "numerical";
    case EnumStatus::Stopped: return "stopped";
  }
  return "unknown";
}

void CellView::output_map(std::vector<double>& out) const {
  const Layer& last = net->layers().back();
  const int off = net->unit_offset(static_cast<int>(net->layers().size()) - 1);
  out.assign(static_cast<size_t>(last.n_units) * (k + 1), 0.0);
  for (int i = 0; i < last.n_units; ++i) {
    const int p = last.piece_start[i] + pattern[off + i];
    std::copy(pieces + static_cast<size_t>(p) * (k + 1), pieces + static_cast<size_t>(p + 1) * (k + 1),
              out.begin() + static_cast<size_t>(i) * (k + 1));
  }
}

LPStatus CellView::maximize(const double* g, double& value, double* argmax, LPBasis& scratch,
                            const LPBasis* start) const {
  const int n = k + 1;
  const int m0 = rows->m();
  double small[2 * 16];  // no heap allocation for the small cells this is called on most (one LP per call)
  std::vector<double> big(n <= 16 ? 0 : 2 * n);
  double* row = n <= 16 ? small : big.data();
  double* c = row + n;
  std::fill(row, row + 2 * n, 0.0);
  row[k] = -1.0;  // r >= 0: the point lies in the cell itself
  rows->push(row, 0.0);
  // The primal simplex's optimality test is absolute (multipliers below 1e-11 count as zero): an objective of
  // size 1e-12 (outputs scaled by 1e-12) stopped at its start, a maximum of 1.43 for 2.17, and one of 1e20
  // broke down. Scaled by a power of two (exactly: the same argmax, the multipliers scaled back) when its
  // largest entry is outside [2^-8, 2^8); in that range the LP is as it was, bit for bit.
  double gmax = 0.0;
  for (int j = 0; j < k; ++j) gmax = std::max(gmax, std::fabs(g[j]));
  const int e = scale_exponent(gmax);
  for (int j = 0; j < k; ++j) c[j] = std::ldexp(g[j], -e);
  scratch.assign(start ? *start : *basis);
  const LPStatus st = simplex->primal(*rows, c, scratch, *counters);
  rows->truncate(m0);
  if (e != 0)
    for (double& l : scratch.lambda) l = std::ldexp(l, e);
  if (st == LPStatus::Optimal) {
    value = 0.0;
    for (int j = 0; j < k; ++j) {
      value += g[j] * scratch.y[j];
      argmax[j] = scratch.y[j];
    }
  }
  return st;
}

LPStatus CellView::chebyshev_with(const double* G, const double* h, int nrows, double& radius, double* centre,
                                  LPBasis& scratch) const {
  const int n = k + 1;
  const int m0 = rows->m();
  std::vector<double> row(n), c(n, 0.0);
  c[k] = 1.0;
  for (int i = 0; i < nrows; ++i) {
    const double* g = G + static_cast<size_t>(i) * k;
    const double nrm = stable_norm(g, k);
    if (!(nrm > 1e-300)) {
      if (h[i] < 0.0) {
        rows->truncate(m0);
        radius = -std::numeric_limits<double>::infinity();
        return LPStatus::Optimal;
      }
      continue;
    }
    for (int j = 0; j < k; ++j) row[j] = g[j] / nrm;
    row[k] = 1.0;
    rows->push(row.data(), h[i] / nrm);
  }
  scratch.assign(*basis);
  const LPStatus st = simplex->solve(*rows, c.data(), scratch, *counters);
  rows->truncate(m0);
  if (st == LPStatus::Optimal) {
    radius = scratch.y[k];
    std::copy(scratch.y.begin(), scratch.y.begin() + k, centre);
  }
  return st;
}

namespace {

using Clock = std::chrono::steady_clock;

// The depth-first search runs on an explicit stack of tasks: a layer may hold tens of thousands of unstable
// units, one search level each, too deep for recursion. A step that would recurse pushes its continuation and
// then its child, so the tasks run in the order of the recursive algorithm: same LPs, same regions, same order.
enum class Op : uint8_t {
  Insert,     // insert unit idx of unstable_[l] into the cell of frames_[D]
  NearChild,  // after a split's far child: the near child (hyperplane in split_h_ at D)
  MaxPiece,   // after piece r - 1 of a K > 2 unit: the pieces r, r + 1, ...
  Truncate,   // drop the rows above m0
  Joined      // threads: the subtree that was here was handed over as job idx; its regions go here in the output
};
struct Task {
  Op op;
  bool keeps_ball;  // NearChild: the near child keeps the cell's ball
  int8_t near;      // NearChild: the side of the centre
  int l, D, m0;     // layer, depth, rows of the cell before the unit
  int idx;          // the unit's position in unstable_[l] (Joined: the job)
  int r, best;      // MaxPiece: the next piece; the piece that is maximal at the cell's centre
  double ng;        // NearChild: |grad h|
};

// Threads: a run of one job's output in the one-thread search's order, either regions or a donated job.
struct Segment {
  std::vector<uint8_t> patterns;  // packed rows
  std::vector<double> centers, radii;
  int64_t job = -1;               // >= 0: the regions of this job come here
};

// Threads: a subtree to enumerate with the state it reads (Enumerator::donate), and its output.
struct Job {
  bool root = false;               // the whole search, from the domain
  Task task{};                     // the NearChild or MaxPiece task that starts the subtree
  int cap_row = -1;
  std::vector<double> g, h;        // the cell's rows (task.m0, n entries each) and right-hand sides
  LPBasis frame;                   // the cell's LP basis (depth task.D)
  std::vector<double> split_h, F;  // NearChild: the split's hyperplane; the pieces of layer task.l
  std::vector<int> unstable;       // the unstable units of layer task.l on the cell
  std::vector<int8_t> pattern;
  std::vector<double> cert_err, cert_nl, cert_E, cert_split_E;  // certified: the rows' and pieces' error bounds
  std::vector<int> cert_lab;
  std::vector<double> cert_ng;
  std::vector<Segment> out;
};

// Threads: what the workers share (SharedSearch), and what the root job reads: the domain and the start.
struct Shared : SharedSearch<Job> {
  using SharedSearch<Job>::SharedSearch;
  Clock::time_point start;
  const double *Adom = nullptr, *bdom = nullptr, *u0 = nullptr;
  int mdom = 0;
};

class alignas(kCacheLine) Enumerator {  // threads: no cache line shared with another worker's
 public:
  Enumerator(const Network& net, const double* x0, const double* Q, int k, const EnumOptions& opt,
             const Checkpoint& checkpoint, RegionVisitor* visitor, Shared* shared = nullptr, int me = 0)
      : net_(net), k_(k), n_(k + 1), opt_(opt), checkpoint_(checkpoint), visitor_(visitor), rows_(k + 1),
        sh_(shared), me_(me), x0_(x0), Q_(Q) {
    if (opt_.thin_min_tol > 0) opt_.sliver = 0.0;  // verification mode: every side of positive radius is kept
    // the time limit covers the set-up too (on a wide domain the LP frames take a second); workers share a start
    start_ = sh_ ? sh_->start : Clock::now();
    const auto& layers = net.layers();
    const int L = static_cast<int>(layers.size());
    F_.resize(L);
    unstable_.resize(L);
    terms_.resize(L);
    for (int l = 0, N = 0; l < L; ++l) {
      F_[l].assign(static_cast<size_t>(layers[l].total_pieces()) * (n_ + 2), 0.0);  // the pieces, then magnitudes
      N += layers[l].in_dim + 1;
      terms_[l] = N + 1;
    }
    // Layer 0's pieces as functions of u: A (x0 + Q u) + c, and their magnitudes (certify.hpp, composed_zero).
    const Layer& L0 = layers[0];
    const SparseRows Qs(Q, L0.in_dim, k);
    for (int p = 0; p < L0.total_pieces(); ++p) {
      double* f = &F_[0][static_cast<size_t>(p) * n_];
      double* m = magnitudes(0, p);
      const double* a = &L0.A[static_cast<size_t>(p) * L0.in_dim];
      double off = L0.c[p];
      m[1] = std::fabs(off);
      for (int i = 0; i < L0.in_dim; ++i) {
        if (a[i] == 0.0) continue;
        for (int e = Qs.ptr[i]; e < Qs.ptr[i + 1]; ++e) {
          f[Qs.col[e]] += a[i] * Qs.val[e];
          m[0] += std::fabs(a[i] * Qs.val[e]);
        }
        off += a[i] * x0[i];
        m[1] += std::fabs(a[i] * x0[i]);
      }
      f[k] = off;
    }
    // The layers' bounds of the slope magnitudes (composed_nonconstant, magnitude_bound; certify.hpp).
    double first = 0.0;
    for (int p = 0; p < L0.total_pieces(); ++p) first = std::max(first, magnitudes(0, p)[0]);
    mag_bound_ = rigorous::magnitude_bounds(layers, first);
    if (opt.certify) cert_init(x0, Qs);
    scratch_.assign(n_, 0.0);
    int depth = 1;
    for (const Layer& layer : layers)
      for (int u = 0; u < layer.n_units; ++u)
        if (layer.n_pieces(u) >= 2) ++depth;
    // One basis per depth, each n x n, allocated when the search first reaches that depth (LPBasis::assign copies
    // the parent's): the depth bound is the network's unit count, and a basis for every one of them up front took
    // 4.9 GB and 15 s of set-up on a 784-input box of a [784, 1000, 10] network, before the time limit was read.
    frames_.resize(depth + 1);
    frames_[0].resize(n_);
    split_h_.assign(static_cast<size_t>(depth + 1) * n_, 0.0);
    h_.assign(n_, 0.0);
    if (cert_) {
      split_E_.assign(split_h_.size(), 0.0);
      hE_.assign(n_, 0.0);
    }
    rec_.resize(n_);
    pattern_.assign(net.n_units(), 0);
    obj_.assign(n_, 0.0);
    obj_[k] = 1.0;
    row_.assign(n_, 0.0);
    res_.k = k;
    res_.n_units = net.n_units();
    res_.pattern_bytes = net.pattern_layout().row_bytes();
    res_.layer_counts.assign(L, 0);
    // The LP decides whether a ball of radius tol fits: its feasibility tolerance must stay well below tol.
    simplex_.feas_tol = std::min(simplex_.feas_tol, 0.1 * opt.tol);
    careful_.refactor_every = 1;
    careful_.feas_tol = simplex_.feas_tol;
    if (opt.time_limit >= 0) {  // the LPs themselves watch the clock (one LP on a wide domain takes seconds)
      deadline_ = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.time_limit));
      simplex_.deadline = careful_.deadline = &deadline_;
    }
  }

  EnumResult run(const double* Adom, const double* bdom, int mdom, const double* u0) {
    if (root(Adom, bdom, mdom, u0)) {
      start_layer(0, 0);
      search();
    }
    return finish();
  }

  // Threads: run one job (its subtree) to its end or to a stop, writing its regions to job.out.
  void run_job(Job& job) {
    job_ = &job;
    tasks_.clear();
    scan_from_ = 0;
    stop_ = sh_->stop.load();
    if (!stop_) {
      if (job.root) {
        rows_.reset(n_);
        if (root(sh_->Adom, sh_->bdom, sh_->mdom, sh_->u0)) {
          start_layer(0, 0);
          search();
        }
      } else {
        const Task& t = job.task;
        rows_.reset(n_);
        for (int i = 0; i < t.m0; ++i) rows_.push(&job.g[static_cast<size_t>(i) * n_], job.h[i]);
        cap_row_ = job.cap_row;
        u0_.assign(sh_->u0, sh_->u0 + k_);
        frames_[t.D].assign(job.frame);
        if (t.op == Op::NearChild) std::copy(job.split_h.begin(), job.split_h.end(), &split_h_[static_cast<size_t>(t.D) * n_]);
        std::copy(job.F.begin(), job.F.end(), F_[t.l].begin());  // the pieces (layer 0's magnitudes are this
        mag_valid_ = 0;  // worker's own): those of layers 1..t.l are composed again from the job's pattern on demand
        unstable_[t.l] = job.unstable;
        pattern_ = job.pattern;
        if (cert_) {
          row_err_ = job.cert_err;
          row_nl_ = job.cert_nl;
          row_lab_ = job.cert_lab;
          row_ng_ = job.cert_ng;
          E_[t.l] = job.cert_E;
          if (t.op == Op::NearChild)
            std::copy(job.cert_split_E.begin(), job.cert_split_E.end(), &split_E_[static_cast<size_t>(t.D) * n_]);
        }
        tasks_.push_back(t);
        search();
      }
    }
    // After a stop, the jobs handed over from the abandoned part of the stack still hold regions: they follow.
    for (size_t i = tasks_.size(); i-- > 0;)
      if (tasks_[i].op == Op::Joined) join(tasks_[i].idx);
    tasks_.clear();
    std::vector<double>().swap(job.g);
    std::vector<double>().swap(job.h);
    std::vector<double>().swap(job.F);
    job_ = nullptr;
  }

  // Threads: the worker's counters (lps, iterations, layer counts, leaves, pruned).
  const EnumResult& counters() {
    res_.lps = counters_.solves;
    res_.lp_iterations = counters_.iterations;
    return res_;
  }

 private:
  const Network& net_;
  const int k_, n_;
  EnumOptions opt_;
  const Checkpoint& checkpoint_;
  RegionVisitor* visitor_;
  RowStack rows_;
  Shared* sh_ = nullptr;                     // threads: the shared state; nullptr on one thread
  int me_ = 0;                               // threads: this worker's index
  const double *x0_, *Q_;                    // the domain's embedding (verification mode: refine())
  Job* job_ = nullptr;                       // threads: the job being run
  size_t scan_from_ = 0;                     // threads: no task below this one in tasks_ can be handed over
  DualSimplex simplex_;
  LPCounters counters_;
  std::vector<LPBasis> frames_;              // LP state of the cell at each depth
  std::vector<std::vector<double>> F_;       // per layer: pieces as affine functions of u, P x (k+1), then the
                                             // pieces' magnitudes, P x 2 (magnitudes(); certify.hpp)
  std::vector<int> terms_;                   // per layer: N_l + 1 of composed_zero() (certify.hpp)
  std::vector<double> mag_bound_;            // per layer: a bound of every piece's slope magnitude (certify.hpp)
  int mag_valid_ = 0;                        // the magnitudes of layers 0..mag_valid_ are those of pattern_
  std::vector<std::vector<int>> unstable_;   // per layer: units not yet decided on the current layer cell
  std::vector<int8_t> pattern_;
  const int8_t* hint_ = nullptr;             // start_layer(): the visitor's stable_sides() of the cell, or nullptr
  std::vector<double> obj_, row_;
  std::vector<double> split_h_;              // per depth D: the hyperplane of the unit split at D (NearChild)
  std::vector<double> h_, vals_;             // scratch: a hyperplane that need not outlive its step; piece values
  std::vector<double> u0_;                   // the domain's middle (LP recovery)
  DualSimplex careful_;                      // LP recovery: refactorised at every pivot
  LPBasis rec_;
  int cap_row_ = -1;                         // the row r <= radius_cap
  int at_layer_ = 0, at_unit_ = -1;          // where the search is (layer, unit of that layer), for messages
  EnumResult res_;
  bool stop_ = false;
  Clock::time_point start_, deadline_;
  int64_t next_time_check_ = 0;

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  EnumResult finish() {
    res_.lps = counters_.solves;
    res_.lp_iterations = counters_.iterations;
    res_.seconds = elapsed();
    return std::move(res_);
  }

  void halt(EnumStatus s, const std::string& msg = std::string()) {
    if (stop_) return;
    stop_ = true;
    if (sh_) {
      sh_->halt(s, msg);
      return;
    }
    res_.status = s;
    res_.message = msg;
  }

  // The domain's rows, the radius cap and the root cell's LP; false when the domain holds no region (or the LP
  // failed: the run has halted).
  bool root(const double* Adom, const double* bdom, int mdom, const double* u0) {
    // Domain rows a.u + |a| r <= b, normalised; then the cap r <= radius_cap.
    for (int i = 0; i < mdom; ++i) {
      const double* a = Adom + static_cast<size_t>(i) * k_;
      const double nrm = stable_norm(a, k_);
      if (nrm == 0.0) {
        if (bdom[i] < 0) return false;  // empty domain: no region
        continue;
      }
      for (int j = 0; j < k_; ++j) row_[j] = a[j] / nrm;
      row_[k_] = 1.0;
      rows_.push(row_.data(), bdom[i] / nrm);
      if (cert_) cert_push_domain(a, cert_->dom_err[i] / nrm, i, nrm);
    }
    std::fill(row_.begin(), row_.end(), 0.0);
    row_[k_] = 1.0;
    rows_.push(row_.data(), opt_.radius_cap);
    cap_row_ = rows_.m() - 1;
    if (cert_) cert_push_domain(row_.data(), 0.0, -1, 1.0);
    u0_.assign(u0, u0 + k_);
    LPBasis& root = frames_[0];
    pin_basis(root, u0);
    if (!lp(root)) return false;
    if (cert_ && !(root.y[k_] > opt_.tol)) cert_lp(root, 2, -1, -1, -1);
    return root.y[k_] > opt_.tol;
  }

  // The piece a fixed prefix (EnumOptions::prefix) gives unit u of layer l, or -1 when layer l is free.
  int wanted(int l, int u) const {
    return l < opt_.prefix_layers ? opt_.prefix[net_.unit_offset(l) + u] : -1;
  }

  // Threads: hand the shallowest pending subtree of the stack (a NearChild or MaxPiece task) to an idle worker.
  // The subtree reads the rows below its m0, the basis at its depth D, the split's hyperplane at D, layer l's
  // pieces and unstable units, and the pattern: none of them is written by the work above it in the stack (that
  // work lives at depths > D, rows >= m0, layers > l or units of layer l after idx), so the snapshot taken now is
  // what the subtree would see when the one-thread search reaches it.
  void donate() {
    size_t i = std::min(scan_from_, tasks_.size());
    while (i < tasks_.size() && tasks_[i].op != Op::NearChild && tasks_[i].op != Op::MaxPiece) ++i;
    scan_from_ = i;
    if (i == tasks_.size()) return;
    Task& t = tasks_[i];
    Job job;
    job.task = t;
    job.cap_row = cap_row_;
    job.g.reserve(static_cast<size_t>(t.m0) * n_);
    job.h.reserve(t.m0);
    for (int r = 0; r < t.m0; ++r) {
      job.g.insert(job.g.end(), rows_.row(r), rows_.row(r) + n_);
      job.h.push_back(rows_.rhs(r));
    }
    job.frame = frames_[t.D];
    if (t.op == Op::NearChild)
      job.split_h.assign(&split_h_[static_cast<size_t>(t.D) * n_], &split_h_[static_cast<size_t>(t.D + 1) * n_]);
    // layer l's pieces, not its magnitudes: the receiver composes those from the pattern (compose_magnitudes)
    job.F.assign(F_[t.l].begin(), F_[t.l].begin() + static_cast<std::ptrdiff_t>(pieces_size(t.l)));
    job.unstable = unstable_[t.l];
    job.pattern = pattern_;
    if (cert_) {
      job.cert_err.assign(row_err_.begin(), row_err_.begin() + static_cast<size_t>(t.m0) * n_);
      job.cert_nl.assign(row_nl_.begin(), row_nl_.begin() + t.m0);
      job.cert_lab.assign(row_lab_.begin(), row_lab_.begin() + static_cast<size_t>(t.m0) * 4);
      job.cert_ng.assign(row_ng_.begin(), row_ng_.begin() + t.m0);
      job.cert_E = E_[t.l];
      if (t.op == Op::NearChild)
        job.cert_split_E.assign(&split_E_[static_cast<size_t>(t.D) * n_], &split_E_[static_cast<size_t>(t.D + 1) * n_]);
    }
    const int64_t id = push_job(*sh_, std::move(job));
    t = Task{};
    t.op = Op::Joined;
    t.idx = static_cast<int>(id);
    scan_from_ = i + 1;
  }

  // Threads: the regions of job `id` come next in the output.
  void join(int id) {
    Segment sg;
    sg.job = id;
    job_->out.push_back(std::move(sg));
  }

  // Solve the Chebyshev LP of the rows on the stack from the dual-feasible basis B. A breakdown, or an optimum
  // whose centre went suspiciously far out (far_out()), is repaired by recover(); when that fails too, the run halts
  // with status Numerical and a message naming the cell.
  bool lp(LPBasis& B) {
    double size = opt_.radius_cap;  // the scale of the cell's last centre
    for (int j = 0; j < k_; ++j) size = std::max(size, std::fabs(B.y[j]));
    const int64_t pivots = counters_.iterations;
    LPStatus st = simplex_.solve(rows_, obj_.data(), B, counters_, opt_.lp_max_iter);
    if (st == LPStatus::Optimal && counters_.iterations > pivots && far_out(B, size)) st = LPStatus::Numerical;
    if (st != LPStatus::Optimal && simplex_.timed_out()) {
      halt(EnumStatus::TimeLimit);
      return false;
    }
    if (st != LPStatus::Optimal) st = recover(B);
    if (st != LPStatus::Optimal && simplex_.timed_out()) {
      halt(EnumStatus::TimeLimit);
      return false;
    }
    if (st != LPStatus::Optimal) {
      halt(EnumStatus::Numerical, failure_message(st));
      return false;
    }
    if (opt_.time_limit >= 0 && counters_.solves >= next_time_check_) {
      // The clock is read after every LP when LPs are slow (wide domains: one LP can take milliseconds), every
      // 64 when they are fast (~25 ns a read against microseconds a solve).
      next_time_check_ = counters_.solves + (k_ > 16 ? 1 : 64);
      if (elapsed() > opt_.time_limit) halt(EnumStatus::TimeLimit);
    }
    return true;
  }

  // Whether a solve took the centre out beyond kFarMove times `size`, the larger of the radius cap and the cell's
  // last centre's size. In a bounded domain it cannot (the cap is about the domain's size). In an unbounded one it
  // flags a breakdown: a cell whose Chebyshev radius is capped has a degenerate optimal face (every row but the cap
  // has multiplier 0), and the simplex can walk it out to vertices where the rows are nearly parallel, the basis
  // is ill-conditioned and y has too few significant digits for the row tests. Seen: a centre at 7e12 where the
  // true optimum was at 0.5 (with r too large: a wrong decision), and, inherited by the children, false
  // "infeasible" results, singular bases and witnesses outside their regions.
  bool far_out(const LPBasis& B, double size) const {
    double far = 0.0;
    for (int j = 0; j < k_; ++j) far = std::max(far, std::fabs(B.y[j]));
    return !(far <= kFarMove * size);
  }
  static constexpr double kFarMove = 1e4;

  // Re-solve the LP after a breakdown or a far excursion (far_out()), carefully: the same dual simplex
  // refactorised at every pivot (no rank-one updates to drift), from a fresh basis of pins at the domain's middle
  // plus the radius cap (B = I, lambda = e_r: dual feasible for "maximise r"). (The general solve_lp is no
  // reference here: on cells far out its path through artificial bounds loses digits.)
  LPStatus recover(LPBasis& B) {
    pin_basis(rec_, u0_.data());
    const LPStatus st = careful_.solve(rows_, obj_.data(), rec_, counters_, opt_.lp_max_iter);
    if (st == LPStatus::Optimal) B.assign(rec_);
    return st;
  }

  // The basis of pins at centre c (k entries) and the radius cap: B = I, rhs = (c, cap), lambda = e_r.
  void pin_basis(LPBasis& P, const double* c) const {
    std::fill(P.binv.begin(), P.binv.end(), 0.0);
    std::fill(P.lambda.begin(), P.lambda.end(), 0.0);
    for (int j = 0; j < k_; ++j) {
      P.active[j] = -1 - j;
      P.rhs[j] = c[j];
    }
    P.active[k_] = cap_row_;
    P.rhs[k_] = opt_.radius_cap;
    for (int i = 0; i < n_; ++i) P.binv[static_cast<size_t>(i) * n_ + i] = 1.0;
    P.lambda[k_] = 1.0;
    P.updates = 0;
    P.binv_max = 1.0;
  }

  // Where the search was when an LP could not be solved: the unit being inserted, its layer and the pattern of the
  // layers before it (which names the cell of the partition by those layers).
  std::string failure_message(LPStatus st) const {
    std::string msg = std::string("LP solver failed (") + lp_status_name(st) + ")";
    if (at_unit_ < 0) return msg + " on the domain";
    msg += " inserting unit " + std::to_string(at_unit_) + " of layer " + std::to_string(at_layer_);
    if (at_layer_ == 0) return msg;
    msg += " into the cell with pattern [";
    for (int i = 0; i < net_.unit_offset(at_layer_); ++i) msg += (i ? " " : "") + std::to_string(pattern_[i]);
    return msg + "] on layers 0.." + std::to_string(at_layer_ - 1);
  }


  // ---- Certified enumeration (EnumOptions::certify, certify.hpp). F_'s rows carry entrywise bounds E_ of their
  // distance from the exact compositions (the weights, x0 and Q taken as exact binary fractions); every row on the
  // stack carries the bounds of its distance from its exact row, scaled as stored (row_err_: k coefficients then
  // the right-hand side), and a lower bound of that exact row's norm (row_nl_). Each discarding decision calls
  // cert_lp() (a dual bound of the LP it was decided by) or cert_constant()/cert_parallel() (the range of a
  // constant pre-activation), which count it and record it when it fails.

  void cert_init(const double* x0, const SparseRows& Qs) {
    cert_ = opt_.certify;
    const auto& layers = net_.layers();
    E_.resize(layers.size());
    for (size_t l = 0; l < layers.size(); ++l) E_[l].assign(static_cast<size_t>(layers[l].total_pieces()) * n_, 0.0);
    const Layer& L0 = layers[0];
    const double g = rigorous::gamma(L0.in_dim + 1);
    for (int p = 0; p < L0.total_pieces(); ++p) {  // |fl(A (x0 + Q u) + c) - exact| <= gamma (|A| |Q|, |A| |x0| + |c|)
      double* e = &E_[0][static_cast<size_t>(p) * n_];
      const double* a = &L0.A[static_cast<size_t>(p) * L0.in_dim];
      bool uf = false;
      double off = std::fabs(L0.c[p]);
      for (int i = 0; i < L0.in_dim; ++i) {
        if (a[i] == 0.0) continue;
        for (int q = Qs.ptr[i]; q < Qs.ptr[i + 1]; ++q) {  // (an exact zero of Q adds 0 and no underflow)
          const double t = std::fabs(a[i] * Qs.val[q]);
          uf = uf || t == 0.0;
          e[Qs.col[q]] += t;
        }
        const double t = std::fabs(a[i] * x0[i]);
        uf = uf || (t == 0.0 && x0[i] != 0.0);
        off += t;
      }
      e[k_] = off;
      for (int j = 0; j < n_; ++j) e[j] = rigorous::inflate(g * rigorous::inflate(e[j], L0.in_dim + 1), 1, e[j] == 0.0 && !uf);
    }
  }

  // E_[l+1] from E_[l], F_[l] and layer l's pattern, as finish_layer() composes F_[l+1]:
  // |fl(sum_i a_i M_i + c) - sum_i a_i M*_i - c| <= sum_i |a_i| (E_i + gamma |M_i|) + gamma |c|.
  void cert_compose(int l) {
    const Layer& cur = net_.layers()[l];
    const Layer& nxt = net_.layers()[l + 1];
    const int off = net_.unit_offset(l);
    std::vector<double>& EG = E_[l + 1];
    const std::vector<double>& El = E_[l];
    const double* Fl = F_[l].data();
    const double g = rigorous::gamma(cur.n_units + 1);
    std::fill(EG.begin(), EG.end(), 0.0);
    bool uf = false;
    for (int p = 0; p < nxt.total_pieces(); ++p) EG[static_cast<size_t>(p) * n_ + k_] = g * std::fabs(nxt.c[p]);
    for (int i = 0; i < cur.n_units; ++i) {
      const int pc = cur.piece_start[i] + pattern_[off + i];
      if (cur.zero_piece[pc]) continue;
      const double* mi = Fl + static_cast<size_t>(pc) * n_;
      const double* ei = &El[static_cast<size_t>(pc) * n_];
      for (int j = 0; j < n_; ++j) {
        scratch_[j] = ei[j] + g * std::fabs(mi[j]);
        uf = uf || (scratch_[j] == 0.0 && mi[j] != 0.0);
      }
      for (int p = 0; p < nxt.total_pieces(); ++p) {
        const double a = std::fabs(nxt.A[static_cast<size_t>(p) * nxt.in_dim + i]);
        if (a == 0.0) continue;
        double* e = &EG[static_cast<size_t>(p) * n_];
        for (int j = 0; j < n_; ++j) {
          const double t = a * scratch_[j];
          uf = uf || (t == 0.0 && scratch_[j] != 0.0);
          e[j] += t;
        }
      }
    }
    for (double& e : EG) e = rigorous::inflate(e, 2 * cur.n_units + 2, e == 0.0 && !uf);
  }

  // The error bound of h = F_[l][p] - F_[l][q] (k+1 entries) into err_of(h).
  void cert_difference(int l, int p, int q, const double* h) {
    double* e = err_of(h);
    const double* ep = &E_[l][static_cast<size_t>(p) * n_];
    const double* eq = &E_[l][static_cast<size_t>(q) * n_];
    for (int j = 0; j < n_; ++j) {
      const double s = ep[j] + eq[j] + 2.0 * rigorous::kUnit * std::fabs(h[j]);
      e[j] = rigorous::inflate(s, 3, s == 0.0 && h[j] == 0.0);
    }
  }

  // The error buffer of a hyperplane buffer: h_ or a depth of split_h_.
  double* err_of(const double* h) {
    if (h == h_.data()) return hE_.data();
    return split_E_.data() + (h - split_h_.data());
  }

  // The bounds of the row just pushed by push_side(h, ng, side): its exact form is (+-h*) / ng for the exact h*.
  void cert_push_side(const double* h, const double* he, double ng, int side) {
    const int i = rows_.m() - 1;
    cert_reserve(i);
    const double* g = rows_.row(i);
    double* e = &row_err_[static_cast<size_t>(i) * n_];
    for (int j = 0; j < n_; ++j) {
      const double v = j < k_ ? g[j] : rows_.rhs(i);
      const double s = he[j] / ng + 2.0 * rigorous::kUnit * std::fabs(v);
      e[j] = rigorous::inflate(s, 2, he[j] == 0.0 && h[j] == 0.0);
    }
    row_nl_[i] = norm_lower_bound(k_, g, e);
    // the row's label: "piece p >= piece q" of unit at_unit_ of layer at_layer_ (a two-piece unit: side, 1 - side)
    int* lab = &row_lab_[static_cast<size_t>(i) * 4];
    lab[0] = at_layer_;
    lab[1] = at_unit_;
    lab[2] = cert_r_ >= 0 ? cert_r_ : side;
    lab[3] = cert_r_ >= 0 ? cert_s_ : 1 - side;
    row_ng_[i] = ng;
  }

  // The bounds of domain row `which` just pushed (a / nrm, b / nrm; -1: the radius cap): the coefficients a are
  // exact before the division, the right-hand side within rhs_err (scaled).
  void cert_push_domain(const double* a, double rhs_err, int which, double nrm) {
    const int i = rows_.m() - 1;
    cert_reserve(i);
    const double* g = rows_.row(i);
    double* e = &row_err_[static_cast<size_t>(i) * n_];
    for (int j = 0; j < k_; ++j) e[j] = rigorous::inflate(2.0 * rigorous::kUnit * std::fabs(g[j]), 1, a[j] == 0.0);
    e[k_] = rigorous::inflate(2.0 * rigorous::kUnit * std::fabs(rows_.rhs(i)) + rhs_err, 2);
    row_nl_[i] = i == cap_row_ ? 0.0 : norm_lower_bound(k_, g, e);
    int* lab = &row_lab_[static_cast<size_t>(i) * 4];
    lab[0] = -1;
    lab[1] = which;
    lab[2] = lab[3] = -1;
    row_ng_[i] = nrm;
  }

  void cert_reserve(int i) {
    if (row_err_.size() < static_cast<size_t>(i + 1) * n_) {
      row_err_.resize(static_cast<size_t>(i + 1) * n_ * 2);
      row_nl_.resize(static_cast<size_t>(i + 1) * 2);
      row_lab_.resize(static_cast<size_t>(i + 1) * 8);
      row_ng_.resize(static_cast<size_t>(i + 1) * 2);
    }
  }

  // Where a decision of layer at_layer_ is made: the units of that layer decided so far are all but those of
  // unstable_[l][cert_from_..] and those from cert_scan_ on (start_layer() sets both while it scans).
  void cert_at(size_t idx) {
    cert_from_ = static_cast<int>(idx);
    cert_scan_ = std::numeric_limits<int>::max();
  }

  // Certify the LP of basis B (rows on the stack): the set it describes holds no ball of radius > tol.
  void cert_lp(const LPBasis& B, int kind, int l, int unit, int piece) {
    cg_.clear();
    ch_.clear();
    ce_.clear();
    cnl_.clear();
    cy_.clear();
    for (int i = 0; i < n_; ++i) {
      const int a = B.active[i];
      if (a < 0 || a == cap_row_ || !(B.lambda[i] != 0.0)) continue;
      cg_.insert(cg_.end(), rows_.row(a), rows_.row(a) + k_);
      ch_.push_back(rows_.rhs(a));
      ce_.insert(ce_.end(), &row_err_[static_cast<size_t>(a) * n_], &row_err_[static_cast<size_t>(a + 1) * n_]);
      cnl_.push_back(row_nl_[a]);
      cy_.push_back(B.lambda[i]);
      if (static_cast<int64_t>(res_.cert.dumps.size()) < cert_->dump_max) {
        clab_.insert(clab_.end(), &row_lab_[static_cast<size_t>(a) * 4], &row_lab_[static_cast<size_t>(a + 1) * 4]);
        cng_.push_back(row_ng_[a]);
      }
    }
    const int m = static_cast<int>(cy_.size());
    if (cert_->corrupt && m > 0) cy_[0] = -cy_[0];
    cidx_.resize(m);
    for (int i = 0; i < m; ++i) cidx_[i] = i;
    const double bound = m == 0 ? std::numeric_limits<double>::infinity()
                                : chebyshev_dual_bound(k_, m, cidx_.data(), cy_.data(), cg_.data(), k_, ch_.data(),
                                                       ce_.data(), n_, cnl_.data(), cert_->half);
    cert_record(bound <= cert_->tol, bound, kind, l, unit, piece);
    if (static_cast<int64_t>(res_.cert.dumps.size()) < cert_->dump_max) {  // a test hook: the certificate itself
      CertDump d;
      d.bound = bound;
      d.g = cg_;
      d.h = ch_;
      d.e = ce_;
      d.nl = cnl_;
      d.y = cy_;
      d.ng = cng_;
      d.label = clab_;
      d.pattern = pattern_;
      res_.cert.dumps.push_back(std::move(d));
    }
    clab_.clear();
    cng_.clear();
  }

  // A two-piece unit constant on the cell (|grad| <= 1e-300) put on side `near`: the exact pre-activation is > 0
  // on the whole box (near = 1), or <= 0 (near = 0: a tie goes to piece 0).
  void cert_constant(const double* h, int near, int l, int unit) {
    double lo, hi;
    bool zero;
    affine_range(k_, h, err_of(h), cert_->half, lo, hi, zero);
    const bool ok = near == 1 ? lo > 0.0 : hi <= 0.0;
    cert_record(ok && !cert_->corrupt, ok ? -1.0 : std::numeric_limits<double>::infinity(), 0, l, unit, 1 - near);
  }

  // Piece r of a K > 2 unit loses to piece s (layer piece ps) everywhere (h = f_r - f_s constant): exactly < 0 on
  // the box, or exactly identical with s < r (ties go to the lower index): h and its bound exactly zero, or the
  // two pieces' weights and biases the same numbers (then they are the same function of any input).
  void cert_parallel(const double* h, bool s_lower, int l, int unit, int r, int ps) {
    double lo, hi;
    bool zero;
    affine_range(k_, h, err_of(h), cert_->half, lo, hi, zero);
    const Layer& L = net_.layers()[l];
    const int pr = L.piece_start[unit] + r;
    const double* ar = &L.A[static_cast<size_t>(pr) * L.in_dim];
    const double* as = &L.A[static_cast<size_t>(ps) * L.in_dim];
    const bool same = L.c[pr] == L.c[ps] && std::equal(ar, ar + L.in_dim, as);
    const bool ok = hi < 0.0 || ((zero || same) && s_lower);
    cert_record(ok && !cert_->corrupt, ok ? -1.0 : std::numeric_limits<double>::infinity(), 1, l, unit, r);
  }

  void cert_record(bool ok, double bound, int kind, int l, int unit, int piece) {
    CertifyResult& c = res_.cert;
    ++c.decisions;
    if (ok) {
      ++c.certified;
      if (bound < 0.0) {
        ++c.empty;
      } else {
        ++c.thin;
        c.max_thin = std::max(c.max_thin, bound);
        if (static_cast<int64_t>(c.thin_records.size()) < cert_->max_thin_records)
          c.thin_records.push_back(cert_where(bound, kind, l, unit, piece));
      }
      return;
    }
    ++c.failed;
    if (static_cast<int64_t>(c.failures.size()) >= cert_->max_failures) return;
    c.failures.push_back(cert_where(bound, kind, l, unit, piece));
  }

  // The record of a decision: where it was made, with the cell's pattern as far as it was decided.
  CertFailure cert_where(double bound, int kind, int l, int unit, int piece) const {
    CertFailure f;
    f.kind = kind;
    f.layer = l;
    f.unit = unit;
    f.piece = piece;
    f.bound = bound;
    f.pattern.assign(pattern_.size(), -1);
    if (l >= 0) {
      const int off = net_.unit_offset(l);
      std::copy(pattern_.begin(), pattern_.begin() + off, f.pattern.begin());
      const Layer& L = net_.layers()[l];
      std::vector<char> open(L.n_units, 0);
      const std::vector<int>& unst = unstable_[l];
      for (size_t j = static_cast<size_t>(std::max(cert_from_, 0)); j < unst.size(); ++j) open[unst[j]] = 1;
      for (int v = 0; v < L.n_units; ++v)
        if (!open[v] && v < cert_scan_ && v != unit) f.pattern[off + v] = pattern_[off + v];
    }
    return f;
  }

  const CertifyOptions* cert_ = nullptr;
  std::vector<std::vector<double>> E_;      // certified: per layer, entrywise error bounds of F_
  std::vector<double> row_err_, row_nl_;    // certified: per row on the stack, n_ error bounds and a norm bound
  std::vector<int> row_lab_, clab_;         // certified: per row, (layer, unit, p, q) of "piece p >= piece q"
  std::vector<double> row_ng_, cng_;        //   (layer -1: domain row `unit`) and the norm it was divided by
  int cert_r_ = -1, cert_s_ = -1;           // certified: max_pieces' pair of the row being pushed
  std::vector<double> split_E_, hE_;        // certified: the error bounds of split_h_ and h_
  std::vector<double> cg_, ch_, ce_, cnl_, cy_, scratch_;
  std::vector<int> cidx_;
  int cert_from_ = 0, cert_scan_ = 0;

  // Push the row "side s of hyperplane h" for h = (g, g0): side 1 is h >= 0, side 0 is h <= 0.
  void push_side(const double* h, double ng, int side) {
    const double sgn = side == 1 ? -1.0 : 1.0;
    for (int j = 0; j < k_; ++j) row_[j] = sgn * h[j] / ng;
    row_[k_] = 1.0;
    rows_.push(row_.data(), -sgn * h[k_] / ng);
    if (cert_) cert_push_side(h, err_of(h), ng, side);
  }

  // Entries of F_[l] that hold layer l's pieces (P x (k+1)); its magnitudes follow them.
  size_t pieces_size(int l) const { return static_cast<size_t>(net_.layers()[l].total_pieces()) * n_; }
  // Piece p of layer l's magnitudes: the sum over its slope entries, then its offset's (certify.hpp).
  double* magnitudes(int l, int p) { return F_[l].data() + pieces_size(l) + 2 * static_cast<size_t>(p); }
  // Whether h = f_r - f_s (pieces r, s of layer l; ng = |grad h|) is constant on every cell within the rounding of
  // its composition; then `sign` is its offset's sign beyond that rounding (0 within it: a tie; certify.hpp).
  // The magnitudes are composed only when the prefilter on the layer's bound cannot rule the row non-constant.
  bool constant_row(int l, int r, int s, const double* h, double ng, int& sign) {
    if (rigorous::composed_nonconstant(ng, terms_[l], mag_bound_[l])) return false;
    compose_magnitudes(l);
    const double* mr = magnitudes(l, r);
    const double* ms = magnitudes(l, s);
    return rigorous::composed_constant(ng, h[k_], terms_[l], mr[0] + ms[0], mr[1] + ms[1], sign);
  }

  // The magnitudes of layers mag_valid_+1..l from pattern_ (certify.hpp): m_{j+1} = |A_{j+1}| m_j + (0, |c|) over
  // the units with a non-zero piece, in the order finish_layer() composes the pieces.
  void compose_magnitudes(int l) {
    const auto& layers = net_.layers();
    for (; mag_valid_ < l; ++mag_valid_) {
      const Layer& cur = layers[mag_valid_];
      const Layer& nxt = layers[mag_valid_ + 1];
      const int off = net_.unit_offset(mag_valid_);
      const int Pn = nxt.total_pieces();
      double* Gm = magnitudes(mag_valid_ + 1, 0);
      for (int p = 0; p < Pn; ++p) {
        Gm[2 * p] = 0.0;
        Gm[2 * p + 1] = std::fabs(nxt.c[p]);
      }
      for (int i = 0; i < cur.n_units; ++i) {
        const int pc = cur.piece_start[i] + pattern_[off + i];
        if (cur.zero_piece[pc]) continue;
        const double* mm = magnitudes(mag_valid_, pc);
        for (int p = 0; p < Pn; ++p) {
          const double a = nxt.A[static_cast<size_t>(p) * nxt.in_dim + i];
          if (a == 0.0) continue;
          Gm[2 * p] += std::fabs(a) * mm[0];
          Gm[2 * p + 1] += std::fabs(a) * mm[1];
        }
      }
    }
  }

  // Hyperplane of a two-piece unit: h = f_1 - f_0 (k+1 entries).
  void unit_hyperplane(int l, int unit, double* h) {
    const Layer& L = net_.layers()[l];
    const int p = L.piece_start[unit];
    const double* f0 = &F_[l][static_cast<size_t>(p) * n_];
    const double* f1 = f0 + n_;
    for (int j = 0; j < n_; ++j) h[j] = f1[j] - f0[j];
    if (cert_) cert_difference(l, p + 1, p, h);
  }

  enum class Decision { Stable, Split, Empty };

  // Decide a two-piece unit on the cell of frames_[D]. On Split, frames_[D+1] holds the far child's LP state
  // (its row is still on the stack) and `near`/`far` name the sides. On Stable, the unit's piece is `near`; the
  // far row has been removed and, when the far side was a thin sliver, the near row has been pushed and
  // frames_[D] updated to the smaller cell.
  // With `probe`, a deep cut is reported as Split at once, without the far child's LP.
  // The hyperplane h of a decided unit: the side holding the cell's centre, |grad h| and the centre's signed
  // distance to h.
  struct Cut {
    int near = 0;
    double ng = 0.0, s = 0.0;
  };

  Decision decide(int l, int unit, int D, double* h, Cut& cut, bool probe = false) {
    unit_hyperplane(l, unit, h);
    const double ng = stable_norm(h, k_);
    cut.ng = ng;
    int& near = cut.near;
    LPBasis& cell = frames_[D];
    const int p0 = net_.layers()[l].piece_start[unit];
    int sign = 0;
    if (constant_row(l, p0 + 1, p0, h, ng, sign)) {  // constant on the cell (a dead input, within rounding); a
      near = sign > 0 ? 1 : 0;                      // zero (within rounding) is a tie and goes to piece 0
      if (cert_) cert_constant(h, near, l, unit);
      return Decision::Stable;
    }
    double s = h[k_];
    for (int j = 0; j < k_; ++j) s += h[j] * cell.y[j];
    s /= ng;
    cut.s = s;
    const double r = cell.y[k_];
    near = s > 0 ? 1 : 0;
    const bool deep_cut = std::fabs(s) < r && (r - std::fabs(s)) * 0.5 > opt_.tol;
    if (probe && deep_cut) return Decision::Split;
    if (probe && hint_ && hint_[unit] == near) return Decision::Stable;  // no LP: RegionVisitor::stable_sides
    const int m0 = rows_.m();
    push_side(h, ng, 1 - near);
    LPBasis& child = frames_[D + 1];
    child.assign(cell);
    if (!lp(child)) return Decision::Stable;
    if (deep_cut || child.y[k_] > opt_.tol) return Decision::Split;
    if (cert_) cert_lp(child, 0, l, unit, 1 - near);  // the far side: certified before its row goes
    thin_cell(l, D + 1);  // verification mode: the far side is a thin cell
    rows_.truncate(m0);
    if (child.y[k_] > opt_.sliver) {  // a thin sliver on the far side: keep the region exact
      push_side(h, ng, near);
      // The Chebyshev ball crossed the hyperplane: re-solve. The rest may itself be too thin (both sides of a
      // cell of radius < 2 tol can be thinner than tol): then the cell holds no region.
      if (std::fabs(s) < r && (!lp(cell) || cell.y[k_] <= opt_.tol)) {
        if (cert_ && !stop_) cert_lp(cell, 0, l, unit, near);  // the near side too: the cell holds no region
        if (!stop_) thin_cell(l, D);
        return Decision::Empty;
      }
    }
    return Decision::Stable;
  }

  // Verification mode: a cell of layer l discarded as thinner than tol (its rows on the stack, its basis frames_[D])
  // goes to the visitor; what it cannot settle is enumerated with a smaller tol (refine()).
  void thin_cell(int l, int D) {
    if (!(opt_.thin_min_tol > 0) || !visitor_ || stop_) return;
    const double radius = frames_[D].y[k_];
    // No interior: the closures of the cells around it cover it. A radius below thin_min_tol / 64 (16 units in the
    // last place of the domain's coordinates, as min_tol is 1024) is the LP's rounding noise of a zero radius: the
    // argmax cells of tied pieces of max units (two-level lattice nets) come out at 1e-17..1e-16 on a unit box;
    // bounding them by the relaxation widened output bounds by up to 85% (bench/bench_tll.py nets).
    if (!(radius > opt_.thin_min_tol / 64.0)) return;
    ++res_.thin;
    const double sub_tol = std::max(opt_.thin_min_tol, 1e-3 * std::min(opt_.tol, radius));
    const bool last = !(sub_tol < opt_.tol && sub_tol < radius);
    const bool settled = visitor_->thin(view(l, F_[l].data(), D), last);
    if (visitor_->stop_requested()) halt(EnumStatus::Stopped);
    if (settled || stop_) return;
    if (last) ++res_.thin_open;
    else refine(sub_tol, D);
  }

  // The thin cell on the stack (basis frames_[D]) enumerated on its own with tol sub_tol, one thread, by a copy of
  // the visitor merged back; its own thin cells recurse. A stop or limit inside it stops this run.
  void refine(double sub_tol, int D) {
    std::unique_ptr<RegionVisitor> copy = visitor_->clone();
    if (!copy) {
      ++res_.thin_open;
      return;
    }
    std::vector<double> A, b;
    for (int i = 0; i < rows_.m(); ++i) {  // the cell's rows in u (the radius cap has none)
      const double* a = rows_.row(i);
      if (std::all_of(a, a + k_, [](double x) { return x == 0.0; })) continue;
      A.insert(A.end(), a, a + k_);
      b.push_back(rows_.rhs(i));
    }
    EnumOptions sub = opt_;
    sub.tol = sub_tol;
    sub.store_regions = false;
    sub.threads = 1;
    sub.max_regions = -1;
    sub.checkpoint_every = 0;
    sub.prefix = nullptr;
    sub.prefix_layers = 0;
    sub.prefix_count = 1;
    if (opt_.time_limit >= 0) sub.time_limit = std::max(0.0, opt_.time_limit - elapsed());
    static const Checkpoint none;
    Enumerator e(net_, x0_, Q_, k_, sub, none, copy.get());
    EnumResult r = e.run(A.data(), b.data(), static_cast<int>(b.size()), frames_[D].y.data());
    visitor_->merge(*copy);
    res_.thin += r.thin;
    res_.thin_open += r.thin_open;
    res_.thin_regions += r.leaves + r.thin_regions;
    counters_.solves += r.lps;
    counters_.iterations += r.lp_iterations;
    if (r.status == EnumStatus::Complete && r.leaves == 0 && r.pruned == 0 && r.thin == 0) ++res_.thin_open;
    if (r.status != EnumStatus::Complete) halt(r.status, r.message);
    else if (visitor_->stop_requested()) halt(EnumStatus::Stopped);
  }

  CellView view(int layer, const double* pieces, int D) {
    CellView v;
    v.k = k_;
    v.layer = layer;
    v.net = &net_;
    v.pattern = pattern_.data();
    v.pieces = pieces;
    v.basis = &frames_[D];
    v.rows = &rows_;
    v.simplex = &simplex_;
    v.counters = &counters_;
    return v;
  }

  std::vector<Task> tasks_;

  void push_insert(int l, size_t idx, int D) {
    Task t{};
    t.op = Op::Insert;
    t.l = l;
    t.idx = static_cast<int>(idx);
    t.D = D;
    tasks_.push_back(t);
  }

  void push_truncate(int m0) {
    // A truncation to m0 just above one to fewer rows would be undone at once: the lower one suffices (this keeps
    // a chain of stable units from growing the stack).
    if (!tasks_.empty() && tasks_.back().op == Op::Truncate && tasks_.back().m0 <= m0) return;
    Task t{};
    t.op = Op::Truncate;
    t.m0 = m0;
    tasks_.push_back(t);
  }

  void search() {
    while (!tasks_.empty() && !stop_) {  // a halt abandons the rest: nothing after it changes the result
      const Task t = tasks_.back();
      tasks_.pop_back();
      if (scan_from_ > tasks_.size()) scan_from_ = tasks_.size();
      switch (t.op) {
        case Op::Insert: insert(t.l, static_cast<size_t>(t.idx), t.D); break;
        case Op::NearChild: near_child(t); break;
        case Op::MaxPiece: max_pieces(t.l, static_cast<size_t>(t.idx), t.D, t.r, t.m0, t.best); break;
        case Op::Truncate: rows_.truncate(t.m0); break;
        case Op::Joined: join(t.idx); break;
      }
      // Threads: after a step (so that a job's own first task is never handed on), stop with the others, or
      // share the stack with an idle worker.
      if (sh_) {
        if (sh_->stop.load(std::memory_order_relaxed)) {
          stop_ = true;
          break;
        }
        if (opt_.split_all ||
            (sh_->idle.load(std::memory_order_relaxed) > 0 && sh_->queued.load(std::memory_order_relaxed) == 0))
          donate();
      }
    }
  }

  // Decide layer l's units on the cell of frames_[D] once, then queue their insertion.
  void start_layer(int l, int D) {
    if (visitor_ && visitor_->prune(view(l, F_[l].data(), D))) {
      ++res_.pruned;
      if (visitor_->stop_requested()) halt(EnumStatus::Stopped);
      return;
    }
    hint_ = visitor_ && !cert_ ? visitor_->stable_sides(view(l, F_[l].data(), D)) : nullptr;
    const Layer& L = net_.layers()[l];
    const int off = net_.unit_offset(l);
    const int m0 = rows_.m();
    std::vector<int>& unst = unstable_[l];
    unst.clear();
    at_layer_ = l;
    at_unit_ = -1;
    for (int u = 0; u < L.n_units && !stop_; ++u) {
      const int K = L.n_pieces(u);
      const int want = wanted(l, u);
      pattern_[off + u] = 0;
      if (K == 1) {
        if (want > 0) {  // a prefix no cell has
          rows_.truncate(m0);
          return;
        }
        continue;
      }
      if (K > 2) {
        unst.push_back(u);
        continue;
      }
      Cut cut;
      const int mu = rows_.m();
      at_unit_ = u;
      cert_from_ = 0;  // certified: the units of layer l decided so far are those before u not in unst
      cert_scan_ = u;
      const Decision dec = decide(l, u, D, h_.data(), cut, /*probe=*/true);
      if (dec == Decision::Empty) {
        rows_.truncate(m0);
        return;
      }
      if (dec == Decision::Split) {
        rows_.truncate(mu);
        unst.push_back(u);
      } else if (want >= 0 && want != cut.near) {  // the prefix's side of a stable unit is empty here
        rows_.truncate(m0);
        return;
      } else {
        pattern_[off + u] = static_cast<int8_t>(cut.near);
      }
    }
    hint_ = nullptr;
    if (stop_) {
      rows_.truncate(m0);
      return;
    }
    push_truncate(m0);
    push_insert(l, 0, D);
  }

  void insert(int l, size_t idx, int D) {
    if (stop_) return;
    const std::vector<int>& unst = unstable_[l];
    if (idx == unst.size()) {
      finish_layer(l, D);
      return;
    }
    const Layer& L = net_.layers()[l];
    const int u = unst[idx];
    const int gu = net_.unit_offset(l) + u;
    at_layer_ = l;
    at_unit_ = u;
    if (L.n_pieces(u) > 2) {
      insert_max_unit(l, idx, D);
      return;
    }
    double* hp = &split_h_[static_cast<size_t>(D) * n_];
    const int m0 = rows_.m();
    cert_at(idx);
    Cut cut;
    const Decision dec = decide(l, u, D, hp, cut);
    const int near = cut.near;
    if (dec == Decision::Empty) {
      rows_.truncate(m0);
      return;
    }
    const int want = wanted(l, u);
    if (dec == Decision::Stable) {
      if (stop_) return;
      if (want >= 0 && want != near) {
        rows_.truncate(m0);
        return;
      }
      pattern_[gu] = static_cast<int8_t>(near);
      push_truncate(m0);
      push_insert(l, idx + 1, D);
      return;
    }
    // Split: the far child is ready in frames_[D+1] and goes first; the near child keeps the ball if h misses it.
    Task t{};
    t.op = Op::NearChild;
    t.keeps_ball = std::fabs(cut.s) >= frames_[D].y[k_];
    t.near = static_cast<int8_t>(near);
    t.l = l;
    t.D = D;
    t.m0 = m0;
    t.idx = static_cast<int>(idx);
    t.ng = cut.ng;
    if (want == near) {  // a fixed prefix: the near child only (the rows as after the far child's subtree)
      rows_.truncate(m0);
      tasks_.push_back(t);
      return;
    }
    if (want < 0) tasks_.push_back(t);  // with a fixed prefix (want = far), no near child
    pattern_[gu] = static_cast<int8_t>(1 - near);
    push_truncate(m0);
    push_insert(l, idx + 1, D + 1);
  }

  // The near child of a split, once the far child's subtree is done and its rows are gone. Its hyperplane was
  // kept at depth D: the far subtree only writes depths > D.
  void near_child(const Task& t) {
    const int m0 = t.m0;
    at_layer_ = t.l;
    at_unit_ = unstable_[t.l][t.idx];
    push_side(&split_h_[static_cast<size_t>(t.D) * n_], t.ng, t.near);
    LPBasis& child = frames_[t.D + 1];
    child.assign(frames_[t.D]);
    if (!t.keeps_ball) {
      if (!lp(child)) return;
      if (child.y[k_] <= opt_.tol) {  // can only happen at the tolerance's edge
        if (cert_) {
          cert_at(static_cast<size_t>(t.idx));
          cert_lp(child, 0, t.l, at_unit_, t.near);
        }
        thin_cell(t.l, t.D + 1);
        rows_.truncate(m0);
        return;
      }
    }
    pattern_[net_.unit_offset(t.l) + unstable_[t.l][t.idx]] = t.near;
    push_truncate(m0);
    push_insert(t.l, static_cast<size_t>(t.idx) + 1, t.D + 1);
  }

  // Values at the cell's centre of the pieces of unit u of layer l (vals_), and the maximal one (lowest index on
  // ties).
  int piece_values(int l, int u, int D) {
    const Layer& L = net_.layers()[l];
    const int K = L.n_pieces(u);
    const int p0 = L.piece_start[u];
    const double* F = F_[l].data();
    const LPBasis& cell = frames_[D];
    int best = 0;
    double best_v = -INFINITY;
    vals_.resize(K);
    for (int r = 0; r < K; ++r) {
      const double* f = F + static_cast<size_t>(p0 + r) * n_;
      double v = f[k_];
      for (int j = 0; j < k_; ++j) v += f[j] * cell.y[j];
      vals_[r] = v;
      if (v > best_v) { best_v = v; best = r; }
    }
    return best;
  }

  // A unit with K > 2 pieces: one child per piece whose argmax cell holds a ball of radius > tol.
  void insert_max_unit(int l, size_t idx, int D) {
    const int best = piece_values(l, unstable_[l][idx], D);
    max_pieces(l, idx, D, 0, rows_.m(), best);
  }

  // Pieces r0, r0 + 1, ... of a K > 2 unit on the cell of frames_[D] (rows m0); queues the first child found and
  // its continuation. The cell's basis is untouched by the children (they live at depths > D), so the piece
  // values are recomputed unchanged.
  void max_pieces(int l, size_t idx, int D, int r0, int m0, int best) {
    const Layer& L = net_.layers()[l];
    const int u = unstable_[l][idx];
    const int gu = net_.unit_offset(l) + u;
    const int K = L.n_pieces(u);
    const int p0 = L.piece_start[u];
    const double* F = F_[l].data();
    const LPBasis& cell = frames_[D];
    at_layer_ = l;
    at_unit_ = u;
    cert_at(idx);
    if (r0 > 0) piece_values(l, u, D);
    double* h = h_.data();
    const int want = wanted(l, u);
    int r_end = K;  // with a fixed prefix, only its piece
    if (want >= 0) {
      if (r0 > want) return;
      r0 = want;
      r_end = want + 1;
    }
    for (int r = r0; r < r_end && !stop_; ++r) {
      const double* fr = F + static_cast<size_t>(p0 + r) * n_;
      bool empty = false, keeps_ball = (r == best);
      for (int s = 0; s < K && !empty; ++s) {
        if (s == r) continue;
        const double* fs = F + static_cast<size_t>(p0 + s) * n_;
        double ng = 0.0;
        for (int j = 0; j < n_; ++j) h[j] = fr[j] - fs[j];  // piece r beats piece s: h >= 0
        if (cert_) cert_difference(l, p0 + r, p0 + s, h);
        ng = stable_norm(h, k_);
        int sign = 0;
        if (constant_row(l, p0 + r, p0 + s, h, ng, sign)) {  // parallel pieces (within rounding): r beats s
          if (sign < 0 || (sign == 0 && s < r)) empty = true;  // everywhere or nowhere (ties to the lower index)
          if (empty && cert_) cert_parallel(h, s < r, l, u, r, p0 + s);
          continue;
        }
        if (keeps_ball && (vals_[r] - vals_[s]) / ng < cell.y[k_]) keeps_ball = false;
        cert_r_ = r;
        cert_s_ = s;
        push_side(h, ng, 1);
        cert_r_ = -1;
      }
      if (!empty) {
        LPBasis& child = frames_[D + 1];
        child.assign(cell);
        if (keeps_ball || lp(child)) {
          if (cert_ && !stop_ && !(child.y[k_] > opt_.tol)) cert_lp(child, 1, l, u, r);
          if (!stop_ && child.y[k_] > opt_.tol) {
            pattern_[gu] = static_cast<int8_t>(r);
            if (r + 1 < r_end) {
              Task t{};
              t.op = Op::MaxPiece;
              t.l = l;
              t.idx = static_cast<int>(idx);
              t.D = D;
              t.r = r + 1;
              t.m0 = m0;
              t.best = best;
              tasks_.push_back(t);
            }
            push_truncate(m0);
            push_insert(l, idx + 1, D + 1);
            return;
          }
          if (!stop_) thin_cell(l, D + 1);
        }
      }
      rows_.truncate(m0);
    }
  }

  void finish_layer(int l, int D) {
    ++res_.layer_counts[l];
    const auto& layers = net_.layers();
    const int L = static_cast<int>(layers.size());
    if (l == L - 1) {
      emit(D);
      return;
    }
    // Layer l+1's pieces as functions of u: A_{l+1} M + c, M = the chosen pieces of layer l.
    const Layer& cur = layers[l];
    const Layer& nxt = layers[l + 1];
    const int off = net_.unit_offset(l);
    std::vector<double>& G = F_[l + 1];
    const double* Fl = F_[l].data();
    const int Pn = nxt.total_pieces();
    std::fill(G.begin(), G.begin() + static_cast<std::ptrdiff_t>(pieces_size(l + 1)), 0.0);  // not the magnitudes
    for (int p = 0; p < Pn; ++p) G[static_cast<size_t>(p) * n_ + k_] = nxt.c[p];
    for (int i = 0; i < cur.n_units; ++i) {
      const int pc = cur.piece_start[i] + pattern_[off + i];
      if (cur.zero_piece[pc]) continue;
      const double* mi = Fl + static_cast<size_t>(pc) * n_;
      for (int p = 0; p < Pn; ++p) {
        const double a = nxt.A[static_cast<size_t>(p) * nxt.in_dim + i];
        if (a == 0.0) continue;
        double* g = &G[static_cast<size_t>(p) * n_];
        for (int j = 0; j < n_; ++j) g[j] += a * mi[j];
      }
    }
    mag_valid_ = std::min(mag_valid_, l);  // layer l+1's magnitudes: composed on demand (compose_magnitudes)
    if (cert_) cert_compose(l);
    start_layer(l + 1, D);
  }

  void emit(int D) {
    if (sh_) {
      emit_shared(D);
      return;
    }
    const int64_t R = res_.leaves;
    if (opt_.max_regions >= 0 && R >= opt_.max_regions) {
      halt(EnumStatus::MaxRegions);
      return;
    }
    ++res_.leaves;
    if (opt_.store_regions) {
      net_.pattern_layout().pack(pattern_.data(), res_.patterns.extend(res_.pattern_bytes));
      const LPBasis& cell = frames_[D];
      res_.centers.append(cell.y.data(), k_);
      res_.radii.push_back(cell.y[k_]);
    }
    if (visitor_ && !visitor_->leaf(view(static_cast<int>(F_.size()), F_.back().data(), D))) {
      halt(EnumStatus::Stopped);
      return;
    }
    if (opt_.checkpoint_every > 0 && (R + 1) % opt_.checkpoint_every == 0) {
      if (checkpoint_ && !checkpoint_(R + 1)) halt(EnumStatus::Interrupted);
      if (opt_.time_limit >= 0 && elapsed() > opt_.time_limit) halt(EnumStatus::TimeLimit);
    }
  }

  // Threads: a region into the job's output; max_regions is counted over all workers (the checkpoint and the
  // time limit are the calling thread's, in run_threads()).
  void emit_shared(int D) {
    if (!sh_->count_region(me_, res_.leaves, opt_.max_regions)) {
      halt(EnumStatus::MaxRegions);
      return;
    }
    ++res_.leaves;
    if (opt_.store_regions) {
      if (job_->out.empty() || job_->out.back().job >= 0) job_->out.emplace_back();
      Segment& sg = job_->out.back();
      const size_t at = sg.patterns.size();
      sg.patterns.resize(at + res_.pattern_bytes);
      net_.pattern_layout().pack(pattern_.data(), sg.patterns.data() + at);
      const LPBasis& cell = frames_[D];
      sg.centers.insert(sg.centers.end(), cell.y.begin(), cell.y.begin() + k_);
      sg.radii.push_back(cell.y[k_]);
    }
    if (visitor_ && !visitor_->leaf(view(static_cast<int>(F_.size()), F_.back().data(), D))) halt(EnumStatus::Stopped);
  }
};

// Threads: the workers share the search (Enumerator::donate); the calling thread watches the run (checkpoint,
// time limit) and then concatenates the jobs' outputs in the one-thread search's order.
EnumResult run_threads(const Network& net, const double* x0, const double* Q, int k, const double* Adom,
                       const double* bdom, int mdom, const double* u0, const EnumOptions& opt,
                       const Checkpoint& checkpoint, RegionVisitor* visitor, int threads) {
  Shared sh(threads);
  sh.start = Clock::now();
  sh.Adom = Adom;
  sh.bdom = bdom;
  sh.mdom = mdom;
  sh.u0 = u0;
  // The visitor's copies (one a worker) and the workers, each made in its own thread (worker_thread): their state
  // comes from that thread's allocator arena, never on a cache line of another worker's. (The copies outlive the
  // workers that point to them.) clone() is const: the workers may copy the visitor at once.
  std::vector<std::unique_ptr<RegionVisitor>> copies(visitor ? threads : 0);
  std::vector<std::unique_ptr<Enumerator>> workers(threads);
  std::exception_ptr error;
  auto loop = [&](int i) {
    worker_thread(
        sh, error, workers[i],
        [&] {
          if (visitor) {
            copies[i] = visitor->clone();
            if (!copies[i]) throw std::logic_error("visitor: clone() gave no copy in a worker thread");
          }
          return std::make_unique<Enumerator>(net, x0, Q, k, opt, checkpoint, visitor ? copies[i].get() : nullptr,
                                              &sh, i);
        },
        [](Enumerator& e, Job& job) { e.run_job(job); });
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(loop, i);
  {
    std::unique_lock<std::mutex> lk(sh.mu);
    watch_workers(
        lk, sh.watch, opt, checkpoint, sh.start, [&] { return sh.done; }, [&] { return sh.found(); },
        [&](EnumStatus s) { sh.halt_locked(s, std::string()); });
  }
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  for (auto& c : copies) visitor->merge(*c);  // in worker order, whichever finished first

  EnumResult res;
  const EnumResult& first = workers[0]->counters();
  res.k = first.k;
  res.n_units = first.n_units;
  res.pattern_bytes = first.pattern_bytes;
  res.layer_counts.assign(first.layer_counts.size(), 0);
  for (auto& w : workers) {
    const EnumResult& c = w->counters();
    for (size_t l = 0; l < c.layer_counts.size(); ++l) res.layer_counts[l] += c.layer_counts[l];
    res.lps += c.lps;
    res.lp_iterations += c.lp_iterations;
    res.leaves += c.leaves;
    res.pruned += c.pruned;
    if (opt.certify) res.cert.merge(c.cert, opt.certify->max_failures, opt.certify->max_thin_records);
    res.thin += c.thin;
    res.thin_open += c.thin_open;
    res.thin_regions += c.thin_regions;
  }
  res.status = sh.status;
  res.message = sh.message;
  res.jobs = static_cast<int64_t>(sh.jobs.size());
  // Concatenate the outputs: depth first over the jobs, from the root job, each segment freed once copied.
  std::vector<std::pair<Job*, size_t>> stack{{&sh.jobs.front(), 0}};
  while (!stack.empty()) {
    Job* j = stack.back().first;
    const size_t i = stack.back().second;
    if (i == j->out.size()) {
      stack.pop_back();
      continue;
    }
    ++stack.back().second;
    Segment& sg = j->out[i];
    if (sg.job >= 0) {
      stack.emplace_back(&sh.jobs[static_cast<size_t>(sg.job)], 0);
      continue;
    }
    res.patterns.append(sg.patterns.data(), sg.patterns.size());
    res.centers.append(sg.centers.data(), sg.centers.size());
    res.radii.append(sg.radii.data(), sg.radii.size());
    sg = Segment();
  }
  res.seconds = std::chrono::duration<double>(Clock::now() - sh.start).count();
  return res;
}

}  // namespace

namespace {

EnumResult enumerate_one(const Network& net, const double* x0, const double* Q, int k, const double* Adom,
                         const double* bdom, int mdom, const double* u0, const EnumOptions& opt,
                         const Checkpoint& checkpoint, RegionVisitor* visitor) {
  int threads = std::max(1, opt.threads);
  // A visitor that cannot be copied: one thread. (This copy only asks; each worker makes its own, in its thread.)
  if (threads > 1 && visitor && !visitor->clone()) threads = 1;
  if (threads > 1) return run_threads(net, x0, Q, k, Adom, bdom, mdom, u0, opt, checkpoint, visitor, threads);
  Enumerator e(net, x0, Q, k, opt, checkpoint, visitor);
  return e.run(Adom, bdom, mdom, u0);
}

}  // namespace

EnumResult enumerate_regions(const Network& net, const double* x0, const double* Q, int k, const double* Adom,
                             const double* bdom, int mdom, const double* u0, const EnumOptions& opt,
                             const Checkpoint& checkpoint, RegionVisitor* visitor) {
  if (k < 1) throw std::invalid_argument("domain: needs at least one free coordinate");
  if (!(opt.tol > 0) || !std::isfinite(opt.tol)) throw std::invalid_argument("tol: must be positive and finite");
  if (!(opt.radius_cap > opt.tol)) throw std::invalid_argument("radius_cap: must exceed tol");
  if (opt.prefix_layers < 0 || opt.prefix_layers > static_cast<int>(net.layers().size()) ||
      (opt.prefix_layers > 0 && opt.prefix == nullptr) || opt.prefix_count < 1)
    throw std::invalid_argument("prefix_layers: must be between 0 and the number of layers, with a prefix");
  if (opt.certify) {
    if (opt.prefix_layers > 0) throw std::invalid_argument("certify: not with a fixed prefix");
    if (!opt.certify->half || (mdom > 0 && !opt.certify->dom_err))
      throw std::invalid_argument("certify: needs the domain's box and the errors of its rows");
    if (!(opt.certify->tol >= 0) || opt.certify->max_failures < 0)
      throw std::invalid_argument("certify: tol and max_failures must be >= 0");
  }
  if (opt.prefix_layers == 0 || opt.prefix_count == 1)
    return enumerate_one(net, x0, Q, k, Adom, bdom, mdom, u0, opt, checkpoint, visitor);
  // Several prefixes: their cells one after the other, in the order given.
  const auto start = Clock::now();
  const size_t n = static_cast<size_t>(net.unit_offset(opt.prefix_layers));
  EnumOptions one = opt;
  one.prefix_count = 1;
  EnumResult all;
  for (int64_t c = 0; c < opt.prefix_count; ++c) {
    one.prefix = opt.prefix + static_cast<size_t>(c) * n;
    if (opt.max_regions >= 0) one.max_regions = opt.max_regions - all.leaves;
    const double spent = std::chrono::duration<double>(Clock::now() - start).count();
    if (opt.time_limit >= 0) one.time_limit = std::max(0.0, opt.time_limit - spent);
    EnumResult r = enumerate_one(net, x0, Q, k, Adom, bdom, mdom, u0, one, checkpoint, visitor);
    if (c == 0) {
      all.k = r.k;
      all.n_units = r.n_units;
      all.pattern_bytes = r.pattern_bytes;
      all.layer_counts.assign(r.layer_counts.size(), 0);
    }
    const std::vector<uint8_t> p = r.patterns.take();
    const std::vector<double> ce = r.centers.take(), ra = r.radii.take();
    all.patterns.append(p.data(), p.size());
    all.centers.append(ce.data(), ce.size());
    all.radii.append(ra.data(), ra.size());
    for (size_t l = 0; l < r.layer_counts.size(); ++l) all.layer_counts[l] += r.layer_counts[l];
    all.lps += r.lps;
    all.lp_iterations += r.lp_iterations;
    all.leaves += r.leaves;
    all.pruned += r.pruned;
    all.jobs += r.jobs;
    all.thin += r.thin;
    all.thin_open += r.thin_open;
    all.thin_regions += r.thin_regions;
    if (r.status != EnumStatus::Complete) {
      all.status = r.status;
      all.message = r.message;
      break;
    }
  }
  all.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return all;
}

}  // namespace relutope
