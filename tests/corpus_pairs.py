"""The same device's ``show version`` and ``show inventory`` in the corpus, held against each other.

A source project often recorded several commands of one device (an oxidized simulation, a pyATS
mocked device, a unicon mock).  MANIFEST.tsv names each capture's source file; captures of one
source file whose names match after the command directory (or the only version and the only
inventory of that file) are one device.  For each such pair the PIDs and serials ``show version``
states must be those of the inventory: the chassis PID and serial against the inventory's chassis
row, each stack member's PID (its own ``Model number`` line) and serial against the inventory's
``Switch N`` row.  No source project checks this; it is how a PID cut at its licence suffix
(``WS-C3750G-48TS`` for ``WS-C3750G-48TS-S``) shows up.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import corpus_util as cu

INVENTORY_DIRS = ("show_inventory", "show_inventory_all", "show_inventory_raw", "admin_show_inventory")


@dataclass(frozen=True)
class Pair:
    platform: str
    version: Path
    inventory: Path

    @property
    def rel(self) -> str:
        return f"{self.version.parent.parent.name}/{self.version.parent.name}/{self.version.name}"


@dataclass
class PairOutcome:
    pair: Pair | None
    compared: int = 0
    agreed: int = 0
    mismatches: list[tuple[str, str, str]] = field(default_factory=list)  # (field, show version, inventory)


def _stem(path: str) -> str:
    return Path(path).name.rsplit(".", 1)[0]


@lru_cache(maxsize=None)
def pairs(root: Path | None = None) -> tuple[Pair, ...]:
    root = root or cu.corpus_root()
    manifest = root / "MANIFEST.tsv"
    if not manifest.is_file():
        return ()
    groups: dict[tuple[str, str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    with manifest.open(newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            rel = row["file"]
            parts = rel.split("/")
            if len(parts) != 3 or rel.endswith(".expected.yml") or not rel.endswith(".txt"):
                continue
            pdir, cmd, _ = parts
            if pdir not in cu.PLATFORMS or (cmd != "show_version" and cmd not in INVENTORY_DIRS):
                continue
            key = (pdir, row["source_repo"], row["source_path"].split("#", 1)[0])
            groups[key]["version" if cmd == "show_version" else "inventory"].append(rel)
    out = []
    for (pdir, _, _), g in sorted(groups.items()):
        versions, inventories = g.get("version", []), g.get("inventory", [])
        if not versions or not inventories:
            continue
        matched = [(v, i) for v in versions for i in inventories if _stem(v) == _stem(i)]
        if not matched and len(versions) == 1 and len(inventories) == 1:
            matched = [(versions[0], inventories[0])]
        out += [Pair(cu.PLATFORMS[pdir], root / v, root / i) for v, i in matched]
    return tuple(out)


def _inventory_command(path: Path) -> str:
    return "admin show inventory" if path.parent.name == "admin_show_inventory" else "show inventory"


def run_pair(pair: Pair) -> PairOutcome:
    return compare_texts(pair.platform, pair.version.read_text(errors="replace"),
                         pair.inventory.read_text(errors="replace"), _inventory_command(pair.inventory), pair)


def compare_texts(platform: str, version_text: str, inventory_text: str, inventory_command: str = "show inventory",
                  pair: Pair | None = None) -> PairOutcome:
    """Compare what ``show version`` states of the hardware with the inventory's rows."""
    import parsers
    from agent.core.models import Capture
    from agent.normalize import canonical_serial, records_from_captures

    out = PairOutcome(pair)  # type: ignore[arg-type]  # None for texts outside the corpus
    facts = parsers.parse(platform, "show version", version_text).facts
    cap = Capture(device="d", platform=platform, transport="ssh", command=inventory_command,
                  output=inventory_text, started=0.0, ended=0.0, id=1)
    comps = records_from_captures("d", platform, [cap]).components

    def compare(what: str, ours: str, theirs: str | None) -> None:
        if theirs is None:
            return
        out.compared += 1
        if ours == theirs:
            out.agreed += 1
        else:
            out.mismatches.append((what, ours, theirs))

    members = facts.get("stack_members") or []
    if members:
        # Members are 'Switch 2' on IOS XE, plain '2' on classic IOS.
        rows = {c.name.removeprefix("Switch ").strip(): c for c in comps if c.cls == "stack-member"}
        for m in members:
            row = rows.get(m["switch"])
            compare(f"switch {m['switch']} pid", m["pid"], row.pid if row else "(no row)")
            if m.get("serial"):
                compare(f"switch {m['switch']} serial", canonical_serial(m["serial"]),
                        row.serial if row else "(no row)")
        return out
    # A single switch of a stackable family is listed as 'Switch 1' (a stack of one).
    chassis = next((c for c in comps if c.cls == "chassis" and c.contractable), None) or \
        next((c for c in comps if c.cls == "stack-member" and c.contractable), None)
    if chassis is not None and facts.get("chassis_pid"):
        # Serials are not compared here: 'show version' names the board (NX-OS, ASA: the
        # supervisor / motherboard), the inventory the chassis; they differ on real devices.
        compare("chassis pid", facts["chassis_pid"], chassis.pid)
    if chassis is not None and facts.get("model") and "Chassis" in facts["model"]:
        # NX-OS names no PID in 'show version', only the chassis ('Nexus9000 C93180YC-FX3 Chassis'):
        # the inventory's chassis row has the same text as its DESCR.
        compare("chassis description", " ".join(facts["model"].split()).casefold(),
                " ".join(chassis.descr.split()).casefold())
    return out
