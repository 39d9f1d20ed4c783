"""KMS custom key stores (AWS_CLOUDHSM) backed by a SoftHSM2 token, end to end with boto3 and the
aws CLI: CreateCustomKeyStore / Connect / Disconnect / Describe / Update / Delete with AWS's
exceptions, a wrong kmsuser password (INVALID_CREDENTIALS), keys generated inside the token
(checked by opening the token ourselves through PKCS#11), Encrypt/Decrypt/GenerateDataKey/
ReEncrypt executed by the token, disconnection (KMSInvalidStateException, KeyState Unavailable),
reconnection after a restart, and deletion of the token key when the KMS key is deleted.

The token is made by scripts/softhsm-token.sh; the config maps a CloudHSM cluster id to it."""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import botocore.exceptions

import harness

SCRIPT = harness.REPO_ROOT / "scripts" / "softhsm-token.sh"
MODULES = ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
           "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"]
MODULE = next((m for m in MODULES if os.path.exists(m)), None)

CLUSTER_MAIN = "cluster-mainabcdefgh"
CLUSTER_SPARE = "cluster-sparebcdefgh"
CLUSTER_ALIAS = "cluster-aliasbcdefgh"  # the same token as CLUSTER_SPARE (a "related" cluster)
CLUSTER_OTHER = "cluster-otherbcdefgh"
PIN_MAIN = "kmsuser-main-7"
PIN_SPARE = "kmsuser-spare-7"

# A minimal PKCS#11 reader (ctypes over SoftHSM2's exported C_* functions), run in a fresh
# process so that it sees the token files as they are now. It prints, as JSON, every secret
# key whose CKA_LABEL is argv[4]: its attributes and whether CKA_VALUE can be read.
TOKEN_READER = r'''
import ctypes, json, sys
module, label, pin, key_label = sys.argv[1:5]
lib = ctypes.CDLL(module)
UL = ctypes.c_ulong
class Attr(ctypes.Structure):
    _fields_ = [("type", UL), ("value", ctypes.c_void_p), ("len", UL)]
def check(rv, what):
    if rv != 0:
        raise SystemExit(f"{what} failed: 0x{rv:x}")
check(lib.C_Initialize(None), "C_Initialize")
n = UL(0)
check(lib.C_GetSlotList(ctypes.c_ubyte(1), None, ctypes.byref(n)), "C_GetSlotList")
slots = (UL * n.value)()
check(lib.C_GetSlotList(ctypes.c_ubyte(1), slots, ctypes.byref(n)), "C_GetSlotList")
slot = None
for s in slots[: n.value]:
    info = ctypes.create_string_buffer(4096)
    check(lib.C_GetTokenInfo(UL(s), info), "C_GetTokenInfo")
    if info.raw[:32].decode().rstrip(" ") == label:
        slot = s
if slot is None:
    raise SystemExit("token not found")
h = UL(0)
check(lib.C_OpenSession(UL(slot), UL(4), None, None, ctypes.byref(h)), "C_OpenSession")
check(lib.C_Login(h, UL(1), pin.encode(), UL(len(pin))), "C_Login")
cls = UL(4)  # CKO_SECRET_KEY
lab = key_label.encode()
tmpl = (Attr * 2)(Attr(0, ctypes.cast(ctypes.byref(cls), ctypes.c_void_p), ctypes.sizeof(cls)),
                  Attr(3, ctypes.cast(ctypes.c_char_p(lab), ctypes.c_void_p), len(lab)))
check(lib.C_FindObjectsInit(h, tmpl, UL(2)), "C_FindObjectsInit")
objs = []
while True:
    o, got = UL(0), UL(0)
    check(lib.C_FindObjects(h, ctypes.byref(o), UL(1), ctypes.byref(got)), "C_FindObjects")
    if got.value == 0:
        break
    objs.append(o.value)
lib.C_FindObjectsFinal(h)
out = []
for o in objs:
    key_type, value_len = UL(0), UL(0)
    sensitive, extractable, never = ctypes.c_ubyte(0), ctypes.c_ubyte(0), ctypes.c_ubyte(0)
    idbuf = ctypes.create_string_buffer(64)
    a = (Attr * 6)(Attr(0x100, ctypes.cast(ctypes.byref(key_type), ctypes.c_void_p), 8),
                   Attr(0x161, ctypes.cast(ctypes.byref(value_len), ctypes.c_void_p), 8),
                   Attr(0x103, ctypes.cast(ctypes.byref(sensitive), ctypes.c_void_p), 1),
                   Attr(0x162, ctypes.cast(ctypes.byref(extractable), ctypes.c_void_p), 1),
                   Attr(0x164, ctypes.cast(ctypes.byref(never), ctypes.c_void_p), 1),
                   Attr(0x102, ctypes.cast(idbuf, ctypes.c_void_p), 64))
    check(lib.C_GetAttributeValue(h, UL(o), a, UL(6)), "C_GetAttributeValue")
    value = ctypes.create_string_buffer(64)
    v = (Attr * 1)(Attr(0x11, ctypes.cast(value, ctypes.c_void_p), 64))
    rv = lib.C_GetAttributeValue(h, UL(o), v, UL(1))
    out.append({"key_type": key_type.value, "value_len": value_len.value,
                "sensitive": bool(sensitive.value), "extractable": bool(extractable.value),
                "never_extractable": bool(never.value), "id": idbuf.raw[: a[5].len].hex(),
                "value_readable": rv == 0 and v[0].len not in (0, 2**64 - 1)})
lib.C_Logout(h)
lib.C_CloseSession(h)
lib.C_Finalize(None)
print(json.dumps(out))
'''


