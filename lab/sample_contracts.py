"""A contract export and EoX data for the demo fleet, in the layouts Cisco and partners export.

The demo's point is to show every reconciliation status on a fleet the user can see.  Which
item gets which contract story is written here, as data, from the lab's ground truth (never
from a scan), with dates relative to the as-of date so the demo reads the same on any day:

  covered         most items, a year left
  expiring        the branch router's items end inside the 90-day window
  lapsed          the cloud router's line ended a month ago
  uncovered       the access stack's optics and the leaf's PSUs are on no contract
  end-of-support  the classic 2960-X stack: EoX says its Last Date of Support has passed
  rma-swap        stack member 2 was replaced under RMA between two scans: the contract
                  still names the old serial, the new one in the same slot is on nothing
  not-seen        an ISR retired from the branch last year is still paid for
  unverified      a line for the faults site, whose devices never answer cleanly
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

# Inventory site -> Cisco install-site id, the join between contract lines and inventory scope.
SITE_IDS = {"hq": "55501001", "dc1": "55501002", "branch01": "55501003", "cloud": "55501004", "lab-faults": "55501005"}

# Partner installed-base report: a subset of its real header row, in its real order (FORMATS.md 1.4).
HEADER = (
    "Serial Number / PAK number", "Coverage", "Covered Line Status", "Product Family", "Product ID",
    "Product Description", "Product Type", "Item Quantity", "Covered Line Start Date", "Covered Line End Date",
    "Contract Type", "Service Brand Code", "Contract Number", "Ship Date", "Last Date of Support",
    "Install Site Name", "Install Site ID", "Default Service Level", "Instance ID", "Parent Instance ID",
    "Major/Minor",
)

RETIRED_ISR = ("FDO2213A1ZK", "ISR4321/K9")  # retired from branch01, still on contract
FAULT_SITE_ITEM = ("FOC2231X9QP", "C9200L-24P-4G")  # on contract at the faults site
EOS_PID = "WS-C2960X-48FPD-L"
RMA_DEVICE, RMA_TOKEN = "hq-acc-stk01", "sw2"


def _story(device: str, cls_hint: str) -> str:
    if device == "br01-rtr01":
        return "expiring"
    if device == "cloud-rtr01":
        return "lapsed"
    if device == "hq-acc-stk01" and cls_hint.startswith(("Te", "Gi")):
        return "uncovered"
    if device == "dc1-leaf01" and "Power Supply" in cls_hint:
        return "uncovered"
    return "covered"


def contract_rows(devices: Iterable, as_of: date) -> list[dict[str, str]]:
    """One contract line per physical item of the healthy devices, plus the out-of-network lines."""
    rows: list[dict[str, str]] = []
    instance = 880000000

    def line(serial, pid, site, start, end, contract, coverage="COVERED", status="ACTIVE"):
        nonlocal instance
        instance += 1
        rows.append({
            "Serial Number / PAK number": serial, "Coverage": coverage, "Covered Line Status": status,
            "Product Family": pid.split("-")[0], "Product ID": pid, "Product Description": "",
            "Product Type": "CHASSIS", "Item Quantity": "1",
            "Covered Line Start Date": start.isoformat(), "Covered Line End Date": end.isoformat(),
            "Contract Type": "SNTC", "Service Brand Code": "SNTC", "Contract Number": contract,
            "Ship Date": (start - timedelta(days=30)).isoformat(), "Last Date of Support": "",
            "Install Site Name": site.upper(), "Install Site ID": SITE_IDS.get(site, ""),
            "Default Service Level": "SNT", "Instance ID": str(instance), "Parent Instance ID": "", "Major/Minor": "MAJOR",
        })

    for dev in devices:
        if dev.faults:
            continue
        site = dev.spec.site
        for item in dev.truth.physical:
            story = _story(dev.name, item.name)
            if story == "uncovered":
                continue
            if story == "expiring":
                start, end, contract = as_of - timedelta(days=320), as_of + timedelta(days=45), "209870002"
            elif story == "lapsed":
                start, end, contract = as_of - timedelta(days=395), as_of - timedelta(days=30), "209870003"
            else:
                start, end, contract = as_of - timedelta(days=200), as_of + timedelta(days=400), "209870001"
            line(item.serial, item.pid, site, start, end, contract,
                 "NOT COVERED" if story == "lapsed" else "COVERED", "EXPIRED" if story == "lapsed" else "ACTIVE")
    keep = as_of + timedelta(days=400)
    line(*RETIRED_ISR, "branch01", as_of - timedelta(days=200), keep, "209870001")
    line(*FAULT_SITE_ITEM, "lab-faults", as_of - timedelta(days=200), keep, "209870004")
    return rows


def write_contracts(path: Path, devices: Iterable, as_of: date) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(contract_rows(devices, as_of))
    return path


def write_eox(path: Path, as_of: date) -> Path:
    """EoX API v5 response: the 2960-X is past its Last Date of Support."""

    def d(days: int) -> dict[str, str]:
        return {"value": (as_of + timedelta(days=days)).isoformat(), "dateFormat": "YYYY-MM-DD"}

    doc = {
        "PaginationResponseRecord": {"PageIndex": 1, "LastIndex": 1, "TotalRecords": 1, "PageRecords": 1},
        "EOXRecord": [{
            "EOLProductID": EOS_PID, "ProductIDDescription": "Catalyst 2960-X 48 GigE PoE 740W, 2 x 10G SFP+, LAN Base",
            "ProductBulletinNumber": "EOL13201", "LinkToProductBulletinURL": "",
            "EOXExternalAnnouncementDate": d(-2200), "EndOfSaleDate": d(-1900),
            "EndOfSWMaintenanceReleases": d(-1500), "EndOfSecurityVulSupportDate": d(-400),
            "EndOfRoutineFailureAnalysisDate": d(-1500), "EndOfServiceContractRenewal": d(-200),
            "LastDateOfSupport": d(-20), "EndOfSvcAttachDate": d(-1500), "UpdatedTimeStamp": d(-900),
            "EOXMigrationDetails": {"PIDActiveFlag": "Y  ", "MigrationInformation": "Catalyst 9200",
                                    "MigrationOption": "Enter PID(s)", "MigrationProductId": "C9200-48P-E",
                                    "MigrationProductName": " ", "MigrationStrategy": " ", "MigrationProductInfoURL": " "},
            "EOXInputType": "ShowEOXByPids", "EOXInputValue": EOS_PID + " ",
        }],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2))
    return path
