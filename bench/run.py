#!/usr/bin/env python3
"""Side-by-side load test: citadel vs moto, on the same botocore-signed requests.

For each scenario this script captures the request a real botocore client would send
(same headers, User-Agent, Content-Type, body), re-signs a fresh batch of it with
botocore's SigV4Auth for each target (only Host and the signature differ), writes the raw
HTTP/1.1 bytes for bench/loadgen, runs loadgen against moto and then citadel, and prints a
Markdown table with the citadel/moto throughput ratio. It also measures citadel's start-up
time and idle resident memory.

Usage:
  python3 bench/run.py --citadel build/citadel --loadgen build/loadgen \
      [--connections 32] [--duration 10] [--scenarios a,b] [--json [FILE]]

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
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# --- configuration ------------------------------------------------------------------------

REGION = "us-east-1"
# Fixed root credentials for citadel; moto accepts any credentials, so both use these.
ACCOUNT_ID = "123456789012"
ACCESS_KEY_ID = "AKIABENCHROOT0000001"
SECRET_ACCESS_KEY = "benchSecretKey0000000000000000000000000a"

# One entry per scenario. Keys:
#   service, operation, params   the call a real client makes (botocore names)
#   setup (optional)             calls made once on each server before the run, to create
#                                state: {"service", "operation", "params", "count"}
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
        # GetCallerIdentity calls leave CloudTrail management events to look up.
        "setup": {"service": "sts", "operation": "GetCallerIdentity", "params": {}, "count": 300},
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


def _client(session, service: str, endpoint: str):
    return session.create_client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=botocore.config.Config(retries={"max_attempts": 0}),
    )


def _call(client, operation: str, params: dict[str, Any]):
    method = botocore.xform_name(operation)
    return getattr(client, method)(**params)


class Template:
    """The request a real botocore client sends for one operation, minus what varies."""

    def __init__(self, scenario: dict[str, Any]):
        session = botocore.session.get_session()
        # The endpoint here is a placeholder: nothing is sent, before-send stops the client.
        client = _client(session, scenario["service"], "http://127.0.0.1:9")

        def stop(request, **_):
            raise _Captured(request)

        client.meta.events.register_first("before-send", stop)
        try:
            _call(client, scenario["operation"], scenario["params"])
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

    def sign_batch(self, targets: list[str], count: int) -> dict[str, list[bytes]]:
        """Signs `count` requests for each host:port in `targets`, sharing one timestamp and
        the per-request invocation ids, so requests differ only by Host and signature."""
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        creds = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        ids = [str(uuid.uuid4()) for _ in range(count)]
        out: dict[str, list[bytes]] = {t: [] for t in targets}
        with _frozen_signing_clock(now):
            for target in targets:
                signer = botocore.auth.SigV4Auth(creds, self.signing_name, self.region)
                for i in range(count):
                    req = AWSRequest(method=self.method, url=f"http://{target}{self.path}",
                                     data=self.body, headers=dict(self.headers))
                    signer.add_auth(req)
                    prepared = req.prepare()
                    trailing = []
                    for name in self.trailing:
                        if name.lower() == "amz-sdk-invocation-id":
                            trailing.append((name, ids[i]))
                        elif name.lower() == "amz-sdk-request":
                            trailing.append((name, "attempt=1"))
                    out[target].append(self._wire(target, prepared, trailing))
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


def run_setup(server: Server, setup: dict[str, Any]) -> None:
    session = botocore.session.get_session()
    client = _client(session, setup["service"], server.endpoint)
    for _ in range(setup.get("count", 1)):
        _call(client, setup["operation"], setup.get("params", {}))


def run_loadgen(args, server: Server, requests: list[bytes], workdir: str, tag: str) -> dict:
    path = os.path.join(workdir, f"{tag}.req")
    write_requests(path, requests)
    cmd = [args.loadgen, "--host", server.host, "--port", str(server.port), "--requests", path,
           "--connections", str(args.connections), "--duration", str(args.duration),
           "--warmup", str(args.warmup), "--threads", str(args.threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         timeout=args.duration + args.warmup + 60)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_ratio(c: dict | None, m: dict | None) -> str:
    if not c or not m:
        return "—"
    if not usable(c) or not usable(m) or m["rps"] <= 0:
        return "n/a"
    return f"{c['rps'] / m['rps']:.2f}×"


def usable(r: dict) -> bool:
    """A run counts for a ratio only if most answers were 2xx."""
    return r["requests"] > 0 and r["non_2xx"] + r["errors"] <= 0.01 * r["requests"]


def notes(r: dict) -> str:
    parts = []
    if r["non_2xx"]:
        codes = ", ".join(f"{k}×{v}" for k, v in sorted(r.get("statuses", {}).items())
                          if not k.startswith("2"))
        parts.append(f"non-2xx {r['non_2xx']} ({codes})")
    if r["errors"]:
        parts.append(f"errors {r['errors']}")
    return "; ".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--citadel", required=True, help="path to the citadel binary")
    ap.add_argument("--loadgen", required=True, help="path to the loadgen binary")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each run")
    ap.add_argument("--threads", type=int, default=1, help="loadgen threads")
    ap.add_argument("--batch", type=int, default=256, help="distinct signed requests per run")
    ap.add_argument("--startup-runs", type=int, default=5)
    ap.add_argument("--fresh-servers", action="store_true",
                    help="restart both servers with empty state before each scenario (by "
                         "default state, e.g. CloudTrail events, accumulates across scenarios)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help=f"comma-separated; known: {', '.join(SCENARIOS)}")
    ap.add_argument("--json", nargs="?", const="-", metavar="FILE",
                    help="also emit results as JSON (to stdout after the table, or to FILE)")
    args = ap.parse_args()

    names = [s for s in args.scenarios.split(",") if s]
    unknown = [s for s in names if s not in SCENARIOS]
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(unknown)}")
    for exe in (args.citadel, args.loadgen):
        if not os.access(exe, os.X_OK):
            ap.error(f"not executable: {exe}")

    results: dict[str, Any] = {
        "config": {"connections": args.connections, "duration_s": args.duration,
                   "warmup_s": args.warmup, "loadgen_threads": args.threads,
                   "batch": args.batch, "cpus": os.cpu_count(),
                   "fresh_servers": args.fresh_servers},
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
    try:
        log("starting moto and citadel...")
        moto = start_moto()
        citadel = start_citadel(args.citadel)
        time.sleep(1.0)
        rss_start = {"citadel": rss_kib(citadel.proc.pid), "moto": rss_kib(moto.proc.pid)}
        for index, name in enumerate(names):
            sc = SCENARIOS[name]
            if args.fresh_servers and index > 0:
                log(f"[{name}] restarting moto and citadel with empty state...")
                moto.stop()
                citadel.stop()
                moto = citadel = None
                moto = start_moto()
                citadel = start_citadel(args.citadel)
            servers = [moto, citadel]  # moto first, then citadel
            if "setup" in sc:
                for srv in servers:
                    log(f"[{name}] setup on {srv.name}...")
                    try:
                        run_setup(srv, sc["setup"])
                    except Exception as e:  # a peer lacking the setup call is reported, not fatal
                        log(f"[{name}] setup on {srv.name} failed: {e}")
            template = Template(sc)
            row: dict[str, Any] = {"scenario": name, "results": {}}
            for srv in servers:
                # Fresh batch right before each run keeps X-Amz-Date inside the 15-minute window.
                batch = template.sign_batch([moto.target, citadel.target], args.batch)
                log(f"[{name}] loadgen against {srv.name}...")
                row["results"][srv.name] = run_loadgen(args, srv, batch[srv.target], workdir,
                                                       f"{name}-{srv.name}")
            c, m = row["results"].get("citadel"), row["results"].get("moto")
            row["ratio"] = (round(c["rps"] / m["rps"], 3)
                            if c and m and usable(c) and usable(m) and m["rps"] > 0 else None)
            results["scenarios"].append(row)
        time.sleep(1.0)
        rss_end = {"citadel": rss_kib(citadel.proc.pid), "moto": rss_kib(moto.proc.pid)}
        results["idle_rss_kib"] = {"after_start": rss_start, "after_scenarios": rss_end}
    finally:
        for srv in (citadel, moto):
            if srv:
                srv.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print_report(results)
    if args.json == "-":
        print(json.dumps(results, indent=2))
    elif args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


def print_report(results: dict[str, Any]) -> None:
    cfg = results["config"]
    print(f"Load: {cfg['connections']} keep-alive connections, {cfg['duration_s']:g} s measured "
          f"after {cfg['warmup_s']:g} s warm-up, {cfg['cpus']} CPUs shared with the load "
          f"generator.\n")
    print("| scenario | server | req/s | p50 ms | p99 ms | ratio (citadel/moto req/s) | notes |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for row in results["scenarios"]:
        m, c = row["results"].get("moto"), row["results"].get("citadel")
        for name, r in (("moto", m), ("citadel", c)):
            if not r:
                continue
            ratio = fmt_ratio(c, m) if name == "citadel" else ""
            print(f"| {row['scenario']} | {name} | {r['rps']:.0f} | {r['p50_ms']:.2f} | "
                  f"{r['p99_ms']:.2f} | {ratio} | {notes(r)} |")
    print()
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
    except (RuntimeError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        print(f"bench: {e}", file=sys.stderr)
        sys.exit(1)
