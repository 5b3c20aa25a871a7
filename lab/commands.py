"""Cisco-style command lookup: unique-prefix abbreviations per word, caret position on errors.

``sh inv`` finds ``show inventory`` the way a real parser does; an unknown word is reported at
its column so the ``^`` lands under it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Command:
    words: tuple[str, ...]
    key: str  # what the session dispatches on
    takes_args: bool = False  # 'terminal length 0': anything after the keywords is accepted
    output: bool = False  # answered from the profile's templates rather than by the CLI itself

    @classmethod
    def of(cls, text: str, key: str | None = None, takes_args: bool = False, output: bool = False) -> "Command":
        return cls(tuple(text.split()), key or text, takes_args, output)


class Outcome(Enum):
    FOUND = "found"
    INVALID = "invalid"
    INCOMPLETE = "incomplete"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True, slots=True)
class Match:
    outcome: Outcome
    command: Command | None = None
    column: int = 0  # offset of the offending word in the typed line
    args: tuple[str, ...] = ()


def _prefix_len(cmd: Command, words: list[str]) -> int:
    n = 0
    for want, typed in zip(cmd.words, words):
        if not want.startswith(typed):
            break
        n += 1
    return n


def lookup(line: str, table: list[Command]) -> Match:
    spans = [(m.start(), m.group().lower()) for m in _WORD.finditer(line)]
    words = [w for _, w in spans]
    hits = []
    for cmd in table:
        n = len(cmd.words)
        if len(words) < n or (len(words) > n and not cmd.takes_args):
            continue
        if _prefix_len(cmd, words) == n:
            hits.append(cmd)
    if len(hits) > 1:
        exact = [c for c in hits if list(c.words) == words[: len(c.words)]]
        hits = exact if len(exact) == 1 else hits
    if len(hits) == 1:
        cmd = hits[0]
        return Match(Outcome.FOUND, cmd, args=tuple(w for _, w in spans[len(cmd.words) :]))
    if hits:
        return Match(Outcome.AMBIGUOUS, column=spans[0][0])
    matched = max((_prefix_len(c, words) for c in table), default=0)
    if matched == len(words):
        return Match(Outcome.INCOMPLETE, column=len(line.rstrip()))
    return Match(Outcome.INVALID, column=spans[matched][0])
