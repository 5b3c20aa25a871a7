"""Plain aligned text: the reconcile table on a terminal and the ``.txt`` list files.

Three layouts of the same rows (``render_table``):

- **a terminal** (``width`` = its columns): the table fits.  WHY (every reason, each on lines of
  its own, the verdict last) takes the room the other columns leave and wraps onto continuation
  lines; when even that does not fit, columns are cut (with "…") and then left out, least needed
  first, by ``PRIORITY``: SERIAL and STATUS always stay, then PID, SITE, HOST, END, CONTRACT,
  FLAGS, the EoX milestones (LDOS, RENEW-BY, ATTACH-BY, END-OF-SALE), EVIDENCE.  A last line says
  what was cut or left out.  Why that order: a row is acted on by its serial and status; the PID
  says what to buy, the site where it is; the host and the dates are one lookup away; the
  milestones that matter inside the window are also flagged and named in WHY; the evidence is
  for the auditor, who reads the files.
- **a file** (``width=None``, the ``.txt`` lists): every column whole, and every reason, each on
  its own lines, wrapped at ``FILE_WHY_WIDTH`` characters, never cut.
- **wide** (``wide=True``, ``--wide``): every column whole, every reason on the row's one line.
"""
from __future__ import annotations

from itertools import chain
from typing import Callable, Iterable, Sequence

from agent.reconcile import ReconRow, count_by_status
from agent.reports.cells import evidence_text
from agent.reports.lists import renew_groups
from agent.reports.tabular import aligned_line, column_widths, terminal_cells

# (heading, getter, narrowest a cut may leave it; 0: never cut).  Display order.
Column = tuple[str, Callable[[ReconRow], object], int]
DEFAULT_COLUMNS: tuple[Column, ...] = (
    ("STATUS", lambda r: r.status, 0),
    ("SERIAL", lambda r: r.serial, 0),
    ("PID", lambda r: r.base_pid, 12),
    ("HOST", lambda r: r.hostname or r.device, 10),
    ("SITE", lambda r: r.site, 8),
    ("CONTRACT", lambda r: r.contract_number, 8),
    ("END", lambda r: r.coverage_end or "", 0),
    ("FLAGS", lambda r: " ".join(r.flags), 12),
    ("LDOS", lambda r: r.ldos or "", 0),
    ("RENEW-BY", lambda r: r.last_renewal or "", 0),  # End of Service Contract Renewal
    ("ATTACH-BY", lambda r: r.last_attach or "", 0),  # End of Service Attach
    ("END-OF-SALE", lambda r: r.end_of_sale or "", 0),
    ("EVIDENCE", evidence_text, 16),
)
# Kept first to last; a column not named here goes first when room runs out.
PRIORITY = ("SERIAL", "STATUS", "PID", "SITE", "HOST", "END", "CONTRACT", "FLAGS", "LDOS", "RENEW-BY", "ATTACH-BY",
            "END-OF-SALE", "EVIDENCE")
ALWAYS = ("SERIAL", "STATUS")
WHY = "WHY"
WHY_MIN = 20  # WHY's share is a quarter of the line, at least this (or the verdict's length)
WHY_FLOOR = 10  # what WHY gets when SERIAL and STATUS alone leave less
FILE_WHY_WIDTH = 90
GAP = 2  # blanks between columns (tabular.aligned_line)


def render_table(rows: Iterable[ReconRow], columns: Sequence[Column] = DEFAULT_COLUMNS,
                 group_by_contract: bool = False, totals: bool = True, width: int | None = None,
                 wide: bool = False, group_by_parent: bool = False, memo=None, groups=None) -> str:
    """``table_lines`` (same arguments) as one text, each line ended by a newline."""
    return "\n".join(table_lines(rows, columns, group_by_contract, totals, width, wide, group_by_parent, memo,
                                 groups)) + "\n"


