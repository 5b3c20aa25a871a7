"""Reconcile rows + a price list -> quote lines, co-terminated with Cisco's formula
(``agent.reconcile.coterm``), each saying why it is there and what limits it.

Which row gives which line (the status vocabulary is reconcile's):

  covered / expiring (seen)  renew      current end + 1 .. co-term date; flagged, not priced, when a
                                        coverage gap comes before a booked future-dated line (the
                                        renewal would overlap it: see the coverage-gap list)
  lapsed (seen)              reinstate  lapse (end + 1) .. co-term date; needs re-certification
  uncovered (seen)           add        as-of date .. co-term date; for a coverage gap (only a
                                        future-dated line), as-of date .. the day before it starts;
                                        past End of Service Attach (the cannot-attach list): blocked
  not-seen                   drop       the saving: remaining value (as-of .. current end) when the
                                        end is known, else one year's price; ``basis`` says which
  rma-swap (seen side)       transfer   no charge: the line moves to the replacement serial
  covered via parent         renew      via-parent: not priced apart (its parent's line is), a note
  end-of-support (seen)      renew/add, blocked: past LDoS or End of Service Contract Renewal

Milestones (EoX first, the contract file's own columns where EoX has none; reconcile's
``with_line_limits``): a renewal or reinstatement is blocked once End of Service Contract
Renewal has passed and its end is capped at Last Date of Support; an add is blocked after End of
Service Attach.  Blocked lines are listed with the milestone, never priced.  A co-term date
before the current end is flagged (a shortening would be a credit: not invented here).  Items
with no matching price are ``unpriced``, never priced 0.  unverified rows (scope not collected
cleanly) and lapsed lines of items not on the network are not quoted.

Without ``--coterm``, each contract's co-term date is the latest end among its live (covered or
expiring) lines; a line on no live contract (an add, a reinstatement of a wholly lapsed
contract) runs one year from its start.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Mapping, Sequence

from agent.contracts import ContractLine, EoxIndex
from agent.reconcile import (
    COVERED, END_OF_SUPPORT, EXPIRING, LAPSED, NOT_SEEN, RMA_SWAP, UNCOVERED, ReconRow,
)
from agent.reconcile.rows import FLAG_VIA_PARENT
from agent.reconcile.context import Context, with_line_limits
from agent.reconcile.rows import FLAG_COVERAGE_GAP
from agent.reconcile.coterm import coterm_price, currency_places
from agent.quote.prices import Price, PriceList

RENEW, REINSTATE, ADD, DROP, TRANSFER = "renew", "reinstate", "add", "drop", "transfer"
KINDS = (RENEW, REINSTATE, ADD, DROP, TRANSFER)
# What became of a line: priced; unpriced (no price row); blocked (a milestone forbids it);
# flagged (cannot be priced as asked: co-term before the current end, no end date); no-charge;
# via-parent (a minor item covered through its parent's line: the parent's line is what is bought).
PRICED, UNPRICED, BLOCKED, FLAGGED, NO_CHARGE = "priced", "unpriced", "blocked", "flagged", "no-charge"
VIA_PARENT = "via-parent"
STATES = (PRICED, UNPRICED, BLOCKED, FLAGGED, NO_CHARGE, VIA_PARENT)


@dataclass(frozen=True, slots=True)
class QuoteLine:
    kind: str
    state: str
    serial: str
    base_pid: str
    pid: str = ""
    hostname: str = ""
    site: str = ""
    contract_number: str = ""
    service_level: str = ""
    sku: str = ""
    coverage_end: date | None = None  # the current end (renew, reinstate, drop)
    start: date | None = None  # the period priced (or that would be)
    end: date | None = None
    days: int | None = None
    leap_days: int | None = None
    factor: Decimal | None = None  # DurationFactor
    currency: str = ""
    unit_price: Decimal | None = None  # the price list's price, for ``duration`` years
    duration: int | None = None
    list_price: Decimal | None = None  # unit_price x factor, rounded for the currency
    discount_pct: Decimal | None = None
    net_price: Decimal | None = None  # list_price less the discount, rounded: the amount
    basis: str = ""  # drop: "remaining value" or "annual price"
    milestone: str = ""
    recertification: bool = False
    why: tuple[str, ...] = ()
    price_row: str = ""  # file:row of the price used

    @property
    def amount(self) -> Decimal | None:
        return self.net_price if self.state == PRICED else None


@dataclass(frozen=True, slots=True)
class QuoteOptions:
    as_of: date
    coterm: date | None = None
    currency: str | None = None  # choose among prices in several currencies
    service_level: str | None = None  # the level for add lines when several are priced
    # Minimum days charged per line: no public Cisco source gives one (FORMATS.md section 3), so
    # off unless asked.  No minimum charge: one amount cannot hold across currencies.
    min_days: int | None = None


def money(amount: Decimal, currency: str) -> Decimal:
    """An amount rounded as Cisco rounds it: 0 decimals for JPY and KRW, else 2 (half up)."""
    return amount.quantize(Decimal(1).scaleb(-currency_places(currency)), rounding=ROUND_HALF_UP)


def choose_price(prices: PriceList, row_pid: str, base_pid: str, level: str,
                 opts: QuoteOptions) -> tuple[Price | None, str]:
    """(the price, "") or (None, why there is none)."""
    found = prices.candidates(base_pid)
    if not found and row_pid and row_pid != base_pid:
        found = prices.candidates(row_pid)
    if not found:
        return None, f"no price for {base_pid} in {prices.source}"
    wanted = (level or opts.service_level or "").upper()
    if wanted:
        exact = [p for p in found if p.level == wanted]
        found = exact or [p for p in found if not p.level]
        if not found:
            return None, f"no price for {base_pid} at service level {wanted}"
    if opts.currency:
        found = [p for p in found if p.currency == opts.currency.upper()]
        if not found:
            return None, f"no price for {base_pid} in {opts.currency.upper()}"
    currencies = sorted({p.currency for p in found})
    if len(currencies) > 1:
        return None, f"{base_pid} is priced in {', '.join(currencies)}: choose one with --currency"
    levels = sorted({p.level or "(any)" for p in found})
    if len(found) > 1:
        return None, (f"{base_pid} is priced at several service levels ({', '.join(levels)}): "
                      "choose one with --service-level")
    return found[0], ""


def _contract_coterms(rows: Sequence[ReconRow]) -> dict[str, date]:
    ends: dict[str, date] = {}
    for r in rows:
        if r.status in (COVERED, EXPIRING) and r.contract_number and r.coverage_end:
            if r.coverage_end > ends.get(r.contract_number, date.min):
                ends[r.contract_number] = r.coverage_end
    return ends


def _one_year(start: date) -> date:
    try:
        return start.replace(year=start.year + 1) - timedelta(days=1)
    except ValueError:  # 29 February: a year later is 28 February
        return date(start.year + 1, 2, 28)


def build_quote(rows: Iterable[ReconRow], prices: PriceList, contract_lines: Sequence[ContractLine],
                eox: EoxIndex | None, opts: QuoteOptions) -> list[QuoteLine]:
    rows = list(rows)
    ctx = Context(opts.as_of, 0, eox)
    by_key: dict[tuple[str, str], list[ContractLine]] = {}
    for line in contract_lines:
        by_key.setdefault(line.key, []).append(line)
    by_serial: Mapping[str, ReconRow] = {r.serial: r for r in rows if not r.seen}
    coterms = _contract_coterms(rows)
    out: list[QuoteLine] = []
    for r in rows:
        limits = with_line_limits(ctx.eox_limits(r.pid, r.base_pid), by_key.get(r.key, []))
        if not r.seen:
            if r.status == NOT_SEEN:
                out.append(_drop(r, prices, opts))
            continue  # unverified, lapsed-and-gone, the old side of an RMA pair: nothing to buy or drop
        if FLAG_VIA_PARENT in r.flags:  # renewed with its parent's line, which is priced there
            out.append(QuoteLine(**_base(RENEW, r), state=VIA_PARENT, why=(
                f"covered via parent {r.parent_serial} (contract {r.contract_number or '(no number)'}, "
                f"to {r.coverage_end or 'an unknown end'})",
                f"not priced apart: renewing its parent {r.parent_serial}'s line renews it")))
        elif r.status in (COVERED, EXPIRING):
            if FLAG_COVERAGE_GAP in r.flags:
                out.append(_gap_renewal(r))
            else:
                out.append(_extend(RENEW, r, prices, opts, coterms, limits))
        elif r.status == LAPSED:
            out.append(_extend(REINSTATE, r, prices, opts, coterms, limits))
        elif r.status == UNCOVERED:
            out.append(_add(r, prices, opts, limits))
        elif r.status == END_OF_SUPPORT:
            out.append(_end_of_support(r, opts, limits))
        elif r.status == RMA_SWAP:
            out.append(_transfer(r, by_serial))
    return out


def _base(kind: str, r: ReconRow, **kw) -> dict:
    return dict(kind=kind, serial=r.serial, base_pid=r.base_pid, pid=r.pid, hostname=r.hostname or r.device,
                site=r.site, contract_number=r.contract_number, service_level=r.service_level,
                coverage_end=r.coverage_end, **kw)


def _milestones(limits: tuple, start: date, end: date, as_of: date, attach_rule: bool) -> tuple[str, str, date]:
    """(blocked-because or "", milestone text, end capped at LDoS)."""
    ldos, renewal, attach, source = limits
    notes: list[str] = []
    if attach_rule and attach and as_of > attach:
        return (f"past End of Service Attach {attach} ({source}): cannot be added to a contract",
                f"End of Service Attach {attach}", end)
    if not attach_rule and renewal and as_of > renewal:
        return (f"past End of Service Contract Renewal {renewal} ({source}): cannot be renewed",
                f"End of Service Contract Renewal {renewal}", end)
    if ldos and ldos < start:
        return (f"Last Date of Support {ldos} ({source}) is before the period would start ({start})",
                f"Last Date of Support {ldos}", end)
    if not attach_rule and renewal:
        notes.append(f"End of Service Contract Renewal {renewal}: order by then")
    if not attach_rule and attach and as_of > attach:
        notes.append(f"End of Service Attach {attach} has passed: a lapsed line may count as a new attach")
    if attach_rule and attach:
        notes.append(f"End of Service Attach {attach}: attach by then")
    if ldos and end > ldos:
        notes.append(f"end capped at Last Date of Support {ldos} ({source})")
        end = ldos
    elif ldos:
        notes.append(f"Last Date of Support {ldos}")
    return "", "; ".join(notes), end


def _priced(fields: dict, price: Price, start: date, end: date, why: list[str],
            min_days: int | None = None) -> QuoteLine:
    q = coterm_price(price.annual, start, end, price.currency, duration_qty=price.duration, min_days=min_days)
    if q.minimum_applied:
        why.append(f"charged the minimum of {min_days} days (--min-days)")
    net = money(q.price * (Decimal(100) - price.discount) / Decimal(100), price.currency)
    why.append(f"{q.days} days ({q.leap_days} of them 29 February) / 365 / {price.duration} x "
               f"{price.annual} {price.currency}" + (f", less {price.discount}%" if price.discount else ""))
    return QuoteLine(**fields, state=PRICED, start=start, end=end, days=q.days, leap_days=q.leap_days,
                     factor=q.factor, currency=price.currency, unit_price=price.annual, duration=price.duration,
                     list_price=q.price, discount_pct=price.discount, net_price=net, why=tuple(why),
                     sku=price.sku, price_row=price.where)


def _extend(kind: str, r: ReconRow, prices: PriceList, opts: QuoteOptions, coterms: dict[str, date],
            limits: tuple) -> QuoteLine:
    why = [r.reasons[-1]] if r.reasons else []
    recert = kind == REINSTATE
    if recert:
        why.append("lapsed: reinstatement needs re-certification of the item before it can be covered again")
    fields = _base(kind, r, recertification=recert)
    if r.coverage_end is None and not recert:
        # A renewal from the as-of date could pay twice for days already covered: not guessed.
        return QuoteLine(**fields, state=FLAGGED, why=tuple(why + [
            "current end unknown (the contract file gives none): a renewal cannot be priced from it"]))
    if r.coverage_end is None:
        start = opts.as_of
        why.append("lapse date unknown: priced from the as-of date")
    else:
        start = r.coverage_end + timedelta(days=1)
    if opts.coterm:
        end, how = opts.coterm, f"co-term date {opts.coterm} (--coterm)"
    elif r.contract_number in coterms and coterms[r.contract_number] >= start:
        end = coterms[r.contract_number]
        how = f"co-term date {end}: the latest end on contract {r.contract_number}"
    else:
        end, how = _one_year(start), f"one year to {_one_year(start)} (no --coterm, no later live line on the contract)"
    if end < start:
        if r.coverage_end and end < r.coverage_end:
            why.append(f"{how} is before the current end {r.coverage_end}: shortening the line would be a "
                       "credit, which this quote does not invent")
        else:
            why.append(f"already ends on the {how}: nothing to renew")
        return QuoteLine(**fields, state=FLAGGED if r.coverage_end and end < r.coverage_end else NO_CHARGE,
                         start=start, end=end, why=tuple(why))
    why.append(how)
    blocked, milestone, end = _milestones(limits, start, end, opts.as_of, attach_rule=False)
    if blocked:
        return QuoteLine(**fields, state=BLOCKED, start=start, end=end, milestone=milestone,
                         why=tuple(why + [blocked]))
    price, missing = choose_price(prices, r.pid, r.base_pid, r.service_level, opts)
    if price is None:
        return QuoteLine(**fields, state=UNPRICED, start=start, end=end, milestone=milestone,
                         why=tuple(why + [missing]))
    line = _priced(fields, price, start, end, why, opts.min_days)
    return _with(line, milestone=milestone)


def _with(line: QuoteLine, **changes) -> QuoteLine:
    return replace(line, **changes)


def _gap_renewal(r: ReconRow) -> QuoteLine:
    """A covered item whose next, already booked line starts after a gap: renewing it to the
    co-term date would pay twice for the booked period.  Noted, not priced: the gap is the
    coverage-gap list's, bridged by hand or accepted."""
    gap = f"a gap of {r.gap_days} days" if r.gap_days is not None else "a gap"
    return QuoteLine(**_base(RENEW, r), state=FLAGGED, why=tuple(
        ([r.reasons[-1]] if r.reasons else [])
        + [f"a future-dated line is already booked after {gap}: renewing to the co-term date would overlap "
           "it; quote the gap (coverage-gap list) instead"]))


