// The root-key barrier: AES-256-GCM with a random 96-bit nonce per seal. The header (version
// byte and key term) is authenticated too: it prefixes the caller's AAD.

#include "crypto/barrier.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "core/encoding.h"

namespace citadel::crypto {

namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kKeySize = 32;
constexpr size_t kHeaderSize = 1 + 4;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

const unsigned char* u8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* u8(std::string& s, size_t off = 0) {
  return reinterpret_cast<unsigned char*>(s.data()) + off;
}

std::string header(uint32_t term) {
  std::string h(kHeaderSize, '\0');
  h[0] = static_cast<char>(kVersion);
  h[1] = static_cast<char>((term >> 24) & 0xff);
  h[2] = static_cast<char>((term >> 16) & 0xff);
  h[3] = static_cast<char>((term >> 8) & 0xff);
  h[4] = static_cast<char>(term & 0xff);
  return h;
}

bool feedAad(EVP_CIPHER_CTX* ctx, bool encrypt, std::string_view hdr, std::string_view aad) {
  int len = 0;
  auto update = encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate;
  if (update(ctx, nullptr, &len, u8(hdr), static_cast<int>(hdr.size())) != 1) return false;
  if (!aad.empty() && update(ctx, nullptr, &len, u8(aad), static_cast<int>(aad.size())) != 1) {
    return false;
  }
  return true;
}

[[noreturn]] void sysFail(const std::string& what, const std::string& path) {
  throw std::runtime_error("root key: " + what + " '" + path + "': " + std::strerror(errno));
}

/// mkdir -p with mode 0700 for every component that does not exist yet.
void makeParentDirs(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return;
  std::string dir = path.substr(0, slash);
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), S_IRWXU) != 0 && errno != EEXIST) {
      sysFail("cannot create directory", part);
    }
  }
}

std::string readKeyFile(const std::string& path, int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) sysFail("cannot stat", path);
  if (!S_ISREG(st.st_mode)) {
    throw std::runtime_error("root key: '" + path + "' is not a regular file");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw std::runtime_error("root key: refusing '" + path + "': mode " + mode +
                             " lets group/other access it; chmod 600 it");
  }
  if (st.st_size != static_cast<off_t>(kKeySize)) {
    throw std::runtime_error("root key: '" + path + "' must hold exactly 32 bytes, it holds " +
                             std::to_string(st.st_size));
  }
  std::string key(kKeySize, '\0');
  size_t got = 0;
  while (got < kKeySize) {
    ssize_t n = ::read(fd, key.data() + got, kKeySize - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      OPENSSL_cleanse(key.data(), key.size());
      sysFail("cannot read", path);
    }
    got += static_cast<size_t>(n);
  }
  return key;
}

/// Creates the key file exclusively; returns nullopt when another process created it first.
std::optional<std::string> createKeyFile(const std::string& path) {
  makeParentDirs(path);
  int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, S_IRUSR | S_IWUSR);
  if (fd < 0) {
    if (errno == EEXIST) return std::nullopt;
    sysFail("cannot create", path);
  }
  std::string key(kKeySize, '\0');
  if (RAND_bytes(u8(key), static_cast<int>(kKeySize)) != 1) {
    ::close(fd);
    ::unlink(path.c_str());
    throw std::runtime_error("root key: random generator failed");
  }
  size_t put = 0;
  while (put < kKeySize) {
    ssize_t n = ::write(fd, key.data() + put, kKeySize - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int saved = errno;
      ::close(fd);
      ::unlink(path.c_str());
      OPENSSL_cleanse(key.data(), key.size());
      errno = saved;
      sysFail("cannot write", path);
    }
    put += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int saved = errno;
    ::unlink(path.c_str());
    OPENSSL_cleanse(key.data(), key.size());
    errno = saved;
    sysFail("cannot sync", path);
  }
  return key;
}

}  // namespace

