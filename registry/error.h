// Errors are values: every fallible registry call returns Result<T>.
#ifndef REGFS_REGISTRY_ERROR_H_
#define REGFS_REGISTRY_ERROR_H_

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace regfs::registry {

enum class Code {
  kNotFound,          // no such collection, version, alias, name or principal
  kAlreadyExists,     // the name is taken
  kPermissionDenied,  // the caller's role does not allow the change at all
  kNotPermitted,      // never allowed to this caller: protected alias,
                      // `latest`, an immutable version
  kInvalidArgument,   // malformed name, target or request
  kConflict,          // compare-and-swap lost, wrong collection kind, in use
  kGroupsUnread,      // the caller's role depends on groups not read
                      // (Identity::groups_known): ask again with them
  kCorruption,        // the store contradicts itself
  kIoError,           // a system call failed; stays last (fs/error_codes.cc
                      // checks that its table has a row for each code)
};

struct Error {
  Code code;
  std::string message;

  bool IsNotFound() const { return code == Code::kNotFound; }
};

// The short lower-case name of a code ("not found"), for messages and logs.
std::string_view CodeName(Code code);
// The code CodeName gives `name`, or nullopt.
std::optional<Code> CodeNamed(std::string_view name);

template <class T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

inline std::unexpected<Error> Fail(Code code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}

// Returns the error of `expr` (a Result or Status) from the enclosing
// function, which returns a Result or Status too.
#define REGFS_TRY(expr)                                            \
  do {                                                             \
    auto&& regfs_try_result = (expr);                              \
    if (!regfs_try_result) {                                       \
      return std::unexpected(std::move(regfs_try_result).error()); \
    }                                                              \
  } while (0)

#define REGFS_CONCAT_INNER_(a, b) a##b
#define REGFS_CONCAT_(a, b) REGFS_CONCAT_INNER_(a, b)

// `lhs = *expr` when `expr` (a Result) holds a value; else returns its
// error. `lhs` may declare: REGFS_ASSIGN_OR_RETURN(auto c, Find(name)).
#define REGFS_ASSIGN_OR_RETURN(lhs, expr) \
  REGFS_ASSIGN_OR_RETURN_(REGFS_CONCAT_(regfs_result_, __LINE__), lhs, expr)
#define REGFS_ASSIGN_OR_RETURN_(result, lhs, expr)        \
  auto result = (expr);                                   \
  if (!result) {                                          \
    return std::unexpected(std::move(result).error());    \
  }                                                       \
  lhs = std::move(*result)

// Turns a failed system call into an IoError that names the call, the path
// and errno's text: "open /s/blobs/x: No such file or directory".
// The one place where errno becomes an Error.
Error PosixError(std::string_view what, std::string_view path, int err);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_ERROR_H_
