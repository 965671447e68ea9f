// Streaming content hashing. XXH3-128 in production; tests inject others
// (a constant hasher proves that a collision never merges two contents).
#ifndef REGFS_REGISTRY_HASHER_H_
#define REGFS_REGISTRY_HASHER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace regfs::registry {

// Not thread-safe; one per stream.
class Hasher {
 public:
  virtual ~Hasher() = default;
  virtual void Update(std::span<const std::byte> data) = 0;
  // 32 lower-case hex digits. Call once.
  virtual std::string Final() = 0;
};

using HasherFactory = std::function<std::unique_ptr<Hasher>()>;

// XXH3-128; owns its XXH3_state_t.
std::unique_ptr<Hasher> NewXxh3Hasher();

// XXH3-128 of a byte string, as hex.
std::string Xxh3Hex(std::span<const std::byte> data);
std::string Xxh3Hex(std::string_view data);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_HASHER_H_
