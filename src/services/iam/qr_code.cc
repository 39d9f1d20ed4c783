// QR Code encoder and a grayscale PNG writer (see qr_code.h).
#include "services/iam/qr_code.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>

namespace citadel::iamsvc {

namespace {

/// One version's block structure at one level: EC codewords per block and the data codewords
/// of the blocks of group 1 and group 2 (group 2 blocks hold one more).
struct Blocks {
  int ec_per_block;
  int group1_blocks;
  int group1_data;
  int group2_blocks;
};

// ISO/IEC 18004 table 9, versions 1-10.
constexpr std::array<Blocks, 10> kLevelM = {{{10, 1, 16, 0},
                                             {16, 1, 28, 0},
                                             {26, 1, 44, 0},
                                             {18, 2, 32, 0},
                                             {24, 2, 43, 0},
                                             {16, 4, 27, 0},
                                             {18, 4, 31, 0},
                                             {22, 2, 38, 2},
                                             {22, 3, 36, 2},
                                             {26, 4, 43, 1}}};
constexpr std::array<Blocks, 10> kLevelL = {{{7, 1, 19, 0},
                                             {10, 1, 34, 0},
                                             {15, 1, 55, 0},
                                             {20, 1, 80, 0},
                                             {26, 1, 108, 0},
                                             {18, 2, 68, 0},
                                             {20, 2, 78, 0},
                                             {24, 2, 97, 0},
                                             {30, 2, 116, 0},
                                             {18, 2, 68, 2}}};
// Alignment pattern centres per version (none for version 1).
const std::vector<std::vector<int>> kAlignment = {{},          {6, 18},    {6, 22},     {6, 26},
                                                  {6, 30},     {6, 34},    {6, 22, 38}, {6, 24, 42},
                                                  {6, 26, 46}, {6, 28, 50}};
// Remainder bits after the codewords, per version.
constexpr std::array<int, 10> kRemainderBits = {0, 7, 7, 7, 7, 7, 0, 0, 0, 0};

int dataCodewords(const Blocks& b) {
  return b.group1_blocks * b.group1_data + b.group2_blocks * (b.group1_data + 1);
}

// ---- GF(256), primitive polynomial x^8 + x^4 + x^3 + x^2 + 1 ---------------------------------

struct Gf {
  std::array<uint8_t, 512> exp{};
  std::array<int, 256> log{};
  Gf() {
    int x = 1;
    for (int i = 0; i < 255; ++i) {
      exp[i] = static_cast<uint8_t>(x);
      log[x] = i;
      x <<= 1;
      if (x & 0x100) x ^= 0x11d;
    }
    for (int i = 255; i < 512; ++i) exp[i] = exp[i - 255];
  }
  uint8_t mul(uint8_t a, uint8_t b) const { return a == 0 || b == 0 ? 0 : exp[log[a] + log[b]]; }
};

const Gf& gf() {
  static const Gf field;
  return field;
}

/// The Reed-Solomon EC codewords of `data`: the remainder of data(x) * x^n divided by the
/// generator (x - a^0)(x - a^1)...(x - a^(n-1)).
std::vector<uint8_t> reedSolomon(const std::vector<uint8_t>& data, int n) {
  const Gf& f = gf();
  std::vector<uint8_t> gen{1};  // highest degree first
  for (int i = 0; i < n; ++i) {
    std::vector<uint8_t> next(gen.size() + 1, 0);
    for (size_t j = 0; j < gen.size(); ++j) {
      next[j] ^= gen[j];
      next[j + 1] ^= f.mul(gen[j], f.exp[i]);
    }
    gen = std::move(next);
  }
  std::vector<uint8_t> rem(n, 0);
  for (uint8_t d : data) {
    uint8_t factor = d ^ rem[0];
    rem.erase(rem.begin());
    rem.push_back(0);
    for (int j = 0; j < n; ++j) rem[j] ^= f.mul(gen[j + 1], factor);
  }
  return rem;
}

// ---- the symbol ---------------------------------------------------------------------------

class Builder {
 public:
  Builder(int version, char level)
      : version_(version),
        level_(level),
        size_(version * 4 + 17),
        dark_(size_, std::vector<bool>(size_, false)),
        function_(size_, std::vector<bool>(size_, false)) {}

