#pragma once
/// A small QR Code encoder (ISO/IEC 18004) for the otpauth:// URIs of virtual MFA devices: one
/// byte-mode segment, error correction level M (L when M cannot hold the text), versions 1 to
/// 10, Reed-Solomon over GF(256), the eight masks scored by the standard's penalty rules.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::iamsvc {

/// A QR symbol: size x size modules, true = dark, quiet zone not included.
struct QrCode {
  int version = 0;
  char level = 'M';  ///< 'M' or 'L'
  int mask = 0;
  int size = 0;
  std::vector<std::vector<bool>> modules;  ///< [row][column]
};

/// Encodes `text` as bytes in the smallest version (1-10) at level M, else at level L; nullopt
/// when even version 10-L cannot hold it (more than 271 bytes).
std::optional<QrCode> encodeQr(std::string_view text);

/// A grayscale PNG of a symbol: `scale` pixels per module and a four-module quiet zone.
std::string qrPng(const QrCode& qr, int scale = 4);

/// An 8-bit grayscale PNG (zlib-compressed, CRC-checked chunks) of `pixels` (row-major,
/// width * height bytes, 0 = black, 255 = white).
std::string grayPng(int width, int height, const std::string& pixels);

}  // namespace citadel::iamsvc
