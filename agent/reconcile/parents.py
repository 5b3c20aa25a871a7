"""Major and minor items, each minor item's parent, and coverage through that parent (issue 14, 2b).

Most of what a network holds is small parts: PSUs, fans, optics, cables.  Cisco covers those
that shipped with a chassis under the chassis's own contract line, so a list that reports every
such part as "on no contract" buries the chassis that really need buying under thousands of
rows that do not.  The rules, applied to reconcile's rows after the statuses are decided:

* **Major or minor.**  A seen item is major or minor by its class (``CLASS_MAJOR``: chassis,
  stack members, supervisors, line cards and FEX are major; PSUs, fans, optics, cables, other
  modules and "other" are minor).  An item whose class says nothing, and every row not in the
  snapshot, takes what the contract export says (``ContractLine.major``: Major/Minor,
  item_position P/C/S, componentType); a line that names a parent is a child.  Else unknown.
* **Parent.**  A minor seen item's parent is the major item it sits in, on the same device: its
  inventory parent, walked up through minor containers (an optic in an uplink module in a
  switch: the switch).  Where the inventory gives none, the contract export's link
  (parent serial, or parent instance id -> that line's serial), if that item is seen on the same
  device; else the device's one chassis or stack member, when it has exactly one.  A row not in
  the snapshot takes its contract line's parent serial.
* **Covered via parent.**  A seen minor item on no contract line of its own (``uncovered``)
  whose parent is ``covered`` or ``expiring`` on a line of its own takes the parent's status,
  contract, service level and period, the flag ``covered-via-parent`` and a reason naming the
  parent and the line it rests on.  It leaves the add list.  A minor item whose parent is
  uncovered, lapsed, past support or swapped keeps its status; ``parent_status`` says why.
  The parent must be seen in this snapshot: absence never covers anything.  Coverage does not
  chain: a parent's own status, as the rules decided it, is what counts.

Cost: linear.  The major items are indexed by (device, name) once, then one loop visits each
minor item, its row and its parent's row; the fallbacks' indexes (minor containers, serials per
device, each device's one root, the contract lines that carry a rank or a link) are built only
when some item needs them.  Nothing compares rows with rows.  At 10^5 items (bench/reconcile.py)
this pass adds 5-13 % to reconcile's own time (docs/ARCHITECTURE.md, "Reconcile and history").
"""
from __future__ import annotations

from itertools import compress, repeat
from operator import attrgetter, is_, is_not
from typing import Sequence

from agent.contracts import ContractLine
from agent.core.models import FleetItem
from agent.reconcile.rows import COVERED, EXPIRING, FLAG_COVERAGE_GAP, FLAG_VIA_PARENT, UNCOVERED, ReconRow

# Component class -> major (True) or minor (False).  Every class of agent.core.models'
# COMPONENT_CLASSES is here (tests/test_parents.py checks it); a class not here is unknown (None).
CLASS_MAJOR: dict[str, bool] = {
    "chassis": True,
    "stack-member": True,
    "supervisor": True,
    "linecard": True,
    "fex": True,
    "module": False,  # network / uplink modules, adapters: not line cards or supervisors
    "psu": False,
    "fan": False,
    "optic": False,
    "other": False,  # stack cables, and what no rule recognised
}

# Where a minor item whose parent the inventory does not name is taken to sit: the device's one
# chassis or stack member (a FEX is a box of its own, whose parts the inventory names).
ROOT_CLASSES = frozenset({"chassis", "stack-member"})
LIVE = frozenset({COVERED, EXPIRING})  # a parent in one of these covers its minor items
MAX_DEPTH = 16  # containers nest a few deep; a longer walk is a loop in the data

_CLASS, _DEVICE, _SERIAL = (attrgetter(a) for a in ("cls", "device", "serial"))
_PARENT_SERIAL, _PARENT_INSTANCE, _MAJOR = (attrgetter(a) for a in ("parent_serial", "parent_instance_id", "major"))


