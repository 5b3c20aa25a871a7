"""Parse throughput over the real-capture corpus.

    python bench/parse_throughput.py [--rounds N] [--corpus DIR] [--normalize]

Loads every capture the conformance suite walks, parses the whole set N times
(templates compiled once, as in a scan) and prints captures/s, MB/s and the slowest
command; ``--normalize`` also times ``agent.normalize.records_from_captures`` per capture.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--corpus")
    ap.add_argument("--normalize", action="store_true", help="also time records_from_captures")
    args = ap.parse_args(argv)
    import corpus_util as cu  # noqa: PLC0415 - after sys.path set-up

    import parsers  # noqa: PLC0415
    from agent.core.models import Capture  # noqa: PLC0415
    from agent.normalize import records_from_captures  # noqa: PLC0415

    root = cu.use_corpus(args.corpus)
    if root is None:
        return 2
    items = [(c.platform, c.command, c.path.read_text(errors="replace")) for c in cu.iter_cases(root)]
    nbytes = sum(len(t) for _, _, t in items)

    def one(p: str, c: str, t: str) -> None:
        try:
            parsers.parse(p, c, t)
        except parsers.ParseError:
            pass

    t0 = time.perf_counter()
    for p, c, t in items:  # warm-up: template compilation, index look-ups
        one(p, c, t)
    warm = time.perf_counter() - t0

    per_cmd: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    start = time.perf_counter()
    for _ in range(args.rounds):
        for p, c, t in items:
            s = time.perf_counter()
            one(p, c, t)
            per_cmd[c] += time.perf_counter() - s
            count[c] += 1
    elapsed = time.perf_counter() - start
    n = len(items) * args.rounds
    print(f"captures: {len(items)} ({nbytes / 1e6:.2f} MB), rounds: {args.rounds}, first pass (cold): {warm:.3f} s")
    print(f"parse: {n / elapsed:,.0f} captures/s   {nbytes * args.rounds / elapsed / 1e6:.1f} MB/s   "
          f"mean {1e3 * elapsed / n:.3f} ms/capture")
    for c in sorted(per_cmd, key=lambda k: -per_cmd[k] / count[k]):
        print(f"  {c:24} {1e3 * per_cmd[c] / count[c]:7.3f} ms/capture")
    if args.normalize:
        caps = [Capture(device="d", platform=p, transport="ssh", command=c, output=t, started=0.0, ended=0.0, id=i)
                for i, (p, c, t) in enumerate(items)]
        start = time.perf_counter()
        for _ in range(args.rounds):
            for cap in caps:
                try:
                    records_from_captures("d", cap.platform, [cap])
                except parsers.ParseError:
                    pass
        elapsed = time.perf_counter() - start
        print(f"parse + normalise: {len(caps) * args.rounds / elapsed:,.0f} captures/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
