"""``ibagent export`` --site: a sealed bundle of one site's scans (issue 16); not built yet."""
from __future__ import annotations

import argparse

from agent.cli.common import UsageError


def add_arguments(p: argparse.ArgumentParser, common) -> None:
    p.add_argument("--site", help="the site whose scans go into the bundle")


def run(args: argparse.Namespace) -> int:
    raise UsageError("export --site is not built yet")
