"""KMS key rotation end to end (boto3 and the aws CLI against `citadel serve --dev`):
EnableKeyRotation / DisableKeyRotation / GetKeyRotationStatus, automatic rotation when due
(the clock moved with POST /_citadel/time), rotation jobs surviving a restart, RotateKeyOnDemand
and its limit, ListKeyRotations with paging, old ciphertexts decrypting after rotation, AWS
managed keys rotating yearly, and CloudTrail's RotateKey service event."""

import datetime
import json
import struct
import unittest
import urllib.parse

import botocore.exceptions

import harness

DAY = 24 * 3600


def blob_version(blob):
    """The material version a citadel ciphertext blob carries (format in internal.h:
    1 byte format, 12 bytes account, 1 byte key id length L, L bytes key id, 4 bytes version)."""
    key_len = blob[13]
    return struct.unpack(">I", blob[14 + key_len:18 + key_len])[0]


def days_between(later, earlier):
    return (later - earlier).total_seconds() / DAY


class KmsRotationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.CitadelServer(dev=True)
        cls.s.start()
        cls.kms = cls.s.client("kms")
        cls.acct = cls.s.account_id
        cls.region = cls.s.region

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def assert_error(self, code, fn, *args, client=None, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception

    def new_key(self, **kwargs):
        return self.kms.create_key(**kwargs)["KeyMetadata"]

    def move_days(self, days):
        r = self.s.move_clock(advance_seconds=days * DAY)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def outbox(self, detail_type):
        """EventBridge-ready events of aws.kms in citadel's outbox (GET /_citadel/events)."""
        r = self.s.http("GET", "/_citadel/events?source=aws.kms&detail-type=" +
                        urllib.parse.quote(detail_type))
        self.assertEqual(r.status, 200, r)
        return r.json()["events"]

    def records(self, event_name):
        events = self.s.lookup_all(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": event_name}])
        return harness.cloudtrail_records(events)

    # ---- status and settings ---------------------------------------------------------------

    def test_enable_disable_and_status(self):
        md = self.new_key()
        key_id = md["KeyId"]
        status = self.kms.get_key_rotation_status(KeyId=key_id)
        self.assertFalse(status["KeyRotationEnabled"])
        self.assertNotIn("NextRotationDate", status)

        self.kms.enable_key_rotation(KeyId=key_id)
        status = self.kms.get_key_rotation_status(KeyId=md["Arn"])
        self.assertTrue(status["KeyRotationEnabled"])
        self.assertEqual(status["KeyId"], md["Arn"])
        self.assertEqual(status["RotationPeriodInDays"], 365)
        self.assertAlmostEqual(days_between(status["NextRotationDate"], md["CreationDate"]), 365,
                               delta=0.01)

        # A new period counts from the start of the current period.
        self.kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
        status = self.kms.get_key_rotation_status(KeyId=key_id)
        self.assertEqual(status["RotationPeriodInDays"], 90)
        self.assertAlmostEqual(days_between(status["NextRotationDate"], md["CreationDate"]), 90,
                               delta=0.01)

        # The aws CLI sees the same.
        out = self.s.aws("kms", "get-key-rotation-status", "--key-id", key_id).json
        self.assertTrue(out["KeyRotationEnabled"])
        self.assertEqual(out["RotationPeriodInDays"], 90)

        self.kms.disable_key_rotation(KeyId=key_id)
        status = self.kms.get_key_rotation_status(KeyId=key_id)
        self.assertFalse(status["KeyRotationEnabled"])
        self.assertNotIn("RotationPeriodInDays", status)

    def test_rotation_period_bounds(self):
        unchecked = self.s.client("kms", parameter_validation=False)
        key_id = self.new_key()["KeyId"]
        for days in (89, 2561):
            self.assert_error("ValidationException", unchecked.enable_key_rotation, KeyId=key_id,
                              RotationPeriodInDays=days)
        for days in (90, 2560):
            self.kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=days)
            self.assertEqual(
                self.kms.get_key_rotation_status(KeyId=key_id)["RotationPeriodInDays"], days)

    def test_keys_that_do_not_rotate(self):
        external = self.new_key(Origin="EXTERNAL")["KeyId"]
        for op in (self.kms.enable_key_rotation, self.kms.disable_key_rotation,
                   self.kms.rotate_key_on_demand):
            self.assert_error("UnsupportedOperationException", op, KeyId=external)
        # Imported keys answer the status (never rotating automatically).
        self.assertFalse(self.kms.get_key_rotation_status(KeyId=external)["KeyRotationEnabled"])

        for spec, usage in (("RSA_2048", "ENCRYPT_DECRYPT"), ("HMAC_256", "GENERATE_VERIFY_MAC"),
                            ("ECC_NIST_P256", "SIGN_VERIFY")):
            try:
                key_id = self.new_key(KeySpec=spec, KeyUsage=usage)["KeyId"]
            except botocore.exceptions.ClientError as e:
                # Specs not implemented yet answer UnsupportedOperationException at CreateKey.
                self.assertEqual(e.response["Error"]["Code"], "UnsupportedOperationException")
                continue
            for op in (self.kms.enable_key_rotation, self.kms.get_key_rotation_status,
                       self.kms.rotate_key_on_demand, self.kms.list_key_rotations):
                self.assert_error("UnsupportedOperationException", op, KeyId=key_id)

        disabled = self.new_key()["KeyId"]
        self.kms.disable_key(KeyId=disabled)
        self.assert_error("DisabledException", self.kms.enable_key_rotation, KeyId=disabled)
        self.assert_error("DisabledException", self.kms.rotate_key_on_demand, KeyId=disabled)
        pending = self.new_key()["KeyId"]
        self.kms.schedule_key_deletion(KeyId=pending, PendingWindowInDays=7)
        self.assert_error("KMSInvalidStateException", self.kms.enable_key_rotation, KeyId=pending)
        self.assert_error("NotFoundException", self.kms.enable_key_rotation,
                          KeyId="11111111-2222-3333-4444-555555555555")

    # ---- automatic rotation --------------------------------------------------------------

    def test_rotation_happens_when_due(self):
        md = self.new_key()
        key_id = md["KeyId"]
        old = self.kms.encrypt(KeyId=key_id, Plaintext=b"before rotation")["CiphertextBlob"]
        self.assertEqual(blob_version(old), 1)
        self.kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=365)
        self.assertEqual(self.kms.list_key_rotations(KeyId=key_id)["Rotations"], [])

        # Not yet due: nothing happens.
        self.move_days(364)
        self.assertEqual(self.kms.list_key_rotations(KeyId=key_id)["Rotations"], [])

        self.move_days(2)
        rotations = self.kms.list_key_rotations(KeyId=key_id)["Rotations"]
        self.assertEqual(len(rotations), 1, rotations)
        rot = rotations[0]
        self.assertEqual(rot["RotationType"], "AUTOMATIC")
        self.assertEqual(rot["KeyId"], key_id)
        self.assertEqual(len(rot["KeyMaterialId"]), 64)
        self.assertEqual(rot["KeyMaterialState"], "CURRENT")
        self.assertGreater(days_between(rot["RotationDate"], md["CreationDate"]), 365)

        # New ciphertexts use the new material; the old one still decrypts.
        new = self.kms.encrypt(KeyId=key_id, Plaintext=b"after rotation")["CiphertextBlob"]
        self.assertEqual(blob_version(new), 2)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=old)["Plaintext"], b"before rotation")
        self.assertEqual(self.kms.decrypt(CiphertextBlob=new)["Plaintext"], b"after rotation")

        # The next rotation is a period after this one.
        status = self.kms.get_key_rotation_status(KeyId=key_id)
        self.assertAlmostEqual(days_between(status["NextRotationDate"], rot["RotationDate"]), 365,
                               delta=0.01)

        # Both versions listed with ALL_KEY_MATERIAL, the original one first.
        everything = self.kms.list_key_rotations(KeyId=key_id,
                                                 IncludeKeyMaterial="ALL_KEY_MATERIAL")
        states = [(r.get("RotationType"), r["KeyMaterialState"]) for r in everything["Rotations"]]
        self.assertEqual(states, [(None, "NON_CURRENT"), ("AUTOMATIC", "CURRENT")])

        # EventBridge: one "KMS CMK Rotation" event for this key, in AWS's envelope.
        events = [e for e in self.outbox("KMS CMK Rotation") if e["resources"] == [md["Arn"]]]
        self.assertEqual(len(events), 1, events)
        ev = events[0]
        self.assertEqual(ev["source"], "aws.kms")
        self.assertEqual(ev["detail-type"], "KMS CMK Rotation")
        self.assertEqual(ev["account"], self.acct)
        self.assertEqual(ev["region"], self.region)
        self.assertEqual(ev["detail"], {"key-id": key_id})

        # CloudTrail: the RotateKey service event, as AWS records it.
        recs = [r for r in self.records("RotateKey")
                if r["resources"][0]["ARN"] == md["Arn"]]
        self.assertEqual(len(recs), 1, recs)
        rec = recs[0]
        self.assertEqual(rec["eventType"], "AwsServiceEvent")
        self.assertEqual(rec["eventSource"], "kms.amazonaws.com")
        self.assertEqual(rec["userIdentity"]["invokedBy"], "AWS Internal")
        self.assertEqual(rec["serviceEventDetails"]["rotationType"], "AUTOMATIC")
        self.assertEqual(rec["serviceEventDetails"]["keyId"], key_id)
        self.assertEqual(rec["serviceEventDetails"]["currentKeyMaterialId"], rot["KeyMaterialId"])

    def test_disabled_key_rotates_after_enable(self):
        key_id = self.new_key()["KeyId"]
        self.kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
        self.kms.disable_key(KeyId=key_id)
        self.move_days(91)
        self.assertEqual(self.kms.list_key_rotations(KeyId=key_id)["Rotations"], [])
        self.kms.enable_key(KeyId=key_id)
        self.move_days(1.5)
        rotations = self.kms.list_key_rotations(KeyId=key_id)["Rotations"]
        self.assertEqual([r["RotationType"] for r in rotations], ["AUTOMATIC"])

    def test_disabling_rotation_stops_the_job(self):
        key_id = self.new_key()["KeyId"]
        self.kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
        self.kms.disable_key_rotation(KeyId=key_id)
        self.move_days(100)
        self.assertEqual(self.kms.list_key_rotations(KeyId=key_id)["Rotations"], [])

    # ---- on demand -----------------------------------------------------------------------

    def test_on_demand_rotation_limit_and_paging(self):
        md = self.new_key()
        key_id = md["KeyId"]
        old = self.kms.encrypt(KeyId=key_id, Plaintext=b"v1")["CiphertextBlob"]
        self.assertEqual(self.kms.rotate_key_on_demand(KeyId=key_id)["KeyId"], key_id)
        # The aws CLI too.
        out = self.s.aws("kms", "rotate-key-on-demand", "--key-id", md["Arn"]).json
        self.assertEqual(out["KeyId"], key_id)
        blob = self.kms.encrypt(KeyId=key_id, Plaintext=b"v3")["CiphertextBlob"]
        self.assertEqual(blob_version(blob), 3)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=old)["Plaintext"], b"v1")
        # On-demand rotation does not turn automatic rotation on.
        self.assertFalse(self.kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"])

        for _ in range(23):
            self.kms.rotate_key_on_demand(KeyId=key_id)
        self.assert_error("LimitExceededException", self.kms.rotate_key_on_demand, KeyId=key_id)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=old)["Plaintext"], b"v1")

        # 25 rotations, paged by 10.
        seen, marker, pages = [], None, 0
        while True:
            args = {"KeyId": key_id, "Limit": 10}
            if marker:
                args["Marker"] = marker
            page = self.kms.list_key_rotations(**args)
            pages += 1
            seen += page["Rotations"]
            if not page["Truncated"]:
                self.assertNotIn("NextMarker", page)
                break
            marker = page["NextMarker"]
        self.assertEqual(pages, 3)
        self.assertEqual(len(seen), 25)
        self.assertTrue(all(r["RotationType"] == "ON_DEMAND" for r in seen))
        self.assertEqual(len({r["KeyMaterialId"] for r in seen}), 25)
        self.assertEqual([r["KeyMaterialState"] for r in seen].count("CURRENT"), 1)
        self.assertEqual(seen[-1]["KeyMaterialState"], "CURRENT")
        cli = self.s.aws("kms", "list-key-rotations", "--key-id", key_id).json
        self.assertEqual(len(cli["Rotations"]), 25)
        self.assert_error("InvalidMarkerException", self.kms.list_key_rotations, KeyId=key_id,
                          Marker="not-a-marker")

        events = [e for e in self.outbox("KMS CMK Rotation") if e["resources"] == [md["Arn"]]]
        self.assertEqual(len(events), 25)
        recs = [r for r in self.records("RotateKey") if r["resources"][0]["ARN"] == md["Arn"]]
        self.assertEqual(len(recs), 25)
        self.assertTrue(all(r["serviceEventDetails"]["rotationType"] == "ON_DEMAND"
                            for r in recs))
        self.assertGreaterEqual(len(self.records("RotateKeyOnDemand")), 25)

    def test_multi_region_primary_rotation_reaches_replicas(self):
        other_region = "eu-west-1" if self.region != "eu-west-1" else "us-west-2"
        md = self.new_key(MultiRegion=True)
        key_id = md["KeyId"]
        self.kms.replicate_key(KeyId=key_id, ReplicaRegion=other_region)
        replica = self.s.client("kms", region=other_region)
        self.kms.rotate_key_on_demand(KeyId=key_id)
        blob = self.kms.encrypt(KeyId=key_id, Plaintext=b"everywhere")["CiphertextBlob"]
        self.assertEqual(blob_version(blob), 2)
        self.assertEqual(replica.decrypt(CiphertextBlob=blob)["Plaintext"], b"everywhere")
        # Rotation is a shared property: only the primary changes it.
        for op in (replica.rotate_key_on_demand, replica.enable_key_rotation):
            self.assert_error("UnsupportedOperationException", op, KeyId=key_id)

    # ---- AWS managed keys ----------------------------------------------------------------

    def test_aws_managed_key_rotates_yearly(self):
        sm = self.s.client("secretsmanager")
        sm.create_secret(Name=f"rotation-managed-{harness.random_account_id()}",
                         SecretString="s3cr3t")
        md = self.kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
        self.assertEqual(md["KeyManager"], "AWS")
        status = self.kms.get_key_rotation_status(KeyId=md["KeyId"])
        self.assertTrue(status["KeyRotationEnabled"])
        self.assertEqual(status["RotationPeriodInDays"], 365)
        self.assertGreaterEqual(days_between(status["NextRotationDate"], md["CreationDate"]),
                                364.99)
        before = len(self.kms.list_key_rotations(KeyId=md["KeyId"])["Rotations"])
        # AWS: the managed key's policy does not let the account change its rotation.
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.kms.disable_key_rotation(KeyId=md["KeyId"])
        self.assertIn(cm.exception.response["Error"]["Code"],
                      ("AccessDeniedException", "UnsupportedOperationException"))
        self.move_days(366)
        after = self.kms.list_key_rotations(KeyId=md["KeyId"])["Rotations"]
        self.assertEqual(len(after), before + 1)
        self.assertEqual(after[-1]["RotationType"], "AUTOMATIC")


