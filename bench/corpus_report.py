"""Conformance figures over the real-capture corpus, per platform x command and in total.

    python bench/corpus_report.py [--details] [--corpus DIR]

Columns: captures; parsed (a ParseResult came back); refused (the capture is a device
refusal such as '% Invalid command' and ParseError was correctly raised); values compared
against the source project's expected file; values agreeing; values covered by a reviewed
exception (tests/corpus_exceptions.yaml); mismatches left.

A second table covers the structured captures (``*/snmp/*.snmprec``, ``iosxr/netconf/*.xml``,
tests/corpus_structured.py): serials = components with a serial; absent = values the source
states that the recording does not hold (LibreNMS's sysObjectID names, rows from elsewhere).
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def _print_table(head: str, rows: dict) -> list[int]:
    """Print one (platform, command) row per key and a total line; return the totals."""
    print(head)
    print("-" * len(head))
    tot = [0] * 7
    for (p, c), r in sorted(rows.items()):
        print(f"{p:8} {c:22} {r[0]:8} {r[1]:7} {r[2]:7} {r[3]:9} {r[4]:6} {r[5]:6} {r[6]:5}")
        tot = [a + b for a, b in zip(tot, r)]
    print("-" * len(head))
    print(f"{'total':31} {tot[0]:8} {tot[1]:7} {tot[2]:7} {tot[3]:9} {tot[4]:6} {tot[5]:6} {tot[6]:5}")
    return tot


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", help="corpus root (default: $IBAGENT_CORPUS or ../shared/corpus)")
    ap.add_argument("--details", action="store_true", help="list every parse failure and mismatch")
    args = ap.parse_args(argv)
    import corpus_util as cu  # noqa: PLC0415 - after sys.path set-up

    root = cu.use_corpus(args.corpus)
    if root is None:
        return 2
    rows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0, 0])
    details: list[str] = []
    for case in cu.iter_cases(root):
        o = cu.run_case(case)
        r = rows[(case.platform_dir, case.slug)]
        r[0] += 1
        r[1] += 1 if o.parsed else 0
        r[2] += 1 if (o.refusal and not o.parsed) else 0
        r[3] += o.compared
        r[4] += o.agreed
        r[5] += o.excepted
        r[6] += len(o.mismatches)
        if not (o.parsed or o.refusal):
            details.append(f"PARSE {case.rel}: {o.error}")
        for m in o.mismatches:
            details.append(f"DIFF  {case.expected_rel} {m.field} [{m.kind}] expected {m.value!r}")
    head = (f"{'platform':8} {'command':22} {'captures':>8} {'parsed':>7} {'refused':>7} {'compared':>9} "
            f"{'agree':>6} {'except':>6} {'diff':>5}")
    tot = _print_table(head, rows)
    handled = tot[1] + tot[2]
    pct_parsed = 100.0 * handled / tot[0] if tot[0] else 0.0
    pct_agree = 100.0 * (tot[4] + tot[5]) / tot[3] if tot[3] else 0.0
    print(f"parsed {pct_parsed:.1f} % ({tot[1]} parsed + {tot[2]} device refusals rejected)   "
          f"agreement {pct_agree:.1f} % after listed exceptions ({100.0 * tot[4] / tot[3] if tot[3] else 0:.1f} % before)")
    if args.details or details:
        for d in details:
            print(d)
    structured_ok = _structured_report(args.details)
    return 0 if handled == tot[0] and tot[6] == 0 and structured_ok else 1


def _structured_report(show_details: bool) -> bool:
    """The SNMP recordings and NETCONF replies (tests/corpus_structured.py), as a second table."""
    import corpus_structured as cs  # noqa: PLC0415

    rows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0, 0])
    details: list[str] = []
    for case in cs.iter_cases():
        o = cs.run_case(case)
        r = rows[(case.platform_dir, case.slug)]
        r[0] += 1
        r[1] += 1 if o.parsed else 0
        r[2] += o.serials
        r[3] += o.compared
        r[4] += o.agreed
        r[5] += o.derived
        r[6] += len(o.mismatches)
        if not o.parsed:
            details.append(f"PARSE {case.rel}: {o.error}")
        for m in o.mismatches:
            details.append(f"DIFF  {case.rel} {m.field} [{m.kind}] expected {m.value!r}")
        if show_details:
            for m in o.derived_values:
                details.append(f"NOT IN RECORDING  {case.rel} {m.field} [{m.kind}] {m.value!r}")
    head = (f"{'platform':8} {'kind':22} {'captures':>8} {'parsed':>7} {'serials':>7} {'compared':>9} "
            f"{'agree':>6} {'absent':>6} {'diff':>5}")
    print()
    print("structured captures (SNMP recordings, NETCONF replies)")
    tot = _print_table(head, rows)
    pct_parsed = 100.0 * tot[1] / tot[0] if tot[0] else 0.0
    pct_agree = 100.0 * tot[4] / tot[3] if tot[3] else 0.0
    print(f"parsed {pct_parsed:.1f} %   agreement {pct_agree:.1f} % of {tot[3]} values "
          f"({tot[5]} values the source states are not in the recording: --details lists them)")
    for d in details:
        print(d)
    return tot[1] == tot[0] and tot[6] == 0


if __name__ == "__main__":
    sys.exit(main())
