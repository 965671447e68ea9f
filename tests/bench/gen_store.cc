// regfs_bench_gen: makes a benchmark store through the registry API.
//
//   regfs_bench_gen --store DIR --collections C --versions-per N
//                   --aliases-per A [--contents K] [--threads T]
//                   [--mirror DIR] [--label L]
//                   [--metadata CONNINFO --blobs DIR]
//
// Creates a fresh store (OpenOptions::durable = false: no fsync, for
// generating only) with C collections named as bench_util.h says, N
// versions each and A aliases each (alias j names version j % N). The
// versions share K distinct small contents, so blobs dedupe and the store's
// size is its database. With --mirror, also writes the same names as plain
// files and symlinks under DIR (the ext4 reference of the metadata
// benchmarks). With --metadata and --blobs, the store is a shared one
// (registry::InitSharedStore): its rows in that PostgreSQL database, its
// blobs in that directory; the same names and contents as an embedded
// store of the same shape. Prints one sample line: versions generated per
// second.
#include <fcntl.h>
#include <fmt/format.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "registry/identity.h"
#include "registry/registry.h"
#include "registry/shared_store.h"
#include "tests/bench/bench_util.h"

namespace regfs::bench {
namespace {

namespace stdfs = std::filesystem;
using registry::Identity;
using registry::Registry;

struct GenOptions {
  stdfs::path store;
  uint64_t collections = 1;
  uint64_t versions_per = 1000;
  uint64_t aliases_per = 100;
  uint64_t contents = 16;
  unsigned threads = 2;
  stdfs::path mirror;
  std::string label = "registry API";
  std::string metadata;  // a shared store's PostgreSQL conninfo
  stdfs::path blobs;     // and its blob directory
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "regfs_bench_gen: %s\n", message.c_str());
  std::exit(1);
}

// Content k: a few KiB that differ in their first line and their length.
std::string ContentOf(uint64_t k) {
  std::string text = fmt::format("regfs benchmark artifact {}\n", k);
  while (text.size() < 1024 + 64 * (k % 32)) text += "0123456789abcdef";
  return text;
}

void WriteFileOrDie(const stdfs::path& path, const std::string& text) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 ||
      ::write(fd, text.data(), text.size()) !=
          static_cast<ssize_t>(text.size()) ||
      ::close(fd) != 0) {
    Die(fmt::format("write {}: {}", path.string(), std::strerror(errno)));
  }
}

// Pushes the versions and creates the aliases of collections
// [first, first + count); adds each version pushed to `done`.
void Populate(Registry& registry, const Identity& who,
              const GenOptions& options,
              const std::vector<stdfs::path>& contents, uint64_t first,
              uint64_t step, std::atomic<uint64_t>& done) {
  for (uint64_t c = first; c < options.collections; c += step) {
    const std::string collection = CollectionName(c);
    for (uint64_t n = 0; n < options.versions_per; ++n) {
      registry::PushRequest request;
      request.collection = collection;
      request.paths = {
          contents[(c * options.versions_per + n) % contents.size()]};
      auto pushed = registry.Push(who, request);
      if (!pushed) Die(fmt::format("push: {}", pushed.error().message));
      done.fetch_add(1, std::memory_order_relaxed);
    }
    for (uint64_t j = 0; j < options.aliases_per; ++j) {
      auto alias = registry.CreateAlias(who, collection, AliasName(j),
                                        VersionName(j % options.versions_per));
      if (!alias) Die(fmt::format("alias: {}", alias.error().message));
    }
  }
}

void WriteMirror(const GenOptions& options) {
  for (uint64_t c = 0; c < options.collections; ++c) {
    const stdfs::path dir = options.mirror / CollectionName(c);
    std::error_code ec;
    stdfs::create_directories(dir, ec);
    if (ec) Die(fmt::format("mkdir {}: {}", dir.string(), ec.message()));
    for (uint64_t n = 0; n < options.versions_per; ++n) {
      WriteFileOrDie(
          dir / VersionName(n),
          ContentOf((c * options.versions_per + n) % options.contents));
    }
    for (uint64_t j = 0; j < options.aliases_per; ++j) {
      const stdfs::path link = dir / AliasName(j);
      if (::symlink(VersionName(j % options.versions_per).c_str(),
                    link.c_str()) != 0 &&
          errno != EEXIST) {
        Die(fmt::format("symlink {}: {}", link.string(), std::strerror(errno)));
      }
    }
  }
}

