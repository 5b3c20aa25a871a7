"""Shared test setup: lab credentials are referenced by the lab's inventories as ${VAR}."""
from __future__ import annotations

import os

from lab.device import DEFAULT_ENABLE, DEFAULT_PASSWORD, ENABLE_ENV, PASSWORD_ENV

os.environ.setdefault(PASSWORD_ENV, DEFAULT_PASSWORD)
os.environ.setdefault(ENABLE_ENV, DEFAULT_ENABLE)

# The signal tests send SIGINT / SIGHUP to ibagent children, and a child inherits an ignored
# signal: a suite started in the background of a script (bash ignores SIGINT there) or under nohup
# (SIGHUP) would hand that on, and the scan would rightly keep ignoring it (a user's 'nohup ibagent
# scan &' means exactly that).  The tests need the signals as a terminal delivers them.
import signal  # noqa: E402

for _sig, _handler in ((signal.SIGINT, signal.default_int_handler), (signal.SIGHUP, signal.SIG_DFL)):
    if signal.getsignal(_sig) == signal.SIG_IGN:
        signal.signal(_sig, _handler)

# The whole-suite secrets sweep: every output, log and store row the suite writes (tests/suite_sweep.py).
pytest_plugins = ["suite_sweep", "pytester", "pg.store_fixtures"]


import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """``ibagent demo`` run once for the session (the lab fleet, a scan, every report: ~20 s), as a
    user runs it, from the repository: ``(output directory, completed process)``.  Tests read its
    outputs and never change them."""
    out = tmp_path_factory.mktemp("demo-run")
    proc = subprocess.run([sys.executable, "-m", "agent.cli", "demo", "--out", str(out)], capture_output=True,
                          text=True, timeout=600, cwd=Path(__file__).resolve().parents[1])
    return out, proc


@pytest.fixture(autouse=True)
def _root_logging_given_back():
    """The CLI replaces the root logger's handlers (agent/cli/common.py) with ones writing to the
    sys.stderr of the moment, which under pytest is a capture stream closed after the test: a later
    test's log line would then print '--- Logging error ---'.  Each test gets back what it found."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
