"""Stage: demo. ``ibagent demo``: the whole job on the built-in simulated fleet, from one command
(``run_demo`` here), and its Smart Licensing offline round trip against the lab (``slp``).

May import every stage below it (``agent.core`` .. ``agent.slp``) and ``lab``; never ``agent.cli``
(the CLI hands ``run_demo`` its scan runner, store opener and summary printer).

Two scans a month apart in the story (between them, stack member 2 of the access stack is
replaced under RMA), then reconciliation against a sample partner installed-base export and
EoX data written for that fleet.  Every file lands in ``--out`` and the store is kept there so
every other command can be pointed at it.

Stage: demo.  May import every stage below it and ``lab``; never ``agent.cli`` (the CLI hands it
its scan runner).
"""
from __future__ import annotations

import dataclasses
import os
from datetime import datetime, timezone
from pathlib import Path

import yaml

from agent.reports import tabular
from agent.collect.inventory import load_inventory
from agent.store.views import DEVICE_COLUMNS, device_rows


def _add_site_ids(inv_dir: Path, site_ids: dict[str, str]) -> None:
    """Map each host's site to its contract install-site id (the reconcile scope)."""
    hosts_file = inv_dir / "hosts.yaml"
    hosts = yaml.safe_load(hosts_file.read_text())
    for entry in hosts.values():
        data = entry.setdefault("data", {})
        if data.get("site") in site_ids:
            data["contract_site_ids"] = [site_ids[data["site"]]]
    hosts_file.write_text(yaml.safe_dump(hosts, sort_keys=False))


def run_demo(args, redactor, scan, open_store, print_summary) -> int:
    """``scan(targets, store, options, inventory, redactor, progress)`` is the CLI's scan runner."""
    from agent.contracts import load_contracts, load_eox
    from agent.reconcile import count_by_status
    from agent.reconcile.from_store import reconcile_from_store
    from agent.reports import write_reconcile_reports
    from agent.collect.scan import ScanOptions
    from lab import fleet as lab_fleet
    from lab import sample_contracts
    from lab.device import DEFAULT_ENABLE, DEFAULT_PASSWORD, ENABLE_ENV, PASSWORD_ENV
    from lab.inventory import write_inventory
    from lab.server import LabThread

    # The demo inventory references the lab's secrets like any other; give them their lab values.
    os.environ.setdefault(PASSWORD_ENV, DEFAULT_PASSWORD)
    os.environ.setdefault(ENABLE_ENV, DEFAULT_ENABLE)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from agent.store import shown_store, store_location

    # A postgresql:// URL stays a URL (Path would fold its '//'); what is printed is shown_db, the
    # URL without any password.
    db = store_location(args.db) if args.db else out / "ibagent.db"
    shown_db = shown_store(db) if isinstance(db, str) else str(db)
    as_of = datetime.now(timezone.utc).date()
    options = ScanOptions(workers=args.workers, deadline=args.deadline, connect_timeout=5, command_timeout=5,
                          retries=1, transport=getattr(args, "transport", None))
    inv_dir = out / "inventory"
    store = open_store(str(db))
    summaries = []
    try:
        store.lock()
        original = lab_fleet.demo_fleet()
        after_rma = [
            dataclasses.replace(s, rma=frozenset({sample_contracts.RMA_TOKEN}))
            if s.name == sample_contracts.RMA_DEVICE else s
            for s in original
        ]
        for label, specs in (("first scan", original), ("second scan, after an RMA swap", after_rma)):
            print(f"demo: starting the simulated fleet on 127.0.0.1 ({label}) ...", flush=True)
            # --transport netconf|snmp: the lab serves that transport too (lab.netconf / lab.snmp).
            with LabThread(specs, peers=() if options.transport in (None, "ssh") else (options.transport,)) as lab:
                if not summaries:
                    contracts = sample_contracts.write_contracts(out / "sample-contracts.csv", lab.devices, as_of)
                    eox = sample_contracts.write_eox(out / "sample-eox.json", as_of)
                write_inventory(lab.devices, inv_dir)
                _add_site_ids(inv_dir, sample_contracts.SITE_IDS)
                inventory = load_inventory(inv_dir)
                redactor.add(inventory.secrets)
                print(f"demo: scanning {len(inventory.targets)} devices ...", flush=True)
                summaries.append(scan(inventory.targets, store, options, inventory.source, redactor, None))
        summary = summaries[-1]
        rows = device_rows(store, summary.scan_id)
        load = load_contracts([contracts])
        eox_load = load_eox([eox])
        recon = reconcile_from_store(store, load.lines, eox_load.index, as_of, 90)
        from agent.reports.neighbours import write_csv  # CDP/LLDP: the Cisco gear in no inventory

        said_neighbours = "demo: " + write_csv(store, out)
    finally:
        store.close()
    (out / "devices.csv").write_text(tabular.to_csv(rows, DEVICE_COLUMNS))
    (out / "devices.json").write_text(tabular.to_json(rows))
    written = write_reconcile_reports(
        recon, out / "reports", meta={"as_of": as_of.isoformat(), "window_days": 90,
                                      "contracts": [str(contracts)], "eox": [str(eox)]}
    )
    print_summary(summary)
    contractable = sum(1 for r in rows if r["contractable"])
    print(f"demo: {len(rows)} physical items ({contractable} contractable) in {out}/devices.csv and devices.json")
    counts = count_by_status(recon)
    print(f"demo: reconciled against {contracts.name} and {eox.name} as of {as_of}: "
          + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    print(f"demo: {len(written)} report files in {out}/reports/ (renew, add, drop, transfer, refresh, ...)")
    print(said_neighbours)
    from agent.demo.quote import demo_quote  # the co-termed renewal quote from a sample price list

    said, quote_lines, quote_sums, prices = demo_quote(
        out, recon, load.lines, eox_load.index, as_of,
        {"as_of": as_of.isoformat(), "contracts": [str(contracts)], "eox": [str(eox)], "store": shown_db})
    for line in said:
        print(line)
    from agent.demo.slp import demo_round_trip  # Smart Licensing: offline round trip + slp-report.*

    said, slp = demo_round_trip(out, db, after_rma, redactor, as_of)
    for line in said:
        print(line)
    from agent.reports.html import ReportInputs, write_report  # the browser report of all the above

    store = open_store(str(db))
    try:
        path, size = write_report(out / "report.html", ReportInputs(
            as_of, 90, recon, shown_db, [str(contracts)], [str(eox)], load.lines, str(prices), None,
            quote_lines, quote_sums, slp), store)
    finally:
        store.close()
    print(f"demo: HTML report (coverage, renewal calendar, end of life, lists, quote, SLP, evidence) -> {path} "
          f"({size:,} bytes; open it in a browser, no network needed)")
    print(f"demo: store at {shown_db}; try:  ibagent devices --db {shown_db}   or   ibagent diff --db {shown_db}")
    if summary.failed:
        print("demo: the failed devices above are the deliberately faulty ones (one per fault kind).")
    return 0 if summary.failed == 0 else 1
