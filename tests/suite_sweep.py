"""The whole-suite secrets sweep (issue 12: "a secrets sweep over every file, log and store row
written by the whole suite finds nothing").

Loaded by ``tests/conftest.py`` as a pytest plugin.  It learns every secret value the suite uses
the way the product does: each value that becomes an ``agent.core.secret.Secret`` in this process
(inventory passwords, enable secrets, SNMP communities and keys, resolved from files and the
environment) is recorded, with the lab's default credentials.  It then looks for them

- in every test's captured stdout, stderr and log records (pytest's report sections), as each
  test ends (output a test read itself with ``capsys`` is no longer there: such tests sweep it
  themselves where secrets are in play), and in every log record of the session, formatted;
- when the session ends, in every file the tests wrote under pytest's base temporary directory:
  raw bytes, SQLite stores cell by cell (zlib blobs inflated), XLSX members (``secrets_sweep``).

Inputs are not outputs: a file the test itself wrote to hand to ibagent (an inventory with an inline
password, a secret file, an OpenSSH server's config) holds secrets by design.  Those are told apart
by name (``INPUT_NAMES``), never by content, and each rule says why.  A finding fails the session
(exit status 1) and is listed by place and secret number, never by value.
Values shorter than 6 characters are not looked for: 'cisco' or 'lab' would be found in any text.
"""
from __future__ import annotations

import fnmatch
import logging
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "hostile"))
from secrets_sweep import sweep  # noqa: E402

from agent.core import secret as _secret  # noqa: E402
from lab.device import DEFAULT_ENABLE, DEFAULT_PASSWORD  # noqa: E402

MIN_LENGTH = 6
# Files a test writes as input to ibagent or to a peer it starts (matched on the file name).
INPUT_NAMES = (
    "*.yaml", "*.yml",          # inventories (hosts/groups/defaults) may carry inline passwords
    "snmp_community_*",         # lab secret files: 'file:' references resolve to these
    "*secret*", "*password*",   # secret files the tests hand to 'file:' references
    "*.env",                    # environment files for subprocess runs
    "sshd_config*", "*.snmprec",  # peers' own configuration and data
    "replay-login*",            # the telnetd peer's login program: the device's own credentials
    "*.py", "*.md", "*.whl",    # our own source, copied and installed by the wheel test (tests/test_wheel.py)
    "ACK_*",                    # acknowledgements from Cisco, handed to 'slp import-ack' (hostile ones too)
)
# Files past this size are the hostile inputs (a 300 MB ACK, a 40 MiB inventory): no output a test
# makes comes near it.  They are counted in the summary line, not swept (each would cost seconds).
MAX_SWEPT = 64 * 2**20

SEEN: set[str] = {DEFAULT_PASSWORD, DEFAULT_ENABLE}
FINDINGS: list[str] = []
_original_init = _secret.Secret.__init__


def _recording_init(self, value):
    _original_init(self, value)
    SEEN.add(self.reveal())


class _Everything(logging.Handler):
    """Formats every record, as the CLI's handlers would, and keeps the text for the sweep."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a record a test made unformattable on purpose
            return
        if len(self.texts) < 200_000:
            self.texts.append(text)


_HANDLER = _Everything()


def _needles() -> list[str]:
    return sorted(v for v in SEEN if len(v) >= MIN_LENGTH)


def _is_input(path: Path) -> bool:
    # site-packages: the fresh venvs the wheel and packaging tests install ibagent and its libraries into
    return "site-packages" in path.parts or any(fnmatch.fnmatch(path.name, pattern) for pattern in INPUT_NAMES)


def pytest_configure(config) -> None:
    _secret.Secret.__init__ = _recording_init
    logging.getLogger().addHandler(_HANDLER)


def pytest_runtest_logreport(report) -> None:
    texts = {f"{report.nodeid} {title}": text for title, text in report.sections if text}
    if texts and _needles():
        FINDINGS.extend(sweep(_needles(), texts=texts))


def swept_files(base: Path) -> list[Path]:
    return [p for p in sorted(base.rglob("*")) if p.is_file() and not p.is_symlink() and not _is_input(p)
            and p.stat().st_size <= MAX_SWEPT]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus) -> None:
    logging.getLogger().removeHandler(_HANDLER)
    _secret.Secret.__init__ = _original_init
    if os.environ.get("IBAGENT_SKIP_SWEEP") or not _needles():
        return
    found = list(FINDINGS)
    found += sweep(_needles(), texts={"log record": "\n".join(_HANDLER.texts)})
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        try:
            base = factory.getbasetemp()
        except Exception:  # noqa: BLE001 - no test asked for a temporary directory
            base = None
        if base is not None and base.exists():
            oversized = sum(1 for p in base.rglob("*") if p.is_file() and not p.is_symlink() and not _is_input(p)
                            and p.stat().st_size > MAX_SWEPT)
            for path in swept_files(base):
                try:
                    found += sweep(_needles(), paths=[path])
                except (OSError, ValueError) as exc:  # gone meanwhile, or unreadable: say so, never skip silently
                    found.append(f"{path}: could not be swept ({type(exc).__name__})")
    session.config._secrets_sweep = (len(_needles()), found, locals().get("oversized", 0))
    if found and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    result = getattr(config, "_secrets_sweep", None)
    if result is None:
        return
    count, found, oversized = result
    terminalreporter.section("secrets sweep")
    if oversized:
        terminalreporter.write_line(f"{oversized} files over {MAX_SWEPT // 2**20} MiB not swept (hostile inputs)")
    if not found:
        terminalreporter.write_line(f"{count} secret values looked for in every output, log and store row: none found")
        return
    terminalreporter.write_line(f"{len(found)} findings ({count} secret values):", red=True)
    for line in sorted(set(found))[:200]:
        terminalreporter.write_line("  " + line)
