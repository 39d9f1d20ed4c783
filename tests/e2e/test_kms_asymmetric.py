"""KMS asymmetric, HMAC and key-agreement keys end to end with boto3, the aws CLI and the openssl
CLI: CreateKey/DescribeKey per spec, Sign/Verify (RAW and DIGEST) checked by openssl through
GetPublicKey, RSAES_OAEP encryption by openssl decrypted by KMS, SM2PKE, GenerateDataKeyPair,
GenerateMac/VerifyMac, DeriveSharedSecret against openssl's ECDH, AWS's errors for bad input and
the CloudTrail records of successes and failures."""

import base64
import hashlib
import json
import os
import subprocess
import tempfile
import unittest

import botocore.exceptions

import harness

RSA_SIGNING = ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
               "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
               "RSASSA_PKCS1_V1_5_SHA_512"]
ECDSA = {"ECC_NIST_P256": "ECDSA_SHA_256", "ECC_NIST_P384": "ECDSA_SHA_384",
         "ECC_NIST_P521": "ECDSA_SHA_512", "ECC_SECG_P256K1": "ECDSA_SHA_256"}
HASH_OF = {"256": "sha256", "384": "sha384", "512": "sha512"}


def openssl(*args, input=None, check=True):
    return subprocess.run(["openssl", *args], input=input, capture_output=True, check=check)


class KmsAsymmetricTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.CitadelServer()
        cls.s.start()
        cls.kms = cls.s.client("kms")
        cls.acct = cls.s.account_id
        cls.region = cls.s.region
        cls.tmp = tempfile.TemporaryDirectory()
        cls.keys = {}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        cls.s.__exit__(None, None, None)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def write(self, name, data):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def assert_error(self, code, fn, *args, message=None, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], code, cm.exception.response)
        if message is not None:
            self.assertEqual(err.get("Message", ""), message)
        return cm.exception

    def key(self, spec, usage):
        """One key per (spec, usage) for the whole class (RSA generation is slow)."""
        if (spec, usage) not in self.keys:
            self.keys[(spec, usage)] = self.kms.create_key(KeySpec=spec,
                                                           KeyUsage=usage)["KeyMetadata"]
        return self.keys[(spec, usage)]

    def public_pem(self, key_id):
        der = self.kms.get_public_key(KeyId=key_id)["PublicKey"]
        der_path = self.write(f"{key_id}.der", der)
        pem_path = self.path(f"{key_id}.pem")
        openssl("pkey", "-pubin", "-inform", "DER", "-in", der_path, "-out", pem_path)
        return pem_path

    def records(self, event_name):
        events = self.s.lookup_all(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": event_name}])
        return harness.cloudtrail_records(events)

    # ---- keys ----------------------------------------------------------------------------

    def test_create_and_describe_every_spec(self):
        expect = {
            ("RSA_2048", "ENCRYPT_DECRYPT"): ("EncryptionAlgorithms",
                                              ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]),
            ("RSA_3072", "SIGN_VERIFY"): ("SigningAlgorithms", RSA_SIGNING),
            ("ECC_NIST_P256", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_256"]),
            ("ECC_NIST_P384", "KEY_AGREEMENT"): ("KeyAgreementAlgorithms", ["ECDH"]),
            ("ECC_SECG_P256K1", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_256"]),
            ("SM2", "ENCRYPT_DECRYPT"): ("EncryptionAlgorithms", ["SM2PKE"]),
            ("SM2", "KEY_AGREEMENT"): ("KeyAgreementAlgorithms", ["ECDH"]),
            ("HMAC_384", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", ["HMAC_SHA_384"]),
        }
        for (spec, usage), (field, algs) in expect.items():
            md = self.key(spec, usage)
            self.assertEqual(md["KeySpec"], spec)
            self.assertEqual(md["CustomerMasterKeySpec"], spec)
            self.assertEqual(md["KeyUsage"], usage)
            self.assertEqual(md["KeyState"], "Enabled")
            self.assertEqual(md[field], algs)
            for other in {"EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms",
                          "KeyAgreementAlgorithms"} - {field}:
                self.assertNotIn(other, md, (spec, usage))
            self.assertEqual(self.kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"], md)
        # The default usage of an HMAC spec and of an ECC spec.
        self.assertEqual(self.kms.create_key(KeySpec="HMAC_256")["KeyMetadata"]["KeyUsage"],
                         "GENERATE_VERIFY_MAC")
        # The aws CLI prints the same fields.
        ed = self.s.aws("kms", "create-key", "--key-spec", "ECC_NIST_EDWARDS25519",
                        "--key-usage", "SIGN_VERIFY").json["KeyMetadata"]
        self.assertEqual(ed["SigningAlgorithms"], ["ED25519_SHA_512", "ED25519_PH_SHA_512"])

    def test_create_key_usage_and_spec_errors(self):
        for spec, usage in [("ECC_SECG_P256K1", "KEY_AGREEMENT"), ("HMAC_256", "SIGN_VERIFY"),
                            ("RSA_2048", "KEY_AGREEMENT"), ("ECC_NIST_P256", "ENCRYPT_DECRYPT"),
                            ("ECC_NIST_EDWARDS25519", "KEY_AGREEMENT"),
                            ("RSA_4096", "GENERATE_VERIFY_MAC")]:
            err = self.assert_error("ValidationException", self.kms.create_key, KeySpec=spec,
                                    KeyUsage=usage)
            self.assertIn(spec, err.response["Error"]["Message"])
        for spec in ["ML_DSA_44", "ML_DSA_65", "ML_DSA_87"]:
            err = self.assert_error("UnsupportedOperationException", self.kms.create_key,
                                    KeySpec=spec, KeyUsage="SIGN_VERIFY")
            self.assertIn(spec, err.response["Error"]["Message"])

    # ---- Sign / Verify -------------------------------------------------------------------

    def check_signature(self, md, alg, message):
        """Signs RAW and DIGEST with KMS, verifies both with openssl and with KMS Verify."""
        kid = md["KeyId"]
        spec = md["KeySpec"]
        pem = self.public_pem(kid)
        msg_path = self.write(f"msg-{kid}-{alg}", message)
        raw = self.kms.sign(KeyId=kid, Message=message, SigningAlgorithm=alg)
        self.assertEqual(raw["KeyId"], md["Arn"])
        self.assertEqual(raw["SigningAlgorithm"], alg)
        sig_path = self.write(f"sig-{kid}-{alg}", raw["Signature"])
        if spec == "ECC_NIST_EDWARDS25519":
            res = openssl("pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin", "-in",
                          msg_path, "-sigfile", sig_path, check=False)
            self.assertEqual(res.returncode, 0, res.stderr)
            return
        if spec == "SM2":
            dgst = ["-sm3", "-sigopt", "distid:1234567812345678"]
        else:
            dgst = ["-" + HASH_OF[alg[-3:]]]
        pss = ["rsa_padding_mode:pss", "rsa_pss_saltlen:digest"] if "PSS" in alg else []
        opts = sum((["-sigopt", o] for o in pss), [])
        res = openssl("dgst", *dgst, *opts, "-verify", pem, "-signature", sig_path, msg_path,
                      check=False)
        self.assertEqual(res.returncode, 0, (alg, res.stdout, res.stderr))
        ok = self.kms.verify(KeyId=kid, Message=message, Signature=raw["Signature"],
                             SigningAlgorithm=alg)
        self.assertTrue(ok["SignatureValid"])
        if spec == "SM2":
            return  # SM2DSA's DIGEST is e = SM3(Z || M), checked by KMS Verify below
        digest = hashlib.new(HASH_OF[alg[-3:]], message).digest()
        dsig = self.kms.sign(KeyId=kid, Message=digest, MessageType="DIGEST",
                             SigningAlgorithm=alg)["Signature"]
        dsig_path = self.write(f"dsig-{kid}-{alg}", dsig)
        dig_path = self.write(f"dig-{kid}-{alg}", digest)
        popts = ["-pkeyopt", "digest:" + HASH_OF[alg[-3:]]]
        for o in pss:
            popts += ["-pkeyopt", o]
        res = openssl("pkeyutl", "-verify", "-pubin", "-inkey", pem, "-in", dig_path,
                      "-sigfile", dsig_path, *popts, check=False)
        self.assertEqual(res.returncode, 0, (alg, res.stdout, res.stderr))
        # A DIGEST signature is a signature of the message.
        self.assertTrue(self.kms.verify(KeyId=kid, Message=message, Signature=dsig,
                                        SigningAlgorithm=alg)["SignatureValid"])

    def test_sign_rsa_every_algorithm_verified_by_openssl(self):
        md = self.key("RSA_2048", "SIGN_VERIFY")
        for alg in RSA_SIGNING:
            self.check_signature(md, alg, b"pay 100 to alice " + alg.encode())

    def test_sign_ecc_sm2_ed25519_verified_by_openssl(self):
        for spec, alg in ECDSA.items():
            self.check_signature(self.key(spec, "SIGN_VERIFY"), alg, b"ecc message " * 40)
        self.check_signature(self.key("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"),
                             "ED25519_SHA_512", b"edwards")
        sm2 = self.key("SM2", "SIGN_VERIFY")
        self.check_signature(sm2, "SM2DSA", b"sm2 message")
        # SM2DSA with DIGEST: the digest is e = SM3(Z_A || M) (GB/T 32918.2), Z_A computed here
        # from the curve parameters openssl prints and the key GetPublicKey returns; openssl
        # then verifies the DIGEST signature over M itself.
        params = openssl("ecparam", "-name", "SM2", "-param_enc", "explicit", "-outform",
                         "DER").stdout
        dump = openssl("asn1parse", "-inform", "DER", input=params).stdout.decode()
        octets = [bytes.fromhex(line.rsplit(":", 1)[1]) for line in dump.splitlines()
                  if "OCTET STRING" in line]
        a, b, g = octets[0], octets[1], octets[2][1:]
        point = self.kms.get_public_key(KeyId=sm2["KeyId"])["PublicKey"][-64:]
        uid = b"1234567812345678"
        z = hashlib.new("sm3", (len(uid) * 8).to_bytes(2, "big") + uid + a + b + g +
                        point).digest()
        message = b"sm2 digest message"
        e = hashlib.new("sm3", z + message).digest()
        sig = self.kms.sign(KeyId=sm2["KeyId"], Message=e, MessageType="DIGEST",
                            SigningAlgorithm="SM2DSA")["Signature"]
        self.assertTrue(self.kms.verify(KeyId=sm2["KeyId"], Message=e, MessageType="DIGEST",
                                        Signature=sig, SigningAlgorithm="SM2DSA")
                        ["SignatureValid"])
        res = openssl("dgst", "-sm3", "-sigopt", "distid:1234567812345678", "-verify",
                      self.public_pem(sm2["KeyId"]), "-signature", self.write("sm2-dsig", sig),
                      self.write("sm2-dmsg", message), check=False)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(self.kms.verify(KeyId=sm2["KeyId"], Message=message, Signature=sig,
                                        SigningAlgorithm="SM2DSA")["SignatureValid"])

    def test_sign_with_aws_cli_and_openssl_signature_verified_by_kms(self):
        md = self.key("ECC_NIST_P256", "SIGN_VERIFY")
        msg = self.write("cli-msg", b"signed by the aws CLI")
        out = self.s.aws("kms", "sign", "--key-id", md["KeyId"], "--message", f"fileb://{msg}",
                         "--signing-algorithm", "ECDSA_SHA_256").json
        sig = base64.b64decode(out["Signature"])
        sig_path = self.write("cli-sig", sig)
        ver = self.s.aws("kms", "verify", "--key-id", md["KeyId"], "--message", f"fileb://{msg}",
                         "--signature", f"fileb://{sig_path}", "--signing-algorithm",
                         "ECDSA_SHA_256").json
        self.assertTrue(ver["SignatureValid"])
        pub = self.s.aws("kms", "get-public-key", "--key-id", md["KeyId"]).json
        self.assertEqual(pub["KeySpec"], "ECC_NIST_P256")
        self.assertEqual(pub["KeyUsage"], "SIGN_VERIFY")
        self.assertEqual(pub["SigningAlgorithms"], ["ECDSA_SHA_256"])
        der = self.write("cli-pub.der", base64.b64decode(pub["PublicKey"]))
        text = openssl("pkey", "-pubin", "-inform", "DER", "-in", der, "-text",
                       "-noout").stdout.decode()
        self.assertIn("prime256v1", text)
        # A tampered signature or message: KMSInvalidSignatureException.
        bad = bytearray(sig)
        bad[-3] ^= 0x01
        self.assert_error("KMSInvalidSignatureException", self.kms.verify, KeyId=md["KeyId"],
                          Message=b"signed by the aws CLI", Signature=bytes(bad),
                          SigningAlgorithm="ECDSA_SHA_256")
        self.assert_error("KMSInvalidSignatureException", self.kms.verify, KeyId=md["KeyId"],
                          Message=b"signed by the aws CLX", Signature=sig,
                          SigningAlgorithm="ECDSA_SHA_256")

    def test_get_public_key_fields(self):
        md = self.key("RSA_2048", "ENCRYPT_DECRYPT")
        pub = self.kms.get_public_key(KeyId=md["KeyId"])
        self.assertEqual(pub["KeyId"], md["Arn"])
        self.assertEqual(pub["KeySpec"], "RSA_2048")
        self.assertEqual(pub["CustomerMasterKeySpec"], "RSA_2048")
        self.assertEqual(pub["KeyUsage"], "ENCRYPT_DECRYPT")
        self.assertEqual(pub["EncryptionAlgorithms"], ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
        self.assertNotIn("SigningAlgorithms", pub)
        agree = self.key("ECC_NIST_P384", "KEY_AGREEMENT")
        self.assertEqual(self.kms.get_public_key(KeyId=agree["KeyId"])["KeyAgreementAlgorithms"],
                         ["ECDH"])
        sym = self.kms.create_key()["KeyMetadata"]
        self.assert_error("UnsupportedOperationException", self.kms.get_public_key,
                          KeyId=sym["KeyId"])

    # ---- asymmetric encryption -----------------------------------------------------------

    def test_openssl_oaep_encrypts_kms_decrypts(self):
        md = self.key("RSA_2048", "ENCRYPT_DECRYPT")
        kid = md["KeyId"]
        pem = self.public_pem(kid)
        for alg, md_name in [("RSAES_OAEP_SHA_1", "sha1"), ("RSAES_OAEP_SHA_256", "sha256")]:
            secret = os.urandom(100)
            src = self.write(f"oaep-{alg}", secret)
            ct_path = self.path(f"oaep-{alg}.ct")
            openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", pem, "-in", src, "-out", ct_path,
                    "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", f"rsa_oaep_md:{md_name}",
                    "-pkeyopt", f"rsa_mgf1_md:{md_name}")
            with open(ct_path, "rb") as f:
                ct = f.read()
            self.assertEqual(len(ct), 256)
            out = self.kms.decrypt(KeyId=kid, CiphertextBlob=ct, EncryptionAlgorithm=alg)
            self.assertEqual(out["Plaintext"], secret)
            self.assertEqual(out["EncryptionAlgorithm"], alg)
            self.assertEqual(out["KeyId"], md["Arn"])
            # KMS's own ciphertext is the raw RSA ciphertext and decrypts back.
            enc = self.kms.encrypt(KeyId=kid, Plaintext=b"kms side", EncryptionAlgorithm=alg)
            self.assertEqual(enc["EncryptionAlgorithm"], alg)
            self.assertEqual(len(enc["CiphertextBlob"]), 256)
            self.assertEqual(self.kms.decrypt(KeyId=kid, CiphertextBlob=enc["CiphertextBlob"],
                                              EncryptionAlgorithm=alg)["Plaintext"], b"kms side")
        # Wrong algorithm, missing algorithm, missing KeyId, plaintext too long.
        self.assert_error("InvalidKeyUsageException", self.kms.encrypt, KeyId=kid,
                          Plaintext=b"x",
                          message="Algorithm SYMMETRIC_DEFAULT is incompatible with key spec "
                                  "RSA_2048.")
        self.assert_error("InvalidKeyUsageException", self.kms.encrypt, KeyId=kid,
                          Plaintext=b"x", EncryptionAlgorithm="SM2PKE")
        self.assert_error("InvalidCiphertextException", self.kms.decrypt, CiphertextBlob=ct)
        self.assert_error("InvalidCiphertextException", self.kms.decrypt, KeyId=kid,
                          CiphertextBlob=ct[:-1] + bytes([ct[-1] ^ 1]),
                          EncryptionAlgorithm="RSAES_OAEP_SHA_256")
        self.assert_error("ValidationException", self.kms.encrypt, KeyId=kid,
                          Plaintext=b"x" * 191, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
        # The aws CLI.
        out = self.s.aws("kms", "decrypt", "--key-id", kid, "--ciphertext-blob",
                         f"fileb://{ct_path}", "--encryption-algorithm",
                         "RSAES_OAEP_SHA_256").json
        self.assertEqual(base64.b64decode(out["Plaintext"]), secret)

    def test_reencrypt_between_symmetric_and_rsa(self):
        rsa = self.key("RSA_2048", "ENCRYPT_DECRYPT")
        sym = self.kms.create_key()["KeyMetadata"]
        blob = self.kms.encrypt(KeyId=sym["KeyId"], Plaintext=b"move me")["CiphertextBlob"]
        moved = self.kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=rsa["KeyId"],
                                    DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1")
        self.assertEqual(moved["SourceEncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        self.assertEqual(moved["DestinationEncryptionAlgorithm"], "RSAES_OAEP_SHA_1")
        back = self.kms.re_encrypt(CiphertextBlob=moved["CiphertextBlob"],
                                   SourceKeyId=rsa["KeyId"],
                                   SourceEncryptionAlgorithm="RSAES_OAEP_SHA_1",
                                   DestinationKeyId=sym["KeyId"])
        self.assertEqual(back["SourceEncryptionAlgorithm"], "RSAES_OAEP_SHA_1")
        self.assertEqual(self.kms.decrypt(CiphertextBlob=back["CiphertextBlob"])["Plaintext"],
                         b"move me")

    def test_sm2pke_round_trip(self):
        md = self.key("SM2", "ENCRYPT_DECRYPT")
        kid = md["KeyId"]
        enc = self.kms.encrypt(KeyId=kid, Plaintext=b"sm2 secret", EncryptionAlgorithm="SM2PKE")
        self.assertEqual(enc["EncryptionAlgorithm"], "SM2PKE")
        dec = self.kms.decrypt(KeyId=kid, CiphertextBlob=enc["CiphertextBlob"],
                               EncryptionAlgorithm="SM2PKE")
        self.assertEqual(dec["Plaintext"], b"sm2 secret")
        self.assertEqual(dec["EncryptionAlgorithm"], "SM2PKE")
        # openssl encrypts with the public key (SM2 with SM3), KMS decrypts.
        pem = self.public_pem(kid)
        src = self.write("sm2-plain", b"from openssl")
        ct = self.path("sm2.ct")
        openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", pem, "-in", src, "-out", ct)
        with open(ct, "rb") as f:
            blob = f.read()
        self.assertEqual(self.kms.decrypt(KeyId=kid, CiphertextBlob=blob,
                                          EncryptionAlgorithm="SM2PKE")["Plaintext"],
                         b"from openssl")

    # ---- data key pairs ------------------------------------------------------------------

    def test_generate_data_key_pair_usable_by_openssl(self):
        sym = self.kms.create_key()["KeyMetadata"]
        ctx = {"purpose": "pair"}
        for spec, curve_or_bits in [("ECC_NIST_P256", "prime256v1"), ("RSA_2048", "2048 bit"),
                                    ("ECC_SECG_P256K1", "secp256k1")]:
            pair = self.kms.generate_data_key_pair(KeyId=sym["KeyId"], KeyPairSpec=spec,
                                                   EncryptionContext=ctx)
            self.assertEqual(pair["KeyPairSpec"], spec)
            self.assertEqual(pair["KeyId"], sym["Arn"])
            priv = self.write(f"pair-{spec}.der", pair["PrivateKeyPlaintext"])
            text = openssl("pkey", "-inform", "DER", "-in", priv, "-text",
                           "-noout").stdout.decode()
            self.assertIn(curve_or_bits, text)
            pub_from_priv = openssl("pkey", "-inform", "DER", "-in", priv, "-pubout",
                                    "-outform", "DER").stdout
            self.assertEqual(pub_from_priv, pair["PublicKey"])
            # The wrapped private key decrypts (with the context) to the same PKCS#8 bytes.
            dec = self.kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"],
                                   EncryptionContext=ctx)
            self.assertEqual(dec["Plaintext"], pair["PrivateKeyPlaintext"])
            # The private key signs; the public key verifies.
            msg = self.write(f"pair-msg-{spec}", b"data key pair")
            sig = self.path(f"pair-sig-{spec}")
            openssl("dgst", "-sha256", "-keyform", "DER", "-sign", priv, "-out", sig, msg)
            pub = self.write(f"pair-pub-{spec}.der", pair["PublicKey"])
            res = openssl("dgst", "-sha256", "-keyform", "DER", "-verify", pub, "-signature",
                          sig, msg, check=False)
            self.assertEqual(res.returncode, 0, res.stderr)
        without = self.kms.generate_data_key_pair_without_plaintext(KeyId=sym["KeyId"],
                                                                    KeyPairSpec="SM2")
        self.assertNotIn("PrivateKeyPlaintext", without)
        der = self.kms.decrypt(CiphertextBlob=without["PrivateKeyCiphertextBlob"])["Plaintext"]
        p = self.write("pair-sm2.der", der)
        self.assertEqual(openssl("pkey", "-inform", "DER", "-in", p, "-pubout", "-outform",
                                 "DER").stdout, without["PublicKey"])
        # Only a symmetric encryption key can wrap a pair.
        rsa = self.key("RSA_2048", "ENCRYPT_DECRYPT")
        self.assert_error("InvalidKeyUsageException", self.kms.generate_data_key_pair,
                          KeyId=rsa["KeyId"], KeyPairSpec="ECC_NIST_P256")
        mac = self.key("HMAC_256", "GENERATE_VERIFY_MAC")
        self.assert_error("InvalidKeyUsageException", self.kms.generate_data_key_pair,
                          KeyId=mac["KeyId"], KeyPairSpec="ECC_NIST_P256",
                          message=f"{mac['Arn']} key usage is GENERATE_VERIFY_MAC which is not "
                                  "valid for GenerateDataKeyPair.")
        # The aws CLI.
        out = self.s.aws("kms", "generate-data-key-pair", "--key-id", sym["KeyId"],
                         "--key-pair-spec", "ECC_NIST_P384").json
        self.assertEqual(out["KeyPairSpec"], "ECC_NIST_P384")
        self.assertIn("PrivateKeyPlaintext", out)

    # ---- HMAC ----------------------------------------------------------------------------

    def test_generate_and_verify_mac(self):
        sizes = {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}
        for spec, size in sizes.items():
            md = self.key(spec, "GENERATE_VERIFY_MAC")
            alg = "HMAC_SHA_" + spec[5:]
            out = self.kms.generate_mac(KeyId=md["KeyId"], Message=b"mac me", MacAlgorithm=alg)
            self.assertEqual(len(out["Mac"]), size)
            self.assertEqual(out["MacAlgorithm"], alg)
            self.assertEqual(out["KeyId"], md["Arn"])
            again = self.kms.generate_mac(KeyId=md["KeyId"], Message=b"mac me",
                                          MacAlgorithm=alg)["Mac"]
            self.assertEqual(again, out["Mac"])  # deterministic per key
            other = self.kms.generate_mac(KeyId=md["KeyId"], Message=b"mac mf",
                                          MacAlgorithm=alg)["Mac"]
            self.assertNotEqual(other, out["Mac"])
            ok = self.kms.verify_mac(KeyId=md["KeyId"], Message=b"mac me", Mac=out["Mac"],
                                     MacAlgorithm=alg)
            self.assertTrue(ok["MacValid"])
            bad = bytearray(out["Mac"])
            bad[0] ^= 0x80
            self.assert_error("KMSInvalidMacException", self.kms.verify_mac, KeyId=md["KeyId"],
                              Message=b"mac me", Mac=bytes(bad), MacAlgorithm=alg)
            self.assert_error("KMSInvalidMacException", self.kms.verify_mac, KeyId=md["KeyId"],
                              Message=b"mac mf", Mac=out["Mac"], MacAlgorithm=alg)
        # Two keys of the same spec give different MACs (the material is per key).
        k2 = self.kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
        m1 = self.kms.generate_mac(KeyId=self.key("HMAC_256", "GENERATE_VERIFY_MAC")["KeyId"],
                                   Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
        m2 = self.kms.generate_mac(KeyId=k2["KeyMetadata"]["KeyId"], Message=b"m",
                                   MacAlgorithm="HMAC_SHA_256")["Mac"]
        self.assertNotEqual(m1, m2)
        # Wrong algorithm for the spec; the aws CLI.
        md = self.key("HMAC_256", "GENERATE_VERIFY_MAC")
        self.assert_error("InvalidKeyUsageException", self.kms.generate_mac, KeyId=md["KeyId"],
                          Message=b"x", MacAlgorithm="HMAC_SHA_512")
        msg = self.write("mac-msg", b"cli mac")
        cli = self.s.aws("kms", "generate-mac", "--key-id", md["KeyId"], "--message",
                         f"fileb://{msg}", "--mac-algorithm", "HMAC_SHA_256").json
        mac_path = self.write("mac.bin", base64.b64decode(cli["Mac"]))
        ver = self.s.aws("kms", "verify-mac", "--key-id", md["KeyId"], "--message",
                         f"fileb://{msg}", "--mac", f"fileb://{mac_path}", "--mac-algorithm",
                         "HMAC_SHA_256").json
        self.assertTrue(ver["MacValid"])

    # ---- key agreement -------------------------------------------------------------------

    def test_derive_shared_secret_matches_openssl(self):
        for spec, curve in [("ECC_NIST_P256", "P-256"), ("ECC_NIST_P384", "P-384"),
                            ("ECC_NIST_P521", "P-521")]:
            md = self.key(spec, "KEY_AGREEMENT")
            local = self.path(f"local-{spec}.pem")
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{curve}",
                    "-out", local)
            local_pub = openssl("pkey", "-in", local, "-pubout", "-outform", "DER").stdout
            out = self.kms.derive_shared_secret(KeyId=md["KeyId"], KeyAgreementAlgorithm="ECDH",
                                                PublicKey=local_pub)
            self.assertEqual(out["KeyId"], md["Arn"])
            self.assertEqual(out["KeyAgreementAlgorithm"], "ECDH")
            self.assertEqual(out["KeyOrigin"], "AWS_KMS")
            peer = self.public_pem(md["KeyId"])
            expected = openssl("pkeyutl", "-derive", "-inkey", local, "-peerkey", peer).stdout
            self.assertEqual(out["SharedSecret"], expected)
        # A peer key on another curve; a signing key; the aws CLI.
        md = self.key("ECC_NIST_P256", "KEY_AGREEMENT")
        other = self.kms.get_public_key(KeyId=self.key("ECC_NIST_P384",
                                                       "KEY_AGREEMENT")["KeyId"])["PublicKey"]
        self.assert_error("ValidationException", self.kms.derive_shared_secret,
                          KeyId=md["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=other)
        signer = self.key("ECC_NIST_P256", "SIGN_VERIFY")
        self.assert_error("InvalidKeyUsageException", self.kms.derive_shared_secret,
                          KeyId=signer["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=other,
                          message=f"{signer['Arn']} key usage is SIGN_VERIFY which is not valid "
                                  "for DeriveSharedSecret.")
        pub = self.write("ecdh-peer.der", openssl(
            "pkey", "-in", self.path("local-ECC_NIST_P256.pem"), "-pubout", "-outform",
            "DER").stdout)
        cli = self.s.aws("kms", "derive-shared-secret", "--key-id", md["KeyId"],
                         "--key-agreement-algorithm", "ECDH", "--public-key",
                         f"fileb://{pub}").json
        self.assertEqual(len(base64.b64decode(cli["SharedSecret"])), 32)

    # ---- bad input and CloudTrail --------------------------------------------------------

    def test_bad_input_and_cloudtrail(self):
        ecc = self.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        kid = ecc["KeyId"]
        self.kms.sign(KeyId=kid, Message=b"SECRET-MESSAGE-TEXT", SigningAlgorithm="ECDSA_SHA_256")
        self.assert_error("InvalidKeyUsageException", self.kms.sign, KeyId=kid,
                          Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256",
                          message="Algorithm RSASSA_PSS_SHA_256 is incompatible with key spec "
                                  "ECC_NIST_P256.")
        self.assert_error("ValidationException", self.kms.sign, KeyId=kid,
                          Message=b"0" * 31, MessageType="DIGEST",
                          SigningAlgorithm="ECDSA_SHA_256",
                          message="Digest is invalid length for algorithm ECDSA_SHA_256.")
        self.assert_error("InvalidKeyUsageException", self.kms.encrypt, KeyId=kid,
                          Plaintext=b"x",
                          message=f"{ecc['Arn']} key usage is SIGN_VERIFY which is not valid "
                                  "for Encrypt.")
        rsa_enc = self.key("RSA_2048", "ENCRYPT_DECRYPT")
        self.assert_error("InvalidKeyUsageException", self.kms.sign, KeyId=rsa_enc["KeyId"],
                          Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256",
                          message=f"{rsa_enc['Arn']} key usage is ENCRYPT_DECRYPT which is not "
                                  "valid for Sign.")
        self.assert_error("InvalidKeyUsageException", self.kms.decrypt, KeyId=kid,
                          CiphertextBlob=b"\x01" * 64,
                          message=f"{ecc['Arn']} key usage is SIGN_VERIFY which is not valid "
                                  "for Decrypt.")
        self.assert_error("InvalidKeyUsageException", self.kms.generate_mac, KeyId=kid,
                          Message=b"m", MacAlgorithm="HMAC_SHA_256")
        self.assert_error("InvalidKeyUsageException", self.kms.generate_data_key,
                          KeyId=rsa_enc["KeyId"], KeySpec="AES_256")
        sym = self.kms.create_key()["KeyMetadata"]
        self.assert_error("InvalidKeyUsageException", self.kms.sign, KeyId=sym["KeyId"],
                          Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
        self.kms.disable_key(KeyId=kid)
        self.assert_error("DisabledException", self.kms.sign, KeyId=kid, Message=b"m",
                          SigningAlgorithm="ECDSA_SHA_256", message=f"{ecc['Arn']} is disabled.")
        self.assert_error("DisabledException", self.kms.get_public_key, KeyId=kid)
        self.kms.enable_key(KeyId=kid)
        self.kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        self.assert_error("KMSInvalidStateException", self.kms.verify, KeyId=kid, Message=b"m",
                          Signature=b"s", SigningAlgorithm="ECDSA_SHA_256",
                          message=f"{ecc['Arn']} is pending deletion.")
        sym_blob = self.kms.encrypt(KeyId=sym["KeyId"],
                                    Plaintext=b"TOP-SECRET-PLAINTEXT")["CiphertextBlob"]
        self.kms.decrypt(CiphertextBlob=sym_blob)
        self.s.lookup_all()  # let read events be written

        signs = [r for r in self.records("Sign")
                 if (r["requestParameters"] or {}).get("keyId") == kid]
        ok = [r for r in signs if "errorCode" not in r]
        self.assertEqual(len(ok), 1)
        self.assertEqual(ok[0]["requestParameters"],
                         {"keyId": kid, "messageType": "RAW", "signingAlgorithm": "ECDSA_SHA_256"})
        self.assertEqual(ok[0]["resources"], [{"accountId": self.acct, "type": "AWS::KMS::Key",
                                               "ARN": ecc["Arn"]}])
        self.assertIsNone(ok[0]["responseElements"])
        self.assertNotIn("SECRET-MESSAGE", json.dumps(ok[0]))
        codes = sorted(r["errorCode"] for r in signs if r.get("errorCode"))
        self.assertEqual(codes, ["DisabledException", "InvalidKeyUsageException",
                                 "ValidationException"])
        digest_fail = [r for r in signs if r.get("errorCode") == "ValidationException"][0]
        self.assertEqual(digest_fail["requestParameters"]["messageType"], "DIGEST")
        self.assertEqual(digest_fail["errorMessage"],
                         "Digest is invalid length for algorithm ECDSA_SHA_256.")
        verifies = [r for r in self.records("Verify")
                    if (r["requestParameters"] or {}).get("keyId") == kid]
        self.assertEqual([r["errorCode"] for r in verifies], ["KMSInvalidStateException"])
        # Encrypt/Decrypt records always print the algorithm and never the plaintext.
        enc = [r for r in self.records("Encrypt")
               if (r["requestParameters"] or {}).get("keyId") == sym["KeyId"]]
        self.assertEqual(enc[0]["requestParameters"]["encryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        self.assertNotIn("plaintext", enc[0]["requestParameters"])
        self.assertNotIn("TOP-SECRET", json.dumps(enc[0]))
        dec = [r for r in self.records("Decrypt")
               if r.get("resources") and r["resources"][0]["ARN"] == sym["Arn"]]
        self.assertEqual(dec[0]["requestParameters"], {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"})
        macs = [r for r in self.records("GenerateMac")
                if (r["requestParameters"] or {}).get("keyId") == kid]
        self.assertEqual(macs[0]["errorCode"], "InvalidKeyUsageException")
        self.assertEqual(macs[0]["requestParameters"]["macAlgorithm"], "HMAC_SHA_256")
        self.assertNotIn("message", macs[0]["requestParameters"])


if __name__ == "__main__":
    unittest.main()
