"""A secret value that cannot be printed by accident.

Passwords, enable secrets, SNMP communities and SNMPv3 keys travel in :class:`Secret`: its
``repr`` and ``str`` are masked, so a traceback, a log line, an exception message or the repr of a
``Target`` or ``Credential`` that holds one shows ``********``.  The value comes out only through
:meth:`Secret.reveal`, which the collectors call at connect time, nowhere else (issue 12: with a
full disk, asyncio logged tracebacks whose locals held ``Target.options`` with the communities).

Not a ``str`` subclass on purpose: ``"x" + secret`` or ``f"{secret}"`` must never produce the value.
It compares equal to the same value (``Secret("a") == "a"``, in constant time) and hashes like it,
so code and tests that compare credentials keep working without revealing them.
"""
from __future__ import annotations

import hmac
from typing import Any

MASK = "********"


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"a secret is text, not {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The value itself: only where it is sent to a device (collectors, at connect time)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            other = other._value
        if not isinstance(other, str):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Secret is immutable")

    def __reduce__(self):
        # Pickled (a process pool, a cache) it would be written out in clear: refuse.
        raise TypeError("a Secret is not pickled")

    def __copy__(self) -> "Secret":
        return self  # immutable: a copy (dataclasses.asdict, copy.deepcopy) is the same secret

    def __deepcopy__(self, memo: dict) -> "Secret":
        return self


def reveal(value: Any) -> Any:
    """``value.reveal()`` for a :class:`Secret`, anything else (a plain string, None) as it is."""
    return value.reveal() if isinstance(value, Secret) else value


def conceal(value: Any) -> Any:
    """A :class:`Secret` for a non-empty string, anything else (None, a Secret) as it is."""
    return Secret(value) if isinstance(value, str) and value else value
