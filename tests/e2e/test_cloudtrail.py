"""CloudTrail LookupEvents over the audit record of every call."""

import datetime
import json
import re
import ssl
import unittest

import botocore.exceptions

import harness
from harness import by_request_id

UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
EVENT_TIME_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


def parse_event_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def name_filter(name):
    return [{"AttributeKey": "EventName", "AttributeValue": name}]


class LookupEventsTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)
        self.sts = self.s.client("sts")
        self.ct = self.s.client("cloudtrail")

    def call_identity(self, n=1, client=None):
        client = client or self.sts
        return [client.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(n)]

    def test_finds_the_calls_just_made_in_aws_record_format(self):
        s = self.s
        rids = self.call_identity(3)
        events = s.lookup_all(self.ct, LookupAttributes=name_filter("GetCallerIdentity"))
        found = by_request_id(events)
        for rid in rids:
            self.assertIn(rid, found, f"no event for request {rid}")
        for rid in rids:
            event, rec = found[rid]
            # The LookupEvents summary fields.
            self.assertEqual(event["EventName"], "GetCallerIdentity")
            self.assertEqual(event["EventSource"], "sts.amazonaws.com")
            self.assertEqual(event["ReadOnly"], "true")
            self.assertEqual(event["AccessKeyId"], s.access_key)
            self.assertEqual(event["Username"], "root")
            self.assertEqual(event["EventId"], rec["eventID"])
            self.assertIsInstance(event["EventTime"], datetime.datetime)
            self.assertEqual(event["EventTime"].astimezone(datetime.timezone.utc),
                             parse_event_time(rec["eventTime"]))
            # The CloudTrail record itself.
            self.assertRegex(rec["eventVersion"], r"^1\.\d{2}$")
            self.assertEqual(rec["userIdentity"]["type"], "Root")
            self.assertEqual(rec["userIdentity"]["principalId"], s.account_id)
            self.assertEqual(rec["userIdentity"]["arn"], f"arn:aws:iam::{s.account_id}:root")
            self.assertEqual(rec["userIdentity"]["accountId"], s.account_id)
            self.assertEqual(rec["userIdentity"]["accessKeyId"], s.access_key)
            self.assertRegex(rec["eventTime"], EVENT_TIME_RE)
            self.assertEqual(rec["eventSource"], "sts.amazonaws.com")
            self.assertEqual(rec["eventName"], "GetCallerIdentity")
            self.assertEqual(rec["awsRegion"], s.region)
            self.assertEqual(rec["sourceIPAddress"], "127.0.0.1")
            self.assertIn("Boto3/", rec["userAgent"])
            self.assertIn("requestParameters", rec)
            self.assertIn("responseElements", rec)
            self.assertNotIn("errorCode", rec)
            self.assertEqual(rec["requestID"], rid)
            self.assertRegex(rec["eventID"], UUID_RE)
            self.assertIs(rec["readOnly"], True)
            self.assertEqual(rec["eventType"], "AwsApiCall")
            self.assertIs(rec["managementEvent"], True)
            self.assertEqual(rec["recipientAccountId"], s.account_id)
            self.assertEqual(rec["eventCategory"], "Management")
            self.assertNotIn("tlsDetails", rec)  # plain HTTP
        self.assertEqual(len({found[r][1]["eventID"] for r in rids}), 3)

    def test_aws_cli_lookup_finds_cli_call(self):
        s = self.s
        s.aws("sts", "get-caller-identity")
        out = s.aws("cloudtrail", "lookup-events", "--lookup-attributes",
                    "AttributeKey=EventName,AttributeValue=GetCallerIdentity").json
        recs = [json.loads(e["CloudTrailEvent"]) for e in out["Events"]]
        cli = [r for r in recs if r["userAgent"].startswith("aws-cli/")]
        self.assertTrue(cli, f"no event with an aws-cli user agent in {recs!r}")
        self.assertEqual(cli[0]["userIdentity"]["accountId"], s.account_id)
        self.assertEqual(cli[0]["eventName"], "GetCallerIdentity")

    def test_lookup_events_call_itself_is_recorded_with_request_parameters(self):
        first = self.ct.lookup_events(LookupAttributes=name_filter("GetCallerIdentity"),
                                      MaxResults=5)
        rid = first["ResponseMetadata"]["RequestId"]
        events = self.s.lookup_all(self.ct, LookupAttributes=[
            {"AttributeKey": "EventSource", "AttributeValue": "cloudtrail.amazonaws.com"}])
        found = by_request_id(events)
        self.assertIn(rid, found)
        event, rec = found[rid]
        self.assertEqual(rec["eventName"], "LookupEvents")
        self.assertEqual(rec["eventSource"], "cloudtrail.amazonaws.com")
        self.assertIs(rec["readOnly"], True)
        params = rec["requestParameters"]
        # AWS records request members in lowerCamelCase.
        self.assertEqual(params["maxResults"], 5)
        self.assertEqual(params["lookupAttributes"],
                         [{"attributeKey": "EventName", "attributeValue": "GetCallerIdentity"}])

    def test_lookup_by_each_attribute(self):
        s = self.s
        rids = self.call_identity(2)
        _, second = harness.run_admin("create-root-key", "--account-id", s.account_id,
                                      data_dir=s.data_dir)
        sts2 = s.client("sts", access_key=second["AWS_ACCESS_KEY_ID"],
                        secret_key=second["AWS_SECRET_ACCESS_KEY"])
        rid2 = self.call_identity(1, client=sts2)[0]

        all_ident = by_request_id(s.lookup_all(self.ct,
                                               LookupAttributes=name_filter("GetCallerIdentity")))
        target_event, target_rec = all_ident[rids[0]]

        def lookup(key, value):
            return s.lookup_all(self.ct,
                                LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])

        by_id = lookup("EventId", target_rec["eventID"])
        self.assertEqual([e["EventId"] for e in by_id], [target_rec["eventID"]])

        by_name = lookup("EventName", "GetCallerIdentity")
        self.assertTrue(all(e["EventName"] == "GetCallerIdentity" for e in by_name))
        self.assertTrue({rids[0], rids[1], rid2} <= set(by_request_id(by_name)))

        read_only = by_request_id(lookup("ReadOnly", "true"))
        self.assertTrue({rids[0], rids[1], rid2} <= set(read_only))
        self.assertTrue(all(e["ReadOnly"] == "true" for e, _ in read_only.values()))
        writes = by_request_id(lookup("ReadOnly", "false"))
        self.assertFalse({rids[0], rids[1], rid2} & set(writes))
        self.assertTrue(all(e["ReadOnly"] == "false" for e, _ in writes.values()))

        by_user = by_request_id(lookup("Username", "root"))
        self.assertTrue({rids[0], rids[1], rid2} <= set(by_user))
        self.assertFalse(lookup("Username", "nobody-with-this-name"))

        by_source = by_request_id(lookup("EventSource", "sts.amazonaws.com"))
        self.assertTrue({rids[0], rids[1], rid2} <= set(by_source))
        self.assertTrue(all(r["eventSource"] == "sts.amazonaws.com" for _, r in by_source.values()))

        by_key2 = by_request_id(lookup("AccessKeyId", second["AWS_ACCESS_KEY_ID"]))
        self.assertEqual(set(by_key2), {rid2})
        by_key1 = by_request_id(lookup("AccessKeyId", s.access_key))
        self.assertTrue({rids[0], rids[1]} <= set(by_key1))
        self.assertNotIn(rid2, by_key1)

        # GetCallerIdentity names no resource: resource lookups do not return it.
        by_type = lookup("ResourceType", "AWS::IAM::User")
        self.assertFalse({rids[0], rids[1], rid2} & set(by_request_id(by_type)))
        for e in by_type:
            self.assertIn("AWS::IAM::User", [r.get("ResourceType") for r in e.get("Resources", [])])
        by_rname = lookup("ResourceName", "no-such-resource")
        self.assertEqual(by_rname, [])

    def test_time_range(self):
        s = self.s
        rid = self.call_identity(1)[0]
        _, rec = by_request_id(s.lookup_all(self.ct,
                                            LookupAttributes=name_filter("GetCallerIdentity")))[rid]
        t = parse_event_time(rec["eventTime"])
        sec = datetime.timedelta(seconds=2)
        inside = s.lookup_all(self.ct, LookupAttributes=name_filter("GetCallerIdentity"),
                              StartTime=t - sec, EndTime=t + sec)
        self.assertIn(rid, by_request_id(inside))
        after = s.lookup_all(self.ct, LookupAttributes=name_filter("GetCallerIdentity"),
                             StartTime=t + sec)
        self.assertNotIn(rid, by_request_id(after))
        before = s.lookup_all(self.ct, LookupAttributes=name_filter("GetCallerIdentity"),
                              EndTime=t - sec)
        self.assertNotIn(rid, by_request_id(before))
        for e in inside:
            et = e["EventTime"].astimezone(datetime.timezone.utc)
            self.assertTrue(t - sec <= et <= t + sec, et)

    def test_start_after_end_is_invalid_time_range_and_is_recorded(self):
        now = harness.utcnow()
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.ct.lookup_events(StartTime=now, EndTime=now - datetime.timedelta(hours=1))
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], "InvalidTimeRangeException")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)
        rid = err["ResponseMetadata"]["RequestId"]
        found = by_request_id(self.s.lookup_all(self.ct, LookupAttributes=name_filter("LookupEvents")))
        self.assertIn(rid, found, "a failed call with a known identity must be recorded")
        _, rec = found[rid]
        self.assertEqual(rec["errorCode"], "InvalidTimeRangeException")
        self.assertTrue(rec.get("errorMessage"))
        self.assertEqual(rec["userIdentity"]["accessKeyId"], self.s.access_key)

    def test_paging_newest_first(self):
        s = self.s
        rids = self.call_identity(7)
        seen = []
        pages = 0
        token = None
        while True:
            args = {"LookupAttributes": name_filter("GetCallerIdentity"), "MaxResults": 2}
            if token:
                args["NextToken"] = token
            resp = self.ct.lookup_events(**args)
            pages += 1
            self.assertLessEqual(len(resp["Events"]), 2)
            seen.extend(resp["Events"])
            token = resp.get("NextToken")
            if not token:
                break
            self.assertLess(pages, 50, "paging does not end")
        self.assertGreaterEqual(pages, 4)
        ids = [e["EventId"] for e in seen]
        self.assertEqual(len(ids), len(set(ids)), "an event appeared on two pages")
        self.assertTrue(set(rids) <= set(by_request_id(seen)))
        times = [e["EventTime"] for e in seen]
        self.assertEqual(times, sorted(times, reverse=True), "events are not newest first")
        # The paginator sees the same events.
        paged = []
        for page in self.ct.get_paginator("lookup_events").paginate(
                LookupAttributes=name_filter("GetCallerIdentity"),
                PaginationConfig={"PageSize": 3}):
            paged.extend(page["Events"])
        self.assertTrue(set(rids) <= set(by_request_id(paged)))

    def test_events_are_per_account(self):
        s = self.s
        _, other = harness.run_admin("create-account", data_dir=s.data_dir)
        other_sts = s.client("sts", access_key=other["AWS_ACCESS_KEY_ID"],
                             secret_key=other["AWS_SECRET_ACCESS_KEY"])
        other_ct = s.client("cloudtrail", access_key=other["AWS_ACCESS_KEY_ID"],
                            secret_key=other["AWS_SECRET_ACCESS_KEY"])
        other_rid = self.call_identity(1, client=other_sts)[0]
        mine_rid = self.call_identity(1)[0]
        mine = by_request_id(s.lookup_all(self.ct))
        theirs = by_request_id(s.lookup_all(other_ct))
        self.assertIn(mine_rid, mine)
        self.assertNotIn(other_rid, mine)
        self.assertIn(other_rid, theirs)
        self.assertNotIn(mine_rid, theirs)
        self.assertEqual(theirs[other_rid][1]["recipientAccountId"], other["CITADEL_ACCOUNT_ID"])
        self.assertTrue(all(r["recipientAccountId"] == s.account_id for _, r in mine.values()))

    def test_region_is_recorded(self):
        sts_eu = self.s.client("sts", region="eu-west-1")
        rid = self.call_identity(1, client=sts_eu)[0]
        ct_eu = self.s.client("cloudtrail", region="eu-west-1")
        found = by_request_id(self.s.lookup_all(ct_eu,
                                                LookupAttributes=name_filter("GetCallerIdentity")))
        self.assertIn(rid, found)
        self.assertEqual(found[rid][1]["awsRegion"], "eu-west-1")

    def test_wrong_signature_with_known_key_is_recorded_as_failure(self):
        s = self.s
        bad = s.client("sts", secret_key="x" * 40)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            bad.get_caller_identity()
        rid = cm.exception.response["ResponseMetadata"]["RequestId"]
        self.assertTrue(rid)
        found = by_request_id(s.lookup_all(self.ct, LookupAttributes=[
            {"AttributeKey": "AccessKeyId", "AttributeValue": s.access_key}]))
        self.assertIn(rid, found)
        _, rec = found[rid]
        self.assertEqual(rec["errorCode"], "SignatureDoesNotMatch")
        self.assertEqual(rec["eventName"], "GetCallerIdentity")
        self.assertEqual(rec["recipientAccountId"], s.account_id)

    def test_unknown_access_key_is_not_in_any_account_trail(self):
        s = self.s
        stranger = s.client("sts", access_key=harness.random_access_key_id(),
                            secret_key=harness.random_secret_key())
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            stranger.get_caller_identity()
        rid = cm.exception.response["ResponseMetadata"]["RequestId"]
        self.assertNotIn(rid, by_request_id(s.lookup_all(self.ct)))


class TlsDetailsTest(unittest.TestCase):
    def test_tls_details_recorded(self):
        s = harness.start_server(self, tls=True)
        for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
                              (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            ctx = s.ssl_context(min_version=version, max_version=version)
            conn = s.connection(ssl_context=ctx)
            resp = s.sts_query(conn=conn)
            self.assertEqual(resp.status, 200, resp)
            negotiated = conn.sock.version()
            cipher = conn.sock.cipher()[0]
            conn.close()
            self.assertEqual(negotiated, name)
            rid = resp.header("x-amzn-RequestId")
            found = by_request_id(s.lookup_all(
                s.client("cloudtrail"), LookupAttributes=name_filter("GetCallerIdentity")))
            self.assertIn(rid, found)
            tls = found[rid][1]["tlsDetails"]
            self.assertEqual(tls["tlsVersion"], name)
            self.assertEqual(tls["cipherSuite"], cipher)
            self.assertEqual(tls["clientProvidedHostHeader"], s.netloc)


if __name__ == "__main__":
    unittest.main()
