"""Reading input nobody vouches for (inventories, contract and EoX exports, ACK files, device
text) within bounds, and showing it without letting it steer a terminal.

Every reader of a file a person hands us goes through these checks before the expensive step:
the size is taken from the open file before a byte is read (``read_capped``), JSON is refused
when it nests deeper than a record ever does (``loads_json``), a YAML document is refused when its
aliases would expand it far beyond its own size (``check_expansion``: an inventory is data, not a
graph), and bytes that are not UTF-8 are reported with the line and column where they start
(``decode_utf8``).  ``printable`` escapes control characters (ANSI sequences, a bare CR that
rewrites a line) in text from devices and files before it reaches a terminal or a log.

Each refusal is an ``InputError`` (a ValueError) whose message names what was refused and why,
for a person; the caller adds the file name.
"""
from __future__ import annotations

import json
import os
import re
from itertools import accumulate
from pathlib import Path
from typing import Any

MIB = 1 << 20


class InputError(ValueError):
    """Input refused for its size, depth or encoding; the message says which, for a person."""


def read_capped(path: str | Path, limit: int, what: str = "file") -> bytes:
    """The bytes of ``path``, refused (InputError) when it holds more than ``limit`` bytes.  The
    size is checked on the open file before reading, and the read itself stops one byte past the
    limit (a file that grows, or a pipe, cannot get past it either).  OSError passes through."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise InputError(f"{what} is {_size(size)}, more than the {_size(limit)} accepted; not read")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{what} holds more than the {_size(limit)} accepted; not read")
    return data


def _size(n: int) -> str:
    return f"{n / MIB:.1f} MiB" if n >= MIB else f"{n:,} bytes"


def decode_utf8(data: bytes, what: str = "file") -> str:
    """UTF-8 text (a BOM dropped), or InputError naming the line and column of the first byte
    that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(f"{what} is not UTF-8 text: byte 0x{data[exc.start]:02X} at line {line}, column {column} "
                         "(save it as UTF-8)") from None


# ------------------------------------------------------------------ JSON

# No record format we read nests deeper than a dozen levels (EoX API pages, sn2info, RUM/ACK
# payloads); Python's own parser gives up near 1,000 with a RecursionError.
JSON_MAX_DEPTH = 64


def loads_json(text: str | bytes, what: str = "JSON", max_depth: int | None = JSON_MAX_DEPTH) -> Any:
    """``json.loads``, with nesting bounded: InputError when the document nests deeper than
    ``max_depth`` (None: only as deep as the parser itself can go).  json.JSONDecodeError
    passes through for malformed text, with its line and column."""
    try:
        doc = json.loads(text)
    except RecursionError:
        raise InputError(f"{what} nests arrays/objects too deeply for any record (a hostile or broken file)") from None
    if max_depth is not None and isinstance(doc, (dict, list)) and json_depth(doc, max_depth) > max_depth:
        raise InputError(f"{what} nests arrays/objects more than {max_depth} levels deep; no record does")
    return doc


def json_depth(doc: Any, stop: int) -> int:
    """Nesting depth of ``doc`` (a scalar is 0), counted without recursion; stops counting past
    ``stop``."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > deepest:
            deepest = depth
            if deepest > stop:
                return deepest
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


# ------------------------------------------------------------------ YAML

# No inventory nests this deep.  libyaml's composer recurses once per level on the C stack: 100,000
# levels of "[" or of "- - - ..." on one line crashed the process (SIGSEGV), and Python's
# constructor raises RecursionError near 1,000.
YAML_MAX_DEPTH = 200
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
# A block level costs at least one column of indent or one "- " / "? " / ": " on the line, so a
# document without a line starting with this many of those cannot nest deeper than about that.
_DEEP_PREFIX = re.compile(r"^[ \t?:-]{%d,}" % (YAML_MAX_DEPTH // 4), re.M)


def check_yaml_text(text: str, what: str = "YAML") -> None:
    """Refuse, before libyaml composes it, YAML nesting deeper than ``YAML_MAX_DEPTH``.  Two cheap
    scans over the text (flow brackets, quoted ones included; long indent-like line prefixes)
    clear almost every document; one they cannot clear is measured exactly on the parser's
    event stream, which does not recurse."""
    brackets = _NOT_BRACKET.sub("", text)
    suspect = len(brackets) > YAML_MAX_DEPTH and max(accumulate(map(_DEPTH_STEP.__getitem__, brackets))) > YAML_MAX_DEPTH
    if not (suspect or _DEEP_PREFIX.search(text)):
        return
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > YAML_MAX_DEPTH:
                    raise InputError(f"{what}: collections nest more than {YAML_MAX_DEPTH} levels deep, as no "
                                     "inventory does; not read")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        if "nesting depth" in str(exc):  # PyYAML >= 6.0.4's libyaml stops deep flow nesting itself
            raise InputError(f"{what}: collections nest more than {YAML_MAX_DEPTH} levels deep, as no "
                             "inventory does; not read") from None
        return  # malformed: the loader reports it with its line and column


def _parts(node: Any) -> list[Any]:
    """The containers directly inside ``node`` (YAML keys are hashable: never a list or mapping)."""
    values = node.values() if isinstance(node, dict) else node
    return [v for v in values if isinstance(v, (dict, list))]


def check_expansion(doc: Any, limit: int, what: str = "YAML") -> None:
    """Refuse a loaded YAML document whose aliases make it a graph: one that refers to itself,
    or one that, written out with every alias expanded, would hold more than ``limit`` values
    (nested aliases double at each level: 700 bytes can stand for 10^9 values).  Counted once per
    distinct node, without recursion, so the check costs what the document costs, not what it
    expands to."""
    size: dict[int, int] = {}  # id -> expanded size, once known
    active: set[int] = set()  # on the current path: met again, it is a loop
    loop = f"{what}: an alias (*name) refers to a node that holds it: a loop, not data; not read"
    stack: list[tuple[Any, bool]] = [(doc, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            total = len(node) + 1 + sum(size[id(p)] - 1 for p in _parts(node))
            if total > limit:
                raise InputError(f"{what}: aliases (*name) that nest expand it to more than {limit:,} values; "
                                 "an inventory is data, not a graph: write the values out, or nest fewer aliases; not read")
            size[key] = total
            continue
        if key in size or not isinstance(node, (dict, list)):
            continue
        active.add(key)
        stack.append((node, True))
        for part in _parts(node):
            if id(part) in active:
                raise InputError(loop)
            if id(part) not in size:
                stack.append((part, False))


# ------------------------------------------------------------------ showing untrusted text

# C0 controls (ESC starts terminal sequences, CR rewrites the line, BEL, backspace), DEL and C1
# controls (U+009B is a one-character CSI on some terminals).  Tab is kept, and newline where the
# caller says so.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CONTROLS_BUT_NEWLINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape(m: re.Match[str]) -> str:
    return f"\\x{ord(m.group()):02x}"


def printable(text: Any, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as ``\\xNN`` instead of obeyed, so device or
    file text can neither move the cursor, recolour or retitle the terminal nor forge a log line.
    Tab is kept; newline too when ``keep_newlines``."""
    text = text if isinstance(text, str) else str(text)
    pattern = _CONTROLS_BUT_NEWLINE if keep_newlines else _CONTROLS
    return pattern.sub(_escape, text) if pattern.search(text) else text
