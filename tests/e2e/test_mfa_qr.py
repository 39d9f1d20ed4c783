"""CreateVirtualMFADevice's QRCodePNG end to end, fully decoded here: the PNG is parsed (chunk
CRCs, IHDR, zlib IDAT, scanline filters), the QR symbol is sampled into modules, its finder and
timing patterns, format information (BCH, both copies) and version information are checked, the
mask is removed, the codewords are read in zigzag order and de-interleaved, every block's
Reed-Solomon syndromes must be zero, and the byte-mode segment must be AWS's
otpauth://totp/$virtualMFADeviceName@$AccountName?secret=$Base32String with the device's seed,
which then yields TOTP codes that enable the device."""

import base64
import hashlib
import hmac
import os
import struct
import tempfile
import time
import unittest
import zlib

import harness

# (EC codewords per block, group 1 blocks, group 1 data codewords, group 2 blocks) per version
# 1-10, from ISO/IEC 18004 table 9.
BLOCKS = {
    "M": [(10, 1, 16, 0), (16, 1, 28, 0), (26, 1, 44, 0), (18, 2, 32, 0), (24, 2, 43, 0),
          (16, 4, 27, 0), (18, 4, 31, 0), (22, 2, 38, 2), (22, 3, 36, 2), (26, 4, 43, 1)],
    "L": [(7, 1, 19, 0), (10, 1, 34, 0), (15, 1, 55, 0), (20, 1, 80, 0), (26, 1, 108, 0),
          (18, 2, 68, 0), (20, 2, 78, 0), (24, 2, 97, 0), (30, 2, 116, 0), (18, 2, 68, 2)],
}
ALIGN = [[], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42],
         [6, 26, 46], [6, 28, 50]]


