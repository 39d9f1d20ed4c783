"""Test harness for citadel end-to-end tests.

`CitadelServer` starts `citadel serve` on a free port with a temporary data directory,
waits for `CITADEL_READY=1` on stdout, and exposes the endpoint, the credentials it
printed, a boto3 client factory, an `aws` CLI runner and raw HTTP helpers. Leaving the
context stops the server with SIGTERM and removes what the harness created.

Tests find the binary from the environment variable CITADEL_BIN (set by `make e2e`),
defaulting to <repo>/build/citadel.
"""

import contextlib
import datetime
import http.client
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import ssl
import string
import subprocess
import tempfile
import threading
import time
import unittest.mock
import urllib.parse
from pathlib import Path

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.session

REPO_ROOT = Path(__file__).resolve().parents[2]
CITADEL_BIN = os.environ.get("CITADEL_BIN", str(REPO_ROOT / "build" / "citadel"))
READY_TIMEOUT = float(os.environ.get("CITADEL_READY_TIMEOUT", "30"))
STOP_TIMEOUT = 30.0

# Keep the test process away from any user AWS configuration and any proxy.
for _name in list(os.environ):
    if _name.startswith("AWS_") or (
            _name.startswith("CITADEL_") and _name not in ("CITADEL_BIN", "CITADEL_READY_TIMEOUT")):
        del os.environ[_name]
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"

NO_RETRIES = {"max_attempts": 1, "mode": "standard", "total_max_attempts": 1}


def random_account_id():
    """A random 12-digit account id that does not start with 0."""
    return str(random.randint(1, 9)) + "".join(random.choice(string.digits) for _ in range(11))


def random_access_key_id():
    return "AKIA" + "".join(random.choice(string.ascii_uppercase + "234567") for _ in range(16))


def random_secret_key():
    alphabet = string.ascii_letters + string.digits + "+/"
    return "".join(random.choice(alphabet) for _ in range(40))


def parse_key_values(text):
    """Parses KEY=VALUE lines (as printed by citadel) into a dict."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def run_admin(*args, data_dir, env=None, timeout=60):
    """Runs `citadel admin ARGS --data-dir DIR` and returns (CompletedProcess, parsed KEY=VALUE)."""
    full_env = _server_env(env)
    cmd = [CITADEL_BIN, "admin", *args, "--data-dir", str(data_dir)]
    proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc, parse_key_values(proc.stdout)


def _server_env(extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and not k.startswith("CITADEL_")}
    if extra:
        env.update(extra)
    return env


def make_self_signed_cert(directory, cn="127.0.0.1"):
    """Creates a self-signed certificate (CN and SAN 127.0.0.1) with the openssl CLI."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
         "-days", "2", "-subj", f"/CN={cn}",
         "-addext", f"subjectAltName=IP:{cn},DNS:localhost"],
        check=True, capture_output=True, timeout=60)
    return cert, key


def expect_aws_error(test, code, fn, *args, message=None, **kwargs):
    """Calls fn(*args, **kwargs) expecting a botocore ClientError with this code (and message,
    when given) and returns the exception."""
    import botocore.exceptions
    with test.assertRaises(botocore.exceptions.ClientError) as cm:
        fn(*args, **kwargs)
    err = cm.exception.response["Error"]
    test.assertEqual(err["Code"], code, cm.exception.response)
    if message is not None:
        test.assertEqual(err.get("Message", ""), message)
    return cm.exception


def error_code_of(status, headers, body):
    """Extracts the AWS error code from a raw response (json, query/XML)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    lower = {k.lower(): v for k, v in headers.items()}
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
            code = doc.get("__type") or doc.get("code") or doc.get("Code") or ""
            if code:
                return code.split("#")[-1].split(":")[0]
        except ValueError:
            pass
    m = re.search(r"<Code>([^<]*)</Code>", text)
    if m:
        return m.group(1)
    if "x-amzn-errortype" in lower:
        return lower["x-amzn-errortype"].split(":")[0].split("#")[-1]
    return None


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return None

    @property
    def error_code(self):
        return error_code_of(self.status, self.headers, self.body)

    def __repr__(self):
        return f"RawResponse({self.status}, {self.text[:500]!r})"


@contextlib.contextmanager
def botocore_clock(delta):
    """Makes botocore's signer believe the current time is now + delta (a timedelta)."""
    real = botocore.auth.get_current_datetime

    def shifted(*args, **kwargs):
        return real(*args, **kwargs) + delta

    with unittest.mock.patch.object(botocore.auth, "get_current_datetime", shifted):
        yield


