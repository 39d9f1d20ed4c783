"""SigV4 fixtures signed by botocore at test time.

Prints one JSON document: {"secret": ..., "cases": [...]}. Each case carries the request as it
goes on the wire (method, request-target, headers in order, base64 body), the signing time
and the error style the server must use. The C++ test verifies them with the same secret at
that time and derives the negative cases (wrong secret, tampering, skew, expiry) from them.

aws-chunked bodies are built here with a small implementation of the documented chunk-signing
algorithm (AWS S3 "Signature Calculations for the Authorization Header: Transferring Payload in
Multiple Chunks"), chained from a seed signature computed by botocore.
"""

import base64
import datetime
import hashlib
import hmac
import json
import sys
from urllib.parse import urlsplit

import botocore.auth
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDEXAMPLE+/="
FIXED = datetime.datetime(2026, 11, 28, 16, 0, 0, tzinfo=datetime.timezone.utc)
EMPTY_SHA = hashlib.sha256(b"").hexdigest()

# Pin botocore's clock: every signer reads get_current_datetime() from botocore.auth.
botocore.auth.get_current_datetime = lambda *a, **k: FIXED.replace(tzinfo=None)


def wire(name, style, req, extra=None):
    """Serializes a signed AWSRequest as the server would receive it."""
    prepared = req.prepare()
    parts = urlsplit(prepared.url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    # The request's own header list keeps repeated headers (prepare() folds them into a dict);
    # the prepared request adds Content-Length.
    headers = []
    lower = set()
    for k, v in req.headers.items():
        headers.append([k, v])
        lower.add(k.lower())
    for k, v in prepared.headers.items():
        if k.lower() not in lower:
            headers.append([k, v])
            lower.add(k.lower())
    if "host" not in lower:  # urllib3 adds Host from the URL, as botocore assumed when signing
        headers.insert(0, ["Host", parts.netloc])
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    elif hasattr(body, "read"):
        body = body.read()
    case = {
        "name": name,
        "style": style,
        "method": prepared.method,
        "target": target,
        "headers": headers,
        "body_b64": base64.b64encode(body).decode(),
        "amz_date": FIXED.strftime("%Y%m%dT%H%M%SZ"),
        "epoch": int(FIXED.timestamp()),
    }
    if extra:
        case.update(extra)
    return case


def creds(token=None):
    return Credentials(AKID, SECRET, token)


def hmac256(key, msg):
    return hmac.new(key, msg.encode() if isinstance(msg, str) else msg, hashlib.sha256).digest()


def signing_key(date, region, service):
    k = hmac256(("AWS4" + SECRET).encode(), date)
    k = hmac256(k, region)
    k = hmac256(k, service)
    return hmac256(k, "aws4_request")


class StreamingSeedAuth(S3SigV4Auth):
    """S3 signer whose payload hash is a streaming marker (the seed request of aws-chunked)."""

    marker = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"

    def payload(self, request):
        return self.marker


def aws_chunked(seed_sig, data, chunk, region, service, trailer=None):
    """Signed aws-chunked encoding of data, chained from the seed signature."""
    date = FIXED.strftime("%Y%m%d")
    ts = FIXED.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{date}/{region}/{service}/aws4_request"
    key = signing_key(date, region, service)
    prev = seed_sig
    out = b""
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for piece in pieces:
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", ts, scope, prev, EMPTY_SHA,
                         hashlib.sha256(piece).hexdigest()])
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        out += b"%x;chunk-signature=%s\r\n" % (len(piece), sig.encode())
        if piece:
            out += piece + b"\r\n"
        prev = sig
    if trailer is None:
        return out + b"\r\n"
    canon = "".join(f"{k}:{v}\n" for k, v in trailer)
    sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", ts, scope, prev,
                     hashlib.sha256(canon.encode()).hexdigest()])
    tsig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    for k, v in trailer:
        out += f"{k}:{v}\r\n".encode()
    out += f"x-amz-trailer-signature:{tsig}\r\n\r\n".encode()
    return out


