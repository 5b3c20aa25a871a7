"""Store tests on both backends (issue 16 item 5): the ``store_target`` fixture gives a test
either an SQLite path or the URL of a fresh PostgreSQL database, so one test body runs on each.

One throw-away cluster per test session (``pg_cluster.start``); each test gets its own database,
``CREATE DATABASE ... TEMPLATE`` of one that already holds the store's schema (measured on this
shared 2-core machine, 30 of each interleaved: median 0.33 s, best 0.036 s a database, against
median 0.41 s, best 0.078 s for an empty database plus the schema; a drop costs 0.02 s), dropped when the
test ends, after its rows went through the suite's secrets sweep (tests/suite_sweep.py: the
databases live in the cluster's directory, not under pytest's temporary one that the sweep reads).

Without PostgreSQL's server binaries or psycopg the postgres half skips and says why; under CI
(``IBAGENT_CI``, set by .ci/run, which installs Debian's postgresql) it fails instead: the backend
must be tested there.
"""
from __future__ import annotations

import itertools
import os
import time
import zlib

import pytest

from pg import pg_cluster

TEMPLATE = "ibagent_template"
_numbers = itertools.count(1)


def _unavailable(reason: str):
    if os.environ.get("IBAGENT_CI"):
        pytest.fail(f"IBAGENT_CI is set and the PostgreSQL store tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL store tests: {reason}")


@pytest.fixture(scope="session")
def pg_store_cluster():
    """The session's cluster, with the template database holding an empty store at this version."""
    reason = pg_cluster.why_not()
    if reason:
        _unavailable(reason)
    from agent.store import Store

    import psycopg

    cluster = pg_cluster.start()
    try:
        Store(cluster.create_database(TEMPLATE)).close()
        # No session may be connected to a template being copied, autovacuum's included (a copy
        # then fails "being accessed by other users"): a template that takes no connections.
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{TEMPLATE}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
        yield cluster
    finally:
        cluster.stop()


def _sweep_database(url: str, name: str) -> None:
    """Every text and (inflated) binary cell of the database through the suite's secrets sweep."""
    import psycopg

    import suite_sweep
    from secrets_sweep import sweep

    needles = suite_sweep._needles()
    if not needles:
        return
    texts: dict[str, bytes] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [f'"{r[0]}"."{r[1]}"' for r in conn.execute(
            "SELECT schemaname, tablename FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")]
        for table in tables:
            chunks = []
            for row in conn.execute(f"SELECT * FROM {table}"):
                for value in row:
                    if isinstance(value, str):
                        chunks.append(value.encode())
                    elif isinstance(value, bytes):
                        chunks.append(value)
                        try:
                            chunks.append(zlib.decompress(value))
                        except zlib.error:
                            pass
            texts[f"PostgreSQL store {name} table {table}"] = b"\n".join(chunks)
    suite_sweep.FINDINGS.extend(sweep(needles, texts=texts))


@pytest.fixture
def pg_url(pg_store_cluster):
    """The URL of a fresh PostgreSQL store (schema made, no scans), dropped after the test."""
    import psycopg

    name = f"store_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(pg_store_cluster.url(), autocommit=True) as conn:
        for attempt in range(5):
            try:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
                break
            except psycopg.errors.ObjectInUse:  # a session still on the template: a moment later
                if attempt == 4:
                    raise
                time.sleep(0.2)
    url = pg_store_cluster.url(name)
    yield url
    try:
        _sweep_database(url, name)
    finally:
        with psycopg.connect(pg_store_cluster.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request, tmp_path):
    """Where a test's store lives: an SQLite file path, or a PostgreSQL URL (``Store(target)``
    takes either)."""
    if request.param == "sqlite":
        return str(tmp_path / "ib.db")
    return request.getfixturevalue("pg_url")


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only(why): a store test that runs on SQLite only (a migration "
                                       "from an old SQLite version, a PRAGMA, the file itself); its postgres half "
                                       "is deselected, not skipped")


def pytest_collection_modifyitems(config, items):
    keep, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("store_target") == "postgres"
        (dropped if on_pg and item.get_closest_marker("sqlite_only") else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
