// Pkcs11Module / Pkcs11Token against a throwaway SoftHSM2 token created by the test.
#include "crypto/pkcs11.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <p11-kit/pkcs11.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace citadel::crypto {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLabel = "citadel-test";
constexpr const char* kPin = "1234";
constexpr const char* kSoPin = "5678";

/// Runs a shell command; returns its exit status and fills `output` with its stdout (and its
/// stderr when `with_stderr`).
int run(const std::string& command, std::string* output, bool with_stderr = true) {
  FILE* p = ::popen((command + (with_stderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  std::string out;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string findSoftHsmModule() {
  if (const char* env = std::getenv("CITADEL_SOFTHSM2_MODULE")) return env;
  for (const char* p :
       {"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so"}) {
    if (fs::exists(p)) return p;
  }
  return "";
}

std::string extraField(const AwsError& e, std::string_view key) {
  for (const auto& [k, v] : e.extra) {
    if (k == key) return v;
  }
  return "";
}

/// One SoftHSM2 token directory for the whole suite; every test loads the module afresh.
class Pkcs11Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_error_ = new std::string();
    module_path_ = new std::string(findSoftHsmModule());
    std::string out;
    if (module_path_->empty() || !fs::exists(*module_path_) ||
        run("command -v softhsm2-util", &out) != 0) {
      *setup_error_ = "SoftHSM2 is not installed (libsofthsm2.so '" + *module_path_ +
                      "' or softhsm2-util not found): run scripts/install-deps.sh";
      return;
    }
    char tmpl[] = "/tmp/citadel-p11-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      *setup_error_ = "mkdtemp failed";
      return;
    }
    dir_ = new std::string(tmpl);
    fs::create_directories(*dir_ + "/tokens");
    conf_ = new std::string(*dir_ + "/softhsm2.conf");
    {
      std::ofstream conf(*conf_);
      conf << "directories.tokendir = " << *dir_ << "/tokens\n"
           << "objectstore.backend = file\n"
           << "log.level = ERROR\n";
    }
    ::setenv("SOFTHSM2_CONF", conf_->c_str(), 1);
    std::string cmd = std::string("softhsm2-util --init-token --free --label ") + kLabel +
                      " --pin " + kPin + " --so-pin " + kSoPin;
    if (run(cmd, &out) != 0) *setup_error_ = "softhsm2-util --init-token failed: " + out;
  }

  static void TearDownTestSuite() {
    if (dir_) fs::remove_all(*dir_);
    delete dir_;
    delete conf_;
    delete module_path_;
    delete setup_error_;
    dir_ = conf_ = module_path_ = setup_error_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_->empty()) << *setup_error_;
    auto module = Pkcs11Module::load(*module_path_);
    ASSERT_TRUE(module.ok()) << module.error().message;
    module_ = *module;
    auto token = Pkcs11Token::connect(module_, kLabel, kPin);
    ASSERT_TRUE(token.ok()) << token.error().message;
    token_ = std::move(*token);
  }

  void TearDown() override {
    token_.reset();
    module_.reset();
  }

  std::string newKey(const std::string& label = "test-key") {
    auto id = token_->generateAesKey(label);
    EXPECT_TRUE(id.ok()) << (id.ok() ? "" : id.error().message);
    return id.ok() ? *id : std::string();
  }

  static std::string* setup_error_;
  static std::string* module_path_;
  static std::string* dir_;
  static std::string* conf_;
  std::shared_ptr<Pkcs11Module> module_;
  std::unique_ptr<Pkcs11Token> token_;
};

std::string* Pkcs11Test::setup_error_ = nullptr;
std::string* Pkcs11Test::module_path_ = nullptr;
std::string* Pkcs11Test::dir_ = nullptr;
std::string* Pkcs11Test::conf_ = nullptr;

