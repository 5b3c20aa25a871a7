"""One synthetic device saved as a scan's writer saves it, for the store benchmarks
(store_writes.py, store_backends.py): its captures first, then its items pointing at one of them."""
from __future__ import annotations


def save_device(store, scan_id: int, d: int, items: int, captures: list[tuple[str, str, bytes | None]]) -> None:
    """Device number ``d`` with ``items`` contractable C9300 modules and ``captures`` as
    (command, text, raw bytes or None), into the caller's transaction."""
    from agent.core.models import Capture, Component, DeviceFacts, DeviceRecords, Target

    name = f"sw{d:05d}"
    caps = [Capture(name, "cisco_xe", "ssh", command, text, 0.0, 1.0, raw=raw) for command, text, raw in captures]
    store.save_captures(scan_id, caps)
    evidence = caps[min(1, len(caps) - 1)].id if caps else None
    comps = [Component(name, f"slot {k}", "", "C9300-48P", "C9300-48P", "V01", f"FOC{d:05d}{k:02d}",
                       f"FOC{d:05d}{k:02d}", "module", transport="ssh", capture_id=evidence) for k in range(items)]
    recs = DeviceRecords(facts=DeviceFacts(device=name, platform="cisco_xe", hostname=name, version="17.9.4a"),
                         components=comps)
    store.save_device(scan_id, Target(name=name, host="127.0.0.1", platform="cisco_xe"), status="ok",
                      transport="ssh", records=recs, error_kind=None, error=None, started=0, ended=1, attempts=1)
