"""Device clock texts (``Jan 12 12:10:32 2026 UTC``) into aware datetimes.

Devices print their local clock with a zone *abbreviation*, which is not a time zone: ``IST``
is India, Ireland or Israel, ``CST`` is US Central or China, and ``clock timezone`` accepts
any word (``pacific``, ``est`` in lower case are in the corpus).  So the abbreviations we are
sure enough of map to fixed offsets; the ambiguous ones get the reading most Cisco sites mean
plus a note saying so; an unknown word is kept, read as UTC and noted.  A note always travels
with the value so a report can say why a deadline may be off by a few hours.

Pure functions, no clock reads: the caller passes "now" (``as_of``) where one is needed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

# Fixed offsets in minutes.  Daylight-saving names are separate abbreviations, so a fixed offset
# per name is exact for the unambiguous ones.
ZONES: dict[str, int] = {
    "UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "ZULU": 0,
    # United States and Canada
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360,
    "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600, "AST": -240, "ADT": -180,
    "NST": -210, "NDT": -150,
    # Europe
    "WET": 0, "WEST": 60, "BST": 60, "IST": 330, "CET": 60, "CEST": 120, "MET": 60, "MEST": 120,
    "EET": 120, "EEST": 180, "MSK": 180,
    # Asia-Pacific sites that show up in Cisco captures
    "JST": 540, "KST": 540, "SGT": 480, "HKT": 480, "AEST": 600, "AEDT": 660, "ACST": 570,
    "AWST": 480, "NZST": 720, "NZDT": 780,
}
# Names that mean more than one zone: the reading taken, said out loud in the note.
AMBIGUOUS: dict[str, str] = {
    "IST": "IST read as India Standard Time (+05:30), not Irish or Israel time",
    "CST": "CST read as US Central (-06:00), not China Standard Time",
    "BST": "BST read as British Summer Time (+01:00)",
    "AST": "AST read as Atlantic Standard Time (-04:00)",
}

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
# 'Oct 14 12:10:32 2021 UTC' (IOS XE, NX-OS) and 'Jan 05 2023 12:19:01 UTC' (ASA); optional
# weekday and fractional seconds; the zone is any word or absent.
_STAMP = re.compile(
    r"^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\w*\s+)?(?P<mon>[A-Za-z]{3})[a-z]*\s+(?P<day>\d{1,2})\s+"
    r"(?:(?P<y1>\d{4})\s+)?(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2})(?:\.\d+)?"
    r"(?:\s+(?P<y2>\d{4}))?(?:\s+(?P<zone>[A-Za-z][\w+\-:]*))?\s*$"
)
_PLACEHOLDERS = {"", "<none>", "<empty>", "none", "n/a", "-"}


@dataclass(frozen=True, slots=True)
class CliTime:
    when: datetime  # aware, UTC
    text: str  # as the device printed it
    zone: str  # the abbreviation as printed ('' if none)
    note: str = ""  # why the reading may be off ('' when it is exact)


def parse_cli_time(text: str | None) -> CliTime | None:
    """A device timestamp, or None for placeholders (``<none>``) and text that is not a timestamp."""
    raw = (text or "").strip()
    if raw.lower() in _PLACEHOLDERS:
        return None
    m = _STAMP.match(raw)
    if not m:
        return None
    month = _MONTHS.get(m.group("mon").lower())
    year = m.group("y1") or m.group("y2")
    if month is None or year is None:
        return None
    try:
        local = datetime(int(year), month, int(m.group("day")), int(m.group("h")), int(m.group("m")), int(m.group("s")))
    except ValueError:
        return None
    zone = m.group("zone") or ""
    key = zone.upper()
    if not zone:
        offset, note = 0, "no time zone printed, read as UTC"
    elif key in ZONES:
        offset, note = ZONES[key], AMBIGUOUS.get(key, "")
    else:
        offset, note = 0, f"unknown time zone {zone!r}, read as UTC"
    when = (local - timedelta(minutes=offset)).replace(tzinfo=timezone.utc)
    return CliTime(when=when, text=raw, zone=zone, note=note)


def iso(value: CliTime | datetime | None) -> str:
    """ISO 8601 in UTC ('2026-01-12T12:10:32Z'), '' for None."""
    if value is None:
        return ""
    dt = value.when if isinstance(value, CliTime) else value
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def day(epoch: float | None) -> str:
    """An epoch as its UTC date, '' for None."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, timezone.utc).date().isoformat()
