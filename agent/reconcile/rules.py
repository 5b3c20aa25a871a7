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
  after it ends extend it (a booked renewal), and the last of them is the row's line (contract,
  period, evidence), so a renewal is quoted after it.  expiring if that end is inside the window.  A
  future line that starts later leaves a gap: flag coverage-gap, ``gap_days`` = the days
  uncovered in between, status kept (covered today).
  A line with no end date but not marked uncovered: covered, "expiry unknown".
* coverage gap: with no active line, only future ones, the item is not covered today:
  uncovered, flag coverage-gap, ``gap_days`` = days until the earliest future line starts
  (uncovered rather than covered-with-a-flag: it must land on a list that makes someone act,
  add, and never on renew as if covered).
* lapsed: every line has ended (or the file marks them all not covered and none of them has
  live dates); a seen lapsed item is flagged needs-recertification (reinstate list).
* uncovered: no line at all, only "not covered" listings without contract or dates, or a line
  the file marks not covered whose dates are live today (the reason names file:row and the
  file's words).  Past End of Service Attach: flag cannot-attach, status kept (the item is not
  on a contract; it only cannot be added to one).
* milestones on every row, seen and unseen: end of sale, End of Service Contract Renewal, End
  of Service Attach, LDoS (EoX; the contract line's own LDoS / renewal columns where EoX has
  none) with their source (``milestone_source``).  Each that falls inside the window (as_of <=
  day <= as_of + window; on as_of it is the last day, not yet passed) adds its *-soon flag and a
  reason naming the date and the days left, placed before the verdict (the last reason).
* site is the inventory's on every row: for unseen keys the site of the device history last
  saw it on, else of the devices mapping the line's install site id when they share one site,
  else ""; the contract's install site name is in ``contract_site``.
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
from datetime import date, datetime, timedelta
from itertools import compress, repeat
from operator import itemgetter
from typing import Mapping, Sequence

from agent.contracts import ContractLine, canonical_serials, paused_gc, split_pid
from agent.contracts import EoxIndex
from agent.core.identity import Key
from agent.core.models import DeviceScanState, FleetItem, SeenHistory
from agent.reconcile.context import NO_LIMITS, Context, dedupe, with_line_limits
from agent.reconcile.parents import mark_parents
from agent.reconcile.rows import (
    END_OF_SUPPORT, FLAG_ATTACH_PASSED, FLAG_RECERT, LAPSED, MATCH_EXACT, MATCH_SERIAL, NOT_SEEN, UNCOVERED,
    ReconRow,
)
from agent.reconcile.stale import DEFAULT_MAX_AGE_DAYS, mark_stale, stale_devices
from agent.reconcile.unseen import Scope, pair_rma_swaps, unseen_milestones, unseen_rows, wheres

RECERT = "reinstating needs re-certification: a lapsed item is inspected before it can be covered again"
_RECERT_FLAGS = (FLAG_RECERT,)


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
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
) -> list[ReconRow]:
    """One row per contractable item in ``fleet`` and per contract line matched to none of them.

    ``clean_window_days`` (default ``window_days``) is how recent a clean collection must be for
    a never-seen contract serial to count as absent from its device scope.  ``max_age_days`` is
    how old a device's last good collection may be (unless the device carries its own limit)
    before its items rest on stale evidence: they keep their status, marked, and the device
    never proves an absence.
    """
    with paused_gc():
        rows = _reconcile(fleet, devices, lines, eox, as_of, window_days, history or {}, clean_window_days,
                          max_age_days)
    return rows