class KmsRotationRestartTest(unittest.TestCase):
    def test_rotation_job_survives_restart(self):
        s = harness.start_server(self, dev=True)
        kms = s.client("kms")
        md = kms.create_key()["KeyMetadata"]
        key_id = md["KeyId"]
        old = kms.encrypt(KeyId=key_id, Plaintext=b"kept")["CiphertextBlob"]
        kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
        next_date = kms.get_key_rotation_status(KeyId=key_id)["NextRotationDate"]

        s.restart()
        kms = s.client("kms")
        status = kms.get_key_rotation_status(KeyId=key_id)
        self.assertTrue(status["KeyRotationEnabled"])
        self.assertEqual(status["NextRotationDate"], next_date)
        self.assertEqual(kms.list_key_rotations(KeyId=key_id)["Rotations"], [])

        r = s.move_clock(advance_seconds=91 * DAY)
        self.assertEqual(r.status, 200, r)
        self.assertGreaterEqual(r.json()["jobs_run"], 1)
        rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
        self.assertEqual([x["RotationType"] for x in rotations], ["AUTOMATIC"])
        self.assertEqual(kms.decrypt(CiphertextBlob=old)["Plaintext"], b"kept")
        new = kms.encrypt(KeyId=key_id, Plaintext=b"new")["CiphertextBlob"]
        self.assertEqual(blob_version(new), 2)


if __name__ == "__main__":
    unittest.main()
