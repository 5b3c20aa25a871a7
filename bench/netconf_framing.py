"""NETCONF de-framing: ncclient's reader against ``collectors.netconf_frames.Frames``.

    python bench/netconf_framing.py

Both readers are fed the same wire (RFC 6242 chunked framing) in 256 KiB reads, as the session
thread reads it, and hand each whole message to a stand-in session; the table gives CPU seconds
per case.  Chunks are cut at ASCII bytes only, because ncclient's reader decodes each chunk on its
own and fails on a chunk that ends inside a UTF-8 character (Frames does not).
"""
from __future__ import annotations

import sys
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ncclient.transport.parser import DefaultXMLParser  # noqa: E402
from ncclient.transport.session import NetconfBase  # noqa: E402

from collectors.netconf_frames import Frames  # noqa: E402

READ = 256 * 1024


class _Session:
    """What either reader touches of an ncclient session."""

    def __init__(self) -> None:
        self._base = NetconfBase.BASE_11
        self._buffer = BytesIO()
        self._message_list: list[str] = []
        self.chars = 0

    def _dispatch_message(self, text: str) -> None:
        self.chars += len(text)


def _chunked(doc: bytes, chunk: int) -> bytes:
    out, i = [], 0
    while i < len(doc):
        j = min(len(doc), i + chunk)
        while j < len(doc) and doc[j] & 0xC0 == 0x80:  # never inside a UTF-8 character
            j += 1
        out.append(b"\n#%d\n%s" % (j - i, doc[i:j]))
        i = j
    return b"".join(out) + b"\n##\n"


def _cases():
    row = ("<name>Stack\u00e9 member</name><serial-number>FCW2452AHJJ</serial-number>\n").encode()
    for size, chunk, label in ((1 << 20, 4096, "1 MiB in 4 KiB chunks"), (8 << 20, 4096, "8 MiB in 4 KiB chunks"),
                               (8 << 20, 1 << 30, "8 MiB in one chunk")):
        yield label, _chunked(row * (size // len(row)), chunk)
    yield "256 KiB in 1-byte chunks (hostile)", _chunked(b"a" * (256 << 10), 1)


def _run(make, wire: bytes) -> tuple[float, int]:
    session = _Session()
    reader = make(session)
    started = time.process_time()
    for i in range(0, len(wire), READ):
        reader.parse(wire[i : i + READ])
    return time.process_time() - started, session.chars


def main() -> None:
    print(f"{'case':38} {'ncclient s':>11} {'Frames s':>9}")
    for label, wire in _cases():
        theirs, n1 = _run(DefaultXMLParser, wire)
        ours, n2 = _run(Frames, wire)
        assert n1 == n2, (label, n1, n2)
        print(f"{label:38} {theirs:11.3f} {ours:9.3f}")


if __name__ == "__main__":
    main()
