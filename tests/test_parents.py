"""Major and minor items, parents, and "covered via parent" (issue 14, 2b: ``agent.reconcile.parents``),
the contract export's own rank and links (``agent.contracts``), the add list grouped under parents
(``agent.reports``) and the quote's note for items renewed with their parent (``agent.quote``)."""
from __future__ import annotations

import csv
import json
from datetime import date, datetime

import pytest

from agent.cli import main
from agent.contracts import ContractLine, EoxIndex, EoxRecord, load_contracts, split_pid
from agent.core.models import COMPONENT_CLASSES
from agent.quote import PRICED, QuoteOptions, build_quote, load_prices
from agent.quote.lines import VIA_PARENT
from agent.reconcile import (
    COVERED, END_OF_SUPPORT, EXPIRING, LAPSED, NOT_SEEN, UNCOVERED, DeviceScanState, FleetItem, reconcile,
)
from agent.reconcile.parents import CLASS_MAJOR
from agent.reconcile.rows import FLAG_VIA_PARENT
from agent.reports import write_reconcile_reports
from agent.reports.lists import select_lists
from agent.reports.table import MINOR_MARK, render_table
from evidence_store import AS_OF as STORE_AS_OF, build  # tests/ is on sys.path, as for corpus_util

AS_OF = date(2026, 1, 15)
SCANNED = datetime(2026, 1, 14, 2, 30)


def line(serial, pid, end=date(2026, 12, 31), contract="209876543", row=2, covered=True, start=date(2025, 6, 1),
         **kw) -> ContractLine:
    as_read, base, refurb = split_pid(pid)
    return ContractLine(serial=serial, pid=as_read, base_pid=base, contract_number=contract, start=start, end=end,
                        covered=covered, site_id="55501234", refurbished=refurb, source_file="ib.csv",
                        source_row=row, **kw)


def item(serial, pid, cls, name, parent="", device="sw1") -> FleetItem:
    return FleetItem(serial=serial, base_pid=pid, pid=pid, device=device, hostname=device, site="hq", cls=cls,
                     name=name, parent=parent, scan_id=7, capture_id=70, slot=name)


def dev(name="sw1") -> DeviceScanState:
    return DeviceScanState(device=name, site="hq", contract_site_ids=("55501234",), last_clean_scan_at=SCANNED,
                           latest_scan_clean=True, latest_scan_id=7, last_ok_at=SCANNED)


def run(fleet, lines, devices=("sw1",), eox=None):
    return {r.serial: r for r in reconcile(fleet, [dev(d) for d in devices], lines, eox, AS_OF)}


# A stack of two: member 1 covered, member 2 on a lapsed line; each with a PSU on no line, an uplink
# module on a line of its own and an optic in that module on no line.
STACK = [
    item("FOC1111A001", "C9300-48P", "stack-member", "Switch 1"),
    item("DTN1111P001", "PWR-C1-715WAC", "psu", "Switch 1 - Power Supply A", "Switch 1"),
    item("FOC1111M001", "C9300-NM-8X", "module", "Switch 1 FRU Uplink Module 1", "Switch 1"),
    item("AVD1111S001", "SFP-10G-SR", "optic", "Te1/1/1", "Switch 1 FRU Uplink Module 1"),
    item("FOC2222A002", "C9300-48P", "stack-member", "Switch 2"),
    item("DTN2222P002", "PWR-C1-715WAC", "psu", "Switch 2 - Power Supply A", "Switch 2"),
    item("FOC2222M002", "C9300-NM-8X", "module", "Switch 2 FRU Uplink Module 1", "Switch 2"),
    item("AVD2222S002", "SFP-10G-SR", "optic", "Te2/1/1", "Switch 2 FRU Uplink Module 1"),
]
STACK_LINES = [
    line("FOC1111A001", "C9300-48P", row=2),
    line("FOC1111M001", "C9300-NM-8X", row=3),
    line("FOC2222A002", "C9300-48P", end=date(2025, 12, 31), row=4),
    line("FOC2222M002", "C9300-NM-8X", row=5),
]


def test_every_component_class_is_ranked():
    assert set(CLASS_MAJOR) == set(COMPONENT_CLASSES)
    assert {c for c, major in CLASS_MAJOR.items() if major} == {"chassis", "stack-member", "supervisor",
                                                                 "linecard", "fex"}


