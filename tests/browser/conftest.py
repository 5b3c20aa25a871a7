"""Browser tests: Playwright drives Debian's Chromium (``/usr/bin/chromium``, never a browser
``playwright install`` would download) headless over the demo's HTML report.

One browser and one demo per session (the demo runs the lab fleet: ~15 s): the browser tests are
one module, and the fixtures are scoped to it so they are closed when it ends.  Not session
scope: Playwright's sync API keeps an asyncio loop running in the main thread while the browser
is open, and every later test that calls ``asyncio.run`` failed with "cannot be called from a
running event loop" (a package scope is a session scope in a directory without __init__.py).  Every page a test
opens goes through ``open_page``, which records each request the page makes and aborts any that
is not the report's own file: ``test_no_network_request`` asserts on that record.  Screenshots and
PDFs land in ``artefacts/browser/`` at the repository root (ignored by git); their paths are
printed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("IBAGENT_CHROMIUM", "/usr/bin/chromium")
ARTEFACTS = ROOT / "artefacts" / "browser"
# No GPU, no sandbox (CI runs as root), and nothing of Chromium's own that would talk to the
# network (component updates, sync, field trials): the page's requests are the only ones.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-default-apps"]


def _skip_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install '.[test]')"
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} is missing (Debian: apt-get install chromium; .ci/run installs it)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def demo(demo_run, browser):
    """The demo's output directory (report.html, the store, the reports/ lists beside it): the
    session's one demo run (tests/conftest.py)."""
    out, done = demo_run
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert (out / "report.html").is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    assert "demo: HTML report" in done.stdout
    return out


@pytest.fixture(scope="module")
def requests_seen():
    return []


@pytest.fixture
def open_page(browser, requests_seen):
    """``open_page(path, **viewport)`` -> a page at ``path``'s file:// URL; every request recorded
    in ``requests_seen`` as (page URL, request URL), any that is not the file itself aborted."""
    contexts = []

    def opener(path: Path, width: int = 1400, height: int = 900):
        url = path.resolve().as_uri()
        ctx = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(ctx)

        def route(r):
            requests_seen.append((url, r.request.url))
            if r.request.url.split("#")[0] == url:
                r.continue_()
            else:
                r.abort()

        ctx.route("**/*", route)
        page = ctx.new_page()
        page.on("request", lambda req: requests_seen.append((url, req.url)))
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        page.goto(url)
        return page

    yield opener
    for ctx in contexts:
        ctx.close()


@pytest.fixture(scope="session")
def artefacts():
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS


@pytest.fixture(scope="session")
def pdf_text():
    """``pdf_text(path)`` -> the PDF's text as poppler's pdftotext reads it."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is missing; .ci/run installs it")

    def read(pdf: Path) -> str:
        done = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    return read


def pytest_terminal_summary(terminalreporter):
    """Say where the screenshots and PDFs are, once, at the end of the run."""
    if ARTEFACTS.is_dir():
        files = sorted(p.name for p in ARTEFACTS.iterdir() if p.suffix in (".png", ".pdf"))
        if files:
            terminalreporter.write_line(f"browser artefacts in {ARTEFACTS}: {', '.join(files)}")