def mark_parents(rows: list[ReconRow], fleet: Sequence[FleetItem], lines: Sequence[ContractLine]) -> None:
    """Fill ``major``, ``parent_serial`` and ``parent_status`` and apply "covered via parent", in
    place.  ``rows[i]`` is ``fleet[i]``'s row for every item (the rules' order); the rows after
    them are the contract keys no item carries."""
    n = len(fleet)
    classes = list(map(_CLASS, fleet))
    try:
        rank_of = {c: CLASS_MAJOR.get(c) for c in set(classes)}
        majors = list(map(rank_of.__getitem__, classes))
    except TypeError:  # a class that is not a string: one by one
        majors = [CLASS_MAJOR.get(c) if isinstance(c, str) else None for c in classes]
    file_rank, file_parent = _line_facts(lines)
    if file_rank and None in majors:  # the item's own class first, the file's where it says nothing
        for i in compress(range(n), map(is_, majors, repeat(None))):
            majors[i] = file_rank.get(rows[i].key)
    for row, major in zip(rows, majors):
        row.major = major
    if file_rank or file_parent:
        _unseen(rows[n:], rows, file_rank, file_parent)

    minors = list(compress(range(n), map(is_, majors, repeat(False))))
    if not minors:
        return
    # Most minor items name a major one as parent ("Switch 1", "Chassis", "0/0/CPU0"): index the
    # major items (a few per device), then one plain loop that visits each minor item, its row
    # and its parent's row once.  At 10^5 rows memory is the cost, not bytecode: the column
    # passes this replaced (one per attribute) took three times as long.
    at: dict[tuple[str, str], int] = {}
    for j in reversed(list(compress(range(n), map(is_, majors, repeat(True))))):
        item = fleet[j]
        if item.name:  # the first of a repeated name wins
            at[(item.device, item.name)] = j
    get = at.get
    # An item whose inventory names no parent goes to the device's one chassis or stack member
    # here, in the same loop, unless the contract export's links come first (``_other_parents``).
    root_of = None  # built when the first such item comes
    reasons: dict[int, str] = {}  # id(parent row) -> the reason its minor items get
    rest: list[int] = []  # minor items for the fallbacks: containers, the file's links, the root
    for i in minors:
        item = fleet[i]
        name = item.parent
        if name:
            j = get((item.device, name))
        elif not file_parent:
            if root_of is None:
                root_of = _roots(fleet, classes).get
            j = root_of(item.device)
            if j is None:
                continue  # no fallback left: nothing names a parent
        else:
            j = None
        if j is None:
            rest.append(i)
            continue
        row, parent = rows[i], rows[j]
        row.parent_serial = parent.serial
        # Parents are major (or of unknown rank) and this pass changes only minor rows, so
        # the parent's status is the rules' own verdict: coverage never chains.
        status = row.parent_status = parent.status
        if status in LIVE and row.status == UNCOVERED:
            _covered_via(row, parent, reasons)
    if rest:
        for i, j in zip(rest, _other_parents(rest, fleet, classes, majors, rows, at, file_parent)):
            if j is not None:
                row, parent = rows[i], rows[j]
                row.parent_serial = parent.serial
                status = row.parent_status = parent.status
                if status in LIVE and row.status == UNCOVERED:
                    _covered_via(row, parent, reasons)


def _other_parents(rest: list[int], fleet: Sequence[FleetItem], classes: list, majors: list,
                   rows: list[ReconRow], at: dict, file_parent: dict[str, str]) -> list[int | None]:
    """The parent row index (None: not known) of each minor item in ``rest`` (whose inventory
    parent, if any, is no major item): up through minor containers to a major item, else the
    contract export's link, else the device's one chassis or stack member.  Each look-up is
    built only when some item needs it."""
    n, m = len(fleet), len(rest)
    found: list[int | None] = [None] * m
    inner = [k for k in range(m) if fleet[rest[k]].parent]
    if inner:  # a minor container in between (an optic in an uplink module): walk up through it
        containers: dict[tuple[str, str], int] = {}
        for j in reversed(list(compress(range(n), map(is_not, majors, repeat(True))))):
            item = fleet[j]
            if item.name:
                containers[(item.device, item.name)] = j
        for k in inner:
            item = fleet[rest[k]]
            found[k] = _walk_up(item.device, item.parent, fleet, at, containers)
        missing = list(compress(range(m), map(is_, found, repeat(None))))
    else:
        missing = list(range(m))
    if missing and file_parent:
        serials = list(map(_SERIAL, rows[:n]))
        devices = list(map(_DEVICE, fleet))
        by_serial = dict(zip(zip(reversed(devices), reversed(serials)), range(n - 1, -1, -1)))
        for k in missing:
            i = rest[k]
            j = by_serial.get((devices[i], file_parent.get(serials[i], "")))
            if j is not None and majors[j] is not False:  # the file's parent, seen here, not itself minor
                found[k] = j
        missing = list(compress(range(m), map(is_, found, repeat(None))))
    if missing:
        root_of = _roots(fleet, classes).get
        for k in missing:
            found[k] = root_of(fleet[rest[k]].device)
    return found


