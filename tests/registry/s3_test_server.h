// A throwaway S3-compatible server for the tests: @20minutes/s3rver
// (which checks SigV4 signatures), installed by packaging/install-s3rver.sh
// into .deps/s3rver, run with Node.js on 127.0.0.1 and a free port, its
// data in a temporary directory, with one bucket made at start.
//
// Each test (or suite) starts its own: a server is cheap (about half a
// second) and a test may stop, kill and restart its own without touching
// another's. The destructor stops the server and removes its directory,
// the test failed or not; a reaper process does the same if the test
// binary dies first.
//
// A missing Node.js or s3rver is an error that says how to install them,
// never a silent skip.
#ifndef REGFS_TESTS_REGISTRY_S3_TEST_SERVER_H_
#define REGFS_TESTS_REGISTRY_S3_TEST_SERVER_H_

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "registry/error.h"
#include "registry/unique_fd.h"

namespace regfs::registry::testing {

class S3TestServer final {
 public:
  // s3rver's built-in account.
  static constexpr const char* kAccessKeyId = "S3RVER";
  static constexpr const char* kSecretAccessKey = "S3RVER";
  static constexpr const char* kRegion = "us-east-1";

  // Starts a server with the bucket `bucket`, and waits until it answers.
  // IoError with the end of its log when it does not start.
  static Result<std::unique_ptr<S3TestServer>> Start(
      std::string bucket = "regfs-test");
  ~S3TestServer();
  S3TestServer(const S3TestServer&) = delete;
  S3TestServer& operator=(const S3TestServer&) = delete;

  // "http://127.0.0.1:PORT" (path-style addressing).
  const std::string& endpoint() const { return endpoint_; }
  const std::string& bucket() const { return bucket_; }
  int port() const { return port_; }
  // Where s3rver keeps the objects: DATA/BUCKET/KEY._S3rver_object (so a
  // test can corrupt one).
  std::filesystem::path data_dir() const;
  // The file of an object's bytes in data_dir().
  std::filesystem::path ObjectFile(const std::string& key) const;

  // SIGKILL, as an outage: connections are refused until Restart().
  void Kill();
  // SIGSTOP / SIGCONT: a server that accepts and never answers.
  void Freeze();
  void Thaw();
  // Starts it again on the same port, with the same data; waits until it
  // answers.
  Status Restart();

  // The server's log so far (for failure messages).
  std::string Log() const;

 private:
  S3TestServer() = default;
  // Runs s3rver on port_ (0: a port the system picks, then kept in port_)
  // and waits until it answers; retries while the port is still taken.
  Status Launch();
  Status StartReaper();
  // Tells the reaper which server to kill (0: none).
  void TellReaper(pid_t pid);
  void Stop();

  std::filesystem::path dir_;  // private (0700): the log and data/
  std::string bucket_;
  std::string endpoint_;
  int port_ = 0;
  pid_t pid_ = -1;  // the running server, -1 when killed
  pid_t reaper_ = -1;
  UniqueFd reaper_fd_;  // this end of the reaper's socket; EOF = clean up
};

}  // namespace regfs::registry::testing

#endif  // REGFS_TESTS_REGISTRY_S3_TEST_SERVER_H_