  /// Places the function patterns (format and version areas reserved).
  void drawFunctionPatterns() {
    for (int i = 0; i < size_; ++i) {
      set(6, i, i % 2 == 0);
      set(i, 6, i % 2 == 0);
    }
    drawFinder(3, 3);
    drawFinder(3, size_ - 4);
    drawFinder(size_ - 4, 3);
    const auto& centres = kAlignment[version_ - 1];
    const size_t n = centres.size();
    for (size_t a = 0; a < n; ++a)
      for (size_t b = 0; b < n; ++b) {
        // Not over the three finder patterns.
        if ((a == 0 && b == 0) || (a == 0 && b == n - 1) || (a == n - 1 && b == 0)) continue;
        for (int dr = -2; dr <= 2; ++dr)
          for (int dc = -2; dc <= 2; ++dc)
            set(centres[a] + dr, centres[b] + dc, std::max(std::abs(dr), std::abs(dc)) != 1);
      }
    drawFormat(0);  // reserves the areas; redrawn with the chosen mask
    drawVersion();
  }

  /// Places the codewords in the zigzag order, then the remainder bits (light).
  void drawCodewords(const std::vector<uint8_t>& codewords) {
    size_t bit = 0;
    const size_t total = codewords.size() * 8;
    for (int right = size_ - 1; right >= 1; right -= 2) {
      if (right == 6) right = 5;  // the vertical timing pattern's column is skipped
      const bool upward = ((right + 1) & 2) == 0;
      for (int v = 0; v < size_; ++v) {
        const int row = upward ? size_ - 1 - v : v;
        for (int c = 0; c < 2; ++c) {
          const int col = right - c;
          if (function_[row][col]) continue;
          if (bit < total) {
            dark_[row][col] = ((codewords[bit >> 3] >> (7 - (bit & 7))) & 1) != 0;
            ++bit;
          }
        }
      }
    }
  }

  /// XORs the mask onto the data modules (applying it twice undoes it).
  void applyMask(int mask) {
    for (int r = 0; r < size_; ++r)
      for (int c = 0; c < size_; ++c)
        if (!function_[r][c] && maskBit(mask, r, c)) dark_[r][c] = !dark_[r][c];
  }

  /// The 15-bit format information: level and mask, BCH(15,5), XOR 0x5412.
  void drawFormat(int mask) {
    const int level_bits = level_ == 'L' ? 1 : 0;  // L = 01, M = 00
    const int data = (level_bits << 3) | mask;
    int rem = data;
    for (int i = 0; i < 10; ++i) rem = (rem << 1) ^ ((rem >> 9) * 0x537);
    const int bits = ((data << 10) | rem) ^ 0x5412;
    auto bitAt = [bits](int i) { return ((bits >> i) & 1) != 0; };
    // Around the top-left finder.
    for (int i = 0; i <= 5; ++i) set(i, 8, bitAt(i));
    set(7, 8, bitAt(6));
    set(8, 8, bitAt(7));
    set(8, 7, bitAt(8));
    for (int i = 9; i < 15; ++i) set(8, 14 - i, bitAt(i));
    // Split between the top-right and bottom-left finders.
    for (int i = 0; i < 8; ++i) set(8, size_ - 1 - i, bitAt(i));
    for (int i = 8; i < 15; ++i) set(size_ - 15 + i, 8, bitAt(i));
    set(size_ - 8, 8, true);  // the dark module
  }

  /// The standard's penalty score (N1 runs, N2 blocks, N3 finder look-alikes, N4 balance).
  int penalty() const {
    int score = 0;
    for (int pass = 0; pass < 2; ++pass) {
      for (int a = 0; a < size_; ++a) {
        int run = 0;
        bool color = false;
        uint32_t window = 0;  // the last 11 modules of the line, newest in bit 0
        for (int b = 0; b < size_; ++b) {
          const bool d = pass == 0 ? dark_[a][b] : dark_[b][a];
          if (b > 0 && d == color) {
            ++run;
          } else {
            if (run >= 5) score += 3 + (run - 5);
            run = 1;
            color = d;
          }
          window = ((window << 1) | (d ? 1u : 0u)) & 0x7ff;
          // 1:1:3:1:1 with four light modules on one side.
          if (b >= 10 && (window == 0x5d0 || window == 0x05d)) score += 40;
        }
        if (run >= 5) score += 3 + (run - 5);
      }
    }
    int dark_count = 0;
    for (int r = 0; r < size_; ++r)
      for (int c = 0; c < size_; ++c) {
        if (dark_[r][c]) ++dark_count;
        if (r + 1 < size_ && c + 1 < size_ && dark_[r][c] == dark_[r][c + 1] &&
            dark_[r][c] == dark_[r + 1][c] && dark_[r][c] == dark_[r + 1][c + 1])
          score += 3;
      }
    const int total = size_ * size_;
    const int deviation = std::abs(dark_count * 20 - total * 10);  // |percent - 50| * total / 5
    score += (deviation / total) * 10;
    return score;
  }

