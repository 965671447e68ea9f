#include "registry/background_thread.h"

#include <pthread.h>
#include <signal.h>

#include <utility>

namespace regfs::registry {

std::thread StartBackgroundThread(std::function<void()> body) {
  std::thread thread;
  WithSignalsBlocked([&] { thread = std::thread(std::move(body)); });
  return thread;
}

void WithSignalsBlocked(const std::function<void()>& fn) {
  sigset_t block;
  sigset_t old;
  sigemptyset(&block);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE}) {
    sigaddset(&block, sig);
  }
  pthread_sigmask(SIG_BLOCK, &block, &old);
  fn();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace regfs::registry
