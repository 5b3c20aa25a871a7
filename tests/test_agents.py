"""Agents with scopes (issue 16 item 2): each scan names its agent and scope; the fleet merges
every agent's latest state per device by the rule of agent/store/agents.py; a device two agents
claim is reported (``ibagent agents``, ``ibagent devices``, reconcile's warning), never settled
silently; ``--agent`` / ``--site`` restrict the merged fleet to what those collected."""
from __future__ import annotations

import json
import socket
from datetime import date

import pytest
import yaml

from agent.cli import main
from agent.cli.scan import agent_name
from agent.contracts import ContractLine, split_pid
from agent.reconcile import NOT_SEEN, UNVERIFIED
from agent.reconcile.from_store import reconcile_from_store
from agent.store import Store
from agent.store.agents import agent_rows, claims, holders
from site_fixture import T0, site_scan

AS_OF = date(2026, 10, 1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: a connection there is refused at once


def test_scan_records_its_agent_and_scope(tmp_path, monkeypatch, capsys):
    port = _free_port()
    inv = tmp_path / "inv"
    inv.mkdir()
    (inv / "hosts.yaml").write_text(yaml.safe_dump({
        "r1": {"hostname": "127.0.0.1", "port": port, "groups": ["zone-a"]},
        "r2": {"hostname": "127.0.0.1", "port": port, "groups": ["zone-a", "core"]}}))
    (inv / "groups.yaml").write_text(yaml.safe_dump({"zone-a": {"data": {"site": "hamburg"}}, "core": {}}))
    (inv / "defaults.yaml").write_text(yaml.safe_dump({"platform": "cisco_xe", "username": "u",
                                                        "password": "${TEST_AGENT_PW}"}))
    monkeypatch.setenv("TEST_AGENT_PW", "not-a-real-one-4711")
    db = tmp_path / "s.db"
    base = ["scan", "-i", str(inv), "--db", str(db), "--connect-timeout", "2", "--retries", "0", "-q",
            "--no-progress", "--processes", "1"]
    assert main([*base, "--agent", "zone-a-1"]) == 1  # both devices refuse the connection
    monkeypatch.setenv("IBAGENT_AGENT", "from-env")
    assert main(base) == 1
    monkeypatch.delenv("IBAGENT_AGENT")
    assert main(base) == 1
    capsys.readouterr()
    store = Store(db, readonly=True)
    try:
        rows = store.scans()
    finally:
        store.close()
    assert [r["agent"] for r in rows] == ["zone-a-1", "from-env", socket.gethostname()]
    assert json.loads(rows[0]["scope"]) == {"inventory": str(inv), "sites": ["hamburg"], "groups": ["core", "zone-a"]}
    assert main([*base, "--agent", "a:b"]) == 2
    assert "without ':'" in capsys.readouterr().err
    # An agent's zone: --site / --group take part of the inventory, and the scope says so.
    assert main([*base, "--agent", "core-1", "--site", "hamburg", "--group", "core"]) == 1
    assert main([*base, "--site", "nowhere"]) == 2
    assert "no device of" in capsys.readouterr().err
    store = Store(db, readonly=True)
    try:
        last = store.scans()[-1]
        assert last["agent"] == "core-1" and last["devices_total"] == 1
        assert [r["device"] for r in store.scan_devices(last["id"])] == ["r2"]
        assert json.loads(last["scope"])["filter"] == {"sites": ["hamburg"], "groups": ["core"]}
    finally:
        store.close()


def test_agent_name_is_checked():
    assert agent_name("dc-east") == "dc-east"
    for bad in ("x:y", "line\nbreak", "x" * 201):
        with pytest.raises(Exception, match="--agent"):
            agent_name(bad)


def _two_agents(path):
    """Agent A (zone 1) collects ber-core and ber-acc; agent B (zone 2) collects par-core."""
    store = Store(path)
    a = site_scan(store, 0, skip=("par-core",), agent="A")
    b = site_scan(store, 0, skip=("ber-core", "ber-acc"), agent="B")
    return store, a, b


def _lines(serials):
    out = []
    for n, (serial, pid) in enumerate(serials, 2):
        as_read, base, refurb = split_pid(pid)
        out.append(ContractLine(serial=serial, pid=as_read, base_pid=base, contract_number="900",
                                start=date(2026, 1, 1), end=date(2027, 6, 30), covered=True, refurbished=refurb,
                                source_file="c.csv", source_row=n))
    return out


def test_a_failed_attempt_by_another_agent_hides_nothing_and_proves_no_absence(tmp_path):
    store = Store(tmp_path / "s.db")
    acc = [("Chassis", "C9300-48P", "FOCBER002"), ("PS1", "PWR-C1-715WAC", "PSBER002")]
    lines = _lines([("FOCBER002", "C9300-48P"), ("PSBER002", "PWR-C1-715WAC"), ("PSOLD001", "PWR-C1-715WAC")])

    def verdicts():
        return {r.serial: r for r in reconcile_from_store(store, lines, None, AS_OF, 90, max_age_days=3650)}

    try:
        site_scan(store, 0, skip=("par-core",), agent="A",
                  items={"ber-acc": [*acc, ("PS2", "PWR-C1-715WAC", "PSOLD001")]})
        a = site_scan(store, 1, skip=("par-core",), agent="A")  # PS2 pulled: A read the inventory in full
        assert verdicts()["PSOLD001"].status == NOT_SEEN
        # B's inventory wrongly lists ber-acc, which B cannot reach: B's attempt fails.
        b = site_scan(store, 2, skip=("ber-core",), failed=("ber-acc",), agent="B")
        snap = {r["device"]: r for r in store.snapshot_devices()}
        # The items stay A's collection; the failure is kept as the device's latest attempt.
        assert snap["ber-acc"]["collected_in"] == a and snap["ber-acc"]["scan_id"] == a
        assert snap["ber-acc"]["latest_attempt_scan"] == b and snap["ber-acc"]["latest_status"] == "failed"
        assert holders(store)["ber-acc"] == ("A", "berlin")
        rows = verdicts()
        assert rows["FOCBER002"].status == "covered" and rows["FOCBER002"].device == "ber-acc"
        # ... but while B's failure is the latest word on the device, its absence proves nothing.
        assert rows["PSOLD001"].status == UNVERIFIED and "ber-acc" in rows["PSOLD001"].blocking_devices
        # A collecting it cleanly again makes its word the latest.
        site_scan(store, 3, skip=("par-core",), agent="A")
        assert verdicts()["PSOLD001"].status == NOT_SEEN
    finally:
        store.close()


def test_a_device_two_agents_claim_is_reported_not_overwritten(tmp_path, capsys):
    path = tmp_path / "s.db"
    store, a, b = _two_agents(path)
    assert claims(store) == {}
    # B's zone now overlaps A's: both collect ber-core.
    b2 = site_scan(store, 1, skip=("ber-acc",), agent="B")
    assert claims(store) == {"ber-core": ["A", "B"]}
    rows = {r["agent"]: r for r in agent_rows(store)}
    assert rows["A"]["contested"] == 1 and rows["A"]["contested_with"] == {"ber-core": ["B"]}
    assert rows["B"]["device_names"] == ["ber-core", "par-core"] and rows["A"]["device_names"] == ["ber-acc"]
    assert rows["B"]["last_scan"] == b2 and rows["B"]["sites"] == ["berlin", "paris"]
    store.close()

    assert main(["agents", "--db", str(path), "--json"]) == 0
    out = capsys.readouterr()
    doc = {r["agent"]: r for r in json.loads(out.out)}
    assert doc["A"]["devices"] == 1 and doc["B"]["devices"] == 2 and doc["A"]["contested"] == 1
    assert main(["agents", "--db", str(path), "--devices", "--format", "csv"]) == 0
    out = capsys.readouterr()
    assert "B,ber-core,A" in out.out.splitlines() and "claimed by two agents: ber-core" in out.err
    assert main(["devices", "--db", str(path), "--format", "json"]) == 0
    out = capsys.readouterr()
    items = json.loads(out.out)
    assert {i["claimed_by"] for i in items if i["device"] == "ber-core"} == {"A, B"}
    assert {i["claimed_by"] for i in items if i["device"] != "ber-core"} == {""}
    assert "warning: device ber-core is claimed by agents A, B" in out.err
    contracts = tmp_path / "c.csv"
    contracts.write_text("Serial Number,Product ID,Contract Number,Coverage End Date\nFOCBER001,C9500-24Y4C,900,2027-06-30\n")
    assert main(["reconcile", "--contracts", str(contracts), "--db", str(path), "--format", "csv"]) == 0
    assert "warning: device ber-core is claimed by agents A, B" in capsys.readouterr().err
    # Once B's latest scan no longer lists it (its inventory fixed), the claim is A's alone.
    store = Store(path)
    site_scan(store, 2, skip=("ber-acc", "ber-core"), agent="B")
    assert claims(store) == {}
    store.close()


def test_a_failed_attempt_alone_is_no_claim_but_a_holder_failing_still_claims(tmp_path):
    store, a, b = _two_agents(tmp_path / "s.db")
    try:
        site_scan(store, 1, skip=("ber-core",), failed=("ber-acc",), agent="B")  # B never collected ber-acc
        assert claims(store) == {}
        site_scan(store, 2, skip=("par-core",), failed=("ber-core",), agent="A")  # A did collect it before
        site_scan(store, 3, skip=("ber-acc",), agent="B")  # B collects ber-core: both claim it
        assert claims(store) == {"ber-core": ["A", "B"]}
    finally:
        store.close()


def test_agent_and_site_filters(tmp_path, capsys):
    path = tmp_path / "s.db"
    store, a, b = _two_agents(path)
    store.close()
    assert main(["devices", "--db", str(path), "--agent", "B", "--format", "json"]) == 0
    assert {i["device"] for i in json.loads(capsys.readouterr().out)} == {"par-core"}
    assert main(["devices", "--db", str(path), "--site", "berlin", "--format", "json"]) == 0
    assert {i["device"] for i in json.loads(capsys.readouterr().out)} == {"ber-core", "ber-acc"}
    assert main(["devices", "--db", str(path), "--agent", "A", "--site", "paris", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    contracts = tmp_path / "c.csv"
    contracts.write_text("Serial Number,Product ID,Contract Number,Coverage End Date\n"
                         "FOCBER001,C9500-24Y4C,900,2027-06-30\nFDOPAR001,ISR4331/K9,900,2027-06-30\n")
    base = ["reconcile", "--contracts", str(contracts), "--db", str(path), "--as-of", "2026-10-01",
            "--max-age", "3650", "--format", "json"]
    assert main(base) == 0
    everything = json.loads(capsys.readouterr().out)
    assert main([*base, "--agent", "B"]) == 0
    out = capsys.readouterr()
    only_b = json.loads(out.out)
    assert {r["device"] for r in everything} >= {"ber-core", "ber-acc", "par-core"}
    assert {r["device"] for r in only_b} == {"par-core"} and "(only agent B)" in out.err
    assert main([*base, "--agent", "nobody"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    # The SLP report over the merged view: only the devices B's collections stand behind.
    assert main(["slp", "report", "--db", str(path), "--agent", "B", "--format", "json", "--as-of", "2026-10-01"]) == 0
    assert {r["device"] for r in json.loads(capsys.readouterr().out)} == {"par-core"}
    assert main(["slp", "report", "--db", str(path), "--format", "json", "--as-of", "2026-10-01"]) == 0
    assert {r["device"] for r in json.loads(capsys.readouterr().out)} == {"par-core", "ber-core", "ber-acc"}


def test_slp_entitlement_totals_count_only_the_agents_devices(tmp_path, capsys):
    """Two agents collect one device each at the same site, both using one entitlement: the
    site's total under --agent counts that agent's device only, not the whole store's."""
    from agent.cli.filters import held_devices
    from agent.slp import slp_report

    store = Store(tmp_path / "s.db")
    try:
        site_scan(store, 0, skip=("par-core", "ber-acc"), agent="A")
        site_scan(store, 0, skip=("par-core", "ber-core"), agent="B")

        def totals(report):
            return {(e["site"], e["entitlement_tag"]): (e["device_count"], e["devices"]) for e in report.entitlements}

        everything = totals(slp_report(store, date(2026, 10, 1)))
        only_a = totals(slp_report(store, date(2026, 10, 1), devices=held_devices(store, None, ["A"])))
    finally:
        store.close()
    assert everything[("berlin", "C9300 NA")][0] == 2
    assert only_a[("berlin", "C9300 NA")][0] == 1 and only_a[("berlin", "C9300 NA")][1] == "BER-CORE"
    assert main(["slp", "report", "--db", str(tmp_path / "s.db"), "--agent", "B", "--format", "csv",
                 "--as-of", "2026-10-01"]) == 0
    assert "ber-core" not in capsys.readouterr().out


def test_imported_and_unnamed_scans_are_agents_too(tmp_path):
    store = Store(tmp_path / "s.db")
    try:
        sid = store.begin_scan("inv", {}, 0)  # a library caller naming no agent
        store.end_scan(sid, "completed")
        with store.transaction():
            store.db.execute("INSERT INTO scans(started, ended, status, agent, origin) VALUES (?, ?, 'completed',"
                             " 'berlin-1', 'k:berlin-1:9')", (T0, T0 + 1))
        rows = {r["agent"]: r for r in agent_rows(store)}
        assert rows["(unnamed)"]["imported"] is False and rows["berlin-1"]["imported"] is True
    finally:
        store.close()


def test_scan_prune_retires_only_the_agents_own_devices(tmp_path):
    """Agent A's complete inventory vouches for A's devices: B's and an imported site's stay."""
    from types import SimpleNamespace

    from agent.cli.scan import _prune
    from agent.core.models import Target

    store, a, b = _two_agents(tmp_path / "s.db")
    try:
        with store.transaction():  # a device of a scan that names no agent (before v12): anyone's to prune
            store.db.execute("UPDATE scans SET agent = NULL WHERE id = ?", (a,))
        a2 = site_scan(store, 1, skip=("par-core", "ber-acc"), agent="A")  # A's inventory lost ber-acc
        store.scan_agent = ("A", None)
        inventory = SimpleNamespace(targets=[Target("ber-core", "127.0.0.1", "cisco_xe")], source="inv-a")
        said = _prune(store, inventory, SimpleNamespace(status="completed", scan_id=a2))
        assert "ber-acc" in said and "par-core" not in said
        assert [r["device"] for r in store.retirements()] == ["ber-acc"]
        # B's complete inventory (par-core only) retires none of A's.
        store.scan_agent = ("B", None)
        inventory = SimpleNamespace(targets=[Target("par-core", "127.0.0.1", "cisco_xe")], source="inv-b")
        assert "pruned nothing" in _prune(store, inventory, SimpleNamespace(status="completed", scan_id=b))
        assert [r["device"] for r in store.retirements()] == ["ber-acc"]
    finally:
        store.close()
