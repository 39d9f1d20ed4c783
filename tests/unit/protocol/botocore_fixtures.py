#!/usr/bin/env python3
"""Wire fixtures for the protocol unit tests, produced by botocore itself at test time.

  botocore_fixtures.py request <service> <operation> '<json params>' [--protocol P]
      Runs a real botocore client (dummy credentials, endpoint https://citadel.test) up to
      the point of sending and prints the request it would send:
      {"method", "url_path", "query", "target", "headers": {lower-case: value}, "body_b64"}.
      "url_path" and "query" are raw (still percent-encoded); "target" is path?query.

  botocore_fixtures.py parse <service> <operation> [--protocol P]
      Reads {"status", "headers": {...}, "body_b64"} on stdin, runs botocore's response
      parser for the operation and prints what it extracts. Errors come back as
      {"Error": {"Code", "Message", ...}, "ResponseMetadata": {...}} exactly as a
      botocore ClientError would carry them.

  botocore_fixtures.py requests
      Batch form of "request": reads [{"service", "operation", "params", "protocol"?}, ...]
      on stdin and prints the list of requests (one Python start for many fixtures).

--protocol forces one of json / query / smithy-rpc-v2-cbor / rest-json / rest-xml / ec2 for
services that speak several (cloudwatch speaks cbor, json and query).

Values that JSON cannot carry use tagged objects, both in params and in output:
  {"$b64": "..."}  bytes (blobs)          {"$ts": 1700000000.5}  timestamps (epoch seconds)
"""
import base64
import copy
import datetime
import json
import sys

import io
from urllib.parse import urlsplit

import botocore.session
from botocore.awsrequest import HeadersDict
from botocore.config import Config
from botocore.parsers import create_parser
from botocore.response import StreamingBody


class _Captured(Exception):
    def __init__(self, request):
        super().__init__("captured")
        self.request = request


def _session(protocol):
    session = botocore.session.Session()
    loader = session.get_component("data_loader")
    if protocol:
        original = loader.load_service_model

        def patched(service_name, type_name, api_version=None):
            data = original(service_name, type_name, api_version)
            if type_name == "service-2":
                data = copy.deepcopy(data)
                data["metadata"]["protocol"] = protocol
                data["metadata"]["protocols"] = [protocol]
            return data

        loader.load_service_model = patched
    return session


def _client(service, protocol):
    session = _session(protocol)
    return session.create_client(
        service,
        region_name="us-east-1",
        endpoint_url="https://citadel.test",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0},
                      parameter_validation=False),
    )


def _decode_params(v):
    if isinstance(v, dict):
        if set(v) == {"$b64"}:
            return base64.b64decode(v["$b64"])
        if set(v) == {"$ts"}:
            return datetime.datetime.fromtimestamp(v["$ts"], tz=datetime.timezone.utc)
        return {k: _decode_params(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_decode_params(x) for x in v]
    return v


def _encode_output(v):
    if isinstance(v, (bytes, bytearray)):
        return {"$b64": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return {"$ts": v.timestamp()}
    if isinstance(v, StreamingBody):
        return {"$b64": base64.b64encode(v.read()).decode()}
    if isinstance(v, dict):
        return {k: _encode_output(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_encode_output(x) for x in v]
    return v


_clients = {}


def build_request(service, operation, params, protocol):
    key = (service, protocol)
    if key not in _clients:
        _clients[key] = _client(service, protocol)
    client = _clients[key]

    def capture(request, **kwargs):
        raise _Captured(request)

    client.meta.events.register("before-send", capture, unique_id="citadel-capture")
    method = getattr(client, _py_name(client, operation))
    try:
        method(**_decode_params(params))
    except _Captured as c:
        req = c.request
    u = urlsplit(req.url)
    body = req.body
    if body is None:
        body = b""
    elif isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, (bytes, bytearray)):
        body = body.read()
    return {
        "method": req.method,
        "url_path": u.path or "/",
        "query": u.query,
        "target": (u.path or "/") + ("?" + u.query if u.query else ""),
        "headers": {k.lower(): (v.decode() if isinstance(v, bytes) else v)
                    for k, v in req.headers.items()},
        "body_b64": base64.b64encode(bytes(body)).decode(),
    }


def _py_name(client, operation):
    for py, api in client.meta.method_to_api_mapping.items():
        if api == operation:
            return py
    raise SystemExit(f"unknown operation {operation}")


def cmd_parse(service, operation, protocol, response):
    client = _client(service, protocol)
    model = client.meta.service_model
    op = model.operation_model(operation)
    parser = create_parser(protocol or model.protocol)
    headers = HeadersDict()
    for k, v in response.get("headers", {}).items():
        headers[k] = v
    body = base64.b64decode(response.get("body_b64", ""))
    resp = {"status_code": response["status"], "headers": headers, "body": body}
    if op.has_streaming_output and response["status"] < 300:
        resp["body"] = StreamingBody(io.BytesIO(body), len(body))
    parsed = parser.parse(resp, op.output_shape)
    json.dump(_encode_output(parsed), sys.stdout, default=str)


def main(argv):
    protocol = None
    if "--protocol" in argv:
        i = argv.index("--protocol")
        protocol = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    if len(argv) >= 4 and argv[1] == "request":
        params = json.loads(argv[4]) if len(argv) > 4 else {}
        json.dump(build_request(argv[2], argv[3], params, protocol), sys.stdout)
    elif len(argv) == 2 and argv[1] == "requests":
        json.dump([build_request(r["service"], r["operation"], r.get("params", {}),
                                 r.get("protocol") or protocol)
                   for r in json.load(sys.stdin)], sys.stdout)
    elif len(argv) >= 4 and argv[1] == "parse":
        if len(argv) > 4 and not protocol:
            protocol = argv[4]
        cmd_parse(argv[2], argv[3], protocol, json.load(sys.stdin))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
