"""Benchmark: ``ibagent report`` (the HTML report) on the demo and on a lab store of ~300 devices:
wall time, peak RSS and the file's size.

    python bench/report_html.py [--devices 300] [--runs 3] [--keep DIR]

1. The demo (``ibagent demo``) and its own inputs (sample contracts, EoX, price list).
2. A scale lab (``lab.process.LabProcess``, the ``scale`` fleet cycling the demo's healthy
   profiles over 20 sites, no command latency) scanned by ``ibagent scan`` into a fresh store;
   a partner-layout contract export written here from the lab's ground truth (never from the
   scan): per item, a seeded story (70 % covered with ends spread over the next 30 months, 8 %
   expiring, 5 % lapsed, the rest on no contract) plus 40 lines for items not on the network;
   the demo's EoX file and price list.

Each ``ibagent report`` runs as a child process (``--prices``: money, quote, calendar amounts),
``--runs`` times; the median wall time, the child's peak RSS and the HTML size are printed, with
the rows and captures the page holds.  Only 127.0.0.1: the lab listens on loopback.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB of the child, stderr)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}\n{err[-3000:]}")
    return wall, usage.ru_maxrss / 1024, err


def measure(label: str, db: Path, contracts: Path, eox: Path, prices: Path, out: Path, runs: int) -> None:
    cmd = [sys.executable, "-m", "agent.cli", "report", "--db", str(db), "--contracts", str(contracts),
           "--eox", str(eox), "--prices", str(prices), "--out", str(out)]
    walls, rss, err = [], [], ""
    for _ in range(runs):
        wall, peak, err = _timed(cmd)
        walls.append(wall)
        rss.append(peak)
    page = out.read_text(encoding="utf-8")
    summary = next((ln for ln in err.splitlines() if ln.startswith("report as of")), "")
    rows = sum(int(n) for n in re.findall(r"(\d+)(?=,|;)", summary.split(":", 1)[1].split(";")[0] + ","))
    captures, items = page.count('class="capture"'), page.count('<tr class="item"')
    in_browser = browser_figures(out)
    print(f"{label:>22}: {statistics.median(walls):6.2f} s median of {runs} (min {min(walls):.2f}), "
          f"peak RSS {max(rss):6.1f} MiB, {out.stat().st_size / 1e6:6.2f} MB; {rows} rows, "
          f"{captures} captures, {items} list rows" + (f"\n{'':>22}  Chromium: {in_browser}" if in_browser else ""))


def browser_figures(report: Path) -> str:
    """Open, sort and filter in headless Chromium (when Playwright and /usr/bin/chromium exist):
    what a reader waits for.  Times in the page (performance.now), layout included."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return ""
    if not Path("/usr/bin/chromium").exists():
        return ""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-default-apps"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            start = time.perf_counter()
            page.goto(report.resolve().as_uri())
            load = time.perf_counter() - start
            sort = page.evaluate("""() => { const th = Array.from(document.querySelectorAll('#t-deployed thead th'))
                .find(t => t.textContent === 'serial'); const t0 = performance.now(); th.click();
                document.getElementById('t-deployed').getBoundingClientRect(); return performance.now() - t0; }""")
            filt = page.evaluate("""() => { const f = document.getElementById('f-text'); const t0 = performance.now();
                f.value = 'foc2'; f.dispatchEvent(new Event('input')); document.body.getBoundingClientRect();
                return performance.now() - t0; }""")
        finally:
            browser.close()
    return f"open {load:.1f} s, sort the deployed list {sort / 1000:.2f} s, text filter {filt / 1000:.2f} s"


def demo_inputs(work: Path) -> tuple[Path, Path, Path, Path]:
    out = work / "demo"
    subprocess.run([sys.executable, "-m", "agent.cli", "demo", "--out", str(out)], cwd=ROOT, capture_output=True,
                   timeout=600)
    if not (out / "report.html").is_file():
        raise SystemExit("the demo did not write report.html")
    return out / "ibagent.db", out / "sample-contracts.csv", out / "sample-eox.json", out / "sample-prices.csv"