def read_png(data):
    """(width, height, rows of gray bytes) of an 8-bit grayscale PNG; checks every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature"
    pos, idat, ihdr, types = 8, b"", None, []
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        assert zlib.crc32(ctype + body) == crc, f"CRC of {ctype}"
        types.append(ctype)
        if ctype == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat += body
        pos += 12 + length
    assert types[0] == b"IHDR" and types[-1] == b"IEND", types
    width, height, depth, color, _, _, interlace = ihdr
    assert (depth, color, interlace) == (8, 0, 0), ihdr
    raw = zlib.decompress(idat)
    rows, prev, stride = [], bytearray(width), width + 1
    for y in range(height):
        ftype, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
        for x in range(width):
            a = line[x - 1] if x else 0
            b, c = prev[x], (prev[x - 1] if x else 0)
            if ftype == 1:
                line[x] = (line[x] + a) & 0xFF
            elif ftype == 2:
                line[x] = (line[x] + b) & 0xFF
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(line)
        prev = line
    return width, height, rows


def sample_modules(width, rows):
    """The module matrix: quiet zone and module size found from the top-left finder."""
    for y, row in enumerate(rows):
        dark = [x for x in range(width) if row[x] < 128]
        if dark:
            x0, y0 = dark[0], y
            break
    run = 0
    while rows[y0][x0 + run] < 128:
        run += 1
    assert run % 7 == 0, "finder top edge is seven modules"
    scale = run // 7
    size = (width - 2 * x0) // scale
    return [[rows[y0 + r * scale + scale // 2][x0 + c * scale + scale // 2] < 128
             for c in range(size)] for r in range(size)]


def bch_format(level, mask):
    data = ({"L": 1, "M": 0, "Q": 3, "H": 2}[level] << 3) | mask
    rem = data
    for _ in range(10):
        rem = (rem << 1) ^ ((rem >> 9) * 0x537)
    return ((data << 10) | (rem & 0x3FF)) ^ 0x5412


def bch_version(version):
    rem = version
    for _ in range(12):
        rem = (rem << 1) ^ ((rem >> 11) * 0x1F25)
    return (version << 12) | (rem & 0xFFF)


def mask_bit(mask, r, c):
    return [(r + c) % 2 == 0, r % 2 == 0, c % 3 == 0, (r + c) % 3 == 0,
            (r // 2 + c // 3) % 2 == 0, (r * c) % 2 + (r * c) % 3 == 0,
            ((r * c) % 2 + (r * c) % 3) % 2 == 0, ((r + c) % 2 + (r * c) % 3) % 2 == 0][mask]


GF_EXP, GF_LOG = [0] * 512, [0] * 256
_x = 1
for _i in range(255):
    GF_EXP[_i], GF_LOG[_x] = _x, _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    GF_EXP[_i] = GF_EXP[_i - 255]


def gf_mul(a, b):
    return 0 if a == 0 or b == 0 else GF_EXP[GF_LOG[a] + GF_LOG[b]]


def syndromes(block, n):
    """block(a^i) for i < n (Horner): all zero for an error-free Reed-Solomon codeword."""
    out = []
    for i in range(n):
        acc = 0
        for byte in block:
            acc = gf_mul(acc, GF_EXP[i]) ^ byte
        out.append(acc)
    return out


def decode_qr(m, testcase):
    """Decodes a symbol; returns (version, level, mask, text). Asserts every check."""
    size = len(m)
    version = (size - 17) // 4
    testcase.assertEqual(size, version * 4 + 17)
    testcase.assertTrue(1 <= version <= 10)
    function = [[False] * size for _ in range(size)]

    def mark(r, c):
        function[r][c] = True

    # Finder patterns with separators.
    for (fr, fc) in ((3, 3), (3, size - 4), (size - 4, 3)):
        for dr in range(-4, 5):
            for dc in range(-4, 5):
                r, c = fr + dr, fc + dc
                if 0 <= r < size and 0 <= c < size:
                    mark(r, c)
                    if max(abs(dr), abs(dc)) <= 3:
                        testcase.assertEqual(m[r][c], max(abs(dr), abs(dc)) != 2,
                                             f"finder at {fr},{fc}")
    for i in range(8, size - 8):  # timing patterns
        testcase.assertEqual(m[6][i], i % 2 == 0)
        testcase.assertEqual(m[i][6], i % 2 == 0)
    for i in range(size):
        mark(6, i)
        mark(i, 6)
    centres = ALIGN[version - 1]
    for a, ra in enumerate(centres):
        for b, cb in enumerate(centres):
            if (a, b) in ((0, 0), (0, len(centres) - 1), (len(centres) - 1, 0)):
                continue
            for dr in range(-2, 3):
                for dc in range(-2, 3):
                    mark(ra + dr, cb + dc)
                    testcase.assertEqual(m[ra + dr][cb + dc], max(abs(dr), abs(dc)) != 1)
    # Format information: both copies, equal to the BCH code of one (level, mask).
    first = [(i, 8) for i in range(6)] + [(7, 8), (8, 8), (8, 7)] + [(8, 14 - i)
                                                                     for i in range(9, 15)]
    second = [(8, size - 1 - i) for i in range(8)] + [(size - 15 + i, 8) for i in range(8, 15)]
    copies = []
    for cells in (first, second):
        bits = 0
        for i, (r, c) in enumerate(cells):
            mark(r, c)
            bits |= int(m[r][c]) << i
        copies.append(bits)
    testcase.assertTrue(m[size - 8][8], "dark module")
    mark(size - 8, 8)
    testcase.assertEqual(copies[0], copies[1], "format copies agree")
    matches = [(lv, mk) for lv in "LMQH" for mk in range(8) if bch_format(lv, mk) == copies[0]]
    testcase.assertEqual(len(matches), 1, "format information is a valid BCH codeword")
    level, mask = matches[0]
    testcase.assertIn(level, ("M", "L"))
    if version >= 7:
        expected = bch_version(version)
        for i in range(18):
            a, b = size - 11 + i % 3, i // 3
            testcase.assertEqual(m[b][a], bool((expected >> i) & 1), "version info (top right)")
            testcase.assertEqual(m[a][b], bool((expected >> i) & 1), "version info (bottom left)")
            mark(b, a)
            mark(a, b)

    # Codewords in zigzag order, unmasked.
    bits = []
    right = size - 1
    while right >= 1:
        if right == 6:
            right = 5
        upward = ((right + 1) & 2) == 0
        for v in range(size):
            r = size - 1 - v if upward else v
            for c in (right, right - 1):
                if not function[r][c]:
                    bits.append(m[r][c] ^ mask_bit(mask, r, c))
        right -= 2
    codewords = [sum(int(b) << (7 - j) for j, b in enumerate(bits[i:i + 8]))
                 for i in range(0, len(bits) - 7, 8)]
    ec, g1, d1, g2 = BLOCKS[level][version - 1]
    lengths = [d1] * g1 + [d1 + 1] * g2
    total = sum(lengths) + ec * len(lengths)
    codewords = codewords[:total]
    # De-interleave.
    data_blocks = [[] for _ in lengths]
    pos = 0
    for i in range(d1 + 1):
        for k, length in enumerate(lengths):
            if i < length:
                data_blocks[k].append(codewords[pos])
                pos += 1
    ec_blocks = [[] for _ in lengths]
    for i in range(ec):
        for k in range(len(lengths)):
            ec_blocks[k].append(codewords[pos])
            pos += 1
    for k in range(len(lengths)):
        testcase.assertEqual(syndromes(data_blocks[k] + ec_blocks[k], ec), [0] * ec,
                             f"Reed-Solomon block {k}")
    data = [b for block in data_blocks for b in block]
    stream = "".join(f"{b:08b}" for b in data)
    testcase.assertEqual(stream[:4], "0100", "byte mode")
    count_bits = 8 if version < 10 else 16
    count = int(stream[4:4 + count_bits], 2)
    start = 4 + count_bits
    text = bytes(int(stream[start + 8 * i:start + 8 * i + 8], 2) for i in range(count))
    return version, level, mask, text.decode()


def totp(seed_b32, step):
    mac = hmac.new(base64.b32decode(seed_b32), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1000000)


class MfaQrTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)
        self.iam = self.s.client("iam")

    def check(self, png, name, seed=None):
        width, height, rows = read_png(png)
        self.assertEqual(width, height)
        version, level, _, text = decode_qr(sample_modules(width, rows), self)
        prefix = f"otpauth://totp/{name}@{self.s.account_id}?secret="
        self.assertTrue(text.startswith(prefix), text)
        if seed is not None:
            self.assertEqual(text, prefix + seed)
        return version, level, text[len(prefix):]

    def test_qr_code_carries_the_seed_uri(self):
        created = self.iam.create_virtual_mfa_device(
            VirtualMFADeviceName="phone")["VirtualMFADevice"]
        seed = created["Base32StringSeed"].decode()
        version, level, _ = self.check(created["QRCodePNG"], "phone", seed)
        self.assertEqual(level, "M")
        self.assertGreaterEqual(version, 6)
        # The code read from the QR enables the device, as an authenticator app would.
        self.iam.create_user(UserName="alice")
        step = int(time.time()) // 30
        self.iam.enable_mfa_device(UserName="alice", SerialNumber=created["SerialNumber"],
                                   AuthenticationCode1=totp(seed, step - 1),
                                   AuthenticationCode2=totp(seed, step))

    def test_long_names_use_larger_versions(self):
        name = "device-" + "x" * 90
        created = self.iam.create_virtual_mfa_device(
            VirtualMFADeviceName=name)["VirtualMFADevice"]
        version, _, _ = self.check(created["QRCodePNG"], name,
                                   created["Base32StringSeed"].decode())
        self.assertGreaterEqual(version, 7)  # version information present and checked

    def test_aws_cli_writes_the_png(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "qr.png")
            self.s.aws("iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "cli",
                       "--outfile", out, "--bootstrap-method", "QRCodePNG")
            with open(out, "rb") as f:
                png = f.read()
        _, _, secret = self.check(png, "cli")
        self.assertEqual(len(base64.b32decode(secret)), 40)


if __name__ == "__main__":
    unittest.main()
