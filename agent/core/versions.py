"""Versions: one comparable form per release, by the platform's numbering scheme.

Versions (:func:`canonical_version`, :func:`version_key`)
    IOS XE ``17.09.04a`` == ``17.9.4a``: dotted integers without leading zeros plus a
    lower-case rebuild letter; ``prdNN``, ``[Default]``, ``- SMU-PATCHED`` and other trailing
    words dropped; 3.x trains keep their letters (``03.06.07E`` -> ``3.6.7E``).  NX-OS in
    Cisco's own form ``10.2(3)`` (the dotted ``10.2.3`` reads as the same release; the tails
    ``[Feature Release]``, ``[Maintenance Release]``, ``[build ...]`` dropped, so the canonical
    field is the release as Cisco prints it), interim builds kept whole (``16.1(2.133b)``, not
    ``16.1``), train releases in their form (``7.0(3)I7(9)``).  IOS XR dotted (``7.5.2``, ``24.1.1``,
    ``6.1.4.10I``), ``[Default]`` / ``LNT`` dropped.  ASA ``9.14(2)15`` (``9.14.2.15`` is read
    as the same release).  Classic IOS keeps its train letters (``15.2(2)E8``).  The form is
    recognised by shape, so an IOS XE box collected as ``cisco_ios`` still compares.
    ``version_key`` gives a tuple that sorts releases in numeric order.

Which rules apply is platform data, not a guess: each ``agent/core/platform_defs/<platform>.yaml``
names its ``version_scheme`` (IOS and IOS XE share ``ios``) and :data:`SCHEMES` holds one function
per scheme.
"""
from __future__ import annotations

import re
from typing import Callable

from agent.core import platforms

# Versions are device text: every pattern runs in time linear in it (issue 12).  Leading zeros are
# '(?:0(?=\d))*+' ('0*' before '\d+' retried every split of a run of zeros: quadratic).
# Classic IOS '15.2(2)E8'; an IOSd engineering build's '15.3(20121015:193729)' is kept whole.
_CLASSIC = re.compile(r"^(\d+)\.(\d+)\(([\d.:]+[a-z]*)\)([A-Za-z]*\d*[a-z]?)")
_Z = r"(?:0(?=\d))*+"
_DOTTED = re.compile(rf"^{_Z}(\d++)\.{_Z}(\d++)(?:\.{_Z}(\d++))?(?:\.{_Z}(\d++))?([A-Za-z]+\d*)?")
_VERSION_WORD = re.compile(r"\bVersion\s++(\S++)")
_TRAILING_DIGITS = re.compile(r"(?<!\d)\d+$")
_XR_NUMBERS = re.compile(r"^(\d++(?:\.\d++)*+[A-Z]?)")
_KEY_PARTS = re.compile(r"\d+|[A-Za-z]+")


def _num(digits: str) -> str:
    """``str(int(digits))``: a run of digits without its leading zeros.  int() refuses more than
    4,300 digits (ValueError), and a device may print more."""
    if digits.isascii():
        return digits.lstrip("0") or "0"
    return str(int(digits)) if len(digits) <= 4000 else digits


def _drop_brackets(s: str) -> str:
    r"""``re.sub(r"\s*\[.*?\]", "", s)`` in linear time: that pattern rescanned the rest of a line
    from each '[' that no ']' closed, and from each blank before one."""
    out: list[str] = []
    done = pos = 0  # text before ``done`` is decided; the next '[' is looked for from ``pos``
    close = nl = -1  # the next ']' and '\n' after the current '[' (found once, reused)
    while True:
        j = s.find("[", pos)
        if j < 0:
            break
        if close < j:
            close = s.find("]", j)
            if close < 0:
                break  # no ']' anywhere after: nothing more can match
        if nl < j:
            nl = s.find("\n", j)
        if 0 <= nl < close:  # this line's '[' are not closed on it: go on from the next line
            pos = nl + 1
            continue
        ws = j
        while ws > done and s[ws - 1].isspace():  # the blanks before '[' go with it
            ws -= 1
        out.append(s[done:ws])
        done = pos = close + 1
    out.append(s[done:])
    return "".join(out)
_NXOS_TRAIN = re.compile(r"^(\d+)\.(\d+)\((\d+[a-z]*)\)([A-Z]+\d*)\((\d+[a-z]*)\)")
# '10.2(3)', '8.4(2b)', and interim builds '16.1(2.133b)' (a build of a release: kept whole, as
# '16.1' would match every 16.1 release).
_NXOS_PLAIN = re.compile(r"^(\d++)\.(\d++)\((\d++(?:\.\d++)?[a-z]*+)\)")
_ASA = re.compile(r"^(\d+)\.(\d+)\((\d+)\)(\d+)?")
_ASA_DOTTED = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?$")


