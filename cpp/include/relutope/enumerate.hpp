// Exact enumeration of the activation regions of a MASO network over a polyhedral domain.
//
// Algorithm: an incremental hyperplane arrangement, layer by layer, depth first. On a cell of the partition
// induced by layers 0..l-1 the pre-activations of layer l are affine functions of the domain coordinates u; each
// unit's hyperplane (for K = 2) or argmax cells (K > 2) are inserted into the cell, deciding with Chebyshev-ball LPs
// whether a side holds a ball of radius > tol. Cheap tests on the cell's Chebyshev ball come first: a hyperplane
// that cuts the ball deeply splits the cell without a decision LP, and a child that keeps the parent's ball keeps
// its Chebyshev centre and radius without an LP. Units stable on a layer's cell are detected once per cell.
// (Hyperplane arrangements by incremental insertion: Edelsbrunner, "Algorithms in Combinatorial Geometry", 1987;
// the layer-by-layer refinement of activation regions: Serra, Tjandraatmadja & Ramalingam, ICML 2018; Hanin &
// Rolnick, NeurIPS 2019.)
//
// Threads (EnumOptions::threads > 1): the depth-first search is shared by on-demand work splitting. A worker
// whose search stack holds a pending subtree (the near child of a split, or the remaining pieces of a K > 2 unit)
// and sees an idle worker hands the shallowest such subtree over as a job: a snapshot of the state that subtree
// reads (the cell's rows, its LP basis, the layer's pieces, unstable units and the pattern so far), and leaves a
// marker in its own stack where the subtree was. A job runs exactly the LPs the one-thread search runs there, so
// the regions, witnesses and radii are the same to the bit; the output is kept per job as segments (regions, or a
// marker naming a donated job), concatenated at the end in the order of the one-thread search. Each worker has
// its own LP solver state and, with a visitor, its own copy (RegionVisitor::clone/merge). The calling thread only
// watches: it calls the checkpoint (which may take the GIL) and checks the time limit; any stop (a limit, the
// checkpoint, a visitor, an LP breakdown) stops every worker, and the regions found so far are all exact (which
// ones were found first then depends on timing). (Work splitting on demand for backtracking search: Rao & Kumar,
// "Parallel depth first search. Part I", International Journal of Parallel Programming 16(6), 1987.)
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "relutope/lp.hpp"
#include "relutope/network.hpp"
#include "relutope/patterns.hpp"

