"""What every rule consults while reconciling: the as-of date and window, the EoX look-ups with
their caches, contract lines folded per key (active / future / ended), the devices' clean state."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Iterable, Sequence

from agent.contracts import ContractLine
from agent.contracts import EoxIndex, EoxRecord
from agent.reconcile.rows import COVERED, EXPIRING, LAPSED, UNCOVERED


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
        return with_line_limits(self.eox_limits(pid, base), lines)


def with_line_limits(found: tuple, lines: list[ContractLine]) -> tuple:
    """``Context.limits`` from its EoX part (``Context.eox_limits``) and the lines."""
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

