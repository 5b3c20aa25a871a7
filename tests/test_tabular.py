"""Rows out for terminals: device-supplied text is shown, never obeyed."""
from __future__ import annotations

from agent.reports.tabular import terminal_cells, to_table


def test_device_text_cannot_drive_the_terminal():
    # A host name or serial with an ANSI escape (a hostile or broken device) is printed inert.
    text = to_table([{"device": "sw\x1b[2J1", "serial": "FOC1\r\n", "ok": True, "roles": ["a", "b"]}],
                    ["device", "serial", "ok", "roles"])
    assert "\x1b" not in text and "\r" not in text.replace("\r\n", "")
    lines = text.splitlines()
    assert lines[0].split() == ["device", "serial", "ok", "roles"]
    assert lines[2].split() == ["sw?[2J1", "FOC1??", "yes", "a;", "b"]


def test_terminal_cells_cut_to_caps():
    assert terminal_cells(["abcdef", None, 7], [4, 3, 5]) == ["abc…", "", "7"]
    assert terminal_cells(["plain"]) == ["plain"]
