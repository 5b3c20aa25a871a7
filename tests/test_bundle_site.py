"""Sealed site bundles end to end between two SQLite stores: ``ibagent export --site`` on the site,
``ibagent import`` centrally.  The central store's view of the site (every record, the captures'
bytes, the fleet, reconcile's rows) must equal the site's own; importing twice changes nothing;
bundles imported out of order leave each device at its newest state; ``--since`` cuts.

The site store is written through the store's own write paths (tests/site_fixture.py)."""
from __future__ import annotations

import json
from datetime import date

import pytest

from agent.bundles import generate_key, key_id, load_private_key
from agent.cli import main
from agent.contracts import ContractLine, split_pid
from agent.reconcile.from_store import reconcile_from_store
from agent.store import Store, fleet
from agent.store import sessions as store_sessions
from agent.store.agents import agent_rows
from site_fixture import T0, make_site_store, site_scan, slp_run

AS_OF = date(2026, 10, 1)


@pytest.fixture()
def site(tmp_path):
    """(site store path, key path, public key path, key id)."""
    db = tmp_path / "site.db"
    make_site_store(db).close()
    key, pub, kid = generate_key(tmp_path / "berlin.key")
    return db, key, pub, kid


def export(db, key, out, *extra):
    return main(["export", "--site", "berlin", "--key", str(key), "--out", str(out), "--db", str(db), *extra])


def do_import(central, pub, *bundles):
    return main(["import", *map(str, bundles), "--trust", str(pub), "--db", str(central), "--format", "none"])


def dump_all(path) -> dict:
    """Every row of every table, in a stable order: 'nothing changed' means this is equal."""
    store = Store(path, readonly=True)
    try:
        tables = [r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(map(tuple, store.db.execute(f"SELECT * FROM {t}")), key=repr) for t in tables}
    finally:
        store.close()


def site_view(path, site="berlin") -> list:
    """Everything the store knows about ``site``'s devices, with its own ids replaced by what they
    stand for (a capture by its command and sha256), scan by scan in time order."""
    store = Store(path, readonly=True)
    try:
        out = []
        for scan in store.db.execute("SELECT * FROM scans ORDER BY started"):
            sid = scan["id"]
            rows = store.db.execute("SELECT * FROM devices WHERE scan_id = ? AND site = ? ORDER BY device",
                                    (sid, site)).fetchall()
            if not rows:
                continue
            caps = {c["id"]: c for c in store.db.execute("SELECT * FROM captures WHERE scan_id = ?", (sid,))}

            def cap(cid):
                c = caps[cid]
                return (c["device"], c["command"], c["sha256"])

            pairs = [(sid, r["device"]) for r in rows]
            sessions = store_sessions.sessions_of(store, pairs)
            findings = store_sessions.findings_of(store, pairs)
            devices = []
            for r in rows:
                name = r["device"]
                nb = None
                if r["neighbours"]:
                    doc = json.loads(_blob(store, r["neighbours"]))
                    nb = [{**n, "capture_id": cap(n["capture_id"])} for n in doc["neighbours"]]
                devices.append({
                    "row": {k: r[k] for k in r.keys() if k not in ("scan_id", "item_set", "item_cap0", "item_id0",
                                                                   "neighbours")},
                    "items": [(*[c[k] for k in ("name", "descr", "pid", "base_pid", "vid", "serial_raw", "serial",
                                               "class", "parent", "contractable", "reason", "refurbished",
                                               "transport")], cap(c["capture_id"]))
                              for c in store.components_of([(sid, name)])],
                    "captures": [(c["command"], c["sha256"], c["text_sha256"], c["started"], c["ended"], c["error"],
                                  store.capture_bytes(c["id"]), store.capture_text(c["id"]))
                                 for c in sorted(caps.values(), key=lambda c: c["id"]) if c["device"] == name],
                    "licenses": store.licenses_of(sid, name),
                    "license_status": store.license_status_of(sid, name),
                    "errors": [(e["transport"], e["kind"], e["message"], e["at"]) for e in store.errors_of(sid)
                               if e["device"] == name],
                    "session": sessions.get((sid, name)), "findings": findings.get((sid, name)),
                    "neighbours": nb,
                })
            out.append({"scan": {k: scan[k] for k in ("started", "ended", "status", "inventory", "options", "agent",
                                                      "scope")}, "devices": devices})
        return out
    finally:
        store.close()