def _add(r: ReconRow, prices: PriceList, opts: QuoteOptions, limits: tuple) -> QuoteLine:
    why = [r.reasons[-1]] if r.reasons else ["on no contract line"]
    start = opts.as_of
    if FLAG_COVERAGE_GAP in r.flags and r.coverage_start and r.coverage_start > start:
        # Only a future-dated line covers it: buy the days before that line starts, no more.
        end = r.coverage_start - timedelta(days=1)
        how = (f"the coverage gap only, {start}..{end}: contract {r.contract_number or '(no number)'} covers it "
               f"from {r.coverage_start}")
    elif opts.coterm:
        end, how = opts.coterm, f"co-term date {opts.coterm} (--coterm)"
    else:
        end, how = _one_year(start), f"one year to {_one_year(start)} (no --coterm)"
    fields = _base(ADD, r)
    if end < start:
        return QuoteLine(**fields, state=FLAGGED, start=start, end=end,
                         why=tuple(why + [f"{how} is before the as-of date {start}: nothing to add"]))
    why.append(how)
    blocked, milestone, end = _milestones(limits, start, end, opts.as_of, attach_rule=True)
    if blocked:
        return QuoteLine(**fields, state=BLOCKED, start=start, end=end, milestone=milestone,
                         why=tuple(why + [blocked]))
    # A gap is bridged at the level of the line that follows it; a plain add at --service-level.
    level = r.service_level if FLAG_COVERAGE_GAP in r.flags else ""
    price, missing = choose_price(prices, r.pid, r.base_pid, level, opts)
    if price is None:
        return QuoteLine(**fields, state=UNPRICED, start=start, end=end, milestone=milestone,
                         why=tuple(why + [missing]))
    return _with(_priced(fields, price, start, end, why, opts.min_days), milestone=milestone,
                 service_level=price.level)


