"""Shared helpers: the one exception type, input cleaning, small text utilities.

Nothing here raises anything but :class:`ParseError`.
"""
from __future__ import annotations

import re

__all__ = ["ParseError", "clean", "prompt_hostname", "none_to_empty", "split_udi"]


class ParseError(ValueError):
    """Input a parser cannot read.  The message names the platform and the command."""

    def __init__(self, platform: str, command: str, reason: str) -> None:
        self.platform = str(platform) if platform else "?"
        self.command = str(command) if command else "?"
        self.reason = reason
        super().__init__(f"{self.platform} '{self.command}': {reason}")


# Terminal noise: ANSI escapes, paging prompts, stray control characters (tab and newline kept).
# Every pattern here runs on device text in time linear in its length (issue 12: a device printing
# long runs of blanks must not stall the scan; tests/hostile/test_parsing_regex.py checks them).
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][AB012]|\x1b[=>]")
# ' --More-- '.  A match is tried only where a run of blanks or dashes could start it (not after a
# blank, nor at a dash after a dash): the leftmost match starts there anyway, and trying from each
# character of a long run rescanned the run each time (quadratic).
_MORE = re.compile(r"(?<![ \t])(?!(?<=-)-)[ \t]*+(?:-++[ \t]*+More[ \t]*+-++|<-++ More -++>)[ \t]*+")
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Lines that are never part of a command's answer.
_NOISE = re.compile(
    r"^(?:Load\s+for\s+five\s+secs|Time\s+source\s+is\s|No\s+time\s+source,"
    r"|\+\+.*executing\s+command|\+{5,}\s*$|show_\w+\s+-?\d+\s*$)"
)
# An echoed command (optionally behind a prompt) or a bare prompt at either end of the capture.
_PROMPT = r"[\w.\-@/:()]{1,63}(?:\(\S+\))?[#>]"
_ECHO = re.compile(rf"^\s*(?:{_PROMPT}\s*)?(?:sh|sho|show|how|admin|terminal)\b.*$", re.I)
_BARE_PROMPT = re.compile(rf"^\s*{_PROMPT}\s*$")
# IOS XR prints the command's start time first: 'Fri Aug  9 09:08:06.986 CDT'.
_XR_STAMP = re.compile(r"^\s*(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+\w{3}\s+\d{1,2}\s+\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\s+\S+\s*$")


def clean(text: str) -> str:
    """Normalise a raw capture: line endings, terminal noise, echoed command and trailing prompt.

    Values are never altered: trailing blanks inside lines are kept (padding is the
    normaliser's business), only whole lines of noise are removed.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "More" in text:
        text = _MORE.sub("", text)
    text = _CTRL.sub("", text)
    lines = text.split("\n")
    out = [ln for ln in lines if not _NOISE.match(ln)]
    # Leading: blank lines, echoed command, XR timestamp (in any order, a few lines at most).
    head = 0
    while head < len(out) and head < 6:
        ln = out[head]
        if not ln.strip() or _ECHO.match(ln) or _XR_STAMP.match(ln) or _BARE_PROMPT.match(ln):
            head += 1
            continue
        break
    tail = len(out)
    while tail > head:
        ln = out[tail - 1]
        if not ln.strip() or _BARE_PROMPT.match(ln):
            tail -= 1
            continue
        break
    return "\n".join(out[head:tail])


_PROMPT_HOST = re.compile(
    r"^\s*(?:(?:RP|LC|RSP)/\d+/\w+/CPU\d+:)?(?P<host>[\w.\-@]{1,63}?)(?:\([\w\-]+\))?(?:/[\w\-]+)*[#>]"
    r"(?:\s*(?:sh|sho|show|admin)\b.*)?\s*$",
    re.I,
)


def prompt_hostname(text: str) -> str:
    """Host name from an echoed prompt ('RP/0/RSP0/CPU0:pe1#show version', 'fw1/pri/act#'), or ''.

    IOS XR 64-bit prints no host name in 'show version': when the capture kept the prompt,
    this is the only place it appears.
    """
    if "#" not in text and ">" not in text:
        return ""
    lines = text.replace("\r", "").split("\n")
    candidates = [ln for ln in lines[:6] if ln.strip()] + [ln for ln in lines[-3:] if ln.strip()]
    for ln in candidates:
        m = _PROMPT_HOST.match(ln)
        if m and not m.group("host").isdigit():
            return m.group("host")
    return ""


def to_int(value) -> int | None:
    """An integer from a text field of structured output (NETCONF leaf, SNMP value), else None."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def none_to_empty(value: str) -> str:
    """'<none>', '<empty>', 'None', 'N/A' placeholders -> '' (anything else stripped, as read)."""
    v = value.strip()
    if v.lower() in ("<none>", "<empty>", "none", "n/a", "not configured", "-"):
        return ""
    return v


# Possessive: the blanks and the PID are disjoint classes, so no other split could ever match.
_UDI = re.compile(r"P(?:ID)?:\s*+([^,\s]*+)\s*+,\s*+S(?:N)?:\s*+(\S*)")


def split_udi(text: str) -> tuple[str, str]:
    """'PID:C9300-24UX,SN:FCW2303D16Y' (or 'P:..,S:..') -> (pid, serial); ('', '') if absent."""
    m = _UDI.search(text)
    if not m:
        return "", ""
    return m.group(1), m.group(2)
