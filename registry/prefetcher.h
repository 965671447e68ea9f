// Fetching blobs into the node cache in the background (issue 17): a
// mount of a store in S3 with `prefetch = production ...` fetches the new
// target of such an alias as soon as it moves, so that the next job that
// opens it does not wait for the download.
//
// One thread, started with the object; the destructor waits for the
// fetch in progress (bounded by the store's timeout while the server does
// not answer) and drops the rest. Failures are logged and dropped: the
// blob is fetched on its first open instead.
#ifndef REGFS_REGISTRY_PREFETCHER_H_
#define REGFS_REGISTRY_PREFETCHER_H_

#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "registry/blob_store.h"
#include "registry/mutex.h"

namespace regfs::registry {

struct BlobToFetch {
  std::string key;
  uint64_t size = 0;
  std::string what;  // "models/v3", for the log
};

class Prefetcher final {
 public:
  explicit Prefetcher(const BlobStore& blobs);
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  void Add(std::vector<BlobToFetch> blobs);

 private:
  void Run();

  const BlobStore& blobs_;
  Mutex mu_;
  CondVar cv_;  // queue_ grew, or stop_
  std::deque<BlobToFetch> queue_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_PREFETCHER_H_
