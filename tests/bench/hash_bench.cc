// regfs_bench_hash: raw XXH3-128 throughput of the registry's hasher
// (registry::NewXxh3Hasher, fed 1 MiB chunks as BlobStore::Stage feeds it),
// against memcpy of the same bytes: the rate at which a push could copy if
// hashing were free. Buffers of 1 MiB (in cache) and 256 MiB (from RAM).
//
// Google Benchmark; run.sh passes --benchmark_repetitions and
// --benchmark_enable_random_interleaving so that both are measured side by
// side. Benchmark names are "METRIC:VARIANT" for regfs_bench_report.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "registry/hasher.h"

namespace {

constexpr size_t kChunk = 1 << 20;  // BlobStore's kChunk

std::vector<std::byte> MakeBuffer(size_t size) {
  std::vector<std::byte> buf(size);
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(buf.data() + i, &x, std::min<size_t>(8, size - i));
  }
  return buf;
}

void Xxh3(benchmark::State& state, size_t size) {
  const std::vector<std::byte> buf = MakeBuffer(size);
  for (auto _ : state) {
    auto hasher = regfs::registry::NewXxh3Hasher();
    for (size_t off = 0; off < size; off += kChunk) {
      hasher->Update(std::span(buf.data() + off, std::min(kChunk, size - off)));
    }
    std::string digest = hasher->Final();
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(size));
}

void Memcpy(benchmark::State& state, size_t size) {
  const std::vector<std::byte> buf = MakeBuffer(size);
  std::vector<std::byte> out(kChunk);
  for (auto _ : state) {
    for (size_t off = 0; off < size; off += kChunk) {
      const size_t n = std::min(kChunk, size - off);
      std::memcpy(out.data(), buf.data() + off, n);
      benchmark::ClobberMemory();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(size));
}

}  // namespace

int main(int argc, char** argv) {
  for (size_t size : {size_t{1} << 20, size_t{256} << 20}) {
    const std::string metric = size == kChunk
                                   ? "hash 1 MiB buffer (in cache)"
                                   : "hash 256 MiB buffer (from RAM)";
    benchmark::RegisterBenchmark(
        (metric + ":memcpy").c_str(),
        [size](benchmark::State& s) { Memcpy(s, size); })
        ->UseRealTime();
    benchmark::RegisterBenchmark((metric + ":XXH3-128").c_str(),
                                 [size](benchmark::State& s) { Xxh3(s, size); })
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
