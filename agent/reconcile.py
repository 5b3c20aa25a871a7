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

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Iterable, Mapping, Sequence

from agent.contracts import ContractLine, canonical_serial, paused_gc, split_pid
from agent.eox import EoxIndex, EoxRecord

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

Key = tuple[str, str]


# ------------------------------------------------------------------ inputs


@dataclass(slots=True)
class FleetItem:
    """One contractable physical item in the latest snapshot."""

    serial: str
    base_pid: str
    pid: str = ""
    device: str = ""
    hostname: str = ""
    site: str = ""
    cls: str = ""
    name: str = ""
    parent: str = ""
    scan_id: int | None = None
    capture_id: int | None = None
    slot: str = ""  # position in the device ("Switch 2", "slot 3", "PS1"): rma-swap pairs on it


@dataclass(slots=True)
class DeviceScanState:
    device: str
    site: str = ""
    contract_site_ids: tuple[str, ...] = ()
    last_clean_scan_at: datetime | date | None = None
    latest_scan_clean: bool = False
    latest_scan_id: int | None = None


@dataclass(slots=True)
class SeenHistory:
    first_seen: datetime | date | None = None
    last_seen: datetime | date | None = None
    last_device: str = ""
    last_slot: str = ""


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

    def day(self, d: date | None) -> str:
        text = self._text.get(d)
        if text is None:
            text = self._text[d] = d.isoformat()
        return text

    def line_text(self, line: ContractLine) -> str:
        contract = f"contract {line.contract_number}" if line.contract_number else "(no contract number)"
        level = f" ({line.service_level})" if line.service_level else ""
        return (f"{contract}{level} {self.day(line.start)}..{self.day(line.end)} "
                f"[{line.source_file}:{line.source_row}]")

    def until(self, end: date) -> tuple[str, str]:
        left = (end - self.as_of).days
        if end <= self.window_end:
            return EXPIRING, (f"coverage ends {self.day(end)}, within the {self.window_days}-day window "
                              f"({left} days left)")
        return COVERED, f"covered until {self.day(end)} ({left} days left)"

    def assess(self, lines: list[ContractLine]) -> tuple[str, ContractLine | None, list[str], list]:
        """(status, deciding line, reasons, other lines) for the lines matched to one seen item."""
        as_of = self.as_of
        if len(lines) == 1:  # the common case, without the sorting below
            line = lines[0]
            if (line.covered is not False and line.end is not None and line.end >= as_of
                    and (line.start is None or line.start <= as_of)):
                status, verdict = self.until(line.end)
                return status, line, [f"active: {self.line_text(line)}", verdict], []
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
            future.sort(key=lambda ln: (ln.start, ln.end))
            if active:
                # The active line that ends last decides (dates inclusive); overlapping lines on
                # other contracts are named so that double-paid coverage is visible.
                best = max(active, key=lambda ln: (ln.end, bool(ln.contract_number), ln.start or date.min))
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

    def limits(self, pid: str, base: str, lines: list[ContractLine]) -> tuple:
        """(LDoS, end of renewal, end of service attach, source).  EoX wins over a contract file's
        own LDoS column; the file's value fills in where EoX has none."""
        found = self._limits.get((pid, base))
        if found is None:
            rec: EoxRecord | None = None
            if self.eox is not None:
                rec = (self.eox.get(pid) if pid else None) or self.eox.get(base)
            if rec is None:
                found = (None, None, None, "")
            else:
                found = (rec.last_date_of_support, rec.end_of_service_contract_renewal, rec.end_of_service_attach,
                         f"EoX {rec.bulletin or rec.pid} [{rec.where}]")
            self._limits[(pid, base)] = found
        ldos, renewal, attach, source = found
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

    keys: list[Key] = []
    first_with: dict[str, int] = {}  # serial -> first item carrying it
    shared: dict[str, list[int]] = {}  # serial -> every item, only for serials seen more than once
    for i, item in enumerate(fleet):
        serial = canonical_serial(item.serial)
        keys.append((serial, split_pid(item.base_pid or item.pid)[1]))
        if serial:  # an item whose serial was not read can match nothing
            j = first_with.setdefault(serial, i)
            if j != i:
                shared.setdefault(serial, [j]).append(i)
    fleet_keys = {k for k in keys if k[0]}

    def items_with(serial: str) -> list[int]:
        return shared.get(serial) or [first_with[serial]]

    by_key: dict[Key, list[ContractLine]] = {}
    for line in lines:
        if line.serial:
            key = (line.serial, line.base_pid)
            found = by_key.get(key)
            if found is None:
                by_key[key] = [line]
            else:
                found.append(line)

    # Serial-only fallback: lines whose (serial, base PID) is not in the snapshot attach to the one
    # seen item with that serial, if there is exactly one and the lines name at most one base PID.
    fallback: dict[int, list[ContractLine]] = {}
    ambiguous: dict[Key, list[int]] = {}  # unmatched key -> seen items with its serial
    orphan_pids: dict[str, set[str]] = defaultdict(set)
    for key in by_key.keys() - fleet_keys:
        if key[0] in first_with:
            orphan_pids[key[0]].add(key[1])
    consumed: set[Key] = set()
    for serial, pids in orphan_pids.items():
        items = items_with(serial)
        if len(items) == 1 and len({p for p in pids if p}) <= 1:
            fallback[items[0]] = [ln for p in sorted(pids) for ln in by_key[(serial, p)]]
            consumed.update((serial, p) for p in pids)
        else:
            for p in pids:
                ambiguous[(serial, p)] = items

    rows: list[ReconRow] = []
    uncovered_slots: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    line_text, until, limits = ctx.line_text, ctx.until, ctx.limits
    for i, item in enumerate(fleet):
        key = keys[i]
        matched = by_key.get(key) if key[0] else None
        if matched is not None and len(matched) == 1 and i not in fallback:
            # Fast path for most of an estate: one active line, matched exactly, no EoX limit hit.
            line = matched[0]
            end = line.end
            if (line.covered is not False and end is not None and end >= as_of
                    and (line.start is None or line.start <= as_of)):
                ldos, renewal, _, _ = limits(item.pid, key[1], matched)
                if not ((ldos and as_of > ldos) or (renewal and as_of > renewal)):
                    status, verdict = until(end)
                    rows.append(ReconRow(
                        status, key[0], key[1], item.pid, True, item.device, item.hostname, item.site, item.cls,
                        item.name, item.slot, line.contract_number, line.service_level, line.start, end,
                        line.site_id, ldos, MATCH_EXACT, "", (), item.scan_id, item.capture_id, line.source_file,
                        line.source_row, (), (f"active: {line_text(line)}", verdict)))
                    continue
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
        row = _seen_row(ctx, item, key, matched or [], match, notes)
        rows.append(row)
        if row.status == UNCOVERED and item.slot and item.device:
            uncovered_slots[(item.device, item.slot, key[1])].append(i)

    scope = _Scope(devices, clean_since)
    unseen_at: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for key, key_lines in by_key.items():
        if key in fleet_keys or key in consumed:
            continue
        hist = history.get(key)
        if len(key_lines) > 1:
            key_lines = _dedupe(key_lines)
        for row in _unseen_rows(ctx, key, key_lines, hist, ambiguous.get(key), fleet, scope):
            rows.append(row)
            if row.status == NOT_SEEN and hist and hist.last_device and hist.last_slot:
                unseen_at[(hist.last_device, hist.last_slot, key[1])].append(len(rows) - 1)

    _pair_rma_swaps(rows, uncovered_slots, unseen_at)
    return rows


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
              notes: list[str]) -> ReconRow:
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
    ldos, renewal, attach, source = ctx.limits(item.pid, base, lines)
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
                    line.source_row, tuple(f"{ln.source_file}:{ln.source_row}" for ln in others),
                    tuple(reasons))


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

    rows = []
    for line in live:
        reasons: list[str] = []
        if line.start and line.start > as_of:
            reasons.append(f"future-dated: {ctx.line_text(line)}")
        else:
            reasons.append(f"active: {ctx.line_text(line)}")
        blocking: tuple[str, ...] = ()
        scan_id = None
        if seen_as:
            # The serial is on the network under another PID: absent as this item is not proven.
            status = UNVERIFIED
            seen = [fleet[i] for i in seen_as]
            reasons.append(f"serial {serial} is in the snapshot as "
                           + ", ".join(f"{it.base_pid or '(no PID)'} on {it.device}" for it in seen)
                           + f", not as {base or '(no PID)'}: several candidates, so no match was made")
        elif hist and hist.last_device:
            dev = scope.by_name.get(hist.last_device)
            where = f"{hist.last_device}" + (f" {hist.last_slot}" if hist.last_slot else "")
            when = f" on {_day(hist.last_seen)}" if hist.last_seen else ""
            if dev is None:
                status, blocking = UNVERIFIED, (hist.last_device,)
                reasons.append(f"last seen in {where}{when}; {hist.last_device} is not in the current "
                               "inventory, so its absence is not proven")
            elif not dev.latest_scan_clean:
                status, blocking = UNVERIFIED, (hist.last_device,)
                reasons.append(f"last seen in {where}{when}; the latest scan of {hist.last_device} was not "
                               "clean, so its absence is not proven")
            else:
                status, scan_id = NOT_SEEN, dev.latest_scan_id
                scan = f" (scan {dev.latest_scan_id})" if dev.latest_scan_id is not None else ""
                reasons.append(f"last seen in {where}{when}; {hist.last_device} was collected cleanly in the "
                               f"latest scan{scan} without it: drop candidate")
        else:
            status, blocking, why, scan_id = scope.verdict(line.site_id)
            reasons.append(why)
        others = [ln for ln in lines if ln is not line]
        rows.append(_unseen_row(status, key, line, others, hist, reasons, blocking, scan_id))
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
        tuple(f"{ln.source_file}:{ln.source_row}" for ln in others), tuple(reasons))


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
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts
