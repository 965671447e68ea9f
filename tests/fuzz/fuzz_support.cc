#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tests/fuzz/fuzz_targets.h"

namespace regfs::fuzz {
namespace {

std::atomic<bool> throw_on_failure{false};

}  // namespace

void ThrowOnFailure(bool enable) { throw_on_failure = enable; }

void Fail(const char* file, int line, const std::string& what) {
  const std::string message = fmt::format("{}:{}: {}", file, line, what);
  if (throw_on_failure) throw FuzzFailure(message);
  std::fprintf(stderr, "FUZZ CHECK FAILED: %s\n", message.c_str());
  std::abort();
}

std::string Escape(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes.substr(0, 300)) {
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (bytes.size() > 300) out += fmt::format("...({} bytes)", bytes.size());
  return out;
}

uint8_t Bytes::Byte() {
  if (size_ == 0) return 0;
  --size_;
  return *data_++;
}

uint64_t Bytes::U64() {
  uint64_t v = 0;
  const size_t n = std::min<size_t>(8, size_);
  std::memcpy(&v, data_, n);
  data_ += n;
  size_ -= n;
  return v;
}

std::string Bytes::Str(size_t max) {
  const size_t n = std::min<size_t>({Byte(), max, size_});
  std::string s(reinterpret_cast<const char*>(data_), n);
  data_ += n;
  size_ -= n;
  return s;
}

std::string Bytes::Rest() {
  std::string s(reinterpret_cast<const char*>(data_), size_);
  data_ += size_;
  size_ = 0;
  return s;
}

}  // namespace regfs::fuzz