  QrCode result(int mask) const { return QrCode{version_, level_, mask, size_, dark_}; }

 private:
  void set(int row, int col, bool dark) {
    dark_[row][col] = dark;
    function_[row][col] = true;
  }

  /// A finder pattern with its light separator, centred at (row, col).
  void drawFinder(int row, int col) {
    for (int dr = -4; dr <= 4; ++dr)
      for (int dc = -4; dc <= 4; ++dc) {
        const int r = row + dr, c = col + dc;
        if (r < 0 || r >= size_ || c < 0 || c >= size_) continue;
        const int dist = std::max(std::abs(dr), std::abs(dc));
        set(r, c, dist != 2 && dist != 4);
      }
  }

  /// Version information (versions 7+): BCH(18,6), two 6x3 blocks.
  void drawVersion() {
    if (version_ < 7) return;
    int rem = version_;
    for (int i = 0; i < 12; ++i) rem = (rem << 1) ^ ((rem >> 11) * 0x1f25);
    const int bits = (version_ << 12) | rem;
    for (int i = 0; i < 18; ++i) {
      const bool d = ((bits >> i) & 1) != 0;
      const int a = size_ - 11 + i % 3, b = i / 3;
      set(b, a, d);  // top right: rows 0-5
      set(a, b, d);  // bottom left: columns 0-5
    }
  }

  static bool maskBit(int mask, int r, int c) {
    switch (mask) {
      case 0:
        return (r + c) % 2 == 0;
      case 1:
        return r % 2 == 0;
      case 2:
        return c % 3 == 0;
      case 3:
        return (r + c) % 3 == 0;
      case 4:
        return (r / 2 + c / 3) % 2 == 0;
      case 5:
        return (r * c) % 2 + (r * c) % 3 == 0;
      case 6:
        return ((r * c) % 2 + (r * c) % 3) % 2 == 0;
      default:
        return ((r + c) % 2 + (r * c) % 3) % 2 == 0;
    }
  }

  int version_;
  char level_;
  int size_;
  std::vector<std::vector<bool>> dark_;
  std::vector<std::vector<bool>> function_;
};

/// The data codewords: mode 0100, the byte count, the bytes, terminator, padding.
std::vector<uint8_t> dataBits(std::string_view text, int version, int capacity) {
  std::vector<bool> bits;
  auto put = [&bits](uint32_t value, int n) {
    for (int i = n - 1; i >= 0; --i) bits.push_back(((value >> i) & 1) != 0);
  };
  put(0x4, 4);
  put(static_cast<uint32_t>(text.size()), version < 10 ? 8 : 16);
  for (char ch : text) put(static_cast<uint8_t>(ch), 8);
  const size_t capacity_bits = static_cast<size_t>(capacity) * 8;
  put(0, static_cast<int>(std::min<size_t>(4, capacity_bits - bits.size())));
  while (bits.size() % 8 != 0) bits.push_back(false);
  std::vector<uint8_t> out;
  for (size_t i = 0; i < bits.size(); i += 8) {
    uint8_t byte = 0;
    for (size_t j = 0; j < 8; ++j) byte = static_cast<uint8_t>((byte << 1) | (bits[i + j] ? 1 : 0));
    out.push_back(byte);
  }
  for (uint8_t pad = 0xec; static_cast<int>(out.size()) < capacity; pad ^= 0xec ^ 0x11)
    out.push_back(pad);
  return out;
}

/// Splits data into blocks, adds each block's EC codewords and interleaves them.
std::vector<uint8_t> interleave(const std::vector<uint8_t>& data, const Blocks& b) {
  std::vector<std::vector<uint8_t>> blocks, ecs;
  size_t pos = 0;
  for (int i = 0; i < b.group1_blocks + b.group2_blocks; ++i) {
    const size_t len = static_cast<size_t>(b.group1_data + (i < b.group1_blocks ? 0 : 1));
    blocks.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(pos),
                        data.begin() + static_cast<std::ptrdiff_t>(pos + len));
    ecs.push_back(reedSolomon(blocks.back(), b.ec_per_block));
    pos += len;
  }
  std::vector<uint8_t> out;
  for (int i = 0; i <= b.group1_data; ++i)
    for (const auto& block : blocks)
      if (i < static_cast<int>(block.size())) out.push_back(block[i]);
  for (int i = 0; i < b.ec_per_block; ++i)
    for (const auto& ec : ecs) out.push_back(ec[i]);
  return out;
}

void putU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void putChunk(std::string& out, const char* type, const std::string& data) {
  putU32(out, static_cast<uint32_t>(data.size()));
  std::string body(type, 4);
  body += data;
  out += body;
  putU32(out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                          static_cast<uInt>(body.size()))));
}

}  // namespace

