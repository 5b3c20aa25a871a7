"""A store URL's password (issue 16: it must never reach logs, messages, ``scans.options``,
reports or ``repr(store)``): shown without it, connected without it, and a malformed URL refused
in words.  No PostgreSQL server needed: none of these reach one."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.core.secret import Secret
from agent.store import is_store_url, shown_store, store_location, store_url_password, store_url_without_password

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "url-Pass-31415"


@pytest.mark.parametrize("url, shown, password", [
    (f"postgresql://ana:{PASSWORD}@db.example.invalid:5433/ib", "postgresql://ana@db.example.invalid:5433/ib", PASSWORD),
    (f"postgres://ana@db.example.invalid/ib?sslmode=require&password={PASSWORD}",
     "postgres://ana@db.example.invalid/ib?sslmode=require&password=***", PASSWORD),
    ("postgresql://ana:p%40ss@[::1]/ib", "postgresql://ana@[::1]/ib", "p@ss"),
    ("postgresql://ana@db.example.invalid/ib", "postgresql://ana@db.example.invalid/ib", None),
    (f"postgresql://ana:{PASSWORD}@[unclosed/ib", "postgresql://ana@[unclosed/ib", PASSWORD),  # does not parse
])
def test_the_password_is_found_and_never_shown(url, shown, password):
    assert shown_store(url) == shown and store_url_password(url) == password
    assert PASSWORD not in store_url_without_password(url) and "password" not in store_url_without_password(url)
    assert is_store_url(url) and isinstance(store_location(url), str)


def test_a_path_is_not_a_url():
    assert not is_store_url("ibagent.db") and not is_store_url("./postgresql:/x.db")
    assert isinstance(store_location("data/ibagent.db"), Path)


@pytest.mark.parametrize("url", [
    f"postgresql://ana:{PASSWORD}@[unclosed/ib",
    f"postgresql://ana:{PASSWORD}@127.0.0.1:notaport/ib",
    f"postgresql://ana:{PASSWORD}@127.0.0.1:1/ib?sslmode=bogus",
])
def test_a_malformed_or_unreachable_url_is_refused_in_words(url):
    Secret(PASSWORD)  # the suite's secrets sweep looks for it everywhere too
    done = subprocess.run([sys.executable, "-m", "agent.cli", "devices", "--db", url], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "cannot open store postgresql://ana@" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and PASSWORD not in done.stdout + done.stderr
