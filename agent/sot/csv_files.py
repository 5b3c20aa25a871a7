"""The CSV files the sources of truth import (``ibagent export nautobot|netbox --out DIR``).

Nautobot 2+ imports CSV with its REST API's field names, related objects by natural key
(``device__name``, ``manufacturer__name``, ``provider__name``): the same files load through the
web UI's import and through the API (``POST`` with ``Content-Type: text/csv``; the round-trip test
posts them to a real Nautobot).  NetBox's bulk import names related objects by name (``device``,
``manufacturer``).  Cells are written as the device reported them, never prefixed against
spreadsheet formulas: the prefix would end up in the source of truth.

Written: ``nautobot-inventory-items.csv``, and with contracts ``nautobot-dlm-providers.csv``,
``nautobot-dlm-contracts.csv`` (DLM's contract fields) and ``nautobot-dlm-coverage.csv`` (which
contract covers which device and item: DLM keeps it as the contract's devices and the
``contractlcm_to_inventoryitem`` relationship, which only ``--push`` writes, by id);
``netbox-inventory-items.csv``.  Each file is written beside and renamed into place.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from agent.sot.desired import MANUFACTURER, WantContract, WantItem

NAUTOBOT_ITEMS = ("device__name", "name", "manufacturer__name", "part_id", "serial", "discovered", "description")
NAUTOBOT_CONTRACTS = ("name", "number", "provider__name", "start", "end", "support_level", "contract_type")
NAUTOBOT_COVERAGE = ("contract", "device", "inventory_item", "serial")
NETBOX_ITEMS = ("device", "name", "manufacturer", "part_id", "serial", "discovered", "description")


def _write(path: Path, header: tuple[str, ...], rows: list[tuple]) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    os.replace(tmp, path)
    return path


def _item_rows(items: list[WantItem]) -> list[tuple]:
    return [(i.device, i.name, i.manufacturer, i.part_id, i.serial, "true", i.description) for i in items]


def write_nautobot(out: Path, items: list[WantItem], contracts: list[WantContract]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [_write(out / "nautobot-inventory-items.csv", NAUTOBOT_ITEMS, _item_rows(items))]
    if contracts:
        written.append(_write(out / "nautobot-dlm-providers.csv", ("name",), [(MANUFACTURER,)]))
        written.append(_write(out / "nautobot-dlm-contracts.csv", NAUTOBOT_CONTRACTS, [
            (c.name, c.number, c.provider, c.start.isoformat() if c.start else "",
             c.end.isoformat() if c.end else "", c.support_level, c.contract_type) for c in contracts]))
        by_serial = {i.serial: i for i in items}
        written.append(_write(out / "nautobot-dlm-coverage.csv", NAUTOBOT_COVERAGE, sorted(
            (c.name, by_serial[s].device, by_serial[s].name, s) for c in contracts for s in c.serials if s in by_serial)))
    return written


def write_netbox(out: Path, items: list[WantItem]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [_write(out / "netbox-inventory-items.csv", NETBOX_ITEMS, _item_rows(items))]
