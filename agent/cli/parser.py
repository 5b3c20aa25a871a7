"""The ``ibagent`` parser, built from the command modules in a fixed order, and ``main``.

Each command module declares its sub-commands with ``register(sub, common)``: it adds its
sub-parsers to ``sub`` and binds each to its handler (``set_defaults(func=...)``).  Adding a
command is adding a module and naming it in ``COMMANDS``; the order there is the order of
``ibagent --help``.
"""
from __future__ import annotations

import argparse
import sys

from agent.cli import (
    bundles, errors, evidence, export, hostkeys, import_captures, lab, parse, prune_history, quote, reconcile, report, retire,
    scan, slp,
)
from agent.cli.common import (
    EXIT_INTERNAL, EXIT_LOCKED, EXIT_OK, EXIT_SIGINT, EXIT_STORE, EXIT_USAGE, ParserCommon, UsageError,
    _get_redactor, say,
)

COMMANDS = (scan, errors, reconcile, quote, report, evidence, retire, prune_history, hostkeys, parse, import_captures,
            lab, slp, bundles, export)


def version() -> str:
    """This ibagent's version.  Run from a source checkout (PYTHONPATH or an editable install), the
    checkout's own pyproject.toml says it: the metadata of some other copy installed in the same
    environment would name a release this code is not.  Installed, the package metadata says it."""
    from importlib import metadata
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if (root / "agent" / "cli").is_dir() and pyproject.is_file():
        import tomllib

        try:
            return f"{tomllib.loads(pyproject.read_text())['project']['version']} (source tree {root})"
        except (OSError, ValueError, KeyError, TypeError):
            pass  # not ours or unreadable: fall through to the metadata
    try:
        return metadata.version("ibagent")
    except metadata.PackageNotFoundError:
        return "unknown (no package metadata: not installed, and no pyproject.toml beside the code)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ibagent",
        description=(
            "Discover Cisco hardware, support coverage and Smart Licensing usage from the network itself. "
            "Works fully offline."
        ),
        epilog="Exit codes: 0 ok, 1 some devices failed, 2 usage/configuration error, 3 parse error, "
        "4 a --fail-on status was found (reconcile, slp report), "
        "70 internal error, 74 the store could not be written, 75 another scan is running, 129/130/143 the scan "
        "was stopped by SIGHUP/Ctrl-C/SIGTERM.  'ibagent demo' shows the whole job on a simulated fleet.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    parser.add_argument("--version", action="version", version=f"ibagent {version()}",
                        help="print ibagent's version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = ParserCommon.from_environ()
    for module in COMMANDS:
        module.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    from agent.core.redact import install_hooks

    # Before anything can fail: whatever escapes (here, in a thread, at interpreter exit) is written
    # through the run's redactor, which each command fills with the secrets it resolves.
    install_hooks(_get_redactor())
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    import sqlite3

    from agent.collect.inventory import InventoryError
    from agent.store import StoreError, StoreLocked, StoreWriteError

    def fail(message: str, code: int) -> int:
        say(f"ibagent: {_get_redactor().scrub(message)}")
        return code

    try:
        return args.func(args)
    except StoreWriteError as exc:  # disk full, read-only: not the user's options, and said so by the code
        return fail(str(exc), EXIT_STORE)
    except StoreLocked as exc:  # another scan or SLP command holds this store: try again later
        return fail(str(exc), EXIT_LOCKED)
    except (UsageError, InventoryError, StoreError) as exc:
        return fail(str(exc), EXIT_USAGE)
    except sqlite3.DatabaseError as exc:  # a damaged page met in the middle of a read
        db = getattr(args, "db", None)
        return fail(f"the store {db} cannot be read ({exc}): it is damaged; restore it from a backup"
                    if db else f"SQLite: {exc}", EXIT_USAGE)
    except KeyboardInterrupt:
        say("ibagent: interrupted")
        return EXIT_SIGINT
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback reaches a user
        if args.debug:  # the traceback, scrubbed of every secret the command resolved
            import traceback

            print(_get_redactor().scrub("".join(traceback.format_exception(exc))), file=sys.stderr, end="")
            return EXIT_INTERNAL
        message = _get_redactor().scrub(f"{type(exc).__name__}: {exc}")
        say(f"ibagent: internal error: {message} (rerun with --debug for details)")
        return EXIT_INTERNAL
