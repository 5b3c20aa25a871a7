"""A CSV inventory (``-i hosts.csv``): the export people make from anything.

Columns (header row, any order, case-insensitive): ``name``, ``address``, ``platform``, ``site``,
``groups`` (``;``-separated), optional ``port`` and ``transports`` (``;``-separated).  Credentials are
not columns: ``defaults.yaml`` (and ``groups.yaml``) beside the file hold them by reference, as
beside a hosts.yaml.  A ``password`` column is refused: a CSV is the file people mail around.

Every problem names the file, its row (as a spreadsheet numbers it, header = 1) and column, and
every row is read before refusing, so one pass lists them all.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from agent.collect.inventory import Inventory, InventoryError, InventoryProblems
from agent.collect.sources import common
from agent.core import platforms
from agent.core.models import TRANSPORTS
from agent.core.untrusted import InputError, decode_utf8, read_capped

MAX_FILE_BYTES = 32 << 20  # as a YAML inventory: 20,000 hosts take a few MiB
MAX_FIELD = 4096  # one cell; a runaway quote would otherwise swallow the file into one field
REQUIRED = ("name", "address", "platform")
OPTIONAL = ("site", "groups", "port", "transports")
REFUSED = {"password", "secret", "enable_secret", "enable", "snmp_community", "token"}


def load(path: Path, env: dict[str, str]) -> Inventory:
    rows = _rows(path)
    hosts, problems = _entries(path, rows)
    if problems:
        raise InventoryProblems(problems)
    if not hosts:
        raise InventoryError("no hosts (a header row and no data)", path)
    defaults_file = next((path.parent / f"defaults{s}" for s in (".yaml", ".yml")
                          if (path.parent / f"defaults{s}").is_file()), None)
    defaults, groups, files = common.side_files(defaults_file)
    files["hosts"] = path
    return common.build(hosts, defaults, groups, files, env, str(path))


def _rows(path: Path) -> list[list[str]]:
    try:
        text = decode_utf8(read_capped(path, MAX_FILE_BYTES, "file"), "file")
    except OSError as exc:
        raise InventoryError(f"cannot read: {exc.strerror or exc}", path) from None
    except InputError as exc:
        raise InventoryError(str(exc), path) from None
    text = text.removeprefix("\ufeff")  # Excel's "CSV UTF-8" starts with a BOM
    if "\x00" in text:  # a binary file, or UTF-16 read as UTF-8: no cell of it can be trusted
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InventoryError(f"row {line}: a NUL byte: not a text CSV (save it as CSV UTF-8)", path)
    old = csv.field_size_limit(MAX_FIELD)
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InventoryError(f"not a readable CSV: {exc} (a quote left open?)", path) from None
    finally:
        csv.field_size_limit(old)


def _entries(path: Path, rows: list[list[str]]) -> tuple[dict[str, dict], list[InventoryError]]:
    if not rows:
        raise InventoryError("empty file: expected a header row (name, address, platform, site, groups)", path)
    header = [h.strip().lower() for h in rows[0]]
    problems: list[InventoryError] = []

    def bad(row: int, column: str, message: str) -> None:
        problems.append(InventoryError(f"row {row}, column '{column}': {message}", path))

    for col in header:
        if col in REFUSED:
            bad(1, col, "credentials are not CSV columns: put references (${ENV_VAR} or file:KEY) in "
                        "defaults.yaml beside the file")
        elif col not in REQUIRED + OPTIONAL:
            bad(1, col, f"unknown column (known: {', '.join(REQUIRED + OPTIONAL)})")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InventoryError(f"row 1: missing column(s) {', '.join(missing)} (header: {', '.join(header)})", path)
    if len(set(header)) != len(header):
        raise InventoryError("row 1: a column is named twice", path)
    at = {c: header.index(c) for c in header}
    hosts: dict[str, dict] = {}
    names: dict[str, int] = {}  # every row's name, valid or not: a duplicate is found either way
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank line (spreadsheets leave them at the end)
        if len(row) != len(header):
            bad(number, "", f"{len(row)} cells, the header has {len(header)}")
            continue
        cell = {c: row[i].strip() for c, i in at.items()}
        if cell["name"] and cell["name"] in names:
            bad(number, "name", f"{cell['name']!r} is named twice (row {names[cell['name']]} has it)")
            continue
        names[cell["name"]] = number
        entry = _entry(cell, number, bad)
        if entry is not None:
            hosts[cell["name"]] = entry
    return hosts, problems


def _entry(cell: dict[str, str], number: int, bad) -> dict | None:
    ok = True
    for col in REQUIRED:
        if not cell[col]:
            bad(number, col, "empty")
            ok = False
    found = platforms.lookup(cell["platform"]) if cell["platform"] else None
    if cell["platform"] and found is None:
        bad(number, "platform", f"unknown platform {cell['platform']!r} (known: {', '.join(platforms.names())}, "
                                "or their NAPALM/netmiko names)")
        ok = False
    entry: dict = {"hostname": cell["address"], "platform": found.name if found else None, "data": {}}
    if cell.get("port"):
        try:
            port = int(cell["port"])
            if not 0 < port < 65536:
                raise ValueError
            entry["port"] = port
        except ValueError:
            bad(number, "port", f"{cell['port']!r} is not a TCP port")
            ok = False
    if cell.get("transports"):
        transports = [t.strip() for t in cell["transports"].split(";") if t.strip()]
        unknown = [t for t in transports if t not in TRANSPORTS]
        if unknown:
            bad(number, "transports", f"unknown transport(s) {unknown} (known: {', '.join(TRANSPORTS)})")
            ok = False
        entry["data"]["transports"] = transports
    if cell.get("site"):
        entry["data"]["site"] = cell["site"]
    groups = [g.strip() for g in (cell.get("groups") or "").split(";") if g.strip()]
    if groups:
        entry["groups"] = groups
    return entry if ok else None
