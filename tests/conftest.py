"""Shared test setup: lab credentials are referenced by the lab's inventories as ${VAR}."""
from __future__ import annotations

import os

from lab.device import DEFAULT_ENABLE, DEFAULT_PASSWORD, ENABLE_ENV, PASSWORD_ENV

os.environ.setdefault(PASSWORD_ENV, DEFAULT_PASSWORD)
os.environ.setdefault(ENABLE_ENV, DEFAULT_ENABLE)

# The whole-suite secrets sweep: every output, log and store row the suite writes (tests/suite_sweep.py).
pytest_plugins = ["suite_sweep", "pytester"]
