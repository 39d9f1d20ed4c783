"""The HTTP server: health, metrics, keep-alive, limits, stalls, idle connections, TLS, SIGTERM."""

import json
import re
import resource
import signal
import socket
import ssl
import threading
import time
import unittest

import harness
from harness import read_until_closed

STS_BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def parse_metrics(text):
    """Parses Prometheus text into [(name, {labels}, value)]."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$", line)
        if not m:
            raise AssertionError(f"not a Prometheus sample line: {line!r}")
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples


class HealthAndMetricsTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)

    def test_health(self):
        resp = self.s.health()
        self.assertEqual(resp.status, 200, resp)
        self.assertIn("application/json", resp.header("Content-Type"))
        doc = resp.json()
        self.assertEqual(doc["status"], "ok")
        self.assertIsInstance(doc["version"], str)
        self.assertTrue(doc["version"])
        self.assertIsInstance(doc["uptime_seconds"], (int, float))
        self.assertGreaterEqual(doc["uptime_seconds"], 0)
        self.assertIsInstance(doc["services"], list)
        self.assertIn("sts", doc["services"])
        self.assertIn("cloudtrail", doc["services"])

    def test_metrics_count_requests_and_latency(self):
        sts = self.s.client("sts")
        for _ in range(3):
            sts.get_caller_identity()
        bad = self.s.client("sts", secret_key="w" * 40)
        with self.assertRaises(Exception):
            bad.get_caller_identity()
        resp = self.s.http("GET", "/metrics")
        self.assertEqual(resp.status, 200, resp)
        self.assertIn("text/plain", resp.header("Content-Type"))
        text = resp.text
        self.assertRegex(text, r"(?m)^# TYPE citadel_requests_total counter$")
        self.assertRegex(text, r"(?m)^# TYPE citadel_request_duration_seconds histogram$")
        samples = parse_metrics(text)
        ok = [v for n, l, v in samples if n == "citadel_requests_total" and l.get("service") == "sts"
              and l.get("operation") == "GetCallerIdentity" and l.get("status") == "200"]
        self.assertEqual(len(ok), 1, text)
        self.assertGreaterEqual(ok[0], 3)
        denied = [v for n, l, v in samples if n == "citadel_requests_total"
                  and l.get("service") == "sts" and l.get("status") == "403"]
        self.assertTrue(denied and sum(denied) >= 1, text)
        buckets = [(l, v) for n, l, v in samples if n == "citadel_request_duration_seconds_bucket"]
        self.assertTrue(buckets, text)
        # For each label set, buckets are cumulative and +Inf equals _count.
        groups = {}
        for l, v in buckets:
            key = tuple(sorted((k, x) for k, x in l.items() if k != "le"))
            groups.setdefault(key, []).append((l["le"], v))
        counts = {tuple(sorted(l.items())): v for n, l, v in samples
                  if n == "citadel_request_duration_seconds_count"}
        self.assertTrue(counts, text)
        for key, pairs in groups.items():
            finite = sorted((float(le), v) for le, v in pairs if le != "+Inf")
            inf = [v for le, v in pairs if le == "+Inf"]
            self.assertEqual(len(inf), 1, key)
            values = [v for _, v in finite] + inf
            self.assertEqual(values, sorted(values), f"buckets not cumulative for {key}")
            self.assertEqual(inf[0], counts[key])
        total = sum(counts.values())
        self.assertGreaterEqual(total, 4)

    def test_keep_alive_reuses_one_connection(self):
        conn = self.s.connection()
        try:
            sockets = set()
            for _ in range(5):
                resp = self.s.signed("sts", body=STS_BODY, headers=FORM, conn=conn)
                self.assertEqual(resp.status, 200, resp)
                sockets.add(id(conn.sock))
                self.assertIsNotNone(conn.sock, "server closed a keep-alive connection")
            for _ in range(3):
                resp = self.s.http("GET", "/_citadel/health", conn=conn)
                self.assertEqual(resp.status, 200)
                sockets.add(id(conn.sock))
            self.assertEqual(len(sockets), 1)
        finally:
            conn.close()

    def test_pipelined_requests_on_raw_socket(self):
        sock = self.s.raw_socket()
        try:
            req = (f"GET /_citadel/health HTTP/1.1\r\nHost: {self.s.netloc}\r\n\r\n").encode()
            last = (f"GET /_citadel/health HTTP/1.1\r\nHost: {self.s.netloc}\r\n"
                    "Connection: close\r\n\r\n").encode()
            sock.sendall(req + req + last)
            data = read_until_closed(sock)
            self.assertEqual(data.count(b"HTTP/1.1 200"), 3, data[:2000])
        finally:
            sock.close()

    def test_connection_close_is_honoured(self):
        sock = self.s.raw_socket()
        try:
            sock.sendall(f"GET /_citadel/health HTTP/1.1\r\nHost: {self.s.netloc}\r\n"
                         "Connection: close\r\n\r\n".encode())
            data = read_until_closed(sock)  # returns only because the server closes
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])
        finally:
            sock.close()

    def test_logs_are_json_lines_without_secrets(self):
        self.s.client("sts").get_caller_identity()
        with self.assertRaises(Exception):
            self.s.client("sts", secret_key="v" * 40).get_caller_identity()
        self.assertEqual(self.s.stop(), 0)
        log = self.s.stderr()
        lines = [l for l in log.splitlines() if l.strip()]
        self.assertTrue(lines, "no log lines on stderr")
        for line in lines:
            doc = json.loads(line)
            self.assertIsInstance(doc, dict, line)
        self.assertNotIn(self.s.secret_key, log)


class LimitsTest(unittest.TestCase):
    def test_body_over_configured_limit(self):
        s = harness.start_server(self, config={"limits": {"max_body_bytes": 1024}})
        small = s.sts_query()
        self.assertEqual(small.status, 200, small)
        body = STS_BODY + b"&Pad=" + b"a" * 4096
        sock = s.raw_socket()
        try:
            head = (f"POST / HTTP/1.1\r\nHost: {s.netloc}\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            try:
                sock.sendall(head + body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            data = read_until_closed(sock)
            if data:
                self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:300])
        finally:
            sock.close()
        self.assertEqual(s.health().status, 200)
        self.assertEqual(s.sts_query().status, 200)

    def test_body_over_default_16_mib_limit(self):
        s = harness.start_server(self)
        size = 16 * 1024 * 1024 + 1024
        sock = s.raw_socket(timeout=60)
        status_line = b""
        try:
            sock.sendall((f"POST / HTTP/1.1\r\nHost: {s.netloc}\r\n"
                          "Content-Type: application/x-www-form-urlencoded\r\n"
                          f"Content-Length: {size}\r\n\r\n").encode())
            chunk = b"a" * (1 << 20)
            sent = 0
            try:
                while sent < size:
                    n = min(len(chunk), size - sent)
                    sock.sendall(chunk[:n])
                    sent += n
            except (BrokenPipeError, ConnectionResetError):
                pass
            status_line = read_until_closed(sock)[:200]
        finally:
            sock.close()
        if status_line:
            self.assertTrue(status_line.startswith(b"HTTP/1.1 413"), status_line)
        self.assertEqual(s.health().status, 200)
        self.assertEqual(s.sts_query().status, 200)

    def test_oversized_headers(self):
        s = harness.start_server(self)
        sock = s.raw_socket()
        try:
            try:
                sock.sendall((f"GET /_citadel/health HTTP/1.1\r\nHost: {s.netloc}\r\n"
                              f"X-Big: {'b' * (256 * 1024)}\r\n\r\n").encode())
            except (BrokenPipeError, ConnectionResetError):
                pass
            data = read_until_closed(sock)
            if data:
                self.assertRegex(data[:20], rb"^HTTP/1\.1 4(00|31)")
        finally:
            sock.close()
        self.assertEqual(s.health().status, 200)

    def test_stalled_client_is_disconnected_while_others_are_served(self):
        s = harness.start_server(self, config={"limits": {"header_timeout_ms": 500,
                                                          "body_timeout_ms": 500,
                                                          "idle_timeout_ms": 500}})
        stalled = s.raw_socket(timeout=30)
        stalled_body = s.raw_socket(timeout=30)
        try:
            stalled.sendall(f"GET /_citadel/health HTTP/1.1\r\nHost: {s.netloc}\r\n".encode())
            stalled_body.sendall((f"POST / HTTP/1.1\r\nHost: {s.netloc}\r\n"
                                  "Content-Type: application/x-www-form-urlencoded\r\n"
                                  "Content-Length: 100\r\n\r\nAction=Get").encode())
            # Meanwhile other clients are served.
            for _ in range(3):
                self.assertEqual(s.health().status, 200)
            self.assertEqual(s.sts_query().status, 200)
            # The stalled clients are disconnected (perhaps after a 408), not answered 200.
            for sock, what in ((stalled, "headers"), (stalled_body, "body")):
                try:
                    data = read_until_closed(sock)
                except AssertionError as e:
                    raise AssertionError(f"client stalled mid-{what}: {e}")
                self.assertFalse(data.startswith(b"HTTP/1.1 200"), data[:200])
                if data:
                    self.assertRegex(data[:20], rb"^HTTP/1\.1 4\d\d")
        finally:
            stalled.close()
            stalled_body.close()
        self.assertEqual(s.health().status, 200)

    def test_idle_keep_alive_connection_is_closed_after_idle_timeout(self):
        s = harness.start_server(self, config={"limits": {"idle_timeout_ms": 500}})
        sock = s.raw_socket(timeout=30)
        try:
            sock.sendall(f"GET /_citadel/health HTTP/1.1\r\nHost: {s.netloc}\r\n\r\n".encode())
            data = read_until_closed(sock)  # the server closes the idle connection
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])
            self.assertEqual(data.count(b"HTTP/1.1 "), 1)
        finally:
            sock.close()

    def test_many_idle_connections_do_not_stop_the_server(self):
        # The issue asks for 10,000 concurrent idle connections; 2,000 at the least when the
        # hard RLIMIT_NOFILE is lower.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        cap = 10000 if hard == resource.RLIM_INFINITY else min(10000, hard - 512)
        if cap < 2000:
            self.skipTest(f"RLIMIT_NOFILE hard limit {hard} too low")
        count = cap
        wanted = count + 512
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        s = harness.start_server(self)  # inherits the raised limit
        idle = []
        try:
            for _ in range(count):
                c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                c.settimeout(30)
                c.connect((s.host, s.port))
                idle.append(c)
            self.assertEqual(s.health(timeout=30).status, 200)
            self.assertEqual(s.sts_query().status, 200)
            self.assertEqual(s.client("sts").get_caller_identity()["Account"], s.account_id)
        finally:
            for c in idle:
                c.close()
        self.assertEqual(s.health().status, 200)


class TlsTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self, tls=True)

    def test_endpoint_is_https_and_clients_work(self):
        self.assertTrue(self.s.endpoint.startswith("https://127.0.0.1:"), self.s.endpoint)
        ident = self.s.client("sts").get_caller_identity()
        self.assertEqual(ident["Account"], self.s.account_id)
        out = self.s.aws("sts", "get-caller-identity").json
        self.assertEqual(out["Account"], self.s.account_id)

    def test_tls_1_2_and_1_3(self):
        for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
                              (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            ctx = self.s.ssl_context(min_version=version, max_version=version)
            conn = self.s.connection(ssl_context=ctx)
            try:
                resp = self.s.http("GET", "/_citadel/health", conn=conn)
                self.assertEqual(resp.status, 200)
                self.assertEqual(conn.sock.version(), name)
                resp = self.s.sts_query(conn=conn)
                self.assertEqual(resp.status, 200, resp)
            finally:
                conn.close()

    def test_certificate_is_the_configured_one(self):
        ctx = ssl.create_default_context()  # system roots only: the self-signed cert fails
        with self.assertRaises(ssl.SSLError):
            with socket.create_connection((self.s.host, self.s.port), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname=self.s.host):
                    pass
        self.assertEqual(self.s.health().status, 200)

    def test_plain_http_to_tls_port_gets_no_answer(self):
        with socket.create_connection((self.s.host, self.s.port), timeout=30) as sock:
            sock.sendall(f"GET /_citadel/health HTTP/1.1\r\nHost: {self.s.netloc}\r\n\r\n"
                         .encode())
            data = read_until_closed(sock)
            self.assertFalse(data.startswith(b"HTTP/1.1 200"), data[:200])
        self.assertEqual(self.s.health().status, 200)


class SigtermTest(unittest.TestCase):
    def test_sigterm_exits_zero(self):
        s = harness.start_server(self)
        self.assertEqual(s.client("sts").get_caller_identity()["Account"], s.account_id)
        self.assertEqual(s.stop(signal.SIGTERM), 0, s.stderr()[-2000:])

    def test_sigterm_with_idle_keep_alive_connection_exits_zero(self):
        s = harness.start_server(self)
        conn = s.connection()
        try:
            self.assertEqual(s.http("GET", "/_citadel/health", conn=conn).status, 200)
            self.assertEqual(s.stop(signal.SIGTERM), 0, s.stderr()[-2000:])
        finally:
            conn.close()

    def test_sigterm_drains_in_flight_request(self):
        s = harness.start_server(self)
        m, p, body, headers = s.sign("sts", body=STS_BODY, headers=FORM)
        sock = s.raw_socket()
        try:
            head = f"{m} {p} HTTP/1.1\r\nHost: {s.netloc}\r\n"
            for k, v in headers.items():
                if k.lower() not in ("host", "content-length"):
                    head += f"{k}: {v}\r\n"
            head += f"Content-Length: {len(body)}\r\n\r\n"
            half = len(body) // 2
            sock.sendall(head.encode() + body[:half])
            time.sleep(0.3)  # let the server read the first half
            s.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)  # let the server start draining
            sock.sendall(body[half:])
            data = read_until_closed(sock)
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:500])
            self.assertIn(f"<Account>{s.account_id}</Account>".encode(), data)
        finally:
            sock.close()
        self.assertEqual(s.stop(), 0, s.stderr()[-2000:])


if __name__ == "__main__":
    unittest.main()
