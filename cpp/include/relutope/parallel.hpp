// A parallel for over chunks of regions, shared by the geometry loops (facets, adjacency, volumes): workers take
// chunks in order, the calling thread reports progress at the multiples a one-thread loop would reach.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "relutope/enumerate.hpp"  // Checkpoint

namespace relutope {

// A parallel for over the chunks [c C, min(R, (c + 1) C)) of R regions: `threads` workers take chunks in order,
// work(worker, chunk) returns false to stop every worker (a failure). The calling thread calls the checkpoint at
// every multiple of `every` below R that the chunks done in a row from the first have reached, as a one-thread
// loop would; false stops the workers. Returns the state of every chunk: 0 not done, 1 done, 2 failed.
template <typename Work>
inline std::vector<int8_t> parallel_chunks(int64_t R, int64_t C, int threads, int64_t every,
                                           const Checkpoint& checkpoint, bool& interrupted, Work&& work) {
  const int64_t n = (R + C - 1) / C;
  std::vector<std::atomic<int8_t>> state(static_cast<size_t>(n));
  for (auto& s : state) s.store(0);
  std::atomic<int64_t> next{0};
  std::atomic<bool> stop{false};
  std::atomic<int> running{threads};
  std::mutex mu;
  std::condition_variable cv;
  std::exception_ptr error;  // an exception of a worker (bad input), rethrown in the calling thread
  auto loop = [&](int w) {
    for (;;) {
      const int64_t c = next.fetch_add(1);
      if (c >= n || stop.load()) break;
      bool ok = false;
      try {
        ok = work(w, c);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu);
        if (!error) error = std::current_exception();
      }
      state[static_cast<size_t>(c)].store(ok ? 1 : 2);
      if (!ok) stop.store(true);
      if (ok && c + 1 == n) break;
    }
    std::lock_guard<std::mutex> lk(mu);
    if (--running == 0) cv.notify_all();
  };
  std::vector<std::thread> pool;
  for (int w = 0; w < threads; ++w) pool.emplace_back(loop, w);
  interrupted = false;
  int64_t prefix = 0, mark = every;  // chunks done in a row; the next checkpoint
  {
    // The checkpoints are passed after the workers end too: they may all end before this thread first looks
    // (it was not scheduled), and a checkpoint skipped then was one the one-thread loop would have made.
    std::unique_lock<std::mutex> lk(mu);
    for (bool last = false; !last;) {
      if (running > 0) cv.wait_for(lk, std::chrono::milliseconds(10));
      last = running == 0;
      while (prefix < n && state[static_cast<size_t>(prefix)].load() == 1) ++prefix;
      const int64_t done = std::min(R, prefix * C);
      while (every > 0 && checkpoint && !interrupted && mark <= done && mark < R) {
        lk.unlock();
        const bool go_on = checkpoint(mark);
        lk.lock();
        mark += every;
        if (!go_on) {
          interrupted = true;
          stop.store(true);
        }
      }
    }
  }
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  std::vector<int8_t> out(static_cast<size_t>(n));
  for (int64_t c = 0; c < n; ++c) out[static_cast<size_t>(c)] = state[static_cast<size_t>(c)].load();
  return out;
}

}  // namespace relutope
