// libFuzzer target: stored CloudTrail event batches. The input is taken as an LZ4 block (the
// first byte picks the claimed decompressed size and event count) and, separately, as raw
// decompressed bytes, so both the decompressor and the event decoder see arbitrary data.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "audit/batch_codec.h"

using namespace citadel::audit;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t count = data[0] % 16;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<batch::EventView> out;
  (void)batch::decode(rest, count, out);
  for (size_t raw_size : {rest.size(), rest.size() * 4 + data[0], size_t{data[0]} << 8}) {
    auto raw = batch::decompress(rest, raw_size);
    if (!raw) continue;
    out.clear();
    (void)batch::decode(*raw, count, out);
  }
  return 0;
}