def _reconcile(fleet: Sequence[FleetItem], devices: Sequence[DeviceScanState], lines: Sequence[ContractLine],
               eox: EoxIndex | None, as_of: date, window_days: int, history: Mapping[Key, SeenHistory],
               clean_window_days: int | None, max_age_days: int) -> list[ReconRow]:
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    ctx = Context(as_of, window_days, eox)
    as_of = ctx.as_of
    clean_since = as_of - timedelta(days=window_days if clean_window_days is None else clean_window_days)
    stale = stale_devices(devices, as_of, max_age_days)

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
                        reasons = (f"{head}{day_text(start) or day(start)}..{day_text(end) or day(end)} "
                                   f"[{line.source_file}:{line.source_row}]", verdict)
                        if limit is NO_LIMITS:  # most items: no milestone fields to pass (cheaper call)
                            append(ReconRow(
                                status, key[0], key[1], item.pid, True, item.device, item.hostname, item.site,
                                item.cls, item.name, item.slot, contract, level, start, end, line.site_id, None,
                                MATCH_EXACT, "", (), item.scan_id, item.capture_id, line.source_file,
                                line.source_row, (), reasons, None, line.site_name))
                        else:
                            append(ReconRow(
                                status, key[0], key[1], item.pid, True, item.device, item.hostname, item.site,
                                item.cls, item.name, item.slot, contract, level, start, end, line.site_id,
                                limit[0], MATCH_EXACT, "", (), item.scan_id, item.capture_id, line.source_file,
                                line.source_row, (), reasons, None, line.site_name, limit[5], limit[1], limit[2],
                                (), None, None, "", "", limit[3]))
                        continue
                    if end < as_of:  # ended: lapsed (ctx.assess's one-line case)
                        append(ReconRow(
                            LAPSED, key[0], key[1], item.pid, True, item.device, item.hostname, item.site,
                            item.cls, item.name, item.slot, line.contract_number, line.service_level, start, end,
                            line.site_id, limit[0], MATCH_EXACT, "", (), item.scan_id, item.capture_id,
                            line.source_file, line.source_row, (),
                            (f"every contract line has ended; the last was {line_text(line)}", RECERT),
                            None, line.site_name, limit[5], limit[1], limit[2], _RECERT_FLAGS, None, None, "", "",
                            limit[3]))
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
            status, reasons, ldos, sale, renewal, attach, flags, source = found
            if status == UNCOVERED and item.slot and item.device:
                uncovered_slots[(item.device, item.slot, key[1])].append(len(rows))
            append(ReconRow(status, key[0], key[1], pid, True, item.device, item.hostname, item.site, item.cls,
                            item.name, item.slot, "", "", None, None, "", ldos, "", "", (), item.scan_id,
                            item.capture_id, "", None, (), reasons, None, "", sale, renewal, attach, flags, None,
                            None, "", "", source))
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

    scope = Scope(devices, clean_since, stale)
    unseen_at: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    if unmatched:
        get_hist, verdict, verdicts = history.get, scope.verdict, scope._verdicts.get
        history_verdict, site_of, site_hit = scope.history_verdict, scope.site_of, scope._sites.get
        limits_hit, eox_limits = ctx._limits.get, ctx.eox_limits
        # Keys no seen item carries, in the order of the contract lines.
        for key, found in unmatched.items():
            if consumed and key in consumed:
                continue
            hist = get_hist(key)
            if type(found) is ContractLine and not (ambiguous and key in ambiguous):
                # One line: unseen_rows' case for it, written out.
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
                    site_id = line.site_id
                    site = site_hit((last_device, site_id))
                    if site is None:
                        site = site_of(last_device, site_id)
                    head = (f"future-dated: {line_text(line)}" if start and start > as_of
                            else f"active: {line_text(line)}")
                    lim = limits_hit((line.pid, key[1])) or eox_limits(line.pid, key[1])
                    if lim is NO_LIMITS and line.ldos is None and line.end_of_renewal is None:
                        append(ReconRow(
                            status, key[0], key[1], line.pid, False, last_device, "", site, "", "", last_slot,
                            line.contract_number, line.service_level, start, end, site_id, None, "", "",
                            blocking, scan_id, None, line.source_file, line.source_row, (), (head, why), None,
                            line.site_name))
                    else:
                        ldos, sale, renewal, attach, flags, warn, source = unseen_milestones(ctx, line, key[1])
                        append(ReconRow(
                            status, key[0], key[1], line.pid, False, last_device, "", site, "", "", last_slot,
                            line.contract_number, line.service_level, start, end, site_id, ldos, "", "",
                            blocking, scan_id, None, line.source_file, line.source_row, (), (head, *warn, why),
                            None, line.site_name, sale, renewal, attach, flags, None, None, "", "", source))
                    if status == NOT_SEEN and last_device and last_slot:
                        unseen_at[(last_device, last_slot, key[1])].append(len(rows) - 1)
                    continue
            key_lines = dedupe(found) if type(found) is list else [found]
            for row in unseen_rows(ctx, key, key_lines, hist, ambiguous.get(key), fleet, scope):
                append(row)
                if row.status == NOT_SEEN and hist and hist.last_device and hist.last_slot:
                    unseen_at[(hist.last_device, hist.last_slot, key[1])].append(len(rows) - 1)

    pair_rma_swaps(rows, uncovered_slots, unseen_at)
    mark_parents(rows, fleet, lines)  # major/minor, parents, "covered via parent" (reconcile.parents)
    if stale:
        mark_stale(rows, stale)
    return rows


