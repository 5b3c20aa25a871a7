"""Every regex that runs on device text takes time linear in its length (issue 12, item 2).

A device chooses what it prints.  Two licensing patterns took cubic time on a line of blanks (31 s
at 4,000), a dozen more were quadratic (each retried a long run from every character of it).  This
test finds every pattern of ``parsers/`` and ``agent/normalize/``, ``agent/core/versions`` (module constants, the literals
passed to ``re.*`` calls, every rule of every TextFSM template the parsers use) and the platforms'
refusal and prompt patterns, and attacks each, the way it is called (``match`` or a search), with
lines built from real output it matches: a real line cut at a word, then a 2,000-character run
of blanks, tabs, ':', '=', ',', '(', digits... (or of one of its own words), then nothing or a
character that makes the match fail; and the line itself repeated.  A linear pattern answers in
well under a millisecond and in four times that at four times the length; a quadratic one takes
tens of milliseconds to seconds, or sixteen times as long at four times the length.
"""
from __future__ import annotations

import ast
import importlib
import io
import pkgutil
import re
import time
from pathlib import Path

import pytest
import textfsm

import parsers
from agent.core import platforms
from parsers import _fsm

REPO = Path(__file__).resolve().parents[2]
N = 2000  # characters of hostile run
LIMIT = 0.02  # seconds: ~50x what a linear pattern needs at this length, ~1/10 of a quadratic one
SUSPECT = 0.001  # seconds at N characters: measured again, and at 4N, to tell linear from quadratic
FILLERS = (" ", "\t", ":", "=", " :", "= ", "\t ", "a ", " a", ",", " ,", "(", " (", ")", "0", "-", ".", '"', "/",
           "a/", "x,", "[", "Te")
TAILS = ("", "\x01")
_METHODS = ("match", "fullmatch", "search", "findall", "finditer", "split", "sub", "subn")
_FLAGS = {"I": re.I, "IGNORECASE": re.I, "M": re.M, "MULTILINE": re.M, "S": re.S, "DOTALL": re.S, "X": re.X}


def _modules() -> list:
    names = []
    for pkg in ("parsers", "agent.normalize"):
        mod = importlib.import_module(pkg)
        names.append(pkg)
        names += [f"{pkg}.{info.name}" for info in pkgutil.iter_modules(mod.__path__)]
    return [importlib.import_module(n) for n in names + ["agent.core.identity", "agent.core.versions",
                                                         "agent.core.models"]]  # the neighbour rule's


def _flags(node) -> int:
    if isinstance(node, ast.Attribute) and node.attr in _FLAGS:
        return _FLAGS[node.attr]
    if isinstance(node, ast.BinOp):
        return _flags(node.left) | _flags(node.right)
    return 0


