#include "core/ids.h"

#include <random>

namespace citadel {
namespace {
std::mt19937_64& rng() {
  thread_local std::mt19937_64 r{std::random_device{}()};
  return r;
}
}  // namespace

std::string newUuid() {
  static const char* kHex = "0123456789abcdef";
  uint64_t a = rng()(), b = rng()();
  a = (a & ~0xF000ULL) | 0x4000ULL;               // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 10
  std::string out;
  out.reserve(36);
  for (int i = 15; i >= 0; --i) {
    out += kHex[(a >> (i * 4)) & 15];
    if (i == 8 || i == 4) out += '-';
  }
  out += '-';
  for (int i = 15; i >= 0; --i) {
    out += kHex[(b >> (i * 4)) & 15];
    if (i == 12) out += '-';
  }
  return out;
}

std::string randomFrom(const std::string& alphabet, size_t n) {
  std::uniform_int_distribution<size_t> dist(0, alphabet.size() - 1);
  std::string out(n, ' ');
  for (auto& c : out) c = alphabet[dist(rng())];
  return out;
}

std::string randomUpperAlnum(size_t n) {
  return randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", n);
}

}  // namespace citadel
