"""TextFSM plumbing: our own template index first, ntc-templates second, both loaded once.

ntc-templates' ``parse_output`` re-reads its index and recompiles the template on every
call; a scan parses hundreds of thousands of captures, so here:

* each index (``parsers/templates/index`` and ntc-templates' ``index``) is read once with
  ``textfsm.clitable`` and command look-ups are memoised per (platform, command);
* each template file is compiled once per thread (a ``TextFSM`` object carries parse
  state, so threads never share one) and ``Reset()`` before every use.
"""
from __future__ import annotations

import io
import threading
from functools import lru_cache
from pathlib import Path

import textfsm
from textfsm import clitable

OWN_DIR = Path(__file__).with_name("templates")
OWN_INDEX = OWN_DIR / "index"


def _ntc_dir() -> Path | None:
    try:
        import ntc_templates  # noqa: PLC0415 - optional at import time

        path = Path(ntc_templates.__file__).with_name("templates")
        return path if (path / "index").is_file() else None
    except Exception:  # pragma: no cover - ntc-templates missing
        return None


@lru_cache(maxsize=None)
def _table(directory: str) -> clitable.CliTable:
    return clitable.CliTable("index", directory)


def _lookup(directory: Path, platform: str, command: str) -> Path | None:
    table = _table(str(directory))
    row = table.index.GetRowMatch({"Platform": platform, "Command": command})
    if not row:
        return None
    name = table.index.index[row]["Template"].split(":")[0].strip()
    return directory / name


@lru_cache(maxsize=4096)
def template_path(platform: str, command: str, ntc_platform: str | None = None) -> Path | None:
    """Template file for a command: ours when our index knows it, else ntc-templates'.

    ``platform`` is ibagent's key (``cisco_xe``...), ``ntc_platform`` the key ntc-templates
    files it under (``cisco_ios`` for IOS XE); ntc is consulted only when one is given.
    """
    path = _lookup(OWN_DIR, platform, command)
    if path is None and ntc_platform:
        ntc = _ntc_dir()
        if ntc is not None:
            path = _lookup(ntc, ntc_platform, command)
    return path


@lru_cache(maxsize=None)
def _template_text(path: str) -> str:
    return Path(path).read_text()


_local = threading.local()


def fsm(path: Path) -> textfsm.TextFSM:
    """A ready (reset) TextFSM for ``path``, compiled once per thread."""
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    key = str(path)
    machine = cache.get(key)
    if machine is None:
        machine = textfsm.TextFSM(io.StringIO(_template_text(key)))
        cache[key] = machine
    else:
        machine.Reset()
    return machine


def parse_rows(path: Path, text: str) -> list[dict]:
    """Rows of ``path`` applied to ``text`` as dicts keyed by lower-case value names.

    May raise ``textfsm.TextFSMError`` (an ``Error`` rule fired); callers turn it into
    ``ParseError``.
    """
    machine = fsm(path)
    try:
        rows = machine.ParseText(text)
        header = [h.lower() for h in machine.header]
        return [dict(zip(header, row)) for row in rows]
    finally:
        machine.Reset()


def own_templates() -> list[Path]:
    return sorted(OWN_DIR.glob("*.textfsm"))
