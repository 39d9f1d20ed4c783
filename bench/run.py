#!/usr/bin/env python3
"""Side-by-side load test: citadel vs moto, on the same botocore-signed requests.

For each scenario this script creates the state it needs on both servers (KMS keys behind
the same aliases, a secret, a SecureString parameter, through ordinary botocore calls),
captures the request a real botocore client would send for the operation (same headers,
User-Agent, Content-Type, JSON 1.1 / query body), re-signs a fresh batch of it with botocore's
SigV4Auth for each target right before each run (only Host, per-server values such as a
ciphertext, and the signature differ), writes the raw HTTP/1.1 bytes for bench/loadgen, runs
loadgen against moto and then citadel at each connection count, and prints a Markdown table
with the citadel/moto throughput ratio and the issue targets. It also measures citadel's
start-up time and idle resident memory.

Requests are signed by an IAM user created on citadel with an identity policy (so SigV4,
IAM evaluation and CloudTrail recording all run on every citadel request); moto accepts the
same signatures without checking them.

Usage:
  python3 bench/run.py --citadel build/citadel --loadgen build/loadgen \
      [--only kms,secretsmanager] [--scenarios a,b] [--citadel-connections 1,32] \
      [--moto-connections 1] [--duration 10] [--moto-duration 4] [--json [FILE]]

Add a scenario with one entry in SCENARIOS below.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import botocore.auth
import botocore.config
import botocore.exceptions
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# --- configuration ------------------------------------------------------------------------

REGION = "us-east-1"
# Fixed root credentials for citadel; moto accepts any credentials, so both use these.
ACCOUNT_ID = "123456789012"
ACCESS_KEY_ID = "AKIABENCHROOT0000001"
SECRET_ACCESS_KEY = "benchSecretKey0000000000000000000000000a"

# Identity used to sign the measured requests: an IAM user created on citadel at start-up
# (see create_bench_user); moto does not check signatures, so it gets the same bytes.
BENCH_USER = "bench-user"
BENCH_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Kms", "Effect": "Allow",
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:Sign"],
         "Resource": f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/*"},
        {"Sid": "Secrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:bench/*"},
        {"Sid": "Parameters", "Effect": "Allow", "Action": "ssm:GetParameter",
         "Resource": f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter/bench/*"},
        {"Sid": "Trail", "Effect": "Allow", "Action": "cloudtrail:LookupEvents", "Resource": "*"},
        {"Sid": "NoKeyAdmin", "Effect": "Deny",
         "Action": ["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:DisableKey"],
         "Resource": "*"},
    ],
}

SYMMETRIC_ALIAS = "alias/bench-symmetric"
P256_ALIAS = "alias/bench-ecc-p256"
SECRET_NAME = "bench/database"
PARAMETER_NAME = "/bench/app/db-password"
# Deterministic payloads: the same bytes go to both servers.
PLAINTEXT_1K = bytes((i * 7 + 3) % 256 for i in range(1024))
SIGN_MESSAGE = bytes((i * 13 + 1) % 256 for i in range(256))
SECRET_VALUE = json.dumps({"username": "app", "password": "x" * 32, "host": "db.internal",
                           "port": 5432})


def fixture_kms(client_for, state: dict[str, Any]) -> None:
    """A symmetric key and an ECC_NIST_P256 signing key behind fixed aliases, and one
    ciphertext of the 1 KiB plaintext (per server: each has its own key material)."""
    kms = client_for("kms")
    sym = kms.create_key(Description="bench symmetric")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=SYMMETRIC_ALIAS, TargetKeyId=sym)
    p256 = kms.create_key(Description="bench p256", KeySpec="ECC_NIST_P256",
                          KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=P256_ALIAS, TargetKeyId=p256)
    state["ciphertext_1k"] = kms.encrypt(KeyId=SYMMETRIC_ALIAS,
                                         Plaintext=PLAINTEXT_1K)["CiphertextBlob"]


def fixture_secret(client_for, state: dict[str, Any]) -> None:
    """A secret under the account's aws/secretsmanager key."""
    client_for("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=SECRET_VALUE)


def fixture_parameter(client_for, state: dict[str, Any]) -> None:
    """A SecureString parameter under the account's aws/ssm key."""
    client_for("ssm").put_parameter(Name=PARAMETER_NAME, Type="SecureString",
                                    Value="correct horse battery staple")


def fixture_trail_events(client_for, state: dict[str, Any]) -> None:
    """GetCallerIdentity calls leave CloudTrail management events to look up."""
    sts = client_for("sts")
    for _ in range(300):
        sts.get_caller_identity()


FIXTURES = {"kms": fixture_kms, "secret": fixture_secret, "parameter": fixture_parameter,
            "trail-events": fixture_trail_events}

# One entry per scenario. Keys:
#   service, operation   the call a real client makes (botocore names)
#   params               its parameters, or a function of the server's fixture state (for
#                        values that differ per server, e.g. a ciphertext)
#   fixtures (optional)  names in FIXTURES to create once per server before the run
#   target_rps (optional) the citadel req/s target at 32 connections
#   target_ratio (optional) the citadel/moto req/s target
SCENARIOS: dict[str, dict[str, Any]] = {
    "sts-get-caller-identity": {
        "service": "sts",
        "operation": "GetCallerIdentity",
        "params": {},
    },
    "cloudtrail-lookup-events": {
        "service": "cloudtrail",
        "operation": "LookupEvents",
        "params": {"MaxResults": 50},
        "fixtures": ["trail-events"],
    },
    "kms-encrypt-1k": {
        "service": "kms",
        "operation": "Encrypt",
        "params": {"KeyId": SYMMETRIC_ALIAS, "Plaintext": PLAINTEXT_1K},
        "fixtures": ["kms"],
        "target_rps": 15000,
        "target_ratio": 30,
    },
    "kms-decrypt-1k": {
        "service": "kms",
        "operation": "Decrypt",
        "params": lambda st: {"CiphertextBlob": st["ciphertext_1k"]},
        "fixtures": ["kms"],
        "target_ratio": 30,
    },
    "kms-generate-data-key": {
        "service": "kms",
        "operation": "GenerateDataKey",
        "params": {"KeyId": SYMMETRIC_ALIAS, "KeySpec": "AES_256"},
        "fixtures": ["kms"],
        "target_ratio": 30,
    },
    "kms-sign-ecc-p256": {
        "service": "kms",
        "operation": "Sign",
        "params": {"KeyId": P256_ALIAS, "Message": SIGN_MESSAGE, "MessageType": "RAW",
                   "SigningAlgorithm": "ECDSA_SHA_256"},
        "fixtures": ["kms"],
        "target_ratio": 30,
    },
    "secretsmanager-get-secret-value": {
        "service": "secretsmanager",
        "operation": "GetSecretValue",
        "params": {"SecretId": SECRET_NAME},
        "fixtures": ["secret"],
        "target_rps": 10000,
        "target_ratio": 30,
    },
    "ssm-get-parameter-secure": {
        "service": "ssm",
        "operation": "GetParameter",
        "params": {"Name": PARAMETER_NAME, "WithDecryption": True},
        "fixtures": ["parameter"],
        "target_ratio": 30,
    },
}

# Headers botocore adds per attempt, after signing (not signed): regenerated per request.
UNSIGNED_TRAILING = ("amz-sdk-invocation-id", "amz-sdk-request")
# Headers that the signer (re)creates or the HTTP layer adds.
DROPPED = ("authorization", "x-amz-date", "x-amz-security-token", "host", "accept-encoding",
           "content-length")


# --- request capture and signing ----------------------------------------------------------


class _Captured(Exception):
    def __init__(self, request):
        super().__init__("captured")
        self.request = request


def _client(session, service: str, endpoint: str, creds: Credentials | None = None):
    return session.create_client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=creds.access_key if creds else ACCESS_KEY_ID,
        aws_secret_access_key=creds.secret_key if creds else SECRET_ACCESS_KEY,
        config=botocore.config.Config(retries={"max_attempts": 0}),
    )