def test_rank_by_class_and_parent_up_the_inventory_chain():
    rows = run(STACK, STACK_LINES)
    assert [rows[s].major for s in ("FOC1111A001", "DTN1111P001", "FOC1111M001", "AVD1111S001")] == [
        True, False, False, False]
    # The optic sits in the uplink module, which sits in the switch: its parent is the switch.
    assert rows["AVD1111S001"].parent_serial == "FOC1111A001"
    assert rows["FOC1111M001"].parent_serial == "FOC1111A001"
    assert rows["AVD2222S002"].parent_serial == "FOC2222A002"
    assert rows["FOC1111A001"].parent_serial == ""  # a major item has no parent here


def test_covered_via_parent_takes_the_parents_coverage_and_says_so():
    rows = run(STACK, STACK_LINES)
    psu = rows["DTN1111P001"]
    assert psu.status == COVERED and FLAG_VIA_PARENT in psu.flags and psu.parent_status == COVERED
    assert (psu.contract_number, psu.coverage_end, psu.contract_file, psu.contract_row) == (
        "209876543", date(2026, 12, 31), "ib.csv", 2)
    assert psu.match == ""  # it is still on no line of its own
    assert psu.reasons[-1] == ("covered via parent FOC1111A001 C9300-48P (contract 209876543, to 2026-12-31) "
                               "[ib.csv:2]")
    assert rows["AVD1111S001"].status == COVERED and FLAG_VIA_PARENT in rows["AVD1111S001"].flags


def test_a_lapsed_parent_covers_nothing_and_is_shown():
    rows = run(STACK, STACK_LINES)
    for serial in ("DTN2222P002", "AVD2222S002"):
        assert rows[serial].status == UNCOVERED and not rows[serial].flags
        assert (rows[serial].parent_serial, rows[serial].parent_status) == ("FOC2222A002", LAPSED)
    assert rows["FOC2222A002"].status == LAPSED


def test_an_expiring_parent_gives_expiring():
    lines = [line("FOC1111A001", "C9300-48P", end=AS_OF.replace(month=3))]
    rows = run(STACK[:2], lines)
    assert rows["DTN1111P001"].status == EXPIRING and rows["DTN1111P001"].parent_status == EXPIRING


def test_a_minor_item_on_a_line_of_its_own_keeps_its_verdict():
    # The PSU's own line has ended: lapsed, even inside a covered switch (it is on a line of its own).
    lines = STACK_LINES[:2] + [line("DTN1111P001", "PWR-C1-715WAC", end=date(2025, 3, 1), row=9)]
    rows = run(STACK[:4], lines)
    assert rows["DTN1111P001"].status == LAPSED and FLAG_VIA_PARENT not in rows["DTN1111P001"].flags
    assert rows["DTN1111P001"].parent_status == COVERED


def test_end_of_support_parent_covers_nothing():
    eox = EoxIndex([EoxRecord("C9300-48P", last_date_of_support=date(2025, 10, 31))])
    rows = run(STACK[:2], STACK_LINES[:1], eox=eox)
    assert rows["FOC1111A001"].status == END_OF_SUPPORT
    assert rows["DTN1111P001"].status == UNCOVERED and rows["DTN1111P001"].parent_status == END_OF_SUPPORT


def test_without_inventory_parent_the_devices_one_chassis_is_the_parent():
    fleet = [item("FLM1111C001", "N9K-C93180YC-FX3", "chassis", "Chassis"),
             item("LIT1111P001", "NXA-PAC-650W-PI", "psu", "Power Supply 1")]  # no parent name
    rows = run(fleet, [line("FLM1111C001", "N9K-C93180YC-FX3")])
    assert rows["LIT1111P001"].parent_serial == "FLM1111C001" and rows["LIT1111P001"].status == COVERED


def test_without_inventory_parent_several_members_name_no_parent():
    fleet = [STACK[0], STACK[4], item("DTN3333P003", "PWR-C1-715WAC", "psu", "Power Supply X")]
    rows = run(fleet, STACK_LINES)
    assert rows["DTN3333P003"].parent_serial == "" and rows["DTN3333P003"].status == UNCOVERED