def _end_of_support(r: ReconRow, opts: QuoteOptions, limits: tuple) -> QuoteLine:
    ldos, renewal, _, source = limits
    passed = [f"{name} {day}" for name, day in (("Last Date of Support", ldos),
                                                ("End of Service Contract Renewal", renewal))
              if day and opts.as_of > day]
    kind = RENEW if r.contract_number else ADD
    return QuoteLine(**_base(kind, r), state=BLOCKED, milestone="; ".join(passed),
                     why=tuple(list(r.reasons[-2:]) + [f"past {' and '.join(passed)} ({source}): "
                                                        "not sold: refresh the hardware"]))


def _transfer(r: ReconRow, unseen: Mapping[str, ReconRow]) -> QuoteLine:
    old_serial = r.swap_with.split(" ", 1)[0]
    old = unseen.get(old_serial)
    contract = old.contract_number if old else ""
    why = (f"RMA replacement of {r.swap_with or 'an item'} in {r.slot or 'the same slot'}: move "
           f"{'contract ' + contract if contract else 'its contract line'} to {r.serial} (no charge)",)
    return QuoteLine(**{**_base(TRANSFER, r), "contract_number": contract,
                        "service_level": old.service_level if old else "",
                        "coverage_end": old.coverage_end if old else None},
                     state=NO_CHARGE, why=why)