def table_lines(rows: Iterable[ReconRow], columns: Sequence[Column] = DEFAULT_COLUMNS,
                group_by_contract: bool = False, totals: bool = True, width: int | None = None,
                wide: bool = False, group_by_parent: bool = False, memo=None, groups=None) -> list[str]:
    """Rows as aligned columns; ``group_by_contract`` puts a heading per (contract, end date);
    ``group_by_parent`` (rows in the add list's order) marks each minor item's serial with
    ``MINOR_MARK`` under its parent, and heads a group whose parent is not among the rows.
    ``width``: fit a terminal that wide; None: the file layout; ``wide``: one line per row.
    ``memo`` (agent.reports.memo.RowMemo; the file layout only): a row's cells and wrapped
    reasons worked out once for every list it is on; ``groups``: ``renew_groups(rows)``, when the
    caller has them."""
    rows = list(rows)
    given = columns
    if group_by_parent:
        columns = [(h, _marked if h == "SERIAL" else get, floor) for h, get, floor in columns]
    headings = [h for h, _, _ in columns]
    if memo is not None and width is None and not wide:
        evidence = memo.evidence
        getters = [evidence if get is evidence_text else get for _, get, _ in columns]
        fast = given is DEFAULT_COLUMNS

        def both(r: ReconRow) -> tuple[list[str], list[str], tuple[int, ...]]:
            texts = _default_texts(r, group_by_parent, evidence) if fast else None
            # One join and one test for the row's cells and reasons (TypeError: not all text).
            # isprintable is false for every control character terminal_cells replaces (and for
            # a few more, which then take the general path): a tenth of the regex search's time.
            try:
                clean = texts is not None and ("".join(texts) + "".join(r.reasons)).isprintable()
            except TypeError:
                clean = False
            if clean:
                reasons = list(r.reasons)
            else:  # the general path: any column set, any value type, control characters shown
                texts = terminal_cells([get(r) for get in getters])
                reasons = terminal_cells(r.reasons)
            return texts, _wrap_all(reasons, FILE_WHY_WIDTH), tuple(map(len, texts))
        kind = ("table", group_by_parent, id(given))  # given is alive for the whole call
        triples = [memo.per_row(kind, r, both) for r in rows]
        cells, why = [t[0] for t in triples], [t[1] for t in triples]
        reasons = None
    else:
        cells = [terminal_cells([get(r) for _, get, _ in columns]) for r in rows]
        reasons = [terminal_cells(r.reasons) for r in rows]
    if reasons is None:  # column_widths from the lengths each row's memo holds
        longest = list(map(max, zip(*(t[2] for t in triples)))) or [0] * len(headings)
        keep, note = list(range(len(columns))), ""
        widths = [max(len(h), n) for h, n in zip(headings, longest)]
    elif wide or width is None:
        why = ([["; ".join(rs)] for rs in reasons] if wide
               else [_wrap_all(rs, FILE_WHY_WIDTH) for rs in reasons])
        keep, widths, note = list(range(len(columns))), column_widths(headings, cells), ""
    else:
        # Every reason, not only the verdict: a warning (a milestone inside the window, a gap)
        # sits before the verdict and must be read with it.
        longest = [max(rs, key=len) if rs else "" for rs in reasons]
        keep, widths, why_width, note = fit(headings, [h[2] for h in columns], cells, longest, width)
        why = [_wrap_all(rs, why_width) for rs in reasons]
    indent = sum(widths[i] + GAP for i in keep)

    pad = " " * indent
    cutting = width is not None and not wide  # the file and wide layouts show every cell whole

    # aligned_line as one %-format per row (the same text: %-Ns pads like ljust, never cuts).
    line = "  ".join([f"%-{widths[k]}s" for k in keep] + ["%s"])

    every = keep == list(range(len(columns)))

    def lines_of(i: int) -> list[str]:
        w = why[i]
        if cutting:
            values = (*[_cut(cells[i][k], widths[k]) for k in keep], w[0] if w else "")
        elif every:
            values = (*cells[i], w[0] if w else "")
        else:
            values = (*[cells[i][k] for k in keep], w[0] if w else "")
        first = (line % values).rstrip()
        return [first, *[pad + more for more in w[1:]]] if len(w) > 1 else [first]

    head = [headings[k] for k in keep] + [WHY]
    out = [aligned_line(head, [widths[k] for k in keep] + [0]),
           aligned_line(["-" * widths[k] for k in keep] + ["-" * len(WHY)], [widths[k] for k in keep] + [0])]
    if group_by_contract:
        index = {id(r): i for i, r in enumerate(rows)}
        for contract, end, group in (renew_groups(rows) if groups is None else groups):
            out.append(f"# contract {contract or '(none)'}, coverage ends {end or '?'}: {len(group)} item(s)")
            for r in group:
                out.extend(lines_of(index[id(r)]))
    elif not group_by_parent:
        out.extend(chain.from_iterable(map(lines_of, range(len(rows)))))
    else:
        leader = None  # the serial the rows below hang from
        for i, r in enumerate(rows):
            if group_by_parent:
                if not _is_marked(r):
                    leader = r.serial
                elif r.parent_serial != leader:
                    leader = r.parent_serial
                    out.append(f"# in {r.parent_serial} ({r.parent_status or 'status unknown'}), "
                               "which is not on this list:")
            out.extend(lines_of(i))
    tail = []
    if totals:
        counts = {k: v for k, v in count_by_status(rows).items() if v}
        tail.append(f"{len(rows)} row(s)" + (": " + ", ".join(f"{v} {k}" for k, v in counts.items())
                                             if counts else ""))
    if note:
        tail.append(note)
    if tail:
        out.append("")
        for line in tail:  # on a terminal, these wrap too
            out.extend(_wrap(line, width) if width and not wide else [line])
    return out


