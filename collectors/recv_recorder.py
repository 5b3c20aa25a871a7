"""The bytes a paramiko channel received, kept as they came, for the netmiko SSH driver.

netmiko reads its channel with ``recv()`` and decodes each read with ``errors="ignore"``: a
byte that is not UTF-8 (a Latin-1 location string, line noise) is simply gone from the text it
returns, so that text cannot be the evidence of what the device sent (issue 12).  A
:class:`RecvRecorder` wraps the channel's ``recv`` (the one call netmiko reads through), keeps
every byte it returns, and hands them out per request: ``take()`` gives the bytes received since
the previous ``take()``.  netmiko is blocking and reads from the thread that drives it, so no
lock is needed.

The budget is the SSH collector's for one command's output: past ``limit`` bytes in one span
``recv`` raises :class:`OutputTooLarge` (netmiko itself buffers without limit).
"""
from __future__ import annotations

MAX_SPAN = 16 * 1024 * 1024  # collectors.ssh's budget for one command's output


class OutputTooLarge(Exception):
    """One request's output went past the recorder's limit."""


class RecvRecorder:
    def __init__(self, channel, limit: int | None = None) -> None:
        self._recv = channel.recv
        self.limit = MAX_SPAN if limit is None else limit
        self._parts: list[bytes] = []
        self.size = 0
        # An instance attribute shadows paramiko's method for every caller of this channel
        # (netmiko's SSHChannel and BaseConnection hold the same object).
        channel.recv = self._recording_recv

    def _recording_recv(self, nbytes: int) -> bytes:
        data = self._recv(nbytes)
        if data:
            self._parts.append(data)
            self.size += len(data)
            if self.size > self.limit:
                size = f"{self.limit // 2**20} MiB" if self.limit % 2**20 == 0 else f"{self.limit} bytes"
                raise OutputTooLarge(f"output exceeded {size} without a prompt")
        return data

    def take(self) -> bytes:
        """The bytes received since the last ``take()`` (and forget them)."""
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data
