#include "core/ids.h"

#include <random>

namespace citadel {
namespace {
std::mt19937_64& rng() {
  thread_local std::mt19937_64 r{std::random_device{}()};
  return r;
}

std::string formatUuid(uint64_t a, uint64_t b) {
  static const char* kHex = "0123456789abcdef";
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

}  // namespace

std::string newUuid() {
  uint64_t a = rng()();
  return formatUuid((a & ~0xF000ULL) | 0x4000ULL, rng()());  // version 4
}

std::string newTimeOrderedUuid(int64_t epoch_millis) {
  // RFC 9562 version 7: 48-bit millisecond time, version, 12 random bits.
  uint64_t a = (static_cast<uint64_t>(epoch_millis) << 16) | 0x7000ULL | (rng()() & 0xFFFULL);
  return formatUuid(a, rng()());
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