def test_contract_links_name_the_parent_when_the_inventory_does_not():
    fleet = [STACK[0], STACK[4], item("DTN3333P003", "PWR-C1-715WAC", "psu", "Power Supply X"),
             item("DTN4444P004", "PWR-C1-715WAC", "psu", "Power Supply Y")]
    lines = STACK_LINES + [
        # "not covered" listings of the PSUs that link them to their switch: by serial, by instance
        line("DTN3333P003", "PWR-C1-715WAC", contract="", end=None, start=None, covered=False, row=6,
             parent_serial="FOC1111A001"),
        line("DTN4444P004", "PWR-C1-715WAC", contract="", end=None, start=None, covered=False, row=7,
             parent_instance_id="880000042"),
    ]
    lines[0].instance_id = "880000042"
    rows = run(fleet, lines)
    assert rows["DTN3333P003"].parent_serial == "FOC1111A001" and rows["DTN3333P003"].status == COVERED
    assert rows["DTN4444P004"].parent_serial == "FOC1111A001" and rows["DTN4444P004"].status == COVERED


def test_a_parent_not_in_the_snapshot_covers_nothing():
    # The file links the optic to a chassis that is on contract but was not seen: no claim.
    fleet = [item("AVD5555S005", "SFP-10G-SR", "optic", "Te1/1/1", "Switch 9")]
    lines = [line("FOC9999A009", "C9300-48P"),
             line("AVD5555S005", "SFP-10G-SR", contract="", end=None, start=None, covered=False, row=3,
                  parent_serial="FOC9999A009")]
    rows = run(fleet, lines)
    assert rows["AVD5555S005"].status == UNCOVERED and FLAG_VIA_PARENT not in rows["AVD5555S005"].flags
    assert rows["AVD5555S005"].parent_serial == ""
    assert rows["FOC9999A009"].seen is False and rows["FOC9999A009"].status == NOT_SEEN


def test_coverage_does_not_chain_through_a_minor_item():
    # The file names a PSU (itself covered only through its switch) as the optic's parent: not a parent.
    fleet = [STACK[0], STACK[4], STACK[1], item("AVD6666S006", "SFP-10G-SR", "optic", "Te9/9/9")]
    lines = STACK_LINES + [line("AVD6666S006", "SFP-10G-SR", contract="", end=None, start=None, covered=False,
                                row=8, parent_serial="DTN1111P001")]
    rows = run(fleet, lines)
    assert rows["DTN1111P001"].status == COVERED  # via Switch 1
    assert rows["AVD6666S006"].status == UNCOVERED and rows["AVD6666S006"].parent_serial == ""


def test_unknown_class_and_unseen_rows_take_the_files_rank_and_parent():
    fleet = [STACK[0], item("XYZ7777Q007", "C9K-F1-SSD-480G", "", "Slot 9", "Switch 1")]
    lines = STACK_LINES[:1] + [
        line("XYZ7777Q007", "C9K-F1-SSD-480G", row=3, major=False),
        line("FOC8888L008", "C9300-NM-8X", row=4, parent_serial="FOC1111A001"),  # not seen: a child line
        line("FOC9999A009", "C9300-48P", row=5, major=True),
    ]
    rows = run(fleet, lines)
    assert rows["XYZ7777Q007"].major is False and rows["XYZ7777Q007"].parent_serial == "FOC1111A001"
    unseen = rows["FOC8888L008"]
    assert unseen.seen is False and unseen.major is False
    assert (unseen.parent_serial, unseen.parent_status) == ("FOC1111A001", COVERED)
    assert rows["FOC9999A009"].major is True and rows["FOC9999A009"].parent_serial == ""


# ------------------------------------------------------------------ contract exports


def test_partner_major_minor_column_is_read_and_a_bad_cell_is_flagged(tmp_path):
    path = tmp_path / "ib.csv"
    path.write_text(
        "Serial Number / PAK number,Coverage,Product ID,Covered Line Start Date,Covered Line End Date,"
        "Contract Number,Instance ID,Parent Instance ID,Major/Minor\n"
        "FOC1111A001,COVERED,C9300-48P,2026-01-01,2027-01-01,111,1,,MAJOR\n"
        "DTN1111P001,COVERED,PWR-C1-715WAC,2026-01-01,2027-01-01,111,2,1,minor\n"
        "AVD1111S001,COVERED,SFP-10G-SR,2026-01-01,2027-01-01,111,3,1,sometimes\n")
    load = load_contracts(path)
    assert [(ln.serial, ln.major) for ln in load.lines] == [
        ("FOC1111A001", True), ("DTN1111P001", False), ("AVD1111S001", None)]
    assert len(load.errors) == 1 and load.errors[0].kept
    text = str(load.errors[0])
    assert "row 4" in text and "'Major/Minor'" in text and "sometimes" in text


