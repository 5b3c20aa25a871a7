"""A small site store written through the store's own write paths (the scan's), with everything a
site bundle carries: captures whose bytes differ from their text (CRLF, a byte that is not UTF-8)
and captures without kept bytes, items pointing to their captures, licences and licence status,
an SSH session with findings, a failed device with its failures, a neighbour blob naming capture
ids, and an SLP run.  Written by hand for these tests."""
from __future__ import annotations

import json
from types import SimpleNamespace

from agent.core.models import (
    Capture, Component, DeviceFacts, DeviceRecords, LicenseStatus, LicenseUsage, Target,
)
from agent.store import Store
from agent.store import sessions as store_sessions

T0 = 1_790_000_000.0  # 2026-09-21, the site's own clock
DAY = 86400.0

# device -> (site, [(slot, pid, serial)])
DEVICES = {
    "ber-core": ("berlin", [("Chassis", "C9500-24Y4C", "FOCBER001"), ("Te1/1/1", "SFP-10G-SR", "OPBER001")]),
    "ber-acc": ("berlin", [("Chassis", "C9300-48P", "FOCBER002"), ("PS1", "PWR-C1-715WAC", "PSBER002")]),
    "par-core": ("paris", [("Chassis", "ISR4331/K9", "FDOPAR001")]),
}


def save_device(store, scan_id, name, items, *, when, status="ok", neighbours=True):
    site = DEVICES[name][0]
    t = Target(name=name, host="127.0.0.1", platform="cisco_xe", port=22, site=site, contract_site_ids=("42" if site == "berlin" else "77",),
               max_age_days=30)
    raw = f"{name}#show inventory\r\nNAME: \"Chassis\"\r\n\xff{len(items)}".encode("latin-1")
    caps = [Capture(name, "cisco_xe", "ssh", "show version", f"Cisco IOS XE {name}", when, when + 1),
            Capture(name, "cisco_xe", "ssh", "show inventory", raw.decode("utf-8", "replace").replace("\r\n", "\n"),
                    when + 1, when + 2, raw=raw)]
    records = None
    failures = ()
    if status == "ok":
        facts = DeviceFacts(name, "cisco_xe", hostname=name.upper(), os_version="17.9.4a", version="17.9.4a",
                            chassis_pid=items[0][1], chassis_serial=items[0][2], roles=["Switch 1 Active"])
        comps = [Component(name, slot, f"{slot} descr", pid, pid, "V01", sn.lower(), sn,
                           "chassis" if slot == "Chassis" else "psu", parent="" if slot == "Chassis" else "Chassis")
                 for slot, pid, sn in items]
        lic = [LicenseUsage(name, "network-advantage", "C9300 NA", 1, "IN USE", "NOT ENFORCED", "Subscription")]
        ls = LicenseStatus(name, slp_enabled=True, last_ack_received="Sep 20 2026 10:00:00 UTC")
        records = DeviceRecords(facts, comps, lic, ls, problems=[])
    else:
        failures = (("ssh", "auth", "permission denied"), ("netconf", "timeout", "no answer"))
    with store.transaction():
        store.save_captures(scan_id, caps)
        if records is not None:
            for c in records.components:
                c.capture_id = caps[1].id
        store.save_device(scan_id, t, status=status, transport="ssh", records=records,
                          error_kind=None if status == "ok" else "auth",
                          error=None if status == "ok" else "permission denied", started=when, ended=when + 3,
                          attempts=1, failures=failures)
        if status == "ok":
            store_sessions.save(store, scan_id, name, {"driver": "asyncssh", "profile": "legacy", "kex": "dh-group14-sha1"},
                                [SimpleNamespace(subject="ssh kex", value="diffie-hellman-group14-sha1", why="SHA-1")])
        if status == "ok" and neighbours:
            blob = json.dumps({"neighbours": [{"device_id": "peer1", "capture_id": caps[1].id}]},
                              sort_keys=True).encode()
            digest = store._put_blob(blob)
            store.db.execute("UPDATE devices SET neighbours = ? WHERE scan_id = ? AND device = ?",
                             (digest, scan_id, name))


def site_scan(store, day, *, failed=(), skip=(), items=None, agent="berlin-1"):
    """One scan of the site store's devices on day ``day`` (its own times)."""
    when = T0 + day * DAY
    names = [n for n in DEVICES if n not in skip]
    sid = store.begin_scan("inventories/site", {"workers": 4}, len(names), agent=agent,
                           scope={"inventory": "inventories/site", "sites": ["berlin", "paris"], "groups": []})
    for name in names:
        got = (items or {}).get(name, DEVICES[name][1])
        save_device(store, sid, name, got, when=when, status="failed" if name in failed else "ok")
    store.end_scan(sid, "completed")
    with store.transaction():
        store.db.execute("UPDATE scans SET started = ?, ended = ? WHERE id = ?", (when, when + 60, sid))
    return sid


def slp_run(store, day):
    when = T0 + day * DAY
    rid = store.begin_slp_run("collect", "inventories/site", {"mode": "all"})
    with store.transaction():
        store.add_slp_event(rid, "ber-core", "save-usage", "ok", command="license smart save usage", at=when)
        store.save_slp_report(rid, "ber-core", site="berlin", udi_pid="C9500-24Y4C", udi_serial="FOCBER001",
                              file_name="bootflash:rum.txt", mode="all", transfer="scp", data=b"<rum>\x00\x01</rum>",
                              report_ids=[7, 8], collected_at=when)
        store.add_slp_event(rid, "par-core", "save-usage", "ok", at=when)
        store.save_slp_ack(rid, "ber-core", file_name="ack_berlin.txt", data=b"<ack>\xfe</ack>",
                           udis=[["C9500-24Y4C", "FOCBER001"]], report_ids=[7, 8], status="imported",
                           last_ack_received="Sep 22 2026 09:00:00 UTC", next_ack_deadline="Dec 21 2026 09:00:00 UTC",
                           license_status=LicenseStatus("ber-core", slp_enabled=True, policy_name="Cisco default"),
                           at=when + 2)
    store.end_slp_run(rid, "completed", 1, 0)
    with store.transaction():
        store.db.execute("UPDATE slp_runs SET started = ?, ended = ? WHERE id = ?", (when, when + 5, rid))
    return rid


def make_site_store(path, days=(0, 1, 2)):
    store = Store(path)
    for day in days:
        site_scan(store, day, failed=("ber-acc",) if day == 1 else ())
    slp_run(store, days[-1])
    return store
