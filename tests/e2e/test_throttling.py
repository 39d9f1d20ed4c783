"""Throttling like AWS when switched on per service in the configuration."""

import time
import unittest

import botocore.exceptions

import harness


def burst(client, n=20):
    """Calls LookupEvents n times without retries; returns (successes, [error responses])."""
    ok, errors = 0, []
    for _ in range(n):
        try:
            client.lookup_events(MaxResults=1)
            ok += 1
        except botocore.exceptions.ClientError as e:
            errors.append(e.response)
    return ok, errors


class ThrottlingTest(unittest.TestCase):
    def test_cloudtrail_lookup_events_throttled_over_quota(self):
        s = harness.start_server(self, config={"throttling": {"cloudtrail": True}})
        ct = s.client("cloudtrail")
        ok, errors = burst(ct)
        self.assertGreaterEqual(ok, 1, errors[:1])
        self.assertGreaterEqual(len(errors), 1, "20 LookupEvents in a burst were not throttled")
        for err in errors:
            self.assertEqual(err["Error"]["Code"], "ThrottlingException", err)
            self.assertEqual(err["Error"]["Message"], "Rate exceeded")
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)
            self.assertTrue(err["ResponseMetadata"]["RequestId"])
        # Other services are not throttled by CloudTrail's quota.
        sts = s.client("sts")
        for _ in range(30):
            sts.get_caller_identity()
        # The bucket refills: a later call succeeds again.
        for _ in range(40):
            try:
                ct.lookup_events(MaxResults=1)
                break
            except botocore.exceptions.ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "ThrottlingException")
                time.sleep(0.5)
        else:
            self.fail("LookupEvents stayed throttled")

    def test_throttling_off_by_default(self):
        s = harness.start_server(self)
        ok, errors = burst(s.client("cloudtrail"))
        self.assertEqual(errors, [])
        self.assertEqual(ok, 20)

    def test_throttling_switched_on_for_another_service_only(self):
        s = harness.start_server(self, config={"throttling": {"sts": True}})
        ok, errors = burst(s.client("cloudtrail"))
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
