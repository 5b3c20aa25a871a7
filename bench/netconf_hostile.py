"""Hostile NETCONF peers against a real ``ibagent scan``: how long the device takes to fail and the
scan process's peak RSS, per class of hostile input (issue 12, item 4).

    python bench/netconf_hostile.py [--timeout 30] [--modes endless-hello,huge-reply,...] [--code DIR]

Each case runs ``python -m agent.cli scan`` in a child process (its peak RSS from ``os.wait4``)
against one ``lab.hostile.HostileNetconf`` peer on 127.0.0.1.  ``--code DIR`` runs the scan from
another checkout (e.g. the release before the cap) for a before/after comparison; the peer stops
by itself after ``--limit`` MiB or ``--timeout`` seconds.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.hostile import MODES, HostileNetconf  # noqa: E402


def run(mode: str, timeout: float, code: Path, limit_mib: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="ibagent-bench-") as tmp, HostileNetconf(
            mode, limit=limit_mib * 2**20, seconds=timeout * 2) as peer:
        tmp = Path(tmp)
        (tmp / "inv").mkdir()
        (tmp / "inv" / "hosts.yaml").write_text(
            "hostile:\n  hostname: 127.0.0.1\n  platform: cisco_xe\n  username: admin\n"
            "  password: ${HOSTILE_PW}\n  data:\n    transports: [netconf]\n"
            f"    netconf_port: {peer.port}\n")
        cmd = [sys.executable, "-m", "agent.cli", "scan", "-i", str(tmp / "inv"), "--db", str(tmp / "ib.db"),
               "--no-progress", "-q", "--connect-timeout", str(timeout), "--command-timeout", str(timeout),
               "--deadline", str(3 * timeout), "--retries", "0"]
        env = {**os.environ, "HOSTILE_PW": "bench-pw", "PYTHONPATH": str(code), "PYTHONWARNINGS": "ignore"}
        started = time.monotonic()
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.monotonic() - started
        with sqlite3.connect(tmp / "ib.db") as db:
            row = db.execute("SELECT error_kind, error FROM devices WHERE device = 'hostile'").fetchone()
        return {"mode": mode, "exit": os.waitstatus_to_exitcode(status), "seconds": seconds,
                "rss_mib": usage.ru_maxrss / 1024, "peer_sent_mib": peer.sent / 2**20,
                "kind": row[0] if row else "-", "reason": (row[1] or "")[:90] if row else "-"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=30.0, help="the scan's connect and command timeouts (s)")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--code", type=Path, default=ROOT, help="checkout whose agent runs the scan (default: this one)")
    ap.add_argument("--limit", type=int, default=1024, help="MiB a peer sends at most per session")
    args = ap.parse_args()
    print(f"{'mode':<14} {'exit':>4} {'seconds':>8} {'peak RSS MiB':>13} {'peer sent MiB':>14}  kind: reason")
    for mode in args.modes.split(","):
        r = run(mode, args.timeout, args.code, args.limit)
        print(f"{r['mode']:<14} {r['exit']:>4} {r['seconds']:>8.1f} {r['rss_mib']:>13.0f} {r['peer_sent_mib']:>14.0f}"
              f"  {r['kind']}: {r['reason']}")


if __name__ == "__main__":
    main()
