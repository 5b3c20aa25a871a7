"""A lab device's flash behind asyncssh's SCP server (what ``copy``/``scp`` reach on a real box).

SCP only: IOS has no SFTP server.  The flash itself (files, mtimes, whether ``ip scp server
enable`` is on) is the device's Smart Licensing state in ``lab.slp``; this module only serves it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import asyncssh

from .slp import state

if TYPE_CHECKING:
    from .device import RunningDevice


class FlashSftp(asyncssh.SFTPServer):
    """The device's flash behind asyncssh's SCP server.  SCP only: IOS has no SFTP server."""

    def __init__(self, chan: asyncssh.SSHServerChannel, device: "RunningDevice") -> None:
        super().__init__(chan)
        self._st = state(device)
        self._allowed = self._st.scp_server and chan.get_command() is not None

    def _deny(self) -> None:
        if not self._allowed:
            raise asyncssh.SFTPPermissionDenied("SCP server not enabled")

    def _path(self, path: bytes) -> str | None:
        """'' for the flash root, the file name, or None if not on this flash."""
        text = path.decode("utf-8", "replace")
        fs, sep, rest = text.partition(":")
        if sep and fs.lower() + ":" == self._st.fs:
            return rest.strip("/")
        return None

    def stat(self, path: bytes) -> asyncssh.SFTPAttrs:
        self._deny()
        name = self._path(path)
        if name == "":
            return asyncssh.SFTPAttrs(type=asyncssh.FILEXFER_TYPE_DIRECTORY, permissions=0o40755)
        if name is None or name not in self._st.files:
            raise asyncssh.SFTPNoSuchFile(f"{path.decode('utf-8', 'replace')}: no such file")
        return asyncssh.SFTPAttrs(type=asyncssh.FILEXFER_TYPE_REGULAR, permissions=0o100644,
                                  size=len(self._st.files[name]), mtime=int(self._st.mtimes.get(name, 0)),
                                  atime=int(self._st.mtimes.get(name, 0)))

    lstat = stat

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs):
        self._deny()
        name = self._path(path)
        if not name or "/" in name:
            raise asyncssh.SFTPFailure(f"{path.decode('utf-8', 'replace')}: invalid file name")
        if pflags & asyncssh.FXF_WRITE:
            return _Upload(name)
        if name not in self._st.files:
            raise asyncssh.SFTPNoSuchFile(f"{path.decode('utf-8', 'replace')}: no such file")
        return _Download(self._st.files[name])

    def read(self, file_obj, offset: int, size: int) -> bytes:
        return file_obj.data[offset : offset + size]

    def write(self, file_obj, offset: int, data: bytes) -> int:
        buf = file_obj.data
        if len(buf) < offset:
            buf.extend(b"\0" * (offset - len(buf)))
        buf[offset : offset + len(data)] = data
        return len(data)

    def close(self, file_obj) -> None:
        if isinstance(file_obj, _Upload):
            self._st.put(file_obj.name, bytes(file_obj.data))

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        self._deny()

    def fstat(self, file_obj) -> asyncssh.SFTPAttrs:
        return asyncssh.SFTPAttrs(type=asyncssh.FILEXFER_TYPE_REGULAR, size=len(file_obj.data))


@dataclass(slots=True)
class _Upload:
    name: str
    data: bytearray = field(default_factory=bytearray)


@dataclass(slots=True)
class _Download:
    data: bytes


def sftp_factory(device: "RunningDevice"):
    """asyncssh ``sftp_factory`` for one device's listener (serves its SCP requests)."""
    return lambda chan: FlashSftp(chan, device)
