"""The progress display: a bar redrawn in place at any width, log lines above it, a status line now
and then where there is no terminal.  The pty tests run a real process on a pseudo-terminal of a
given size and replay what it wrote on a small terminal (tests/terminal_screen.py)."""
from __future__ import annotations

import fcntl
import io
import logging
import os
import pty
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from agent.collect.progress import Progress
from terminal_screen import screen  # tests/ is on sys.path (rootdir-relative imports, as corpus_util)

ROOT = Path(__file__).resolve().parent.parent

# A scan of 2,000 devices that has run for 40 s, a log line every 250 devices and a plain message
# on stderr every 500: what a `-v` scan shows.
CHILD = r"""
import logging, sys, time
from agent.collect.progress import Progress
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(message)s")
p = Progress(2000)
p.started = time.monotonic() - 40
for i in range(1, 2001):
    p.update(i - i // 50, i // 50, force=True)
    if i % 250 == 0:
        logging.info("device sw-%04d collected over ssh in 1.2s", i)
    if i % 500 == 0:
        print(f"message {i}", file=sys.stderr)
p.close()
print("summary line", file=sys.stderr)
"""


def run_on_pty(columns: int, env_columns: str | None = None) -> str:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = str(ROOT)
    if env_columns is not None:
        env["COLUMNS"] = env_columns
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=slave, stdout=slave, stderr=slave, env=env,
                            close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the pty
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    return b"".join(chunks).decode()


@pytest.mark.parametrize("columns", [80, 50, 132, 24])
def test_bar_redraws_in_place_and_logs_stay_above_it(columns):
    shown = screen(run_on_pty(columns), columns)
    logs = [f"INFO device sw-{i:04d} collected over ssh in 1.2s" for i in range(250, 2001, 250)]
    messages = [f"message {i}" for i in range(500, 2001, 500)]
    # Every line written is on the screen whole, in order, each on a line of its own, and the bar
    # is one line at the end: no line per update, nothing written into the bar.
    written = [line for i in range(250, 2001, 250) for line in
               ([logs[i // 250 - 1]] + ([messages[i // 500 - 1]] if i % 500 == 0 else []))]
    assert shown[:-2] == screen("\n".join(written) + "\n", columns)  # wrapped by the terminal if narrow
    bar = shown[-2]
    assert shown[-1] == "summary line"
    assert "2000/2000" in bar and len(bar) < columns
    if columns >= 50:
        assert bar.startswith("[" + "#" * 10) and "failed 40" in bar
    if columns >= 132:
        assert "devices/s" in bar and "ETA" in bar


def test_columns_from_the_environment_win_over_the_terminal():
    # $COLUMNS 60 on a 120-column terminal: the bar keeps to 60 (a script asked for it).
    shown = screen(run_on_pty(120, env_columns="60"), 120)
    assert len(shown[-2]) < 60 and "2000/2000" in shown[-2]


@pytest.mark.parametrize("width", [8, 20, 40, 60, 80, 100, 200])
def test_bar_line_is_narrower_than_the_terminal(width):
    p = Progress(123456, io.StringIO(), enabled=True)
    p.started -= 10
    p.update(100000, 3456, force=True)
    line = p.bar_line(width)
    assert 0 < len(line) < width
    assert "103456/123456" in line or width < 15


def test_no_terminal_gives_status_lines_not_a_bar():
    out = io.StringIO()  # a pipe, a file, the journal: isatty() is False
    p = Progress(10, out, line_every=0.0)
    for i in range(1, 11):
        p.update(i, 0)
    p.close()
    text = out.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert len(lines) == 10 and lines[-1].startswith("progress: 10/10 devices done, ok 10, failed 0")


def test_no_terminal_short_run_writes_nothing():
    out = io.StringIO()
    p = Progress(10, out)  # a status line every 60 s: a short scan's cron mail stays as it was
    for i in range(1, 11):
        p.update(i, 0)
    p.close()
    assert out.getvalue() == ""


def test_disabled_writes_nothing_and_adopts_nothing():
    out = io.StringIO()
    p = Progress(10, out, enabled=False)
    p.update(5, 0, force=True)
    p.close()
    assert out.getvalue() == ""


def test_handlers_and_stderr_are_given_back():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    root.addHandler(handler)
    saved_stderr = sys.stderr
    sys.stderr = out
    try:
        p = Progress(4, out, enabled=True)
        p.update(1, 0, force=True)
        assert handler.stream is p.above and sys.stderr is p.above
        root.warning("a log line")
        print("a message", file=sys.stderr)
        p.close()
        assert handler.stream is out and sys.stderr is out
    finally:
        sys.stderr = saved_stderr
        root.removeHandler(handler)
    shown = screen(out.getvalue(), 80)
    assert shown[:2] == ["a log line", "a message"] and " 1/4 ok 1 failed 0" in shown[2] and len(shown) == 3


def test_a_progress_never_drawn_changes_nothing():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logging.getLogger().addHandler(handler)
    try:
        Progress(0, out, enabled=True)  # import-captures with nothing to do never draws nor closes it
        assert handler.stream is out
    finally:
        logging.getLogger().removeHandler(handler)


def test_redraws_are_throttled():
    out = io.StringIO()
    p = Progress(100000, out, enabled=True)
    start = time.monotonic()
    for i in range(1, 5001):
        p.update(i, 0)
    elapsed = time.monotonic() - start
    draws = out.getvalue().count("\r")
    assert 1 <= draws <= elapsed / 0.1 + 2