def _item_limits(ctx: Context, pids: Sequence[str], keys: list[Key]) -> list[tuple]:
    """``ctx.eox_limits(pid, base)`` for every item.  The base PID is nearly always the one the
    item's own PID gives, so the limits are looked up per distinct PID string; the items where
    that does not hold (a base PID from elsewhere, or no PID) go by (PID, base) pairs."""
    if ctx.eox is None or not len(ctx.eox):
        return [NO_LIMITS] * len(pids)
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


def _bare_verdict(ctx: Context, pid: str, base: str) -> tuple:
    """(status, reasons, LDoS, end of sale, last renewal, last attach, flags, milestone source) for
    a seen item that no contract line names (see ``_seen_row``)."""
    row = _seen_row(ctx, FleetItem("", base, pid), ("-", base), [], "", [], ctx.eox_limits(pid, base))
    return (row.status, row.reasons, row.ldos, row.end_of_sale, row.last_renewal, row.last_attach, row.flags,
            row.milestone_source)


def _ambiguity_note(key: Key, pids: set[str], same_serial: list[int], fleet: Sequence[FleetItem],
                    keys: list[Key]) -> str:
    serial = key[0]
    others = [fleet[j] for j in same_serial if keys[j] != key]
    why = (f"{len(same_serial)} items in the snapshot share this serial" if len(same_serial) > 1
           else "the contract names several PIDs")
    also = (" (also seen: " + ", ".join(f"{o.base_pid} on {o.device}" for o in others) + ")") if others else ""
    return (f"contract lines exist for serial {serial} under PID "
            f"{', '.join(sorted(p or '(none)' for p in pids))}, not matched: {why}{also}")


def _seen_row(ctx: Context, item: FleetItem, key: Key, lines: list[ContractLine], match: str,
              notes: list[str], eox_limits: tuple) -> ReconRow:
    """``eox_limits``: ``ctx.eox_limits(item.pid, base)``.

    Flags, beside the status: coverage-gap (``ctx.assess``); cannot-attach for an uncovered item
    past End of Service Attach (still uncovered: it is not on a contract, only cannot be added);
    needs-recertification for a lapsed one; a *-soon flag per milestone inside the window, its
    reason placed before the verdict so the verdict stays the last reason."""
    serial, base = key
    flags: tuple[str, ...] = ()
    gap = None
    if not serial:
        status, line, reasons, others = (UNCOVERED, None,
                                         ["no serial number was read from the device: cannot be matched"], [])
    elif lines:
        status, line, reasons, others, flags, gap = ctx.assess(lines)
    else:
        status, line, reasons, others = UNCOVERED, None, ["on no contract line"], []
    if notes:
        reasons = notes + reasons
    ldos, renewal, attach, source = with_line_limits(eox_limits, lines)
    sale = eox_limits[5]
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
        flags += (FLAG_ATTACH_PASSED,)
    elif status == LAPSED:
        reasons.append(RECERT)
        flags += _RECERT_FLAGS
    if ldos or renewal or attach or sale:
        soon, warnings = ctx.soon(sale, renewal, attach, ldos, source)
        if soon:
            flags += soon
            reasons[-1:-1] = warnings
    else:
        source = ""
    # Positional: ReconRow's field order.  Keyword construction costs 3x at 10^5 rows.
    if line is None:
        return ReconRow(status, serial, base, item.pid, True, item.device, item.hostname, item.site, item.cls,
                        item.name, item.slot, "", "", None, None, "", ldos, "", "", (), item.scan_id,
                        item.capture_id, "", None, (), tuple(reasons), None, "", sale, renewal, attach, flags,
                        gap, None, "", "", source)
    return ReconRow(status, serial, base, item.pid, True, item.device, item.hostname, item.site, item.cls,
                    item.name, item.slot, line.contract_number, line.service_level, line.start, line.end,
                    line.site_id, ldos, match, "", (), item.scan_id, item.capture_id, line.source_file,
                    line.source_row, wheres(others), tuple(reasons), None, line.site_name, sale, renewal, attach,
                    flags, gap, None, "", "", source)
