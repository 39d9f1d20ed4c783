#include "crypto/pkcs11.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

// p11-kit's header declares the OASIS PKCS#11 2.40 API; its compatibility mode (the default)
// uses the standard's spellings (CK_FUNCTION_LIST, CK_GCM_PARAMS::pIv ...).
#include <p11-kit/pkcs11.h>

#include "crypto/crypto.h"

namespace citadel::crypto {

namespace {

// ---- errors -----------------------------------------------------------------------------------

const char* ckrName(CK_RV rv) {
  switch (rv) {
    case CKR_OK:
      return "CKR_OK";
    case CKR_CANCEL:
      return "CKR_CANCEL";
    case CKR_HOST_MEMORY:
      return "CKR_HOST_MEMORY";
    case CKR_SLOT_ID_INVALID:
      return "CKR_SLOT_ID_INVALID";
    case CKR_GENERAL_ERROR:
      return "CKR_GENERAL_ERROR";
    case CKR_FUNCTION_FAILED:
      return "CKR_FUNCTION_FAILED";
    case CKR_ARGUMENTS_BAD:
      return "CKR_ARGUMENTS_BAD";
    case CKR_ATTRIBUTE_READ_ONLY:
      return "CKR_ATTRIBUTE_READ_ONLY";
    case CKR_ATTRIBUTE_SENSITIVE:
      return "CKR_ATTRIBUTE_SENSITIVE";
    case CKR_ATTRIBUTE_TYPE_INVALID:
      return "CKR_ATTRIBUTE_TYPE_INVALID";
    case CKR_ATTRIBUTE_VALUE_INVALID:
      return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_DATA_INVALID:
      return "CKR_DATA_INVALID";
    case CKR_DATA_LEN_RANGE:
      return "CKR_DATA_LEN_RANGE";
    case CKR_DEVICE_ERROR:
      return "CKR_DEVICE_ERROR";
    case CKR_DEVICE_MEMORY:
      return "CKR_DEVICE_MEMORY";
    case CKR_DEVICE_REMOVED:
      return "CKR_DEVICE_REMOVED";
    case CKR_ENCRYPTED_DATA_INVALID:
      return "CKR_ENCRYPTED_DATA_INVALID";
    case CKR_ENCRYPTED_DATA_LEN_RANGE:
      return "CKR_ENCRYPTED_DATA_LEN_RANGE";
    case CKR_FUNCTION_NOT_SUPPORTED:
      return "CKR_FUNCTION_NOT_SUPPORTED";
    case CKR_KEY_HANDLE_INVALID:
      return "CKR_KEY_HANDLE_INVALID";
    case CKR_KEY_SIZE_RANGE:
      return "CKR_KEY_SIZE_RANGE";
    case CKR_KEY_TYPE_INCONSISTENT:
      return "CKR_KEY_TYPE_INCONSISTENT";
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
      return "CKR_KEY_FUNCTION_NOT_PERMITTED";
    case CKR_KEY_NOT_WRAPPABLE:
      return "CKR_KEY_NOT_WRAPPABLE";
    case CKR_KEY_UNEXTRACTABLE:
      return "CKR_KEY_UNEXTRACTABLE";
    case CKR_MECHANISM_INVALID:
      return "CKR_MECHANISM_INVALID";
    case CKR_MECHANISM_PARAM_INVALID:
      return "CKR_MECHANISM_PARAM_INVALID";
    case CKR_OBJECT_HANDLE_INVALID:
      return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_OPERATION_ACTIVE:
      return "CKR_OPERATION_ACTIVE";
    case CKR_OPERATION_NOT_INITIALIZED:
      return "CKR_OPERATION_NOT_INITIALIZED";
    case CKR_PIN_INCORRECT:
      return "CKR_PIN_INCORRECT";
    case CKR_PIN_INVALID:
      return "CKR_PIN_INVALID";
    case CKR_PIN_LEN_RANGE:
      return "CKR_PIN_LEN_RANGE";
    case CKR_PIN_EXPIRED:
      return "CKR_PIN_EXPIRED";
    case CKR_PIN_LOCKED:
      return "CKR_PIN_LOCKED";
    case CKR_SESSION_CLOSED:
      return "CKR_SESSION_CLOSED";
    case CKR_SESSION_COUNT:
      return "CKR_SESSION_COUNT";
    case CKR_SESSION_HANDLE_INVALID:
      return "CKR_SESSION_HANDLE_INVALID";
    case CKR_SESSION_READ_ONLY:
      return "CKR_SESSION_READ_ONLY";
    case CKR_TEMPLATE_INCOMPLETE:
      return "CKR_TEMPLATE_INCOMPLETE";
    case CKR_TEMPLATE_INCONSISTENT:
      return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_TOKEN_NOT_PRESENT:
      return "CKR_TOKEN_NOT_PRESENT";
    case CKR_TOKEN_NOT_RECOGNIZED:
      return "CKR_TOKEN_NOT_RECOGNIZED";
    case CKR_TOKEN_WRITE_PROTECTED:
      return "CKR_TOKEN_WRITE_PROTECTED";
    case CKR_USER_ALREADY_LOGGED_IN:
      return "CKR_USER_ALREADY_LOGGED_IN";
    case CKR_USER_NOT_LOGGED_IN:
      return "CKR_USER_NOT_LOGGED_IN";
    case CKR_USER_PIN_NOT_INITIALIZED:
      return "CKR_USER_PIN_NOT_INITIALIZED";
    case CKR_USER_TYPE_INVALID:
      return "CKR_USER_TYPE_INVALID";
    case CKR_USER_ANOTHER_ALREADY_LOGGED_IN:
      return "CKR_USER_ANOTHER_ALREADY_LOGGED_IN";
    case CKR_USER_TOO_MANY_TYPES:
      return "CKR_USER_TOO_MANY_TYPES";
    case CKR_WRAPPING_KEY_HANDLE_INVALID:
      return "CKR_WRAPPING_KEY_HANDLE_INVALID";
    case CKR_RANDOM_NO_RNG:
      return "CKR_RANDOM_NO_RNG";
    case CKR_BUFFER_TOO_SMALL:
      return "CKR_BUFFER_TOO_SMALL";
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      return "CKR_CRYPTOKI_NOT_INITIALIZED";
    case CKR_CRYPTOKI_ALREADY_INITIALIZED:
      return "CKR_CRYPTOKI_ALREADY_INITIALIZED";
    case CKR_CANT_LOCK:
      return "CKR_CANT_LOCK";
    default:
      return nullptr;
  }
}

std::string ckrText(CK_RV rv) {
  if (const char* name = ckrName(rv)) return name;
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR 0x%08lx", static_cast<unsigned long>(rv));
  return buf;
}

/// PKCS#11 3.0's CKR_AEAD_DECRYPT_FAILED (p11-kit's 2.40 header does not name it).
constexpr CK_RV kCkrAeadDecryptFailed = 0x00000035UL;

AwsError makeError(std::string code, std::string message, int status, bool sender_fault,
                   std::string_view connection_error = {}) {
  AwsError e{std::move(code), std::move(message), status, sender_fault, {}};
  if (!connection_error.empty()) {
    e.extra.emplace_back(std::string(kConnectionErrorCodeField), std::string(connection_error));
  }
  return e;
}

AwsError internalError(std::string message) {
  return makeError("KMSInternalException", std::move(message), 500, false, "INTERNAL_ERROR");
}

/// The AwsError for a failed PKCS#11 call that has no more specific meaning at its call site.
AwsError callError(const char* function, CK_RV rv) {
  std::string what = std::string("PKCS#11 ") + function + " failed: " + ckrText(rv);
  switch (rv) {
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_SLOT_ID_INVALID:
      return makeError("CloudHsmClusterNotActiveException",
                       what + " (the PKCS#11 token is not available)", 400, true, "NETWORK_ERRORS");
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      return makeError("CustomKeyStoreInvalidStateException",
                       what + " (the connection to the PKCS#11 token was lost; reconnect)", 400,
                       true, "INTERNAL_ERROR");
    default:
      return internalError(std::move(what));
  }
}

AwsError notConnected(const std::string& label) {
  return makeError("CustomKeyStoreInvalidStateException",
                   "The connection to PKCS#11 token '" + label + "' is disconnected.", 400, true);
}

// ---- bytes ------------------------------------------------------------------------------------

std::string toHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0x0f]);
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr size_t kKeyIdBytes = 16;

