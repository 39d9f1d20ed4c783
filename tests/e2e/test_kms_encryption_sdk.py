"""The AWS Encryption SDK for JavaScript (`@aws-crypto/client-node`, pinned in
tests/e2e/encryption_sdk/package.json, with the aws-sdk v3 KMS client it pulls in) encrypts
and decrypts through a KMS keyring pointed at citadel.

Then, independently of the SDK, the test parses the message it produced (AWS Encryption SDK
message format, version 2, framed), decrypts the encrypted data key with a raw KMS Decrypt
through boto3 under the encryption context serialized in the header, checks the key
commitment, decrypts every frame with AES-GCM and verifies the ECDSA P-384 footer: the data
key came from citadel's KMS key.

Needs `node` and `npm` (scripts/install-deps.sh installs them). The first run installs the
npm packages into tests/e2e/encryption_sdk/node_modules (gitignored, reused afterwards); if
the npm registry cannot be reached the test fails with the npm output, it never skips.
"""

import base64
import hashlib
import hmac
import json
import os
import shutil
import struct
import subprocess
import unittest
from pathlib import Path

import botocore.exceptions
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import harness

SDK_DIR = Path(__file__).resolve().parent / "encryption_sdk"
NPM_TIMEOUT = 900

# Algorithm suite the SDK uses by default under REQUIRE_ENCRYPT_REQUIRE_DECRYPT:
# AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384.
SUITE_COMMIT_ECDSA_P384 = 0x0578


def _pinned_sdk_version():
    with open(SDK_DIR / "package.json") as f:
        return json.load(f)["dependencies"]["@aws-crypto/client-node"]


def _installed_sdk_version():
    try:
        with open(SDK_DIR / "node_modules" / "@aws-crypto" / "client-node" / "package.json") as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return None