def scale_contracts(devices, path: Path, as_of: date, seed: int = 7) -> int:
    from lab.sample_contracts import HEADER, SITE_IDS

    rng = random.Random(seed)
    rows = []
    instance = 770000000

    def line(serial, pid, site, start, end, contract, coverage="COVERED", status="ACTIVE"):
        nonlocal instance
        instance += 1
        rows.append({"Serial Number / PAK number": serial, "Coverage": coverage, "Covered Line Status": status,
                     "Product Family": pid.split("-")[0], "Product ID": pid, "Product Type": "CHASSIS",
                     "Item Quantity": "1", "Covered Line Start Date": start.isoformat(),
                     "Covered Line End Date": end.isoformat(), "Contract Type": "SNTC", "Service Brand Code": "SNTC",
                     "Contract Number": contract, "Install Site Name": site.upper(),
                     "Install Site ID": SITE_IDS.get(site, ""), "Default Service Level": "SNT",
                     "Instance ID": str(instance), "Major/Minor": "MAJOR"})

    for dev in devices:
        for item in dev.truth.physical:
            roll = rng.random()
            contract = f"3100{rng.randrange(12):04d}"
            if roll < 0.70:
                end = as_of + timedelta(days=rng.randrange(91, 900))
                line(item.serial, item.pid, dev.site, end - timedelta(days=365), end, contract)
            elif roll < 0.78:
                end = as_of + timedelta(days=rng.randrange(1, 90))
                line(item.serial, item.pid, dev.site, end - timedelta(days=365), end, contract)
            elif roll < 0.83:
                end = as_of - timedelta(days=rng.randrange(1, 200))
                line(item.serial, item.pid, dev.site, end - timedelta(days=365), end, contract, "NOT COVERED",
                     "EXPIRED")
    for i in range(40):  # paid for, not on the network
        line(f"FXS9{i:07d}", "C9300-48P", f"site{i % 20:03d}", as_of - timedelta(days=100),
             as_of + timedelta(days=300), "31000001")
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def scale_store(work: Path, count: int, eox: Path) -> tuple[Path, Path]:
    from lab.device import DEFAULT_ENABLE, DEFAULT_PASSWORD, ENABLE_ENV, PASSWORD_ENV
    from lab.process import LabProcess

    # The lab's inventory refers to its secrets as ${VAR}, as any inventory would: their lab values.
    os.environ.setdefault(PASSWORD_ENV, DEFAULT_PASSWORD)
    os.environ.setdefault(ENABLE_ENV, DEFAULT_ENABLE)
    db = work / "scale.db"
    as_of = datetime.now(timezone.utc).date()
    with LabProcess(count=count, latency=0.0, jitter=0.0, inventory_dir=work / "lab-inventory") as lab:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "agent.cli", "scan", "-i", str(lab.inventory_dir), "--db",
                               str(db), "--workers", "100", "--no-progress", "-q"], cwd=ROOT, capture_output=True,
                              text=True, timeout=1800)
        if done.returncode not in (0, 1):
            raise SystemExit(f"scan failed: exit {done.returncode}\n{done.stderr[-3000:]}")
        print(f"{'scan':>22}: {count} lab devices in {time.perf_counter() - start:.1f} s -> {db}")
        contracts = work / "scale-contracts.csv"
        lines = scale_contracts(lab.devices, contracts, as_of)
    print(f"{'contracts':>22}: {lines} lines -> {contracts}")
    return db, contracts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=300, help="lab devices in the scale store (default 300)")
    ap.add_argument("--runs", type=int, default=3, help="report runs per store (default 3; the median is printed)")
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it (default: a temporary one)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ibagent-bench-report-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        db, contracts, eox, prices = demo_inputs(work)
        measure("demo", db, contracts, eox, prices, work / "demo-report.html", args.runs)
        scale_db, scale_contracts_csv = scale_store(work, args.devices, eox)
        measure(f"{args.devices} devices", scale_db, scale_contracts_csv, eox, prices, work / "scale-report.html",
                args.runs)
        if args.keep:
            print(f"kept: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
