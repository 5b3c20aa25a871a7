"""Parent links: which container each inventory row sits in.

Parents (best effort, by name): ``... sub-module of X`` -> X; ``FEX n ...`` and FEX host
ports -> the FEX chassis; ``Switch N ...`` / ``SwitchN ...`` -> that switch's root; slot
paths (``0/1/0/0``, ``TenGigabitEthernet2/1/4``, ``subslot 0/0 transceiver 2``) -> the
container whose path is the longest prefix; otherwise the device's single chassis.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

from agent.core.models import Component

from .classify import _FEX_CHASSIS, _FEX_PREFIX, _SWITCH_PREFIX, CONTAINER_CLASSES


# Row names repeat across a fleet (every device of a model has the same slots): a name's path and
# switch number are computed once per process.  Bounded, and long (hostile) names are not kept.
_MEMO_SIZE = 4096
_MEMO_NAME = 256


def _path(name: str) -> tuple[str, ...] | None:
    """Slot path of a row from its name: ('0', '1', '0', '0'), ('R0',), ('2', '1', '4')..."""
    return _path_memo(name) if len(name) <= _MEMO_NAME else _path_of(name)


def _switch_num(name: str) -> str | None:
    return _switch_num_memo(name) if len(name) <= _MEMO_NAME else _switch_num_of(name)


def _path_of(name: str) -> tuple[str, ...] | None:
    n = name.strip()
    m = re.match(r"^module\s+([A-Z]?\d+)$", n, re.I)  # IOS XE 'module 0', 'module R0', 'module F0'
    if m:
        return (m.group(1).upper(),)
    m = re.match(r"^(?:NIM\s+|SPA\s+|EPA\s+)?subslot\s+(\d+)/(\d+)(?:\s+transceiver\s+(\d+))?", n, re.I)
    if m:
        return tuple(g for g in (m.group(1), m.group(2), ("t" + m.group(3)) if m.group(3) else None) if g)
    m = re.match(r"^slot\s+(\d+)\b", n, re.I)
    if m:
        return (m.group(1),)
    m = re.match(r"^(\d+)$", n)
    if m:
        return (m.group(1),)
    tok = next((t for t in re.split(r"[\s\"]+", n) if "/" in t), None)
    if tok is None:
        return None
    tok = re.sub(r"^[A-Za-z\-]+(?=\d)", "", tok)  # TenGigE0/1/0/0 -> 0/1/0/0
    parts = [p for p in tok.split("/") if p and not re.fullmatch(r"CPU\d+|SP|NPU\d+", p, re.I)]
    if not parts or not re.match(r"^\w+$", parts[0]):
        return None
    return tuple(p.upper() for p in parts)


def _switch_num_of(name: str) -> str | None:
    m = _SWITCH_PREFIX.match(name.strip())
    if m:
        return str(int(m.group(1)))
    m = re.match(r"^stackport\s*(\d+)/", name.strip(), re.I)
    return str(int(m.group(1))) if m else None


_path_memo = lru_cache(maxsize=_MEMO_SIZE)(_path_of)
_switch_num_memo = lru_cache(maxsize=_MEMO_SIZE)(_switch_num_of)


def _assign_parents(comps: list[Component], stacked: bool) -> None:
    by_name = {c.name: c for c in comps}
    roots = {id(c) for c in comps if c.cls in ("chassis", "stack-member", "fex") or c.reason.startswith("virtual stack")}
    chassis = [c for c in comps if c.cls == "chassis"]
    switch_root: dict[str, Component] = {}  # switch number -> 'Switch N' / 'Switch N Chassis' / 'SwitchN System'
    fex_root: dict[str, Component] = {}
    paths: dict[int, tuple[str, ...] | None] = {}
    for c in comps:
        paths[id(c)] = _path(c.name)
        n = _switch_num(c.name)
        if n and c.cls in ("chassis", "stack-member"):
            switch_root.setdefault(n, c)
        elif n:  # 'Switch 1 Slot 2 Linecard' -> ('1', '2'); 'Switch 1 - Power Supply A' -> ('1',)
            m = re.search(r"(?:slot|linecard|supervisor|module)\s+(\d+)", c.name, re.I)
            paths[id(c)] = (n, m.group(1)) if m else (n,)
        m = _FEX_CHASSIS.match(c.name)
        if m and c.cls == "fex":
            fex_root[str(int(m.group(1)))] = c
    for n, root in switch_root.items():
        paths[id(root)] = (n,)
    multi_switch = stacked or len(switch_root) > 1
    containers = [c for c in comps if c.cls in CONTAINER_CLASSES]

    def by_path(c: Component, pool: Iterable[Component]) -> Component | None:
        """The container whose slot path is the longest proper prefix of ``c``'s."""
        p = paths[id(c)]
        if not p:
            return None
        best, best_len = None, 0
        for o in pool:
            q = paths[id(o)]
            if o is c or not q or len(q) >= len(p) or p[: len(q)] != q:
                continue
            if len(q) > best_len:
                best, best_len = o, len(q)
        return best

    real_roots = [r for r in comps if r.cls in ("chassis", "stack-member")]
    for c in comps:
        if id(c) in roots:
            continue
        parent: Component | None = None
        m = re.search(r"sub-module of\s+(.+)$", c.name, re.I)  # Catalyst 6500: 'msfc sub-module of 1'
        if m and m.group(1).strip() in by_name:
            parent = by_name[m.group(1).strip()]
        if parent is None and fex_root:  # 'FEX 106 Fan 1', FEX host ports 'Ethernet106/1/1'
            m = _FEX_PREFIX.match(c.name) or re.match(r"^Ethernet(\d{3})/", c.name)
            if m and str(int(m.group(1))) in fex_root:
                parent = fex_root[str(int(m.group(1)))]
        if parent is None and switch_root:
            n = _switch_num(c.name)
            p = paths[id(c)]
            if n is None and p and multi_switch and p[0] in switch_root:
                n = p[0]  # 'TenGigabitEthernet2/1/4' on a stack / SVL / VSS: switch 2
            if n in switch_root:
                pool = [o for o in containers if paths[id(o)] and paths[id(o)][0] == n]
                parent = by_path(c, pool) or switch_root[n]
        if parent is None:
            parent = by_path(c, containers)
        if parent is None:
            if len(chassis) == 1:
                parent = chassis[0]
            elif len(real_roots) == 1:
                parent = real_roots[0]
        if parent is not None and parent is not c:
            c.parent = parent.name
