"""Identity rules: what makes two sightings of a physical item the same item.

One definition each, used by the device side (normalisation), the contract side (contract and
EoX files) and the store's fleet reads, so a serial or PID printed by a device and the same one
typed into a spreadsheet compare equal (FORMATS.md section 4).

Serials (:func:`canonical_serial`)
    trim; upper-case; strip ``SN:`` / ``S/N:`` / ``S:`` / ``Serial Number:`` prefixes,
    surrounding quotes and trailing padding/commas; placeholders (``N/A``, ``NA``, ``None``,
    ``-``, ``Unknown``, ``<empty>``, all zeros...) become ``""``.  Characters are never
    substituted: ``O`` and ``0`` stay as printed (virtual UDIs such as ``9NZ7O74FICQ`` carry a
    real letter O); hyphen suffixes (``INL24374088-A``) are kept.  A spreadsheet cell (a float
    such as ``123456.0``, Excel's ``="00123"``) is read as the text a user sees.
PIDs (:func:`base_pid`, :func:`is_refurbished`, :func:`pid_key`)
    ``base_pid`` trims the PID, drops trailing ``=`` (spare SKU marker) and a trailing ``-RF``
    (Cisco Refresh SKU, the same hardware remanufactured: flagged ``refurbished``) and keeps the
    case as printed (``ASAv``); ``pid_key`` is the upper-cased base PID that identities and
    look-ups compare.  ``/K9``, ``-E``/``-A`` and every other suffix are significant and kept.

Imports nothing of ours: everything may import it.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

__all__ = [
    "PLACEHOLDERS", "canonical_serial", "base_pid", "pid_key", "is_refurbished", "has_pid",
    "split_pid", "cell_text", "Key",
]

# (canonical serial, upper-case base PID): the identity of a physical item.
Key = tuple[str, str]

# ------------------------------------------------------------------ serials

_SERIAL_PREFIX = re.compile(r"^(?:S/N|SN|S|SERIAL(?:\s*(?:NO\.?|NUMBER|NUM))?)\s*[:#=]\s*", re.I)
PLACEHOLDERS = frozenset({
    "", "N/A", "NA", "N.A.", "NONE", "NULL", "-", "--", "UNKNOWN", "NOT AVAILABLE", "NOTAVAILABLE",
    "<NONE>", "<EMPTY>", "EMPTY", "UNSPECIFIED", "NOT SPECIFIED", "NOT APPLICABLE", "N\\A",
})
# What a serial may contain once canonical.  A serial this accepts holds no quote, blank, ',',
# ';', ':', '#' or '=': none of the prefixes or padding can be in it, so only the placeholder and
# all-zero rules remain to apply (the fast path for the plain serials of a large export).
SERIAL_SHAPE = re.compile(r"^[A-Z0-9][A-Z0-9._/\-]*$")


def canonical_serial(raw: Any) -> str:
    """Comparable serial: trimmed, upper-case, prefixes/padding/placeholders removed.

    Never substitutes characters (O and 0 stay as printed).
    """
    if not raw:
        return ""
    text = (raw.strip() if type(raw) is str else cell_text(raw)).upper()
    if SERIAL_SHAPE.match(text):
        return text if text not in PLACEHOLDERS and text.strip("0") else ""
    s = text.strip("\"'").strip()
    s = _SERIAL_PREFIX.sub("", s).strip()
    s = s.rstrip(",;").strip().strip("\"'").strip()
    if s in PLACEHOLDERS or set(s) == {"0"}:
        return ""
    return s


# ------------------------------------------------------------------ PIDs

_RF = re.compile(r"-RF$", re.I)
_NO_PID = frozenset({"", "N/A", "NA", "NONE", "UNSPECIFIED", "UNKNOWN", "-", "NOT SPECIFIED"})


def base_pid(pid: Any) -> str:
    """PID for identity and look-ups, case as printed: trimmed, trailing '=' (spare) and '-RF'
    (refurbished) dropped."""
    if not pid:
        return ""
    p = str(pid).strip().rstrip(",").strip()
    p = p.rstrip("=").strip()
    return _RF.sub("", p)


def pid_key(pid: Any) -> str:
    """The base PID as identities compare it (upper case): ``(canonical_serial, pid_key)``."""
    return base_pid(pid).upper()


def is_refurbished(pid: Any) -> bool:
    return bool(pid) and bool(_RF.search(str(pid).strip().rstrip("=").strip()))


def has_pid(pid: Any) -> bool:
    """Does the row name a Cisco PID at all (third-party optics print none or ``N/A``)?"""
    return pid_key(pid) not in _NO_PID


_PID_CACHE: dict[str, tuple[str, str, bool]] = {}


def split_pid(raw: Any) -> tuple[str, str, bool]:
    """A PID cell of a contract or EoX file: ``(pid as read, upper case; pid_key; refurbished)``.

    Cached: a large estate has a few thousand distinct PIDs over 10^5 rows.
    """
    hit = _PID_CACHE.get(raw) if type(raw) is str else None
    if hit is not None:
        return hit
    text = cell_text(raw).upper()
    hit = _PID_CACHE.get(text)
    if hit is None:
        hit = (text, pid_key(text), is_refurbished(text))
    if len(_PID_CACHE) < 100_000:
        _PID_CACHE[text] = hit
        if type(raw) is str:
            _PID_CACHE[raw] = hit
    return hit


# ------------------------------------------------------------------ cells


def cell_text(value: Any) -> str:
    """A spreadsheet or JSON cell as the text a user sees."""
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()  # str.strip() already drops NBSP; a BOM is removed when decoding
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel turns a numeric serial or contract number into 123456.0
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value).strip()
