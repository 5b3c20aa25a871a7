"""NETCONF message framing for ncclient's session thread, keeping each message's exact bytes.

ncclient's own reader (``ncclient.transport.parser.DefaultXMLParser``) turns what it reads into
text as it goes: ``]]>]]>`` messages (base:1.0) are decoded and stripped, chunked ones (base:1.1,
RFC 6242) are decoded chunk by chunk.  So the reply text it hands over is not the bytes the device
sent, and a chunk boundary that falls inside a multi-byte UTF-8 character (RFC 6242 counts bytes;
devices cut chunks at fixed sizes) fails the whole reply with UnicodeDecodeError.  It also copies
its whole buffer on every read, which is quadratic in a big chunk.

:class:`Frames` takes that reader's place (``session.parser``; ncclient calls ``parse(data)`` with
every read): it removes the framing from the bytes, one pass, and gives ncclient each whole
message as text (``session._dispatch_message``), as its reader would (a base:1.0 message stripped
of the blanks around it, as ncclient does, so an XML declaration comes first).  Beside each
message it keeps the message's bytes: **the evidence of a reply is the reply document's bytes
exactly as the device sent them, chunk framing and end marker removed** (the framing is
transport, not content; nothing is decoded, re-serialised or re-indented).  For base:1.0 those
are every byte between the previous end marker and this one, blanks included.

The collector finds a reply's bytes by the text object ncclient handed to the reply
(``take(reply.xml)``).  A reply that never completed (a timeout, a session lost, a message over
its budget, a framing error, bytes that are not UTF-8) is evidence too: :meth:`partial` gives
what was read of it (chunk payloads so far, then the bytes not yet framed, as they came).
"""
from __future__ import annotations

import re
from collections import deque

EOM = b"]]>]]>"
# RFC 6242 4.2: "\n#" chunk-size "\n" (1..4294967295, no leading zero) or the end "\n##\n".
_HEADER = re.compile(rb"\n#(?:([1-9][0-9]{0,9})|#)\n")
_LONGEST_HEADER = len(b"\n#4294967295\n")
_KEEP = 4  # whole messages kept for the collector to claim (the hello, the reply in flight)


class Frames:
    """``session.parser`` for ncclient's session thread (module docstring)."""

    def __init__(self, session) -> None:
        from ncclient.transport.errors import NetconfFramingError
        from ncclient.transport.session import NetconfBase

        self._session = session
        self._chunked_base = NetconfBase.BASE_11
        self._framing_error = NetconfFramingError
        self._buf = bytearray()
        self._searched = 0  # bytes of _buf already searched for the end marker
        self._chunks: list[bytes] = []  # payloads of the chunked message in progress
        self._chunked = False
        self._last: bytes | None = None  # the message being handed over (kept if decoding fails)
        self.received: deque[tuple[str, bytes]] = deque(maxlen=_KEEP)

    # ------------------------------------------------------------------ ncclient's side

    def parse(self, data: bytes) -> None:
        if not self._chunked and self._session._base == self._chunked_base:
            # The switch to base:1.1 is made after the hello and before the first request, so
            # nothing read before it belongs to a reply: blanks the device sent after the hello's
            # end marker are not a chunk header.
            self._chunked = True
            self._buf = bytearray(bytes(self._buf).lstrip())
        self._buf += data
        while True:
            message = self._next_chunked() if self._chunked else self._next_eom()
            if message is None:
                return
            self._deliver(message, stripped=not self._chunked)

    def _next_eom(self) -> bytes | None:
        end = self._buf.find(EOM, max(0, self._searched - len(EOM) + 1))
        if end < 0:
            self._searched = len(self._buf)
            return None
        message = bytes(self._buf[:end])
        del self._buf[: end + len(EOM)]
        self._searched = 0
        return message

    def _next_chunked(self) -> bytes | None:
        while True:
            header = _HEADER.match(self._buf)
            if header is None:
                start = bytes(self._buf[:2])
                if len(self._buf) >= _LONGEST_HEADER or not b"\n#".startswith(start):
                    raise self._framing_error("not a NETCONF chunk header", bytes(self._buf[:32]))
                return None
            if header.group(1) is None:  # end of message
                del self._buf[: header.end()]
                message = b"".join(self._chunks)
                self._chunks.clear()
                return message
            size = int(header.group(1))
            if len(self._buf) < header.end() + size:
                return None  # the chunk is not all here yet
            self._chunks.append(bytes(self._buf[header.end() : header.end() + size]))
            del self._buf[: header.end() + size]

    def _deliver(self, message: bytes, *, stripped: bool) -> None:
        self._last = message
        text = message.decode("utf-8")  # strict: a reply that is not UTF-8 fails as 'garbage'
        if stripped:
            text = text.strip()
        self._last = None
        self.received.append((text, message))
        self._session._dispatch_message(text)

    # ------------------------------------------------------------------ the collector's side

    def take(self, text: str) -> bytes | None:
        """The bytes of the message ncclient handed over as ``text`` (that very object), and
        forget it and every message before it; None when it is not among those kept."""
        for i, (seen, data) in enumerate(self.received):
            if seen is text:
                for _ in range(i + 1):
                    self.received.popleft()
                return data
        return None

    def partial(self) -> bytes:
        """What was read of a message that did not complete (module docstring)."""
        if self._last is not None:
            return self._last
        return b"".join(self._chunks) + bytes(self._buf)