/// Direct PKCS#11 access to the same (already initialised) module, to check from outside the
/// client what the token really holds.
class RawPkcs11 {
 public:
  explicit RawPkcs11(const std::string& module_path) {
    dl_ = ::dlopen(module_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (dl_ == nullptr) return;
    auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(dl_, "C_GetFunctionList"));
    if (get == nullptr || get(&fn_) != CKR_OK) fn_ = nullptr;
  }
  ~RawPkcs11() {
    if (fn_ != nullptr && session_ != CK_INVALID_HANDLE) fn_->C_CloseSession(session_);
    if (dl_ != nullptr) ::dlclose(dl_);
  }
  /// Opens a session on the token labelled `label` (the process is already logged in to it).
  bool open(const std::string& label) {
    if (fn_ == nullptr) return false;
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    if (fn_->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK) return false;
    for (CK_ULONG i = 0; i < n; ++i) {
      CK_TOKEN_INFO info;
      if (fn_->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
      std::string l(reinterpret_cast<const char*>(info.label), sizeof info.label);
      while (!l.empty() && l.back() == ' ') l.pop_back();
      if (l == label) {
        return fn_->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                                  &session_) == CKR_OK;
      }
    }
    return false;
  }
  /// The handle of the secret key whose CKA_ID is the hex `id`.
  CK_OBJECT_HANDLE find(const std::string& id) {
    std::string bytes;
    for (size_t i = 0; i + 1 < id.size(); i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(id.substr(i, 2), nullptr, 16)));
    }
    CK_ATTRIBUTE tmpl[] = {{CKA_ID, bytes.data(), bytes.size()}};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG count = 0;
    if (fn_->C_FindObjectsInit(session_, tmpl, 1) != CKR_OK) return CK_INVALID_HANDLE;
    fn_->C_FindObjects(session_, &h, 1, &count);
    fn_->C_FindObjectsFinal(session_);
    return count == 1 ? h : CK_INVALID_HANDLE;
  }
  /// A session AES-256 key; `wrapping` keys may wrap, others are extractable plain keys.
  CK_OBJECT_HANDLE sessionKey(bool wrapping) {
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_ULONG len = 32;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_VALUE_LEN, &len, sizeof len},    {CKA_TOKEN, &no, sizeof no},
        {CKA_WRAP, wrapping ? &yes : &no, 1}, {CKA_EXTRACTABLE, &yes, sizeof yes},
        {CKA_SENSITIVE, &no, sizeof no},
    };
    CK_MECHANISM mech = {CKM_AES_KEY_GEN, nullptr, 0};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    if (fn_->C_GenerateKey(session_, &mech, tmpl, 7, &h) != CKR_OK) return CK_INVALID_HANDLE;
    return h;
  }
  /// C_WrapKey of `key` under `wrapping` with CKM_AES_KEY_WRAP (RFC 3394).
  CK_RV wrap(CK_OBJECT_HANDLE wrapping, CK_OBJECT_HANDLE key, std::string* out) {
    CK_MECHANISM mech = {CKM_AES_KEY_WRAP, nullptr, 0};
    unsigned char buf[256];
    CK_ULONG len = sizeof buf;
    CK_RV rv = fn_->C_WrapKey(session_, &mech, wrapping, key, buf, &len);
    if (rv == CKR_OK && out) out->assign(reinterpret_cast<char*>(buf), len);
    return rv;
  }
  /// C_GetAttributeValue of CKA_VALUE (length query and read).
  CK_RV readValue(CK_OBJECT_HANDLE key, std::string* out) {
    CK_ATTRIBUTE attr = {CKA_VALUE, nullptr, 0};
    CK_RV rv = fn_->C_GetAttributeValue(session_, key, &attr, 1);
    if (rv != CKR_OK) return rv;
    out->resize(attr.ulValueLen);
    attr.pValue = out->data();
    return fn_->C_GetAttributeValue(session_, key, &attr, 1);
  }

 private:
  void* dl_ = nullptr;
  CK_FUNCTION_LIST_PTR fn_ = nullptr;
  CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
};

