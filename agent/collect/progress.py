"""Progress of a scan or an import: a bar redrawn in place on a terminal, a status line now and
then elsewhere (a log file, the journal, cron mail), or nothing.

The bar is one line that never reaches the terminal's last column: a line that long wraps,
and the carriage return that redraws it then goes back to the wrapped half only, which left one
line per update at 80 columns.  The width is read at every redraw (``$COLUMNS``, else the
terminal's), so a resized window is followed, and the text gives way as the line narrows (rate
and ETA first, then the ok count; the bar shrinks to 10 cells, then goes).

Log lines (``-v``) and other messages on the same stream are written above the bar: while it is
shown, the logging handlers writing to its stream, and ``sys.stderr`` when that is its stream,
write through ``Progress.above``, which clears the bar's line, writes the text and redraws the
bar under it.  The handlers and ``sys.stderr`` are given back on ``close``.

Why not ``rich`` (installed with netmiko): it is not a dependency of ibagent's own (netmiko could
drop it), its live display redraws from a thread of its own or not at all, and its redirection of
``sys.stderr`` misses logging handlers, which hold the stream they were given; this writer is a
few dozen lines, draws only when a device ends, and its bytes are simple enough to test exactly.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from typing import TextIO

BAR_MIN, BAR_MAX = 10, 40
REDRAW = 0.1  # seconds between redraws at most
LINE_EVERY = 60.0  # seconds between status lines when the stream is no terminal
_CLEAR = "\r\x1b[K"  # to the line's start, erase to its end


class Progress:
    """``enabled``: True draws the bar (even into a pipe: ``--progress``), False shows nothing,
    None (default) draws the bar on a terminal and writes a status line every ``LINE_EVERY``
    seconds elsewhere (none at all for a run shorter than that)."""

    def __init__(self, total: int, stream: TextIO = sys.stderr, enabled: bool | None = None,
                 what: str = "devices", line_every: float = LINE_EVERY):
        self.total = total
        self.stream = stream
        if enabled is None:
            self.mode = "bar" if _isatty(stream) else "lines"
        else:
            self.mode = "bar" if enabled else "off"
        self.enabled = self.mode == "bar"
        self.what = what
        self.line_every = line_every
        self.started = time.monotonic()
        self._last = 0.0
        self._line_at = self.started
        self._counts = (0, 0)
        self._shown = False  # the bar is on the screen
        self._adopted: list[tuple[logging.StreamHandler, TextIO]] = []
        self._stderr: TextIO | None = None
        self._adopting = self.mode == "bar"  # at the first draw: a Progress never drawn changes nothing
        self.above = _Above(self)

    # ------------------------------------------------------------------ drawing

    def update(self, ok: int, failed: int, force: bool = False) -> None:
        self._counts = (ok, failed)
        now = time.monotonic()
        if self.mode == "lines":
            if now - self._line_at >= self.line_every:
                self._line_at = now
                self.stream.write(self.status_line(now) + "\n")
                self.stream.flush()
            return
        if self.mode != "bar" or (not force and now - self._last < REDRAW):
            return
        self._last = now
        self._draw(now)

    def _draw(self, now: float | None = None) -> None:
        if self._adopting:
            self._adopting = False
            self._adopt()
        self.stream.write(_CLEAR + self.bar_line(_width(self.stream), now))
        self.stream.flush()
        self._shown = True

    def bar_line(self, width: int, now: float | None = None) -> str:
        """The bar and its figures in fewer than ``width`` characters."""
        ok, failed = self._counts
        done = ok + failed
        rate, eta = self._rate(now)
        count = f" {done}/{self.total}"
        texts = (f"{count} ok {ok} failed {failed}  {rate:.1f} {self.what}/s  ETA {eta}",
                 f"{count} ok {ok} failed {failed}", f"{count} failed {failed}", count)
        room = max(width - 1, 1)  # the last column would wrap on many terminals
        for text in texts:
            cells = min(BAR_MAX, room - len(text) - 2)
            if cells >= BAR_MIN:
                filled = cells * done // self.total if self.total else cells
                return "[" + "#" * filled + "." * (cells - filled) + "]" + text
        return texts[-1].strip()[:room]

    def status_line(self, now: float | None = None) -> str:
        ok, failed = self._counts
        rate, eta = self._rate(now)
        return (f"progress: {ok + failed}/{self.total} {self.what} done, ok {ok}, failed {failed}, "
                f"{rate:.1f}/s, ETA {eta}")

    def _rate(self, now: float | None) -> tuple[float, str]:
        done = sum(self._counts)
        elapsed = (now or time.monotonic()) - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = f"{(self.total - done) / rate:.0f}s" if rate > 0 else "?"
        return rate, eta

    # ------------------------------------------------------------------ text above the bar

    def _write_above(self, text: str) -> None:
        if self._shown:
            self.stream.write(_CLEAR)
            self._shown = False
        self.stream.write(text)
        if text.endswith("\n") and self.mode == "bar":
            self._draw()
        else:
            self.stream.flush()

    def _adopt(self) -> None:
        """Logging handlers writing to the bar's stream, and ``sys.stderr`` when it is that
        stream, write above the bar while it is shown."""
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) is self.stream:
                self._adopted.append((handler, handler.stream))
                handler.setStream(self.above)
        if sys.stderr is self.stream:
            self._stderr, sys.stderr = sys.stderr, self.above

    def close(self) -> None:
        for handler, stream in self._adopted:
            if handler.stream is self.above:
                handler.setStream(stream)
        self._adopted.clear()
        self._adopting = False
        if self._stderr is not None and sys.stderr is self.above:
            sys.stderr = self._stderr
        self._stderr = None
        if self.mode == "bar":
            if not self._shown:
                self._draw()
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False


class _Above:
    """A text stream for whoever writes while the bar is shown: their text lands above it."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def write(self, text: str) -> int:
        self._progress._write_above(text)
        return len(text)

    def flush(self) -> None:
        self._progress.stream.flush()

    def isatty(self) -> bool:
        return _isatty(self._progress.stream)

    def fileno(self) -> int:
        return self._progress.stream.fileno()

    def __getattr__(self, name: str):  # encoding, errors, buffer...: the real stream's
        return getattr(self._progress.stream, name)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _width(stream: TextIO) -> int:
    """``$COLUMNS`` when set, else the terminal's width, else 80."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        return 80