def _blob(store, sha):
    import zlib

    return zlib.decompress(store.db.execute("SELECT data FROM blobs WHERE sha256 = ?", (sha,)).fetchone()[0])


def fleet_view(path, site="berlin"):
    """The current fleet of ``site``: each device's state (not its ids) and reconcile's rows."""
    store = Store(path, readonly=True)
    try:
        snap = sorted((r["device"], r["status"], r["latest_status"], r["hostname"], r["started"], r["inventory_ok"])
                      for r in store.snapshot_devices() if r["site"] == site)
        items = sorted((i.serial, i.base_pid, i.device, i.site, i.name) for i in fleet.fleet_items(store)
                       if i.site == site)
        lines = []
        for n, (serial, pid) in enumerate([("FOCBER001", "C9500-24Y4C"), ("FOCBER002", "C9300-48P"),
                                           ("PSBER002", "PWR-C1-715WAC"), ("GONE0001", "C9300-48P")], 2):
            as_read, base, refurb = split_pid(pid)
            lines.append(ContractLine(serial=serial, pid=as_read, base_pid=base, contract_number="900",
                                      start=date(2026, 1, 1), end=date(2027, 6, 30), covered=True,
                                      refurbished=refurb, source_file="c.csv", source_row=n, site_id="42"))
        rows = reconcile_from_store(store, lines, None, AS_OF, 90, max_age_days=3650)
        recon = sorted((r.status, r.serial, r.base_pid, r.device, r.site, r.name) for r in rows
                       if r.site in (site, ""))
        return snap, items, recon
    finally:
        store.close()


def test_round_trip_gives_the_central_store_the_sites_own_view(tmp_path, site, capsys):
    db, key, pub, kid = site
    out = tmp_path / "berlin.ibb"
    assert export(db, key, out) == 0
    central = tmp_path / "central.db"
    assert do_import(central, pub, out) == 0
    assert site_view(central) == site_view(db)
    assert len(site_view(db)) == 3
    assert fleet_view(central) == fleet_view(db)
    snap, items, recon = fleet_view(central)
    assert {s[0] for s in snap} == {"ber-core", "ber-acc"} and items and recon
    # Only the site's devices travel; the site's scans keep their agent, and get their identity.
    c = Store(central, readonly=True)
    try:
        assert {r["device"] for r in c.db.execute("SELECT device FROM devices")} == {"ber-core", "ber-acc"}
        origins = [r["origin"] for r in c.db.execute("SELECT origin FROM scans ORDER BY id")]
        assert origins == [f"{kid}:berlin-1:{n}" for n in (1, 2, 3)]
        (agent,) = agent_rows(c)  # the site is one more agent of the central store
        assert (agent["agent"], agent["imported"], agent["device_names"]) == ("berlin-1", True, ["ber-acc", "ber-core"])
        # The SLP state: the site's usage report byte for byte, its device events, not paris's.
        (rep,) = c.slp_reports()
        assert bytes(rep["data"]) == b"<rum>\x00\x01</rum>" and rep["collected_at"] == T0 + 2 * 86400
        assert [e["device"] for e in c.slp_events()] == ["ber-core"]
        (ack,) = c.slp_acks()
        assert bytes(ack["data"]) == b"<ack>\xfe</ack>" and ack["at"] == T0 + 2 * 86400 + 2
        assert c.latest_imported_acks()["ber-core"][1].policy_name == "Cisco default"
        origin = json.loads(c.slp_runs()[0]["options"])["imported_from"]  # key id : exporting agent : slp : run
        assert origin.startswith(f"{kid}:") and origin.endswith(":slp:1")
    finally:
        c.close()


def test_import_waits_for_no_scan(tmp_path, site, capsys):
    """Import writes scans: while a scan holds the store's lock it stops with exit 75, writing nothing (SQLite: one
    writer; with per-agent locks, PostgreSQL, an import and a scan of another scope run at once)."""
    db, key, pub, _ = site
    out = tmp_path / "b.ibb"
    assert export(db, key, out) == 0
    central = tmp_path / "central.db"
    holder = Store(central)
    holder.lock()
    try:
        assert do_import(central, pub, out) == 75
        assert "another scan is running" in capsys.readouterr().err
        assert holder.scans() == []
    finally:
        holder.close()