def test_sn2info_item_position_and_cx_component_type(tmp_path):
    doc = {"serial_numbers": [
        {"sr_no": "FOC1111A001", "parent_sr_no": "FOC1111A001", "is_covered": "YES",
         "covered_product_line_end_date": "2027-01-31", "service_contract_number": "111",
         "orderable_pid_list": [{"orderable_pid": "C9300-48P", "item_position": "S"}]},
        {"sr_no": "DTN1111P001", "parent_sr_no": "FOC1111A001", "is_covered": "YES",
         "covered_product_line_end_date": "2027-01-31", "service_contract_number": "111",
         "orderable_pid_list": [{"orderable_pid": "PWR-C1-715WAC", "item_position": "C"}]},
    ]}
    path = tmp_path / "sn2info.json"
    path.write_text(json.dumps(doc))
    lines = load_contracts(path).lines
    assert [(ln.serial, ln.major, ln.parent_serial) for ln in lines] == [
        ("FOC1111A001", True, ""), ("DTN1111P001", False, "FOC1111A001")]
    cx = tmp_path / "cx.csv"
    cx.write_text("serialNumber,productId,coverageEndDate,contractNumber,componentType\n"
                  "FOC1111A001,C9300-48P,2027-01-31,111,PARENT\nDTN1111P001,PWR-C1-715WAC,2027-01-31,111,CHILD\n"
                  "FOC2222A002,C9300-48P,2027-01-31,111,STANDALONE\n")
    assert [ln.major for ln in load_contracts(cx).lines] == [True, False, True]


# ------------------------------------------------------------------ the add list and the quote


def _add_rows():
    """An uncovered chassis with an uncovered PSU, and the lapsed switch's PSU and optic."""
    fleet = STACK + [item("FOC3333A003", "C9300-24P", "chassis", "Chassis", device="sw3"),
                     item("DTN3333P003", "PWR-C1-350WAC", "psu", "PS1", "Chassis", device="sw3")]
    return list(run(fleet, STACK_LINES, devices=("sw1", "sw3")).values())


def test_add_list_leads_each_group_with_its_major_item():
    add = select_lists(_add_rows(), ["add"])["add"]
    # sw1's group under its lapsed Switch 2 (by name within the group), then sw3's chassis and its PSU.
    assert [r.serial for r in add] == ["DTN2222P002", "AVD2222S002", "FOC3333A003", "DTN3333P003"]
    assert [r.major for r in add] == [False, False, True, False]
    # Items covered via their parent are not on it.
    assert not {"DTN1111P001", "AVD1111S001"} & {r.serial for r in add}


def test_text_list_marks_minor_items_under_their_parent(tmp_path):
    written = write_reconcile_reports(_add_rows(), tmp_path, formats=("table", "csv"), lists=["add"])
    text = (tmp_path / "add.txt").read_text()
    lines = [ln for ln in text.splitlines()[4:] if ln.strip()][:6]
    assert lines[0] == "# in FOC2222A002 (lapsed), which is not on this list:"
    assert lines[1].split()[1:3] == [MINOR_MARK.strip(), "DTN2222P002"]
    assert lines[2].split()[1:3] == [MINOR_MARK.strip(), "AVD2222S002"]
    assert lines[3].split()[1] == "FOC3333A003"  # a major item on the list heads its own group
    assert lines[4].split()[1:3] == [MINOR_MARK.strip(), "DTN3333P003"]
    assert not lines[4].startswith("#")
    with (tmp_path / "add.csv").open(encoding="utf-8-sig") as fh:
        cells = list(csv.DictReader(fh))
    assert [c["serial"] for c in cells][:2] == ["DTN2222P002", "AVD2222S002"]  # the serial itself, unmarked
    assert cells[0]["major"] == "minor" and cells[0]["parent_serial"] == "FOC2222A002"
    assert len(written) == 2
    # Any other table is left as it was: no marks.
    assert MINOR_MARK not in render_table(_add_rows(), width=None)


def test_quote_notes_via_parent_items_and_never_prices_them(tmp_path):
    prices_file = tmp_path / "prices.csv"
    prices_file.write_text("Product ID,Service Level,Annual List Price,Currency\n"
                           "C9300-48P,SNT,1200.00,USD\nPWR-C1-715WAC,SNT,100.00,USD\nSFP-10G-SR,SNT,50.00,USD\n")
    rows = [r for r in run(STACK, STACK_LINES).values() if r.serial in ("FOC1111A001", "DTN1111P001")]
    quote = {q.serial: q for q in build_quote(rows, load_prices(prices_file), STACK_LINES, None,
                                              QuoteOptions(AS_OF, date(2027, 6, 30)))}
    assert quote["FOC1111A001"].state == PRICED
    psu = quote["DTN1111P001"]
    assert psu.state == VIA_PARENT and psu.amount is None and psu.net_price is None
    assert "FOC1111A001" in psu.why[-1] and "not priced" in psu.why[-1]
    assert psu.why[0] == "covered via parent FOC1111A001 (contract 209876543, to 2026-12-31)"


