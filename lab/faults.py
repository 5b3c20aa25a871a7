"""Fault kinds a lab device can be given, and the bytes the broken ones send."""
from __future__ import annotations

import random

AUTH_FAIL = "auth_fail"  # every password is rejected
HANG = "hang_after_login"  # shell opens, no prompt ever comes, input is ignored
DISCONNECT = "disconnect_mid_output"  # connection dropped halfway through 'show inventory'
GARBAGE = "garbage"  # 'show' commands answer binary noise and never a prompt again
SLOW = "slow_output"  # output dribbles out in small chunks with pauses, but completes
# 'show license status' answers its usual text with a line of 4,000 blanks and one character after
# its first line: the line that took the old licensing parser minutes and froze a scan (issue 12).
PATHOLOGICAL = "pathological_output"

FAULTS = frozenset({AUTH_FAIL, HANG, DISCONNECT, GARBAGE, SLOW, PATHOLOGICAL})

DISCONNECT_COMMAND = "show inventory"
PATHOLOGICAL_COMMAND = "show license status"
PATHOLOGICAL_LINE = " " * 4000 + "x"


def pathological(text: str) -> str:
    """``text`` with :data:`PATHOLOGICAL_LINE` after its first line (the rest as it was)."""
    first, sep, rest = text.partition("\r\n")
    return first + "\r\n" + PATHOLOGICAL_LINE + "\r\n" + rest if sep else PATHOLOGICAL_LINE + "\r\n" + text

# Noise never contains a prompt terminator or a line break at its end, so no reader can
# mistake its last line for a prompt by accident.
_BANNED = frozenset(b"#>\r\n")


def noise(rng: random.Random, size: int = 1536) -> bytes:
    """Binary junk with the look of a confused terminal: escapes, NULs, invalid UTF-8."""
    out = bytearray()
    while len(out) < size:
        roll = rng.random()
        if roll < 0.08:
            out += b"\x1b[" + str(rng.randint(0, 99)).encode() + rng.choice([b"m", b"J", b"K", b"H"])
        elif roll < 0.12:
            out += b"\r\n"
        else:
            b = rng.randrange(256)
            if b not in _BANNED:
                out.append(b)
    return bytes(out) + b"\x00\xff\xfe"


def split_for_disconnect(data: bytes) -> bytes:
    """The part sent before the link drops: about half, cut at a line end like a real drop."""
    half = len(data) // 2
    cut = data.rfind(b"\r\n", 0, half)
    return data[: cut + 2] if cut > 0 else data[:half]
