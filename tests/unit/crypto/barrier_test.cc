#include "crypto/barrier.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "../temp_dir.h"
#include "core/encoding.h"

namespace citadel::crypto {
namespace {

namespace fs = std::filesystem;

std::string key32(char fill) { return std::string(32, fill); }

using citadel::testing::TempDir;

/// Unsets CITADEL_ROOT_KEY for the test and restores it after.
class EnvGuard {
 public:
  EnvGuard() {
    if (const char* v = std::getenv("CITADEL_ROOT_KEY")) saved_ = v, had_ = true;
    ::unsetenv("CITADEL_ROOT_KEY");
  }
  ~EnvGuard() {
    if (had_) {
      ::setenv("CITADEL_ROOT_KEY", saved_.c_str(), 1);
    } else {
      ::unsetenv("CITADEL_ROOT_KEY");
    }
  }

 private:
  std::string saved_;
  bool had_ = false;
};

TEST(Barrier, RoundTripAndFormat) {
  Barrier b(key32('k'), 7);
  const std::string pt = "secret value \x00 with nul";
  auto sealed = b.seal(pt, "arn:aws:kms:us-east-1:111122223333:key/abc#1");
  ASSERT_EQ(sealed.size(), 1 + 4 + 12 + pt.size() + 16);
  EXPECT_EQ(static_cast<uint8_t>(sealed[0]), 1);
  EXPECT_EQ(sealed.substr(1, 4), std::string("\x00\x00\x00\x07", 4));
  EXPECT_EQ(sealed.find(pt), std::string::npos);
  auto opened = b.open(sealed, "arn:aws:kms:us-east-1:111122223333:key/abc#1");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, pt);
}

TEST(Barrier, EmptyPlaintextAndEmptyAad) {
  Barrier b(key32('e'));
  auto sealed = b.seal("", "");
  auto opened = b.open(sealed, "");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, "");
  EXPECT_FALSE(b.open(sealed, "x").has_value());
}

TEST(Barrier, NonceIsFreshPerSeal) {
  Barrier b(key32('n'));
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(b.seal("same", "aad"));
  EXPECT_EQ(seen.size(), 100u);
}

TEST(Barrier, TamperingWrongAadWrongKeyOrTermGiveNullopt) {
  Barrier b(key32('a'), 3);
  const auto sealed = b.seal("payload", "record-1");
  EXPECT_FALSE(b.open(sealed, "record-2").has_value());
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string t = sealed;
    t[i] = static_cast<char>(t[i] ^ 0x01);
    EXPECT_FALSE(b.open(t, "record-1").has_value()) << "flipped byte " << i;
  }
  EXPECT_FALSE(b.open(sealed.substr(0, sealed.size() - 1), "record-1").has_value());
  EXPECT_FALSE(b.open(sealed + "x", "record-1").has_value());
  EXPECT_FALSE(b.open("", "record-1").has_value());
  Barrier other_key(key32('b'), 3);
  EXPECT_FALSE(other_key.open(sealed, "record-1").has_value());
  Barrier other_term(key32('a'), 4);
  EXPECT_FALSE(other_term.open(sealed, "record-1").has_value());
}

TEST(Barrier, RejectsKeyOfWrongSize) {
  EXPECT_THROW(Barrier(std::string(31, 'x')), std::invalid_argument);
  EXPECT_THROW(Barrier(std::string(33, 'x')), std::invalid_argument);
}

TEST(BarrierLoad, CreatesPrivateKeyFileAndReloadsIt) {
  EnvGuard env;
  TempDir dir;
  const std::string path = dir.file("keys/sub/root.key");
  auto first = Barrier::loadOrCreate(path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  ASSERT_EQ(::stat(dir.file("keys").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(dir.file("keys/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  auto sealed = first->seal("hello", "aad");
  auto second = Barrier::loadOrCreate(path);
  auto opened = second->open(sealed, "aad");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, "hello");
}

TEST(BarrierLoad, RefusesGroupReadableKeyFile) {
  EnvGuard env;
  TempDir dir;
  const std::string path = dir.file("root.key");
  Barrier::loadOrCreate(path);
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  try {
    Barrier::loadOrCreate(path);
    FAIL() << "a 0644 key file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("0644"), std::string::npos) << e.what();
  }
}

TEST(BarrierLoad, RefusesKeyFileOfWrongSize) {
  EnvGuard env;
  TempDir dir;
  const std::string path = dir.file("short.key");
  {
    std::ofstream out(path, std::ios::binary);
    out << "too short";
  }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_THROW(Barrier::loadOrCreate(path), std::runtime_error);
}

TEST(BarrierLoad, UsesEnvironmentKeyWhenSet) {
  EnvGuard env;
  TempDir dir;
  const std::string key = key32('E');
  ::setenv("CITADEL_ROOT_KEY", base64Encode(key).c_str(), 1);
  const std::string path = dir.file("unused.key");
  auto from_env = Barrier::loadOrCreate(path);
  EXPECT_FALSE(fs::exists(path));  // no file is created when the environment supplies the key
  Barrier direct(key);
  auto opened = direct.open(from_env->seal("x", "a"), "a");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, "x");

  ::setenv("CITADEL_ROOT_KEY", base64Encode(std::string(16, 'x')).c_str(), 1);
  EXPECT_THROW(Barrier::loadOrCreate(path), std::runtime_error);
  ::setenv("CITADEL_ROOT_KEY", "not base64 !!", 1);
  EXPECT_THROW(Barrier::loadOrCreate(path), std::runtime_error);
}

}  // namespace
}  // namespace citadel::crypto
