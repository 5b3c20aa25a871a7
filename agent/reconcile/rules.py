"""Reconciliation: what is on the network vs what is on contract, per (canonical serial, base PID).

``reconcile`` is a pure function of its inputs (no I/O, no clock): the same snapshot, contract
lines, EoX data and as-of date always give the same rows.  Statuses are DESIGN.md's vocabulary;
every row says why, in words, and points back to its evidence (scan, capture, contract file:row).

Rules as implemented (all dates inclusive; "window" = as_of .. as_of + window_days):

* Matching: lines join an item on (serial, base PID).  Lines whose key is not in the snapshot
  join the one item with that serial when exactly one item carries it and the lines name at
  most one base PID (a blank PID counts as none); the row says "matched on serial alone".
  Otherwise they stay unmatched and the items sharing the serial say why.
* A line is *active* on as_of if start <= as_of <= end and the file does not mark it not
  covered; *future* if it starts after as_of; *ended* if end < as_of.
* covered / expiring: the active line that ends last decides; future lines starting by the day
  after it ends extend it (a booked renewal).  expiring if that end is inside the window.
  With no active line, the earliest future line makes the item covered from its start date.
  A line with no end date but not marked uncovered: covered, "expiry unknown".
* lapsed: every line has ended (or the file marks them all not covered).
* uncovered: no line at all, or only "not covered" listings without contract or dates.
* end-of-support (seen items, overrides the above, which stays in the reasons): as_of is past
  LDoS or past End of Service Contract Renewal, from EoX (by PID as read, then base PID, with or
  without '=', -RF mapped, wildcard prefixes) or else from the contract line's own columns.
* Unmatched keys give one row per live (active or future) line, duplicates across files once:
  - last seen (history) on device D: not-seen if D's latest scan was clean, else unverified
    naming D (also when D is no longer in the inventory);
  - never seen: not-seen if every device in scope has a clean collection inside
    ``clean_window_days`` (default: the window); scope = devices whose contract_site_ids hold
    the line's site id, or every device when no device maps any site id (or the line has
    none); unverified naming the devices in the way, or the unmapped site;
  - serial present under another PID (ambiguous): unverified.
  Keys with no live line give one "lapsed" row with seen=False ("nothing to drop"); a mere
  "not covered" listing of something not in the snapshot gives no row.
* rma-swap: a not-seen key whose history slot (last_device, last_slot) holds exactly one
  uncovered item of the same base PID, and vice versa: both rows become rma-swap and name
  each other; several candidates are left alone with a note.

Cost is linear: contract lines are indexed once by key and by serial, devices by name and by
contract site id; nothing compares every item with every line.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from itertools import compress, repeat
from operator import itemgetter
from typing import Iterable, Mapping, Sequence

from agent.contracts import ContractLine, EoxIndex, EoxRecord, canonical_serials, paused_gc, split_pid
from agent.core.models import DeviceScanState, FleetItem, SeenHistory  # noqa: F401  (re-exported: reconcile's inputs)

COVERED = "covered"
EXPIRING = "expiring"
LAPSED = "lapsed"
UNCOVERED = "uncovered"
NOT_SEEN = "not-seen"
UNVERIFIED = "unverified"
RMA_SWAP = "rma-swap"
END_OF_SUPPORT = "end-of-support"
STATUSES = (COVERED, EXPIRING, LAPSED, UNCOVERED, NOT_SEEN, UNVERIFIED, RMA_SWAP, END_OF_SUPPORT)

MATCH_EXACT = "serial+pid"
MATCH_SERIAL = "serial-only"

from agent.core.identity import Key  # noqa: E402,F401  (re-exported)


# ------------------------------------------------------------------ inputs


# ------------------------------------------------------------------ output


@dataclass(slots=True)
class ReconRow:
    """One reconciliation verdict.  Built positionally in the hot paths: keep the field order.
    Not frozen only for build speed (see ContractLine): treat as read-only."""

    status: str
    serial: str
    base_pid: str
    pid: str = ""
    seen: bool = True  # in the latest snapshot
    device: str = ""  # for unseen rows: where history last saw it, if anywhere
    hostname: str = ""
    site: str = ""
    cls: str = ""
    name: str = ""
    slot: str = ""
    contract_number: str = ""
    service_level: str = ""
    coverage_start: date | None = None
    coverage_end: date | None = None
    contract_site_id: str = ""
    ldos: date | None = None
    match: str = ""  # MATCH_EXACT / MATCH_SERIAL / "" (no line)
    swap_with: str = ""  # rma-swap partner as "SERIAL PID"
    blocking_devices: tuple[str, ...] = ()  # unverified: the devices that stand in the way
    scan_id: int | None = None
    capture_id: int | None = None
    contract_file: str = ""
    contract_row: int | None = None
    other_lines: tuple[str, ...] = ()  # further contract lines considered, as "file:row"
    reasons: tuple[str, ...] = ()

    @property
    def key(self) -> Key:
        return (self.serial, self.base_pid)


# ------------------------------------------------------------------ helpers


def _day(value: datetime | date | None) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def _names(devices: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(devices[:limit])
    return shown + (f" and {len(devices) - limit} more" if len(devices) > limit else "")


def _line_identity(line: ContractLine) -> tuple:
    return (line.serial, line.base_pid, line.contract_number, line.instance_id, line.start, line.end,
            line.covered)


def _dedupe(lines: Iterable[ContractLine]) -> list[ContractLine]:
    """The same line exported twice (two files, one overlapping period) counts once."""
    seen: set = set()
    out = []
    for line in lines:
        ident = _line_identity(line)
        if ident not in seen:
            seen.add(ident)
            out.append(line)
    return out


class _Context:
    """The as-of date and window, plus caches shared by every row of one run.

    Reason texts are the bulk of the work at 10^5 rows, so the pieces that repeat (a date as
    text, a PID's EoX limits) are computed once per distinct value.
    """

    def __init__(self, as_of: date, window_days: int, eox: EoxIndex | None):
        self.as_of = as_of
        self.window_days = window_days
        self.window_end = as_of + timedelta(days=window_days)
        self.eox = eox
        self._text: dict[date | None, str] = {None: "?"}
        self._limits: dict[tuple[str, str], tuple] = {}
        self._until: dict[date, tuple[str, str]] = {}
        self._heads: dict[tuple[str, str], str] = {}  # (contract number, service level) -> text

    def day(self, d: date | None) -> str:
        text = self._text.get(d)
        if text is None:
            text = self._text[d] = d.isoformat()
        return text

    def line_text(self, line: ContractLine) -> str:
        contract, level = line.contract_number, line.service_level
        head = self._heads.get((contract, level))
        if head is None:
            head = self._heads[(contract, level)] = (
                (f"contract {contract}" if contract else "(no contract number)") + (f" ({level})" if level else ""))
        start, end = line.start, line.end
        day = self._text.get
        return (f"{head} {day(start) or self.day(start)}..{day(end) or self.day(end)} "
                f"[{line.source_file}:{line.source_row}]")

    def until(self, end: date) -> tuple[str, str]:
        found = self._until.get(end)
        if found is None:
            left = (end - self.as_of).days
            if end <= self.window_end:
                found = (EXPIRING, f"coverage ends {self.day(end)}, within the {self.window_days}-day window "
                                   f"({left} days left)")
            else:
                found = (COVERED, f"covered until {self.day(end)} ({left} days left)")
            self._until[end] = found
        return found

    def assess(self, lines: list[ContractLine]) -> tuple[str, ContractLine | None, list[str], list]:
        """(status, deciding line, reasons, other lines) for the lines matched to one seen item."""
        as_of = self.as_of
        if len(lines) == 1:  # the common cases, without the sorting below
            line = lines[0]
            if line.covered is not False and line.end is not None:
                if line.end >= as_of and (line.start is None or line.start <= as_of):
                    status, verdict = self.until(line.end)
                    return status, line, [f"active: {self.line_text(line)}", verdict], []
                if line.end < as_of:
                    return LAPSED, line, [f"every contract line has ended; the last was {self.line_text(line)}"], []
            elif line.covered is False and (line.contract_number or line.end):  # as the void case below
                return (LAPSED, line, [f"contract file marks its lines not covered ({line.status}); latest "
                                       f"{self.line_text(line)}"], [])
        active, future, ended, undated, void = [], [], [], [], []
        for line in lines:
            if line.covered is False:
                void.append(line)
            elif line.end is None:
                undated.append(line)
            elif line.end < as_of:
                ended.append(line)
            elif line.start is not None and line.start > as_of:
                future.append(line)
            else:
                active.append(line)
        if active or future:
            if len(future) > 1:
                future.sort(key=lambda ln: (ln.start, ln.end))
            if active:
                # The active line that ends last decides (dates inclusive); overlapping lines on
                # other contracts are named so that double-paid coverage is visible.
                best = active[0] if len(active) == 1 else max(
                    active, key=lambda ln: (ln.end, bool(ln.contract_number), ln.start or date.min))
                reasons = [f"active: {self.line_text(best)}"]
            else:
                best = future[0]
                reasons = [f"not covered on {self.day(as_of)}: future-dated {self.line_text(best)} covers it "
                           f"from {self.day(best.start)}"]
            until = best.end
            # Future lines that begin by the day after coverage ends continue it: already renewed.
            for line in future:
                if line is not best and line.start <= until + timedelta(days=1) and line.end > until:
                    reasons.append(f"continued by future-dated {self.line_text(line)}")
                    until = line.end
            for line in active:
                if line is not best and line.contract_number != best.contract_number:
                    reasons.append(f"also active: {self.line_text(line)}")
            status, verdict = self.until(until)
            reasons.append(verdict)
            return status, best, reasons, [ln for ln in lines if ln is not best]
        if undated:
            best = undated[0]
            return (COVERED, best, [f"on {self.line_text(best)}, which gives no end date: expiry unknown"],
                    [ln for ln in lines if ln is not best])
        if ended:
            best = max(ended, key=lambda ln: ln.end)
            return (LAPSED, best, [f"every contract line has ended; the last was {self.line_text(best)}"],
                    [ln for ln in lines if ln is not best])
        best = void[0]
        if any(ln.contract_number or ln.end for ln in void):
            statuses = ", ".join(sorted({ln.status for ln in void if ln.status}))
            return (LAPSED, best, [f"contract file marks its lines not covered ({statuses}); latest "
                                   f"{self.line_text(best)}"], void[1:])
        return UNCOVERED, None, [f"listed as not covered [{best.source_file}:{best.source_row}]"], []

    def eox_limits(self, pid: str, base: str) -> tuple:
        """(LDoS, end of renewal, end of service attach, source, past LDoS or renewal on as_of)
        from EoX alone, once per (PID as read, base PID)."""
        found = self._limits.get((pid, base))
        if found is None:
            rec: EoxRecord | None = None
            if self.eox is not None:
                rec = (self.eox.get(pid) if pid else None) or self.eox.get(base)
            if rec is None:
                found = (None, None, None, "", False)
            else:
                ldos, renewal = rec.last_date_of_support, rec.end_of_service_contract_renewal
                found = (ldos, renewal, rec.end_of_service_attach, f"EoX {rec.bulletin or rec.pid} [{rec.where}]",
                         bool((ldos and self.as_of > ldos) or (renewal and self.as_of > renewal)))
            self._limits[(pid, base)] = found
        return found

    def limits(self, pid: str, base: str, lines: list[ContractLine]) -> tuple:
        """(LDoS, end of renewal, end of service attach, source).  EoX wins over a contract file's
        own LDoS column; the file's value fills in where EoX has none."""
        return _with_line_limits(self.eox_limits(pid, base), lines)


def _with_line_limits(found: tuple, lines: list[ContractLine]) -> tuple:
    """``_Context.limits`` from its EoX part (``_Context.eox_limits``) and the lines."""
    ldos, renewal, attach, source, _ = found
    if ldos is None or renewal is None:
        for line in lines:
            if line.ldos is None and line.end_of_renewal is None:
                continue
            where = f"contract file [{line.source_file}:{line.source_row}]"
            if ldos is None and line.ldos:
                ldos, source = line.ldos, source or where
            if renewal is None and line.end_of_renewal:
                renewal, source = line.end_of_renewal, source or where
    return ldos, renewal, attach, source


# ------------------------------------------------------------------ the function


def reconcile(
    fleet: Sequence[FleetItem],
    devices: Sequence[DeviceScanState],
    lines: Sequence[ContractLine],
    eox: EoxIndex | None,
    as_of: date,
    window_days: int = 90,
    history: Mapping[Key, SeenHistory] | None = None,
    *,
    clean_window_days: int | None = None,
) -> list[ReconRow]:
    """One row per contractable item in ``fleet`` and per contract line matched to none of them.

    ``clean_window_days`` (default ``window_days``) is how recent a clean collection must be for
    a never-seen contract serial to count as absent from its device scope.
    """
    with paused_gc():
        return _reconcile(fleet, devices, lines, eox, as_of, window_days, history or {}, clean_window_days)


def _reconcile(fleet: Sequence[FleetItem], devices: Sequence[DeviceScanState], lines: Sequence[ContractLine],
               eox: EoxIndex | None, as_of: date, window_days: int, history: Mapping[Key, SeenHistory],
               clean_window_days: int | None) -> list[ReconRow]:
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    ctx = _Context(as_of, window_days, eox)
    as_of = ctx.as_of
    clean_since = as_of - timedelta(days=window_days if clean_window_days is None else clean_window_days)

    n = len(fleet)
    pids = [item.pid for item in fleet]
    serials = canonical_serials([item.serial for item in fleet])
    keys: list[Key] = list(zip(serials, _base_pids([item.base_pid for item in fleet], pids)))
    seen_serials = set(serials)
    blanks = serials.count("") if "" in seen_serials else 0  # a serial not read can match nothing
    seen_serials.discard("")

    by_key = _lines_by_key(lines)
    if len(seen_serials) + blanks == n:
        # Every read serial is carried once, so every key too: taking each item's lines out of
        # by_key leaves exactly the keys that no item carries, in order.
        founds = list(map(by_key.pop, keys, repeat(None)))
        unmatched = by_key
    else:
        founds = list(map(by_key.get, keys))
        fleet_keys = {k for k in keys if k[0]} if blanks else set(keys)
        unmatched = {k: v for k, v in by_key.items() if k not in fleet_keys}

    # Serial-only fallback: lines whose (serial, base PID) is not in the snapshot attach to the one
    # seen item with that serial, if there is exactly one and the lines name at most one base PID.
    fallback: dict[int, list[ContractLine]] = {}
    ambiguous: dict[Key, list[int]] = {}  # unmatched key -> seen items with its serial
    orphan_pids: dict[str, set[str]] = defaultdict(set)
    for key in unmatched:
        if key[0] in seen_serials:
            orphan_pids[key[0]].add(key[1])
    carriers: dict[str, list[int]] = {}  # orphan serial -> the items carrying it, in fleet order
    if orphan_pids:
        for i in compress(range(n), map(orphan_pids.__contains__, serials)):
            carriers.setdefault(serials[i], []).append(i)
    items_with = carriers.__getitem__
    consumed: set[Key] = set()
    for serial, pids_seen in orphan_pids.items():
        items = items_with(serial)
        if len(items) == 1 and len({p for p in pids_seen if p}) <= 1:
            fallback[items[0]] = [ln for p in sorted(pids_seen) for ln in _listed(unmatched[(serial, p)])]
            consumed.update((serial, p) for p in pids_seen)
        else:
            for p in pids_seen:
                ambiguous[(serial, p)] = items

    rows: list[ReconRow] = []
    append = rows.append
    uncovered_slots: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    until, day_text, day, line_text = ctx.until, ctx._text.get, ctx.day, ctx.line_text
    until_hit = ctx._until.get
    limits = _item_limits(ctx, pids, keys)
    heads: dict[tuple[str, str], str] = {}  # (contract, level) -> the start of an "active:" reason
    bare: dict[tuple[str, str], tuple] = {}  # (pid, base) -> (status, reasons, LDoS) for an item on no line
    # i, the item's index, is len(rows): every item adds exactly one row, in order.
    for item, key, found, limit in zip(fleet, keys, founds, limits):
        if type(found) is ContractLine:  # the one line with this key
            if not (fallback and len(rows) in fallback):
                # Fast path for most of an estate: one active line, matched exactly, no EoX limit hit.
                # The reason is ctx.line_text's, written out here: this runs 10^5 times.
                line = found
                end = line.end
                if (line.covered is not False and end is not None and line.ldos is None
                        and line.end_of_renewal is None and not limit[4]):
                    start = line.start
                    if end >= as_of and (start is None or start <= as_of):
                        status, verdict = until_hit(end) or until(end)
                        contract, level = line.contract_number, line.service_level
                        head = heads.get((contract, level))
                        if head is None:
                            head = heads[(contract, level)] = (
                                f"active: {f'contract {contract}' if contract else '(no contract number)'}"
                                f"{f' ({level})' if level else ''} ")
                        append(ReconRow(
                            status, key[0], key[1], item.pid, True, item.device, item.hostname, item.site,
                            item.cls, item.name, item.slot, contract, level, start, end, line.site_id, limit[0],
                            MATCH_EXACT, "", (), item.scan_id, item.capture_id, line.source_file,
                            line.source_row, (),
                            (f"{head}{day_text(start) or day(start)}..{day_text(end) or day(end)} "
                             f"[{line.source_file}:{line.source_row}]", verdict)))
                        continue
                    if end < as_of:  # ended: lapsed (ctx.assess's one-line case)
                        append(ReconRow(
                            LAPSED, key[0], key[1], item.pid, True, item.device, item.hostname, item.site,
                            item.cls, item.name, item.slot, line.contract_number, line.service_level, start, end,
                            line.site_id, limit[0], MATCH_EXACT, "", (), item.scan_id, item.capture_id,
                            line.source_file, line.source_row, (),
                            (f"every contract line has ended; the last was {line_text(line)}",)))
                        continue
            matched = [found]
        elif found is not None:
            matched = found if type(found) is list else [found]  # (a line of another class: no shortcuts)
        elif key[0] and key[0] not in orphan_pids:  # (then not in fallback either)
            # On no contract line at all: the verdict depends on the PID alone.
            pid = item.pid
            found = bare.get((pid, key[1]))
            if found is None:
                found = bare[(pid, key[1])] = _bare_verdict(ctx, pid, key[1])
            status, reasons, ldos = found
            if status == UNCOVERED and item.slot and item.device:
                uncovered_slots[(item.device, item.slot, key[1])].append(len(rows))
            append(ReconRow(status, key[0], key[1], pid, True, item.device, item.hostname, item.site, item.cls,
                            item.name, item.slot, "", "", None, None, "", ldos, "", "", (), item.scan_id,
                            item.capture_id, "", None, (), reasons))
            continue
        else:
            matched = None
        i = len(rows)
        notes: list[str] = []
        match = MATCH_EXACT if matched else ""
        loose = fallback.get(i)
        if loose:
            pids = ", ".join(sorted({ln.base_pid or "(none)" for ln in loose}))
            if matched:
                notes.append(f"further lines matched on serial alone (contract PID {pids})")
                matched = matched + loose
            else:
                match, matched = MATCH_SERIAL, loose
                notes.append(f"matched on serial alone: contract PID {pids} vs {key[1] or '(none)'} seen; "
                             f"{key[0]} is unique in the snapshot")
        elif not matched and key[0] in orphan_pids:
            notes.append(_ambiguity_note(key, orphan_pids[key[0]], items_with(key[0]), fleet, keys))
        row = _seen_row(ctx, item, key, matched or [], match, notes, limit)
        append(row)
        if row.status == UNCOVERED and item.slot and item.device:
            uncovered_slots[(item.device, item.slot, key[1])].append(i)
    del limits, founds

    scope = _Scope(devices, clean_since)
    unseen_at: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    if unmatched:
        get_hist, verdict, verdicts = history.get, scope.verdict, scope._verdicts.get
        history_verdict = scope.history_verdict
        # Keys no seen item carries, in the order of the contract lines.
        for key, found in unmatched.items():
            if consumed and key in consumed:
                continue
            hist = get_hist(key)
            if type(found) is ContractLine and not (ambiguous and key in ambiguous):
                # One line: _unseen_rows' case for it, written out.
                line = found
                end = line.end
                if line.covered is not False and (end is None or end >= as_of):  # live
                    if hist is None:
                        last_device = last_slot = ""
                    else:
                        last_device, last_slot = hist.last_device, hist.last_slot
                    status, blocking, why, scan_id = (history_verdict(hist) if last_device else
                                                      verdicts(line.site_id) or verdict(line.site_id))
                    start = line.start
                    append(ReconRow(
                        status, key[0], key[1], line.pid, False, last_device, "", line.site_name, "", "",
                        last_slot, line.contract_number, line.service_level, start, end, line.site_id, line.ldos,
                        "", "", blocking, scan_id, None, line.source_file, line.source_row, (),
                        (f"future-dated: {line_text(line)}" if start and start > as_of
                         else f"active: {line_text(line)}", why)))
                    if status == NOT_SEEN and last_device and last_slot:
                        unseen_at[(last_device, last_slot, key[1])].append(len(rows) - 1)
                    continue
            key_lines = _dedupe(found) if type(found) is list else [found]
            for row in _unseen_rows(ctx, key, key_lines, hist, ambiguous.get(key), fleet, scope):
                append(row)
                if row.status == NOT_SEEN and hist and hist.last_device and hist.last_slot:
                    unseen_at[(hist.last_device, hist.last_slot, key[1])].append(len(rows) - 1)

    _pair_rma_swaps(rows, uncovered_slots, unseen_at)
    return rows


def _item_limits(ctx: _Context, pids: Sequence[str], keys: list[Key]) -> list[tuple]:
    """``ctx.eox_limits(pid, base)`` for every item.  The base PID is nearly always the one the
    item's own PID gives, so the limits are looked up per distinct PID string; the items where
    that does not hold (a base PID from elsewhere, or no PID) go by (PID, base) pairs."""
    if ctx.eox is None or not len(ctx.eox):
        return [(None, None, None, "", False)] * len(pids)
    bases = list(map(itemgetter(1), keys))
    try:
        distinct = set(pids)
    except TypeError:
        distinct = None
    if distinct is not None:
        own_base = {p: split_pid(p)[1] for p in distinct}
        if list(map(own_base.__getitem__, pids)) == bases:
            by_pid = {p: ctx.eox_limits(p, b) for p, b in own_base.items()}
            return list(map(by_pid.__getitem__, pids))
    return [ctx.eox_limits(p, b) for p, b in zip(pids, bases)]


def _base_pids(given: Sequence[str], pids: Sequence[str]) -> list[str]:
    """Each item's base PID (from its ``base_pid``, else its ``pid``), converted once per distinct
    value."""
    if not all(given):
        given = [b or p for b, p in zip(given, pids)]
    try:
        table = {v: split_pid(v)[1] for v in set(given)}
    except TypeError:  # not a string (nor anything hashable): one by one
        return [split_pid(v)[1] for v in given]
    return list(map(table.__getitem__, given))


def _lines_by_key(lines: Sequence[ContractLine]) -> dict[Key, ContractLine | list[ContractLine]]:
    """(serial, base PID) -> its line, or a list of its lines (in input order) when several share
    the key; keys in order of first appearance; lines without a serial are left out."""
    by_key: dict[Key, ContractLine | list[ContractLine]] = {}
    get = by_key.get
    for line in lines:
        if line.serial:
            key = (line.serial, line.base_pid)
            found = get(key)
            if found is None:
                by_key[key] = line
            elif type(found) is list:
                found.append(line)
            else:
                by_key[key] = [found, line]
    return by_key


def _listed(found: ContractLine | list[ContractLine]) -> list[ContractLine]:
    return found if type(found) is list else [found]


def _bare_verdict(ctx: _Context, pid: str, base: str) -> tuple[str, tuple[str, ...], date | None]:
    """(status, reasons, LDoS) for a seen item that no contract line names (see ``_seen_row``)."""
    row = _seen_row(ctx, FleetItem("", base, pid), ("-", base), [], "", [], ctx.eox_limits(pid, base))
    return row.status, row.reasons, row.ldos


def _ambiguity_note(key: Key, pids: set[str], same_serial: list[int], fleet: Sequence[FleetItem],
                    keys: list[Key]) -> str:
    serial = key[0]
    others = [fleet[j] for j in same_serial if keys[j] != key]
    why = (f"{len(same_serial)} items in the snapshot share this serial" if len(same_serial) > 1
           else "the contract names several PIDs")
    also = (" (also seen: " + ", ".join(f"{o.base_pid} on {o.device}" for o in others) + ")") if others else ""
    return (f"contract lines exist for serial {serial} under PID "
            f"{', '.join(sorted(p or '(none)' for p in pids))}, not matched: {why}{also}")


def _seen_row(ctx: _Context, item: FleetItem, key: Key, lines: list[ContractLine], match: str,
              notes: list[str], eox_limits: tuple) -> ReconRow:
    """``eox_limits``: ``ctx.eox_limits(item.pid, base)``."""
    serial, base = key
    if not serial:
        status, line, reasons, others = (UNCOVERED, None,
                                         ["no serial number was read from the device: cannot be matched"], [])
    elif lines:
        status, line, reasons, others = ctx.assess(lines)
    else:
        status, line, reasons, others = UNCOVERED, None, ["on no contract line"], []
    if notes:
        reasons = notes + reasons
    ldos, renewal, attach, source = _with_line_limits(eox_limits, lines)
    as_of = ctx.as_of
    if (ldos and as_of > ldos) or (renewal and as_of > renewal):
        reasons.append(f"coverage state: {status}")
        if ldos and as_of > ldos:
            reasons.append(f"past Last Date of Support {ctx.day(ldos)} ({source})")
        if renewal and as_of > renewal:
            reasons.append(f"past End of Service Contract Renewal {ctx.day(renewal)} ({source}): "
                           "cannot be renewed")
        status = END_OF_SUPPORT
    elif status == UNCOVERED and attach and as_of > attach:
        reasons.append(f"past End of Service Attach {ctx.day(attach)} ({source}): cannot be added to a contract")
    # Positional: ReconRow's field order.  Keyword construction costs 3x at 10^5 rows.
    if line is None:
        return ReconRow(status, serial, base, item.pid, True, item.device, item.hostname, item.site, item.cls,
                        item.name, item.slot, "", "", None, None, "", ldos, "", "", (), item.scan_id,
                        item.capture_id, "", None, (), tuple(reasons))
    return ReconRow(status, serial, base, item.pid, True, item.device, item.hostname, item.site, item.cls,
                    item.name, item.slot, line.contract_number, line.service_level, line.start, line.end,
                    line.site_id, ldos, match, "", (), item.scan_id, item.capture_id, line.source_file,
                    line.source_row, _wheres(others), tuple(reasons))


class _Scope:
    """Answers "was this absent serial's scope collected cleanly?", cached per contract site id."""

    def __init__(self, devices: Sequence[DeviceScanState], clean_since: date):
        self.by_name = {d.device: d for d in devices}
        self.by_site: dict[str, list[DeviceScanState]] = defaultdict(list)
        for d in devices:
            for site_id in d.contract_site_ids:
                self.by_site[str(site_id).strip()].append(d)
        self.mapped = bool(self.by_site)
        self.devices = list(devices)
        self.clean_since = clean_since
        self._cache: dict[str, tuple[list[DeviceScanState], list[str]]] = {}
        self._verdicts: dict[str, tuple[str, tuple[str, ...], str, int | None]] = {}
        self._history: dict[tuple, tuple[str, tuple[str, ...], str, int | None]] = {}

    def verdict(self, site_id: str) -> tuple[str, tuple[str, ...], str, int | None]:
        """(status, blocking devices, reason, proving scan id) for a never-seen serial installed at
        ``site_id``; the scan id is set when every device in scope was last collected by one scan."""
        found = self._verdicts.get(site_id)
        if found is None:
            in_scope, stale = self.check(site_id)
            what = f"install site {site_id}" if self.mapped and site_id else "the whole fleet"
            if not in_scope:
                found = (UNVERIFIED, (), f"never seen; {what} maps to no device in the inventory, so nothing "
                                         "was looked at", None)
            elif stale:
                found = (UNVERIFIED, tuple(stale), f"never seen; {len(stale)} of {len(in_scope)} device(s) for "
                                                   f"{what} not collected cleanly since {self.clean_since}: "
                                                   f"{_names(stale)}", None)
            else:
                scans = {d.latest_scan_id for d in in_scope}
                found = (NOT_SEEN, (), f"never seen; all {len(in_scope)} device(s) for {what} collected "
                                       f"cleanly since {self.clean_since}: drop candidate",
                         scans.pop() if len(scans) == 1 else None)
            self._verdicts[site_id] = found
        return found

    def history_verdict(self, hist: SeenHistory) -> tuple[str, tuple[str, ...], str, int | None]:
        """(status, blocking devices, reason, proving scan id) for a serial that history last saw on
        a device (``hist.last_device``), once per (device, slot, last seen)."""
        key = (hist.last_device, hist.last_slot, hist.last_seen)
        found = self._history.get(key)
        if found is None:
            device = hist.last_device
            dev = self.by_name.get(device)
            where = f"{device}" + (f" {hist.last_slot}" if hist.last_slot else "")
            when = f" on {_day(hist.last_seen)}" if hist.last_seen else ""
            if dev is None:
                found = (UNVERIFIED, (device,), f"last seen in {where}{when}; {device} is not in the current "
                                                "inventory, so its absence is not proven", None)
            elif not dev.latest_scan_clean:
                found = (UNVERIFIED, (device,), f"last seen in {where}{when}; the latest scan of {device} was not "
                                                "clean, so its absence is not proven", None)
            else:
                scan = f" (scan {dev.latest_scan_id})" if dev.latest_scan_id is not None else ""
                found = (NOT_SEEN, (), f"last seen in {where}{when}; {device} was collected cleanly in the "
                                       f"latest scan{scan} without it: drop candidate", dev.latest_scan_id)
            self._history[key] = found
        return found

    def check(self, site_id: str) -> tuple[list[DeviceScanState], list[str]]:
        """(devices in scope, names of those not collected cleanly since ``clean_since``)."""
        key = site_id if self.mapped and site_id else ""
        hit = self._cache.get(key)
        if hit is None:
            scope = self.by_site.get(key, []) if key else self.devices
            stale = [d.device for d in scope
                     if d.last_clean_scan_at is None or _day(d.last_clean_scan_at) < self.clean_since]
            hit = self._cache[key] = (scope, stale)
        return hit


def _unseen_rows(ctx: _Context, key: Key, lines: list[ContractLine], hist: SeenHistory | None,
                 seen_as: list[int] | None, fleet: Sequence[FleetItem], scope: _Scope) -> list[ReconRow]:
    """Rows for a contract key that matched no seen item: one per live (active or future) line."""
    serial, base = key
    as_of = ctx.as_of
    live = [ln for ln in lines if ln.covered is not False and (ln.end is None or ln.end >= as_of)]
    if not live:
        dated = [ln for ln in lines if ln.contract_number or ln.end]
        if not dated:
            return []  # a "not covered" listing of something we do not have: nothing to say
        best = max(dated, key=lambda ln: ln.end or date.min)
        return [_unseen_row(LAPSED, key, best, [ln for ln in dated if ln is not best], hist,
                            [f"not in the latest snapshot, and no live line: last was {ctx.line_text(best)}; "
                             "nothing to drop"], ())]

    if seen_as:
        # The serial is on the network under another PID: absent as this item is not proven.
        seen = [fleet[i] for i in seen_as]
        absence = (UNVERIFIED, (), f"serial {serial} is in the snapshot as "
                   + ", ".join(f"{it.base_pid or '(no PID)'} on {it.device}" for it in seen)
                   + f", not as {base or '(no PID)'}: several candidates, so no match was made", None)
    elif hist and hist.last_device:
        absence = scope.history_verdict(hist)
    else:
        absence = None  # by the line's install site
    last_device, last_slot = (hist.last_device, hist.last_slot) if hist else ("", "")
    rows = []
    for line in live:
        start = line.start
        status, blocking, why, scan_id = absence or scope.verdict(line.site_id)
        rows.append(ReconRow(
            status, serial, base, line.pid, False, last_device, "", line.site_name, "", "", last_slot,
            line.contract_number, line.service_level, start, line.end, line.site_id, line.ldos, "", "", blocking,
            scan_id, None, line.source_file, line.source_row, _wheres([ln for ln in lines if ln is not line]),
            (f"future-dated: {ctx.line_text(line)}" if start and start > as_of else f"active: {ctx.line_text(line)}",
             why)))
    return rows


def _unseen_row(status: str, key: Key, line: ContractLine, others: list[ContractLine],
                hist: SeenHistory | None, reasons: list[str], blocking: tuple[str, ...],
                scan_id: int | None = None) -> ReconRow:
    # Positional, in ReconRow's field order (see _seen_row).  scan_id: the clean scan that
    # proves the absence, when one scan does.
    return ReconRow(
        status, key[0], key[1], line.pid, False, hist.last_device if hist else "", "", line.site_name, "", "",
        hist.last_slot if hist else "", line.contract_number, line.service_level, line.start, line.end,
        line.site_id, line.ldos, "", "", blocking, scan_id, None, line.source_file, line.source_row,
        _wheres(others), tuple(reasons))


def _wheres(lines: list[ContractLine]) -> tuple[str, ...]:
    return tuple([f"{ln.source_file}:{ln.source_row}" for ln in lines]) if lines else ()


def _pair_rma_swaps(rows: list, uncovered: Mapping[tuple[str, str, str], list[int]],
                    unseen: Mapping[tuple[str, str, str], list[int]]) -> None:
    """A contract serial gone from a slot and an uncovered serial of the same base PID now in that
    slot: the part was replaced (RMA), so the contract should move to the new serial."""
    for place, gone in unseen.items():
        new = uncovered.get(place)
        if not new:
            continue
        gone_keys = {rows[i].key for i in gone}
        device, slot, pid = place
        if len(gone_keys) != 1 or len(new) != 1:
            note = (f"possible RMA swap in {device} {slot} ({pid}) not paired: "
                    f"{len(gone_keys)} missing and {len(new)} uncovered candidates")
            for i in list(gone) + list(new):
                rows[i] = _with(rows[i], reasons=rows[i].reasons + (note,))
            continue
        new_row = rows[new[0]]
        old = rows[gone[0]]
        old_contracts = sorted({rows[i].contract_number for i in gone if rows[i].contract_number})
        for i in gone:
            rows[i] = _with(rows[i], status=RMA_SWAP, swap_with=f"{new_row.serial} {new_row.base_pid}",
                            reasons=rows[i].reasons + (
                                f"replaced in {device} {slot} by uncovered {new_row.serial} ({pid}): "
                                "transfer the contract to it",))
        rows[new[0]] = _with(new_row, status=RMA_SWAP, swap_with=f"{old.serial} {old.base_pid}",
                             reasons=new_row.reasons + (
                                 f"replaces {old.serial} ({pid}) in {device} {slot}, which is on contract "
                                 f"{', '.join(old_contracts) or '(no number)'} and no longer seen: transfer "
                                 "that contract to this serial",))


def _with(row: ReconRow, **changes) -> ReconRow:
    return replace(row, **changes)


def count_by_status(rows: Iterable[ReconRow]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for status, n in Counter([row.status for row in rows]).items():  # in order of first appearance
        counts[status] = counts.get(status, 0) + n
    return counts
