#include "registry/hasher.h"

#include <fmt/format.h>
#include <xxhash.h>

namespace regfs::registry {
namespace {

std::string Hex(XXH128_hash_t h) {
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

class Xxh3Hasher final : public Hasher {
 public:
  Xxh3Hasher() : state_(XXH3_createState()) {
    if (state_ == nullptr) throw std::bad_alloc();
    XXH3_128bits_reset(state_.get());
  }
  void Update(std::span<const std::byte> data) override {
    XXH3_128bits_update(state_.get(), data.data(), data.size());
  }
  std::string Final() override {
    return Hex(XXH3_128bits_digest(state_.get()));
  }

 private:
  struct Free {
    void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
  };
  std::unique_ptr<XXH3_state_t, Free> state_;
};

}  // namespace

std::unique_ptr<Hasher> NewXxh3Hasher() {
  return std::make_unique<Xxh3Hasher>();
}

std::string Xxh3Hex(std::span<const std::byte> data) {
  return Hex(XXH3_128bits(data.data(), data.size()));
}

std::string Xxh3Hex(std::string_view data) {
  return Hex(XXH3_128bits(data.data(), data.size()));
}

}  // namespace regfs::registry
