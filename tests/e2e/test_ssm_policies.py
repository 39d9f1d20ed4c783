"""SSM parameter policies and Parameter Store events end to end: Expiration deletes the
parameter at its timestamp, ExpirationNotification and NoChangeNotification emit "Parameter
Store Policy Action" events, every change emits a "Parameter Store Change" event, all in
EventBridge's envelope in the shared outbox (read through GET /_citadel/events), with the clock
moved by POST /_citadel/time; policy jobs survive a restart; a reset clears SSM's state."""

import datetime
import json
import unittest

import botocore.exceptions

import harness

DAY = 86400


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class SsmPolicyTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self, dev=True)
        self.ssm = self.s.client("ssm")
        self.acct = self.s.account_id
        self.region = self.s.region

    def events(self, **query):
        q = "&".join(f"{k}={v}" for k, v in dict(source="aws.ssm", **query).items())
        r = self.s.http("GET", "/_citadel/events?" + q)
        self.assertEqual(r.status, 200, r)
        return r.json()["events"]

    def actions(self):
        return [(e["detail"]["parameter-name"], e["detail"]["policy-type"])
                for e in self.events() if e["detail-type"] == "Parameter Store Policy Action"]

    def changes(self):
        return [(e["detail"]["name"], e["detail"]["operation"])
                for e in self.events() if e["detail-type"] == "Parameter Store Change"]

    def move_days(self, days):
        r = self.s.move_clock(advance_seconds=days * DAY)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def assert_missing(self, name):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.ssm.get_parameter(Name=name)
        self.assertEqual(cm.exception.response["Error"]["Code"], "ParameterNotFound")

    def test_policies_fire_as_the_clock_moves(self):
        expires = harness.utcnow() + datetime.timedelta(days=10)
        policies = [
            {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": iso(expires)}},
            {"Type": "ExpirationNotification", "Version": "1.0",
             "Attributes": {"Before": "2", "Unit": "Days"}},
            {"Type": "NoChangeNotification", "Version": "1.0",
             "Attributes": {"After": "72", "Unit": "Hours"}},
        ]
        self.ssm.put_parameter(Name="/pol/key", Value="v", Type="String", Tier="Advanced",
                               Policies=json.dumps(policies))
        self.ssm.put_parameter(Name="/pol/plain", Value="v", Type="String")
        # The change event, in EventBridge's envelope.
        created = self.events()[0]
        self.assertEqual(created["version"], "0")
        self.assertEqual(created["source"], "aws.ssm")
        self.assertEqual(created["detail-type"], "Parameter Store Change")
        self.assertEqual(created["account"], self.acct)
        self.assertEqual(created["region"], self.region)
        self.assertEqual(created["resources"],
                         [f"arn:aws:ssm:{self.region}:{self.acct}:parameter/pol/key"])
        self.assertEqual(created["detail"], {"operation": "Create", "name": "/pol/key",
                                             "type": "String", "description": ""})
        self.assertRegex(created["id"], r"^[0-9a-f-]{36}$")
        self.assertRegex(created["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

        self.assertEqual(self.actions(), [])
        self.move_days(4)  # unchanged for more than 72 hours
        self.assertEqual(self.actions(), [("/pol/key", "NoChangeNotification")])
        action = [e for e in self.events()
                  if e["detail-type"] == "Parameter Store Policy Action"][0]
        self.assertEqual(action["detail"]["action-status"], "Finished")
        self.assertEqual(action["detail"]["parameter-type"], "Advanced")

        self.move_days(4.5)  # 8.5 days: within 2 days of the expiration
        self.assertIn(("/pol/key", "ExpirationNotification"), self.actions())
        self.assertEqual(self.ssm.get_parameter(Name="/pol/key")["Parameter"]["Value"], "v")
        md = self.ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Values": ["/pol/key"]}])["Parameters"][0]
        status = {p["PolicyType"]: p["PolicyStatus"] for p in md["Policies"]}
        self.assertEqual(status["ExpirationNotification"], "Finished")
        self.assertEqual(status["Expiration"], "Pending")

        self.move_days(2)  # 10.5 days: expired
        self.assert_missing("/pol/key")
        self.assertEqual(self.actions()[-1], ("/pol/key", "Expiration"))
        self.assertEqual(self.changes()[-1], ("/pol/key", "Delete"))
        self.assertEqual(self.ssm.get_parameter(Name="/pol/plain")["Parameter"]["Value"], "v")

    def test_a_change_restarts_the_no_change_period(self):
        nochange = [{"Type": "NoChangeNotification", "Version": "1.0",
                     "Attributes": {"After": "2", "Unit": "Days"}}]
        self.ssm.put_parameter(Name="/nc/p", Value="1", Type="String", Tier="Advanced",
                               Policies=json.dumps(nochange))
        self.move_days(1.5)
        self.ssm.put_parameter(Name="/nc/p", Value="2", Overwrite=True)  # policies kept
        self.move_days(1)
        self.assertEqual(self.actions(), [])
        self.move_days(1)
        self.assertEqual(self.actions(), [("/nc/p", "NoChangeNotification")])

    def test_change_events_for_every_operation(self):
        self.ssm.put_parameter(Name="/ev/p", Value="1", Type="SecureString",
                               Description="evented")
        self.ssm.put_parameter(Name="/ev/p", Value="2", Overwrite=True)
        self.ssm.label_parameter_version(Name="/ev/p", ParameterVersion=1, Labels=["old"])
        self.ssm.delete_parameter(Name="/ev/p")
        self.assertEqual(self.changes(), [("/ev/p", "Create"), ("/ev/p", "Update"),
                                          ("/ev/p", "LabelParameterVersion"),
                                          ("/ev/p", "Delete")])
        for e in self.events():
            self.assertEqual(e["detail"]["type"], "SecureString")
            self.assertEqual(e["detail"]["description"], "evented")
            self.assertNotIn("Value", json.dumps(e["detail"]))
        # Paging by position and filtering by detail-type.
        first = self.events()[0]
        r = self.s.http("GET", "/_citadel/events?source=aws.ssm&detail-type=Parameter%20Store"
                               "%20Change")
        self.assertEqual(len(r.json()["events"]), 4)
        after = r.json()["last_seq"]
        self.assertEqual(self.events(after=after), [])
        self.assertEqual(first["detail"]["operation"], "Create")

    def test_policy_jobs_survive_a_restart_and_reset_clears_ssm(self):
        expires = harness.utcnow() + datetime.timedelta(days=1)
        self.ssm.put_parameter(
            Name="/restart/p", Value="v", Type="String", Tier="Advanced",
            Policies=json.dumps([{"Type": "Expiration", "Version": "1.0",
                                  "Attributes": {"Timestamp": iso(expires)}}]))
        self.s.restart()
        self.ssm = self.s.client("ssm")
        self.assertEqual(self.ssm.get_parameter(Name="/restart/p")["Parameter"]["Value"], "v")
        self.move_days(2)
        self.assert_missing("/restart/p")
        self.ssm.put_parameter(Name="/reset/p", Value="v", Type="String")
        r = self.s.reset("ssm")
        self.assertEqual(r.status, 200, r)
        self.assert_missing("/reset/p")
        self.assertEqual(self.events(), [])
        self.assertEqual(self.ssm.describe_parameters()["Parameters"], [])

    def test_events_endpoint_is_dev_only(self):
        with harness.CitadelServer() as plain:
            r = plain.http("GET", "/_citadel/events?source=aws.ssm")
            self.assertEqual(r.status, 403)


if __name__ == "__main__":
    unittest.main()
