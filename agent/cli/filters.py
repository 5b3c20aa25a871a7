"""What ``reconcile`` and ``slp report`` share for a person at a terminal and for cron: the
``--site`` / ``--agent`` / ``--status`` filters, ``--fail-on`` and its exit code, and the table's width.
``--agent`` (and ``devices --site``) restrict the merged fleet to the devices whose current state
came from those agents' (or sites') collections: ``held_devices``.

Only the standard library: imported when the parsers are built (``ibagent --help``).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Iterable, Mapping, TextIO

# ``--fail-on``: a row with one of the named statuses is present.  Not 1 (some devices failed: a
# scan's word), not 2 (usage), not 3 (``parse``): cron tells "the report ran and found what you
# asked to be told about" from every failure of the run itself.
EXIT_FAIL_ON = 4


def add_filter_options(p: argparse.ArgumentParser, what: str, statuses: str, site: bool = True) -> None:
    if site:
        p.add_argument("--site", action="append", metavar="SITE",
                       help=f"only {what}s of this site (repeatable; the inventory's site names)")
    add_agent_option(p, what)
    p.add_argument("--status", metavar="STATUS[,STATUS]",
                   help=f"only {what}s with one of these statuses ({statuses})")
    p.add_argument("--fail-on", metavar="STATUS[,STATUS]",
                   help=f"exit {EXIT_FAIL_ON} when any {what} shown (after --site/--status) has one of these statuses, "
                        "so cron can alert; the output is written as usual")


def add_agent_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--agent", action="append", metavar="NAME",
                   help=f"only {what}s of devices whose current state this agent collected (repeatable; "
                        "'ibagent agents' lists them; an imported site's scans keep their agent's name)")


def held_devices(store, sites: Iterable[str] | None, agents: Iterable[str] | None) -> set[str] | None:
    """The devices of the current fleet whose latest good collection came from one of ``agents``
    and is of one of ``sites`` (either None: any); None when neither is given (no filter)."""
    sites, agents = set(sites or ()), set(agents or ())
    if not sites and not agents:
        return None
    from agent.store.agents import holders

    return {device for device, (agent, site) in holders(store).items()
            if (not agents or agent in agents) and (not sites or site in sites)}


def fleet_scope(db: str, sites: Iterable[str] | None, agents: Iterable[str] | None) -> set[str] | None:
    """``held_devices`` of the store at ``db`` (read-only), with the contested devices warned about."""
    from agent.cli.common import _require_store

    store = _require_store(db)
    try:
        warn_contested(store)
        return held_devices(store, sites, agents)
    finally:
        store.close()


def warn_contested(store, stream: TextIO | None = None) -> dict[str, list[str]]:
    """One warning line on stderr per device two agents claim (never settled silently); returns them."""
    from agent.core.untrusted import printable
    from agent.store.agents import claims

    contested = claims(store)
    for device, agents in list(contested.items())[:50]:
        print(printable(f"warning: device {device} is claimed by agents {', '.join(agents)} (overlapping scopes; "
                        "'ibagent agents' lists them)"), file=stream or sys.stderr)
    if len(contested) > 50:
        print(f"warning: ... and {len(contested) - 50} more devices claimed by two agents", file=stream or sys.stderr)
    return contested


def status_set(text: str | None, known: Iterable[str], option: str) -> frozenset[str]:
    """``a,b`` -> {a, b}, each a known status, else a usage error naming the known ones."""
    from agent.cli.common import UsageError

    if not text:
        return frozenset()
    known = tuple(known)
    names = frozenset(s.strip().lower() for s in text.split(",") if s.strip())
    unknown = sorted(names - set(known))
    if unknown or not names:
        raise UsageError(f"{option}: unknown status {', '.join(map(repr, unknown)) or repr(text)}; "
                         f"known: {', '.join(known)}")
    return names


def fail_on_exit(fail_on: frozenset[str], counts: Mapping[str, int], command: str) -> int:
    """0, or ``EXIT_FAIL_ON`` with a line on stderr naming what was found."""
    found = {s: counts.get(s, 0) for s in sorted(fail_on) if counts.get(s, 0)}
    if not found:
        return 0
    print(f"{command}: --fail-on: " + ", ".join(f"{n} {s}" for s, n in found.items())
          + f" (exit {EXIT_FAIL_ON})", file=sys.stderr)
    return EXIT_FAIL_ON


def table_width(stream: TextIO) -> int | None:
    """The columns a table on ``stream`` may use: ``$COLUMNS`` when set (a script or a test can
    ask for a width), else the terminal's; None when ``stream`` is no terminal (a file or a pipe
    gets every column whole: grep and cut see whole rows)."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns or None
    except (OSError, ValueError, AttributeError):
        pass
    return None
