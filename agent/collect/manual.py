"""Outputs an engineer saved by hand, split into one piece per command (``ibagent import-captures``).

Where ibagent cannot log in (no route, no account, a change freeze), someone pastes the terminal
session, or saves one file per command, and hands the files over.  This module reads them, within
bounds, into :class:`Piece` s: the command, the device it was typed on, the text to parse and the
exact bytes of its slice of the file (the evidence the store hashes).  Which platform the pieces
are and what becomes a capture is ``agent.collect.manual_import``'s business.

Two forms, told apart by their content (docs/ARCHITECTURE.md, "Captures collected by hand"):

* **a pasted session**: prompt lines (``core-sw1#show version``) split it; each command's slice
  runs from the start of its prompt line to the start of the next prompt line (a bare trailing
  prompt only ends the slice before it).  The device is the prompt's host name.  Terminal noise is
  undone for the text that is parsed, never in the bytes kept: backspaces and carriage returns are
  applied as a terminal shows them (typed corrections, ``--More--`` erased by the device), CRLF
  and lone-CR line ends are unified; the parser's cleaning drops ``--More--`` remnants.
* **one file per command**: a header of ``# key: value`` lines at the top (``device``,
  ``command``, ``platform``, ``site``; other ``#`` lines are comments), or no header and a file
  named after the command inside a directory named after the device (``core-sw1/show_inventory.txt``).
  The body after the header is the output; its bytes are the evidence (a file without a header:
  the whole file, so ``sha256sum`` of the file is the capture's hash).

A header with ``device`` but no ``command`` names the device of a pasted session below it.  The
device is, in this order: ``--device``, the header, the prompt, the directory.
Every refusal is a :class:`CaptureFileError` naming the file (and the line where there is one).
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from agent.core import platforms
from agent.core.untrusted import InputError, MIB, read_capped
from parsers import canonical_command
from parsers._util import prompt_hostname

FILE_LIMIT = 32 * MIB  # a session with every command of a large chassis is well under 1 MiB
TOTAL_LIMIT = 512 * MIB  # every file of one import together (all are held until the import is stored)
PROMPT_SCAN = 100  # a prompt (host name up to 63 characters, XR's 'RP/0/RSP0/CPU0:' before it) starts a line
HEADER_KEYS = ("device", "command", "platform", "site")
NAME_LIMIT = 128

# A header line: '# key: value'.  Possessive blanks: linear on any line.
_HEADER = re.compile(r"#[ \t]*+([A-Za-z_]++)[ \t]*+:[ \t]*+(.*)")
_PROMPT_END = re.compile(r"[#>]")
_ANSI = re.compile(r"\x1b\[[0-9;?]*+[A-Za-z]|\x1b[()][AB012]|\x1b[=>]")
_EDITS = re.compile(r"([\b\r])")
NAME_OK = re.compile(r"[\w.\-@:/() ]{1,128}")  # device and site names: no control characters, no quotes


class CaptureFileError(ValueError):
    """A file that cannot be imported; the message names it (and the line)."""


@dataclass(slots=True)
class Piece:
    """One command's output as found in one file."""

    file: str  # the file as the user named it
    line: int  # 1-based: its prompt line, or the first line of the body
    command: str  # as typed (typed corrections applied), from the header or from the file name
    text: str  # the output to parse: terminal edits applied, line ends unified, echo line left out
    raw: bytes  # the exact bytes of its slice of the file
    device: str = ""  # '' when nothing in or around the file names it
    prompt: str = ""  # the prompt it was typed at (sessions)
    host: str = ""  # the host name in that prompt
    prompt_raw: bytes = b""
    platform: str = ""  # from a '# platform:' header
    site: str = ""  # from a '# site:' header


@dataclass(slots=True)
class FileRead:
    """One file: its pieces, and the commands in it that are no output ibagent reads."""

    name: str
    sha256: str
    size: int
    pieces: list[Piece] = field(default_factory=list)


# ------------------------------------------------------------------ finding the files


def files_to_read(args: list[str]) -> list[tuple[Path, str, str]]:
    """``(path, name shown, device named by its directory)`` for each FILE and each file under each
    DIR (recursively, dot-files and symlinked directories left out, sorted).  A file's directory
    names its device unless it is a directory given on the command line; a FILE given directly is
    named by its own directory.  CaptureFileError for a path that is neither."""
    out: list[tuple[Path, str, str]] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                here = Path(root)
                for f in files:
                    if not f.startswith(".") and (here / f).is_file():
                        found.append(here / f)
            for f in sorted(found):
                out.append((f, _named(str(f)), _dir_name(f.parent.name) if f.parent != path else ""))
        elif path.is_file():
            out.append((path, _named(arg), _dir_name(path.resolve().parent.name)))
        elif path.exists():
            raise CaptureFileError(f"{_named(arg)}: not a regular file or directory")
        else:
            raise CaptureFileError(f"{_named(arg)}: no such file or directory")
    return out


