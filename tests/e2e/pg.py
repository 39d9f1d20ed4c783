"""A throwaway PostgreSQL server for tests (Debian's postgresql package).

`PostgresServer` runs initdb into a fresh temporary directory (password authentication:
scram-sha-256 for every connection, a random superuser password), starts `postgres` on a free
loopback port with its Unix socket in that directory, and removes everything when stopped.
PostgreSQL refuses to run as root: when the test runs as root, the server's files belong to
the `postgres` system user and its programs run through `runuser -u postgres`.

From Python:

    with PostgresServer() as pg:
        pg.psql("CREATE ROLE app LOGIN PASSWORD 'x'")
        assert pg.can_login("app", "x")

From another language (the C++ unit tests), a command line that leaves the server running:

    python3 pg.py start          # prints one JSON line: host, port, superuser, password, base_dir
    python3 pg.py stop BASE_DIR  # stops that server and removes BASE_DIR
"""

import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile

SERVER_USER = "postgres"


def bin_dir():
    """The newest installed PostgreSQL server's bin directory (/usr/lib/postgresql/N/bin)."""
    found = []
    for path in glob.glob("/usr/lib/postgresql/*/bin"):
        if os.path.exists(os.path.join(path, "postgres")):
            version = os.path.basename(os.path.dirname(path))
            found.append((int(version) if version.isdigit() else 0, path))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                           "(scripts/install-deps.sh installs the postgresql package)")
    return max(found)[1]


def available():
    """True when a PostgreSQL server can be started here."""
    try:
        bin_dir()
    except RuntimeError:
        return False
    return os.geteuid() != 0 or _has_user(SERVER_USER)


def _has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One temporary PostgreSQL cluster on 127.0.0.1:<free port>."""

    def __init__(self, superuser="postgres"):
        self.host = "127.0.0.1"
        self.port = None
        self.superuser = superuser
        self.password = secrets.token_urlsafe(18)
        self.base_dir = None
        self.bin = bin_dir()

    # --- life cycle ---------------------------------------------------------------------------
    def start(self):
        self.base_dir = tempfile.mkdtemp(prefix="citadel-pg-")
        try:
            os.chmod(self.base_dir, 0o700)
            if os.geteuid() == 0:
                info = pwd.getpwnam(SERVER_USER)
                os.chown(self.base_dir, info.pw_uid, info.pw_gid)
            pwfile = os.path.join(self.base_dir, "pwfile")
            self._as_server_user(["sh", "-c", 'umask 077; cat > "$1"', "sh", pwfile],
                                 input=self.password + "\n")
            self._as_server_user([
                os.path.join(self.bin, "initdb"), "-D", self._data(), "-U", self.superuser,
                "--pwfile", pwfile, "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C",
                "--no-sync"
            ])
            os.unlink(pwfile)
            last_error = None
            for _ in range(5):  # a free port may be taken between choosing it and binding it
                self.port = _free_port()
                try:
                    self._pg_ctl("start", "-w", "-t", "60", "-l", self._log(), "-o",
                                 f"-p {self.port} -k {self.base_dir} "
                                 "-c listen_addresses=127.0.0.1 -c fsync=off "
                                 "-c max_connections=30")
                    return self
                except subprocess.CalledProcessError as e:
                    last_error = e
            raise RuntimeError(f"postgres did not start: {last_error}\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise

    def stop(self):
        if not self.base_dir:
            return
        if os.path.exists(os.path.join(self._data(), "postmaster.pid")):
            try:
                self._pg_ctl("stop", "-m", "immediate", "-w", "-t", "30")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- using it -----------------------------------------------------------------------------
    def psql(self, sql, user=None, password=None, dbname="postgres"):
        """Runs SQL through psql over TCP; returns stdout (unaligned, tuples only)."""
        result = self._psql(sql, user, password, dbname)
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def can_login(self, user, password, dbname="postgres"):
        """True when `user` logs in with `password` (and runs SELECT 1)."""
        result = self._psql("SELECT 1", user, password, dbname)
        return result.returncode == 0 and result.stdout.strip() == "1"

    def info(self):
        return {
            "host": self.host,
            "port": self.port,
            "superuser": self.superuser,
            "password": self.password,
            "base_dir": self.base_dir,
        }

    def log_tail(self, lines=20):
        try:
            with open(self._log(), encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    # --- internals ----------------------------------------------------------------------------
    def _data(self):
        return os.path.join(self.base_dir, "data")

    def _log(self):
        return os.path.join(self.base_dir, "postgres.log")

    def _psql(self, sql, user, password, dbname):
        env = dict(os.environ)
        env.update({
            "PGPASSWORD": self.password if password is None else password,
            "PGPASSFILE": os.devnull,
            "PGCONNECT_TIMEOUT": "10",
        })
        psql = os.path.join(self.bin, "psql")
        if not os.path.exists(psql):
            psql = "psql"
        return subprocess.run([
            psql, "-X", "-w", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p",
            str(self.port), "-U", user or self.superuser, "-d", dbname, "-c", sql
        ], env=env, capture_output=True, text=True, check=False)

    def _pg_ctl(self, *args):
        self._as_server_user([os.path.join(self.bin, "pg_ctl"), "-D", self._data(), *args])

    def _as_server_user(self, argv, input=None):
        if os.geteuid() == 0:
            argv = ["runuser", "-u", SERVER_USER, "--", *argv]
        subprocess.run(argv, input=input, text=True, check=True, cwd=self.base_dir,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main(argv):
    if len(argv) >= 2 and argv[1] == "available":
        return 0 if available() else 1
    if len(argv) >= 2 and argv[1] == "start":
        server = PostgresServer().start()
        print(json.dumps(server.info()), flush=True)
        return 0
    if len(argv) == 3 and argv[1] == "stop":
        base = os.path.realpath(argv[2])
        if not os.path.basename(base).startswith("citadel-pg-"):
            print("pg.py stop: not a directory made by pg.py start", file=sys.stderr)
            return 2
        server = PostgresServer()
        server.base_dir = base
        server.stop()
        return 0
    print("usage: pg.py available | start | stop BASE_DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
