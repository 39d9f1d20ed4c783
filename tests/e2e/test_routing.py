"""Routing: services found by target, scope, host and path; operations without a handler
answer NotImplemented naming service and operation (never a fake success), and are audited."""

import json
import unittest
import urllib.parse

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions

import harness


class RoutingTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)

    def s3_signed(self, method, path, host):
        creds = botocore.credentials.Credentials(self.s.access_key, self.s.secret_key)
        req = botocore.awsrequest.AWSRequest(method=method, url=self.s.endpoint + path,
                                             headers={"Host": host})
        botocore.auth.S3SigV4Auth(creds, "s3", self.s.region).add_auth(req)
        prepared = req.prepare()
        split = urllib.parse.urlsplit(prepared.url)
        full = split.path + (("?" + split.query) if split.query else "")
        return self.s.http(method, full, headers=dict(prepared.headers.items()))

    def assert_not_implemented(self, resp, service, operation):
        self.assertEqual(resp.status, 501, resp)
        self.assertEqual(resp.error_code, "NotImplemented", resp)
        self.assertIn(operation, resp.text, resp)
        self.assertIn(service, resp.text, resp)

    def test_json_service_without_handler_names_the_operation(self):
        acm = self.s.client("acm")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            acm.list_certificates()
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "NotImplemented")
        self.assertIn("ListCertificates", err["Message"])
        self.assertIn("acm", err["Message"])
        # The refused call is in the event history, with its error code.
        events = self.s.client("cloudtrail").lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ListCertificates"}])
        self.assertEqual(len(events["Events"]), 1, events)
        record = json.loads(events["Events"][0]["CloudTrailEvent"])
        self.assertEqual(record["eventSource"], "acm.amazonaws.com")
        self.assertEqual(record["errorCode"], "NotImplemented")

    def test_cbor_service_is_routed_and_parsed(self):
        # botocore speaks smithy-rpc-v2-cbor to CloudWatch.
        cw = self.s.client("cloudwatch")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            cw.put_metric_data(Namespace="App", MetricData=[{"MetricName": "m", "Value": 1.0}])
        self.assertEqual(cm.exception.response["Error"]["Code"], "NotImplemented")
        self.assertIn("PutMetricData", cm.exception.response["Error"]["Message"])
        # ... and validation happens before: a missing required member is refused as such.
        with self.assertRaises(botocore.exceptions.ParamValidationError):
            cw.put_metric_data(MetricData=[])

    def test_s3_path_style(self):
        resp = self.s3_signed("GET", "/my-bucket/photos/cat.jpg", self.s.netloc)
        self.assert_not_implemented(resp, "s3", "GetObject")
        self.assertTrue(resp.header("x-amz-request-id"), resp.headers)

    def test_s3_virtual_host_style(self):
        host = f"my-bucket.s3.localhost:{self.s.port}"
        resp = self.s3_signed("GET", "/photos/cat.jpg", host)
        self.assert_not_implemented(resp, "s3", "GetObject")
        resp = self.s3_signed("GET", "/?list-type=2", host)
        self.assert_not_implemented(resp, "s3", "ListObjectsV2")
        # The bucket came from the Host: the audit record shows the path-style request.
        events = self.s.client("cloudtrail").lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetObject"}])
        params = json.loads(events["Events"][0]["CloudTrailEvent"])["requestParameters"]
        self.assertIn("my-bucket", params.values(), params)
        self.assertIn("photos/cat.jpg", params.values(), params)

    def test_s3_wrong_secret_is_s3_error(self):
        creds = botocore.credentials.Credentials(self.s.access_key, "x" * 40)
        req = botocore.awsrequest.AWSRequest(method="GET", url=self.s.endpoint + "/b/k")
        botocore.auth.S3SigV4Auth(creds, "s3", self.s.region).add_auth(req)
        resp = self.s.http("GET", "/b/k", headers=dict(req.prepare().headers.items()))
        self.assertEqual(resp.status, 403, resp)
        self.assertEqual(resp.error_code, "SignatureDoesNotMatch", resp)
        self.assertIn(b"<StringToSign>", resp.body)


if __name__ == "__main__":
    unittest.main()