def read_until_closed(sock, limit=1 << 20):
    """Reads until EOF or reset; returns the bytes read. Fails if the server neither answers
    nor closes within the socket timeout."""
    data = b""
    while len(data) < limit:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return data
        except socket.timeout:
            raise AssertionError(f"server kept the connection open; read so far {data[:300]!r}")
        if not chunk:
            return data
        data += chunk
    return data


class CitadelServer:
    """Runs one `citadel serve` for the duration of a `with` block.

    Arguments:
      data_dir: an existing directory to use (kept afterwards); a temporary one otherwise.
      env: extra environment variables for the server (e.g. CITADEL_ACCOUNT_ID).
      config: a dict written as the --config JSON file.
      tls: True to generate a self-signed certificate and serve HTTPS.
      extra_args: more command-line arguments.
      dev: True for --dev (development credentials, reset, time travel).
      seed: path of a --seed file.
      init_dir: path of an --init-dir directory; init_timeout: --init-timeout seconds.
    """

    def __init__(self, data_dir=None, env=None, config=None, tls=False, extra_args=(),
                 listen="127.0.0.1:0", dev=False, seed=None, init_dir=None, init_timeout=None):
        self._own_tmp = tempfile.mkdtemp(prefix="citadel-e2e-")
        self.data_dir = str(data_dir) if data_dir else os.path.join(self._own_tmp, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.env = dict(env or {})
        self.config = config
        self.tls = tls
        self.extra_args = list(extra_args)
        self.listen = listen
        self.dev = dev
        self.seed = seed
        self.init_dir = init_dir
        self.init_timeout = init_timeout
        self.cert_path = None
        self.key_path = None
        self.proc = None
        self.info = {}
        self.stdout_lines = []
        self._stderr_path = os.path.join(self._own_tmp, "stderr.log")
        self._stderr_file = None
        self._lines = queue.Queue()
        self._reader = None
        self.returncode = None

    # ---- lifecycle -------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        try:
            if self.proc is not None and not self.proc.stdout.closed:
                self.stop()
        finally:
            self.cleanup()
        return False

    def cleanup(self):
        if self._stderr_file:
            self._stderr_file.close()
            self._stderr_file = None
        shutil.rmtree(self._own_tmp, ignore_errors=True)

    def command(self):
        cmd = [CITADEL_BIN, "serve", "--listen", self.listen, "--data-dir", self.data_dir]
        if self.config is not None:
            path = os.path.join(self._own_tmp, "config.json")
            with open(path, "w") as f:
                json.dump(self.config, f)
            cmd += ["--config", path]
        if self.tls:
            if not self.cert_path:
                self.cert_path, self.key_path = make_self_signed_cert(self._own_tmp)
            cmd += ["--tls-cert", self.cert_path, "--tls-key", self.key_path]
        if self.dev:
            cmd.append("--dev")
        if self.seed:
            cmd += ["--seed", str(self.seed)]
        if self.init_dir:
            cmd += ["--init-dir", str(self.init_dir)]
        if self.init_timeout is not None:
            cmd += ["--init-timeout", str(self.init_timeout)]
        return cmd + self.extra_args

    def start(self):
        if not os.path.exists(CITADEL_BIN):
            raise AssertionError(f"citadel binary not found at {CITADEL_BIN} (set CITADEL_BIN)")
        self.info = {}
        self.stdout_lines = []
        self._lines = queue.Queue()
        if self._stderr_file:
            self._stderr_file.close()
        self._stderr_file = open(self._stderr_path, "ab")
        self.proc = subprocess.Popen(
            self.command(), env=_server_env(self.env), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=self._stderr_file)
        self._reader = threading.Thread(target=self._read_stdout, args=(self.proc, self._lines),
                                        daemon=True)
        self._reader.start()
        ready = False
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._abort(f"no CITADEL_READY=1 within {READY_TIMEOUT}s")
            try:
                line = self._lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if self.proc.poll() is not None and self._lines.empty():
                    self._abort(f"server exited with {self.proc.returncode} before ready")
                continue
            if line is None:
                self._abort(f"server closed stdout (exit {self.proc.poll()}) before ready")
            kv = parse_key_values(line)
            self.info.update(kv)
            if kv.get("CITADEL_READY") == "1":
                ready = True
        for key in ("CITADEL_ENDPOINT", "CITADEL_ACCOUNT_ID", "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            if key not in self.info:
                self._abort(f"stdout lacks {key}=; got {self.stdout_lines!r}")
        return self

    def _read_stdout(self, proc, lines):
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.stdout_lines.append(line)
            lines.put(line)
        lines.put(None)

    def _abort(self, why):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        raise AssertionError(f"citadel serve failed: {why}\ncommand: {self.command()}\n"
                             f"stdout: {self.stdout_lines!r}\nstderr tail:\n{self.stderr()[-3000:]}")

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends `sig` and waits for exit; returns the exit code (kills on timeout and fails)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"citadel did not exit within {timeout}s after {sig!r}")
        self.returncode = self.proc.returncode
        if self._reader:
            self._reader.join(timeout=5)
        self.proc.stdout.close()
        return self.returncode

    def restart(self, **changes):
        """Stops (SIGTERM) and starts again with the same data dir; returns the exit code."""
        code = self.stop()
        for k, v in changes.items():
            setattr(self, k, v)
        self.start()
        return code

    def stderr(self):
        if self._stderr_file:
            self._stderr_file.flush()
        try:
            with open(self._stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    # ---- what the server printed ------------------------------------------------------

    @property
    def endpoint(self):
        return self.info["CITADEL_ENDPOINT"]

    @property
    def account_id(self):
        return self.info["CITADEL_ACCOUNT_ID"]

    @property
    def access_key(self):
        return self.info["AWS_ACCESS_KEY_ID"]

    @property
    def secret_key(self):
        return self.info["AWS_SECRET_ACCESS_KEY"]

    @property
    def region(self):
        return self.info["AWS_DEFAULT_REGION"]

    @property
    def host(self):
        return urllib.parse.urlsplit(self.endpoint).hostname

    @property
    def port(self):
        return urllib.parse.urlsplit(self.endpoint).port

    @property
    def netloc(self):
        return urllib.parse.urlsplit(self.endpoint).netloc

    # ---- clients -----------------------------------------------------------------------

    def client(self, service, access_key=None, secret_key=None, region=None, retries=None,
               session_token=None, **config_kwargs):
        """A boto3 client bound to this server (TLS verified against the test certificate)."""
        config_kwargs.setdefault("connect_timeout", 10)
        config_kwargs.setdefault("read_timeout", 60)
        config_kwargs["retries"] = retries or NO_RETRIES
        session = boto3.session.Session(
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            aws_session_token=session_token,
            region_name=region or self.region)
        return session.client(service, endpoint_url=self.endpoint,
                              verify=self.cert_path if self.tls else None,
                              config=botocore.config.Config(**config_kwargs))

    def aws(self, *args, access_key=None, secret_key=None, region=None, check=True, timeout=120):
        """Runs the real `aws` CLI against this server; returns CompletedProcess with .json."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({
            "AWS_ACCESS_KEY_ID": access_key or self.access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key or self.secret_key,
            "AWS_DEFAULT_REGION": region or self.region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_RETRY_MODE": "standard",
        })
        cmd = ["aws", "--endpoint-url", self.endpoint, "--output", "json"]
        if self.tls:
            cmd += ["--ca-bundle", self.cert_path]
        cmd += list(args)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        proc.json = json.loads(proc.stdout) if proc.stdout.strip() else None
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\n"
                                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def ssl_context(self, min_version=None, max_version=None):
        ctx = ssl.create_default_context(cafile=self.cert_path)
        if min_version:
            ctx.minimum_version = min_version
        if max_version:
            ctx.maximum_version = max_version
        return ctx

    def connection(self, timeout=30, ssl_context=None):
        """An http.client connection to the server (HTTPS with the test certificate)."""
        if self.tls:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               context=ssl_context or self.ssl_context())
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def raw_socket(self, timeout=30):
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        if self.tls:
            sock = self.ssl_context().wrap_socket(sock, server_hostname=self.host)
        return sock

    def http(self, method, path, body=None, headers=None, conn=None, timeout=30):
        """Sends one plain (unsigned) request; returns a RawResponse."""
        own = conn is None
        conn = conn or self.connection(timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return RawResponse(resp.status, dict(resp.getheaders()), resp.read())
        finally:
            if own:
                conn.close()

    def sign(self, service, method="POST", path="/", body=b"", headers=None, access_key=None,
             secret_key=None, region=None, clock_delta=None):
        """Signs a request with botocore's SigV4 signer; returns (method, path, body, headers)."""
        if isinstance(body, str):
            body = body.encode()
        creds = botocore.credentials.Credentials(access_key or self.access_key,
                                                 secret_key or self.secret_key)
        url = self.endpoint + path
        req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body,
                                             headers=dict(headers or {}))
        signer = botocore.auth.SigV4Auth(creds, service, region or self.region)
        if clock_delta is not None:
            with botocore_clock(clock_delta):
                signer.add_auth(req)
        else:
            signer.add_auth(req)
        prepared = req.prepare()
        out_headers = {k: v for k, v in prepared.headers.items()}
        split = urllib.parse.urlsplit(prepared.url)
        full_path = split.path + (("?" + split.query) if split.query else "")
        return method, full_path, prepared.body or b"", out_headers

    def signed(self, service, method="POST", path="/", body=b"", headers=None, conn=None,
               **sign_kwargs):
        """Signs and sends one request; returns a RawResponse."""
        m, p, b, h = self.sign(service, method, path, body, headers, **sign_kwargs)
        return self.http(m, p, body=b, headers=h, conn=conn)

    def sts_query(self, action="GetCallerIdentity", params=None, **kwargs):
        """A signed STS query-protocol POST."""
        fields = {"Action": action, "Version": "2011-06-15"}
        fields.update(params or {})
        body = urllib.parse.urlencode(fields)
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        return self.signed("sts", body=body, headers=headers, **kwargs)

    def cloudtrail_json(self, operation, body, content_type="application/x-amz-json-1.1",
                        **kwargs):
        """A signed CloudTrail JSON 1.1 POST with the raw body given."""
        headers = {
            "Content-Type": content_type,
            "X-Amz-Target": f"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.{operation}",
        }
        return self.signed("cloudtrail", body=body, headers=headers, **kwargs)

    def health(self, timeout=30):
        return self.http("GET", "/_citadel/health", timeout=timeout)

    def post_json(self, path, doc=None, timeout=60):
        """An unsigned POST of a JSON document (test-only endpoints such as /_citadel/reset)."""
        body = json.dumps(doc).encode() if doc is not None else b""
        return self.http("POST", path, body=body, headers={"Content-Type": "application/json"},
                         timeout=timeout)

    def reset(self, service=None):
        """POST /_citadel/reset (all services, or ?service=NAME)."""
        path = "/_citadel/reset" + (f"?service={urllib.parse.quote(service)}" if service else "")
        return self.post_json(path)

    def move_clock(self, advance_seconds=None, offset_seconds=None):
        """POST /_citadel/time: moves citadel's clock and runs the jobs that fell due."""
        doc = ({"advance_seconds": advance_seconds} if advance_seconds is not None
               else {"offset_seconds": offset_seconds})
        return self.post_json("/_citadel/time", doc)

    def wait_until(self, predicate, timeout=30, interval=0.1, what="condition"):
        """Polls predicate() until it returns a truthy value (returned); fails after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(interval)

    # ---- CloudTrail helpers ------------------------------------------------------------

    def lookup_all(self, client=None, **kwargs):
        """All LookupEvents results (following NextToken), newest first as returned."""
        client = client or self.client("cloudtrail")
        events = []
        token = None
        while True:
            args = dict(kwargs)
            if token:
                args["NextToken"] = token
            resp = client.lookup_events(**args)
            events.extend(resp.get("Events", []))
            token = resp.get("NextToken")
            if not token:
                return events


def cloudtrail_records(events):
    """Parses the CloudTrailEvent JSON of each LookupEvents event."""
    return [json.loads(e["CloudTrailEvent"]) for e in events]


def by_request_id(events):
    out = {}
    for e in events:
        rec = json.loads(e["CloudTrailEvent"])
        out[rec.get("requestID")] = (e, rec)
    return out


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def serve_expect_failure(args, data_dir, env=None, timeout=60):
    """Runs `citadel serve ARGS` that must fail to start; returns the CompletedProcess
    (fails the test if the server becomes ready instead)."""
    cmd = [CITADEL_BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir), *args]
    proc = subprocess.Popen(cmd, env=_server_env(env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"{cmd} kept running (expected a failed start)\n{out}\n{err[-2000:]}")
    if "CITADEL_READY=1" in out:
        raise AssertionError(f"{cmd} became ready (expected a failed start)")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def start_server(testcase, **kwargs):
    """Starts a CitadelServer that the test case stops (SIGTERM) in its cleanup."""
    server = CitadelServer(**kwargs)
    testcase.addCleanup(server.__exit__, None, None, None)
    server.start()
    return server