def _inline(path: Path):
    """(where, pattern, anchored) for each ``re.<method>("literal", ...)`` call in a module."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                and node.func.attr in _METHODS + ("compile",)
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            continue
        flag_pos = {"compile": 1, "sub": 4, "subn": 4, "split": 3}.get(node.func.attr, 2)
        flags = next((kw.value for kw in node.keywords if kw.arg == "flags"), None)
        if flags is None and len(node.args) > flag_pos:
            flags = node.args[flag_pos]
        anchored = node.func.attr in ("match", "fullmatch")
        yield f"{path.relative_to(REPO)}:{node.lineno}", re.compile(node.args[0].value, _flags(flags)), anchored


def _usage(source: str, name: str) -> bool:
    """True when the module only ever calls ``name.match`` / ``name.fullmatch`` (anchored use)."""
    used = set(re.findall(rf"\b{re.escape(name)}\.(\w+)\(", source))
    if not used and re.search(rf"\b{re.escape(name)}\b(?!\s*=)", source.split(f"{name} =", 1)[-1]):
        return False  # handed on (a tuple of patterns, an argument): assume the worst
    return bool(used) and used <= {"match", "fullmatch"}


def patterns() -> list[tuple[str, re.Pattern, bool]]:
    """(where, compiled pattern, anchored use) for every pattern that reads device text."""
    found: dict[tuple[str, int], tuple[str, re.Pattern, bool]] = {}
    for mod in _modules():
        path = Path(mod.__file__)
        source = path.read_text()
        for attr, value in vars(mod).items():
            values = value if isinstance(value, tuple) else (value,)
            for i, v in enumerate(values):
                if isinstance(v, re.Pattern):
                    where = f"{mod.__name__}.{attr}" + (f"[{i}]" if isinstance(value, tuple) else "")
                    found[(v.pattern, v.flags)] = (where, v, _usage(source, attr) and not isinstance(value, tuple))
        for where, rx, anchored in _inline(path):
            found.setdefault((rx.pattern, rx.flags), (where, rx, anchored))
    for name in platforms.names():
        plat = platforms.get(name)  # both used with .match (platforms.refusal, collectors/ssh.py)
        found[(plat.refusals.pattern, plat.refusals.flags)] = (f"refusals[{name}]", plat.refusals, True)
        found[(plat.ssh.prompt.pattern, plat.ssh.prompt.flags)] = (f"prompt[{name}]", plat.ssh.prompt, True)
    # Our templates, and the one ntc-templates file the parsers use (parsers.licensing.nxos_usage_table).
    templates = list(_fsm.own_templates())
    templates.append(_fsm.template_path("cisco_nxos", "show license usage", platforms.get("cisco_nxos").ntc_platform))
    for path in templates:
        fsm = textfsm.TextFSM(io.StringIO(path.read_text()))
        for state, rules in fsm.states.items():
            for i, rule in enumerate(rules):  # TextFSM calls rule.regex_obj.match(line)
                rx = rule.regex_obj.regex
                found[(rx.pattern, rx.flags)] = (f"{path.name}:{state}[{i}]", rx, True)
    return sorted(found.values(), key=lambda t: t[0])


def _pool() -> list[str]:
    """Real device text: every fixture line, and the field values the normaliser reads."""
    lines: set[str] = set()
    for txt in (REPO / "fixtures" / "parsers").glob("*/*/*.txt"):
        text = txt.read_text(errors="replace")
        lines.update(ln for ln in text.splitlines() if 0 < len(ln) < 160)
        try:
            result = parsers.parse(txt.parent.parent.name, txt.parent.name.replace("_", " "), text)
        except parsers.ParseError:
            continue
        for c in result.components:
            lines.update(v for v in (c.name, c.descr, c.pid, c.serial) if v)
        lines.update(v for v in result.facts.values() if isinstance(v, str) and v)
    return sorted(lines)


POOL = _pool()
PATTERNS = patterns()


def _samples(rx: re.Pattern) -> list[str]:
    hits = sorted((ln for ln in POOL if rx.search(ln)), key=len)
    words = re.findall(r"[A-Za-z]{2,}", re.sub(r"\\[a-zA-Z]", " ", rx.pattern))
    return hits[:2] + hits[-1:] + [" ".join(words)]


def _cuts(s: str) -> list[int]:
    starts = [0] + [m.start() for m in re.finditer(r"(?<=\s)\S|(?<=\w)\W|(?<=\W)\w", s)] + [len(s)]
    starts = sorted(set(starts))
    step = max(1, len(starts) // 8)  # at most ~8 cuts per line
    return starts[::step] + [len(s)]


def attacks(rx: re.Pattern):
    """(head, unit, tail): a hostile line is head + unit repeated to n characters + tail."""
    for s in _samples(rx):
        for i in _cuts(s):
            for run in FILLERS:
                for tail in TAILS:
                    yield s[:i], run, tail
        for m in re.finditer(r"\S+\s*", s):  # one of its own words, over and over
            for tail in ("\x01", "a"):
                yield s[: m.start()], m.group(0), tail
        if s.strip():  # the whole line, over and over ('IOS XR Software ... IOS XR Software ...')
            for sep in (" ", "\n"):
                yield "", s + sep, "\x01"


def _line(attack: tuple[str, str, str], n: int) -> str:
    head, unit, tail = attack
    return head + unit * max(1, n // len(unit)) + tail


def _cost(rx: re.Pattern, anchored: bool, text: str) -> float:
    t0 = time.perf_counter()
    if anchored:
        rx.match(text)
    else:
        for _ in rx.finditer(text):
            pass
    return time.perf_counter() - t0


def test_patterns_were_found():
    """The sweep sees what it should: licensing, the templates, the normaliser, the platforms."""
    where = {w for w, _, _ in PATTERNS}
    assert len(PATTERNS) > 150
    for name in ("parsers.licensing._BLOCK", "parsers.licensing._TABLE_ROW", "parsers._util._MORE",
                 "agent.normalize.classify._INTERFACE", "agent.core.versions._DOTTED", "prompt[cisco_xr]",
                 "cisco_common_show_inventory.textfsm:Start[6]", "cisco_ios_show_version.textfsm:Table[0]"):
        assert name in where, name
    assert any(w.startswith("refusals[") for w in where)  # one pattern, shared by every platform
    assert any(w.startswith("cisco_nxos_show_license_usage.textfsm") for w in where)  # ntc-templates' own


@pytest.mark.parametrize("where,rx,anchored", PATTERNS, ids=[w for w, _, _ in PATTERNS])
def test_pattern_is_linear_on_hostile_lines(where, rx, anchored):
    for attack in attacks(rx):
        text = _line(attack, N)
        if _cost(rx, anchored, text) < SUSPECT:
            continue
        # Suspect.  Measured again, best of five (a busy machine can stall any single call, or three), then at four
        # times the length, which must cost about four times as much, not sixteen (quadratic).
        small = min(_cost(rx, anchored, text) for _ in range(5))
        where_text = f"{where}: on {text[:50]!r}...{text[-12:]!r}"
        assert small <= LIMIT, f"{where_text}: {small * 1000:.1f} ms at {N} characters"
        big = _cost(rx, anchored, _line(attack, 4 * N))
        if big > LIMIT and big >= 8 * small:
            big = min(big, *(_cost(rx, anchored, _line(attack, 4 * N)) for _ in range(4)))
        assert big <= LIMIT or big < 8 * small, (
            f"{where_text}: {small * 1000:.1f} ms at {N} characters, {big * 1000:.1f} ms at {4 * N}")