def _call(client, operation: str, params: dict[str, Any]):
    method = botocore.xform_name(operation)
    return getattr(client, method)(**params)


class Template:
    """The request a real botocore client sends for one operation, minus what varies."""

    def __init__(self, service: str, operation: str, params: dict[str, Any]):
        session = botocore.session.get_session()
        # The endpoint here is a placeholder: nothing is sent, before-send stops the client.
        client = _client(session, service, "http://127.0.0.1:9")

        def stop(request, **_):
            raise _Captured(request)

        client.meta.events.register_first("before-send", stop)
        try:
            _call(client, operation, params)
        except _Captured as c:
            req = c.request
        else:  # pragma: no cover - botocore always sends
            raise RuntimeError("botocore did not send a request")
        split = urlsplit(req.url)
        self.method = req.method
        self.path = split.path or "/"
        if split.query:
            self.path += "?" + split.query
        body = req.body or b""
        self.body = body.encode() if isinstance(body, str) else bytes(body)
        self.headers = [(k, _text(v)) for k, v in req.headers.items()
                        if k.lower() not in DROPPED and k.lower() not in UNSIGNED_TRAILING]
        self.trailing = [k for k, _ in req.headers.items() if k.lower() in UNSIGNED_TRAILING]
        self.signing_name = client.meta.service_model.signing_name
        self.region = client.meta.region_name

    def sign(self, target: str, creds: Credentials, now: datetime.datetime,
             ids: list[str]) -> list[bytes]:
        """Signs one request per invocation id in `ids` for host:port `target` at time `now`.
        With the same `now` and `ids`, two targets get requests that differ only by Host,
        per-server parameters and the signature."""
        out: list[bytes] = []
        with _frozen_signing_clock(now):
            signer = botocore.auth.SigV4Auth(creds, self.signing_name, self.region)
            for invocation_id in ids:
                req = AWSRequest(method=self.method, url=f"http://{target}{self.path}",
                                 data=self.body, headers=dict(self.headers))
                signer.add_auth(req)
                prepared = req.prepare()
                trailing = []
                for name in self.trailing:
                    if name.lower() == "amz-sdk-invocation-id":
                        trailing.append((name, invocation_id))
                    elif name.lower() == "amz-sdk-request":
                        trailing.append((name, "attempt=1"))
                out.append(self._wire(target, prepared, trailing))
        return out

    def _wire(self, target: str, prepared, trailing) -> bytes:
        # Same layout as urllib3/http.client put it on the wire for botocore.
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {target}",
                 "Accept-Encoding: identity"]
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode()
        for k, v in prepared.headers.items():
            if k.lower() in ("host", "accept-encoding", "content-length"):
                continue
            lines.append(f"{k}: {_text(v)}")
        for k, v in trailing:
            lines.append(f"{k}: {v}")
        if body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _text(v) -> str:
    return v.decode() if isinstance(v, (bytes, bytearray)) else str(v)


