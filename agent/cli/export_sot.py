"""``ibagent export`` nautobot|netbox: the fleet into a source of truth (issue 17); not built yet."""
from __future__ import annotations

import argparse

from agent.cli.common import UsageError


def add_arguments(p: argparse.ArgumentParser, common) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UsageError("export nautobot|netbox is not built yet")
