// A mutex, its scoped lock and a condition variable that carry Clang's
// thread-safety annotations (thread_annotations.h); libstdc++'s std::mutex
// has none, so the analysis could not check fields guarded by one.
// Thin wrappers: the behaviour is std::mutex's and
// std::condition_variable's.
//
// A predicate given to a wait would run outside the analysis (a lambda is
// a function of its own), so waits take no predicate: loop on the
// condition at the call site, where the lock is known to be held.
#ifndef REGFS_REGISTRY_MUTEX_H_
#define REGFS_REGISTRY_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "registry/thread_annotations.h"

namespace regfs {

class CAPABILITY("mutex") Mutex final {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // Tells the analysis that the caller holds the mutex (through a hold it
  // cannot see, e.g. one returned inside a struct). Checks nothing.
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` for its scope (or until Unlock; Lock takes it again). Movable
// so that a function can hand a hold to its caller.
class SCOPED_CAPABILITY MutexLock final {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(&mu) { mu.Lock(); }
  MutexLock(MutexLock&& other) noexcept
      : mu_(std::exchange(other.mu_, nullptr)),
        held_(std::exchange(other.held_, false)) {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  MutexLock& operator=(MutexLock&&) = delete;
  ~MutexLock() RELEASE() {
    if (held_) mu_->Unlock();
  }

  void Lock() ACQUIRE() {
    mu_->Lock();
    held_ = true;
  }
  void Unlock() RELEASE() {
    held_ = false;
    mu_->Unlock();
  }
  // Whether this hold is on `mu` and not released.
  bool Holds(const Mutex& mu) const { return held_ && mu_ == &mu; }

 private:
  Mutex* mu_;
  bool held_ = true;
};

// std::condition_variable for a Mutex the caller holds.
class CondVar final {
 public:
  void Wait(Mutex& mu) REQUIRES(mu) {
    std::unique_lock lock(mu.mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // Returns false once `deadline` has passed.
  template <class Clock, class Duration>
  bool WaitUntil(Mutex& mu,
                 const std::chrono::time_point<Clock, Duration>& deadline)
      REQUIRES(mu) {
    std::unique_lock lock(mu.mu_, std::adopt_lock);
    const bool woken = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace regfs

#endif  // REGFS_REGISTRY_MUTEX_H_
