"""A real Nautobot for the tests, started once per test session: the PyPI ``nautobot`` server
(with the Device Lifecycle Management app when it is installed) on a throw-away PostgreSQL cluster
(tests/pg/pg_cluster.py) and a child Redis, all on 127.0.0.1 and free ports, under one temp dir.

Why a real server and not a mock: the issue asks that ibagent read and write what Nautobot really
serves (its filters, its validation of a POST, its pagination), which only the server knows.

Steps and where the time goes (measured figures are in docs/ARCHITECTURE.md, "Sources of truth"):
``migrate`` on an empty database is by far the longest step, so it runs once per session, never per
test; the superuser and its API token are made in one ``nbshell`` script; ``runserver --noreload``
serves the API (one process, no autoreloader thread watching the tree).
"""
from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "pg"))
import pg_cluster  # noqa: E402

DLM_APP = "nautobot_device_lifecycle_mgmt"
# The session's measured steps (start-up, seeding, the round trip), filled by the fixture and the
# tests, written out by tests/sot/conftest.py.  Here, not in the conftest: a test importing
# "conftest" could get tests/conftest.py instead.
TIMINGS: dict[str, float] = {}
USERNAME = "ibagent-test"


def why_not() -> str | None:
    """None when a Nautobot can be started here, else the reason (for a skip message)."""
    if importlib.util.find_spec("nautobot") is None:
        return "nautobot is not installed (pip install '.[test]' installs it; .ci/run does)"
    if importlib.util.find_spec("pynautobot") is None:
        return "pynautobot is not installed (it is in the test extra)"
    if redis_server() is None:
        return "redis-server not found (Debian package redis-server; .ci/run installs it)"
    if pg_cluster.server_bin_dir() is None:
        return "PostgreSQL server binaries not found (Debian package postgresql; .ci/run installs it)"
    # Not pg_cluster.why_not(): that also asks for psycopg (3), which only its create_database uses;
    # here the database is made with the server's own createdb, and Nautobot brings its own driver.
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam(pg_cluster.RUN_AS)
        except KeyError:
            return f"running as root and there is no {pg_cluster.RUN_AS!r} account to own the PostgreSQL cluster"
    return None


def redis_server() -> str | None:
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.access(p, os.X_OK)), None)


def dlm_installed() -> bool:
    return importlib.util.find_spec(DLM_APP) is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = '''\
# Written by tests/sot/nautobot_server.py for one test session; thrown away after it.
from nautobot.core.settings import *  # noqa: F401,F403
from nautobot.core.settings_funcs import is_truthy  # noqa: F401

SECRET_KEY = {secret_key!r}
ALLOWED_HOSTS = ["127.0.0.1"]
DEBUG = False
DATABASES = {{
    "default": {{
        "NAME": "nautobot", "USER": {db_user!r}, "PASSWORD": "", "HOST": "127.0.0.1", "PORT": {db_port},
        "ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 300,
    }}
}}
CACHES = {{
    "default": {{
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:{redis_port}/1",
        "TIMEOUT": 300,
        "OPTIONS": {{"CLIENT_CLASS": "django_redis.client.DefaultClient"}},
    }}
}}
CELERY_BROKER_URL = "redis://127.0.0.1:{redis_port}/0"
PLUGINS = {plugins!r}
INSTALLATION_METRICS_ENABLED = False
METRICS_ENABLED = False
'''

# One nbshell script: the superuser and its API token (the token is ours, random, handed in by
# the environment so it never appears on a command line).
BOOTSTRAP = '''
import os
from django.contrib.auth import get_user_model
from nautobot.users.models import Token
User = get_user_model()
user, _ = User.objects.get_or_create(username=os.environ["IBT_USER"], defaults={"is_superuser": True, "is_staff": True})
user.is_superuser = True
user.is_staff = True
user.set_password(os.environ["IBT_TOKEN"])
user.save()
Token.objects.get_or_create(user=user, key=os.environ["IBT_TOKEN"])
print("bootstrap-ok")
'''