def _default_texts(r: ReconRow, marked: bool, evidence: Callable[[ReconRow], str]) -> list:
    """DEFAULT_COLUMNS' cells of a row in one call, as ``terminal_cells`` gives them when every
    value is text without control characters (the caller checks: one join and one search, the
    general path otherwise): 13 getter calls and a conversion per cell were a third of the text
    lists' time.  tests/test_report_table_fast.py holds this to the getters."""
    return [r.status, _marked(r) if marked else r.serial, r.base_pid, r.hostname or r.device, r.site,
            r.contract_number, str(r.coverage_end) if r.coverage_end else "", " ".join(r.flags),
            str(r.ldos) if r.ldos else "", str(r.last_renewal) if r.last_renewal else "",
            str(r.last_attach) if r.last_attach else "", str(r.end_of_sale) if r.end_of_sale else "", evidence(r)]


MINOR_MARK = "└ "  # before a minor item's serial, under its parent (text lists only: CSV keeps the serial)


def _is_marked(r: ReconRow) -> bool:
    return r.major is False and bool(r.parent_serial)


def _marked(r: ReconRow) -> str:
    return MINOR_MARK + r.serial if _is_marked(r) else r.serial


def fit(headings: Sequence[str], floors: Sequence[int], cells: Sequence[Sequence[str]], verdicts: Sequence[str],
        width: int) -> tuple[list[int], list[int], int, str]:
    """Which columns to show and how wide, in ``width`` characters: ``(kept column indexes,
    widths, WHY's width, a note naming what was cut or left out, or "")``.  First the columns
    over their floor are cut down to it, least needed first; then columns are left out, least
    needed first; SERIAL and STATUS always stay (a row cannot be acted on without them)."""
    widths = column_widths(headings, cells)
    why_natural = max([len(WHY)] + [len(v) for v in verdicts])
    rank = {h: n for n, h in enumerate(PRIORITY)}
    least_first = sorted(range(len(headings)), key=lambda i: -rank.get(headings[i], -1))
    keep = set(range(len(headings)))
    cut: list[str] = []
    dropped: list[str] = []

    want = min(why_natural, max(WHY_MIN, width // 4))  # WHY's share: a quarter of the line

    def room() -> int:
        return width - sum(widths[i] + GAP for i in keep)

    for i in least_first:  # the least needed column first: cut it to its floor, else leave it out
        if room() >= want:
            break
        floor = max(floors[i], len(headings[i]))
        if floors[i] and widths[i] > floor:
            widths[i] = max(floor, widths[i] - (want - room()))
            cut.append(headings[i])
        if room() < want and headings[i] not in ALWAYS:
            keep.discard(i)
            dropped.append(headings[i])
    kept = sorted(keep)
    why_width = max(room(), WHY_FLOOR)  # narrower than SERIAL + STATUS + this, lines overflow
    note = ""
    if cut or dropped:
        parts = ([f"{', '.join(dropped)} left out"] if dropped else []) + (
            [f"{', '.join(h for h in cut if h not in dropped)} cut"] if set(cut) - set(dropped) else [])
        note = f"({width} columns: {'; '.join(parts)}; --wide shows every column and reason)"
    return kept, widths, why_width, note


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _wrap_all(reasons: Sequence[str], width: int) -> list[str]:
    """Every reason, each starting on a line of its own, wrapped: a list file keeps them all."""
    out: list[str] = []
    for reason in reasons:
        out.extend(_wrap(reason, width))
    return out


_WRAPPED: dict[tuple[str, int], list[str]] = {}


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken at blanks (a word longer than the
    line, a path, is broken inside).  Not textwrap: its regex chunking costs about ten times as
    much, and a list file of 10^5 rows wraps hundreds of thousands of reasons, most of them the
    same few texts (hence the memo, bounded)."""
    if len(text) <= width:
        return [text]
    key = (text, width)
    hit = _WRAPPED.get(key)
    if hit is not None:
        return hit
    lines: list[str] = []
    start, end = 0, len(text)
    while end - start > width:  # one search per line, not a step per word
        cut = text.rfind(" ", start, start + width + 1)
        if cut <= start:  # no blank within reach: break inside the word
            lines.append(text[start:start + width])
            start += width
        else:
            lines.append(text[start:cut])
            start = cut + 1
    lines.append(text[start:])
    if len(_WRAPPED) > 50_000:
        _WRAPPED.clear()
    _WRAPPED[key] = lines
    return lines