TEST_F(Pkcs11Test, GeneratesNonExtractableAes256TokenKey) {
  std::string id = newKey("kms-key-1");
  ASSERT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  auto info = token_->findKey(id);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->id, id);
  EXPECT_EQ(info->label, "kms-key-1");
  EXPECT_EQ(info->value_len, 32u);
  EXPECT_TRUE(info->sensitive);
  EXPECT_FALSE(info->extractable);
  EXPECT_TRUE(info->always_sensitive);
  EXPECT_TRUE(info->never_extractable);
  EXPECT_NE(newKey("kms-key-2"), id);
}

TEST_F(Pkcs11Test, KeyValueCannotBeReadOrWrapped) {
  std::string id = newKey();
  RawPkcs11 raw(*module_path_);
  ASSERT_TRUE(raw.open(kLabel));
  CK_OBJECT_HANDLE key = raw.find(id);
  ASSERT_NE(key, CK_INVALID_HANDLE);

  std::string value;
  EXPECT_EQ(raw.readValue(key, &value), CKR_ATTRIBUTE_SENSITIVE);

  CK_OBJECT_HANDLE wrapping = raw.sessionKey(/*wrapping=*/true);
  ASSERT_NE(wrapping, CK_INVALID_HANDLE);
  std::string wrapped;
  CK_RV rv = raw.wrap(wrapping, key, &wrapped);
  EXPECT_NE(rv, CKR_OK);
  EXPECT_EQ(rv, CKR_KEY_UNEXTRACTABLE);
  EXPECT_TRUE(wrapped.empty());

  // Control: the same wrapping key does wrap an extractable key, and its value is readable.
  CK_OBJECT_HANDLE plain = raw.sessionKey(/*wrapping=*/false);
  ASSERT_NE(plain, CK_INVALID_HANDLE);
  EXPECT_EQ(raw.wrap(wrapping, plain, &wrapped), CKR_OK);
  EXPECT_EQ(wrapped.size(), 40u);
  EXPECT_EQ(raw.readValue(plain, &value), CKR_OK);
  EXPECT_EQ(value.size(), 32u);
}

TEST_F(Pkcs11Test, EncryptDecryptRoundTrip) {
  std::string id = newKey();
  for (size_t size : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{4096}, size_t{70000}}) {
    std::string plaintext(size, '\0');
    for (size_t i = 0; i < size; ++i) plaintext[i] = static_cast<char>(i * 31 + 7);
    for (std::string aad : {std::string(), std::string("arn:aws:kms:us-east-1:1:key/k v1")}) {
      auto ct = token_->encrypt(id, plaintext, aad);
      ASSERT_TRUE(ct.ok()) << ct.error().message;
      EXPECT_EQ(ct->iv.size(), Pkcs11Token::kIvSize);
      ASSERT_EQ(ct->ciphertext.size(), size + Pkcs11Token::kTagSize);
      if (size >= 16) {
        EXPECT_EQ(ct->ciphertext.find(plaintext.substr(0, 16)), std::string::npos);
      }
      auto pt = token_->decrypt(id, ct->iv, ct->ciphertext, aad);
      ASSERT_TRUE(pt.ok()) << pt.error().message;
      EXPECT_EQ(*pt, plaintext);
    }
  }
  // Fresh IV each time: the same plaintext encrypts differently.
  auto a = token_->encrypt(id, "same", "");
  auto b = token_->encrypt(id, "same", "");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->iv, b->iv);
  EXPECT_NE(a->ciphertext, b->ciphertext);
}

