"""Fuzz: generated and mutated captures never make ``parsers.parse`` raise anything but
``ParseError`` (and never hang).  Seeds are the parser fixtures (always present) plus, when
the corpus is there, a sample of real captures; mutations truncate, drop / duplicate /
shuffle lines, inject random bytes, switch to CRLF, glue lines, and blank out parts."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corpus_util as cu
import parsers
from agent.core.models import ParseResult

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures" / "parsers"

COMMANDS = [
    "show version", "show inventory", "admin show inventory", "show license summary", "show license usage",
    "show license status", "show license udi", "show license all", "show license", "show version | json",
    "show inventory | json",
]
PLATFORMS = list(parsers.PLATFORMS)


def _seeds() -> list[tuple[str, str, str]]:
    seeds = []
    for txt in sorted(FIXTURES.glob("*/*/*.txt")):
        seeds.append((txt.parent.parent.name, txt.parent.name.replace("_", " "), txt.read_text()))
    root = cu.corpus_root()
    if root.is_dir():
        cases = list(cu.iter_cases(root))
        random.Random(7).shuffle(cases)
        for c in cases[:60]:
            seeds.append((c.platform, c.command, c.path.read_text(errors="replace")))
    return seeds


SEEDS = _seeds()


def _check(platform: str, command: str, text) -> None:
    try:
        result = parsers.parse(platform, command, text)
    except parsers.ParseError as exc:
        assert exc.platform and exc.command and str(exc)
        return
    assert isinstance(result, ParseResult)


def _mutate(text: str, rnd: random.Random, ops: list[int], blob: bytes) -> str:
    lines = text.split("\n")
    for op in ops:
        if not lines:
            lines = [""]
        i = rnd.randrange(len(lines))
        if op == 0:  # truncate the capture mid-line
            cut = rnd.randrange(len(text) + 1)
            lines = text[:cut].split("\n")
        elif op == 1:  # drop a line
            del lines[i]
        elif op == 2:  # duplicate a line
            lines.insert(i, lines[i])
        elif op == 3:  # random bytes inside a line
            ln = lines[i]
            j = rnd.randrange(len(ln) + 1)
            lines[i] = ln[:j] + blob.decode("latin-1") + ln[j:]
        elif op == 4:  # glue two lines (lost newline)
            if i + 1 < len(lines):
                lines[i : i + 2] = [lines[i] + "    " + lines[i + 1]]
        elif op == 5:  # shuffle a window
            w = lines[i : i + 5]
            rnd.shuffle(w)
            lines[i : i + 5] = w
        elif op == 6:  # strip indentation of the rest
            lines = lines[:i] + [ln.lstrip() for ln in lines[i:]]
        elif op == 7:  # blank a value after a colon
            if ":" in lines[i]:
                lines[i] = lines[i].split(":", 1)[0] + ":"
        elif op == 8:  # huge line
            lines.insert(i, "X" * rnd.randrange(1000, 20000))
        elif op == 9:  # paging prompt / terminal escapes
            lines.insert(i, " --More-- \x08\x08\x08\x08\x1b[K")
    out = "\n".join(lines)
    if rnd.random() < 0.3:
        out = out.replace("\n", "\r\n")
    return out


@settings(max_examples=600, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=len(SEEDS) - 1),
    ops=st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=6),
    blob=st.binary(min_size=0, max_size=40),
    rseed=st.integers(min_value=0, max_value=2**32 - 1),
    swap_platform=st.booleans(),
    swap_command=st.booleans(),
)
def test_mutated_captures_only_raise_parse_error(seed, ops, blob, rseed, swap_platform, swap_command):
    platform, command, text = SEEDS[seed]
    rnd = random.Random(rseed)
    mutated = _mutate(text, rnd, ops, blob)
    if swap_platform:
        platform = rnd.choice(PLATFORMS)
    if swap_command:
        command = rnd.choice(COMMANDS)
    _check(platform, command, mutated)


@settings(max_examples=300, deadline=2000)
@given(
    platform=st.sampled_from(PLATFORMS + ["junos", "", "CISCO_XE"]),
    command=st.sampled_from(COMMANDS + ["show run", "", "sh lic", "show_version"]),
    text=st.text(max_size=2000),
)
def test_generated_text_only_raises_parse_error(platform, command, text):
    _check(platform, command, text)


@settings(max_examples=200, deadline=2000)
@given(
    platform=st.sampled_from(PLATFORMS),
    command=st.sampled_from(COMMANDS),
    lines=st.lists(
        st.one_of(
            st.sampled_from([
                'NAME: "Chassis", DESCR: "x"', "PID: , VID: , SN:", "PID: X   VID: V01   SN: Y",
                "Smart Licensing is ENABLED", "Policy:", "  Reporting frequency (days): (CISCO default)",
                "Trust Code Installed:", "  Active: PID:,SN:", "    INSTALLED on ", "License Usage:",
                "  License  Entitlement Tag  Count Status", "x (y):", "  Count: 99999999999999999999",
                "UDI: PID:", "HA UDI List:", "Switch 02", "---------", "Switch Ports Model SW Version",
                "*   1 32 WS-C3850 16.1 IMG", "cisco X (Y) processor", "Serial Number:", '{"TABLE_inv": {',
                '{"TABLE_inv": {"ROW_inv": "x"}}', '{"TABLE_inv": {"ROW_inv": [1, null, {"name": 3}]}}',
                '{"sys_ver_str": null, "host_name": []}', "% Invalid input detected at '^' marker.",
                "SlotID PID SN UDI", "* a b c", "Feature Ins Lic Status Expiry Date Comments",
            ]),
            st.text(max_size=80),
        ),
        max_size=40,
    ),
)
def test_generated_structured_lines_only_raise_parse_error(platform, command, lines):
    _check(platform, command, "\n".join(lines))


@pytest.mark.parametrize("value", [None, 42, b"\xff\xfe\x00garbage", b"NAME: \"x\", DESCR: \"y\"\nPID: A , VID: B , SN: C", ["x"]])
def test_non_text_input(value):
    _check("cisco_xe", "show inventory", value)
    _check(42, None, value)
