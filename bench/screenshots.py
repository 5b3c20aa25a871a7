"""README's screenshots of the HTML report and of its quote section, from the demo.

    python bench/screenshots.py [--demo DIR] [--out docs/img]

Runs ``ibagent demo`` into a temporary directory (or reads an existing demo output with
``--demo``), opens its ``report.html`` in Debian's headless Chromium through Playwright (the
browser the tests drive: ``/usr/bin/chromium``, flags without any network), and writes
``report.png`` (the top of the page: header, summary) and ``quote.png`` (the quote section's
top) at 1,400 x 900 CSS pixels.  Nothing is downloaded: the page is a file:// URL and its
Content-Security-Policy forbids network.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-default-apps"]


def shoot(report: Path, out: Path, width: int = 1400, height: int = 900) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(report.resolve().as_uri())
            page.screenshot(path=str(out / "report.png"))
            written.append(out / "report.png")
            box = page.locator("section#quote").bounding_box()
            page.screenshot(path=str(out / "quote.png"), full_page=True,
                            clip={"x": 0, "y": box["y"], "width": width, "height": height})
            written.append(out / "quote.png")
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", type=Path, help="an existing 'ibagent demo --out' directory (default: run the demo)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="where the PNGs go (default docs/img)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        demo = args.demo
        if demo is None:
            demo = Path(tmp) / "ibagent-demo"  # the demo's default name, as the header shows it
            done = subprocess.run([sys.executable, "-m", "agent.cli", "demo", "--out", str(demo)], cwd=ROOT,
                                  capture_output=True, text=True, timeout=600)
            if not (demo / "report.html").is_file():
                print(done.stdout[-2000:] + done.stderr[-2000:], file=sys.stderr)
                return 1
        for path in shoot(demo / "report.html", args.out):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
