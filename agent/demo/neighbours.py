"""The demo's gap report (issue 17): the lab's devices announce each other and a few devices that
are in no inventory; ``neighbours.csv`` names each of those with its platform and the devices
(and ports) that see it, as ``ibagent neighbours --format csv`` would."""
from __future__ import annotations

from pathlib import Path

from agent.reconcile.neighbours_store import gap_report
from agent.reports import neighbours as out
from agent.reports.tabular import atomic_write


def write_neighbours(store, directory: Path) -> str:
    """Write ``neighbours.csv`` (every unlisted neighbour, the non-Cisco ones after the Cisco ones,
    column ``cisco`` telling them apart) and say what it holds in one line."""
    report = gap_report(store)
    path = Path(directory) / "neighbours.csv"
    atomic_write(path, lambda tmp: tmp.write_text(out.render(report, "csv", everything=True)))
    return f"demo: {out.summary(report)} -> {path}"