Barrier::Barrier(std::string root_key, uint32_t key_term)
    : key_(std::move(root_key)), term_(key_term) {
  if (key_.size() != kKeySize) {
    OPENSSL_cleanse(key_.data(), key_.size());
    throw std::invalid_argument("barrier root key must be 32 bytes");
  }
}

Barrier::~Barrier() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::string Barrier::seal(std::string_view plaintext, std::string_view aad) const {
  const std::string hdr = header(term_);
  std::string out(kHeaderSize + kNonceSize + plaintext.size() + kTagSize, '\0');
  std::memcpy(out.data(), hdr.data(), kHeaderSize);
  if (RAND_bytes(u8(out, kHeaderSize), static_cast<int>(kNonceSize)) != 1) {
    throw std::runtime_error("barrier: random generator failed");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx &&
            EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, u8(key_), u8(out, kHeaderSize)) == 1 &&
            feedAad(ctx.get(), true, hdr, aad);
  const size_t ct_off = kHeaderSize + kNonceSize;
  if (ok && !plaintext.empty()) {
    ok = EVP_EncryptUpdate(ctx.get(), u8(out, ct_off), &len, u8(plaintext),
                           static_cast<int>(plaintext.size())) == 1;
  }
  int fin = 0;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), u8(out, ct_off + plaintext.size()), &fin) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                           u8(out, ct_off + plaintext.size())) == 1;
  if (!ok) throw std::runtime_error("barrier: AES-GCM seal failed");
  return out;
}

std::optional<std::string> Barrier::open(std::string_view sealed, std::string_view aad) const {
  if (sealed.size() < kHeaderSize + kNonceSize + kTagSize) return std::nullopt;
  const std::string hdr = header(term_);
  // Another version or key term is not ours to open (the header is authenticated anyway).
  if (sealed.substr(0, kHeaderSize) != hdr) return std::nullopt;
  const std::string_view nonce = sealed.substr(kHeaderSize, kNonceSize);
  const size_t ct_len = sealed.size() - kHeaderSize - kNonceSize - kTagSize;
  const std::string_view ct = sealed.substr(kHeaderSize + kNonceSize, ct_len);
  std::string tag(sealed.substr(kHeaderSize + kNonceSize + ct_len));

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  std::string out(ct_len, '\0');
  int len = 0;
  bool ok = ctx &&
            EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, u8(key_), u8(nonce)) == 1 &&
            feedAad(ctx.get(), false, hdr, aad);
  if (ok && ct_len > 0) {
    ok = EVP_DecryptUpdate(ctx.get(), u8(out), &len, u8(ct), static_cast<int>(ct_len)) == 1;
  }
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, u8(tag)) == 1;
  int fin = 0;
  // INVARIANT: plaintext is released only after the tag verified (EVP_DecryptFinal_ex).
  if (!ok || EVP_DecryptFinal_ex(ctx.get(), u8(out, ct_len), &fin) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  return out;
}

std::unique_ptr<Barrier> Barrier::loadOrCreate(const std::string& path) {
  if (const char* env = std::getenv("CITADEL_ROOT_KEY"); env != nullptr && *env != '\0') {
    auto key = base64Decode(trim(env));
    if (!key || key->size() != kKeySize) {
      if (key) OPENSSL_cleanse(key->data(), key->size());
      throw std::runtime_error("root key: CITADEL_ROOT_KEY must be the base64 of exactly 32 bytes");
    }
    return std::make_unique<Barrier>(std::move(*key));
  }
  if (path.empty()) {
    throw std::runtime_error("root key: no CITADEL_ROOT_KEY and no key file path");
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
      std::string key;
      try {
        key = readKeyFile(path, fd);
      } catch (...) {
        ::close(fd);
        throw;
      }
      ::close(fd);
      return std::make_unique<Barrier>(std::move(key));
    }
    if (errno != ENOENT) sysFail("cannot open", path);
    if (auto created = createKeyFile(path)) return std::make_unique<Barrier>(std::move(*created));
    // Lost a creation race: read what the other process wrote.
  }
  throw std::runtime_error("root key: cannot load or create '" + path + "'");
}

}  // namespace citadel::crypto