@unittest.skipUnless(MODULE and shutil.which("softhsm2-util"), "SoftHSM2 is not installed")
class CustomKeyStoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="citadel-cks-")
        hsm_dir = os.path.join(cls.tmp, "hsm")
        conf = None
        for label, pin in (("cks-main", PIN_MAIN), ("cks-spare", PIN_SPARE)):
            conf = subprocess.run([str(SCRIPT), hsm_dir, label, pin, "so-pin-5678"], check=True,
                                  capture_output=True, text=True).stdout.strip()
        cls.softhsm_conf = conf
        cls.anchor_path, _ = harness.make_self_signed_cert(cls.tmp)
        with open(cls.anchor_path) as f:
            cls.anchor = f.read()
        clusters = {
            CLUSTER_MAIN: {"module": MODULE, "token_label": "cks-main"},
            CLUSTER_SPARE: {"module": MODULE, "token_label": "cks-spare"},
            CLUSTER_ALIAS: {"module": MODULE, "token_label": "cks-spare"},
            CLUSTER_OTHER: {"module": MODULE, "token_label": "cks-main"},
        }
        cls.s = harness.CitadelServer(
            env={"SOFTHSM2_CONF": conf},
            config={"kms": {"hsm": {"cloudhsm_clusters": clusters}}},
            extra_args=["--allow-time-travel"])
        cls.s.start()
        cls.kms = cls.s.client("kms")

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def assert_error(self, code, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception.response["Error"].get("Message", "")

    def store(self, store_id):
        return self.kms.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"][0]

    def token_keys(self, token_label, pin, key_label):
        proc = subprocess.run([sys.executable, "-c", TOKEN_READER, MODULE, token_label, pin,
                               key_label], env={**os.environ, "SOFTHSM2_CONF": self.softhsm_conf},
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)

    def create_store(self, name, cluster, password):
        return self.kms.create_custom_key_store(
            CustomKeyStoreName=name, CloudHsmClusterId=cluster, TrustAnchorCertificate=self.anchor,
            KeyStorePassword=password)["CustomKeyStoreId"]

    def test_1_store_lifecycle_and_errors(self):
        self.assert_error("CloudHsmClusterNotFoundException", self.create_store, "nowhere",
                          "cluster-zzzzzzzzzzzz", PIN_SPARE)
        self.assert_error("IncorrectTrustAnchorException", self.kms.create_custom_key_store,
                          CustomKeyStoreName="bad-anchor", CloudHsmClusterId=CLUSTER_SPARE,
                          TrustAnchorCertificate="not a certificate",
                          KeyStorePassword=PIN_SPARE)
        # A wrong kmsuser password: the connection fails with INVALID_CREDENTIALS.
        sid = self.create_store("spare-store", CLUSTER_SPARE, "wrong-password")
        self.assertRegex(sid, r"^cks-[0-9a-f]{17}$")
        self.assert_error("CustomKeyStoreNameInUseException", self.create_store, "spare-store",
                          CLUSTER_MAIN, PIN_MAIN)
        self.assert_error("CloudHsmClusterInUseException", self.create_store, "second-on-spare",
                          CLUSTER_SPARE, PIN_SPARE)
        entry = self.store(sid)
        self.assertEqual(entry["CustomKeyStoreName"], "spare-store")
        self.assertEqual(entry["CloudHsmClusterId"], CLUSTER_SPARE)
        self.assertEqual(entry["TrustAnchorCertificate"], self.anchor)
        self.assertEqual(entry["ConnectionState"], "DISCONNECTED")
        self.assertEqual(entry["CustomKeyStoreType"], "AWS_CLOUDHSM")
        self.assertNotIn("ConnectionErrorCode", entry)
        self.assertLess(abs(entry["CreationDate"].timestamp() - harness.utcnow().timestamp()), 120)
        by_name = self.kms.describe_custom_key_stores(CustomKeyStoreName="spare-store")
        self.assertEqual([e["CustomKeyStoreId"] for e in by_name["CustomKeyStores"]], [sid])
        self.assert_error("CustomKeyStoreNotFoundException", self.kms.describe_custom_key_stores,
                          CustomKeyStoreId="cks-00000000000000000")
        self.assert_error("CustomKeyStoreInvalidStateException",
                          self.kms.disconnect_custom_key_store, CustomKeyStoreId=sid)

        self.kms.connect_custom_key_store(CustomKeyStoreId=sid)
        entry = self.store(sid)
        self.assertEqual(entry["ConnectionState"], "FAILED")
        self.assertEqual(entry["ConnectionErrorCode"], "INVALID_CREDENTIALS")
        # AWS: a FAILED store must be disconnected before anything else.
        self.assert_error("CustomKeyStoreInvalidStateException", self.kms.connect_custom_key_store,
                          CustomKeyStoreId=sid)
        self.assert_error("CustomKeyStoreInvalidStateException", self.kms.update_custom_key_store,
                          CustomKeyStoreId=sid, KeyStorePassword=PIN_SPARE)
        self.kms.disconnect_custom_key_store(CustomKeyStoreId=sid)
        self.assertEqual(self.store(sid)["ConnectionState"], "DISCONNECTED")
        self.kms.update_custom_key_store(CustomKeyStoreId=sid, KeyStorePassword=PIN_SPARE)
        # A related cluster (same token) is accepted, an unrelated one is not.
        self.assert_error("CloudHsmClusterNotRelatedException", self.kms.update_custom_key_store,
                          CustomKeyStoreId=sid, CloudHsmClusterId=CLUSTER_OTHER)
        self.kms.update_custom_key_store(CustomKeyStoreId=sid, CloudHsmClusterId=CLUSTER_ALIAS)
        self.assertEqual(self.store(sid)["CloudHsmClusterId"], CLUSTER_ALIAS)
        self.kms.connect_custom_key_store(CustomKeyStoreId=sid)
        entry = self.store(sid)
        self.assertEqual(entry["ConnectionState"], "CONNECTED", entry)
        self.assertNotIn("ConnectionErrorCode", entry)
        # Connected: the name may change, nothing else; it cannot be deleted.
        self.kms.update_custom_key_store(CustomKeyStoreId=sid, NewCustomKeyStoreName="renamed")
        self.assertEqual(self.store(sid)["CustomKeyStoreName"], "renamed")
        self.assert_error("CustomKeyStoreInvalidStateException", self.kms.update_custom_key_store,
                          CustomKeyStoreId=sid, KeyStorePassword=PIN_SPARE)
        self.assert_error("CustomKeyStoreInvalidStateException", self.kms.delete_custom_key_store,
                          CustomKeyStoreId=sid)
        # Paging.
        page = self.kms.describe_custom_key_stores(Limit=1)
        self.assertEqual(len(page["CustomKeyStores"]), 1)
        seen = [page["CustomKeyStores"][0]["CustomKeyStoreId"]]
        while page.get("Truncated"):
            page = self.kms.describe_custom_key_stores(Limit=1, Marker=page["NextMarker"])
            seen += [e["CustomKeyStoreId"] for e in page["CustomKeyStores"]]
        everything = self.kms.describe_custom_key_stores()["CustomKeyStores"]
        self.assertEqual(sorted(seen), sorted(e["CustomKeyStoreId"] for e in everything))
        self.assertIn(sid, seen)

        self.kms.disconnect_custom_key_store(CustomKeyStoreId=sid)
        self.kms.delete_custom_key_store(CustomKeyStoreId=sid)
        self.assert_error("CustomKeyStoreNotFoundException", self.kms.describe_custom_key_stores,
                          CustomKeyStoreId=sid)

        # The kmsuser password never reaches CloudTrail.
        events = self.s.lookup_all(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "CreateCustomKeyStore"}])
        self.assertTrue(events)
        for e in events:
            self.assertNotIn(PIN_SPARE, e["CloudTrailEvent"])
            self.assertNotIn("wrong-password", e["CloudTrailEvent"])
        self.assertNotIn(PIN_SPARE, self.s.stderr())
        self.assertNotIn("wrong-password", self.s.stderr())

    def test_2_keys_in_the_token(self):
        sid = self.create_store("main-store", CLUSTER_MAIN, PIN_MAIN)
        # Not connected yet.
        self.assert_error("CustomKeyStoreInvalidStateException", self.kms.create_key,
                          Origin="AWS_CLOUDHSM", CustomKeyStoreId=sid)
        self.kms.connect_custom_key_store(CustomKeyStoreId=sid)
        self.assertEqual(self.store(sid)["ConnectionState"], "CONNECTED")
        self.assert_error("UnsupportedOperationException", self.kms.create_key,
                          Origin="AWS_CLOUDHSM", CustomKeyStoreId=sid, MultiRegion=True)
        self.assert_error("UnsupportedOperationException", self.kms.create_key,
                          Origin="AWS_CLOUDHSM", CustomKeyStoreId=sid, KeySpec="RSA_2048")
        self.assert_error("CustomKeyStoreNotFoundException", self.kms.create_key,
                          Origin="AWS_CLOUDHSM", CustomKeyStoreId="cks-00000000000000000")

        # GenerateRandom from the store's token.
        rnd = self.kms.generate_random(NumberOfBytes=48, CustomKeyStoreId=sid)["Plaintext"]
        self.assertEqual(len(rnd), 48)
        self.assertNotEqual(rnd, self.kms.generate_random(NumberOfBytes=48,
                                                          CustomKeyStoreId=sid)["Plaintext"])
        self.assert_error("CustomKeyStoreNotFoundException", self.kms.generate_random,
                          NumberOfBytes=8, CustomKeyStoreId="cks-00000000000000000")

        md = self.kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=sid,
                                 Description="in the HSM")["KeyMetadata"]
        key_id, arn = md["KeyId"], md["Arn"]
        self.assertEqual(md["Origin"], "AWS_CLOUDHSM")
        self.assertEqual(md["CustomKeyStoreId"], sid)
        self.assertEqual(md["CloudHsmClusterId"], CLUSTER_MAIN)
        self.assertEqual(md["KeyState"], "Enabled")
        self.assertEqual(self.kms.describe_key(KeyId=key_id)["KeyMetadata"], md)

        # The key really is in the token: one AES-256 secret key labelled with the key ARN,
        # sensitive and never extractable; its value cannot be read.
        objs = self.token_keys("cks-main", PIN_MAIN, "kms:" + arn)
        self.assertEqual(len(objs), 1, objs)
        self.assertEqual(objs[0]["key_type"], 0x1F)  # CKK_AES
        self.assertEqual(objs[0]["value_len"], 32)
        self.assertTrue(objs[0]["sensitive"])
        self.assertFalse(objs[0]["extractable"])
        self.assertTrue(objs[0]["never_extractable"])
        self.assertFalse(objs[0]["value_readable"])

        ctx = {"purpose": "e2e", "tenant": "42"}
        ct = self.kms.encrypt(KeyId=key_id, Plaintext=b"hsm secret", EncryptionContext=ctx)
        blob = ct["CiphertextBlob"]
        self.assertEqual(blob[0], 2)  # the token format byte
        self.assertEqual(ct["KeyId"], arn)
        out = self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)
        self.assertEqual(out["Plaintext"], b"hsm secret")
        self.assertEqual(out["KeyId"], arn)
        self.assert_error("InvalidCiphertextException", self.kms.decrypt, CiphertextBlob=blob,
                          EncryptionContext={"purpose": "other", "tenant": "42"})
        tampered = bytearray(blob)
        tampered[-20] ^= 1
        self.assert_error("InvalidCiphertextException", self.kms.decrypt,
                          CiphertextBlob=bytes(tampered), EncryptionContext=ctx)
        # A token blob whose format byte claims citadel's own AES path does not decrypt.
        self.assert_error("InvalidCiphertextException", self.kms.decrypt,
                          CiphertextBlob=b"\x01" + blob[1:], EncryptionContext=ctx)

        dk = self.kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=ctx)
        self.assertEqual(len(dk["Plaintext"]), 32)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=dk["CiphertextBlob"],
                                          EncryptionContext=ctx)["Plaintext"], dk["Plaintext"])
        dk2 = self.kms.generate_data_key_without_plaintext(KeyId=key_id, NumberOfBytes=24)
        self.assertEqual(len(self.kms.decrypt(CiphertextBlob=dk2["CiphertextBlob"])["Plaintext"]),
                         24)
        # ReEncrypt between a token key and a key of citadel's own.
        plain_key = self.kms.create_key()["KeyMetadata"]["KeyId"]
        moved = self.kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=ctx,
                                    DestinationKeyId=plain_key)
        self.assertEqual(moved["CiphertextBlob"][0], 1)
        back = self.kms.re_encrypt(CiphertextBlob=moved["CiphertextBlob"], DestinationKeyId=key_id,
                                   DestinationEncryptionContext={"k": "v"})
        self.assertEqual(back["CiphertextBlob"][0], 2)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=back["CiphertextBlob"],
                                          EncryptionContext={"k": "v"})["Plaintext"], b"hsm secret")
        # The aws CLI too.
        plain_file = os.path.join(self.tmp, "plain.txt")
        with open(plain_file, "wb") as f:
            f.write(b"from the cli")
        cli = self.s.aws("kms", "encrypt", "--key-id", key_id, "--plaintext",
                         "fileb://" + plain_file, "--output", "json")
        cli_blob = base64.b64decode(json.loads(cli.stdout)["CiphertextBlob"])
        self.assertEqual(self.kms.decrypt(CiphertextBlob=cli_blob)["Plaintext"], b"from the cli")

        # A store with keys cannot be deleted.
        self.kms.disconnect_custom_key_store(CustomKeyStoreId=sid)
        self.assert_error("CustomKeyStoreHasCMKsException", self.kms.delete_custom_key_store,
                          CustomKeyStoreId=sid)
        # Disconnected: the key is Unavailable and cannot be used.
        md = self.kms.describe_key(KeyId=key_id)["KeyMetadata"]
        self.assertEqual(md["KeyState"], "Unavailable")
        self.assertFalse(md["Enabled"])
        msg = self.assert_error("KMSInvalidStateException", self.kms.encrypt, KeyId=key_id,
                                Plaintext=b"x")
        self.assertEqual(msg, arn + " is unavailable.")
        self.assert_error("KMSInvalidStateException", self.kms.decrypt, CiphertextBlob=blob,
                          EncryptionContext=ctx)
        self.assert_error("KMSInvalidStateException", self.kms.generate_data_key, KeyId=key_id,
                          KeySpec="AES_256")
        self.assert_error("CustomKeyStoreInvalidStateException", self.kms.create_key,
                          Origin="AWS_CLOUDHSM", CustomKeyStoreId=sid)
        self.assert_error("CustomKeyStoreInvalidStateException", self.kms.generate_random,
                          NumberOfBytes=8, CustomKeyStoreId=sid)

        # Connected again, then a restart: the connection comes back and old ciphertext decrypts.
        self.kms.connect_custom_key_store(CustomKeyStoreId=sid)
        self.s.restart()
        self.kms = self.s.client("kms")
        type(self).kms = self.kms
        self.assertEqual(self.store(sid)["ConnectionState"], "CONNECTED")
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"],
                         b"hsm secret")
        self.assertEqual(self.kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"], "Enabled")

        # Deleting the KMS key destroys the token key when the waiting period ends.
        self.kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        self.assertEqual(len(self.token_keys("cks-main", PIN_MAIN, "kms:" + arn)), 1)
        self.s.move_clock(advance_seconds=8 * 86400)
        self.assert_error("NotFoundException", self.kms.describe_key, KeyId=key_id)
        self.assertEqual(self.token_keys("cks-main", PIN_MAIN, "kms:" + arn), [])
        self.kms.disconnect_custom_key_store(CustomKeyStoreId=sid)
        self.kms.delete_custom_key_store(CustomKeyStoreId=sid)


if __name__ == "__main__":
    unittest.main()
