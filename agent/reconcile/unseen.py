"""Contract keys that no live item carries: not-seen, unverified (and who is in the way), lapsed
keys with nothing to drop, and the pairing of a not-seen key with an uncovered item as an RMA swap."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Mapping, Sequence

from agent.contracts import ContractLine
from agent.core.identity import Key
from agent.core.models import DeviceScanState, FleetItem, SeenHistory
from agent.reconcile.context import Context, as_day, device_names, with_line_limits
from agent.reconcile.rows import LAPSED, NOT_SEEN, RMA_SWAP, UNVERIFIED, ReconRow, with_changes


class Scope:
    """Answers "was this absent serial's scope collected cleanly?", cached per contract site id."""

    def __init__(self, devices: Sequence[DeviceScanState], clean_since: date,
                 stale: Mapping[str, tuple[int, str]] | None = None):
        self.by_name = {d.device: d for d in devices}
        self.stale = stale or {}
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
        self._sites: dict[tuple[str, str], str] = {}

    def site_of(self, last_device: str, site_id: str) -> str:
        """The inventory site an unseen key belongs to, so every list groups by one vocabulary:
        the site of the device history last saw it on; else the one site of the devices that
        map the line's install site id (several sites: "", the contract's own site name is in
        ``contract_site``); else ""."""
        key = (last_device, site_id)
        found = self._sites.get(key)
        if found is None:
            dev = self.by_name.get(last_device) if last_device else None
            if dev is not None and dev.site:
                found = dev.site
            else:
                sites = {d.site for d in self.by_site.get(site_id.strip(), ())} if site_id else set()
                found = sites.pop() if len(sites) == 1 else ""
            self._sites[key] = found
        return found

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
                                                   f"{device_names(stale)}", None)
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
            when = f" on {as_day(hist.last_seen)}" if hist.last_seen else ""
            if dev is None:
                found = (UNVERIFIED, (device,), f"last seen in {where}{when}; {device} is not in the current "
                                                "inventory, so its absence is not proven", None)
            elif device in self.stale:
                found = (UNVERIFIED, (device,), f"last seen in {where}{when}; {device} {self.stale[device][1]}, "
                                                "so its absence is not proven", None)
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
                     if d.last_clean_scan_at is None or as_day(d.last_clean_scan_at) < self.clean_since]
            hit = self._cache[key] = (scope, stale)
        return hit


def unseen_rows(ctx: Context, key: Key, lines: list[ContractLine], hist: SeenHistory | None,
                 seen_as: list[int] | None, fleet: Sequence[FleetItem], scope: Scope) -> list[ReconRow]:
    """Rows for a contract key that matched no seen item: one per live (active or future) line."""
    serial, base = key
    as_of = ctx.as_of
    live = [ln for ln in lines if ln.covered is not False and (ln.end is None or ln.end >= as_of)]
    if not live:
        dated = [ln for ln in lines if ln.contract_number or ln.end]
        if not dated:
            return []  # a "not covered" listing of something we do not have: nothing to say
        best = max(dated, key=lambda ln: ln.end or date.min)
        return [_unseen_row(ctx, scope, LAPSED, key, best, [ln for ln in dated if ln is not best], hist,
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
        ldos, sale, renewal, attach, flags, warn, source = unseen_milestones(ctx, line, base)
        rows.append(ReconRow(
            status, serial, base, line.pid, False, last_device, "", scope.site_of(last_device, line.site_id), "",
            "", last_slot, line.contract_number, line.service_level, start, line.end, line.site_id, ldos, "", "",
            blocking, scan_id, None, line.source_file, line.source_row,
            wheres([ln for ln in lines if ln is not line]),
            (f"future-dated: {ctx.line_text(line)}" if start and start > as_of else f"active: {ctx.line_text(line)}",
             *warn, why), None, line.site_name, sale, renewal, attach, flags, None, None, "", "", source))
    return rows


def unseen_milestones(ctx: Context, line: ContractLine, base: str) -> tuple:
    """(LDoS, end of sale, last renewal, last attach, flags, warnings, source) for a row built
    from ``line`` alone: EoX by the line's PID, else the line's own columns; milestones inside
    the window flagged as on seen rows."""
    found = ctx.eox_limits(line.pid, base)
    ldos, renewal, attach, source = (with_line_limits(found, [line])
                                     if line.ldos is not None or line.end_of_renewal is not None else found[:4])
    sale = found[5]
    if not (ldos or renewal or attach or sale):
        return None, None, None, None, (), (), ""
    flags, warnings = ctx.soon(sale, renewal, attach, ldos, source)
    return ldos, sale, renewal, attach, flags, warnings, source


def _unseen_row(ctx: Context, scope: Scope, status: str, key: Key, line: ContractLine, others: list[ContractLine],
                hist: SeenHistory | None, reasons: list[str], blocking: tuple[str, ...],
                scan_id: int | None = None) -> ReconRow:
    # Positional, in ReconRow's field order (see _seen_row).  scan_id: the clean scan that
    # proves the absence, when one scan does.
    last_device = hist.last_device if hist else ""
    ldos, sale, renewal, attach, flags, warn, source = unseen_milestones(ctx, line, key[1])
    return ReconRow(
        status, key[0], key[1], line.pid, False, last_device, "", scope.site_of(last_device, line.site_id), "", "",
        hist.last_slot if hist else "", line.contract_number, line.service_level, line.start, line.end,
        line.site_id, ldos, "", "", blocking, scan_id, None, line.source_file, line.source_row,
        wheres(others), (*reasons[:-1], *warn, reasons[-1]), None, line.site_name, sale, renewal, attach, flags,
        None, None, "", "", source)


def wheres(lines: list[ContractLine]) -> tuple[str, ...]:
    return tuple([f"{ln.source_file}:{ln.source_row}" for ln in lines]) if lines else ()


def pair_rma_swaps(rows: list, uncovered: Mapping[tuple[str, str, str], list[int]],
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
                rows[i] = with_changes(rows[i], reasons=rows[i].reasons + (note,))
            continue
        new_row = rows[new[0]]
        old = rows[gone[0]]
        old_contracts = sorted({rows[i].contract_number for i in gone if rows[i].contract_number})
        for i in gone:
            rows[i] = with_changes(rows[i], status=RMA_SWAP, swap_with=f"{new_row.serial} {new_row.base_pid}",
                            reasons=rows[i].reasons + (
                                f"replaced in {device} {slot} by uncovered {new_row.serial} ({pid}): "
                                "transfer the contract to it",))
        rows[new[0]] = with_changes(new_row, status=RMA_SWAP, swap_with=f"{old.serial} {old.base_pid}",
                             reasons=new_row.reasons + (
                                 f"replaces {old.serial} ({pid}) in {device} {slot}, which is on contract "
                                 f"{', '.join(old_contracts) or '(no number)'} and no longer seen: transfer "
                                 "that contract to this serial",))

