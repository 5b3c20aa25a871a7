"""``ibagent demo``'s Smart Licensing step: the offline round trip against the lab, then the report.

The story: site ``hq`` is air-gapped.  RUM files are collected from every healthy device (classic
ones are skipped, the classic-IOS switch refuses the command), the ``hq`` files are bundled for
CSSM, the lab's stand-in for CSSM returns an ACK per file, and the ACKs are imported.  The report
written afterwards shows ``hq`` back in policy next to the other sites' overdue and never-acked
devices.  It lives in the demo stage (it was ``agent/slp/demo.py``) so that ``agent.slp`` never
touches ``lab``.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date
from pathlib import Path

from agent.collect.inventory import load_inventory
from agent.store import Store

from agent.slp import slp_report
from agent.slp.ack_import import import_acks
from agent.slp.offline import ActionOptions, SlpLock, bundle, collect
from agent.slp.render import write_report_files

AIR_GAPPED_SITE = "hq"


def _counts(items, key) -> str:
    c = Counter(key(i) for i in items)
    return ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "none"


def demo_round_trip(out: Path, db, specs, redactor, as_of: date):
    """Run the round trip on a lab of the healthy ``specs``, write ``slp-report.*``; ``(lines to
    print, the SLP report)`` (the HTML report shows it too)."""
    from lab import slp as lab_slp
    from lab.inventory import write_inventory
    from lab.server import LabThread

    work = out / "slp"
    lines = []
    store = Store(db)
    try:
        before = slp_report(store, as_of).counts()
        lines.append("demo: SLP reporting before the round trip: " + ", ".join(f"{k} {v}" for k, v in before.items() if v))
        options = ActionOptions(workers=20, connect_timeout=5, command_timeout=10, deadline=60)
        with LabThread([s for s in specs if not s.faults]) as lab, SlpLock(store):
            write_inventory(lab.devices, work / "inventory")
            inventory = load_inventory(work / "inventory")
            redactor.add(inventory.secrets)
            collected = asyncio.run(collect(inventory.targets, store, options=options, redactor=redactor,
                                            inventory=inventory.source))
            lines.append(f"demo: slp collect: {_counts(collected.outcomes, lambda o: o.status)}"
                         + "".join(f"; {o.device} {o.status}: {o.reason}" for o in collected.outcomes
                                   if o.status in ("refused", "failed")))
            bundled = bundle(store, work / "bundle", site=AIR_GAPPED_SITE)
            acks = []
            for f in bundled.files:  # the lab plays CSSM: upload usage data, download the ACK
                ack = work / "acks" / f"ACK_{f['file']}"
                ack.parent.mkdir(parents=True, exist_ok=True)
                ack.write_bytes(lab_slp.cssm_ack((work / "bundle" / f["file"]).read_bytes()))
                acks.append(ack)
            lines.append(f"demo: slp bundle --site {AIR_GAPPED_SITE}: {len(bundled.files)} file(s) + manifest in "
                         f"{work / 'bundle'}; simulated CSSM returned {len(acks)} ACK(s) in {work / 'acks'}")
            imported = asyncio.run(import_acks(inventory.targets, store, acks, options=options, redactor=redactor,
                                               inventory=inventory.source))
            lines.append(f"demo: slp import-ack: {_counts(imported.outcomes, lambda o: o.status)}")
        report = slp_report(store, as_of)
    finally:
        store.close()
    written = write_report_files(report, out)
    lines.append(f"demo: SLP reporting as of {as_of}: "
                 + ", ".join(f"{k} {v}" for k, v in report.counts().items() if v)
                 + f" -> {', '.join(p.name for p in written)} (ibagent slp report --db {store.path})")
    return lines, report
