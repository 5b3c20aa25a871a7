"""``ibagent prune-history``: old scans' rows go, every device's latest state and its evidence stay.

Every test runs on both backends (``store_target``: tests/pg/store_fixtures.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli.parser import main as cli_main
from agent.store import Store
from agent.store import fleet
from agent.store.views import device_rows

from tests.test_store_growth import _write, T0, DAY

TABLES = ("devices", "captures", "licenses", "license_status", "errors", "sessions", "findings", "blobs",
          "item_sets", "set_items", "sightings", "scans")


def _counts(path) -> dict[str, int]:
    return {t: n for t, n in _query(path, *(f"SELECT COUNT(*) FROM {t}" for t in TABLES))}


def _query(path, *sql: str) -> list:
    """(first statement's table or index, result) of each read-only query, or rows of one."""
    store = Store(path, readonly=True)
    try:
        if len(sql) == 1:
            return [tuple(r) for r in store.db.execute(sql[0]).fetchall()]
        return [(q.split()[-1], store.db.execute(q).fetchone()[0]) for q in sql]
    finally:
        store.close()


@pytest.fixture()
def store_path(store_target):
    path = store_target
    store = Store(path)
    _write(store)  # 7 scans; old1 last seen in scan 1, core1 failed in scan 4, a partial scan 5
    store.close()
    return path


def _view(path):
    store = Store(path, readonly=True)
    try:
        rows = [{k: v for k, v in r.items() if k != "age_days"} for r in device_rows(store)]
        texts = {r["capture_id"]: store.capture_bytes(r["capture_id"]) for r in rows}
        return {"rows": rows, "texts": texts, "items": fleet.fleet_items(store),
                "states": fleet.device_states(store), "seen": fleet.seen_history(store),
                "trueup": fleet.trueup(store, 2), "last_diff": [c.as_dict() for c in fleet.diff(store, 6, 7)]}
    finally:
        store.close()


def test_prune_keeps_every_devices_latest_state_and_its_evidence(store_path, capsys):
    before, counts = _view(store_path), _counts(store_path)
    assert cli_main(["prune-history", "--keep", "2", "--db", str(store_path)]) == 0
    out = capsys.readouterr().out
    assert "5 scan(s) older than the last 2 scan(s) (ids 1-5)" in out and "vacuumed" in out
    after = _counts(store_path)
    assert after["devices"] < counts["devices"] and after["captures"] < counts["captures"]
    assert after["scans"] == counts["scans"] and after["sightings"] == counts["sightings"]
    # Every read of the current fleet answers as before, evidence bytes included ...
    assert _view(store_path) == before
    # ... old1, last seen in scan 1, kept that scan's device row and captures.
    assert _query(store_path, "SELECT COUNT(*) FROM devices WHERE device='old1' AND scan_id=1") == [(1,)]
    assert _query(store_path, "SELECT COUNT(*) FROM captures WHERE device='old1' AND scan_id=1") == [(2,)]
    # core1's latest attempt is in scan 7 now; its rows of scans 1-4 are gone, acc1's clean scan (5
    # did not read its inventory in 6) stays.
    assert _query(store_path, "SELECT scan_id FROM devices WHERE device='core1' ORDER BY scan_id") == [(6,), (7,)]
    assert _query(store_path, "SELECT COUNT(*) FROM scans WHERE pruned IS NOT NULL") == [(5,)]
    # A pruned scan is no longer a fleet state to compare.
    store = Store(store_path, readonly=True)
    with pytest.raises(ValueError, match="prune-history"):
        fleet.resolve_pair(store, ["3", "7"])
    assert fleet.scan_ids(store) == [6, 7]
    store.close()
    # Again: nothing left to prune.
    assert cli_main(["prune-history", "--keep", "2", "--db", str(store_path)]) == 0
    assert "nothing to prune" in capsys.readouterr().out
    assert _counts(store_path) == after


def test_a_device_collected_only_long_ago_keeps_its_items_and_captures(store_path):
    before = _view(store_path)
    old1 = [r for r in before["rows"] if r["device"] == "old1"]
    assert old1 and old1[0]["scan_id"] == 1
    assert cli_main(["prune-history", "--keep", "1", "--db", str(store_path)]) == 0
    after = _view(store_path)
    assert [r for r in after["rows"] if r["device"] == "old1"] == old1
    assert after["texts"][old1[0]["capture_id"]] == before["texts"][old1[0]["capture_id"]]


def test_dry_run_deletes_nothing_and_counts_what_the_real_run_deletes(store_path, capsys):
    counts = _counts(store_path)
    on_file = not store_path.startswith("postgresql://")
    data = Path(store_path).read_bytes() if on_file else None
    assert cli_main(["prune-history", "--keep", "3", "--dry-run", "--db", str(store_path)]) == 0
    dry = capsys.readouterr().out
    assert "dry run" in dry and "nothing was changed" in dry
    assert _counts(store_path) == counts
    assert not on_file or Path(store_path).read_bytes() == data  # the file itself: not a byte changed
    assert cli_main(["prune-history", "--keep", "3", "--no-vacuum", "--db", str(store_path)]) == 0
    real = capsys.readouterr().out
    gone = {t: counts[t] - n for t, n in _counts(store_path).items()}
    for table in ("devices", "captures", "errors"):
        assert f"would delete {gone[table]:>10,} {table} rows" in dry
        assert f"deleted {gone[table]:>10,} {table} rows" in real
    assert gone["devices"] > 0
    sets = f"{gone['item_sets']:>10,} item sets and {gone['blobs']:,} capture blobs"
    assert f"would delete {sets}" in dry and f"deleted {sets}" in real
    assert "not vacuumed" in real


def test_keep_days_keeps_the_recent_scans(store_path, capsys):
    store = Store(store_path)
    from agent.store import retention

    old, kept = retention.old_scans(store, None, 2.5, now=T0 + 6 * DAY + 60)
    assert (old, kept) == ([1, 2, 3, 4], [5, 6, 7])
    old, kept = retention.old_scans(store, 1, 2.5, now=T0 + 6 * DAY + 60)  # either rule keeps
    assert kept == [5, 6, 7]
    store.close()


def test_prune_waits_for_no_one_while_a_scan_holds_the_lock(store_path, capsys):
    scan = Store(store_path)
    scan.lock()
    try:
        counts = _counts(store_path)
        assert cli_main(["prune-history", "--keep", "1", "--db", str(store_path)]) == 75
        assert "another scan is running" in capsys.readouterr().err
        assert _counts(store_path) == counts
    finally:
        scan.close()


def test_options_are_explained_and_one_rule_is_required(store_path, capsys):
    assert cli_main(["prune-history", "--db", str(store_path)]) == 2
    assert "--keep N" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["prune-history", "--keep", "0", "--db", str(store_path)])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        cli_main(["prune-history", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--keep N", "--keep-days D", "--dry-run", "--no-vacuum", "--db"):
        assert option in text
    assert "latest state" in text
