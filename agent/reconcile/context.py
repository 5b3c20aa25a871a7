"""What every rule consults while reconciling: the as-of date and window, the EoX look-ups with
their caches, contract lines folded per key (active / future / ended), the devices' clean state."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Iterable, Sequence

from agent.contracts import ContractLine
from agent.contracts import EoxIndex, EoxRecord
from agent.reconcile.rows import (
    COVERED, EXPIRING, FLAG_ATTACH_SOON, FLAG_COVERAGE_GAP, FLAG_LDOS_SOON, FLAG_RENEWAL_SOON, FLAG_SALE_SOON,
    LAPSED, UNCOVERED,
)

# No EoX record (or one without dates): ``Context.eox_limits``'s answer.
NO_LIMITS = (None, None, None, "", False, None)


# ------------------------------------------------------------------ helpers


def as_day(value: datetime | date | None) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def device_names(devices: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(devices[:limit])
    return shown + (f" and {len(devices) - limit} more" if len(devices) > limit else "")


def _line_identity(line: ContractLine) -> tuple:
    return (line.serial, line.base_pid, line.contract_number, line.instance_id, line.start, line.end,
            line.covered)


def dedupe(lines: Iterable[ContractLine]) -> list[ContractLine]:
    """The same line exported twice (two files, one overlapping period) counts once."""
    seen: set = set()
    out = []
    for line in lines:
        ident = _line_identity(line)
        if ident not in seen:
            seen.add(ident)
            out.append(line)
    return out


class Context:
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
        self._soon: dict[tuple, tuple[tuple[str, ...], tuple[str, ...]]] = {}

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

    def assess(self, lines: list[ContractLine]) -> tuple[str, ContractLine | None, list[str], list,
                                                        tuple[str, ...], int | None]:
        """(status, deciding line, reasons, other lines, flags, gap days) for the lines matched to
        one seen item.  Flags here: FLAG_COVERAGE_GAP, with the days the gap lasts."""
        as_of = self.as_of
        if len(lines) == 1:  # the common cases, without the sorting below
            line = lines[0]
            if line.covered is not False and line.end is not None:
                if line.end >= as_of and (line.start is None or line.start <= as_of):
                    status, verdict = self.until(line.end)
                    return status, line, [f"active: {self.line_text(line)}", verdict], [], (), None
                if line.end < as_of:
                    return (LAPSED, line, [f"every contract line has ended; the last was {self.line_text(line)}"],
                            [], (), None)
            elif line.covered is False:  # (the not-covered cases below, without the sorting)
                return self._void(lines)
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
            if not active:
                return self._only_future(future, ended, lines)
            # The active line that ends last decides (dates inclusive); overlapping lines on
            # other contracts are named so that double-paid coverage is visible.
            best = active[0] if len(active) == 1 else max(
                active, key=lambda ln: (ln.end, bool(ln.contract_number), ln.start or date.min))
            reasons = [f"active: {self.line_text(best)}"]
            until = best.end
            # Future lines that begin by the day after coverage ends continue it: already renewed.
            # The last of them is the row's line (contract, period, evidence): coverage ends with it,
            # so a renewal quoted from the row starts after it, never over days already booked.
            last = best
            for line in future:
                if line is not best and line.start <= until + timedelta(days=1) and line.end > until:
                    reasons.append(f"continued by future-dated {self.line_text(line)}")
                    until = line.end
                    last = line
            for line in active:
                if line is not best and line.contract_number != best.contract_number:
                    reasons.append(f"also active: {self.line_text(line)}")
            # A future line that starts later still leaves days uncovered in between: booked, but
            # not seamless.  Flagged, status kept (the item is covered today).
            later = [ln for ln in future if ln.start > until + timedelta(days=1)]
            flags, gap = (), None
            if later:
                gap = (later[0].start - until).days - 1
                flags = (FLAG_COVERAGE_GAP,)
                reasons.append(f"coverage gap of {gap} days: covered until {self.day(until)}, the next line "
                               f"starts {self.day(later[0].start)}: {self.line_text(later[0])}")
            status, verdict = self.until(until)
            reasons.append(verdict)
            return status, last, reasons, [ln for ln in lines if ln is not last], flags, gap
        if undated:
            best = undated[0]
            return (COVERED, best, [f"on {self.line_text(best)}, which gives no end date: expiry unknown"],
                    [ln for ln in lines if ln is not best], (), None)
        if ended:
            best = max(ended, key=lambda ln: ln.end)
            return (LAPSED, best, [f"every contract line has ended; the last was {self.line_text(best)}"],
                    [ln for ln in lines if ln is not best], (), None)
        return self._void(void)

    def _only_future(self, future: list[ContractLine], ended: list[ContractLine], lines: list[ContractLine]) -> tuple:
        """Only future-dated lines are live: not covered today.  ``uncovered``, flagged coverage-gap
        with the days until the first one starts, so it lands on a list that makes someone act
        (add: bridge the gap) instead of on renew as if covered."""
        best = future[0]
        as_of = self.as_of
        gap = (best.start - as_of).days
        reasons = [f"not covered on {self.day(as_of)}: the only live line is future-dated, {self.line_text(best)}"]
        if ended:
            last = max(ended, key=lambda ln: ln.end)
            reasons.append(f"the last covering line ended {self.day(last.end)}: {self.line_text(last)}")
        reasons.append(f"coverage gap: {gap} days without coverage until {self.day(best.start)}, when the "
                       "future-dated line starts")
        return UNCOVERED, best, reasons, [ln for ln in lines if ln is not best], (FLAG_COVERAGE_GAP,), gap

    def _void(self, void: list[ContractLine]) -> tuple:
        """Every line is marked not covered by the file.  One whose dates are live today says the
        item is not covered now: ``uncovered``, naming the row and the file's words.  Only ended
        ones: the coverage lapsed.  Neither dates nor a contract: a bare listing, uncovered."""
        as_of = self.as_of
        best = void[0]
        live = [ln for ln in void if ln.end is not None and ln.end >= as_of]
        if live:
            best = live[0]
            return (UNCOVERED, best, [f"the contract file marks this line not covered "
                                      f"({best.status or 'no status text'}) although its dates are live: "
                                      f"{self.line_text(best)}"], [ln for ln in void if ln is not best], (), None)
        if any(ln.contract_number or ln.end for ln in void):
            statuses = ", ".join(sorted({ln.status for ln in void if ln.status}))
            return (LAPSED, best, [f"contract file marks its lines not covered ({statuses}); latest "
                                   f"{self.line_text(best)}"], void[1:], (), None)
        return UNCOVERED, None, [f"listed as not covered [{best.source_file}:{best.source_row}]"], [], (), None

    def eox_limits(self, pid: str, base: str) -> tuple:
        """(LDoS, end of renewal, end of service attach, source, general, end of sale) from EoX
        alone, once per (PID as read, base PID).  ``general``: a milestone has passed (LDoS or
        renewal) or falls inside the window, so the row needs more than the fast path gives."""
        found = self._limits.get((pid, base))
        if found is None:
            rec: EoxRecord | None = None
            if self.eox is not None:
                rec = (self.eox.get(pid) if pid else None) or self.eox.get(base)
            if rec is None:
                found = NO_LIMITS
            else:
                ldos, renewal = rec.last_date_of_support, rec.end_of_service_contract_renewal
                attach, sale = rec.end_of_service_attach, rec.end_of_sale
                dated = ldos or renewal or attach or sale
                as_of, window_end = self.as_of, self.window_end
                found = (ldos, renewal, attach, f"EoX {rec.bulletin or rec.pid} [{rec.where}]" if dated else "",
                         bool((ldos and as_of > ldos) or (renewal and as_of > renewal)
                              or any(d and as_of <= d <= window_end for d in (ldos, renewal, attach, sale))),
                         sale)
            self._limits[(pid, base)] = found
        return found

    def soon(self, sale: date | None, renewal: date | None, attach: date | None, ldos: date | None,
             source: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(flags, reasons) for the milestones that fall inside the window (as_of <= day <=
        as_of + window): each names the date and the days left, so a list reader acts in time.
        A milestone on the as-of date itself is not passed yet (passed: as_of > day) and is the
        last day to act, so it is flagged too ("today")."""
        key = (sale, renewal, attach, ldos, source)
        found = self._soon.get(key)
        if found is None:
            flags: list[str] = []
            reasons: list[str] = []
            as_of, window_end = self.as_of, self.window_end
            for day, flag, name, act in (
                    (sale, FLAG_SALE_SOON, "End of Sale", "the last day to order this product"),
                    (renewal, FLAG_RENEWAL_SOON, "End of Service Contract Renewal",
                     "renew (or extend) the contract before then"),
                    (attach, FLAG_ATTACH_SOON, "End of Service Attach", "add it to a contract before then"),
                    (ldos, FLAG_LDOS_SOON, "Last Date of Support", "no coverage runs past it")):
                if day and as_of <= day <= window_end:
                    left = (day - as_of).days
                    flags.append(flag)
                    reasons.append(f"{name} {self.day(day)} {f'in {left} days' if left else 'today'} ({source}): "
                                   f"{act}")
            found = self._soon[key] = (tuple(flags), tuple(reasons))
        return found

    def limits(self, pid: str, base: str, lines: list[ContractLine]) -> tuple:
        """(LDoS, end of renewal, end of service attach, source).  EoX wins over a contract file's
        own LDoS column; the file's value fills in where EoX has none."""
        return with_line_limits(self.eox_limits(pid, base), lines)


def with_line_limits(found: tuple, lines: list[ContractLine]) -> tuple:
    """``Context.limits`` from its EoX part (``Context.eox_limits``) and the lines."""
    ldos, renewal, attach, source = found[0], found[1], found[2], found[3]
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