/// The CKA_ID bytes of a key id string, or ValidationException.
Result<std::string> keyIdBytes(std::string_view id) {
  if (id.size() != kKeyIdBytes * 2) {
    return AwsError::validation("Invalid PKCS#11 key id '" + std::string(id) + "': expected " +
                                std::to_string(kKeyIdBytes * 2) + " hexadecimal characters.");
  }
  std::string out(kKeyIdBytes, '\0');
  for (size_t i = 0; i < kKeyIdBytes; ++i) {
    int hi = hexValue(id[2 * i]);
    int lo = hexValue(id[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return AwsError::validation("Invalid PKCS#11 key id '" + std::string(id) +
                                  "': expected hexadecimal characters.");
    }
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

/// A blank-padded fixed-size PKCS#11 text field without its padding.
std::string paddedField(const unsigned char* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

CK_BYTE_PTR bytePtr(std::string_view s) {
  // PKCS#11 takes non-const pointers for input buffers it never writes.
  static unsigned char empty = 0;
  return s.empty() ? &empty : reinterpret_cast<CK_BYTE_PTR>(const_cast<char*>(s.data()));
}

// ---- module registry --------------------------------------------------------------------------

/// One Pkcs11Module per resolved path. An entry whose module is being finalised stays until its
/// C_Finalize is done, so that a new load of the same path waits instead of racing it.
struct Registry {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::weak_ptr<Pkcs11Module>> modules;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: modules may outlive static teardown
  return *r;
}

}  // namespace

// ---- Pkcs11Module -----------------------------------------------------------------------------

struct Pkcs11Module::Impl {
  std::string path;
  void* dl = nullptr;
  CK_FUNCTION_LIST_PTR fn = nullptr;
  bool owns_init = false;  // false when someone else in the process had initialised it
  std::string description;

  /// PKCS#11 login state is per application and token: the process logs in once per slot, and
  /// later connections must present the same PIN (checked against a keyed MAC, never stored).
  struct SlotLogin {
    int connections = 0;
    std::string pin_mac;
  };
  std::mutex login_mu;
  std::map<CK_SLOT_ID, SlotLogin> logins;
  std::string mac_key = randomBytes(32);
};

Pkcs11Module::Pkcs11Module(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Pkcs11Module::~Pkcs11Module() {
  if (impl_->fn != nullptr && impl_->owns_init) impl_->fn->C_Finalize(nullptr);
  if (impl_->dl != nullptr) dlclose(impl_->dl);
}

const std::string& Pkcs11Module::path() const { return impl_->path; }
std::string Pkcs11Module::description() const { return impl_->description; }

Result<std::shared_ptr<Pkcs11Module>> Pkcs11Module::load(const std::string& path) {
  if (path.empty()) {
    return makeError("CloudHsmClusterNotFoundException", "No PKCS#11 module path is configured.",
                     400, true, "CLUSTER_NOT_FOUND");
  }
  char resolved_buf[PATH_MAX];
  if (::realpath(path.c_str(), resolved_buf) == nullptr) {
    int err = errno;
    return makeError("CloudHsmClusterNotFoundException",
                     "PKCS#11 module '" + path + "' not found: " + std::strerror(err), 400, true,
                     "CLUSTER_NOT_FOUND");
  }
  std::string resolved = resolved_buf;

  Registry& reg = registry();
  std::unique_lock lock(reg.mu);
  for (;;) {
    auto it = reg.modules.find(resolved);
    if (it == reg.modules.end()) break;
    if (auto existing = it->second.lock()) return existing;
    reg.cv.wait(lock);  // the previous instance is finalising
  }

  auto impl = std::make_unique<Impl>();
  impl->path = resolved;
  impl->dl = ::dlopen(resolved.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (impl->dl == nullptr) {
    const char* why = ::dlerror();
    return makeError("CloudHsmClusterNotFoundException",
                     "PKCS#11 module '" + path + "' cannot be loaded: " + (why ? why : "dlopen"),
                     400, true, "CLUSTER_NOT_FOUND");
  }
  auto close_dl = [&impl] {
    ::dlclose(impl->dl);
    impl->dl = nullptr;
  };
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(impl->dl, "C_GetFunctionList"));
  if (get_list == nullptr) {
    close_dl();
    return makeError("CloudHsmClusterNotFoundException",
                     "'" + path + "' is not a PKCS#11 module (no C_GetFunctionList).", 400, true,
                     "CLUSTER_NOT_FOUND");
  }
  CK_RV rv = get_list(&impl->fn);
  if (rv != CKR_OK || impl->fn == nullptr) {
    close_dl();
    return internalError("PKCS#11 C_GetFunctionList of '" + path + "' failed: " + ckrText(rv));
  }
  CK_C_INITIALIZE_ARGS args;
  std::memset(&args, 0, sizeof args);
  args.flags = CKF_OS_LOCKING_OK;
  rv = impl->fn->C_Initialize(&args);
  if (rv == CKR_OK) {
    impl->owns_init = true;
  } else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    close_dl();
    return internalError("PKCS#11 C_Initialize of '" + path + "' failed: " + ckrText(rv));
  }
  CK_INFO info;
  if (impl->fn->C_GetInfo(&info) == CKR_OK) {
    impl->description = paddedField(info.manufacturerID, sizeof info.manufacturerID) + " " +
                        paddedField(info.libraryDescription, sizeof info.libraryDescription) + " " +
                        std::to_string(info.libraryVersion.major) + "." +
                        std::to_string(info.libraryVersion.minor);
  }

  auto* module = new Pkcs11Module(std::move(impl));
  std::shared_ptr<Pkcs11Module> shared(module, [](Pkcs11Module* m) {
    Registry& r = registry();
    std::lock_guard guard(r.mu);
    std::string key = m->path();
    delete m;  // C_Finalize + dlclose while the entry still blocks new loads
    r.modules.erase(key);
    r.cv.notify_all();
  });
  reg.modules[resolved] = shared;
  return shared;
}

// ---- Pkcs11Token ------------------------------------------------------------------------------

struct Pkcs11Token::Impl {
  std::shared_ptr<Pkcs11Module> module;
  CK_FUNCTION_LIST_PTR fn = nullptr;
  CK_SLOT_ID slot = 0;
  std::string label;
  size_t max_sessions = 4;

  std::mutex mu;
  std::condition_variable cv;
  bool connected = false;
  CK_SESSION_HANDLE anchor = CK_INVALID_HANDLE;  // holds the login for the pool's lifetime
  std::vector<CK_SESSION_HANDLE> idle;
  size_t open = 0;    // pool sessions open or being opened (idle + leased)
  size_t leased = 0;  // pool sessions in use

  std::mutex handles_mu;
  std::unordered_map<std::string, CK_OBJECT_HANDLE> handles;  // CKA_ID bytes -> object handle

  Result<CK_SESSION_HANDLE> acquire();
  void release(CK_SESSION_HANDLE session, bool discard);

  Result<CK_OBJECT_HANDLE> findHandle(CK_SESSION_HANDLE session, const std::string& id_bytes);
  Result<CK_OBJECT_HANDLE> keyHandle(CK_SESSION_HANDLE session, const std::string& id_bytes,
                                     bool refresh);
  void forgetHandle(const std::string& id_bytes);
  Result<std::string> random(CK_SESSION_HANDLE session, size_t n);
  AwsError keyNotFound(const std::string& id_bytes) const {
    return makeError("NotFoundException",
                     "No key with id '" + toHex(id_bytes) + "' in PKCS#11 token '" + label + "'.",
                     400, true);
  }
};

namespace {

/// A session leased from the pool for one operation. A session whose operation failed is closed
/// rather than reused: it may hold an unfinished cryptographic operation.
class Lease {
 public:
  Lease(Pkcs11Token::Impl& token, CK_SESSION_HANDLE session) : token_(token), session_(session) {}
  ~Lease() { token_.release(session_, !ok_); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  CK_SESSION_HANDLE get() const { return session_; }
  /// Marks the operation as finished cleanly: the session goes back to the pool.
  void done() { ok_ = true; }

 private:
  Pkcs11Token::Impl& token_;
  CK_SESSION_HANDLE session_;
  bool ok_ = false;
};

bool isHandleGone(CK_RV rv) {
  return rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID;
}

}  // namespace

Result<CK_SESSION_HANDLE> Pkcs11Token::Impl::acquire() {
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return !connected || !idle.empty() || open < max_sessions; });
  if (!connected) return notConnected(label);
  ++leased;
  if (!idle.empty()) {
    CK_SESSION_HANDLE s = idle.back();
    idle.pop_back();
    return s;
  }
  ++open;
  lock.unlock();
  CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
  CK_RV rv = fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s);
  if (rv != CKR_OK) {
    lock.lock();
    --open;
    --leased;
    cv.notify_all();
    return callError("C_OpenSession", rv);
  }
  return s;
}

void Pkcs11Token::Impl::release(CK_SESSION_HANDLE session, bool discard) {
  bool close = false;
  {
    std::lock_guard lock(mu);
    --leased;
    if (discard || !connected) {
      --open;
      close = true;
    } else {
      idle.push_back(session);
    }
  }
  cv.notify_all();
  if (close) fn->C_CloseSession(session);
}

Result<std::string> Pkcs11Token::Impl::random(CK_SESSION_HANDLE session, size_t n) {
  std::string out(n, '\0');
  if (n == 0) return out;
  CK_RV rv = fn->C_GenerateRandom(session, reinterpret_cast<CK_BYTE_PTR>(out.data()), n);
  if (rv != CKR_OK) return callError("C_GenerateRandom", rv);
  return out;
}

Result<CK_OBJECT_HANDLE> Pkcs11Token::Impl::findHandle(CK_SESSION_HANDLE session,
                                                       const std::string& id_bytes) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &cls, sizeof cls},
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_ID, bytePtr(id_bytes), id_bytes.size()},
  };
  CK_RV rv = fn->C_FindObjectsInit(session, tmpl, sizeof tmpl / sizeof tmpl[0]);
  if (rv != CKR_OK) return callError("C_FindObjectsInit", rv);
  CK_OBJECT_HANDLE found[2];
  CK_ULONG count = 0;
  rv = fn->C_FindObjects(session, found, 2, &count);
  CK_RV final_rv = fn->C_FindObjectsFinal(session);
  if (rv != CKR_OK) return callError("C_FindObjects", rv);
  if (final_rv != CKR_OK) return callError("C_FindObjectsFinal", final_rv);
  if (count == 0) return keyNotFound(id_bytes);
  if (count > 1) {
    return internalError("Several keys have id '" + toHex(id_bytes) + "' in PKCS#11 token '" +
                         label + "'.");
  }
  return found[0];
}

