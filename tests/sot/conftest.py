"""The session's real Nautobot (tests/sot/nautobot_server.py): started once, on first use, for every
test under tests/sot/ that asks for it, and stopped at the end.  Its start-up steps' times are
written to artefacts/sot/nautobot-timings.json and printed in the terminal summary.

Skipped, saying why, only where IBAGENT_CI is unset and Nautobot cannot run here (not installed,
no redis-server, no PostgreSQL); under .ci/run (IBAGENT_CI=1) that is a failure instead, so CI can
never go green by skipping the round trip.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nautobot_server  # noqa: E402

ARTEFACTS = Path(__file__).resolve().parents[2] / "artefacts" / "sot"
TIMINGS = nautobot_server.TIMINGS


@pytest.fixture(scope="session")
def nautobot():
    reason = nautobot_server.why_not()
    if reason:
        if os.environ.get("IBAGENT_CI"):
            pytest.fail(f"IBAGENT_CI is set, and the Nautobot round trip cannot run: {reason}")
        pytest.skip(reason)
    t0 = time.monotonic()
    server = nautobot_server.start()
    TIMINGS.update({f"start.{k}": round(v, 1) for k, v in server.timings.items()})
    TIMINGS["start.fixture_total"] = round(time.monotonic() - t0, 1)
    try:
        yield server
    finally:
        server.stop()
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        (ARTEFACTS / "nautobot-timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        shown = ", ".join(f"{k} {v} s" for k, v in TIMINGS.items())
        terminalreporter.write_line(f"nautobot round trip timings: {shown}")
