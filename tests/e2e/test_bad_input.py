"""Bad input gets the AWS error (or a closed connection) and the server keeps serving."""

import json
import os
import socket
import unittest

import botocore.config
import botocore.exceptions

import harness
from harness import by_request_id, read_until_closed


class ProtocolErrorsTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)

    def assert_json_error(self, resp, status, codes):
        self.assertEqual(resp.status, status, resp)
        self.assertIn(resp.error_code, codes, resp)
        self.assertTrue(resp.header("x-amzn-RequestId"), resp.headers)
        doc = resp.json()  # a JSON error document
        self.assertIn("__type", doc)

    def test_malformed_json_is_serialization_exception(self):
        resp = self.s.cloudtrail_json("LookupEvents", b'{"MaxResults": 5,')
        self.assert_json_error(resp, 400, ("SerializationException",))

    def test_json_of_the_wrong_shape_is_serialization_exception(self):
        for body in (b"[]", b'"text"', b'{"MaxResults": "five"}',
                     b'{"LookupAttributes": {"AttributeKey": "EventName"}}'):
            resp = self.s.cloudtrail_json("LookupEvents", body)
            self.assert_json_error(resp, 400, ("SerializationException",))

    def test_invalid_utf8_json(self):
        body = b'{"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "\xff\xfe"}]}'
        resp = self.s.cloudtrail_json("LookupEvents", body)
        self.assertEqual(resp.status, 400, resp)
        self.assertIn(resp.error_code, ("SerializationException", "ValidationException"), resp)

    def test_unknown_target_operation(self):
        resp = self.s.cloudtrail_json("NoSuchOperation", b"{}")
        self.assert_json_error(resp, 400, ("UnknownOperationException",))

    def test_unknown_query_action_is_invalid_action(self):
        resp = self.s.sts_query(action="NoSuchAction")
        self.assertEqual(resp.status, 400, resp)
        self.assertEqual(resp.error_code, "InvalidAction")
        self.assertIn("<ErrorResponse", resp.text)
        self.assertTrue(resp.header("x-amzn-RequestId"))
        self.assertIn(f"<RequestId>{resp.header('x-amzn-RequestId')}</RequestId>", resp.text)

    def test_query_validation_error(self):
        resp = self.s.sts_query(action="GetSessionToken", params={"DurationSeconds": "1"})
        self.assertEqual(resp.status, 400, resp)
        self.assertEqual(resp.error_code, "ValidationError")

    def test_json_validation_errors(self):
        ct = self.s.client("cloudtrail", parameter_validation=False)
        cases = [
            ({"MaxResults": 51}, ("ValidationException", "InvalidMaxResultsException")),
            ({"LookupAttributes": [{"AttributeKey": "Bogus", "AttributeValue": "x"}]},
             ("ValidationException", "InvalidLookupAttributesException")),
            ({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": ""}]},
             ("ValidationException", "InvalidLookupAttributesException")),
        ]
        for args, codes in cases:
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                ct.lookup_events(**args)
            err = cm.exception.response
            self.assertIn(err["Error"]["Code"], codes, (args, err))
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400, (args, err))

    def test_operation_without_handler_names_itself(self):
        ct = self.s.client("cloudtrail")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            ct.list_imports()
        err = cm.exception.response
        self.assertGreaterEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)
        text = json.dumps(err["Error"])
        self.assertIn("ListImports", text)
        self.assertRegex(text.lower(), "cloudtrail")

    def test_wrong_content_type_does_not_crash(self):
        resp = self.s.cloudtrail_json("LookupEvents", b"{}", content_type="text/plain")
        self.assertLess(resp.status, 500, resp)
        self.assertEqual(self.s.health().status, 200)

    def test_duplicate_query_keys(self):
        body = "Action=GetCallerIdentity&Version=2011-06-15&Action=GetCallerIdentity"
        resp = self.s.signed("sts", body=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertLess(resp.status, 500, resp)
        self.assertEqual(self.s.sts_query().status, 200)


class MalformedHttpTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)

    def send_raw(self, payload, half_close=True):
        sock = self.s.raw_socket(timeout=30)
        try:
            try:
                sock.sendall(payload)
                if half_close:
                    sock.shutdown(socket.SHUT_WR)
            except OSError:  # the server already closed the connection
                pass
            return read_until_closed(sock)
        finally:
            sock.close()

    def assert_not_success(self, data):
        if data:
            self.assertRegex(data[:20], rb"^HTTP/1\.[01] 4\d\d", data[:300])

    def test_garbage_does_not_lose_state_or_stop_the_server(self):
        rid = self.s.client("sts").get_caller_identity()["ResponseMetadata"]["RequestId"]
        netloc = self.s.netloc
        payloads = [
            b"GARBAGE\r\n\r\n",
            b"\x00\x01\x02\x03" * 1000,
            os.urandom(8192),
            f"POST / HTTP/1.1\r\nHost: {netloc}\r\nContent-Length: abc\r\n\r\n".encode(),
            f"POST / HTTP/1.1\r\nHost: {netloc}\r\nContent-Length: -5\r\n\r\n".encode(),
            (f"POST / HTTP/1.1\r\nHost: {netloc}\r\nContent-Length: 5\r\n"
             f"Content-Length: 7\r\n\r\nhello").encode(),
            (f"POST / HTTP/1.1\r\nHost: {netloc}\r\nTransfer-Encoding: chunked\r\n\r\n"
             "zz\r\nabc\r\n").encode(),
            f"GET /_citadel/health HTTP/9.9\r\nHost: {netloc}\r\n\r\n".encode(),
            b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        ]
        for payload in payloads:
            data = self.send_raw(payload)
            self.assert_not_success(data)
            self.assertEqual(self.s.health().status, 200, payload[:80])
        # Truncated chunked body: the client goes away mid-chunk.
        data = self.send_raw((f"POST / HTTP/1.1\r\nHost: {netloc}\r\n"
                              "Content-Type: application/x-www-form-urlencoded\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"
                              "100\r\nAction=GetCall").encode())
        self.assert_not_success(data)
        self.assertEqual(self.s.sts_query().status, 200)
        self.assertIn(rid, by_request_id(self.s.lookup_all()))


if __name__ == "__main__":
    unittest.main()