Result<CK_OBJECT_HANDLE> Pkcs11Token::Impl::keyHandle(CK_SESSION_HANDLE session,
                                                      const std::string& id_bytes, bool refresh) {
  if (!refresh) {
    std::lock_guard lock(handles_mu);
    auto it = handles.find(id_bytes);
    if (it != handles.end()) return it->second;
  }
  TRY_ASSIGN(CK_OBJECT_HANDLE h, findHandle(session, id_bytes));
  std::lock_guard lock(handles_mu);
  handles[id_bytes] = h;
  return h;
}

void Pkcs11Token::Impl::forgetHandle(const std::string& id_bytes) {
  std::lock_guard lock(handles_mu);
  handles.erase(id_bytes);
}

Pkcs11Token::Pkcs11Token(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Pkcs11Token::~Pkcs11Token() { disconnect(); }

const std::string& Pkcs11Token::label() const { return impl_->label; }

bool Pkcs11Token::connected() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connected;
}

Result<std::unique_ptr<Pkcs11Token>> Pkcs11Token::connect(std::shared_ptr<Pkcs11Module> module,
                                                          std::string_view token_label,
                                                          std::string_view pin,
                                                          size_t max_sessions) {
  if (!module) return internalError("Pkcs11Token::connect: no PKCS#11 module.");
  if (max_sessions == 0) return AwsError::validation("A PKCS#11 session pool needs a session.");
  std::string label(token_label);
  if (label.empty()) {
    return makeError("CloudHsmClusterNotFoundException", "No PKCS#11 token label is configured.",
                     400, true, "CLUSTER_NOT_FOUND");
  }
  auto not_found = [&] {
    return makeError(
        "CloudHsmClusterNotFoundException",
        "No PKCS#11 token labelled '" + label + "' in module '" + module->path() + "'.", 400, true,
        "CLUSTER_NOT_FOUND");
  };
  CK_FUNCTION_LIST_PTR fn = module->impl().fn;

  // Find the slot whose token carries the label.
  std::vector<CK_SLOT_ID> slots;
  for (;;) {
    CK_ULONG n = 0;
    CK_RV rv = fn->C_GetSlotList(CK_TRUE, nullptr, &n);
    if (rv != CKR_OK) return callError("C_GetSlotList", rv);
    slots.resize(n);
    rv = fn->C_GetSlotList(CK_TRUE, slots.data(), &n);
    if (rv == CKR_BUFFER_TOO_SMALL) continue;
    if (rv != CKR_OK) return callError("C_GetSlotList", rv);
    slots.resize(n);
    break;
  }
  std::vector<std::pair<CK_SLOT_ID, CK_TOKEN_INFO>> matches;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info;
    if (fn->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if (paddedField(info.label, sizeof info.label) == label) matches.emplace_back(slot, info);
  }
  if (matches.empty()) return not_found();
  if (matches.size() > 1) {
    return makeError(
        "CloudHsmClusterInvalidConfigurationException",
        "Several PKCS#11 tokens are labelled '" + label + "' in module '" + module->path() + "'.",
        400, true, "INTERNAL_ERROR");
  }
  auto [slot, info] = matches.front();
  if (!(info.flags & CKF_TOKEN_INITIALIZED)) {
    return makeError("CustomKeyStoreInvalidStateException",
                     "PKCS#11 token '" + label + "' is not initialised.", 400, true,
                     "INTERNAL_ERROR");
  }
  if (!(info.flags & CKF_USER_PIN_INITIALIZED)) {
    return makeError("CustomKeyStoreInvalidStateException",
                     "PKCS#11 token '" + label + "' has no user PIN.", 400, true, "USER_NOT_FOUND");
  }
  if (info.flags & CKF_USER_PIN_LOCKED) {
    return makeError("CustomKeyStoreInvalidStateException",
                     "The user PIN of PKCS#11 token '" + label + "' is locked.", 400, true,
                     "USER_LOCKED_OUT");
  }

  auto impl = std::make_unique<Impl>();
  impl->module = module;
  impl->fn = fn;
  impl->slot = slot;
  impl->label = label;
  impl->max_sessions = max_sessions;
  CK_RV rv =
      fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &impl->anchor);
  if (rv != CKR_OK) return callError("C_OpenSession", rv);

  // Log in (or, when this process is already logged in to the token, check the PIN matches).
  Pkcs11Module::Impl& m = module->impl();
  std::string pin_mac = hmacSha256(m.mac_key, pin);
  {
    std::lock_guard lock(m.login_mu);
    Pkcs11Module::Impl::SlotLogin& state = m.logins[slot];
    CK_RV login_rv = CKR_OK;
    if (state.connections > 0) {
      if (!constantTimeEqual(pin_mac, state.pin_mac)) login_rv = CKR_PIN_INCORRECT;
    } else {
      std::string pin_copy(pin);
      auto login = [&] {
        return fn->C_Login(impl->anchor, CKU_USER, bytePtr(pin_copy), pin_copy.size());
      };
      login_rv = login();
      if (login_rv == CKR_USER_ALREADY_LOGGED_IN) {
        // Logged in outside this class: log in again so that this PIN is really checked.
        fn->C_Logout(impl->anchor);
        login_rv = login();
      }
      wipe(pin_copy);
    }
    if (login_rv != CKR_OK) {
      if (state.connections == 0) m.logins.erase(slot);
      fn->C_CloseSession(impl->anchor);
      std::string prefix = "PKCS#11 login to token '" + label + "' failed: ";
      switch (login_rv) {
        case CKR_PIN_INCORRECT:
        case CKR_PIN_INVALID:
        case CKR_PIN_LEN_RANGE:
        case CKR_PIN_EXPIRED:
          return makeError("CustomKeyStoreInvalidStateException",
                           prefix + "the user PIN is incorrect (" + ckrText(login_rv) + ").", 400,
                           true, "INVALID_CREDENTIALS");
        case CKR_PIN_LOCKED:
          return makeError("CustomKeyStoreInvalidStateException",
                           prefix + "the user PIN is locked (CKR_PIN_LOCKED).", 400, true,
                           "USER_LOCKED_OUT");
        case CKR_USER_PIN_NOT_INITIALIZED:
          return makeError("CustomKeyStoreInvalidStateException",
                           prefix + "the token has no user PIN (CKR_USER_PIN_NOT_INITIALIZED).",
                           400, true, "USER_NOT_FOUND");
        case CKR_USER_ANOTHER_ALREADY_LOGGED_IN:
        case CKR_USER_TOO_MANY_TYPES:
          return makeError("CustomKeyStoreInvalidStateException",
                           prefix + "another user is logged in (" + ckrText(login_rv) + ").", 400,
                           true, "USER_LOGGED_IN");
        default: {
          AwsError e = callError("C_Login", login_rv);
          e.message = prefix + e.message;
          return e;
        }
      }
    }
    if (state.connections == 0) state.pin_mac = pin_mac;
    ++state.connections;
  }
  impl->connected = true;
  return std::unique_ptr<Pkcs11Token>(new Pkcs11Token(std::move(impl)));
}