TEST_F(Pkcs11Test, TamperedCiphertextIsRejected) {
  std::string id = newKey();
  std::string other = newKey("other");
  const std::string aad = "arn:aws:kms:us-east-1:111122223333:key/abc";
  auto ct = token_->encrypt(id, "the data key material", aad);
  ASSERT_TRUE(ct.ok()) << ct.error().message;

  auto expectInvalid = [&](const std::string& key, const std::string& iv, const std::string& c,
                           const std::string& a, const char* what) {
    auto r = token_->decrypt(key, iv, c, a);
    ASSERT_FALSE(r.ok()) << what << " decrypted to " << *r;
    EXPECT_EQ(r.error().code, "InvalidCiphertextException") << what << ": " << r.error().message;
  };
  std::string flipped_body = ct->ciphertext;
  flipped_body[0] ^= 0x01;
  expectInvalid(id, ct->iv, flipped_body, aad, "flipped ciphertext bit");
  std::string flipped_tag = ct->ciphertext;
  flipped_tag.back() ^= 0x80;
  expectInvalid(id, ct->iv, flipped_tag, aad, "flipped tag bit");
  std::string flipped_iv = ct->iv;
  flipped_iv[5] ^= 0x10;
  expectInvalid(id, flipped_iv, ct->ciphertext, aad, "flipped IV bit");
  expectInvalid(id, ct->iv, ct->ciphertext, aad + "x", "other AAD");
  expectInvalid(id, ct->iv, ct->ciphertext, "", "missing AAD");
  expectInvalid(other, ct->iv, ct->ciphertext, aad, "other key");
  expectInvalid(id, ct->iv, ct->ciphertext.substr(0, ct->ciphertext.size() - 1), aad,
                "truncated tag");
  expectInvalid(id, ct->iv, ct->ciphertext.substr(0, 10), aad, "shorter than a tag");
  expectInvalid(id, ct->iv.substr(0, 8), ct->ciphertext, aad, "short IV");

  // The failures left the pool usable.
  auto pt = token_->decrypt(id, ct->iv, ct->ciphertext, aad);
  ASSERT_TRUE(pt.ok()) << pt.error().message;
  EXPECT_EQ(*pt, "the data key material");
}

TEST_F(Pkcs11Test, GenerateRandom) {
  auto zero = token_->generateRandom(0);
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(zero->empty());
  auto a = token_->generateRandom(32);
  auto b = token_->generateRandom(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
  EXPECT_NE(*a, std::string(32, '\0'));
  auto big = token_->generateRandom(1024);
  ASSERT_TRUE(big.ok()) << big.error().message;
  EXPECT_EQ(big->size(), 1024u);
}

TEST_F(Pkcs11Test, DestroyKey) {
  std::string id = newKey();
  auto ct = token_->encrypt(id, "x", "");
  ASSERT_TRUE(ct.ok());
  ASSERT_TRUE(token_->destroyKey(id).ok());

  auto found = token_->findKey(id);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, "NotFoundException");
  EXPECT_NE(found.error().message.find(id), std::string::npos) << found.error().message;
  auto enc = token_->encrypt(id, "x", "");
  ASSERT_FALSE(enc.ok());
  EXPECT_EQ(enc.error().code, "NotFoundException");
  auto dec = token_->decrypt(id, ct->iv, ct->ciphertext, "");
  ASSERT_FALSE(dec.ok());
  EXPECT_EQ(dec.error().code, "NotFoundException");
  auto again = token_->destroyKey(id);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "NotFoundException");
}

TEST_F(Pkcs11Test, MalformedKeyIdIsAValidationError) {
  for (const char* bad :
       {"", "abc", "zz000000000000000000000000000000", "00000000000000000000000000000000ff"}) {
    auto r = token_->findKey(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "ValidationException") << bad;
  }
  auto unknown = token_->findKey("00000000000000000000000000000000");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "NotFoundException");
}