def test_importing_twice_changes_nothing(tmp_path, site):
    db, key, pub, _ = site
    out = tmp_path / "b.ibb"
    assert export(db, key, out) == 0
    central = tmp_path / "central.db"
    assert do_import(central, pub, out) == 0
    before = dump_all(central)
    assert do_import(central, pub, out) == 0
    assert dump_all(central) == before
    assert sum(len(rows) for rows in before.values()) > 50  # the comparison compares something


def test_import_of_a_scan_alongside_local_scans_keeps_both(tmp_path, site):
    """The central store has its own agent's scans; an imported site is one more agent."""
    db, key, pub, _ = site
    out = tmp_path / "b.ibb"
    assert export(db, key, out) == 0
    central = tmp_path / "central.db"
    c = Store(central)
    site_scan(c, 5, skip=("ber-core", "ber-acc"), agent="central-1")  # paris collected centrally
    c.close()
    assert do_import(central, pub, out) == 0
    c = Store(central, readonly=True)
    try:
        agents = {r["device"]: r for r in c.snapshot_devices()}
        assert set(agents) == {"ber-core", "ber-acc", "par-core"}
    finally:
        c.close()
    assert fleet_view(central) == fleet_view(db)


def test_a_site_collection_older_than_one_here_does_not_become_the_latest(tmp_path, site, capsys):
    """The central agent reached ber-core after the site's last scan: the bundle arriving later
    adds ber-acc and its scans, while ber-core stays at the newer central collection."""
    db, key, pub, _ = site
    out = tmp_path / "b.ibb"
    assert export(db, key, out) == 0
    central = tmp_path / "central.db"
    c = Store(central)
    newer = site_scan(c, 5, skip=("ber-acc", "par-core"), agent="central-1")
    c.close()
    capsys.readouterr()
    assert do_import(central, pub, out) == 0
    assert "3 superseded" in capsys.readouterr().err
    c = Store(central, readonly=True)
    try:
        snap = {r["device"]: r for r in c.snapshot_devices()}
        assert snap["ber-core"]["collected_in"] == newer and snap["ber-core"]["latest_attempt_scan"] == newer
        assert snap["ber-acc"]["started"] == T0 + 2 * 86400  # the site's own newest collection
        assert len(c.scans()) == 4
    finally:
        c.close()


def test_out_of_order_import_leaves_the_newest_state(tmp_path):
    db = tmp_path / "site.db"
    store = make_site_store(db, days=(0, 1))
    key, pub, _ = generate_key(tmp_path / "k.key")
    old = tmp_path / "old.ibb"
    assert export(db, key, old) == 0
    # Later on the site: ber-acc's PSU replaced (RMA), ber-core's optic gone.
    site_scan(store, 2, items={"ber-acc": [("Chassis", "C9300-48P", "FOCBER002"), ("PS1", "PWR-C1-715WAC", "PSNEW9")],
                               "ber-core": [("Chassis", "C9500-24Y4C", "FOCBER001")]})
    slp_run(store, 2)
    store.close()
    new = tmp_path / "new.ibb"
    assert export(db, key, new, "--since", "2") == 0
    site_fleet = fleet_view(db)
    assert any(i[0] == "PSNEW9" for i in site_fleet[1]) and not any(i[0] == "OPBER001" for i in site_fleet[1])

    newest_first = tmp_path / "c1.db"
    assert do_import(newest_first, pub, new) == 0
    assert do_import(newest_first, pub, old) == 0
    # The latest state is the site's: every device at its newest collection, the new PSU, no optic.
    # (The older collections of devices the newer bundle holds are not inserted - under higher scan
    # ids they would become the latest - so history, and reconcile's rma-swap that reads it, lacks
    # them: the import says so, and a batch is merged oldest first, below.)
    assert fleet_view(newest_first)[:2] == site_fleet[:2]
    c = Store(newest_first, readonly=True)
    try:
        assert len(c.scans()) == 3  # every scan row is there, so importing either bundle again adds nothing
    finally:
        c.close()
    # One command given them out of order imports them oldest first: the whole history, as the site has it.
    batch = tmp_path / "c2.db"
    assert do_import(batch, pub, new, old) == 0
    assert fleet_view(batch) == site_fleet
    assert site_view(batch) == site_view(db)