void Pkcs11Token::disconnect() {
  Impl& t = *impl_;
  std::vector<CK_SESSION_HANDLE> to_close;
  {
    std::unique_lock lock(t.mu);
    if (!t.connected) return;
    t.connected = false;
    t.cv.notify_all();
    t.cv.wait(lock, [&] { return t.leased == 0; });
    to_close.swap(t.idle);
    t.open = 0;
  }
  for (CK_SESSION_HANDLE s : to_close) t.fn->C_CloseSession(s);
  {
    Pkcs11Module::Impl& m = t.module->impl();
    std::lock_guard lock(m.login_mu);
    auto it = m.logins.find(t.slot);
    if (it != m.logins.end() && --it->second.connections <= 0) {
      t.fn->C_Logout(t.anchor);
      m.logins.erase(it);
    }
    t.fn->C_CloseSession(t.anchor);
    t.anchor = CK_INVALID_HANDLE;
  }
  std::lock_guard lock(t.handles_mu);
  t.handles.clear();
}

Result<std::string> Pkcs11Token::generateAesKey(std::string_view label) {
  Impl& t = *impl_;
  TRY_ASSIGN(CK_SESSION_HANDLE session, t.acquire());
  Lease lease(t, session);
  TRY_ASSIGN(std::string id_bytes, t.random(session, kKeyIdBytes));

  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  CK_ULONG value_len = 32;
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &cls, sizeof cls},
      {CKA_KEY_TYPE, &type, sizeof type},
      {CKA_VALUE_LEN, &value_len, sizeof value_len},
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &yes, sizeof yes},
      {CKA_SENSITIVE, &yes, sizeof yes},
      {CKA_EXTRACTABLE, &no, sizeof no},
      {CKA_ENCRYPT, &yes, sizeof yes},
      {CKA_DECRYPT, &yes, sizeof yes},
      {CKA_WRAP, &no, sizeof no},
      {CKA_UNWRAP, &no, sizeof no},
      {CKA_SIGN, &no, sizeof no},
      {CKA_VERIFY, &no, sizeof no},
      {CKA_DERIVE, &no, sizeof no},
      {CKA_LABEL, bytePtr(label), label.size()},
      {CKA_ID, bytePtr(id_bytes), id_bytes.size()},
  };
  CK_MECHANISM mech = {CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  CK_RV rv = t.fn->C_GenerateKey(session, &mech, tmpl, sizeof tmpl / sizeof tmpl[0], &handle);
  if (rv != CKR_OK) return callError("C_GenerateKey", rv);
  lease.done();
  {
    std::lock_guard lock(t.handles_mu);
    t.handles[id_bytes] = handle;
  }
  return toHex(id_bytes);
}