def _roots(fleet: Sequence[FleetItem], classes: list) -> dict[str, int]:
    """device -> the index of its one chassis or stack member (a device with several has none)."""
    try:
        is_root = list(map(ROOT_CLASSES.__contains__, classes))
    except TypeError:
        is_root = [isinstance(c, str) and c in ROOT_CLASSES for c in classes]
    root: dict[str, int] = {}
    several: set[str] = set()
    for j in compress(range(len(fleet)), is_root):
        device = fleet[j].device
        if device in root:
            several.add(device)
        root[device] = j
    for device in several:
        del root[device]
    return root


def _walk_up(device: str, name: str, fleet: Sequence[FleetItem], at: dict, containers: dict) -> int | None:
    """The nearest major item at or above the item named ``name`` on ``device``; None when the
    chain leaves the contractable items (a container without a serial) or loops."""
    for _ in range(MAX_DEPTH):
        j = at.get((device, name))
        if j is not None:
            return j
        j = containers.get((device, name))
        if j is None:
            return None
        name = fleet[j].parent
        if not name:
            return None
    return None


def _line_facts(lines: Sequence[ContractLine]) -> tuple[dict, dict[str, str]]:
    """(key -> major as the file says, serial -> parent serial as the file links it), from the
    lines that say either.  A line naming a parent (serial or instance) is a child: minor.
    Most exports say neither: three C-level passes find that out and nothing is built."""
    by_serial = any(map(_PARENT_SERIAL, lines))
    by_instance = any(map(_PARENT_INSTANCE, lines))
    if not (by_serial or by_instance) and list(map(_MAJOR, lines)).count(None) == len(lines):
        return {}, {}
    instance_serial: dict[str, str] = {}
    if by_instance:
        wanted = set(map(_PARENT_INSTANCE, lines))
        wanted.discard("")
        for ln in lines:
            if ln.instance_id in wanted and ln.serial:
                instance_serial.setdefault(ln.instance_id, ln.serial)
    file_rank: dict = {}
    file_parent: dict[str, str] = {}
    for ln in lines:
        parent = ln.parent_serial or instance_serial.get(ln.parent_instance_id, "")
        if parent == ln.serial:
            parent = ""  # a line that names itself (sn2info's parents do) is no child
        rank = ln.major
        if rank is None and parent:
            rank = False
        if rank is not None:
            file_rank.setdefault(ln.key, rank)
        if parent and ln.serial:
            file_parent.setdefault(ln.serial, parent)
    return file_rank, file_parent


def _unseen(unseen: list[ReconRow], rows: list[ReconRow], file_rank: dict, file_parent: dict[str, str]) -> None:
    """Rows not in the snapshot: rank and parent as their contract line states them; the
    parent's status when some row (a seen one first) carries that serial."""
    wanted: set[str] = set()
    for row in unseen:
        row.major = file_rank.get(row.key)
        parent = file_parent.get(row.serial)
        if parent and row.major is not True:
            row.parent_serial = parent
            wanted.add(parent)
    if not wanted:
        return
    status_of: dict[str, str] = {}
    for row in rows:
        if row.serial in wanted and (row.seen or row.serial not in status_of):
            status_of[row.serial] = row.status  # a seen row's status beats an unseen one's
    for row in unseen:
        if row.parent_serial:
            row.parent_status = status_of.get(row.parent_serial, "")


def _covered_via(row: ReconRow, parent: ReconRow, reasons: dict[int, str]) -> None:
    """A minor item on no line of its own, inside a covered parent: the parent's coverage, said."""
    row.status = parent.status
    row.contract_number, row.service_level = parent.contract_number, parent.service_level
    row.coverage_start, row.coverage_end = parent.coverage_start, parent.coverage_end
    row.contract_site_id, row.contract_site = parent.contract_site_id, parent.contract_site
    row.contract_file, row.contract_row = parent.contract_file, parent.contract_row
    flags = row.flags + (FLAG_VIA_PARENT,)
    if FLAG_COVERAGE_GAP in parent.flags and FLAG_COVERAGE_GAP not in flags:
        flags += (FLAG_COVERAGE_GAP,)  # the parent's line starts later: so does this item's cover
        row.gap_days = parent.gap_days
    row.flags = flags
    why = reasons.get(id(parent))
    if why is None:  # one text per parent: a chassis holds dozens of parts
        where = f" [{parent.contract_file}:{parent.contract_row}]" if parent.contract_file else ""
        why = reasons[id(parent)] = (
            f"covered via parent {parent.serial} {parent.pid or parent.base_pid} "
            f"(contract {parent.contract_number or '(no number)'}, to {parent.coverage_end or 'an unknown end'})"
            f"{where}")
    row.reasons = row.reasons + (why,)