# ------------------------------------------------------------------ end to end, from a store


def test_reconcile_from_a_store_covers_the_optic_through_its_chassis(tmp_path, capsys):
    db, contracts, _ = build(tmp_path, capsys)
    out = tmp_path / "r"
    code = main(["reconcile", "--db", str(db), "--contracts", str(contracts), "--as-of", STORE_AS_OF,
                 "--out", str(out), "--format", "csv"])
    capsys.readouterr()
    assert code == 0
    with (out / "deployed.csv").open(encoding="utf-8-sig") as fh:
        deployed = {r["serial"]: r for r in csv.DictReader(fh)}
    optic = deployed["AVD1111S01A"]  # Te1/1/1 in hq-core1, whose chassis FOC1111A0AA is covered
    assert (optic["status"], optic["major"], optic["parent_serial"], optic["flags"]) == (
        "covered", "minor", "FOC1111A0AA", "covered-via-parent")
    with (out / "add.csv").open(encoding="utf-8-sig") as fh:
        add = {r["serial"]: r for r in csv.DictReader(fh)}
    assert "AVD1111S01A" not in add
    # hq-acc2's chassis lapsed: its PSU stays on the add list, its parent's status beside it.
    assert add["DCB2222P01B"]["parent_serial"] == "FOC2222A0BB" and add["DCB2222P01B"]["parent_status"] == "lapsed"


def test_large_fleet_marks_every_minor_item():
    n_devices = 2000
    fleet, lines = [], []
    for d in range(n_devices):
        name = f"sw{d}"
        fleet.append(item(f"FOC{d:07d}A", "C9300-48P", "chassis", "Chassis", device=name))
        lines.append(line(f"FOC{d:07d}A", "C9300-48P", row=d + 2))
        for p in range(10):
            fleet.append(item(f"DTN{d:05d}{p:02d}P", "PWR-C1-715WAC", "psu", f"PS{p}", "Chassis", device=name))
    rows = reconcile(fleet, [dev(f"sw{d}") for d in range(n_devices)], lines, None, AS_OF)
    minor = [r for r in rows if r.major is False]
    assert len(minor) == 10 * n_devices
    assert all(r.status == COVERED and r.parent_serial == f"FOC{int(r.serial[3:8]):07d}A" for r in minor)


# ------------------------------------------------------------------ the demo shows it


@pytest.fixture(scope="module")
def demo(demo_run):
    out, proc = demo_run  # one demo run for the whole session (tests/conftest.py)
    assert "Traceback" not in proc.stderr, proc.stderr
    return out


def _csv(path):
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def test_demo_covers_the_leafs_psus_and_the_stacks_optics_through_their_parents(demo):
    deployed = {r["serial"]: r for r in _csv(demo / "reports" / "deployed.csv")}
    via = {s: r for s, r in deployed.items() if "covered-via-parent" in r["flags"].split()}
    # dc1-leaf01's PSUs (and its FEX's) and the optics of hq's stack members 1 and 3 are on no line of
    # their own (lab/sample_contracts.py), inside covered parents.
    assert {r["device"] for r in via.values()} == {"dc1-leaf01", "hq-acc-stk01"}
    assert {r["class"] for r in via.values()} == {"psu", "optic"}
    assert all(deployed[r["parent_serial"]]["status"] == r["status"] == "covered" for r in via.values())
    add = _csv(demo / "reports" / "add.csv")
    assert add and not [r for r in add if r["parent_status"] in ("covered", "expiring")]
    # member 2 was swapped under RMA: its optic stays, with the swap shown as its parent's status
    (optic,) = [r for r in add if r["device"] == "hq-acc-stk01"]
    assert (optic["class"], optic["parent_status"]) == ("optic", "rma-swap")
    assert MINOR_MARK + optic["serial"] in (demo / "reports" / "add.txt").read_text()
    quote = json.loads((demo / "quote.json").read_text())["lines"]
    noted = [q for q in quote if q["state"] == VIA_PARENT]
    assert {q["serial"] for q in noted} == set(via) and all(q["net_price"] is None for q in noted)