Result<Pkcs11KeyInfo> Pkcs11Token::findKey(std::string_view id) {
  Impl& t = *impl_;
  TRY_ASSIGN(std::string id_bytes, keyIdBytes(id));
  TRY_ASSIGN(CK_SESSION_HANDLE session, t.acquire());
  Lease lease(t, session);
  // Always ask the token: the key may have been destroyed by another connection.
  TRY_ASSIGN(CK_OBJECT_HANDLE handle, t.keyHandle(session, id_bytes, /*refresh=*/true));

  CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE, always_sensitive = CK_FALSE,
           never_extractable = CK_FALSE;
  CK_ULONG value_len = 0;
  CK_ATTRIBUTE attrs[] = {
      {CKA_LABEL, nullptr, 0},
      {CKA_SENSITIVE, &sensitive, sizeof sensitive},
      {CKA_EXTRACTABLE, &extractable, sizeof extractable},
      {CKA_ALWAYS_SENSITIVE, &always_sensitive, sizeof always_sensitive},
      {CKA_NEVER_EXTRACTABLE, &never_extractable, sizeof never_extractable},
      {CKA_VALUE_LEN, &value_len, sizeof value_len},
  };
  constexpr CK_ULONG kCount = sizeof attrs / sizeof attrs[0];
  CK_RV rv = t.fn->C_GetAttributeValue(session, handle, attrs, 1);  // the label's length
  if (rv != CKR_OK) return callError("C_GetAttributeValue", rv);
  std::string label(attrs[0].ulValueLen, '\0');
  attrs[0].pValue = label.empty() ? nullptr : label.data();
  rv = t.fn->C_GetAttributeValue(session, handle, attrs, kCount);
  if (rv != CKR_OK) return callError("C_GetAttributeValue", rv);
  lease.done();

  Pkcs11KeyInfo info;
  info.id = toHex(id_bytes);
  info.label = std::move(label);
  info.sensitive = sensitive == CK_TRUE;
  info.extractable = extractable == CK_TRUE;
  info.always_sensitive = always_sensitive == CK_TRUE;
  info.never_extractable = never_extractable == CK_TRUE;
  info.value_len = value_len;
  return info;
}