def test_since_a_scan_or_a_date(tmp_path, site, capsys):
    db, key, pub, kid = site
    trust = ["--trust", str(pub), "--format", "json"]
    by_scan = tmp_path / "s.ibb"
    assert export(db, key, by_scan, "--since", "1") == 0
    assert "next time: --since 3" in capsys.readouterr().err
    assert main(["bundle", "show", str(by_scan), *trust]) == 0
    assert json.loads(json.loads(capsys.readouterr().out)[0]["meta"])["scans"] == [2, 3]
    by_day = tmp_path / "d.ibb"
    assert export(db, key, by_day, "--since", "2026-09-23") == 0  # T0 + 2 days falls on 2026-09-23
    capsys.readouterr()
    assert main(["bundle", "show", str(by_day), *trust]) == 0
    assert json.loads(json.loads(capsys.readouterr().out)[0]["meta"])["scans"] == [3]
    central = tmp_path / "c.db"
    assert do_import(central, pub, by_scan) == 0
    c = Store(central, readonly=True)
    try:
        assert [r["origin"] for r in c.scans()] == [f"{kid}:berlin-1:2", f"{kid}:berlin-1:3"]
    finally:
        c.close()
    assert export(db, key, tmp_path / "none.ibb", "--since", "3") == 2
    assert "nothing to export" in capsys.readouterr().err
    assert not (tmp_path / "none.ibb").exists()
    assert export(db, key, tmp_path / "bad.ibb", "--since", "last week") == 2
    assert "neither a scan id nor a date" in capsys.readouterr().err


def test_export_needs_a_key_that_only_its_owner_reads(tmp_path, site, capsys):
    db, key, _, _ = site
    key.chmod(0o644)
    assert export(db, key, tmp_path / "b.ibb") == 2
    assert "chmod 600" in capsys.readouterr().err and not (tmp_path / "b.ibb").exists()
    assert main(["export", "--site", "berlin", "--db", str(db), "--out", str(tmp_path / "b.ibb")]) == 2
    assert "--key" in capsys.readouterr().err


def test_a_site_bundle_signed_with_the_key_of_the_site(tmp_path, site):
    db, key, pub, kid = site
    assert kid == key_id(load_private_key(key).public_key())