def _first_token(raw: str) -> str:
    s = str(raw or "").strip()
    m = _VERSION_WORD.search(s)  # a whole banner line: '... Software (X), Version 15.0(2)SE4, ...'
    if m:
        s = m.group(1)
    s = _drop_brackets(s)  # [Default], [build ...], [Feature Release]
    s = s.split(" - ")[0]  # - SMU-PATCHED, - Extended Support Release
    s = s.strip().split()[0] if s.strip() else ""
    return s.strip(",;")


def _xe(tok: str) -> str:
    m = _DOTTED.match(tok)
    if not m:
        return tok
    nums = [_num(g) for g in m.group(1, 2, 3, 4) if g is not None]
    suffix = m.group(5) or ""
    if re.fullmatch(r"prd\d*", suffix, re.I):
        suffix = ""
    elif re.fullmatch(r"[A-Za-z]", suffix) and len(nums) >= 3 and int(nums[0]) >= 16:
        suffix = suffix.lower()  # 17.9.4a: rebuild letter
    elif not re.fullmatch(r"[A-Za-z]+", suffix):
        suffix = _TRAILING_DIGITS.sub("", suffix) if suffix.lower().startswith("prd") else suffix
    rest = tok[m.end():]
    if suffix == "" and rest.startswith(".") and re.match(r"^\.[A-Z]+\d*$", rest):
        suffix = rest[1:]  # 03.04.06.SG
    return ".".join(nums) + suffix


def _ios(tok: str) -> str:
    m = _CLASSIC.match(tok)
    if m:
        return tok[: m.end()]
    return _xe(tok)


def _nxos(tok: str) -> str:
    m = _NXOS_TRAIN.match(tok)
    if m:
        return f"{m.group(1)}.{m.group(2)}({m.group(3)}){m.group(4)}({m.group(5)})"
    m = _NXOS_PLAIN.match(tok)
    if m:
        return f"{_num(m.group(1))}.{_num(m.group(2))}({m.group(3)})"
    m = _DOTTED.match(tok)
    if m:  # dotted (NX-API, SNMP, EoX data): '10.2.3' is Cisco's '10.2(3)'
        nums = [_num(g) for g in m.group(1, 2, 3, 4) if g is not None]
        letter = m.group(5) or "" if (m.group(5) or "").islower() else ""
        if len(nums) >= 3:
            return f"{nums[0]}.{nums[1]}({'.'.join(nums[2:])}{letter})"
        return ".".join(nums) + letter
    return tok


def _ios_xr(tok: str) -> str:
    m = _XR_NUMBERS.match(tok)
    if m:
        return ".".join(_num(p) if p.isdigit() else p for p in m.group(1).split("."))
    return tok


def _asa(tok: str) -> str:
    m = _ASA.match(tok)
    if m:
        return f"{m.group(1)}.{m.group(2)}({m.group(3)})" + (m.group(4) or "")
    m = _ASA_DOTTED.match(tok)
    if m:
        return f"{m.group(1)}.{m.group(2)}({m.group(3)})" + (m.group(4) or "")
    return tok


# version_scheme (platform_defs/<platform>.yaml) -> its rules; one entry per platforms.VERSION_SCHEMES.
SCHEMES: dict[str, Callable[[str], str]] = {"ios": _ios, "nxos": _nxos, "ios_xr": _ios_xr, "asa": _asa}


def canonical_version(platform: str, raw: str | None) -> str:
    """Comparable version string for ``platform`` (see module docstring); '' for no version.

    The rules are the platform's ``version_scheme`` (a name or alias, as :func:`platforms.lookup`
    reads it); a platform without a definition has no scheme, so its version is the token as printed.
    """
    tok = _first_token(raw or "")
    if not tok:
        return ""
    plat = platforms.lookup(platform)
    if plat is None:
        return tok
    return SCHEMES[plat.version_scheme](tok)


def version_key(platform: str, raw: str | None) -> tuple:
    """Sort key: numbers compare as numbers, letters as text, shorter prefix first."""
    canon = canonical_version(platform, raw)
    key = []
    for tok in _KEY_PARTS.findall(canon):
        key.append((1, int(tok[:4000]), "") if tok.isdigit() else (0, 0, tok.lower()))
    return tuple(key)
