"""Deterministic, lab-wide unique serial numbers in Cisco's formats.

A serial is a pure function of (seed, device ordinal, token ordinal), so a lab started twice
with the same seed prints the same serials (tests and benchmarks can be replayed), while no two
items of one lab ever share a serial unless a profile deliberately prints the same token twice
(a stack's virtual row, both ends of a stack cable).

Uniqueness does not rely on luck: the 4-character unit id is an affine bijection of the global
item ordinal, so distinct ordinals always give distinct unit ids.  Year and week only add
realism and are free to collide.
"""
from __future__ import annotations

import hashlib

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_UNIT_SPACE = len(ALPHABET) ** 4  # 1,679,616 = 2^8 * 3^8
# Any multiplier prime to 2 and 3 makes `a*x + b mod 36^4` a permutation; this one also
# scatters neighbouring ordinals so consecutive devices do not get consecutive unit ids.
_MULTIPLIER = 1_046_527
TOKENS_PER_DEVICE = 32  # upper bound on serial tokens in one profile (the largest uses 22)
# Ordinals are laid out in slots of 64: the first 26,244 devices take the lower half of slot
# `index` (the layout of the lab's first releases, so their serials are unchanged), the next
# 26,244 the upper half of slot `index - 26,244`: every ordinal in 0..36^4-1 is used once, so a
# 50,000-device lab still gets unique unit ids by construction.
_SLOT = 2 * TOKENS_PER_DEVICE
_LOWER_DEVICES = _UNIT_SPACE // _SLOT
MAX_DEVICES = 2 * _LOWER_DEVICES

# Year code = manufacturing year - 1996 (FORMATS.md 4.1); 2015..2024 looks like a live fleet.
_YEAR_CODES = range(19, 29)


def _digest(*parts: object) -> bytes:
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=16).digest()


def _base36(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, rem = divmod(value, len(ALPHABET))
        chars.append(ALPHABET[rem])
    return "".join(reversed(chars))


def _unit(seed: int, ordinal: int) -> str:
    offset = int.from_bytes(_digest("offset", seed)[:8], "big") % _UNIT_SPACE
    return _base36((_MULTIPLIER * ordinal + offset) % _UNIT_SPACE, 4)


def make_serial(kind: str, seed: int, device_index: int, token_index: int) -> str:
    """One serial for ``kind``.

    ``kind`` is a 3-letter manufacturing site (``FOC``, ``FCW``, ``LIT``...) for the standard
    11-character ``LLLYYWWSSSS`` form, or ``virtual:<prefix>`` for software UDIs of virtual
    products (C8000V ``9...``, ASAv ``9A...``), which are 11 characters of base 36 as well.
    """
    if not 0 <= device_index < MAX_DEVICES:
        raise ValueError(f"device index {device_index} out of range (max {MAX_DEVICES - 1})")
    if not 0 <= token_index < TOKENS_PER_DEVICE:
        raise ValueError(f"token index {token_index} out of range (max {TOKENS_PER_DEVICE - 1})")
    if device_index < _LOWER_DEVICES:
        ordinal = device_index * _SLOT + token_index
    else:
        ordinal = (device_index - _LOWER_DEVICES) * _SLOT + TOKENS_PER_DEVICE + token_index
    unit = _unit(seed, ordinal)
    noise = _digest("serial", seed, ordinal)
    if kind.startswith("virtual:"):
        prefix = kind.split(":", 1)[1]
        filler = 11 - len(prefix) - len(unit)
        return prefix + _base36(int.from_bytes(noise, "big"), filler) + unit
    if len(kind) != 3 or not kind.isalpha() or not kind.isupper():
        raise ValueError(f"serial kind must be 3 capital letters or virtual:<prefix>, got {kind!r}")
    year = _YEAR_CODES[noise[0] % len(_YEAR_CODES)]
    week = 1 + noise[1] % 52
    return f"{kind}{year:02d}{week:02d}{unit}"