def _dump_any(target) -> dict:
    """dump_all for either backend: the table list from the catalogue each one has."""
    if not str(target).startswith("postgresql"):
        return dump_all(target)
    store = Store(target, readonly=True)
    try:
        tables = [r[0] for r in store.db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name")]
        return {t: sorted(map(tuple, store.db.execute(f"SELECT * FROM {t}")), key=repr) for t in tables}
    finally:
        store.close()


def test_round_trip_from_an_sqlite_site_into_postgresql_and_back(tmp_path, site, pg_url):
    """Issue 16 item 5: an isolated SQLite site -> a central PostgreSQL store -> (exported again by
    the central side, with its own key) another SQLite store; each hop keeps the site's own view,
    and importing into PostgreSQL twice changes nothing."""
    db, key, pub, _ = site
    out = tmp_path / "berlin.ibb"
    assert export(db, key, out) == 0
    assert do_import(pg_url, pub, out) == 0
    assert site_view(pg_url) == site_view(db)
    assert fleet_view(pg_url) == fleet_view(db)
    before = _dump_any(pg_url)
    assert do_import(pg_url, pub, out) == 0
    assert _dump_any(pg_url) == before and sum(len(rows) for rows in before.values()) > 50

    central_key, central_pub, central_kid = generate_key(tmp_path / "central.key")
    back = tmp_path / "back.ibb"
    assert export(pg_url, central_key, back) == 0
    again = tmp_path / "again.db"
    assert do_import(again, central_pub, back) == 0
    assert site_view(again) == site_view(db)
    assert fleet_view(again) == fleet_view(db)
    c = Store(again, readonly=True)
    try:  # re-exported scans carry the central key's identity: a bundle's origin is who signed it
        assert all(r["origin"].startswith(f"{central_kid}:") for r in c.db.execute("SELECT origin FROM scans"))
    finally:
        c.close()


def test_a_retirement_at_the_site_travels_and_a_later_collection_brings_the_device_back(tmp_path, site, capsys):
    """ber-acc retired at the site (decommissioned): after the import the central fleet has no
    ber-acc either, and the retirement says who and why.  When the site collects it again later,
    the next bundle brings it back, as on the site.  A second import adds no second retirement."""
    db, key, pub, _ = site
    s = Store(db)
    s.retire(["ber-acc"], how="retire", by="alice", why="decommissioned, rack B4")
    s.close()
    first = tmp_path / "b1.ibb"
    assert export(db, key, first) == 0
    central = tmp_path / "central.db"
    assert do_import(central, pub, first) == 0
    assert do_import(central, pub, first) == 0  # idempotent
    c = Store(central, readonly=True)
    try:
        assert {r["device"] for r in c.snapshot_devices()} == {"ber-core"}  # (par-core is paris's)
        (r,) = c.retirements(["ber-acc"])
        assert (r["how"], r["by_whom"], r["why"]) == ("retire", "alice", "decommissioned, rack B4")
    finally:
        c.close()
    assert fleet_view(central) == fleet_view(db)

    s = Store(db)
    later = site_scan(s, 9)  # back in the rack: collected again
    s.close()
    second = tmp_path / "b2.ibb"
    assert export(db, key, second, "--since", str(later - 1)) == 0
    assert do_import(central, pub, second) == 0
    c = Store(central, readonly=True)
    try:
        assert "ber-acc" in {r["device"] for r in c.snapshot_devices()}
        assert len(c.retirements(["ber-acc"])) == 1
    finally:
        c.close()
    assert fleet_view(central) == fleet_view(db)


def test_a_bundle_retires_only_devices_it_speaks_for(tmp_path, site, monkeypatch):
    """A retirement of a device the central store never held at the bundle's site is not applied
    (a signed bundle speaks for its site only): here an exporter that lists paris's router."""
    from agent.store import site_rows

    db, key, pub, _ = site
    central = tmp_path / "central.db"
    c = Store(central)
    site_scan(c, 5, skip=("ber-core", "ber-acc"), agent="central-1")  # paris, collected centrally
    c.close()
    monkeypatch.setattr(site_rows, "retirements", lambda store, site: [
        {"device": "par-core", "at": T0, "after_site_scan": 1, "how": "retire", "by_whom": "mallory",
         "why": "not berlin's to retire", "after_agent": None}])
    out = tmp_path / "b.ibb"
    assert export(db, key, out) == 0
    assert main(["import", str(out), "--trust", str(pub), "--db", str(central), "--format", "json"]) == 0
    c = Store(central, readonly=True)
    try:
        assert "par-core" in {r["device"] for r in c.snapshot_devices()} and not c.retirements(["par-core"])
    finally:
        c.close()


@pytest.mark.parametrize("doc, says", [
    ({}, "no retirement list"),
    ({"retirements": [{"device": "x", "at": 1.0, "after_site_scan": 1, "how": "shred", "by_whom": "", "why": "",
                       "after_agent": None}]}, "not a retirement an exporter writes"),
    ({"retirements": [{"device": "x", "at": True, "after_site_scan": 1, "how": "retire", "by_whom": "", "why": "",
                       "after_agent": None}]}, "'at' is a bool"),
    ({"retirements": [{"device": "x", "at": 1.0, "after_site_scan": 1, "how": "retire", "by_whom": "", "why": ""}]},
     "no 'after_agent'"),
])
def test_a_retirements_member_an_exporter_would_not_write_is_refused(doc, says):
    from agent.bundles.site import SiteBundleError, check_retirements_member

    with pytest.raises(SiteBundleError, match=says):
        check_retirements_member("retirements.json", doc)


def test_a_retirement_after_a_scan_the_bundle_does_not_hold_maps_to_the_sites_scan_before_it(tmp_path, site):
    """The site's latest scan when ber-acc was retired held only paris: not exported, so the
    retirement takes effect after the central copy of the latest berlin scan before it."""
    db, key, pub, _ = site
    s = Store(db)
    paris_only = site_scan(s, 5, skip=("ber-core", "ber-acc"))
    s.retire(["ber-acc"], how="retire", by="alice", why="gone")
    berlin_before = max(r["id"] for r in s.scans() if r["id"] < paris_only)
    s.close()
    out = tmp_path / "b.ibb"
    assert export(db, key, out) == 0
    central = tmp_path / "central.db"
    assert do_import(central, pub, out) == 0
    c = Store(central, readonly=True)
    try:
        (r,) = c.retirements(["ber-acc"])
        origin = c.db.execute("SELECT origin FROM scans WHERE id = ?", (r["after_scan"],)).fetchone()[0]
        assert origin.endswith(f":{berlin_before}")
        assert "ber-acc" not in {d["device"] for d in c.snapshot_devices()}
    finally:
        c.close()
