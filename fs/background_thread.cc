#include "fs/background_thread.h"

#include <pthread.h>
#include <signal.h>

#include <utility>

namespace regfs::fs {

std::thread StartBackgroundThread(std::function<void()> body) {
  sigset_t block;
  sigset_t old;
  sigemptyset(&block);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE}) {
    sigaddset(&block, sig);
  }
  pthread_sigmask(SIG_BLOCK, &block, &old);
  std::thread thread(std::move(body));
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return thread;
}

}  // namespace regfs::fs