def _named(name: str) -> str:
    """A path as text that can be shown and stored: bytes of a name that are not UTF-8 as U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _dir_name(name: str) -> str:
    """A directory's name as a device name, or '' when it cannot be one (control characters...)."""
    name = _named(name)
    return name if NAME_OK.fullmatch(name) else ""


# ------------------------------------------------------------------ reading one file


def read_file(path: Path, name: str, dir_device: str = "", limit: int | None = None) -> FileRead:
    """Split one file into pieces (module docstring); CaptureFileError names what is wrong.
    ``limit``: bytes accepted (default :data:`FILE_LIMIT`, looked up when called)."""
    try:
        data = read_capped(path, FILE_LIMIT if limit is None else limit, name)
    except InputError as exc:
        raise CaptureFileError(str(exc)) from None
    except OSError as exc:
        raise CaptureFileError(f"{name}: cannot read: {exc.strerror}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Windows PowerShell's '>' writes UTF-16: decoding it would make the bytes kept differ from
        # the bytes handed over, so the file is refused with what to do.
        raise CaptureFileError(f"{name}: UTF-16 text (as Windows PowerShell saves it): save it as UTF-8 "
                               "(Out-File -Encoding utf8) and import it again")
    if b"\x00" in data[:8192]:
        raise CaptureFileError(f"{name}: not text (NUL bytes in its first 8 KiB): no command output")
    read = FileRead(name, hashlib.sha256(data).hexdigest(), len(data))
    lines = _lines(data)
    if lines and data.startswith(b"\xef\xbb\xbf"):
        lines[0] = (3, lines[0][1])  # a UTF-8 byte-order mark (Notepad) is no part of the first line
    header, body_at = _header(data, lines, name)
    for key in ("device", "site"):
        if key in header and not NAME_OK.fullmatch(header[key][1]):
            raise CaptureFileError(f"{name}, line {header[key][0]}: '{key}' {header[key][1]!r} is not a name "
                                   "(letters, digits, . - _ @ : / ( ) and blanks, at most 128)")
    device = header["device"][1] if "device" in header else ""
    platform = header["platform"][1] if "platform" in header else ""
    site = header["site"][1] if "site" in header else ""
    body = lines[body_at:]
    start = (0 if body_at == 0 else body[0][0]) if body else len(data)  # no header: every byte, BOM included
    if "command" in header:
        # One command: the body is its output (an echoed prompt line at its top is dropped by the
        # parser's cleaning, and names the device when nothing else does).
        prompts = [p for p in (_prompt_of(_shown(data, a, b)) for a, b in body[:3]) if p]
        read.pieces.append(Piece(name, body_at + 1, header["command"][1], _text(data[start:]), data[start:],
                                 device or (prompt_hostname(prompts[0][0]) if prompts else "") or dir_device,
                                 platform=platform, site=site))
        return read
    sections = _sections(data, body, body_at)
    if sections:
        hosts = sorted({prompt_hostname(s[0]) for s in sections})
        if device and len(hosts) > 1:
            raise CaptureFileError(f"{name}: its prompts name {len(hosts)} devices ({', '.join(hosts[:5])}); "
                                   "a '# device:' header (or --device) can name only one: split the file")
        for prompt, command, a, p_end, b, line_no in sections:
            if not command:
                continue  # a bare prompt: it only ends the command before it
            text_start = _next_line(data, a, b)
            host = prompt_hostname(prompt)
            read.pieces.append(Piece(name, line_no, command, _text(data[text_start:b]), data[a:b],
                                     device or host, prompt, host, data[a:p_end], platform, site))
        return read
    # No prompt, no header command: the file is named after its command.
    stem = path.stem if path.suffix.lower() in (".txt", ".log", ".out", ".cap", "") else path.name
    command = " ".join(stem.replace("_", " ").replace("-", " ").split())
    if canonical_command(command) is None:
        raise CaptureFileError(f"{name}, line {_line_no(data, start)}: no prompt line ('core-sw1#show version'), "
                               "no '# command:' header, and its name is no command ibagent reads "
                               "(name it show_version.txt, show_inventory.txt...): nothing to import")
    read.pieces.append(Piece(name, _line_no(data, start), command, _text(data[start:]), data[start:],
                             device or dir_device, platform=platform, site=site))
    return read


def _lines(data: bytes) -> list[tuple[int, int]]:
    """``(start, end)`` byte offsets of each line, its line end excluded.  Lone CRs end lines in a
    file without any LF (old Mac terminal logs); otherwise CRs are left to the rendering."""
    sep = b"\n" if b"\n" in data or b"\r" not in data else b"\r"
    out, at = [], 0
    while at < len(data):
        end = data.find(sep, at)
        if end < 0:
            out.append((at, len(data)))
            break
        out.append((at, end))
        at = end + 1
    return out


def _shown(data: bytes, a: int, b: int, limit: int | None = None) -> str:
    """One line as a terminal shows it (for prompts, headers): decoded, edits applied, escapes dropped."""
    chunk = data[a:b] if limit is None else data[a:min(b, a + limit)]
    line = chunk.decode("utf-8", "replace").rstrip("\r")
    line = render(line)
    return _ANSI.sub("", line) if "\x1b" in line else line


def _header(data: bytes, lines: list[tuple[int, int]], name: str) -> tuple[dict[str, tuple[int, str]], int]:
    """The ``# key: value`` lines at the top: ``{key: (line number, value)}`` and the index of the
    first body line.  Other ``#`` lines are comments; a ``key:`` that is not one of
    :data:`HEADER_KEYS` is refused (a misspelt ``# devcie:`` would silently name nothing)."""
    header: dict[str, tuple[int, str]] = {}
    i = 0
    while i < len(lines):
        a, b = lines[i]
        text = data[a:min(b, a + 1024)].decode("utf-8", "replace").rstrip("\r")
        if not text.startswith("#"):
            break
        m = _HEADER.fullmatch(text)
        if m:
            key, value = m.group(1).lower(), m.group(2).strip()
            where = f"{name}, line {i + 1}"
            if key not in HEADER_KEYS:
                raise CaptureFileError(f"{where}: unknown header key {key!r} (known: {', '.join(HEADER_KEYS)}; "
                                       "a comment line must not start 'word:')")
            if not value:
                raise CaptureFileError(f"{where}: header '{key}' has no value")
            if key in header:
                raise CaptureFileError(f"{where}: header '{key}' given twice (first at line {header[key][0]})")
            header[key] = (i + 1, value)
        i += 1
    return header, i


def render(line: str) -> str:
    """A line as the terminal showed it: a backspace moves back one column, a carriage return to
    the start, and what follows overwrites (so '--More--' erased by the device, or a typed
    correction, vanish as they did on screen)."""
    if "\b" not in line and "\r" not in line:
        return line
    buf: list[str] = []
    col = 0
    for part in _EDITS.split(line):
        if part == "\b":
            col = max(0, col - 1)
        elif part == "\r":
            col = 0
        elif part:
            buf[col:col + len(part)] = part
            col += len(part)
    return "".join(buf)


def _text(chunk: bytes) -> str:
    """The text of a slice to parse: decoded (bytes that are not UTF-8 as U+FFFD; the bytes
    themselves stay in the piece), line ends unified, each line as the terminal showed it."""
    text = chunk.decode("utf-8", "replace").removeprefix("\ufeff")  # a BOM stays in the bytes only
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")
    return "\n".join(render(ln.rstrip("\r")) for ln in text.split("\n"))


@cache
def _prompt_patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(dict.fromkeys(platforms.get(n).ssh.prompt for n in platforms.names()))


def _prompt_of(line: str) -> tuple[str, str] | None:
    """``(prompt, command)`` when the line is a prompt (any platform's, from its file), alone or
    with the command typed at it; None for a line of output."""
    head = line[:PROMPT_SCAN]
    for m in _PROMPT_END.finditer(head):
        prompt = head[:m.end()]
        if not any(rx.match(prompt) for rx in _prompt_patterns()):
            continue
        host = prompt_hostname(prompt)
        if not host or not host[0].isalnum():
            continue  # '-->' or '1>' in some output
        command = line[m.end():].strip()
        if command and not command[0].isalpha():
            return None  # 'x#1': not a command
        if command.lower().startswith("do "):
            command = command[3:].strip()  # 'do show version' typed in configuration mode
        return prompt.strip(), command
    return None


def _sections(data: bytes, lines: list[tuple[int, int]], first: int) -> list[tuple[str, str, int, int, int, int]]:
    """Each prompt line and what follows it: ``(prompt, command, slice start, prompt end, slice end,
    line number)``; the slice ends where the next prompt line starts.  ``first``: the index of
    ``lines[0]`` in the file."""
    found: list[list] = []
    base = first + 1
    for i, (a, b) in enumerate(lines):
        shown = _shown(data, a, b, PROMPT_SCAN * 4)
        if "#" not in shown and ">" not in shown:
            continue
        hit = _prompt_of(shown)
        if hit is None:
            continue
        prompt, command = hit
        raw_prompt = data.find(prompt.encode("utf-8", "replace"), a, b)
        p_end = raw_prompt + len(prompt.encode()) if raw_prompt >= 0 else a
        found.append([prompt, command, a, p_end, len(data), base + i])
    for cur, nxt in zip(found, found[1:]):
        cur[4] = nxt[2]
    return [tuple(s) for s in found]


def _next_line(data: bytes, a: int, b: int) -> int:
    nl = data.find(b"\n", a, b)
    if nl >= 0:
        return nl + 1
    cr = data.find(b"\r", a, b)
    return cr + 1 if cr >= 0 else b


def _line_no(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1 if b"\n" in data else data.count(b"\r", 0, offset) + 1
