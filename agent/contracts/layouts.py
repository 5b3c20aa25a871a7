"""Header recognition: which column holds which field (``ALIASES``), which export layout a header
row is (``LAYOUTS``, the layout registry: one entry per export layout), and what a coverage flag
or a product type cell says.

To add a contract layout: add one ``Layout`` entry to ``LAYOUTS`` below (and any column names it
introduces to ``ALIASES``), a sample file under ``fixtures/contracts/`` and a test in
``tests/test_contracts.py``."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from agent.core.identity import cell_text

# ------------------------------------------------------------------ header recognition

# Canonical field -> header aliases, best first (FORMATS.md 1.6 plus the columns each layout
# carries).  Matching ignores case, spaces and punctuation, so "Serial Number" == "serialNumber".
ALIASES: dict[str, tuple[str, ...]] = {
    "serial": ("Serial Number / PAK number", "Serial Number", "serialNumber", "sr_no", "SN", "Serial",
               "Serial No", "collectedSerialNumber"),
    "pid": ("Product ID", "Product Number", "productId", "orderable_pid", "orderableProductId", "PID",
            "base_pid", "baseProductId"),
    "base_pid": ("base_pid", "baseProductId"),
    "parent_serial": ("Parent Serial Number", "parent_sr_no", "parentSerialNumber"),
    "instance_id": ("Instance Number", "Instance ID", "contractInstanceNumber", "instanceNumber",
                    "instance_id", "contractInstanceId"),
    "parent_instance_id": ("Parent Instance ID", "Parent Instance Number", "parentContractInstanceId"),
    "contract_number": ("Contract Number", "contractNumber", "service_contract_number",
                        "serviceContractNumber", "Contract"),
    "service_level": ("Service Level", "serviceLevel", "Default Service Level", "slaType",
                      "service_line_descr", "serviceLineDescription", "Service Level Description"),
    "coverage_start": ("Covered Line Start Date", "coverageStartDate", "Service Start Date", "Begin Date",
                       "Start Date"),
    "coverage_end": ("Covered Line End Date", "coverageEndDate", "coverage_end_date",
                     "covered_product_line_end_date", "coveredProductLineEndDate", "Service End Date",
                     "End Date"),
    # Every column that says covered / not covered, tried in this order per row.
    "covered": ("Coverage", "Coverage Status", "coverageStatus", "is_covered", "isCovered",
                "Covered Line Status", "serviceLineStatus", "contractStatus"),
    "site_id": ("Install Site ID", "Installed Site ID", "installedatSiteId", "installAtSiteID", "Site ID"),
    "site_name": ("Install Site Name", "Installed Site Name", "installedatSiteName",
                  "contract_site_customer_name", "contractSiteCustomerName", "Site Name"),
    "ldos": ("Last Date of Support", "LastDateOfSupport", "LDoS"),
    "end_of_renewal": ("End of Service Contract Renewal", "EndOfServiceContractRenewal"),
    "product_type": ("Product Type", "Item Type", "item_type", "itemType", "hwType", "productType",
                     "Asset Type"),
    # Whether the line's item is a major (chassis, parent, standalone) or a minor (child) item:
    # the partner IB report's Major/Minor, sn2info's item_position, PX Cloud's componentType.
    "major": ("Major/Minor", "item_position", "itemPosition", "componentType", "Product Relationship"),
}
DATE_FIELDS = ("coverage_start", "coverage_end", "ldos", "end_of_renewal")
MAPPABLE_FIELDS = tuple(ALIASES)


@dataclass(frozen=True, slots=True)
class Layout:
    """One export layout, known by a column only that layout has."""

    name: str  # for the summary
    marker: str  # the column that tells this layout (matched as header_key matches)
    # Every row is an item without coverage (the not-covered export): its lines are covered=False
    # with status "NOT COVERED" where the file gives none, and the header needs no coverage column.
    uncovered: bool = False
    # The layout this marker means when the header also carries coverage columns (end date or
    # contract number): the coverage export shares columns with the not-covered one.
    with_coverage: str = ""


# The layout registry: one entry per export layout.  Layout names for the summary, decided by a
# column only that layout has (first hit wins, so the order matters).
LAYOUTS: tuple[Layout, ...] = (
    Layout("partner-ib", "Serial Number / PAK number"),
    Layout("partner-ib-variant", "Instance Number"),
    Layout("sn2info", "sr_no"),
    Layout("bcs-coverage", "isCovered"),
    Layout("cx-coverage", "coverageEndDate"),
    Layout("cx-not-covered", "hwType", uncovered=True, with_coverage="cx-coverage"),
)
_LAYOUT_BY_NAME = {layout.name: layout for layout in LAYOUTS}
HEADER_SCAN_ROWS = 20


def header_key(name: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", cell_text(name).lower())


_ALIAS_KEYS = {f: tuple(header_key(a) for a in names) for f, names in ALIASES.items()}


@dataclass(slots=True)
class _Header:
    layout: str
    columns: dict[str, list[int]]  # field -> column indexes, best first
    names: list[str]  # header cells as printed, for messages
    uncovered: bool = False  # the layout lists items without coverage (``Layout.uncovered``)


def _match_header(cells: Sequence[Any], header_map: Mapping[str, str] | None) -> _Header | None:
    keys = [header_key(c) for c in cells]
    position: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k and k not in position:
            position[k] = i
    columns: dict[str, list[int]] = {}
    if header_map:
        for fld, col in header_map.items():
            idx = position.get(header_key(col))
            if idx is None:
                return None  # a mapped column is missing: not this row
            columns[fld] = [idx]
    for fld, alias_keys in _ALIAS_KEYS.items():
        if fld in columns:
            continue
        # Two aliases can name one column ("coverageStatus", "Coverage Status"): keep it once.
        found = list(dict.fromkeys(position[k] for k in alias_keys if k in position))
        if found:
            columns[fld] = found if fld == "covered" else found[:1]
    if "serial" not in columns:
        return None
    layout: Layout | None = None
    if not header_map:
        for candidate in LAYOUTS:
            if header_key(candidate.marker) in position:
                layout = candidate
                break
    if layout and layout.with_coverage and ("coverage_end" in columns or "contract_number" in columns):
        layout = _LAYOUT_BY_NAME[layout.with_coverage]
    uncovered = bool(layout and layout.uncovered)
    if not uncovered and not ({"coverage_end", "covered", "contract_number"} & columns.keys()):
        return None  # a serial list without any coverage fact is not a contract file
    name = "mapped" if header_map else layout.name if layout else "generic"
    return _Header(name, columns, [cell_text(c) for c in cells], uncovered)


# ------------------------------------------------------------------ coverage flags

_YES = {"YES", "Y", "TRUE", "1", "COVERED", "ACTIVE", "SIGNED", "SERVICE", "IN COVERAGE"}
_NO = {"NO", "N", "FALSE", "0", "NOT COVERED", "NOT_COVERED", "NOTCOVERED", "UNCOVERED", "EXPIRED",
       "INACTIVE", "TERMINATED", "CANCELLED", "CANCELED", "NOT ACTIVE"}


def parse_covered(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = cell_text(value).upper()
    if text in _YES:
        return True
    if text in _NO:
        return False
    return None


# What a rank cell says (FORMATS.md 1.1: item_position P parent, C child, S standalone; 1.3:
# componentType PARENT, CHILD, STANDALONE; 1.4: Major/Minor).  A standalone item is a whole
# product, so major.  Anything else is not guessed: the cell is flagged and left empty.
RANKS: dict[str, bool] = {
    "MAJOR": True, "P": True, "PARENT": True, "S": True, "STANDALONE": True,
    "MINOR": False, "C": False, "CHILD": False,
}


def parse_rank(value: Any) -> bool | None | str:
    """True (major), False (minor), None (blank), or the text when it says neither."""
    text = cell_text(value).upper()
    if not text:
        return None
    found = RANKS.get(text)
    return text if found is None else found


def _is_software(product_type: str) -> bool:
    t = product_type.upper()
    return "SOFTWARE" in t or "LICENSE" in t or t in ("SUBSCRIPTION", "SW")