@dataclass
class Nautobot:
    root: Path
    port: int
    token: str = field(repr=False)
    dlm: bool
    timings: dict[str, float]
    _procs: list[subprocess.Popen] = field(default_factory=list, repr=False)
    _pg: object = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        if self._pg is not None:
            self._pg.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _server_cmd(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "nautobot.core.cli", "--config", str(config), *args]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"nautobot exited {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"nautobot did not answer {url} in {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def _wait_redis(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("redis-server did not answer PING")


def start(with_dlm: bool | None = None) -> Nautobot:
    """Start PostgreSQL, Redis and Nautobot; migrate; make the API token; serve.  Raises
    RuntimeError with the tail of the failing step's log."""
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="ibagent-nautobot-"))
    dlm = dlm_installed() if with_dlm is None else with_dlm
    token = secrets.token_hex(20)
    nb = Nautobot(root, _free_port(), token, dlm, timings)
    try:
        nb._pg = cluster = pg_cluster.start()
        subprocess.run([str(cluster.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U",
                        pg_cluster.SUPERUSER, "nautobot"], check=True, capture_output=True, timeout=60)
        timings["postgres"] = time.monotonic() - t0

        redis_port = _free_port()
        redis_log = open(root / "redis.log", "wb")
        nb._procs.append(subprocess.Popen(
            [redis_server(), "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "", "--appendonly", "no",
             "--dir", str(root), "--protected-mode", "yes"],
            stdout=redis_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        _wait_redis(redis_port, nb._procs[-1])

        config = root / "nautobot_config.py"
        config.write_text(CONFIG.format(secret_key=secrets.token_urlsafe(50), db_user=pg_cluster.SUPERUSER,
                                        db_port=cluster.port, redis_port=redis_port,
                                        plugins=[DLM_APP] if dlm else []))
        env = {**os.environ, "NAUTOBOT_ROOT": str(root / "nautobot-root"), "IBT_USER": USERNAME, "IBT_TOKEN": token,
               "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        t = time.monotonic()
        cached = cache_file(dlm)
        if cached is not None and cached.is_file():
            _restore(cluster, cached, root)
            timings["restore"] = time.monotonic() - t
            t = time.monotonic()
        # Over a restored schema, migrate applies nothing and only runs Nautobot's post-migrate
        # steps (statuses, jobs); from empty, it is the whole ~500-migration history.
        _run(_server_cmd(config, "migrate", "--no-input"), env, root / "migrate.log", timeout=1500)
        timings["migrate"] = time.monotonic() - t
        if cached is not None and not cached.is_file():
            _dump(cluster, cached, root)
        t = time.monotonic()
        _run(_server_cmd(config, "nbshell", "--command", BOOTSTRAP), env, root / "bootstrap.log", timeout=300)
        timings["bootstrap"] = time.monotonic() - t

        t = time.monotonic()
        log = root / "runserver.log"
        nb._procs.append(subprocess.Popen(
            _server_cmd(config, "runserver", f"127.0.0.1:{nb.port}", "--noreload", "--insecure"),
            env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=root))
        _wait_http(f"{nb.url}/api/", nb._procs[-1], log, timeout=300)
        timings["runserver"] = time.monotonic() - t
        timings["total"] = time.monotonic() - t0
        return nb
    except BaseException:
        nb.stop()
        raise


def cache_file(dlm: bool) -> Path | None:
    """Where the migrated, still empty database of this Nautobot (and DLM) release is kept between
    sessions: ``migrate`` from empty took 335 s on the shared 2-core machine, a restore of its dump
    a few seconds.  Keyed by the releases, so an upgrade migrates afresh.  ``IBAGENT_NAUTOBOT_CACHE=off``
    always migrates from empty (the path CI takes on a new machine); another value is the directory."""
    where = os.environ.get("IBAGENT_NAUTOBOT_CACHE", "")
    if where.lower() in ("off", "0", "no"):
        return None
    from importlib.metadata import version

    key = f"nautobot-{version('nautobot')}"
    if dlm:
        key += f"-dlm-{version('nautobot-device-lifecycle-mgmt')}"
    base = Path(where) if where else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ibagent-tests"
    return base / f"{key}-pg{pg_cluster.server_bin_dir().parent.name}.dump"


def _dump(cluster, target: Path, root: Path) -> None:
    """pg_dump of the freshly migrated database (no users or tokens yet: bootstrap comes after),
    written beside and renamed into place so a half-written dump is never restored."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    proc = subprocess.run([str(cluster.bin_dir / "pg_dump"), "-Fc", "-f", str(tmp), cluster.url("nautobot")],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode == 0:
        os.replace(tmp, target)
    else:  # a cache that cannot be written costs the next session a migrate, nothing more
        tmp.unlink(missing_ok=True)
        (root / "dump.log").write_text(proc.stderr)


def _restore(cluster, dump: Path, root: Path) -> None:
    proc = subprocess.run([str(cluster.bin_dir / "pg_restore"), "--no-owner", "-d", cluster.url("nautobot"),
                           str(dump)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"pg_restore of {dump} failed (delete it to migrate afresh):\n{proc.stderr[-3000:]}")


def _run(cmd: list[str], env: dict[str, str], log: Path, timeout: float) -> None:
    with open(log, "wb") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=timeout, cwd=log.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[3:6])}... exited {proc.returncode}:\n"
                           f"{log.read_text(errors='replace')[-3000:]}")


if __name__ == "__main__":  # by hand: start, print the timings and URL, wait for Ctrl-C
    server = start()
    print(server.url, server.timings, "dlm" if server.dlm else "no dlm", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
