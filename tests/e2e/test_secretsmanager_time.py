"""Secrets Manager with the test clock (POST /_citadel/time, dev mode): a scheduled rotation of a
real PostgreSQL password runs when its window opens, also after a restart, and a secret
scheduled for deletion disappears when its recovery window ends — without sleeping for days."""

import json
import unittest
import uuid

import botocore.exceptions

import harness
import pg

DAY = 86400


class SecretsManagerTimeTest(unittest.TestCase):
    def advance(self, s, seconds):
        r = s.post_json("/_citadel/time", {"advance_seconds": seconds})
        self.assertEqual(r.status, 200, r)

    def test_deletion_after_the_recovery_window(self):
        s = harness.start_server(self, dev=True)
        sm = s.client("secretsmanager")
        name = "tmp/" + uuid.uuid4().hex[:8]
        sm.create_secret(Name=name, SecretString="x")
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        self.advance(s, 6 * DAY)
        self.assertIn("DeletedDate", sm.describe_secret(SecretId=name))
        self.advance(s, 1 * DAY + 60)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sm.describe_secret(SecretId=name)
        self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceNotFoundException")
        sm.create_secret(Name=name, SecretString="reused")

    @unittest.skipUnless(pg.available(), "PostgreSQL server binaries are not installed")
    def test_scheduled_rotation_runs_when_due_after_a_restart(self):
        with pg.PostgresServer() as db:
            user = "sched_" + uuid.uuid4().hex[:6]
            db.psql(f"CREATE ROLE {user} LOGIN PASSWORD 'Start-Pass-1'", user=db.superuser,
                    password=db.password)
            s = harness.start_server(self, dev=True)
            sm = s.client("secretsmanager")
            value = {"engine": "postgres", "host": db.host, "port": db.port, "username": user,
                     "password": "Start-Pass-1", "dbname": "postgres"}
            name = f"rds/{user}"
            sm.create_secret(Name=name, SecretString=json.dumps(value))
            fn = f"arn:aws:lambda:{s.region}:{s.account_id}:function:" \
                 "citadel-builtin-postgresql-single-user"
            sm.rotate_secret(SecretId=name, RotationLambdaARN=fn, RotateImmediately=False,
                             RotationRules={"AutomaticallyAfterDays": 1})
            d = sm.describe_secret(SecretId=name)
            self.assertTrue(d["RotationEnabled"])
            self.assertNotIn("LastRotatedDate", d)
            # The job is durable: it is still there after a restart.
            s.restart()
            sm = s.client("secretsmanager")
            self.advance(s, 2 * DAY)
            d = sm.describe_secret(SecretId=name)
            self.assertIn("LastRotatedDate", d, d)
            current = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
            self.assertNotEqual(current["password"], "Start-Pass-1")
            self.assertTrue(db.can_login(user, current["password"]))
            self.assertFalse(db.can_login(user, "Start-Pass-1"))
            # The next window is scheduled one day after this rotation.
            nxt = d["NextRotationDate"]
            self.assertEqual((nxt - d["LastRotatedDate"]).days, 1)


if __name__ == "__main__":
    unittest.main()
