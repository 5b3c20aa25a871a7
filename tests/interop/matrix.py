"""Measure the interop matrix: server profile x SSH driver x ibagent profile, through the scan engine.

    sudo PYTHONPATH=. python3 -W ignore tests/interop/matrix.py

Prints one line per (server, driver, inventory setting): ok/fail, the error kind, and what was
negotiated.  Needs what tests/interop needs (root, /usr/sbin/sshd).
"""
from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sshd_servers as S  # noqa: E402

from agent.collect.inventory import load_inventory  # noqa: E402
from agent.collect.scan import ScanOptions, run_scan  # noqa: E402
from agent.store import Store  # noqa: E402
from agent.store import sessions as store_sessions  # noqa: E402

SETTINGS = {"default": {}, "legacy": {"ssh_algorithms": "legacy"}, "ancient": {"ssh_algorithms": "ancient"},
            "step-down": {"ssh_step_down": True}}


def main() -> int:
    reason = S.skip_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    S.ensure_user()
    os.environ["IBAGENT_INTEROP_PASSWORD"] = S.PASSWORD
    os.environ["IBAGENT_INTEROP_ENABLE"] = S.ENABLE
    root = S.make_root()
    started = []
    try:
        specs = [S.ServerSpec("modern", "c2960x_stack2"), S.ServerSpec("legacy", "c2960x_stack2", S.LEGACY),
                 S.ServerSpec("ancient", "c2960x_stack2", S.ANCIENT)]
        servers = {}
        for spec in specs:
            server, shell = S.start(spec, root)
            started.append((server, shell))
            servers[spec.name] = server
        print(f"{'server':<8} {'driver':<9} {'inventory':<10} {'result':<14} {'s':>5}  negotiated")
        for name, server in servers.items():
            for driver in ("asyncssh", "netmiko"):
                for setting, data in SETTINGS.items():
                    with tempfile.TemporaryDirectory() as tmp:
                        tmp = Path(tmp)
                        lines = ["sw:", "  hostname: 127.0.0.1", f"  port: {server.port}", "  platform: cisco_ios",
                                 f"  username: {S.USER}", "  password: ${IBAGENT_INTEROP_PASSWORD}", "  data:",
                                 "    enable_secret: ${IBAGENT_INTEROP_ENABLE}", "    transports: [ssh]"]
                        lines += [f"    {k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in data.items()]
                        (tmp / "hosts.yaml").write_text("\n".join(lines) + "\n")
                        (tmp / "known_hosts").write_text(server.known_hosts_line() + "\n")
                        targets = load_inventory(tmp).targets
                        store = Store(tmp / "ib.db")
                        options = ScanOptions(ssh_driver=driver, host_keys="strict", known_hosts=(str(tmp / "known_hosts"),),
                                              connect_timeout=8, command_timeout=8, deadline=60, retries=0)
                        t0 = time.perf_counter()
                        summary = asyncio.run(run_scan(targets, store, options))
                        took = time.perf_counter() - t0
                        row = store.scan_devices(summary.scan_id)[0]
                        sess = store_sessions.sessions_of(store, [(summary.scan_id, "sw")]).get((summary.scan_id, "sw"))
                        store.close()
                    result = "ok" if row["status"] == "ok" else f"fail:{row['error_kind']}"
                    what = (f"{sess['kex']} / {sess['cipher']} / {sess['mac'] or '(aead)'} / {sess['hostkey']}"
                            f" [profile {sess['profile']}"
                            f"{', stepped down from ' + sess['stepped_down_from'] if sess['stepped_down_from'] else ''}]"
                            if sess else (row["error"] or "")[:110])
                    print(f"{name:<8} {driver:<9} {setting:<10} {result:<14} {took:5.1f}  {what}", flush=True)
    finally:
        for server, shell in started:
            S.stop(server, shell)
        S.remove_root(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
