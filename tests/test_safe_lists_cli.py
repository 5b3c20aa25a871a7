"""``ibagent reconcile --out`` writes the safe lists (issue 14, item 2): a store built the way a user
builds one offline (``import-captures`` of outputs written here, twice: an optic is gone the second
time), a partner contract export and an EoX CSV written here; every list file is read back."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from agent.cli import main

AS_OF = "2026-01-15"


def _inventory(items: list[tuple[str, str, str]]) -> bytes:
    out = []
    for name, pid, serial in items:
        out.append(f'NAME: "{name}", DESCR: "{name}"\r\n'.encode())
        out.append(f"PID: {pid:<18}, VID: V01  , SN: {serial}\r\n\r\n".encode())
    return b"".join(out)


DEVICES = {
    "hq-core1": ("hq", [("1", "C9300-48P", "FOCAA1111AA")]),
    "hq-acc2": ("hq", [("1", "WS-C3850-48P", "FOCBB2222BB"), ("Power Supply 1", "PWR-C1-350WAC", "DCBBB2222PB"),
                       ("Te1/1/1", "SFP-10G-SR", "AVDGONE0001")]),
    # The PSU past End of Service Attach sits in a chassis that is not covered (a PSU in a covered
    # chassis is covered via its parent, tests/test_parents.py): it stays uncovered, cannot attach.
    "br-acc3": ("branch", [("1", "WS-C3850-24T", "FOCCC3333CC"), ("Power Supply 1", "PWR-C1-715WAC", "DCBAA1111PA")]),
}
CONTRACTS = (
    "Serial Number / PAK number,Coverage,Covered Line Status,Product ID,Covered Line Start Date,"
    "Covered Line End Date,Contract Number,Install Site Name,Install Site ID,Default Service Level\n"
    # the case: covered to 2028-03-31, EoX below: LDoS 2027-10-31, renewal 52 days away
    "FOCAA1111AA,COVERED,ACTIVE,C9300-48P,2025-04-01,2028-03-31,700100,HQ CAMPUS,55500001,SNT\n"
    # lapsed: on the network, its only line ended
    "FOCBB2222BB,COVERED,ACTIVE,WS-C3850-48P,2024-01-01,2025-12-31,700100,HQ CAMPUS,55500001,SNT\n"
    # only a future-dated line: a 45-day gap
    "DCBBB2222PB,COVERED,ACTIVE,PWR-C1-350WAC,2026-03-01,2027-02-28,700100,HQ CAMPUS,55500001,SNT\n"
    # marked not covered, dates live today (row 5)
    "FOCCC3333CC,NOT COVERED,TERMINATED,WS-C3850-24T,2025-06-01,2026-12-31,700200,BRANCH OFFICE,55500002,SNTP\n"
    # the optic gone from hq-acc2 in the second import
    "AVDGONE0001,COVERED,ACTIVE,SFP-10G-SR,2025-06-01,2026-12-31,700100,HQ CAMPUS,55500001,SNT\n"
)
EOX = (
    "EOLProductID,ProductBulletinNumber,EndOfSaleDate,EndOfServiceContractRenewal,LastDateOfSupport,"
    "EndOfSvcAttachDate\n"
    "C9300-48P,EOL20001,,2026-03-08,2027-10-31,\n"
    "PWR-C1-715WAC,EOL20002,2025-01-31,,2030-01-31,2026-01-01\n"
)


def _import(tmp: Path, round_no: int, without: str = "") -> None:
    caps = tmp / f"caps{round_no}"
    for device, (site, items) in DEVICES.items():
        d = caps / device
        d.mkdir(parents=True)
        body = _inventory([i for i in items if i[2] != without])
        (d / "inv.txt").write_bytes(f"# device: {device}\n# command: show inventory\n# site: {site}\n".encode() + body)
    assert main(["import-captures", str(caps), "--platform", "cisco_xe", "--db", str(tmp / "ib.db"),
                 "--no-progress"]) == 0


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("safe")
    _import(tmp, 1)
    _import(tmp, 2, without="AVDGONE0001")
    (tmp / "contracts.csv").write_text(CONTRACTS)
    (tmp / "eox.csv").write_text(EOX)
    code = main(["reconcile", "--db", str(tmp / "ib.db"), "--contracts", str(tmp / "contracts.csv"),
                 "--eox", str(tmp / "eox.csv"), "--as-of", AS_OF, "--out", str(tmp / "out")])
    assert code == 0
    return tmp / "out"


def _csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {r["serial"]: r for r in csv.DictReader(fh)}


def test_every_list_is_written_in_every_format(out, capsys):
    capsys.readouterr()
    for name in ("deployed", "renew", "reinstate", "add", "cannot-attach", "coverage-gap", "drop", "transfer",
                 "refresh", "unverified"):
        for suffix in ("txt", "csv", "json"):
            assert (out / f"{name}.{suffix}").exists(), (name, suffix)
    book = load_workbook(out / "reconcile.xlsx")
    assert {"reinstate", "cannot-attach", "coverage-gap"} <= set(book.sheetnames)
    summary = book["summary"]
    header = [c.value for c in summary[1]]
    totals = dict(zip(header, next(summary.iter_rows(min_row=2, max_row=2, values_only=True))))
    assert (totals["reinstate"], totals["cannot-attach"], totals["coverage-gap"], totals["milestone-soon"]) == (1, 1, 1, 1)


def test_renew_carries_the_renewal_soon_flag_and_the_ldos(out):
    renew = _csv(out / "renew.csv")
    assert list(renew) == ["FOCAA1111AA"]
    row = renew["FOCAA1111AA"]
    assert row["flags"] == "last-renewal-soon" and row["ldos"] == "2027-10-31" and row["last_renewal"] == "2026-03-08"
    assert "End of Service Contract Renewal 2026-03-08 in 52 days" in row["reasons"]
    txt = (out / "renew.txt").read_text()
    assert "last-renewal-soon" in txt and "2027-10-31" in txt and "in 52 days" in txt


def test_reinstate_add_cannot_attach_and_gap(out):
    reinstate = _csv(out / "reinstate.csv")
    assert list(reinstate) == ["FOCBB2222BB"] and reinstate["FOCBB2222BB"]["flags"] == "needs-recertification"
    add = _csv(out / "add.csv")
    assert set(add) == {"DCBBB2222PB", "FOCCC3333CC"}  # the PSU past End of Service Attach is not on it
    assert add["DCBBB2222PB"]["gap_days"] == "45" and add["DCBBB2222PB"]["flags"] == "coverage-gap"
    marked = add["FOCCC3333CC"]
    assert marked["status"] == "uncovered" and "(NOT COVERED)" in marked["reasons"]
    assert "contracts.csv:5" in marked["reasons"]
    blocked = _csv(out / "cannot-attach.csv")
    assert list(blocked) == ["DCBAA1111PA"] and blocked["DCBAA1111PA"]["last_attach"] == "2026-01-01"
    assert blocked["DCBAA1111PA"]["end_of_sale"] == "2025-01-31"
    gap = json.loads((out / "coverage-gap.json").read_text())
    assert [(r["serial"], r["gap_days"]) for r in gap["rows"]] == [("DCBBB2222PB", 45)]


def test_one_site_vocabulary_and_evidence_on_every_row(out):
    drop = json.loads((out / "drop.json").read_text())["rows"]
    assert [(r["serial"], r["site"], r["contract_site"]) for r in drop] == [("AVDGONE0001", "hq", "HQ CAMPUS")]
    assert drop[0]["evidence_text"].startswith("absent from scan ") and "contracts.csv:6" in drop[0]["evidence_text"]
    deployed = _csv(out / "deployed.csv")
    assert {r["site"] for r in deployed.values()} == {"hq", "branch"}
    assert deployed["FOCAA1111AA"]["contract_site"] == "HQ CAMPUS"
    for serial, row in deployed.items():
        assert row["evidence"].startswith("capture "), (serial, row["evidence"])  # the sighting, always
    assert "contracts.csv:2" in deployed["FOCAA1111AA"]["evidence"]
    assert "eox.csv:" in deployed["FOCAA1111AA"]["evidence"]
    assert "EVIDENCE" in (out / "deployed.txt").read_text().splitlines()[2]
