"""Stage: cli. The ``ibagent`` command line: one module per command group (``scan``: scan and
devices; ``errors``: every failed attempt; ``reconcile``: reconcile, diff, history, trueup;
``retire``; ``hostkeys``: the host keys trusted on first use;
``parse``; ``import_captures``: outputs saved by hand; ``lab``: lab and demo; ``slp``: the Smart Licensing actions), the helpers they share
(``common``) and the parser built from them in a fixed order, with ``main`` (``parser``).  It
only wires options to the stages: no stage logic lives here.  May import every stage, ``agent.demo`` and ``lab``, lazily (inside the
handlers); nothing of ours imports it.

Exit codes (stable, for scripts and schedulers):
  0   everything asked for succeeded
  1   the scan ran but some devices failed (each is in the summary and the store)
  2   usage or configuration error (bad option, inventory, credentials, unreadable store)
  3   ``ibagent parse``: the capture could not be parsed
  70  internal error (a bug: please report it with ``--debug`` output)
  74  the store could not be written (disk full, read-only, I/O error): the scan stopped there and
      is recorded ``failed`` with the reason (if even that cannot be written, the next scan marks
      it ``interrupted``); the summary says why
  75  another scan holds the lock on this store (try again later)
  129 the scan was stopped by SIGHUP (a closed terminal)
  130 the scan was stopped by Ctrl-C (SIGINT)
  143 the scan was stopped by SIGTERM (``systemctl stop``, ``kill``)
      For 129/130/143 (128 + the signal number): what was saved is kept, devices in flight are
      recorded ``cancelled`` with their partial captures, the summary is printed and the scan is
      recorded ``interrupted`` with its true ok / failed / cancelled counts.
Heavy modules are imported inside the subcommand that needs them: cron runs us often.

Stage: cli, the top.  It may import every package (lazily, inside each command); nothing imports
it.  One module per command group, each with a ``register`` hook; ``parser.COMMANDS`` lists them.
"""
from agent.cli.common import (  # noqa: F401  (the command line's public names)
    EXIT_DEVICES_FAILED, EXIT_INTERNAL, EXIT_LOCKED, EXIT_OK, EXIT_PARSE, EXIT_SIGHUP, EXIT_SIGINT, EXIT_SIGTERM,
    EXIT_STORE, EXIT_USAGE, UsageError,
)
from agent.cli.parser import build_parser, main  # noqa: F401