Result<void> Pkcs11Token::destroyKey(std::string_view id) {
  Impl& t = *impl_;
  TRY_ASSIGN(std::string id_bytes, keyIdBytes(id));
  TRY_ASSIGN(CK_SESSION_HANDLE session, t.acquire());
  Lease lease(t, session);
  t.forgetHandle(id_bytes);
  TRY_ASSIGN(CK_OBJECT_HANDLE handle, t.findHandle(session, id_bytes));
  CK_RV rv = t.fn->C_DestroyObject(session, handle);
  if (isHandleGone(rv)) return t.keyNotFound(id_bytes);
  if (rv != CKR_OK) return callError("C_DestroyObject", rv);
  lease.done();
  return okResult();
}

Result<Pkcs11Ciphertext> Pkcs11Token::encrypt(std::string_view id, std::string_view plaintext,
                                              std::string_view aad) {
  Impl& t = *impl_;
  TRY_ASSIGN(std::string id_bytes, keyIdBytes(id));
  TRY_ASSIGN(CK_SESSION_HANDLE session, t.acquire());
  Lease lease(t, session);
  Pkcs11Ciphertext out;
  TRY_ASSIGN(out.iv, t.random(session, kIvSize));

  // PKCS#11 2.40 layout (SoftHSM2 checks ulParameterLen == sizeof(CK_GCM_PARAMS)). SoftHSM2
  // takes the IV length from ulIvLen and never reads ulIvBits; other modules read ulIvBits, so
  // both carry the same length. ulTagBits must be a multiple of 8 up to 128.
  CK_GCM_PARAMS params;
  params.pIv = bytePtr(out.iv);
  params.ulIvLen = out.iv.size();
  params.ulIvBits = out.iv.size() * 8;
  params.pAAD = bytePtr(aad);
  params.ulAADLen = aad.size();
  params.ulTagBits = kTagSize * 8;
  CK_MECHANISM mech = {CKM_AES_GCM, &params, sizeof params};

  CK_RV rv = CKR_OK;
  for (bool refresh : {false, true}) {
    TRY_ASSIGN(CK_OBJECT_HANDLE key, t.keyHandle(session, id_bytes, refresh));
    rv = t.fn->C_EncryptInit(session, &mech, key);
    if (!isHandleGone(rv)) break;
    t.forgetHandle(id_bytes);
  }
  if (isHandleGone(rv)) return t.keyNotFound(id_bytes);
  if (rv != CKR_OK) return callError("C_EncryptInit", rv);

  out.ciphertext.resize(plaintext.size() + kTagSize);
  CK_ULONG out_len = out.ciphertext.size();
  rv = t.fn->C_Encrypt(session, bytePtr(plaintext), plaintext.size(),
                       reinterpret_cast<CK_BYTE_PTR>(out.ciphertext.data()), &out_len);
  if (rv != CKR_OK) return callError("C_Encrypt", rv);
  if (out_len != plaintext.size() + kTagSize) {
    return internalError("PKCS#11 C_Encrypt returned " + std::to_string(out_len) +
                         " bytes for AES-GCM, expected " +
                         std::to_string(plaintext.size() + kTagSize) + ".");
  }
  lease.done();
  return out;
}

