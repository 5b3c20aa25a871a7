"""A small terminal, for tests of what a person sees: the screen a VT100-like terminal shows
after some output.  Written for these tests; it knows only what ibagent's progress writes and
what matters about it: printable characters with autowrap at the right margin (the cause of a
bar that breaks into one line per update), CR, LF (as the tty's onlcr delivers it: CR LF) and
ESC [ K (erase to the end of the line)."""
from __future__ import annotations


def screen(data: str, width: int) -> list[str]:
    rows: list[list[str]] = [[]]
    row = col = 0
    pending = False  # the last column was written: the next character wraps first
    i = 0
    while i < len(data):
        if data.startswith("\x1b[K", i):
            del rows[row][col:]
            i += 3
            continue
        ch = data[i]
        i += 1
        if ch == "\r":
            col, pending = 0, False
        elif ch == "\n":
            row, col, pending = row + 1, 0, False
            if row == len(rows):
                rows.append([])
        elif ch == "\x1b":
            raise AssertionError(f"an escape sequence this screen does not know: {data[i - 1:i + 5]!r}")
        else:
            if pending:
                row, col, pending = row + 1, 0, False
                if row == len(rows):
                    rows.append([])
            line = rows[row]
            line.extend(" " * (col - len(line)))
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            if col == width - 1:
                pending = True
            else:
                col += 1
    while rows and not rows[-1]:
        rows.pop()
    return ["".join(r).rstrip() for r in rows]
