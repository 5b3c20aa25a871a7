"""Benchmark: a site bundle's round trip (issue 16): export a site, import it centrally, import it again.

    python bench/site_bundle.py [--devices 500] [--scans 3] [--items 8]

Writes a site store of ``--devices`` devices x ``--scans`` scans through the scan's writer paths
(each device: ``--items`` items, a ``show version`` and a ~16 KiB ``show inventory`` capture whose
bytes differ from its text, licences, licence status), then times ``ibagent export --site``,
``ibagent import`` into an empty SQLite store and the same import again (idempotent: nothing new),
and prints the bundle's size.  Wall and CPU time of this process (the machine is shared).
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.bundles import generate_key  # noqa: E402
from agent.cli import main  # noqa: E402
from agent.core.models import Capture, Component, DeviceFacts, DeviceRecords, LicenseStatus, LicenseUsage, Target  # noqa: E402
from agent.store import Store  # noqa: E402


def site_store(path: Path, devices: int, scans: int, items: int) -> None:
    store = Store(path)
    for s in range(scans):
        sid = store.begin_scan("bench", {}, devices, agent="bench-site", scope={"sites": ["s1"]})
        for d in range(devices):
            name = f"sw{d:05d}"
            when = 1_790_000_000.0 + s * 86400 + d
            inv = "".join(f'NAME: "Slot {i}", DESCR: "module {i}"\r\nPID: C9300-NM-8X , VID: V01 , '
                          f"SN: FOC{d:05d}{i:03d}\r\n\r\n" for i in range(items)) * 8
            raw = inv.encode()
            caps = [Capture(name, "cisco_xe", "ssh", "show version", f"Cisco IOS XE Software, {name} 17.9.4a\n" * 20,
                            when, when + 1),
                    Capture(name, "cisco_xe", "ssh", "show inventory", inv.replace("\r\n", "\n"), when + 1, when + 2,
                            raw=raw)]
            comps = [Component(name, f"Slot {i}", f"module {i}", "C9300-NM-8X", "C9300-NM-8X", "V01",
                               f"FOC{d:05d}{i:03d}", f"FOC{d:05d}{i:03d}", "module") for i in range(items)]
            recs = DeviceRecords(DeviceFacts(name, "cisco_xe", hostname=name, os_version="17.9.4a", version="17.9.4a"),
                                 comps, [LicenseUsage(name, "network-advantage", "NA", 1, "IN USE")],
                                 LicenseStatus(name, slp_enabled=True))
            t = Target(name=name, host="127.0.0.1", platform="cisco_xe", site="s1")
            with store.transaction():
                store.save_captures(sid, caps)
                for c in comps:
                    c.capture_id = caps[1].id
                store.save_device(sid, t, status="ok", transport="ssh", records=recs, error_kind=None, error=None,
                                  started=when, ended=when + 3, attempts=1)
        store.end_scan(sid, "completed")
    store.close()


def timed(label: str, argv: list[str]) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    code = main(argv)
    print(f"{label:<16} exit {code}  wall {time.perf_counter() - wall:6.2f} s  cpu {time.process_time() - cpu:6.2f} s",
          flush=True)


def run() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--scans", type=int, default=3)
    ap.add_argument("--items", type=int, default=8)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        site_store(tmp / "site.db", args.devices, args.scans, args.items)
        print(f"site store: {args.devices} devices x {args.scans} scans written in {time.perf_counter() - t0:.1f} s, "
              f"{(tmp / 'site.db').stat().st_size / 2**20:.1f} MiB")
        key, pub, _ = generate_key(tmp / "k.key")
        out = tmp / "s1.ibb"
        timed("export", ["export", "--site", "s1", "--key", str(key), "--out", str(out), "--db", str(tmp / "site.db")])
        print(f"bundle: {out.stat().st_size / 2**20:.1f} MiB")
        imp = ["import", str(out), "--trust", str(pub), "--db", str(tmp / "central.db"), "--format", "none"]
        timed("import", imp)
        timed("import again", imp)
        print(f"central store: {(tmp / 'central.db').stat().st_size / 2**20:.1f} MiB; peak RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    run()