TEST_F(Pkcs11Test, ConcurrentEncryptDecrypt) {
  // Reconnect with a pool smaller than the number of threads, so that threads wait for sessions.
  token_.reset();
  auto small = Pkcs11Token::connect(module_, kLabel, kPin, /*max_sessions=*/3);
  ASSERT_TRUE(small.ok()) << small.error().message;
  token_ = std::move(*small);
  std::vector<std::string> keys = {newKey("a"), newKey("b")};

  constexpr int kThreads = 8;
  constexpr int kRounds = 40;
  std::atomic<int> good{0};
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string& key = keys[(t + i) % keys.size()];
        std::string pt = "thread " + std::to_string(t) + " round " + std::to_string(i);
        std::string aad = "ctx-" + std::to_string(t);
        auto ct = token_->encrypt(key, pt, aad);
        if (!ct.ok()) {
          failures[t] = "encrypt: " + ct.error().message;
          return;
        }
        auto back = token_->decrypt(key, ct->iv, ct->ciphertext, aad);
        if (!back.ok() || *back != pt) {
          failures[t] = back.ok() ? "wrong plaintext" : "decrypt: " + back.error().message;
          return;
        }
        ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
  EXPECT_EQ(good.load(), kThreads * kRounds);
}

TEST_F(Pkcs11Test, KeyIsFoundAfterRestart) {
  std::string id = newKey("survives");
  auto ct = token_->encrypt(id, "persisted", "aad");
  ASSERT_TRUE(ct.ok());
  // Drop everything: C_Finalize and dlclose, as a process restart would.
  token_.reset();
  module_.reset();

  auto module = Pkcs11Module::load(*module_path_);
  ASSERT_TRUE(module.ok()) << module.error().message;
  auto token = Pkcs11Token::connect(*module, kLabel, kPin);
  ASSERT_TRUE(token.ok()) << token.error().message;
  auto info = (*token)->findKey(id);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->label, "survives");
  auto pt = (*token)->decrypt(id, ct->iv, ct->ciphertext, "aad");
  ASSERT_TRUE(pt.ok()) << pt.error().message;
  EXPECT_EQ(*pt, "persisted");
  module_ = *module;
  token_ = std::move(*token);
}

TEST_F(Pkcs11Test, WrongPinIsInvalidCredentials) {
  const std::string wrong = "97531864";
  // While another connection of this process is logged in (the PIN is checked by the client),
  // and with no connection at all (the PIN is checked by the token).
  for (bool others_connected : {true, false}) {
    if (!others_connected) token_.reset();
    auto r = Pkcs11Token::connect(module_, kLabel, wrong);
    ASSERT_FALSE(r.ok()) << "others_connected=" << others_connected;
    EXPECT_EQ(r.error().code, "CustomKeyStoreInvalidStateException");
    EXPECT_EQ(extraField(r.error(), kConnectionErrorCodeField), "INVALID_CREDENTIALS");
    EXPECT_NE(r.error().message.find("PIN is incorrect"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(kLabel), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find(wrong), std::string::npos) << "PIN leaked in the message";
  }
  // The right PIN still works after the failures.
  auto ok = Pkcs11Token::connect(module_, kLabel, kPin);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  token_ = std::move(*ok);
  EXPECT_TRUE(token_->generateRandom(4).ok());
}

TEST_F(Pkcs11Test, TwoConnectionsShareTheLoginUntilTheLastDisconnects) {
  std::string id = newKey();
  auto second = Pkcs11Token::connect(module_, kLabel, kPin, 2);
  ASSERT_TRUE(second.ok()) << second.error().message;
  auto ct = (*second)->encrypt(id, "shared", "");
  ASSERT_TRUE(ct.ok()) << ct.error().message;
  token_->disconnect();  // the second connection keeps the token's login
  auto pt = (*second)->decrypt(id, ct->iv, ct->ciphertext, "");
  ASSERT_TRUE(pt.ok()) << pt.error().message;
  EXPECT_EQ(*pt, "shared");
  (*second)->disconnect();
  auto third = Pkcs11Token::connect(module_, kLabel, kPin);
  ASSERT_TRUE(third.ok()) << third.error().message;
  EXPECT_TRUE((*third)->findKey(id).ok());
}

TEST_F(Pkcs11Test, DisconnectedTokenRefusesOperations) {
  std::string id = newKey();
  EXPECT_TRUE(token_->connected());
  token_->disconnect();
  token_->disconnect();  // idempotent
  EXPECT_FALSE(token_->connected());
  auto r = token_->encrypt(id, "x", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "CustomKeyStoreInvalidStateException");
  EXPECT_NE(r.error().message.find("disconnected"), std::string::npos);
  auto g = token_->generateRandom(8);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code, "CustomKeyStoreInvalidStateException");
}

