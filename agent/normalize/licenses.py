"""Licences: one record per (entitlement tag, UDI), truncated summary tags folded into full ones."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from agent.core.identity import canonical_serial
from agent.core.models import LicenseUsage


def _tag_key(tag: str) -> str:
    return tag.strip().rstrip(".").strip().lower()


def _merge_licenses(items: list[LicenseUsage]) -> list[LicenseUsage]:
    """One record per (entitlement tag, UDI); truncated 'Foo Advan...' tags fold into full ones."""
    full = [i for i in items if not i.entitlement_tag.rstrip().endswith("...")]
    trunc = [i for i in items if i.entitlement_tag.rstrip().endswith("...")]
    merged: dict[tuple[str, str, str, str], LicenseUsage] = {}
    order: list[tuple[str, str, str, str]] = []

    def key(i: LicenseUsage) -> tuple[str, str, str, str]:
        return (_tag_key(i.entitlement_tag), i.license.lower(), i.udi_pid, canonical_serial(i.udi_serial))

    def add(i: LicenseUsage) -> None:
        k = key(i)
        if k in merged:
            _fill(merged[k], i)
        else:
            merged[k] = replace(i)
            order.append(k)

    for i in full:
        add(i)
    for i in trunc:
        prefix = _tag_key(i.entitlement_tag)
        target = next((merged[k] for k in order if k[0].startswith(prefix) and k[1] == i.license.lower()
                       and k[2] == i.udi_pid and k[3] == canonical_serial(i.udi_serial)), None)
        if target is not None:
            _fill(target, i)
            continue
        add(i)
    return [merged[k] for k in order]


def _fill(target: Any, other: Any) -> None:
    for f in target.__dataclass_fields__:
        cur = getattr(target, f)
        if cur in ("", None, [], {}):
            val = getattr(other, f)
            if val not in ("", None, [], {}):
                setattr(target, f, val)