def ensure_node_modules():
    """Installs the pinned packages unless node_modules already holds them. Raises
    AssertionError with npm's output when node/npm are missing or the install fails."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise AssertionError(
                f"`{tool}` is not installed: run scripts/install-deps.sh (Debian packages "
                "nodejs and npm) to run the AWS Encryption SDK interoperability test")
    if _installed_sdk_version() == _pinned_sdk_version():
        return
    lock = SDK_DIR / "package-lock.json"
    cmd = ["npm", "ci" if lock.exists() else "install", "--no-audit", "--no-fund",
           "--loglevel=error"]
    try:
        proc = subprocess.run(cmd, cwd=SDK_DIR, capture_output=True, text=True,
                              timeout=NPM_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(
            f"`{' '.join(cmd)}` in {SDK_DIR} did not finish within {NPM_TIMEOUT}s: is the npm "
            "registry (https://registry.npmjs.org/) reachable from this machine?") from None
    if proc.returncode != 0:
        raise AssertionError(
            f"`{' '.join(cmd)}` in {SDK_DIR} failed with exit code {proc.returncode}: the "
            "AWS Encryption SDK for JavaScript could not be installed (is the npm registry "
            f"https://registry.npmjs.org/ reachable?)\n{proc.stdout[-2000:]}\n"
            f"{proc.stderr[-4000:]}")
    if _installed_sdk_version() != _pinned_sdk_version():
        raise AssertionError(
            f"after `{' '.join(cmd)}`, @aws-crypto/client-node is "
            f"{_installed_sdk_version()!r}, not the pinned {_pinned_sdk_version()!r}")


# ---- AWS Encryption SDK message format (version 2, framed) -------------------------------


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise AssertionError(f"message truncated at offset {self.pos} (+{n})")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]


def parse_message(data):
    """Splits an AWS Encryption SDK message (format version 2, framed content) into its parts.
    Returns a dict with header fields, the raw header bytes, the frames and the footer."""
    r = Reader(data)
    msg = {}
    msg["version"] = r.u8()
    if msg["version"] != 2:
        raise AssertionError(f"expected message format version 2, got {msg['version']}")
    msg["suite_id"] = r.u16()
    msg["message_id"] = r.take(32)
    aad_len = r.u16()
    context = {}
    if aad_len:
        aad = Reader(r.take(aad_len))
        for _ in range(aad.u16()):
            key = aad.take(aad.u16()).decode()
            value = aad.take(aad.u16()).decode()
            context[key] = value
        if aad.pos != aad_len:
            raise AssertionError("encryption context length does not match its pairs")
    msg["context"] = context
    edks = []
    for _ in range(r.u16()):
        provider_id = r.take(r.u16()).decode()
        provider_info = r.take(r.u16()).decode()
        edks.append({"provider_id": provider_id, "provider_info": provider_info,
                     "ciphertext": r.take(r.u16())})
    msg["edks"] = edks
    msg["content_type"] = r.u8()
    msg["frame_length"] = r.u32()
    msg["commitment"] = r.take(32)
    msg["header"] = data[:r.pos]
    msg["header_tag"] = r.take(16)
    if msg["content_type"] != 2:
        raise AssertionError(f"expected framed content (2), got {msg['content_type']}")
    frames = []
    while True:
        seq = r.u32()
        final = seq == 0xFFFFFFFF
        if final:
            seq = r.u32()
        iv = r.take(12)
        length = r.u32() if final else msg["frame_length"]
        frames.append({"seq": seq, "final": final, "iv": iv, "ciphertext": r.take(length),
                       "tag": r.take(16)})
        if final:
            break
    msg["frames"] = frames
    msg["signed_part"] = data[:r.pos]
    msg["signature"] = r.take(r.u16())
    if r.pos != len(data):
        raise AssertionError(f"{len(data) - r.pos} unexpected bytes after the footer")
    return msg


def hkdf_sha512(ikm, salt, info, length):
    """RFC 5869 HKDF with SHA-512."""
    prk = hmac.new(salt, ikm, hashlib.sha512).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha512).digest()
        out += block
        counter += 1
    return out[:length]


def decrypt_message(msg, data_key):
    """Decrypts a parsed message with the plaintext data key, checking the key commitment, the
    header authentication tag, every frame's tag and the footer signature."""
    suite = struct.pack(">H", msg["suite_id"])
    commitment = hkdf_sha512(data_key, msg["message_id"], b"COMMITKEY", 32)
    if not hmac.compare_digest(commitment, msg["commitment"]):
        raise AssertionError("key commitment in the header does not match the data key")
    derived = AESGCM(hkdf_sha512(data_key, msg["message_id"], suite + b"DERIVEKEY", 32))
    derived.decrypt(bytes(12), msg["header_tag"], msg["header"])  # raises InvalidTag
    plaintext = b""
    for frame in msg["frames"]:
        label = (b"AWSKMSEncryptionClient Final Frame" if frame["final"]
                 else b"AWSKMSEncryptionClient Frame")
        aad = (msg["message_id"] + label + struct.pack(">I", frame["seq"]) +
               struct.pack(">Q", len(frame["ciphertext"])))
        plaintext += derived.decrypt(frame["iv"], frame["ciphertext"] + frame["tag"], aad)
    public = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP384R1(), base64.b64decode(msg["context"]["aws-crypto-public-key"]))
    public.verify(msg["signature"], msg["signed_part"], ec.ECDSA(hashes.SHA384()))
    return plaintext


# ---- the test --------------------------------------------------------------------------


class EncryptionSdkJavaScriptTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ensure_node_modules()
        cls.s = harness.CitadelServer()
        cls.s.start()
        cls.kms = cls.s.client("kms")

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def run_sdk(self, key_arn, plaintext, context):
        request = {
            "endpoint": self.s.endpoint, "region": self.s.region,
            "accessKeyId": self.s.access_key, "secretAccessKey": self.s.secret_key,
            "keyArn": key_arn, "plaintextB64": base64.b64encode(plaintext).decode(),
            "context": context,
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                   AWS_EC2_METADATA_DISABLED="true")
        proc = subprocess.run(["node", str(SDK_DIR / "roundtrip.js")], cwd=SDK_DIR,
                              input=json.dumps(request), capture_output=True, text=True,
                              env=env, timeout=120)
        self.assertEqual(proc.returncode, 0, f"node failed:\n{proc.stderr[-4000:]}")
        return json.loads(proc.stdout)

    def test_keyring_round_trip_and_data_key_from_citadel(self):
        key_arn = self.kms.create_key(Description="encryption sdk")["KeyMetadata"]["Arn"]
        # Larger than the default 4096-byte frame: several frames plus the final one.
        plaintext = os.urandom(10000)
        context = {"purpose": "citadel interop", "tenant": "t-42"}

        out = self.run_sdk(key_arn, plaintext, context)

        # The SDK's own round trip.
        self.assertEqual(base64.b64decode(out["decryptedB64"]), plaintext)
        self.assertEqual(out["suiteId"], SUITE_COMMIT_ECDSA_P384)
        header_context = dict(out["headerContext"])
        self.assertIn("aws-crypto-public-key", header_context)
        header_context.pop("aws-crypto-public-key")
        self.assertEqual(header_context, context)
        # Both sides went to citadel, each with exactly one KMS call.
        self.assertEqual(out["encryptCalls"], [f"GenerateDataKeyCommand {self.s.netloc}"])
        self.assertEqual(out["decryptCalls"], [f"DecryptCommand {self.s.netloc}"])

        # The message, parsed and decrypted here without the SDK.
        msg = parse_message(base64.b64decode(out["ciphertextB64"]))
        self.assertEqual(msg["suite_id"], SUITE_COMMIT_ECDSA_P384)
        self.assertEqual(msg["context"], out["headerContext"])
        self.assertEqual(len(msg["edks"]), 1)
        edk = msg["edks"][0]
        self.assertEqual(edk["provider_id"], "aws-kms")
        self.assertEqual(edk["provider_info"], key_arn)
        self.assertGreater(len(msg["frames"]), 2)

        resp = self.kms.decrypt(CiphertextBlob=edk["ciphertext"],
                                EncryptionContext=msg["context"])
        self.assertEqual(resp["KeyId"], key_arn)
        self.assertEqual(resp["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        data_key = resp["Plaintext"]
        self.assertEqual(len(data_key), 32)
        self.assertEqual(decrypt_message(msg, data_key), plaintext)

        # The encryption context is bound to the encrypted data key.
        wrong = dict(msg["context"], tenant="t-43")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.kms.decrypt(CiphertextBlob=edk["ciphertext"], EncryptionContext=wrong)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidCiphertextException")

        # A different data key does not open the message.
        with self.assertRaises(AssertionError):
            decrypt_message(msg, bytes(32))

        # CloudTrail shows the SDK's calls, made with the JavaScript SDK.
        records = []
        for name in ("GenerateDataKey", "Decrypt"):
            records += harness.cloudtrail_records(self.s.lookup_all(LookupAttributes=[
                {"AttributeKey": "EventName", "AttributeValue": name}]))
        js = [r for r in records if "aws-sdk-js" in r.get("userAgent", "")
              and r.get("resources", [{}])[0].get("ARN") == key_arn]
        self.assertEqual(sorted(r["eventName"] for r in js), ["Decrypt", "GenerateDataKey"], js)
        for r in js:
            self.assertEqual(r["requestParameters"]["encryptionContext"], msg["context"])

    def test_disabled_key_fails_in_the_sdk(self):
        key_arn = self.kms.create_key()["KeyMetadata"]["Arn"]
        self.kms.disable_key(KeyId=key_arn)
        request = {
            "endpoint": self.s.endpoint, "region": self.s.region,
            "accessKeyId": self.s.access_key, "secretAccessKey": self.s.secret_key,
            "keyArn": key_arn, "plaintextB64": base64.b64encode(b"x").decode(), "context": {},
        }
        proc = subprocess.run(["node", str(SDK_DIR / "roundtrip.js")], cwd=SDK_DIR,
                              input=json.dumps(request), capture_output=True, text=True,
                              timeout=120)
        self.assertEqual(proc.returncode, 1, proc.stdout)
        self.assertIn("DisabledException", proc.stderr)


if __name__ == "__main__":
    unittest.main()
