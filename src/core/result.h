#pragma once
/// Result<T> and AwsError: the one error type that crosses layers on the request path.

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace citadel {

/// An error as AWS reports it. The protocol layer renders it per wire format.
struct AwsError {
  std::string code;          ///< e.g. "ValidationException", "AccessDenied"
  std::string message;       ///< human text, AWS's wording where known
  int http_status = 400;     ///< HTTP status code of the answer
  bool sender_fault = true;  ///< query protocol <Type>Sender</Type> vs Receiver
  /// Extra fields some protocols render inside the error (S3: Resource, StringToSign ...).
  std::vector<std::pair<std::string, std::string>> extra;

  static AwsError validation(std::string message) {
    return AwsError{"ValidationException", std::move(message), 400, true, {}};
  }
  static AwsError internal(std::string message = "An internal error occurred.") {
    return AwsError{"InternalFailure", std::move(message), 500, false, {}};
  }
};

/// Value-or-AwsError. Cheap to move; no exceptions on the request path.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT implicit
  Result(AwsError err) : v_(std::in_place_index<1>, std::move(err)) {}  // NOLINT implicit

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const AwsError& error() const& { return std::get<1>(v_); }
  AwsError&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, AwsError> v_;
};

/// Result without a value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(AwsError err) : err_(std::move(err)), ok_(false) {}  // NOLINT implicit
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const AwsError& error() const& { return err_; }
  AwsError&& error() && { return std::move(err_); }

 private:
  AwsError err_;
  bool ok_ = true;
};

inline Result<void> okResult() { return Result<void>(); }

}  // namespace citadel

#define CITADEL_CONCAT_INNER(a, b) a##b
#define CITADEL_CONCAT(a, b) CITADEL_CONCAT_INNER(a, b)

/// Propagates the error of a Result<void> expression.
#define TRY_VOID(expr)                                  \
  do {                                                  \
    auto _citadel_r = (expr);                           \
    if (!_citadel_r.ok()) return std::move(_citadel_r).error(); \
  } while (0)

/// `TRY_ASSIGN(auto x, expr)`: binds the value of a Result or returns its error.
#define TRY_ASSIGN(decl, expr) TRY_ASSIGN_IMPL(CITADEL_CONCAT(_citadel_r_, __LINE__), decl, expr)
#define TRY_ASSIGN_IMPL(tmp, decl, expr)          \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return std::move(tmp).error();   \
  decl = std::move(tmp).value()
