"""What the Nautobot and NetBox writers read the same way: requests in chunks (a filter of 50
names or ids keeps each URL short) and a device's id by name, through the client library's
``dcim.devices`` endpoint, which both APIs shape alike."""
from __future__ import annotations

from typing import Any

CHUNK = 50  # names or ids per filter request: keeps each URL short


def chunks(values: list, n: int = CHUNK):
    for i in range(0, len(values), n):
        yield values[i:i + n]


def ref_id(value: Any) -> Any:
    """The id of a nested reference: ``{"id": ..., ...}`` (Nautobot, NetBox) or the bare id."""
    return value.get("id") if isinstance(value, dict) else value


def device_ids(api, names: list[str]) -> dict[str, Any]:
    """Each named device's id, for the devices the source of truth has (never created here)."""
    found: dict[str, Any] = {}
    for chunk in chunks(sorted(set(names))):
        for d in api.dcim.devices.filter(name=chunk):
            found[d.name] = d.id
    return found