namespace relutope {

// Certified enumeration (EnumOptions::certify): every decision that discards a side of a hyperplane, a piece's
// argmax cell or a whole cell is checked as it is made against a rigorous bound (certify.hpp) that holds for the
// EXACT network: the pieces' rows carry entrywise bounds of their rounding (from the weights, x0 and Q taken as the
// exact binary fractions they are), the dual multipliers of the decision's LP give an upper bound of the exact
// inradius of the discarded set, and it must be <= tol (or < 0: empty). A unit whose hyperplane is constant on a
// cell is checked by the range of its exact pre-activation over the box. Decisions whose bound fails are recorded
// (the first max_failures) with what re-deciding them exactly needs.
struct CertifyOptions {
  const double* dom_err = nullptr;  // mdom: |b_i - exact b_i| of the domain rows (their A rows are exact)
  const double* half = nullptr;     // k: the domain lies in the box [-half, half]
  double tol = 0.0;                 // a discarded set must be proven to hold no ball of radius > tol
  int64_t max_failures = 10000;
  bool corrupt = false;             // test hook: negate the first multiplier of every certificate
  int64_t dump_max = 0;             // test hook: keep the first dump_max LP certificates (CertDump)
  int64_t max_thin_records = 0;     // keep the first this many thin decisions (CertifyResult::thin_records)
};

// One decision whose certificate failed. kind: 0 side `piece` of the hyperplane of unit `unit` of layer `layer`,
// 1 the argmax cell of piece `piece` of a K > 2 unit, 2 the whole domain (layer -1). pattern: n_units entries, the
// cell's pattern on layers < layer, on layer `layer` the units decided so far (-1: not yet decided, later layers -1).
struct CertFailure {
  int kind = 0, layer = -1, unit = -1, piece = -1;
  double bound = 0.0;  // the failed bound (+inf: none)
  std::vector<int8_t> pattern;
};

// Test hook (CertifyOptions::dump_max): one LP certificate as checked: its rows (g m x k, h, e m x (k+1), nl,
// multipliers y), each row's label (layer, unit, p, q: "piece p >= piece q" of that unit; layer -1: domain row
// `unit`, the stored row being the exact one divided by ng) and norm ng, the pattern at the time, and the bound.
struct CertDump {
  double bound = 0.0;
  std::vector<double> g, h, e, nl, y, ng;
  std::vector<int> label;
  std::vector<int8_t> pattern;
};

struct CertifyResult {
  int64_t decisions = 0;   // discarding decisions checked
  int64_t certified = 0;   // of them, proven
  int64_t empty = 0;       // proven empty (bound < 0, or a constant pre-activation of the other sign)
  int64_t thin = 0;        // proven to hold no ball of radius > tol, not proven empty
  double max_thin = -std::numeric_limits<double>::infinity();  // the largest bound among the thin ones
  int64_t failed = 0;      // decisions whose bound failed (failures: the first max_failures of them)
  std::vector<CertFailure> failures;
  // Decisions proven thin but not empty (the first max_thin_records), recorded as failures are, so that a caller
  // can bound a function over the discarded sets (certified output bounds); `bound` is the proven inradius bound.
  std::vector<CertFailure> thin_records;
  std::vector<CertDump> dumps;
  void merge(const CertifyResult& o, int64_t max_failures, int64_t max_thin_records = 0);
};

struct EnumOptions {
  double tol = 1e-9;         // a region exists when it holds a ball of this radius (domain units)
  double sliver = 1e-13;     // a side thinner than this is treated as empty: no constraint row is kept for it
  double radius_cap = 1.0;   // radii are capped here (needed for unbounded domains)
  int64_t max_regions = -1;  // < 0: no limit
  double time_limit = -1.0;  // seconds; < 0: no limit
  int64_t checkpoint_every = 4096;
  bool store_regions = true;  // keep patterns, centres and radii of the regions (a visitor may not need them)
  int lp_max_iter = 0;        // dual simplex iterations per LP solve; 0: the solver's default (a test hook)
  int threads = 1;            // worker threads; 1: the search runs in the calling thread, as it always has
  bool split_all = false;     // threads: hand over every pending subtree, idle worker or not (a test hook)
  // A fixed prefix: when prefix_layers > 0, only the cells whose pattern on layers 0..prefix_layers-1 equals
  // `prefix` (net.unit_offset(prefix_layers) entries) are enumerated, along the same path (same LPs) as the full
  // search takes to them: the regions are exactly the full run's regions with that prefix, bit for bit and in the
  // same order. (Used to split one enumeration into independent tasks, relutope.distributed.) layer_counts of
  // the prefix layers then count only the prefix cell. With prefix_count > 1, `prefix` holds that many rows and
  // their cells are enumerated one after the other (limits counted over all of them).
  const int8_t* prefix = nullptr;
  int prefix_layers = 0;
  int64_t prefix_count = 1;
  const CertifyOptions* certify = nullptr;  // certified enumeration (one prefix only); nullptr: off
  // Verification mode (> 0, domain units): no cell is skipped for being thin. A cell the search discards because
  // its Chebyshev radius is in (0, tol] (a side of a hyperplane, a piece of a K > 2 unit, or both sides of one) goes
  // to RegionVisitor::thin(); a cell the visitor cannot settle is enumerated on its own with tol / 1000 (not below
  // thin_min_tol) by a copy of the visitor (clone/merge), recursively; one still unsettled at thin_min_tol is
  // counted in EnumResult::thin_open. `sliver` is then 0 (every side of positive radius keeps its row).
  double thin_min_tol = 0.0;
};

// Stopped: a RegionVisitor ended the run (e.g. it found a counterexample).
enum class EnumStatus : int {
  Complete = 0, MaxRegions = 1, TimeLimit = 2, Interrupted = 3, Numerical = 4, Stopped = 5
};
const char* enum_status_name(EnumStatus s);

// The regions are stored packed and in blocks (patterns.hpp): a pattern takes ceil(log2 K) bits per unit rather
// than a byte, a witness k doubles (the domain's own coordinates u, not the input's d), and the stores grow
// without the copies of a doubling std::vector; take() turns each into one exact-size vector.
struct EnumResult {
  int k = 0;                        // domain (engine) coordinates
  int n_units = 0;
  size_t pattern_bytes = 0;         // bytes of one packed pattern row (Network::pattern_layout())
  BlockVector<uint8_t> patterns;    // R x pattern_bytes: packed activation patterns
  BlockVector<double> centers;      // R x k: Chebyshev centres in engine coordinates u
  BlockVector<double> radii;        // R
  std::vector<int64_t> layer_counts;  // cells after layers 0..l
  int64_t lps = 0;
  int64_t lp_iterations = 0;
  int64_t leaves = 0;   // regions found (equals regions() when store_regions)
  int64_t pruned = 0;   // cells a visitor pruned
  int64_t jobs = 0;     // threads: subtrees run as jobs (the whole search is one); 0 on one thread
  int64_t thin = 0;          // verification mode: thin cells handed to RegionVisitor::thin()
  int64_t thin_open = 0;     // ... of which left unsettled at thin_min_tol (a verdict on them is unknown)
  int64_t thin_regions = 0;  // regions found by the enumerations inside thin cells (not stored)
  EnumStatus status = EnumStatus::Complete;
  double seconds = 0.0;
  std::string message;
  CertifyResult cert;   // with EnumOptions::certify
  int64_t regions() const { return static_cast<int64_t>(radii.size()); }
};

// What a RegionVisitor sees of a cell: enough to solve LPs over it and to read the network's affine maps on it.
struct CellView {
  int k = 0;
  int layer = 0;                     // prune(): the layer about to be inserted; leaf(): the number of layers
  const Network* net = nullptr;
  const int8_t* pattern = nullptr;   // entries of the layers before `layer` are fixed
  const double* pieces = nullptr;    // prune(): layer `layer`'s pieces, leaf(): the last layer's; P x (k+1) in u
  const LPBasis* basis = nullptr;    // the cell's optimal Chebyshev basis: y = (centre, radius)
  RowStack* rows = nullptr;          // the cell's rows (temporary rows must be truncated back)
  const DualSimplex* simplex = nullptr;
  LPCounters* counters = nullptr;

