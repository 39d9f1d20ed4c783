"""KMS multi-Region keys end to end with boto3 and the aws CLI: CreateKey MultiRegion, ReplicateKey
(same id and material, own policy, description, tags and state), MultiRegionConfiguration on both
sides, ciphertext from one Region decrypting in the other, UpdatePrimaryRegion, rotation of the
primary reaching the replicas, and deletion of a primary with replicas (PendingReplicaDeletion
until the last replica is gone)."""

import base64
import json
import os
import tempfile
import unittest

import botocore.exceptions

import harness

EAST = "us-east-1"
WEST = "us-west-2"
EU = "eu-west-1"


class MultiRegionKeyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.CitadelServer(extra_args=["--allow-time-travel"])
        cls.s.start()
        cls.acct = cls.s.account_id
        cls.east = cls.s.client("kms", region=EAST)
        cls.west = cls.s.client("kms", region=WEST)
        cls.eu = cls.s.client("kms", region=EU)

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def assert_error(self, code, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception.response["Error"].get("Message", "")

    def arn(self, region, key_id):
        return f"arn:aws:kms:{region}:{self.acct}:key/{key_id}"

    def config(self, client, key_id):
        return client.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]

    def test_1_replicate_and_use_across_regions(self):
        md = self.east.create_key(MultiRegion=True, Description="primary")["KeyMetadata"]
        key_id = md["KeyId"]
        self.assertRegex(key_id, r"^mrk-[0-9a-f]{32}$")
        self.assertTrue(md["MultiRegion"])
        self.assertEqual(md["MultiRegionConfiguration"], {
            "MultiRegionKeyType": "PRIMARY",
            "PrimaryKey": {"Arn": self.arn(EAST, key_id), "Region": EAST},
            "ReplicaKeys": []})
        # Ciphertext made before the replica exists decrypts in the replica's Region too.
        early = self.east.encrypt(KeyId=key_id, Plaintext=b"before replication")["CiphertextBlob"]

        rep = self.east.replicate_key(KeyId=key_id, ReplicaRegion=WEST, Description="replica",
                                      Tags=[{"TagKey": "site", "TagValue": "west"}])
        rmd = rep["ReplicaKeyMetadata"]
        self.assertEqual(rmd["KeyId"], key_id)
        self.assertEqual(rmd["Arn"], self.arn(WEST, key_id))
        self.assertEqual(rmd["Description"], "replica")
        self.assertEqual(rmd["KeyState"], "Enabled")
        self.assertEqual(rmd["KeySpec"], "SYMMETRIC_DEFAULT")
        self.assertEqual(rmd["Origin"], "AWS_KMS")
        self.assertEqual(rep["ReplicaTags"], [{"TagKey": "site", "TagValue": "west"}])
        self.assertIn(f"arn:aws:iam::{self.acct}:root", rep["ReplicaPolicy"])
        self.assertEqual(self.west.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"],
                         rep["ReplicaPolicy"])
        expected_replicas = [{"Arn": self.arn(WEST, key_id), "Region": WEST}]
        for client, kind in ((self.east, "PRIMARY"), (self.west, "REPLICA")):
            cfg = self.config(client, key_id)
            self.assertEqual(cfg["MultiRegionKeyType"], kind)
            self.assertEqual(cfg["PrimaryKey"], {"Arn": self.arn(EAST, key_id), "Region": EAST})
            self.assertEqual(cfg["ReplicaKeys"], expected_replicas)
        self.assertEqual(self.west.list_resource_tags(KeyId=key_id)["Tags"],
                         [{"TagKey": "site", "TagValue": "west"}])
        self.assertEqual(self.east.list_resource_tags(KeyId=key_id)["Tags"], [])
        self.assertEqual(self.east.describe_key(KeyId=key_id)["KeyMetadata"]["Description"],
                         "primary")

        # Encrypt in one Region, decrypt in the other (with and without KeyId), both ways.
        ctx = {"app": "orders"}
        blob = self.east.encrypt(KeyId=key_id, Plaintext=b"east to west",
                                 EncryptionContext=ctx)["CiphertextBlob"]
        out = self.west.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)
        self.assertEqual(out["Plaintext"], b"east to west")
        self.assertEqual(out["KeyId"], self.arn(WEST, key_id))
        self.assertEqual(self.west.decrypt(CiphertextBlob=blob, EncryptionContext=ctx,
                                           KeyId=self.arn(WEST, key_id))["Plaintext"],
                         b"east to west")
        self.assert_error("InvalidCiphertextException", self.west.decrypt, CiphertextBlob=blob,
                          EncryptionContext={"app": "other"})
        self.assertEqual(self.west.decrypt(CiphertextBlob=early)["Plaintext"],
                         b"before replication")
        back = self.west.encrypt(KeyId=key_id, Plaintext=b"west to east")["CiphertextBlob"]
        self.assertEqual(self.east.decrypt(CiphertextBlob=back)["Plaintext"], b"west to east")
        dk = self.west.generate_data_key(KeyId=key_id, KeySpec="AES_256")
        self.assertEqual(self.east.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"],
                         dk["Plaintext"])
        # The aws CLI in the replica's Region.
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "blob.bin")
            with open(path, "wb") as f:
                f.write(blob)
            cli = self.s.aws("kms", "decrypt", "--ciphertext-blob", "fileb://" + path,
                             "--encryption-context", "app=orders", "--output", "json",
                             region=WEST)
        self.assertEqual(base64.b64decode(json.loads(cli.stdout)["Plaintext"]), b"east to west")

        # Independent state and policy.
        self.west.disable_key(KeyId=key_id)
        self.assert_error("DisabledException", self.west.encrypt, KeyId=key_id, Plaintext=b"x")
        self.assert_error("DisabledException", self.west.decrypt, CiphertextBlob=blob,
                          EncryptionContext=ctx)
        self.assertEqual(self.east.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"],
                         b"east to west")
        self.assertEqual(self.east.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"], "Enabled")
        self.west.enable_key(KeyId=key_id)
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "west only", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{self.acct}:root"}, "Action": "kms:*",
            "Resource": "*"}]})
        self.west.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)
        self.assertEqual(self.west.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"],
                         policy)
        self.assertNotEqual(self.east.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"],
                            policy)

        # Errors.
        self.assert_error("AlreadyExistsException", self.east.replicate_key, KeyId=key_id,
                          ReplicaRegion=WEST)
        self.assert_error("UnsupportedOperationException", self.west.replicate_key, KeyId=key_id,
                          ReplicaRegion=EU)  # a replica cannot be replicated
        single = self.east.create_key()["KeyMetadata"]["KeyId"]
        self.assert_error("UnsupportedOperationException", self.east.replicate_key, KeyId=single,
                          ReplicaRegion=WEST)
        self.assert_error("NotFoundException", self.east.replicate_key,
                          KeyId="mrk-00000000000000000000000000000000", ReplicaRegion=WEST)
        self.assert_error("ValidationException", self.east.replicate_key, KeyId=key_id,
                          ReplicaRegion=EAST)
        self.assert_error("NotFoundException", self.east.update_primary_region, KeyId=key_id,
                          PrimaryRegion=EU)

        # UpdatePrimaryRegion: the west key becomes the primary.
        self.east.update_primary_region(KeyId=key_id, PrimaryRegion=WEST)
        for client, kind in ((self.west, "PRIMARY"), (self.east, "REPLICA")):
            cfg = self.config(client, key_id)
            self.assertEqual(cfg["MultiRegionKeyType"], kind)
            self.assertEqual(cfg["PrimaryKey"], {"Arn": self.arn(WEST, key_id), "Region": WEST})
            self.assertEqual(cfg["ReplicaKeys"], [{"Arn": self.arn(EAST, key_id),
                                                   "Region": EAST}])
        self.assert_error("UnsupportedOperationException", self.east.replicate_key, KeyId=key_id,
                          ReplicaRegion=EU)
        self.west.replicate_key(KeyId=key_id, ReplicaRegion=EU)
        self.assertEqual(self.eu.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"],
                         b"east to west")
        cfg = self.config(self.east, key_id)
        self.assertEqual(cfg["ReplicaKeys"], [{"Arn": self.arn(EU, key_id), "Region": EU},
                                              {"Arn": self.arn(EAST, key_id), "Region": EAST}])
        type(self).key_id = key_id
        type(self).blob = blob

    def test_2_rotation_reaches_replicas(self):
        key_id = self.key_id
        self.west.rotate_key_on_demand(KeyId=key_id)  # the primary is in us-west-2 now
        fresh = self.west.encrypt(KeyId=key_id, Plaintext=b"after rotation")["CiphertextBlob"]
        for client in (self.east, self.eu):
            self.assertEqual(client.decrypt(CiphertextBlob=fresh)["Plaintext"], b"after rotation")
            self.assertEqual(client.decrypt(CiphertextBlob=self.blob,
                                            EncryptionContext={"app": "orders"})["Plaintext"],
                             b"east to west")
        # Replicas encrypt with the new material too: the primary decrypts what they make.
        from_east = self.east.encrypt(KeyId=key_id, Plaintext=b"replica, new version")
        self.assertEqual(self.west.decrypt(CiphertextBlob=from_east["CiphertextBlob"])["Plaintext"],
                         b"replica, new version")

    def test_3_delete_primary_with_replicas(self):
        key_id = self.key_id
        out = self.west.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        self.assertEqual(out["KeyState"], "PendingReplicaDeletion")
        md = self.west.describe_key(KeyId=key_id)["KeyMetadata"]
        self.assertEqual(md["KeyState"], "PendingReplicaDeletion")
        self.assert_error("KMSInvalidStateException", self.west.encrypt, KeyId=key_id,
                          Plaintext=b"x")
        self.assert_error("KMSInvalidStateException", self.west.replicate_key, KeyId=key_id,
                          ReplicaRegion="ap-south-1")
        # Replicas still work; the primary waits for them.
        self.assertEqual(self.east.decrypt(CiphertextBlob=self.blob,
                                           EncryptionContext={"app": "orders"})["Plaintext"],
                         b"east to west")
        self.east.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        self.eu.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=10)
        self.s.move_clock(advance_seconds=8 * 86400)
        self.assert_error("NotFoundException", self.east.describe_key, KeyId=key_id)
        self.assertEqual(self.west.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"],
                         "PendingReplicaDeletion")
        self.s.move_clock(advance_seconds=3 * 86400)
        self.assert_error("NotFoundException", self.eu.describe_key, KeyId=key_id)
        md = self.west.describe_key(KeyId=key_id)["KeyMetadata"]
        self.assertEqual(md["KeyState"], "PendingDeletion")
        self.assertEqual(md["MultiRegionConfiguration"]["ReplicaKeys"], [])
        self.assertIn("DeletionDate", md)
        self.s.move_clock(advance_seconds=8 * 86400)
        self.assert_error("NotFoundException", self.west.describe_key, KeyId=key_id)

    def test_4_cancel_pending_replica_deletion(self):
        key_id = self.east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        self.east.replicate_key(KeyId=key_id, ReplicaRegion=WEST)
        self.east.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        self.east.cancel_key_deletion(KeyId=key_id)
        self.assertEqual(self.east.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"],
                         "Disabled")


if __name__ == "__main__":
    unittest.main()
