"""Benchmark: one device's save on each store backend (issue 16 item 1: "measure and say").

    python bench/store_backends.py [--devices 2000] [--items 5] [--url postgresql://...]

Saves ``--devices`` devices (two captures and ``--items`` contractable components each, one
transaction per device, as a scan does) into one scan of: an SQLite file; PostgreSQL through
``backend_pg`` as shipped (parameters bound on the server, statements prepared, ``executemany``
pipelined); and PostgreSQL with every parameter bound on the client (psycopg's ClientCursor, the
adapter's first version, which took every statement as SQLite does whatever its parameters).
Without ``--url`` a throw-away cluster on 127.0.0.1 is started (tests/pg/pg_cluster.py: Debian's
server binaries, fsync off as in the tests; a real server with fsync on pays its commit flush per
device on top).  Prints the wall time per device (the server's work is in another process, so
CPU time of this one would hide it) and the whole scan.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))


def run(target: str, devices: int, items: int) -> float:
    """Seconds per device (wall)."""
    from agent.store import Store
    from _synthetic import save_device

    store = Store(target)
    store.lock()
    scan = store.begin_scan("bench", {}, devices)
    t0 = time.perf_counter()
    for d in range(devices):
        name = f"sw{d:05d}"
        with store.transaction():
            save_device(store, scan, d, items, [("show version", f"Cisco IOS XE 17.9.4a {name}\n" * 20, None),
                                                ("show inventory", f"NAME: chassis {name}\n" * 40, None)])
    took = time.perf_counter() - t0
    store.end_scan(scan, "completed")
    store.close()
    return took / devices


def _fresh(cluster_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(cluster_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return cluster_url.rsplit("/", 1)[0] + "/" + name


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=2000)
    ap.add_argument("--items", type=int, default=5)
    ap.add_argument("--url", help="a PostgreSQL server's maintenance database URL (default: a throw-away cluster)")
    args = ap.parse_args(argv)
    from agent.store import backend_pg
    from pg import pg_cluster

    cluster = None
    if not args.url:
        cluster = pg_cluster.start()
    url = args.url or cluster.url()
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(("SQLite file (WAL, synchronous=NORMAL)", run(str(Path(tmp) / "b.db"), args.devices, args.items)))
        results.append(("PostgreSQL, server-side binding (as shipped)",
                        run(_fresh(url, "bench_server"), args.devices, args.items)))
        backend_pg.CLIENT_BINDING_ONLY = True
        try:
            results.append(("PostgreSQL, client-side binding only",
                            run(_fresh(url, "bench_client"), args.devices, args.items)))
        finally:
            backend_pg.CLIENT_BINDING_ONLY = False
    finally:
        if cluster is not None:
            cluster.stop()
    print(f"save_captures + save_device, {args.devices:,} devices x {args.items} items, one transaction each:")
    for label, per in results:
        print(f"  {label:<45} {per * 1000:7.3f} ms/device   {per * args.devices:6.1f} s/scan")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