TEST_F(Pkcs11Test, MissingTokenLabelIsNamed) {
  auto r = Pkcs11Token::connect(module_, "no-such-token", kPin);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "CloudHsmClusterNotFoundException");
  EXPECT_NE(r.error().message.find("'no-such-token'"), std::string::npos) << r.error().message;
  EXPECT_EQ(extraField(r.error(), kConnectionErrorCodeField), "CLUSTER_NOT_FOUND");
  auto empty = Pkcs11Token::connect(module_, "", kPin);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("label"), std::string::npos);
}

TEST_F(Pkcs11Test, MissingModulePathIsNamed) {
  auto r = Pkcs11Module::load("/nonexistent/citadel/libnope.so");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "CloudHsmClusterNotFoundException");
  EXPECT_NE(r.error().message.find("/nonexistent/citadel/libnope.so"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(extraField(r.error(), kConnectionErrorCodeField), "CLUSTER_NOT_FOUND");

  auto empty = Pkcs11Module::load("");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("module path"), std::string::npos);

  // A shared library that is not a PKCS#11 module.
  std::string not_p11;
  for (const char* p : {"/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1",
                        "/lib/aarch64-linux-gnu/libz.so.1"}) {
    if (fs::exists(p)) not_p11 = p;
  }
  ASSERT_FALSE(not_p11.empty()) << "zlib not found to use as a non-PKCS#11 library";
  auto wrong = Pkcs11Module::load(not_p11);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("not a PKCS#11 module"), std::string::npos)
      << wrong.error().message;
}

TEST_F(Pkcs11Test, OneModulePerPath) {
  // A symlink to the module resolves to the same instance.
  fs::path link = fs::path(*dir_) / "module-link.so";
  fs::remove(link);
  fs::create_symlink(*module_path_, link);
  auto again = Pkcs11Module::load(link.string());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->get(), module_.get());
  EXPECT_EQ((*again)->path(), fs::canonical(*module_path_).string());
  EXPECT_NE((*again)->description().find("SoftHSM"), std::string::npos) << (*again)->description();
}

TEST_F(Pkcs11Test, HelperScriptCreatesAUsableToken) {
  // The module reads SOFTHSM2_CONF when it is initialised: release it, point at the script's
  // token, and restore the suite's configuration afterwards.
  token_.reset();
  module_.reset();
  std::string dir = *dir_ + "/script";
  std::string out;
  int rc = run(std::string(CITADEL_SOURCE_DIR) + "/scripts/softhsm-token.sh " + dir +
                   " citadel-script 4321 8765",
               &out, /*with_stderr=*/false);
  ASSERT_EQ(rc, 0) << out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  EXPECT_EQ(out, dir + "/softhsm2.conf");
  ASSERT_TRUE(fs::exists(out));

  struct RestoreConf {
    ~RestoreConf() { ::setenv("SOFTHSM2_CONF", conf_->c_str(), 1); }
  } restore;
  ::setenv("SOFTHSM2_CONF", out.c_str(), 1);
  {
    auto module = Pkcs11Module::load(*module_path_);
    ASSERT_TRUE(module.ok()) << module.error().message;
    auto token = Pkcs11Token::connect(*module, "citadel-script", "4321");
    EXPECT_TRUE(token.ok()) << token.error().message;
    if (token.ok()) {
      auto id = (*token)->generateAesKey("from-script");
      EXPECT_TRUE(id.ok());
    }
    // The suite's token is not visible through this configuration.
    auto suite = Pkcs11Token::connect(*module, kLabel, kPin);
    EXPECT_FALSE(suite.ok());
  }
}

}  // namespace
}  // namespace citadel::crypto
