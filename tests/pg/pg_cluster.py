"""A throw-away PostgreSQL cluster on 127.0.0.1 for the tests: Debian's server binaries, a
fresh data directory under a temp dir, one free loopback port, trust auth (nothing but this
machine's loopback can reach it), started once per test session and removed at the end.

PostgreSQL refuses to run as root, and CI runs as root, so there the cluster belongs to an
unprivileged system account (``nobody``): the data directory is handed to it and the server
binaries run as it through ``subprocess``'s ``user=``.  Run as any other user, the cluster is
that user's own.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "ibagent"
RUN_AS = "nobody"


def server_bin_dir() -> Path | None:
    """Debian installs each major version under /usr/lib/postgresql/<N>/bin; take the newest."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    return Path(which).resolve().parent if which else None


def why_not() -> str | None:
    """None when a cluster can be started here, else the reason (for a skip message)."""
    if server_bin_dir() is None:
        return "PostgreSQL server binaries not found (Debian package postgresql; .ci/run installs it)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]'; it is in the test extra)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root and there is no {RUN_AS!r} account to own the cluster"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    root: Path
    port: int
    bin_dir: Path
    _user: str | None

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        kw = {"user": self._user} if self._user else {}
        return subprocess.run([str(self.bin_dir / args[0]), *args[1:]], cwd=self.root, capture_output=True,
                              text=True, timeout=120, check=check, **kw)

    def create_database(self, name: str) -> str:
        """A new empty database (one per test that needs isolation); returns its URL."""
        import psycopg
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start() -> Cluster:
    bin_dir = server_bin_dir()
    assert bin_dir is not None, why_not()
    root = Path(tempfile.mkdtemp(prefix="ibagent-pg-"))
    user = RUN_AS if os.geteuid() == 0 else None
    if user:
        pw = pwd.getpwnam(user)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    cluster = Cluster(root, _free_port(), bin_dir, user)
    try:
        cluster._run("initdb", "-D", str(root / "data"), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                     "--locale=C.UTF-8", "--no-sync")
        # -k: the Unix socket in our temp dir, never /var/run/postgresql; -h: loopback only;
        # fsync off: a throw-away cluster, and the suite's speed matters more than its durability.
        opts = f"-h 127.0.0.1 -p {cluster.port} -k {root} -c fsync=off -c synchronous_commit=off"
        cluster._run("pg_ctl", "-D", str(root / "data"), "-l", str(root / "server.log"), "-w", "-t", "60",
                     "-o", opts, "start")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log = (root / "server.log").read_text(errors="replace")[-2000:] if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {exc}\n{getattr(exc, 'stderr', '')}\n{log}") from None
    return cluster
