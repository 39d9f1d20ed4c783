"""KMS imported key material end to end (Origin EXTERNAL) against `citadel serve --dev`:
GetParametersForImport and ImportKeyMaterial with the material prepared by the openssl CLI
exactly as AWS's documentation shows (RSAES_OAEP_SHA_256 with `openssl pkeyutl`, and
RSA_AES_KEY_WRAP_SHA_256 with `openssl enc -id-aes256-wrap-pad`), the aws CLI and boto3;
DeleteImportedKeyMaterial, re-import of the same material (old ciphertexts decrypt again) and
refusal of different material, import token errors, expiry through the moved clock, and the
CloudTrail records."""

import base64
import datetime
import hashlib
import hmac
import os
import subprocess
import tempfile
import unittest

import botocore.exceptions

import harness

DAY = 24 * 3600


def sh(cmd, cwd):
    """Runs a shell command line (as the documentation writes it) in `cwd`."""
    proc = subprocess.run(["sh", "-c", cmd], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{cmd} exited {proc.returncode}: {proc.stderr}")
    return proc


def read(directory, name):
    with open(os.path.join(directory, name), "rb") as f:
        return f.read()


class KmsImportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.CitadelServer(dev=True)
        cls.s.start()
        cls.kms = cls.s.client("kms")

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="citadel-import-")
        self.addCleanup(lambda: __import__("shutil").rmtree(self.dir, ignore_errors=True))

    def assert_error(self, code, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception

    def external_key(self, **kwargs):
        md = self.kms.create_key(Origin="EXTERNAL", **kwargs)["KeyMetadata"]
        self.assertEqual(md["Origin"], "EXTERNAL")
        self.assertEqual(md["KeyState"], "PendingImport")
        self.assertFalse(md["Enabled"])
        return md

    def parameters(self, key_id, algorithm="RSAES_OAEP_SHA_256", spec="RSA_2048"):
        """GetParametersForImport with the aws CLI; writes PublicKey.bin and ImportToken.bin as
        AWS's documentation does (base64-decoded)."""
        out = self.s.aws("kms", "get-parameters-for-import", "--key-id", key_id,
                         "--wrapping-algorithm", algorithm, "--wrapping-key-spec", spec).json
        with open(os.path.join(self.dir, "PublicKey.bin"), "wb") as f:
            f.write(base64.b64decode(out["PublicKey"]))
        with open(os.path.join(self.dir, "ImportToken.bin"), "wb") as f:
            f.write(base64.b64decode(out["ImportToken"]))
        return out

    def wrap_oaep_sha256(self, material="PlaintextKeyMaterial.bin"):
        sh(f"openssl pkeyutl -encrypt -in {material} -out EncryptedKeyMaterial.bin "
           "-inkey PublicKey.bin -keyform DER -pubin -pkeyopt rsa_padding_mode:oaep "
           "-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256", self.dir)

    def wrap_aes_key_wrap_sha256(self, material="PlaintextKeyMaterial.bin"):
        sh("openssl rand -out aes-key.bin 32", self.dir)
        sh("openssl enc -id-aes256-wrap-pad -K \"$(xxd -p < aes-key.bin | tr -d '\\n')\" "
           f"-iv A65959A6 -in {material} -out key-material-wrapped.bin", self.dir)
        sh("openssl pkeyutl -encrypt -in aes-key.bin -out aes-key-wrapped.bin "
           "-inkey PublicKey.bin -keyform DER -pubin -pkeyopt rsa_padding_mode:oaep "
           "-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256", self.dir)
        sh("cat aes-key-wrapped.bin key-material-wrapped.bin > EncryptedKeyMaterial.bin",
           self.dir)

    def import_cli(self, key_id, *extra, check=True):
        return self.s.aws("kms", "import-key-material", "--key-id", key_id,
                          "--encrypted-key-material", "fileb://" + os.path.join(
                              self.dir, "EncryptedKeyMaterial.bin"),
                          "--import-token", "fileb://" + os.path.join(self.dir, "ImportToken.bin"),
                          *(extra or ("--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE")),
                          check=check)

    def server_now(self):
        """citadel's clock (moved by earlier tests): the creation date of a fresh key."""
        return self.kms.create_key(Description="clock")["KeyMetadata"]["CreationDate"]

    # ---- the documented procedures -------------------------------------------------------

    def test_import_oaep_sha256_delete_and_reimport(self):
        md = self.external_key()
        key_id = md["KeyId"]
        params = self.parameters(key_id)
        self.assertEqual(params["KeyId"], md["Arn"])
        # The CLI prints the wire value (epoch seconds): valid for 24 hours.
        valid_to = params["ParametersValidTo"]
        if isinstance(valid_to, str):
            valid_to = datetime.datetime.fromisoformat(valid_to).timestamp()
        created = md["CreationDate"].timestamp()
        self.assertAlmostEqual(valid_to - created, DAY, delta=120)
        # The wrapping public key is a 2048-bit RSA SubjectPublicKeyInfo openssl reads.
        text = sh("openssl pkey -pubin -inform DER -in PublicKey.bin -noout -text", self.dir)
        self.assertIn("2048 bit", text.stdout)

        sh("openssl rand -out PlaintextKeyMaterial.bin 32", self.dir)
        self.wrap_oaep_sha256()
        out = self.import_cli(key_id).json
        self.assertEqual(out["KeyId"], md["Arn"])
        material_id = out["KeyMaterialId"]
        self.assertEqual(len(material_id), 64)

        desc = self.kms.describe_key(KeyId=key_id)["KeyMetadata"]
        self.assertEqual(desc["KeyState"], "Enabled")
        self.assertEqual(desc["ExpirationModel"], "KEY_MATERIAL_DOES_NOT_EXPIRE")
        self.assertNotIn("ValidTo", desc)
        blob = self.kms.encrypt(KeyId=key_id, Plaintext=b"imported")["CiphertextBlob"]
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"imported")

        # Delete the material: the key waits for an import, ciphertexts do not decrypt.
        deleted = self.kms.delete_imported_key_material(KeyId=key_id)
        self.assertEqual(deleted["KeyMaterialId"], material_id)
        self.assertEqual(self.kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"],
                         "PendingImport")
        self.assert_error("KMSInvalidStateException", self.kms.decrypt, CiphertextBlob=blob)
        self.assert_error("KMSInvalidStateException", self.kms.encrypt, KeyId=key_id,
                          Plaintext=b"x")
        self.assert_error("KMSInvalidStateException", self.kms.delete_imported_key_material,
                          KeyId=key_id)

        # Different material is refused.
        self.parameters(key_id)
        sh("openssl rand -out Other.bin 32", self.dir)
        self.wrap_oaep_sha256("Other.bin")
        proc = self.import_cli(key_id, check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("IncorrectKeyMaterialException", proc.stderr)
        self.assertEqual(self.kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"],
                         "PendingImport")

        # The same material (under a new token) brings the old ciphertext back.
        self.wrap_oaep_sha256()
        again = self.import_cli(key_id).json
        self.assertEqual(again["KeyMaterialId"], material_id)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"imported")

        # Imported keys never rotate; ListKeyRotations shows the imported material.
        rotations = self.kms.list_key_rotations(KeyId=key_id,
                                                IncludeKeyMaterial="ALL_KEY_MATERIAL")
        self.assertEqual(len(rotations["Rotations"]), 1)
        self.assertEqual(rotations["Rotations"][0]["KeyMaterialId"], material_id)
        self.assertEqual(rotations["Rotations"][0]["ImportState"], "IMPORTED")
        self.assert_error("UnsupportedOperationException", self.kms.enable_key_rotation,
                          KeyId=key_id)

        # CloudTrail recorded each step.
        names = {e["EventName"] for e in self.s.lookup_all(LookupAttributes=[
            {"AttributeKey": "ResourceName", "AttributeValue": md["Arn"]}])}
        for name in ("GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial"):
            self.assertIn(name, names)

    def test_import_rsa_aes_key_wrap_sha256_rsa_4096(self):
        key_id = self.external_key()["KeyId"]
        self.parameters(key_id, algorithm="RSA_AES_KEY_WRAP_SHA_256", spec="RSA_4096")
        sh("openssl rand -out PlaintextKeyMaterial.bin 32", self.dir)
        self.wrap_aes_key_wrap_sha256()
        # 512 bytes of wrapped AES key, then 40 bytes of wrapped material.
        self.assertEqual(len(read(self.dir, "EncryptedKeyMaterial.bin")), 512 + 40)
        self.import_cli(key_id)
        blob = self.kms.encrypt(KeyId=key_id, Plaintext=b"wrapped")["CiphertextBlob"]
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"wrapped")

    def test_import_oaep_sha1_with_boto3(self):
        key_id = self.external_key()["KeyId"]
        params = self.kms.get_parameters_for_import(KeyId=key_id,
                                                    WrappingAlgorithm="RSAES_OAEP_SHA_1",
                                                    WrappingKeySpec="RSA_3072")
        with open(os.path.join(self.dir, "PublicKey.bin"), "wb") as f:
            f.write(params["PublicKey"])
        sh("openssl rand -out PlaintextKeyMaterial.bin 32", self.dir)
        sh("openssl pkeyutl -encrypt -in PlaintextKeyMaterial.bin -out EncryptedKeyMaterial.bin "
           "-inkey PublicKey.bin -keyform DER -pubin -pkeyopt rsa_padding_mode:oaep "
           "-pkeyopt rsa_oaep_md:sha1", self.dir)
        out = self.kms.import_key_material(
            KeyId=key_id, ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=read(self.dir, "EncryptedKeyMaterial.bin"),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        self.assertEqual(len(out["KeyMaterialId"]), 64)
        dk = self.kms.generate_data_key(KeyId=key_id, NumberOfBytes=32)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"],
                         dk["Plaintext"])

    def test_imported_hmac_key_computes_the_same_mac(self):
        try:
            key_id = self.external_key(KeySpec="HMAC_256",
                                       KeyUsage="GENERATE_VERIFY_MAC")["KeyId"]
        except botocore.exceptions.ClientError as e:
            self.assertEqual(e.response["Error"]["Code"], "UnsupportedOperationException")
            self.skipTest("HMAC keys are not implemented in this build")
        self.parameters(key_id)
        sh("openssl rand -out PlaintextKeyMaterial.bin 32", self.dir)
        self.wrap_oaep_sha256()
        self.import_cli(key_id)
        mac = self.kms.generate_mac(KeyId=key_id, Message=b"message",
                                    MacAlgorithm="HMAC_SHA_256")["Mac"]
        material = read(self.dir, "PlaintextKeyMaterial.bin")
        self.assertEqual(mac, hmac.new(material, b"message", hashlib.sha256).digest())

    def test_imported_rsa_signing_key_signs_like_openssl(self):
        try:
            md = self.external_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
        except botocore.exceptions.ClientError as e:
            self.assertEqual(e.response["Error"]["Code"], "UnsupportedOperationException")
            self.skipTest("RSA keys are not implemented in this build")
        key_id = md["KeyId"]
        # AWS's documentation: a PKCS#8 DER private key, wrapped with RSA_AES_KEY_WRAP_SHA_256.
        sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out private.pem",
           self.dir)
        sh("openssl pkcs8 -topk8 -inform PEM -outform DER -in private.pem "
           "-out PlaintextKeyMaterial.der -nocrypt", self.dir)
        self.parameters(key_id, algorithm="RSA_AES_KEY_WRAP_SHA_256", spec="RSA_4096")
        self.wrap_aes_key_wrap_sha256("PlaintextKeyMaterial.der")
        self.import_cli(key_id)

        sh("openssl pkey -in private.pem -pubout -outform DER -out public.der", self.dir)
        self.assertEqual(self.kms.get_public_key(KeyId=key_id)["PublicKey"],
                         read(self.dir, "public.der"))
        # PKCS#1 v1.5 signatures are deterministic: KMS and openssl agree byte for byte.
        with open(os.path.join(self.dir, "message.txt"), "wb") as f:
            f.write(b"signed with imported material")
        sig = self.kms.sign(KeyId=key_id, Message=b"signed with imported material",
                            SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["Signature"]
        sh("openssl dgst -sha256 -sign private.pem -out expected.sig message.txt",
                      self.dir)
        self.assertEqual(sig, read(self.dir, "expected.sig"))

        # Deleted material: no signing; the same key material comes back.
        self.kms.delete_imported_key_material(KeyId=key_id)
        self.assert_error("KMSInvalidStateException", self.kms.sign, KeyId=key_id,
                          Message=b"x", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")
        self.parameters(key_id, algorithm="RSA_AES_KEY_WRAP_SHA_256", spec="RSA_4096")
        self.wrap_aes_key_wrap_sha256("PlaintextKeyMaterial.der")
        self.import_cli(key_id)
        again = self.kms.sign(KeyId=key_id, Message=b"signed with imported material",
                              SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["Signature"]
        self.assertEqual(again, sig)

    # ---- errors --------------------------------------------------------------------------

    def test_parameter_and_token_errors(self):
        aws_kms_key = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.assert_error("UnsupportedOperationException", self.kms.get_parameters_for_import,
                          KeyId=aws_kms_key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                          WrappingKeySpec="RSA_2048")
        key_id = self.external_key()["KeyId"]
        self.assert_error("ValidationException", self.kms.get_parameters_for_import,
                          KeyId=key_id, WrappingAlgorithm="SM2PKE", WrappingKeySpec="RSA_2048")
        self.assert_error("UnsupportedOperationException", self.kms.get_parameters_for_import,
                          KeyId=key_id, WrappingAlgorithm="RSAES_PKCS1_V1_5",
                          WrappingKeySpec="RSA_2048")

        params = self.parameters(key_id)
        token = base64.b64decode(params["ImportToken"])
        sh("openssl rand -out PlaintextKeyMaterial.bin 32", self.dir)
        self.wrap_oaep_sha256()
        encrypted = read(self.dir, "EncryptedKeyMaterial.bin")

        # A token of another key, and a made-up token.
        other = self.external_key()["KeyId"]
        self.assert_error("InvalidImportTokenException", self.kms.import_key_material,
                          KeyId=other, ImportToken=token, EncryptedKeyMaterial=encrypted,
                          ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        self.assert_error("InvalidImportTokenException", self.kms.import_key_material,
                          KeyId=key_id, ImportToken=os.urandom(33),
                          EncryptedKeyMaterial=encrypted,
                          ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        # Material that does not decrypt, and material of the wrong size.
        self.assert_error("InvalidCiphertextException", self.kms.import_key_material,
                          KeyId=key_id, ImportToken=token, EncryptedKeyMaterial=os.urandom(256),
                          ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        sh("openssl rand -out Short.bin 16", self.dir)
        self.wrap_oaep_sha256("Short.bin")
        self.assert_error("IncorrectKeyMaterialException", self.kms.import_key_material,
                          KeyId=key_id, ImportToken=token,
                          EncryptedKeyMaterial=read(self.dir, "EncryptedKeyMaterial.bin"),
                          ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        # Expiration model and ValidTo must agree.
        self.assert_error("ValidationException", self.kms.import_key_material,
                          KeyId=key_id, ImportToken=token, EncryptedKeyMaterial=encrypted,
                          ExpirationModel="KEY_MATERIAL_EXPIRES")
        self.assertEqual(self.kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"],
                         "PendingImport")

        # The token expires after 24 hours.
        r = self.s.move_clock(advance_seconds=DAY + 60)
        self.assertEqual(r.status, 200, r)
        self.assert_error("ExpiredImportTokenException", self.kms.import_key_material,
                          KeyId=key_id, ImportToken=token, EncryptedKeyMaterial=encrypted,
                          ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")

    # ---- expiry --------------------------------------------------------------------------

    def test_material_expires_with_the_clock(self):
        md = self.external_key()
        key_id = md["KeyId"]
        self.parameters(key_id, algorithm="RSA_AES_KEY_WRAP_SHA_256", spec="RSA_3072")
        sh("openssl rand -out PlaintextKeyMaterial.bin 32", self.dir)
        self.wrap_aes_key_wrap_sha256()
        valid_to = self.server_now() + datetime.timedelta(days=2)
        self.import_cli(key_id, "--expiration-model", "KEY_MATERIAL_EXPIRES", "--valid-to",
                        valid_to.isoformat())
        desc = self.kms.describe_key(KeyId=key_id)["KeyMetadata"]
        self.assertEqual(desc["KeyState"], "Enabled")
        self.assertEqual(desc["ExpirationModel"], "KEY_MATERIAL_EXPIRES")
        self.assertAlmostEqual(desc["ValidTo"].timestamp(), valid_to.timestamp(), delta=1)
        blob = self.kms.encrypt(KeyId=key_id, Plaintext=b"short-lived")["CiphertextBlob"]

        r = self.s.move_clock(advance_seconds=DAY)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"short-lived")

        r = self.s.move_clock(advance_seconds=DAY + 60)
        self.assertEqual(r.status, 200, r)
        desc = self.kms.describe_key(KeyId=key_id)["KeyMetadata"]
        self.assertEqual(desc["KeyState"], "PendingImport")
        self.assertNotIn("ValidTo", desc)
        self.assert_error("KMSInvalidStateException", self.kms.decrypt, CiphertextBlob=blob)

        recs = harness.cloudtrail_records(self.s.lookup_all(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "DeleteExpiredKeyMaterial"}]))
        recs = [x for x in recs if x["resources"][0]["ARN"] == md["Arn"]]
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]["eventType"], "AwsServiceEvent")
        r = self.s.http("GET", "/_citadel/events?source=aws.kms")
        self.assertEqual(r.status, 200, r)
        events = [e for e in r.json()["events"]
                  if e["detail-type"] == "KMS Imported Key Material Expiration"
                  and e["resources"] == [md["Arn"]]]
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0]["detail"], {"key-id": key_id})

        # Re-importing the same material (new parameters) makes the ciphertext usable again.
        self.parameters(key_id)
        self.wrap_oaep_sha256()
        self.import_cli(key_id)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"short-lived")


if __name__ == "__main__":
    unittest.main()