def main():
    cases = []

    # 1. STS GetCallerIdentity, query protocol (POST form body).
    r = AWSRequest("POST", "https://sts.amazonaws.com/",
                   headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                   data=b"Action=GetCallerIdentity&Version=2011-06-15")
    SigV4Auth(creds(), "sts", "us-east-1").add_auth(r)
    cases.append(wire("sts_post", "query", r))

    # 2. Same with a session token (x-amz-security-token is signed).
    r = AWSRequest("POST", "https://sts.amazonaws.com/",
                   headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                   data=b"Action=GetCallerIdentity&Version=2011-06-15")
    SigV4Auth(creds(TOKEN), "sts", "us-east-1").add_auth(r)
    cases.append(wire("sts_post_token", "query", r, {"token": TOKEN}))

    # 3. JSON protocol (KMS) with X-Amz-Target and a JSON body, non-default port in Host.
    r = AWSRequest("POST", "https://localhost:4566/",
                   headers={"Content-Type": "application/x-amz-json-1.1",
                            "X-Amz-Target": "TrentService.ListKeys"},
                   data=b'{"Limit": 10}')
    SigV4Auth(creds(), "kms", "eu-west-1").add_auth(r)
    cases.append(wire("kms_json", "json", r))

    # 4. GET with query edge cases: spaces, repeated keys, unicode, reserved characters, a key
    #    without value, and a header with inner whitespace plus a repeated header.
    r = AWSRequest("GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"
                          "&b=x%20y&a=2&a=1&Z=%E2%82%AC&q=a%2Bb%3Dc%26d&flag=&PathPrefix=%2F",
                   headers={"X-Amz-Meta-Spaced": "  one   two\tthree  "})
    multi = HTTPHeaders()  # an HTTPMessage: assigning a name twice keeps both values
    for k, v in r.headers.items():
        multi[k] = v
    multi["X-Custom-Multi"] = "first"
    multi["X-Custom-Multi"] = "  second  value "
    r.headers = multi
    SigV4Auth(creds(), "iam", "us-east-1").add_auth(r)
    cases.append(wire("iam_get_query_edges", "query", r))

    # 5. Non-S3 path normalization and double encoding: dot segments, empty segments, unicode
    #    and an encoded space in a REST path.
    r = AWSRequest("GET", "https://lambda.us-east-1.amazonaws.com/2015-03-31/./functions//"
                          "caf%C3%A9%20fn/../caf%C3%A9%20fn/configuration")
    SigV4Auth(creds(), "lambda", "us-east-1").add_auth(r)
    cases.append(wire("lambda_path_normalized", "json", r))

    # 6. The Date header instead of X-Amz-Date.
    r = AWSRequest("POST", "https://sts.amazonaws.com/",
                   headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                            "Date": "placeholder"},
                   data=b"Action=GetCallerIdentity&Version=2011-06-15")
    SigV4Auth(creds(), "sts", "us-east-1").add_auth(r)
    cases.append(wire("sts_date_header", "query", r))

    # 7. S3 PUT, payload signed, path used as-is (no normalization), unicode key.
    r = AWSRequest("PUT", "https://s3.us-east-1.amazonaws.com/bucket/dir//./k%C3%A9y%20%2B%21.txt",
                   headers={"Content-Type": "text/plain", "X-Amz-Meta-Note": "a   b"},
                   data=b"hello world")
    S3SigV4Auth(creds(), "s3", "us-east-1").add_auth(r)
    cases.append(wire("s3_put_signed", "s3", r))

    # 8. S3 GET with a sub-resource without value and list parameters.
    r = AWSRequest("GET", "https://bucket.s3.us-east-1.amazonaws.com/?list-type=2&prefix=a%20b%2F&"
                          "delimiter=%2F&uploads")
    S3SigV4Auth(creds(), "s3", "us-east-1").add_auth(r)
    cases.append(wire("s3_get_query", "s3", r))

    # 9. S3 presigned GET (UNSIGNED-PAYLOAD), one hour, with a session token.
    r = AWSRequest("GET", "https://bucket.s3.us-east-1.amazonaws.com/photos/2026/pic%201.jpg")
    S3SigV4QueryAuth(creds(TOKEN), "s3", "us-east-1", expires=3600).add_auth(r)
    cases.append(wire("s3_presigned_get", "s3", r, {"expires": 3600}))

    # 10. Non-S3 presigned (the EKS-token style presigned GetCallerIdentity).
    r = AWSRequest("GET", "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
                   headers={"x-k8s-aws-id": "my-cluster"})
    SigV4QueryAuth(creds(), "sts", "us-east-1", expires=900).add_auth(r)
    cases.append(wire("sts_presigned", "query", r, {"expires": 900}))

    # 11. S3 aws-chunked upload with signed chunks (seed signed by botocore).
    data = bytes((i * 7 + 3) % 251 for i in range(20000))
    r = AWSRequest("PUT", "https://bucket.s3.us-east-1.amazonaws.com/chunked.bin",
                   headers={"Content-Encoding": "aws-chunked",
                            "X-Amz-Decoded-Content-Length": str(len(data))})
    StreamingSeedAuth(creds(), "s3", "us-east-1").add_auth(r)
    seed = r.headers["Authorization"].rsplit("Signature=", 1)[1]
    body = aws_chunked(seed, data, 8192, "us-east-1", "s3")
    r.data = body
    cases.append(wire("s3_chunked_signed", "s3", r,
                      {"decoded_b64": base64.b64encode(data).decode()}))

    # 12. Signed chunks with a signed trailer.
    crc = Crc32Checksum()
    crc.update(data)
    trailer = [("x-amz-checksum-crc32", crc.b64digest())]

    class TrailerSeedAuth(StreamingSeedAuth):
        marker = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"

    r = AWSRequest("PUT", "https://bucket.s3.us-east-1.amazonaws.com/trailer.bin",
                   headers={"Content-Encoding": "aws-chunked",
                            "X-Amz-Trailer": "x-amz-checksum-crc32",
                            "X-Amz-Decoded-Content-Length": str(len(data))})
    TrailerSeedAuth(creds(), "s3", "us-east-1").add_auth(r)
    seed = r.headers["Authorization"].rsplit("Signature=", 1)[1]
    r.data = aws_chunked(seed, data, 8192, "us-east-1", "s3", trailer)
    cases.append(wire("s3_chunked_signed_trailer", "s3", r,
                      {"decoded_b64": base64.b64encode(data).decode(),
                       "trailer": list(trailer[0])}))

    # 13. STREAMING-UNSIGNED-PAYLOAD-TRAILER exactly as botocore sends S3 checksums: the signer
    #     marks the payload and botocore's own AwsChunkedWrapper encodes the body.
    import io
    small = b"unsigned trailer payload " * 50
    wrapper = AwsChunkedWrapper(io.BytesIO(small), checksum_cls=Crc32Checksum,
                                checksum_name="x-amz-checksum-crc32", chunk_size=300)
    encoded = wrapper.read()
    r = AWSRequest("PUT", "https://bucket.s3.us-east-1.amazonaws.com/unsigned.txt",
                   headers={"Content-Encoding": "aws-chunked",
                            "X-Amz-Trailer": "x-amz-checksum-crc32",
                            "X-Amz-Decoded-Content-Length": str(len(small))},
                   data=encoded)
    r.context["checksum"] = {"request_algorithm": {"in": "trailer",
                                                   "name": "x-amz-checksum-crc32"}}
    S3SigV4Auth(creds(), "s3", "us-east-1").add_auth(r)
    crc = Crc32Checksum()
    crc.update(small)
    cases.append(wire("s3_unsigned_trailer", "s3", r,
                      {"decoded_b64": base64.b64encode(small).decode(),
                       "trailer": ["x-amz-checksum-crc32", crc.b64digest()]}))

    json.dump({"access_key": AKID, "secret": SECRET, "cases": cases}, sys.stdout)


if __name__ == "__main__":
    main()
