"""``python tests/hostile/secrets_child.py FAULT -- IBAGENT-ARGS...``: ``ibagent`` (``agent.cli.main``)
as a real process, with one fault injected first (tests/hostile/test_secrets_everywhere.py):

``disk-full``       the store's connection may not grow past a few pages more than it has (SQLITE_FULL)
``read-only``       after four devices are saved the store turns read-only (SQLite's own refusal)
``collector-crash`` the SSH collector raises on every third device, its message and locals full of
                    secrets; it also leaves a failed task nobody awaits and a thread that dies
``unexpected``      saving the fourth device raises an exception of a kind nobody expects, with a
                    secret in its message and in the frame's locals
"""
from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agent.cli import main  # noqa: E402
from agent.store import Store  # noqa: E402


def disk_full() -> None:
    real = Store.__init__

    def init(self, *args, **kwargs):
        real(self, *args, **kwargs)
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        self.db.execute(f"PRAGMA max_page_count={pages + 12}")

    Store.__init__ = init


def read_only() -> None:
    real = Store.save_device
    saved = []

    def save_device(self, *args, **kwargs):
        if len(saved) == 4:
            self.db.execute("PRAGMA query_only=ON")  # SQLite refuses every write from here on
        saved.append(1)
        return real(self, *args, **kwargs)

    Store.save_device = save_device


def collector_crash() -> None:
    from collectors.ssh import SshCollector

    real = SshCollector.collect
    calls = []

    async def collect(self, target, sink):
        calls.append(target.name)
        if len(calls) % 3:
            return await real(self, target, sink)
        password = target.credential.password.reveal()  # noqa: F841 - a local a traceback could show
        enable = target.credential.enable.reveal() if target.credential.enable else ""
        options = {k: v.reveal() if hasattr(v, "reveal") else v for k, v in target.options.items()}
        message = f"collector exploded for {target!r} with {password} / {enable} / {options}"

        async def orphan():
            raise RuntimeError(f"orphan task: {message}")

        asyncio.get_running_loop().create_task(orphan())  # never awaited: asyncio's handler reports it

        def die():
            raise RuntimeError(f"thread: {message}")

        thread = threading.Thread(target=die, name=f"crash-{target.name}")
        thread.start()
        thread.join()
        raise RuntimeError(message)

    SshCollector.collect = collect


def unexpected() -> None:
    real = Store.save_device
    saved = []

    def save_device(self, scan_id, target, **kwargs):
        saved.append(1)
        if len(saved) == 4:
            secret = target.credential.password.reveal()  # noqa: F841 - in the frame's locals
            community = target.options["snmp_community"].reveal()
            raise LookupError(f"nobody expects this: {secret} {community} {target.options}")
        return real(self, scan_id, target, **kwargs)

    Store.save_device = save_device


FAULTS = {"disk-full": disk_full, "read-only": read_only, "collector-crash": collector_crash, "unexpected": unexpected}

if __name__ == "__main__":
    fault, sep, *argv = sys.argv[1:]
    assert sep == "--", "usage: secrets_child.py FAULT -- IBAGENT-ARGS..."
    FAULTS[fault]()
    sys.exit(main(argv))