def _drop(r: ReconRow, prices: PriceList, opts: QuoteOptions) -> QuoteLine:
    why = [r.reasons[-1]] if r.reasons else []
    fields = _base(DROP, r)
    price, missing = choose_price(prices, r.pid, r.base_pid, r.service_level, opts)
    if price is None:
        return QuoteLine(**fields, state=UNPRICED, why=tuple(why + [missing]))
    if r.coverage_end is not None and r.coverage_end >= opts.as_of:
        start = max(opts.as_of, r.coverage_start or opts.as_of)
        why.append(f"saving: remaining value {start}..{r.coverage_end}")
        return _with(_priced(fields, price, start, r.coverage_end, why), basis="remaining value")
    # No end date: the saving is a year of service at this price (the list price covers
    # ``duration`` years, so one year is a duration-th of it).
    one = money(price.annual / Decimal(price.duration), price.currency)
    net = money(one * (Decimal(100) - price.discount) / Decimal(100), price.currency)
    why.append("saving: one year's price (the current end is unknown)")
    return QuoteLine(**fields, state=PRICED, currency=price.currency, unit_price=price.annual,
                     duration=price.duration, list_price=one, discount_pct=price.discount, net_price=net,
                     basis="annual price", why=tuple(why), sku=price.sku, price_row=price.where)
