"""Serial numbers a column at a time (``canonical_serials``, the fast path of the kernel's
``canonical_serial``) and the pause of the cyclic garbage collector around building 10^5 records
(``paused_gc``).  The single-value identity rules live in ``agent.core.identity``."""
from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from typing import Any, Sequence

from agent.core.identity import PLACEHOLDERS, canonical_serial


# Whitespace that str.strip() removes from ASCII text (\x1c-\x1f are "whitespace" to Python too).
_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def _needs_strip(joined: str) -> bool:
    """Does any cell of a NUL-joined column have leading or trailing whitespace?  Substring
    searches run at C speed, where a regex over the whole column does not; most columns hold no
    whitespace character at all, and one-character searches are the fastest of all."""
    if not joined.isascii():
        return True  # NBSP and other Unicode blanks: just strip every cell
    present = [c for c in _ASCII_SPACE if c in joined]
    if not present:
        return False
    return (joined[:1].isspace() or joined[-1:].isspace()
            or any(f"\x00{c}" in joined or f"{c}\x00" in joined for c in present))


_QUOTED_FORMULA = re.compile(r'^=\s*"(.*)"$')  # ="00123": Excel's trick to keep leading zeros


def canonical_serials(values: Sequence[Any]) -> list[str]:
    """``canonical_serial`` over a column: checks over the joined column, and a call per value
    only for the values one of them points at."""
    if set(map(type, values)) - {str}:
        return list(map(canonical_serial, values))
    texts = list(values)
    joined = "\x00".join(texts)
    if _needs_strip(joined):
        texts = list(map(str.strip, texts))
        joined = "\x00".join(texts)
    if not joined.isascii() or joined.upper() != joined:
        texts = list(map(str.upper, texts))
        joined = "\x00".join(texts)
    # ASCII letters and digits only, upper-case: SERIAL_SHAPE holds, so only placeholders and
    # all-zero serials are left to the full rule (a leading zero is the hint for the latter).
    if (not _all_alnum(joined, len(texts)) or not PLACEHOLDERS.isdisjoint(texts)
            or joined[:1] == "0" or "\x000" in joined):
        for j, text in enumerate(texts):
            if not (text.isascii() and text.isalnum()) or text in PLACEHOLDERS or not text.strip("0"):
                texts[j] = canonical_serial(values[j])
    return texts


# Objects a paused run may leave behind before the collector is trusted to look at them again.
_FREEZE_AFTER = 100_000


@contextmanager
def paused_gc():
    """Building 10^5 live objects triggers full collections that free nothing (every object is
    still referenced); pausing the cyclic collector meanwhile saves a fifth of the run time.

    Re-enabling it would then cost three passes over everything built (young, middle, old
    generation), a few tenths of a second at 10^5 rows, to find nothing: records and rows hold no
    reference cycles and are freed by reference counting.  So when the paused run left more than
    ``_FREEZE_AFTER`` new objects, they are moved to the permanent generation (``gc.freeze``)
    first, where the collector never scans them.  That also freezes whatever else was alive or
    pending then, which the collector will not reclaim unless it is unfrozen (``gc.unfreeze``);
    small runs, such as a test suite's, just re-enable it.  The collector is enabled on the way
    out whenever it was on the way in, whatever happened inside."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_count()[0] > _FREEZE_AFTER:
                gc.freeze()
            gc.enable()


_ASCII_ALNUM_NUL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\x00"


def _all_alnum(joined: str, cells: int) -> bool:
    """Is every one of ``cells`` cells of a NUL-joined column non-empty and alphanumeric
    (``str.isalnum``)?  For ASCII, a byte-table pass: str.isalnum looks each character up in the
    Unicode database."""
    if (not joined or joined[:1] == "\x00" or joined[-1:] == "\x00" or "\x00\x00" in joined
            or joined.count("\x00") != cells - 1):
        return False  # a blank cell, or a NUL in one
    if joined.isascii():
        return not joined.encode("ascii").translate(None, _ASCII_ALNUM_NUL)
    return all(map(str.isalnum, joined.split("\x00")))
