"""Device-output templates: real captures with ``{{token}}`` holes.

A template is compiled once per profile and shared by every device of that profile (a 2,000
device lab holds ~10 copies of each output, not 2,000).  Line endings are converted to the
``\\r\\n`` that real Cisco CLIs send at compile time, so rendering is one join.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

TOKEN = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Template:
    # Alternating literal text and token names: (lit0, tok0, lit1, tok1, ..., litN).
    parts: tuple[str, ...]

    @classmethod
    def compile(cls, text: str) -> "Template":
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        return cls(tuple(TOKEN.split(text)))

    @property
    def tokens(self) -> frozenset[str]:
        return frozenset(self.parts[1::2])

    def render(self, values: Mapping[str, str]) -> str:
        out = list(self.parts)
        for i in range(1, len(out), 2):
            out[i] = values[out[i]]
        return "".join(out)


def render_text(text: str, values: Mapping[str, str]) -> str:
    """Render a one-off string (ground-truth fields in profile.yaml) without CRLF conversion."""
    return TOKEN.sub(lambda m: values[m.group(1)], text)