@contextlib.contextmanager
def _frozen_signing_clock(when: datetime.datetime):
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda *a, **k: when
    try:
        yield
    finally:
        botocore.auth.get_current_datetime = original


def write_requests(path: str, requests: list[bytes]) -> None:
    """loadgen framing: decimal length line, raw bytes, newline."""
    with open(path, "wb") as f:
        for r in requests:
            f.write(f"{len(r)}\n".encode())
            f.write(r)
            f.write(b"\n")


# --- servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(host: str, port: int, path: str, timeout: float = 2.0) -> int | None:
    """One GET; returns the status code, or None when nothing answers."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                      "Connection: close\r\n\r\n".encode())
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            parts = data.split(b" ", 2)
            if len(parts) >= 2 and parts[0].startswith(b"HTTP/"):
                return int(parts[1])
    except (OSError, ValueError):
        pass
    return None


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time consumed so far by process `pid` (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Server:
    """A running server under test."""

    def __init__(self, name: str, proc: subprocess.Popen, host: str, port: int,
                 cleanup: str | None = None):
        self.name, self.proc, self.host, self.port = name, proc, host, port
        self.cleanup = cleanup
        self.state: dict[str, Any] = {}  # fixture outputs (e.g. a ciphertext)
        self.fixtures_done: set[str] = set()

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"http://{self.target}"

    def stop(self) -> None:
        stop_process(self.proc)
        if self.cleanup:
            shutil.rmtree(self.cleanup, ignore_errors=True)


def citadel_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(CITADEL_ACCOUNT_ID=ACCOUNT_ID, CITADEL_ROOT_ACCESS_KEY_ID=ACCESS_KEY_ID,
               CITADEL_ROOT_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY)
    return env


def start_citadel(binary: str, timeout: float = 60.0) -> Server:
    data_dir = tempfile.mkdtemp(prefix="citadel-bench-")
    proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=citadel_env())
    found: dict[str, str] = {}
    ready = threading.Event()

    def reader():
        # Keep draining stdout for the process's whole life so it never blocks on a full pipe.
        for raw in proc.stdout:
            line = raw.decode(errors="replace").strip()
            if "=" in line:
                k, v = line.split("=", 1)
                found.setdefault(k, v)
                if k == "CITADEL_READY":
                    ready.set()
        ready.set()

    threading.Thread(target=reader, daemon=True).start()
    if not ready.wait(timeout) or "CITADEL_READY" not in found:
        stop_process(proc)
        shutil.rmtree(data_dir, ignore_errors=True)
        raise RuntimeError(f"citadel did not print CITADEL_READY=1 (exit code {proc.poll()})")
    endpoint = urlsplit(found.get("CITADEL_ENDPOINT", ""))
    if not endpoint.hostname or not endpoint.port:
        stop_process(proc)
        raise RuntimeError(f"citadel printed no usable CITADEL_ENDPOINT: {found}")
    return Server("citadel", proc, endpoint.hostname, endpoint.port, cleanup=data_dir)


def start_moto(timeout: float = 60.0) -> Server:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto exited with code {proc.returncode}")
        if http_status("127.0.0.1", port, "/moto-api/", timeout=1.0) is not None:
            return Server("moto", proc, "127.0.0.1", port)
        time.sleep(0.05)
    stop_process(proc)
    raise RuntimeError("moto did not start")


def measure_citadel_startup(binary: str, runs: int) -> list[float]:
    """Milliseconds from process start to the first 200 from /_citadel/health, empty data
    directory each time."""
    times = []
    for _ in range(runs):
        data_dir = tempfile.mkdtemp(prefix="citadel-startup-")
        port = free_port()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=citadel_env())
        try:
            deadline = t0 + 60
            while True:
                if http_status("127.0.0.1", port, "/_citadel/health", timeout=1.0) == 200:
                    times.append((time.perf_counter() - t0) * 1000.0)
                    break
                if proc.poll() is not None:
                    raise RuntimeError(f"citadel exited with code {proc.returncode} at start-up")
                if time.perf_counter() > deadline:
                    raise RuntimeError("citadel health never answered 200")
                time.sleep(0.001)
        finally:
            stop_process(proc)
            shutil.rmtree(data_dir, ignore_errors=True)
    return times


# --- running ------------------------------------------------------------------------------


def root_client(server: Server, service: str):
    return _client(botocore.session.get_session(), service, server.endpoint)


def ensure_fixtures(server: Server, names: list[str], log) -> None:
    """Creates the named fixtures on `server` once (with the root credentials)."""
    for name in names:
        if name in server.fixtures_done:
            continue
        log(f"  fixture {name} on {server.name}...")
        FIXTURES[name](lambda service: root_client(server, service), server.state)
        server.fixtures_done.add(name)


def create_bench_user(server: Server) -> Credentials:
    """An IAM user with BENCH_POLICY inline and an access key; returns its credentials."""
    iam = root_client(server, "iam")
    iam.create_user(UserName=BENCH_USER)
    iam.put_user_policy(UserName=BENCH_USER, PolicyName="bench",
                        PolicyDocument=json.dumps(BENCH_POLICY))
    key = iam.create_access_key(UserName=BENCH_USER)["AccessKey"]
    creds = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    # Make sure the new key signs and is known before measuring with it.
    sts = _client(botocore.session.get_session(), "sts", server.endpoint, creds)
    deadline = time.monotonic() + 10
    while True:
        try:
            arn = sts.get_caller_identity()["Arn"]
            if not arn.endswith(f":user/{BENCH_USER}"):
                raise RuntimeError(f"bench user key signs as {arn}")
            return creds
        except botocore.exceptions.ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def run_loadgen(args, server: Server, requests: list[bytes], connections: int, duration: float,
                warmup: float, workdir: str, tag: str) -> dict:
    path = os.path.join(workdir, f"{tag}.req")
    write_requests(path, requests)
    cmd = [args.loadgen, "--host", server.host, "--port", str(server.port), "--requests", path,
           "--connections", str(connections), "--duration", str(duration),
           "--warmup", str(warmup), "--threads", str(args.threads)]
    cpu_before = cpu_seconds(server.proc.pid)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         timeout=duration + warmup + 60)
    cpu_after = cpu_seconds(server.proc.pid)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["server"] = server.name
    # Server CPU per answered request, warm-up included: unlike req/s it hardly depends on
    # how much of the machine other processes take (cache effects aside).
    result["cpu_us_per_req"] = (
        round((cpu_after - cpu_before) * 1e6 / result["all_responses"], 1)
        if cpu_before is not None and cpu_after is not None and result.get("all_responses")
        else None)
    return result


def usable(r: dict) -> bool:
    """A run counts for a ratio only if most answers were 2xx."""
    return r["requests"] > 0 and r["non_2xx"] + r["errors"] <= 0.01 * r["requests"]


def best_usable(runs: list[dict]) -> dict | None:
    ok = [r for r in runs if usable(r)]
    return max(ok, key=lambda r: r["rps"]) if ok else None


def notes(r: dict) -> str:
    parts = []
    if r["non_2xx"]:
        codes = ", ".join(f"{k}×{v}" for k, v in sorted(r.get("statuses", {}).items())
                          if not k.startswith("2"))
        parts.append(f"non-2xx {r['non_2xx']} ({codes})")
    if r["errors"]:
        parts.append(f"errors {r['errors']}")
    if r.get("first_error"):
        parts.append(f"first: {' '.join(r['first_error'].split())[:60]!r}")
    return "; ".join(parts)


def select_scenarios(args, ap) -> list[str]:
    names = [s for s in args.scenarios.split(",") if s] if args.scenarios else list(SCENARIOS)
    unknown = [s for s in names if s not in SCENARIOS]
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(unknown)}")
    if args.only:
        wanted = [w for w in args.only.split(",") if w]
        names = [n for n in names
                 if any(n == w or n.startswith(w + "-") or SCENARIOS[n]["service"] == w
                        for w in wanted)]
        if not names:
            ap.error(f"--only {args.only} matches no scenario")
    return names


def int_list(text: str) -> list[int]:
    out = [int(x) for x in text.split(",") if x.strip()]
    if not out or any(x < 1 for x in out):
        raise argparse.ArgumentTypeError("expected comma-separated positive integers")
    return out


def load_average() -> list[float] | None:
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except (OSError, ValueError):
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--citadel", required=True, help="path to the citadel binary")
    ap.add_argument("--loadgen", required=True, help="path to the loadgen binary")
    ap.add_argument("--citadel-connections", type=int_list, default=[1, 32],
                    help="connection counts for citadel runs (default 1,32)")
    ap.add_argument("--moto-connections", type=int_list, default=[1],
                    help="connection counts for moto runs (default 1)")
    ap.add_argument("--duration", type=float, default=10.0,
                    help="measured seconds per citadel run")
    ap.add_argument("--moto-duration", type=float, default=4.0,
                    help="measured seconds per moto run (moto is slow; a few seconds is stable)")
    ap.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each run")
    ap.add_argument("--threads", type=int, default=1, help="loadgen threads")
    ap.add_argument("--batch", type=int, default=256, help="distinct signed requests per run")
    ap.add_argument("--startup-runs", type=int, default=5)
    ap.add_argument("--credentials", choices=("iam-user", "root"), default="iam-user",
                    help="sign with an IAM user and its policy (default) or the account root")
    ap.add_argument("--no-moto", action="store_true", help="citadel runs only")
    ap.add_argument("--fresh-servers", action="store_true",
                    help="restart both servers with empty state before each scenario (by "
                         "default state, e.g. CloudTrail events, accumulates across scenarios)")
    ap.add_argument("--scenarios", default=None,
                    help=f"comma-separated; known: {', '.join(SCENARIOS)}")
    ap.add_argument("--only", default=None,
                    help="comma-separated service names or name prefixes, e.g. kms or "
                         "kms,secretsmanager,ssm")
    ap.add_argument("--json", nargs="?", const="-", metavar="FILE",
                    help="also emit results as JSON (to stdout after the table, or to FILE)")
    args = ap.parse_args()

    names = select_scenarios(args, ap)
    for exe in (args.citadel, args.loadgen):
        if not os.access(exe, os.X_OK):
            ap.error(f"not executable: {exe}")

    results: dict[str, Any] = {
        "config": {"citadel_connections": args.citadel_connections,
                   "moto_connections": [] if args.no_moto else args.moto_connections,
                   "duration_s": args.duration, "moto_duration_s": args.moto_duration,
                   "warmup_s": args.warmup, "loadgen_threads": args.threads,
                   "batch": args.batch, "cpus": os.cpu_count(),
                   "credentials": args.credentials, "fresh_servers": args.fresh_servers,
                   "command": " ".join(["python3", *sys.argv])},
        "load_average": {"start": load_average()},
        "scenarios": [],
    }

    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    log(f"measuring citadel start-up ({args.startup_runs} runs)...")
    startup = measure_citadel_startup(args.citadel, args.startup_runs) if args.startup_runs else []
    results["citadel_startup_ms"] = {
        "runs": [round(t, 2) for t in startup],
        "best": round(min(startup), 2) if startup else None,
        "median": round(statistics.median(startup), 2) if startup else None,
    }

    workdir = tempfile.mkdtemp(prefix="citadel-bench-req-")
    moto = citadel = None
    creds = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)

    def start_servers():
        nonlocal moto, citadel, creds
        moto = None if args.no_moto else start_moto()
        citadel = start_citadel(args.citadel)
        if args.credentials == "iam-user":
            creds = create_bench_user(citadel)

    try:
        log("starting moto and citadel...")
        start_servers()
        time.sleep(1.0)
        rss_start = {"citadel": rss_kib(citadel.proc.pid),
                     "moto": rss_kib(moto.proc.pid) if moto else None}
        for index, name in enumerate(names):
            sc = SCENARIOS[name]
            if args.fresh_servers and index > 0:
                log(f"[{name}] restarting moto and citadel with empty state...")
                for srv in (moto, citadel):
                    if srv:
                        srv.stop()
                moto = citadel = None
                start_servers()
            servers = [srv for srv in (moto, citadel) if srv]  # moto first, then citadel
            for srv in servers:
                ensure_fixtures(srv, sc.get("fixtures", []), log)
            templates = {}
            for srv in servers:
                params = sc["params"](srv.state) if callable(sc["params"]) else sc["params"]
                templates[srv.name] = Template(sc["service"], sc["operation"], params)
            row: dict[str, Any] = {"scenario": name, "operation": sc["operation"],
                                   "runs": [], "load_average": load_average()}
            plan = [(moto, c, args.moto_duration) for c in args.moto_connections if moto]
            plan += [(citadel, c, args.duration) for c in args.citadel_connections]
            signed_at = None
            for srv, conns, duration in plan:
                # All runs of a scenario share one timestamp and one set of invocation ids (the
                # bytes differ only by Host, per-server values and the signature) unless it is
                # older than 5 minutes: then a fresh set keeps X-Amz-Date well inside AWS's
                # 15-minute window for the whole run.
                if signed_at is None or time.monotonic() - signed_at > 300 - duration:
                    signed_at = time.monotonic()
                    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
                    ids = [str(uuid.uuid4()) for _ in range(args.batch)]
                batch = templates[srv.name].sign(srv.target, creds, now, ids)
                log(f"[{name}] loadgen against {srv.name}, {conns} connection(s)...")
                r = run_loadgen(args, srv, batch, conns, duration, args.warmup, workdir,
                                f"{name}-{srv.name}-{conns}")
                row["runs"].append(r)
                if r["non_2xx"] or r["errors"]:
                    log(f"[{name}] {srv.name}: {notes(r)}")
            m = best_usable([r for r in row["runs"] if r["server"] == "moto"])
            moto_cpu = [r["cpu_us_per_req"] for r in row["runs"]
                        if r["server"] == "moto" and usable(r) and r.get("cpu_us_per_req")]
            for r in row["runs"]:
                r["ratio"] = (round(r["rps"] / m["rps"], 2)
                              if r["server"] == "citadel" and m and usable(r) else None)
                r["cpu_ratio"] = (round(min(moto_cpu) / r["cpu_us_per_req"], 1)
                                  if r["server"] == "citadel" and moto_cpu and usable(r)
                                  and r.get("cpu_us_per_req") else None)
            row["target_rps"] = sc.get("target_rps")
            row["target_ratio"] = sc.get("target_ratio")
            results["scenarios"].append(row)
        time.sleep(1.0)
        rss_end = {"citadel": rss_kib(citadel.proc.pid),
                   "moto": rss_kib(moto.proc.pid) if moto else None}
        results["idle_rss_kib"] = {"after_start": rss_start, "after_scenarios": rss_end}
    finally:
        for srv in (citadel, moto):
            if srv:
                srv.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    results["load_average"]["end"] = load_average()

    print_report(results)
    if args.json == "-":
        print(json.dumps(results, indent=2))
    elif args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


def print_report(results: dict[str, Any]) -> None:
    cfg = results["config"]
    la = results["load_average"]

    def fmt_la(v):
        return " / ".join(f"{x:.2f}" for x in v) if v else "?"

    print(f"Command: {cfg['command']}")
    print(f"Load average (1/5/15 min) at start: {fmt_la(la.get('start'))}; at end: "
          f"{fmt_la(la.get('end'))}; {cfg['cpus']} CPUs shared with the load generator.")
    print(f"citadel: {cfg['duration_s']:g} s measured per run, moto: {cfg['moto_duration_s']:g} s, "
          f"each after {cfg['warmup_s']:g} s warm-up; keep-alive connections, one request in "
          f"flight per connection; signed by {'an IAM user with an identity policy' if cfg['credentials'] == 'iam-user' else 'the account root'}.\n")
    print("| scenario | server | conns | req/s | p50 ms | p99 ms | CPU µs/req | × moto req/s "
          "| × moto CPU | target | load (1 min) | notes |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |")
    for row in results["scenarios"]:
        load1 = f"{row['load_average'][0]:.1f}" if row.get("load_average") else ""
        for r in row["runs"]:
            ratio = f"{r['ratio']:.1f}×" if r.get("ratio") is not None else (
                "n/a" if r["server"] == "citadel" else "")
            cpu = f"{r['cpu_us_per_req']:,.0f}" if r.get("cpu_us_per_req") else "?"
            cpu_ratio = f"{r['cpu_ratio']:.1f}×" if r.get("cpu_ratio") is not None else ""
            target = []
            if r["server"] == "citadel" and r["connections"] == 32 and row.get("target_rps"):
                ok = usable(r) and r["rps"] >= row["target_rps"]
                target.append(f"≥ {row['target_rps']:,} req/s: {'met' if ok else 'NOT met'}")
            if r["server"] == "citadel" and row.get("target_ratio") and r.get("ratio") is not None:
                ok = r["ratio"] >= row["target_ratio"]
                target.append(f"≥ {row['target_ratio']}×: {'met' if ok else 'not met'}")
            print(f"| {row['scenario']} | {r['server']} | {r['connections']} | {r['rps']:,.0f} | "
                  f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {cpu} | {ratio} | {cpu_ratio} | {'; '.join(target)} | "
                  f"{load1} | {notes(r)} |")
    print()
    print("× moto req/s = citadel req/s ÷ moto's best req/s (moto at its connection counts) on "
          "the same requests. CPU µs/req = the server process's user+system CPU time during the "
          "run ÷ responses (warm-up included); × moto CPU = moto's CPU µs/req ÷ citadel's.")
    st = results.get("citadel_startup_ms", {})
    if st.get("runs"):
        print(f"citadel start-up (process start → first 200 from /_citadel/health, empty data "
              f"dir): best {st['best']:.1f} ms, median {st['median']:.1f} ms "
              f"over {len(st['runs'])} runs")
    rss = results.get("idle_rss_kib", {})

    def mib(v):
        return f"{v / 1024:.1f} MiB" if v else "?"

    if rss:
        a, b = rss["after_start"], rss["after_scenarios"]
        print(f"idle RSS: citadel {mib(a['citadel'])} after start, {mib(b['citadel'])} after "
              f"scenarios; moto {mib(a['moto'])} after start, {mib(b['moto'])} after scenarios")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.CalledProcessError, subprocess.TimeoutExpired,
            botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        print(f"bench: {e}", file=sys.stderr)
        sys.exit(1)