  // The network's output on a leaf as affine functions of u: out_dim x (k+1), row-major.
  void output_map(std::vector<double>& out) const;
  // max g.u over the cell (g: k entries). On Optimal, value and argmax (k) are set and scratch holds the optimal
  // basis. start: the basis to start from, one that scratch held after an earlier maximize() over the same cell
  // (same rows: its vertex is in the cell, all the primal simplex needs); nullptr: the cell's Chebyshev basis.
  LPStatus maximize(const double* g, double& value, double* argmax, LPBasis& scratch,
                    const LPBasis* start = nullptr) const;
  // Chebyshev ball of the cell intersected with {G u <= h} (nrows x k): radius < 0 when the set is empty.
  LPStatus chebyshev_with(const double* G, const double* h, int nrows, double& radius, double* centre,
                          LPBasis& scratch) const;
};

// Hooks into the enumeration, for queries answered region by region (output bounds, verification).
class RegionVisitor {
 public:
  virtual ~RegionVisitor() = default;
  // Called on every cell before a layer's units are inserted: return true to skip the cell and all its regions.
  virtual bool prune(const CellView&) { return false; }
  // Called right after prune() returned false on the same view: per unit of the layer, the side that bounds valid
  // on the cell prove it on (0 or 1 for a two-piece unit; -1 when unknown), or nullptr for none. The layer's
  // stability test then takes a unit proven stable, on the side of the cell's centre, without its LP (the cells
  // are the same: its far side holds no point of the cell).
  virtual const int8_t* stable_sides(const CellView&) { return nullptr; }
  // Called on every region: return false to stop the enumeration (status Stopped).
  virtual bool leaf(const CellView&) = 0;
  // Threads: a fresh copy of the visitor's state for one worker thread, or nullptr when the visitor cannot be
  // copied (the enumeration then runs on one thread). Every worker calls prune()/leaf() only on its own copy,
  // which it makes in its own thread (the workers call clone() at the same time: it must only read this one).
  virtual std::unique_ptr<RegionVisitor> clone() const { return nullptr; }
  // Threads: fold the state of a copy made by clone() into this visitor, once the workers have stopped (copies
  // in worker order).
  virtual void merge(const RegionVisitor&) {}
  // Verification mode (EnumOptions::thin_min_tol): a non-empty cell thinner than tol that the search discards. The
  // view is that of prune() for the cell's layer (its rows on the stack, layer `layer`'s pieces, the layers before
  // it fixed; the units of `layer` and after are not). Return true when nothing in the cell's closure matters to
  // the visitor; false hands it to an enumeration inside it with a smaller tol, or, when `last` (none is left),
  // counts it as unsettled (EnumResult::thin_open). stop_requested() is checked after it.
  virtual bool thin(const CellView&, bool /*last*/) { return false; }
  // Checked after a prune() or thin() that returned true: true stops the enumeration (status Stopped), e.g. when
  // prune() found a counterexample.
  virtual bool stop_requested() const { return false; }
};

// Called every `checkpoint_every` regions with the count so far; returning false stops the run (Interrupted).
using Checkpoint = std::function<bool(int64_t)>;

// The calling thread's watch over worker threads (the LP and polytope paths): every 10 ms, until done(), it calls
// the checkpoints due, at every multiple of opt.checkpoint_every reached (the counts one thread would report;
// count() is capped at max_regions), and past opt.time_limit seconds from `start` it stops the run. `lk` holds
// the workers' mutex, which `cv` is notified under when they finish; halt(status) sets the status (if the run
// is still Complete) and stops the workers. After the workers finish, the checkpoints reached since the last
// wake-up are called too (one thread calls every one it reaches, the last at max_regions).
template <class Done, class Count, class Halt>
void watch_workers(std::unique_lock<std::mutex>& lk, std::condition_variable& cv, const EnumOptions& opt,
                   const Checkpoint& checkpoint, std::chrono::steady_clock::time_point start, Done done,
                   Count count, Halt halt) {
  const int64_t every = opt.checkpoint_every;
  int64_t next = every;
  bool go_on = true;  // false once a checkpoint asked to stop: no checkpoint is called after that
  auto due = [&] {
    int64_t seen = count();
    if (opt.max_regions >= 0) seen = std::min(seen, opt.max_regions);
    while (checkpoint && go_on && every > 0 && seen >= next) {
      lk.unlock();
      go_on = checkpoint(next);
      lk.lock();
      next += every;
      if (!go_on) halt(EnumStatus::Interrupted);
    }
  };
  while (!done()) {
    cv.wait_for(lk, std::chrono::milliseconds(10));
    if (done()) break;
    due();
    if (opt.time_limit >= 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > opt.time_limit)
      halt(EnumStatus::TimeLimit);
  }
  due();  // those reached since the last wake-up (the one at max_regions among them), as one thread calls them
}

// Bytes of a cache line: state one thread writes often is kept off the lines another thread reads (false sharing:
// each write by one core invalidates the line in the other's cache, and its next read waits for the transfer).
constexpr size_t kCacheLine = 64;

// Threads: what the workers of a search share (the LP and polytope paths; each path's Shared derives from it and
// adds what its root job reads), for push_job, run_job_queue and watch_workers. Guarded by mu except the atomics.
// The members every worker reads at every step (stop, idle, queued) and writes rarely sit on a cache line of their
// own; the count of regions found is one counter per worker, each on its own line, written by that worker alone
// and added up by the watcher (found()): a line written by one core and read by another costs both a cache miss.
// Only with max_regions, which must be counted exactly over all workers, do they share one counter (regions).
// The first halt wins (status, message) and stops every worker.
template <class Job>
struct SharedSearch {
  static constexpr size_t kLine = kCacheLine;
  struct alignas(kLine) Count {
    std::atomic<int64_t> n{0};
  };

