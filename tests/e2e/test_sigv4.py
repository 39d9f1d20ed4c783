"""Signature V4: wrong secrets, unknown keys, presigned URLs and their expiry, clock skew."""

import datetime
import unittest
import urllib.error
import urllib.parse
import urllib.request

import botocore.exceptions

import harness
from harness import botocore_clock

MINUTES = datetime.timedelta(minutes=1)


def urlopen(url, cafile=None):
    """GET with urllib; returns (status, body text) for success and HTTP errors alike."""
    import ssl
    ctx = ssl.create_default_context(cafile=cafile) if url.startswith("https") else None
    handler = urllib.request.ProxyHandler({})
    opener = urllib.request.build_opener(handler, urllib.request.HTTPSHandler(context=ctx)) \
        if ctx else urllib.request.build_opener(handler)
    try:
        with opener.open(url, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def code_in(body):
    return harness.error_code_of(0, {}, body)


class SignatureErrorsTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)

    def client_error(self, fn):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn()
        return cm.exception.response

    def test_wrong_secret_is_signature_does_not_match(self):
        bad = self.s.client("sts", secret_key="wrong" + self.s.secret_key[5:])
        err = self.client_error(bad.get_caller_identity)
        self.assertEqual(err["Error"]["Code"], "SignatureDoesNotMatch")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertTrue(err["Error"]["Message"].startswith(
            "The request signature we calculated does not match the signature you provided"),
            err["Error"]["Message"])
        self.assertNotIn(self.s.secret_key, str(err))

    def test_wrong_secret_with_aws_cli(self):
        out = self.s.aws("sts", "get-caller-identity", secret_key="Z" * 40, check=False)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("SignatureDoesNotMatch", out.stderr)

    def test_unknown_access_key_is_invalid_client_token_id(self):
        stranger = self.s.client("sts", access_key=harness.random_access_key_id())
        err = self.client_error(stranger.get_caller_identity)
        self.assertEqual(err["Error"]["Code"], "InvalidClientTokenId")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertEqual(err["Error"]["Message"],
                         "The security token included in the request is invalid.")

    def test_json_protocol_signature_errors_use_json_service_codes(self):
        # JSON-protocol services (CloudTrail, KMS, ...) answer these two failures with
        # InvalidSignatureException and UnrecognizedClientException, not the query codes.
        bad = self.s.client("cloudtrail", secret_key="y" * 40)
        err = self.client_error(bad.lookup_events)
        self.assertEqual(err["Error"]["Code"], "InvalidSignatureException")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)
        stranger = self.s.client("cloudtrail", access_key=harness.random_access_key_id())
        err = self.client_error(stranger.lookup_events)
        self.assertEqual(err["Error"]["Code"], "UnrecognizedClientException")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)

    def test_tampered_signed_request_is_refused(self):
        m, p, body, headers = self.s.sign(
            "sts", body="Action=GetCallerIdentity&Version=2011-06-15",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        good = self.s.http(m, p, body=body, headers=headers)
        self.assertEqual(good.status, 200, good)
        # Same signature, different body.
        tampered = body.replace(b"2011-06-15", b"2011-06-16")
        resp = self.s.http(m, p, body=tampered, headers=headers)
        self.assertEqual(resp.status, 403, resp)
        self.assertEqual(resp.error_code, "SignatureDoesNotMatch")

    def test_missing_authentication(self):
        # Without a signature the Host header names the service, as it does at AWS.
        resp = self.s.http("POST", "/", body="Action=GetCallerIdentity&Version=2011-06-15",
                           headers={"Content-Type": "application/x-www-form-urlencoded",
                                    "Host": "sts.amazonaws.com"})
        self.assertEqual(resp.status, 403, resp)
        self.assertEqual(resp.error_code, "MissingAuthenticationToken")
        self.assertTrue(resp.header("x-amzn-RequestId"))

    def test_incomplete_signature(self):
        now = harness.utcnow()
        scope = f"{self.s.access_key}/{now:%Y%m%d}/{self.s.region}/sts/aws4_request"
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Amz-Date": now.strftime("%Y%m%dT%H%M%SZ"),
                   "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}"}
        # Routed by the Host header (as at AWS), then by the credential scope alone.
        for extra in ({"Host": "sts.amazonaws.com"}, {}):
            with self.subTest(host=extra.get("Host", self.s.netloc)):
                resp = self.s.http("POST", "/", body="Action=GetCallerIdentity&Version=2011-06-15",
                                   headers={**headers, **extra})
                self.assertIn(resp.status, (400, 403), resp)
                self.assertEqual(resp.error_code, "IncompleteSignature", resp)

    def test_clock_skew_over_15_minutes_is_refused(self):
        for delta in (-20 * MINUTES, 20 * MINUTES):
            with botocore_clock(delta):
                err = self.client_error(self.s.client("sts").get_caller_identity)
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 403, (delta, err))
            # AWS STS answers SignatureDoesNotMatch ("Signature expired: ..." / "Signature not
            # yet current: ..."); RequestExpired is the EC2-style code for the same refusal.
            self.assertIn(err["Error"]["Code"], ("SignatureDoesNotMatch", "RequestExpired"),
                          (delta, err))

    def test_clock_skew_within_15_minutes_is_accepted(self):
        for delta in (-5 * MINUTES, 5 * MINUTES):
            with botocore_clock(delta):
                ident = self.s.client("sts").get_caller_identity()
            self.assertEqual(ident["Account"], self.s.account_id)


class PresignedUrlTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)

    def presign(self, expires, delta=None):
        client = self.s.client("sts")
        if delta is None:
            return client.generate_presigned_url("get_caller_identity", ExpiresIn=expires,
                                                 HttpMethod="GET")
        with botocore_clock(delta):
            return client.generate_presigned_url("get_caller_identity", ExpiresIn=expires,
                                                 HttpMethod="GET")

    def test_presigned_url_works_with_plain_get(self):
        url = self.presign(300)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        self.assertEqual(query["X-Amz-Expires"], ["300"])
        status, body = urlopen(url)
        self.assertEqual(status, 200, body)
        self.assertIn(f"<Arn>arn:aws:iam::{self.s.account_id}:root</Arn>", body)
        self.assertIn(f"<Account>{self.s.account_id}</Account>", body)

    def test_presigned_url_signed_in_the_past_still_valid_before_expiry(self):
        url = self.presign(600, delta=-2 * MINUTES)
        status, body = urlopen(url)
        self.assertEqual(status, 200, body)

    def test_presigned_url_refused_after_x_amz_expires(self):
        # Signed 2 minutes ago, valid for 60 seconds: expired a minute ago.
        url = self.presign(60, delta=-2 * MINUTES)
        status, body = urlopen(url)
        self.assertEqual(status, 403, body)
        self.assertIn(code_in(body), ("AccessDenied", "RequestExpired", "ExpiredToken",
                                      "SignatureDoesNotMatch"), body)
        # The same request signed now with the same lifetime is honoured.
        status, body = urlopen(self.presign(60))
        self.assertEqual(status, 200, body)

    def test_presigned_url_long_expired(self):
        url = self.presign(3600, delta=-3 * 60 * MINUTES)
        status, body = urlopen(url)
        self.assertEqual(status, 403, body)

    def test_sts_presigned_url_lives_at_most_15_minutes(self):
        # AWS STS ignores an X-Amz-Expires beyond 15 minutes: a GetCallerIdentity URL signed
        # 20 minutes ago is refused even if it claims an hour (aws/aws-sdk-go#2167).
        url = self.presign(3600, delta=-20 * MINUTES)
        status, body = urlopen(url)
        self.assertEqual(status, 403, body)

    def test_presigned_url_with_changed_expiry_is_refused(self):
        url = self.presign(60, delta=-2 * MINUTES)
        forged = url.replace("X-Amz-Expires=60", "X-Amz-Expires=900")
        self.assertNotEqual(forged, url)
        status, body = urlopen(forged)
        self.assertEqual(status, 403, body)
        self.assertEqual(code_in(body), "SignatureDoesNotMatch", body)

    def test_presigned_url_with_wrong_secret_is_refused(self):
        client = self.s.client("sts", secret_key="q" * 40)
        url = client.generate_presigned_url("get_caller_identity", ExpiresIn=300,
                                            HttpMethod="GET")
        status, body = urlopen(url)
        self.assertEqual(status, 403, body)
        self.assertEqual(code_in(body), "SignatureDoesNotMatch", body)


if __name__ == "__main__":
    unittest.main()