Result<std::string> Pkcs11Token::decrypt(std::string_view id, std::string_view iv,
                                         std::string_view ciphertext, std::string_view aad) {
  Impl& t = *impl_;
  TRY_ASSIGN(std::string id_bytes, keyIdBytes(id));
  auto invalid = [](std::string why) {
    return makeError("InvalidCiphertextException", std::move(why), 400, true);
  };
  if (iv.size() != kIvSize) {
    return invalid("The AES-GCM IV must be " + std::to_string(kIvSize) + " bytes.");
  }
  if (ciphertext.size() < kTagSize) {
    return invalid("The ciphertext is shorter than the AES-GCM tag.");
  }
  TRY_ASSIGN(CK_SESSION_HANDLE session, t.acquire());
  Lease lease(t, session);

  CK_GCM_PARAMS params;
  params.pIv = bytePtr(iv);
  params.ulIvLen = iv.size();
  params.ulIvBits = iv.size() * 8;
  params.pAAD = bytePtr(aad);
  params.ulAADLen = aad.size();
  params.ulTagBits = kTagSize * 8;
  CK_MECHANISM mech = {CKM_AES_GCM, &params, sizeof params};

  CK_RV rv = CKR_OK;
  for (bool refresh : {false, true}) {
    TRY_ASSIGN(CK_OBJECT_HANDLE key, t.keyHandle(session, id_bytes, refresh));
    rv = t.fn->C_DecryptInit(session, &mech, key);
    if (!isHandleGone(rv)) break;
    t.forgetHandle(id_bytes);
  }
  if (isHandleGone(rv)) return t.keyNotFound(id_bytes);
  if (rv != CKR_OK) return callError("C_DecryptInit", rv);

  // The token may ask for room for the whole input before it strips the tag.
  std::string plaintext(ciphertext.size(), '\0');
  CK_ULONG out_len = plaintext.size();
  rv = t.fn->C_Decrypt(session, bytePtr(ciphertext), ciphertext.size(),
                       reinterpret_cast<CK_BYTE_PTR>(plaintext.data()), &out_len);
  if (rv != CKR_OK) {
    wipe(plaintext);
    switch (rv) {
      case CKR_ENCRYPTED_DATA_INVALID:
      case CKR_ENCRYPTED_DATA_LEN_RANGE:
      case kCkrAeadDecryptFailed:
      // SoftHSM2 2.6 answers a failed tag check with CKR_GENERAL_ERROR; the key, IV and length
      // were accepted by C_DecryptInit and checked above, so this is the authentication failure.
      case CKR_GENERAL_ERROR:
      case CKR_FUNCTION_FAILED:
        return invalid("The ciphertext failed authentication (PKCS#11 C_Decrypt: " + ckrText(rv) +
                       ").");
      default:
        return callError("C_Decrypt", rv);
    }
  }
  if (out_len != ciphertext.size() - kTagSize) {
    wipe(plaintext);
    return internalError("PKCS#11 C_Decrypt returned " + std::to_string(out_len) +
                         " bytes for AES-GCM, expected " +
                         std::to_string(ciphertext.size() - kTagSize) + ".");
  }
  plaintext.resize(out_len);
  lease.done();
  return plaintext;
}

Result<std::string> Pkcs11Token::generateRandom(size_t n) {
  Impl& t = *impl_;
  TRY_ASSIGN(CK_SESSION_HANDLE session, t.acquire());
  Lease lease(t, session);
  TRY_ASSIGN(std::string out, t.random(session, n));
  lease.done();
  return out;
}

}  // namespace citadel::crypto