int Run(const GenOptions& options) {
  if (options.versions_per == 0) Die("--versions-per must be at least 1");
  const Identity who = Identity::Current(registry::Interface::kCli);
  registry::OpenOptions open_options;
  open_options.durable = false;
  bool joined = false;
  auto registry =
      options.metadata.empty()
          ? Registry::Init(options.store, who, open_options)
          : registry::InitSharedStore(
                options.store, who,
                registry::SharedStoreConfig{options.metadata, options.blobs},
                &joined, open_options);
  if (!registry) Die(fmt::format("init: {}", registry.error().message));
  if (joined) Die("--metadata: the database already holds a registry");

  // The distinct contents, outside the store so that pushes copy them in.
  const stdfs::path content_dir =
      options.store.parent_path() /
      (options.store.filename().string() + ".contents");
  stdfs::create_directories(content_dir);
  std::vector<stdfs::path> contents;
  for (uint64_t k = 0; k < std::max<uint64_t>(options.contents, 1); ++k) {
    contents.push_back(content_dir / fmt::format("content-{}", k));
    WriteFileOrDie(contents.back(), ContentOf(k));
  }

  std::atomic<uint64_t> done{0};
  const auto start = Clock::now();
  std::vector<std::thread> workers;
  const unsigned threads = std::max(1u, options.threads);
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      Populate(**registry, who, options, contents, t, threads, done);
    });
  }
  const uint64_t total = options.collections * options.versions_per;
  std::atomic<bool> finished{false};
  std::thread progress([&] {
    while (!finished.load()) {
      for (int i = 0; i < 50 && !finished.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (finished.load()) break;
      const double s = SecondsSince(start);
      std::fprintf(stderr, "regfs_bench_gen: %llu/%llu versions, %.0f/s\n",
                   static_cast<unsigned long long>(done.load()),
                   static_cast<unsigned long long>(total),
                   static_cast<double>(done.load()) / s);
    }
  });
  for (auto& w : workers) w.join();
  finished = true;
  progress.join();
  const double seconds = SecondsSince(start);
  std::fprintf(stderr,
               "regfs_bench_gen: %llu versions and %llu aliases in %llu "
               "collections in %.1f s\n",
               static_cast<unsigned long long>(total),
               static_cast<unsigned long long>(options.collections *
                                               options.aliases_per),
               static_cast<unsigned long long>(options.collections), seconds);
  stdfs::remove_all(content_dir);
  if (!options.mirror.empty()) WriteMirror(options);
  PrintSample("versions generated per second", options.label, 0,
              static_cast<double>(total) / seconds, "versions/s", true);
  return 0;
}

}  // namespace
}  // namespace regfs::bench

int main(int argc, char** argv) {
  // Every push allocates zero-filled 1 MiB buffers (registry/blob_store.cc);
  // glibc serves those with mmap and returns them with munmap, so each
  // push page-faults about 3 MiB in. Keeping them in the heap makes
  // generation several times faster and changes nothing in the store.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  regfs::bench::GenOptions options;
  CLI::App app{"Generates a benchmark store through the registry API"};
  app.add_option("--store", options.store, "Store to create")->required();
  app.add_option("--collections", options.collections, "Collections");
  app.add_option("--versions-per", options.versions_per,
                 "Versions per collection");
  app.add_option("--aliases-per", options.aliases_per,
                 "Aliases per collection");
  app.add_option("--contents", options.contents,
                 "Distinct contents shared by the versions");
  app.add_option("--threads", options.threads, "Pushing threads");
  app.add_option("--mirror", options.mirror,
                 "Also write the same names as files and symlinks here");
  app.add_option("--label", options.label, "Variant label of the sample");
  auto* metadata = app.add_option(
      "--metadata", options.metadata,
      "A shared store: its PostgreSQL conninfo (an empty database)");
  auto* blobs =
      app.add_option("--blobs", options.blobs, "A shared store's blob directory");
  metadata->needs(blobs);
  blobs->needs(metadata);
  CLI11_PARSE(app, argc, argv);
  return regfs::bench::Run(options);
}
