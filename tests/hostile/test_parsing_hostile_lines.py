"""Every parser, on every platform and command it serves, reads pathological lines in bounded time
(issue 12, item 2): long runs (10,000 to 50,000 characters) of blanks, tabs, ':', '=', ',' and
mixtures, alone or after the start of a real line, inside real captures; the same values in NETCONF
leaves and SNMP varbinds.  Each parse, and the normalisation of what it gave, must end in under
half a second and raise nothing but ``ParseError``.
"""
from __future__ import annotations

import time
from html import escape
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parsers
from agent.core.models import Capture
from agent.normalize import records_from_captures

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "parsers"
BOUND = 0.5  # seconds per call

# The registry: every (platform, command) parsers.parse serves.
PAIRS = [(p, c) for p in parsers.PLATFORMS for c in parsers.COMMANDS]
PAIRS += [("cisco_nxos", "show version | json"), ("cisco_nxos", "show inventory | json"),
          ("cisco_nxos", "show cdp neighbors detail | json"), ("cisco_nxos", "show lldp neighbors detail | json")]
PAIRS += [(p, parsers.PROMPT) for p in parsers.PLATFORMS]
PAIRS += [(p, "netconf:get") for p in parsers.PLATFORMS] + [(p, "snmp:recording") for p in parsers.PLATFORMS]

UNITS = [" ", "\t", ":", "=", " :", ": ", " =", "= ", "\t ", " \t:=", ",", " ,", "(", " (", "a ", "0", "-", ".", '"']
TAILS = ["", "x", ":", ")", "\x01", " x:", ' "']


def _base(platform: str, command: str) -> str:
    """A real capture of that command (that platform's if there is one), to hide the line in."""
    slug = command.replace(" | json", "").replace(" ", "_")
    for plat in [platform] + [p for p in parsers.PLATFORMS if p != platform]:
        files = sorted((FIXTURES / plat / slug).glob("*.txt"))
        if files:
            return files[0].read_text()
    return ""


BASES = {pair: _base(*pair) for pair in PAIRS}
for _pair, _text in BASES.items():  # load each template and index once: that is not a capture's cost
    try:
        parsers.parse(*_pair, _text or "x")
    except parsers.ParseError:
        pass
HEADS = sorted({ln[:cut] for text in BASES.values() for ln in text.splitlines()[:40] if ln.strip()
                for cut in (len(ln) // 3, len(ln) // 2, len(ln))})


def _netconf(line: str) -> str:
    v = escape(line)
    return ('<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><data>'
            '<device-hardware-data xmlns="http://cisco.com/ns/yang/Cisco-IOS-XE-device-hardware-oper"><device-hardware>'
            f"<device-inventory><hw-type>hw-type-chassis</hw-type><hw-dev-index>0</hw-dev-index><part-number>{v}"
            f"</part-number><serial-number>{v}</serial-number><hw-description>{v}</hw-description><dev-name>{v}"
            f"</dev-name></device-inventory><device-system-data><software-version>{v}</software-version>"
            "</device-system-data></device-hardware></device-hardware-data></data></rpc-reply>")


def _snmp(line: str) -> str:
    v = line.replace("\n", " ")
    rows = [f"1.3.6.1.2.1.1.1.0|4|{v}", f"1.3.6.1.2.1.1.5.0|4|{v}", "1.3.6.1.2.1.47.1.1.1.1.5.1|2|3",
            "1.3.6.1.2.1.47.1.1.1.1.4.1|2|0"]
    rows += [f"1.3.6.1.2.1.47.1.1.1.1.{col}.1|4|{v}" for col in (2, 7, 11, 13)]
    return "\n".join(rows) + "\n"


def capture_text(platform: str, command: str, line: str, at: int) -> str:
    if command.startswith("netconf:"):
        return _netconf(line)
    if command.startswith("snmp:"):
        return _snmp(line)
    lines = BASES[(platform, command)].split("\n")
    at = at % (len(lines) + 1)
    return "\n".join(lines[:at] + [line] + lines[at:])


def check(platform: str, command: str, text: str) -> None:
    t0 = time.perf_counter()
    try:
        parsers.parse(platform, command, text)
    except parsers.ParseError:
        pass
    took = time.perf_counter() - t0
    assert took < BOUND, f"{platform} {command!r}: parse took {took:.2f}s on {len(text)} characters"
    cap = Capture(device="d", platform=platform, transport="ssh", command=command, output=text, started=0, ended=0)
    t0 = time.perf_counter()
    try:
        records_from_captures("d", platform, [cap])
    except parsers.ParseError:
        pass
    took = time.perf_counter() - t0
    assert took < BOUND, f"{platform} {command!r}: parse + normalise took {took:.2f}s on {len(text)} characters"


@pytest.mark.parametrize("platform,command", PAIRS, ids=[f"{p}-{c}" for p, c in PAIRS])
def test_known_worst_lines(platform, command):
    """The shapes that were slow before the rewrite, at 50,000 characters, after each of a real
    capture's first lines (where a key or a NAME/PID prefix starts)."""
    base_lines = [ln for ln in BASES[(platform, command)].splitlines() if ln.strip()][:8] or [""]
    for head in base_lines:
        for line in (head + " " * 50000 + "x", head[: len(head) // 2] + " \t:=" * 12500, "a" + " " * 50000 + "b:",
                     head + "(" * 50000, head + "0" * 50000 + ":"):
            check(platform, command, capture_text(platform, command, line, 1))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    pair=st.sampled_from(PAIRS),
    head=st.one_of(st.just(""), st.sampled_from(HEADS)),
    unit=st.one_of(st.sampled_from(UNITS), st.text(alphabet=" \t:=,(\"-", min_size=1, max_size=4)),
    length=st.integers(min_value=10_000, max_value=50_000),
    tail=st.sampled_from(TAILS),
    at=st.integers(min_value=0, max_value=400),
)
def test_generated_pathological_lines(pair, head, unit, length, tail, at):
    platform, command = pair
    line = head + unit * (length // len(unit)) + tail
    check(platform, command, capture_text(platform, command, line, at))