std::optional<QrCode> encodeQr(std::string_view text) {
  for (char level : {'M', 'L'}) {
    const auto& table = level == 'M' ? kLevelM : kLevelL;
    for (int version = 1; version <= 10; ++version) {
      const Blocks& b = table[version - 1];
      const int capacity = dataCodewords(b);
      const size_t header_bits = 4 + (version < 10 ? 8 : 16);
      if (header_bits + text.size() * 8 > static_cast<size_t>(capacity) * 8) continue;
      if (version < 10 && text.size() > 255) continue;
      std::vector<uint8_t> codewords = interleave(dataBits(text, version, capacity), b);
      (void)kRemainderBits;  // remainder modules stay light (drawCodewords leaves them)
      Builder builder(version, level);
      builder.drawFunctionPatterns();
      builder.drawCodewords(codewords);
      int best_mask = 0, best_score = -1;
      for (int mask = 0; mask < 8; ++mask) {
        builder.applyMask(mask);
        builder.drawFormat(mask);
        const int score = builder.penalty();
        if (best_score < 0 || score < best_score) {
          best_score = score;
          best_mask = mask;
        }
        builder.applyMask(mask);
      }
      builder.applyMask(best_mask);
      builder.drawFormat(best_mask);
      return builder.result(best_mask);
    }
  }
  return std::nullopt;
}

std::string grayPng(int width, int height, const std::string& pixels) {
  std::string raw;
  raw.reserve(static_cast<size_t>(height) * (width + 1));
  for (int y = 0; y < height; ++y) {
    raw.push_back('\0');  // filter type None
    raw.append(pixels, static_cast<size_t>(y) * width, static_cast<size_t>(width));
  }
  uLongf bound = compressBound(static_cast<uLong>(raw.size()));
  std::string compressed(bound, '\0');
  compress2(reinterpret_cast<Bytef*>(compressed.data()), &bound,
            reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 9);
  compressed.resize(bound);

  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  putU32(ihdr, static_cast<uint32_t>(width));
  putU32(ihdr, static_cast<uint32_t>(height));
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit, grayscale, deflate, none, none
  putChunk(png, "IHDR", ihdr);
  putChunk(png, "IDAT", compressed);
  putChunk(png, "IEND", "");
  return png;
}

std::string qrPng(const QrCode& qr, int scale) {
  constexpr int kQuiet = 4;
  const int side = (qr.size + 2 * kQuiet) * scale;
  std::string pixels(static_cast<size_t>(side) * side, static_cast<char>(0xff));
  for (int r = 0; r < qr.size; ++r)
    for (int c = 0; c < qr.size; ++c) {
      if (!qr.modules[r][c]) continue;
      for (int y = 0; y < scale; ++y)
        for (int x = 0; x < scale; ++x)
          pixels[static_cast<size_t>((r + kQuiet) * scale + y) * side +
                 static_cast<size_t>((c + kQuiet) * scale + x)] = '\0';
    }
  return grayPng(side, side, pixels);
}

}  // namespace citadel::iamsvc
