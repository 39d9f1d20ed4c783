"""Secrets Manager rotation end to end: a real PostgreSQL (tests/e2e/pg.py), its master
credentials stored as a secret with AWS's PostgreSQL JSON structure, RotateSecret with the
built-in single-user and alternating-users functions, login with the new password while the
old one fails, a failing rotation that leaves AWSCURRENT usable (visible in DescribeSecret and
CloudTrail), and RotationRules validation (AutomaticallyAfterDays, rate(), cron(), Duration)."""

import datetime
import json
import unittest
import uuid

import botocore.exceptions

import harness
import pg

SINGLE = "citadel-builtin-postgresql-single-user"
ALTERNATING = "citadel-builtin-postgresql-alternating-users"


@unittest.skipUnless(pg.available(), "PostgreSQL server binaries are not installed")
class RotationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = pg.PostgresServer().start()
        cls.s = harness.CitadelServer()
        cls.s.start()
        cls.sm = cls.s.client("secretsmanager")
        cls.acct = cls.s.account_id
        cls.region = cls.s.region

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        cls.pg.stop()

    def function_arn(self, name):
        return f"arn:aws:lambda:{self.region}:{self.acct}:function:{name}"

    def assert_error(self, code, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception.response["Error"]["Message"]

    def role(self, password):
        user = "app_" + uuid.uuid4().hex[:8]
        self.pg.psql(f"CREATE ROLE {user} LOGIN PASSWORD '{password}'",
                     user=self.pg.superuser, password=self.pg.password)
        return user

    def secret_value(self, user, password, **extra):
        doc = {"engine": "postgres", "host": self.pg.host, "port": self.pg.port,
               "username": user, "password": password, "dbname": "postgres"}
        doc.update(extra)
        return json.dumps(doc)

    def current(self, secret_id, stage="AWSCURRENT"):
        got = self.sm.get_secret_value(SecretId=secret_id, VersionStage=stage)
        return got["VersionId"], json.loads(got["SecretString"])

    def records(self, event_name, arn):
        events = self.s.lookup_all(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": event_name}])
        return [r for r in harness.cloudtrail_records(events)
                if any(x.get("ARN") == arn for x in r.get("resources", []))]

    def test_single_user_rotation_changes_the_real_password(self):
        user = self.role("initial-Pass-1")
        name = f"rds/{user}"
        created = self.sm.create_secret(Name=name,
                                        SecretString=self.secret_value(user, "initial-Pass-1"))
        out = self.sm.rotate_secret(SecretId=name, RotationLambdaARN=self.function_arn(SINGLE),
                                    RotationRules={"AutomaticallyAfterDays": 30})
        version, value = self.current(name)
        self.assertEqual(out["VersionId"], version)
        self.assertNotEqual(version, created["VersionId"])
        self.assertNotEqual(value["password"], "initial-Pass-1")
        self.assertEqual(value["username"], user)
        self.assertTrue(self.pg.can_login(user, value["password"]))
        self.assertFalse(self.pg.can_login(user, "initial-Pass-1"))

        d = self.sm.describe_secret(SecretId=name)
        self.assertTrue(d["RotationEnabled"])
        self.assertEqual(d["RotationLambdaARN"], self.function_arn(SINGLE))
        self.assertEqual(d["RotationRules"]["AutomaticallyAfterDays"], 30)
        self.assertEqual(d["VersionIdsToStages"],
                         {version: ["AWSCURRENT"], created["VersionId"]: ["AWSPREVIOUS"]})
        self.assertIn("LastRotatedDate", d)
        # The next window: the day 30 days after the rotation, ending at 23:59:59 UTC.
        nxt = d["NextRotationDate"].astimezone(datetime.timezone.utc)
        expected = (d["LastRotatedDate"].astimezone(datetime.timezone.utc).date() +
                    datetime.timedelta(days=30))
        self.assertEqual(nxt.date(), expected)
        self.assertEqual((nxt.hour, nxt.minute, nxt.second), (23, 59, 59))
        # AWSPREVIOUS still holds the old password.
        self.assertEqual(self.current(name, "AWSPREVIOUS")[1]["password"], "initial-Pass-1")
        arn = created["ARN"]
        self.assertTrue(self.records("RotationStarted", arn))
        ok = self.records("RotationSucceeded", arn)
        self.assertTrue(ok)
        self.assertEqual(ok[0]["eventType"], "AwsServiceEvent")
        self.assertEqual(ok[0]["eventSource"], "secretsmanager.amazonaws.com")

        # Rotating again works from the new credentials.
        self.sm.rotate_secret(SecretId=name)
        _, again = self.current(name)
        self.assertNotEqual(again["password"], value["password"])
        self.assertTrue(self.pg.can_login(user, again["password"]))
        self.assertFalse(self.pg.can_login(user, value["password"]))

        self.sm.cancel_rotate_secret(SecretId=name)
        d = self.sm.describe_secret(SecretId=name)
        self.assertFalse(d["RotationEnabled"])
        self.assertNotIn("NextRotationDate", d)

    def test_failed_rotation_keeps_awscurrent_usable(self):
        user = self.role("real-Pass-2")
        name = f"rds/{user}"
        created = self.sm.create_secret(Name=name,
                                        SecretString=self.secret_value(user, "wrong-password"))
        out = self.sm.rotate_secret(SecretId=name, RotationLambdaARN=self.function_arn(SINGLE),
                                    RotationRules={"AutomaticallyAfterDays": 7})
        pending = out["VersionId"]
        self.assertNotEqual(pending, created["VersionId"])
        d = self.sm.describe_secret(SecretId=name)
        # AWS: AWSCURRENT intact, AWSPENDING left on the failed version; no LastRotatedDate.
        self.assertEqual(d["VersionIdsToStages"][created["VersionId"]], ["AWSCURRENT"])
        self.assertEqual(d["VersionIdsToStages"][pending], ["AWSPENDING"])
        self.assertNotIn("LastRotatedDate", d)
        self.assertEqual(self.current(name)[1]["password"], "wrong-password")
        self.assertTrue(self.pg.can_login(user, "real-Pass-2"))
        failed = self.records("RotationFailed", created["ARN"])
        self.assertTrue(failed)
        extra = failed[0]["additionalEventData"]
        self.assertEqual(extra["Step"], "setSecret")
        self.assertEqual(extra["ClientRequestToken"], pending)
        # Nothing secret in the failure record.
        self.assertNotIn("real-Pass-2", json.dumps(failed[0]))
        self.assertNotIn("wrong-password", json.dumps(failed[0]))

        # Fix the credentials; the next rotation (boto3 sends a new ClientRequestToken) takes
        # AWSPENDING from the failed version and succeeds.
        self.sm.put_secret_value(SecretId=name, SecretString=self.secret_value(user, "real-Pass-2"))
        out = self.sm.rotate_secret(SecretId=name)
        version, value = self.current(name)
        self.assertEqual(out["VersionId"], version)
        self.assertNotEqual(version, pending)
        self.assertTrue(self.pg.can_login(user, value["password"]))
        self.assertFalse(self.pg.can_login(user, "real-Pass-2"))
        self.assertNotIn("AWSPENDING", json.dumps(self.sm.describe_secret(SecretId=name)
                                                  ["VersionIdsToStages"]))

    def test_alternating_users_with_master_secret(self):
        master = self.sm.create_secret(
            Name=f"rds/master-{uuid.uuid4().hex[:6]}",
            SecretString=self.secret_value(self.pg.superuser, self.pg.password))
        user = self.role("alt-Pass-3")
        name = f"rds/{user}"
        self.sm.create_secret(Name=name, SecretString=self.secret_value(
            user, "alt-Pass-3", masterarn=master["ARN"]))
        self.sm.rotate_secret(SecretId=name, RotationLambdaARN=self.function_arn(ALTERNATING),
                              RotationRules={"ScheduleExpression": "rate(10 days)"})
        _, value = self.current(name)
        self.assertEqual(value["username"], user + "_clone")
        self.assertTrue(self.pg.can_login(user + "_clone", value["password"]))
        self.assertTrue(self.pg.can_login(user, "alt-Pass-3"))  # the other user is untouched
        self.sm.rotate_secret(SecretId=name)
        _, value = self.current(name)
        self.assertEqual(value["username"], user)
        self.assertTrue(self.pg.can_login(user, value["password"]))
        self.assertFalse(self.pg.can_login(user, "alt-Pass-3"))

    def test_rotation_rules_validation_and_schedule(self):
        name = f"rules/{uuid.uuid4().hex[:8]}"
        self.sm.create_secret(Name=name, SecretString="{}")
        fn = self.function_arn(SINGLE)
        self.assert_error("InvalidParameterException", self.sm.rotate_secret, SecretId=name,
                          RotationLambdaARN=fn, RotateImmediately=False,
                          RotationRules={"AutomaticallyAfterDays": 3,
                                         "ScheduleExpression": "rate(4 days)"})
        self.assert_error("InvalidParameterException", self.sm.rotate_secret, SecretId=name,
                          RotationLambdaARN=fn, RotateImmediately=False,
                          RotationRules={"ScheduleExpression": "rate(2 hours)"})
        self.assert_error("InvalidParameterException", self.sm.rotate_secret, SecretId=name,
                          RotationLambdaARN=fn, RotateImmediately=False,
                          RotationRules={"ScheduleExpression": "cron(0 16 * * * *)"})
        self.assert_error("InvalidParameterException", self.sm.rotate_secret, SecretId=name,
                          RotationLambdaARN=fn, RotateImmediately=False,
                          RotationRules={"ScheduleExpression": "cron(0 22 ? * MON *)",
                                         "Duration": "4h"})
        self.assert_error("InvalidRequestException", self.sm.rotate_secret, SecretId=name)
        # A valid cron with a window: rotation is scheduled, not run.
        self.sm.rotate_secret(SecretId=name, RotationLambdaARN=fn, RotateImmediately=False,
                              RotationRules={"ScheduleExpression": "cron(0 16 1,15 * ? *)",
                                             "Duration": "3h"})
        d = self.sm.describe_secret(SecretId=name)
        self.assertTrue(d["RotationEnabled"])
        self.assertEqual(d["RotationRules"], {"ScheduleExpression": "cron(0 16 1,15 * ? *)",
                                              "Duration": "3h"})
        nxt = d["NextRotationDate"].astimezone(datetime.timezone.utc)
        self.assertIn(nxt.day, (1, 15))
        self.assertEqual((nxt.hour, nxt.minute, nxt.second), (18, 59, 59))
        self.assertEqual(len(d["VersionIdsToStages"]), 1)  # nothing rotated yet
        # The aws CLI sets an hourly schedule.
        self.s.aws("secretsmanager", "rotate-secret", "--secret-id", name,
                   "--rotation-rules", '{"ScheduleExpression": "rate(6 hours)"}',
                   "--no-rotate-immediately")
        d = self.sm.describe_secret(SecretId=name)
        nxt = d["NextRotationDate"].astimezone(datetime.timezone.utc)
        self.assertEqual(nxt.hour % 6, 0)
        self.assertEqual((nxt.minute, nxt.second), (59, 59))
        self.assertLess(nxt - harness.utcnow(), datetime.timedelta(hours=7))


if __name__ == "__main__":
    unittest.main()
