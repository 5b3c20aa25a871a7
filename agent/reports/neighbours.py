"""The gap report's outputs (issue 17): rows for table / CSV / JSON (``ibagent neighbours``,
reconcile's ``neighbours.csv``, the demo's), and a Nornir hosts fragment for the next scan.

The inventory fragment holds no credential (the user's groups or defaults give them), names the
platform only when the announced software maps to exactly one of ours (platform data,
``announced:``), and uses the first usable address as ``hostname``.  A neighbour it cannot write
(no address, no platform) is a comment line saying why, so the file shows everything it left out.
"""
from __future__ import annotations

import yaml

from pathlib import Path

from agent.reconcile.neighbours import Unlisted

from .tabular import atomic_write, to_csv, to_json, to_table

FILE = "neighbours.csv"

COLUMNS = ("name", "platform", "software", "addresses", "serial", "seen_by", "protocols", "ibagent_platform",
           "cisco", "device_ids", "captures")
TABLE_COLUMNS = ("name", "platform", "addresses", "serial", "seen_by", "ibagent_platform")


def row(u: Unlisted) -> dict:
    return {
        "name": u.name, "platform": u.platform, "software": u.software, "addresses": " ".join(u.addresses),
        "serial": u.serial,
        "seen_by": "; ".join(f"{d} {p} ({'+'.join(protos)})" for d, p, protos in u.ports),
        "protocols": ",".join(u.protocols), "ibagent_platform": u.ibagent_platform or "", "cisco": u.cisco,
        "device_ids": " ".join(u.device_ids),
        "captures": " ".join(str(c) for c in dict.fromkeys(s.capture_id for s in u.seen_by) if c is not None),
    }


def rows(report, everything: bool = False) -> list[dict]:
    """The Cisco neighbours in no inventory (and, with ``everything``, the others after them)."""
    return [row(u) for u in report.cisco + (report.other if everything else [])]


def summary(report) -> str:
    """One line: what was found and what was only counted."""
    return (f"{len(report.cisco)} Cisco neighbour(s) in no inventory, {len(report.other)} non-Cisco neighbour(s) "
            f"counted (--all lists them), from the neighbour tables of {report.devices_read} device(s)"
            + (f"; {len(report.not_read)} device(s) had CDP or LLDP off or unsupported" if report.not_read else ""))


def render(report, fmt: str, everything: bool = False) -> str:
    data = rows(report, everything)
    if fmt == "csv":
        return to_csv(data, COLUMNS)
    if fmt == "json":
        return to_json(data)
    return to_table(data, TABLE_COLUMNS) if data else "no Cisco neighbour outside the inventory\n"


def write_csv(store, directory: Path) -> str:
    """``neighbours.csv`` in ``directory`` (beside reconcile's outputs, the demo's): every neighbour in
    no inventory, the Cisco ones first, column ``cisco`` telling them apart; returns the summary line."""
    from agent.reconcile.neighbours_store import gap_report  # the store wiring: only when writing

    report = gap_report(store)
    path = Path(directory) / FILE
    atomic_write(path, lambda tmp: tmp.write_text(render(report, "csv", everything=True)))
    return f"{summary(report)} -> {path}"


def inventory_fragment(report, generated: str = "") -> tuple[str, int]:
    """A Nornir hosts.yaml fragment for the Cisco neighbours in no inventory; (text, hosts written)."""
    lines = ["# Cisco CDP / LLDP neighbours in no inventory (ibagent neighbours --write-inventory"
             + (f", {generated}" if generated else "") + ").",
             "# No credentials: give them in your groups or defaults.  Review before scanning."]
    hosts: dict[str, dict] = {}
    for u in report.cisco:
        address, plat = u.inventory_address, u.ibagent_platform
        if address is None:
            lines.append(f"# {_comment(u.name)}: announces no usable address; not written (seen by "
                         f"{_comment(', '.join(u.seers))})")
            continue
        if plat is None:
            lines.append(f"# {_comment(u.name)} ({_comment(u.platform or '?')}): its software names no single "
                         f"ibagent platform; not written")
            continue
        key = u.name
        n = 2
        while key in hosts:
            key, n = f"{u.name}-{n}", n + 1
        seen = ", ".join(f"{d} {p}" for d, p, _ in u.ports)
        hosts[key] = {"hostname": address, "platform": plat,
                      "data": {"source": f"CDP/LLDP neighbour of {seen} (ibagent neighbours)",
                               "announced_platform": u.platform}}
    text = "\n".join(lines) + "\n"
    if hosts:
        text += yaml.safe_dump(hosts, sort_keys=False, allow_unicode=False, width=1000)
    return text, len(hosts)


def _comment(text: str) -> str:
    # Announced text in a comment line: one line, no control characters (they were escaped on reading).
    return " ".join(str(text).split())