  alignas(kLine) std::atomic<bool> stop{false};
  std::atomic<int> idle{0}, queued{0};
  alignas(kLine) std::atomic<int64_t> regions{0};
  std::unique_ptr<Count[]> counts;
  const int workers;
  alignas(kLine) std::mutex mu;
  std::condition_variable work;   // idle workers wait here
  std::condition_variable watch;  // the calling thread waits here
  std::deque<Job> jobs;           // every job made (a deque: references stay valid as it grows)
  std::deque<Job*> queue;         // jobs not yet taken
  int busy = 0;
  bool done = false;
  EnumStatus status = EnumStatus::Complete;
  std::string message;

  // `workers` threads; the first job is the whole search (Job::root), queued.
  explicit SharedSearch(int n_workers) : counts(new Count[static_cast<size_t>(n_workers)]), workers(n_workers) {
    jobs.emplace_back();
    jobs.back().root = true;
    queue.push_back(&jobs.back());
    queued.store(1);
  }

  // A region found by worker `me`, its `mine`-th (from 0): false when max_regions (< 0: none) regions were found
  // already over all workers (the region is not kept; the caller halts with MaxRegions).
  bool count_region(int me, int64_t mine, int64_t max_regions) {
    if (max_regions >= 0) return regions.fetch_add(1) < max_regions;
    counts[static_cast<size_t>(me)].n.store(mine + 1, std::memory_order_relaxed);
    return true;
  }
  // The regions found so far over all workers (the watcher's count for the checkpoints).
  int64_t found() const {
    int64_t r = regions.load(std::memory_order_relaxed);
    for (int i = 0; i < workers; ++i) r += counts[static_cast<size_t>(i)].n.load(std::memory_order_relaxed);
    return r;
  }
  void halt_locked(EnumStatus s, const std::string& msg) {
    if (status == EnumStatus::Complete) {
      status = s;
      message = msg;
    }
    stop.store(true);
  }
  void halt(EnumStatus s, const std::string& msg) {
    std::lock_guard<std::mutex> lk(mu);
    halt_locked(s, msg);
  }
};

// Hand `job` to the idle workers (the LP and polytope paths' work splitting): appended to sh.jobs (a deque, so
// pointers stay valid) and queued under sh.mu, one waiting worker woken. Returns the job's index in sh.jobs.
template <class Shared, class Job>
int64_t push_job(Shared& sh, Job&& job) {
  int64_t id;
  {
    std::lock_guard<std::mutex> lk(sh.mu);
    sh.jobs.push_back(std::forward<Job>(job));
    id = static_cast<int64_t>(sh.jobs.size()) - 1;
    sh.queue.push_back(&sh.jobs.back());
    sh.queued.store(static_cast<int>(sh.queue.size()));
  }
  sh.work.notify_one();
  return id;
}

// One worker thread's loop over the shared job queue (the LP and polytope paths): wait for a job or the end,
// run it with run(job), and mark the run done when the last busy worker finds the queue empty. `sh` is a
// SharedSearch (or derives from one). An exception in run() stops every worker (status Numerical) and is kept in
// `error` (the first one) for the calling thread to rethrow.
template <class Shared, class Run>
void run_job_queue(Shared& sh, std::exception_ptr& error, Run run) {
  for (;;) {
    std::remove_reference_t<decltype(sh.queue.front())> job = nullptr;
    {
      std::unique_lock<std::mutex> lk(sh.mu);
      sh.idle.fetch_add(1);
      sh.work.wait(lk, [&] { return !sh.queue.empty() || sh.done; });
      sh.idle.fetch_sub(1);
      if (sh.queue.empty()) return;
      job = sh.queue.front();
      sh.queue.pop_front();
      sh.queued.store(static_cast<int>(sh.queue.size()));
      ++sh.busy;
    }
    try {
      run(*job);
    } catch (...) {  // (out of memory, a bad domain): every worker stops, the calling thread rethrows
      std::lock_guard<std::mutex> lk(sh.mu);
      if (!error) error = std::current_exception();
      sh.halt_locked(EnumStatus::Numerical, "a worker thread failed");
    }
    std::lock_guard<std::mutex> lk(sh.mu);
    if (--sh.busy == 0 && sh.queue.empty()) {
      sh.done = true;
      sh.work.notify_all();
      sh.watch.notify_all();
    }
  }
}

// One worker thread of the LP or polytope path: makes its worker with make() (a std::unique_ptr<Worker>) into
// `slot` in this thread, then runs the job queue with run(worker, job) (run_job_queue). Made here rather than in
// the calling thread, the worker's memory (its vectors: cells, rows, LP bases, scratch) comes from this thread's
// allocator arena and is first touched by this thread's core: the workers' hot data never share a cache line
// (nor do the worker objects themselves, aligned to kCacheLine), which they did when the calling thread allocated
// them one after another (bench/results/threads_d.txt: more CPU on two threads for the same instructions). A
// make() that throws stops the run (status Numerical, the exception kept in `error`) and the thread only drains
// the queue.
template <class Shared, class Worker, class Make, class Run>
void worker_thread(Shared& sh, std::exception_ptr& error, std::unique_ptr<Worker>& slot, Make make, Run run) {
  try {
    slot = make();
  } catch (...) {
    std::lock_guard<std::mutex> lk(sh.mu);
    if (!error) error = std::current_exception();
    sh.halt_locked(EnumStatus::Numerical, "a worker thread failed");
  }
  if (slot) {
    Worker& w = *slot;
    run_job_queue(sh, error, [&w, &run](auto& job) { run(w, job); });
  } else {
    run_job_queue(sh, error, [](auto&) {});
  }
}

// Enumerate the regions of `net` on the domain {u in R^k : Adom u <= bdom} embedded as x = x0 + Q u (Q is
// in_dim x k, row-major). `u0` (k) is a point near the middle of the domain used to start the first LP.
EnumResult enumerate_regions(const Network& net, const double* x0, const double* Q, int k, const double* Adom,
                             const double* bdom, int mdom, const double* u0, const EnumOptions& opt,
                             const Checkpoint& checkpoint, RegionVisitor* visitor = nullptr);

}  // namespace relutope
