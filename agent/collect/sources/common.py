"""What every non-YAML source shares: the defaults/groups files beside it, the host entries ->
``build_inventory`` step, and the platform mapping (one table, ``platform_map.yaml``).

Groups a source names (a CSV row's groups, a device's role and tags) need not be defined anywhere:
a name the groups file does not define is an empty group, so it is carried on the Target without
the "unknown group" refusal a hand-written hosts.yaml deserves (there, an undefined group is a
typo; here it is the source of truth's own label).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from agent.collect.inventory import Inventory, InventoryError, _read_yaml, build_inventory
from agent.core import platforms


def side_files(defaults: Path | None) -> tuple[dict, dict, dict[str, Path]]:
    """``(defaults, groups, files)`` from a defaults file and the groups file beside it (both
    optional: a source whose hosts carry no credentials still fails later, per host, saying so)."""
    files: dict[str, Path] = {}
    data: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    if defaults is not None:
        if not defaults.is_file():
            raise InventoryError("defaults file: no such file", defaults)
        data = _read_yaml(defaults)
        base = defaults.parent
        files["defaults"] = defaults
    else:
        base = Path.cwd()
        files["defaults"] = base / "defaults.yaml"
    for suffix in (".yaml", ".yml"):
        candidate = base / f"groups{suffix}"
        if defaults is not None and candidate.is_file():
            groups = _read_yaml(candidate)
            files["groups"] = candidate
            break
    files.setdefault("groups", base / "groups.yaml")
    if not isinstance(groups, dict) or not isinstance(data, dict):
        raise InventoryError("must be a mapping", files["groups"] if not isinstance(groups, dict) else defaults)
    return data, groups, files


def build(hosts: dict[str, dict], defaults: dict, groups: dict, files: dict[str, Path], env: dict[str, str],
          source: str, extra_secrets: frozenset[str] = frozenset()) -> Inventory:
    """Resolve the entries a source built; the groups they name but nobody defined become empty."""
    groups = dict(groups)
    for entry in hosts.values():
        for name in entry.get("groups") or ():
            groups.setdefault(name, {})
    inventory = build_inventory(hosts, groups, defaults, files, env, source)
    if extra_secrets:
        inventory.secrets = inventory.secrets | extra_secrets
    return inventory


@lru_cache(maxsize=1)
def _platform_table() -> tuple[tuple[str, ...], dict[str, str]]:
    raw = yaml.safe_load((Path(__file__).with_name("platform_map.yaml")).read_text())
    fields = tuple(raw["fields"])
    table = {str(k).strip().lower(): str(v) for k, v in raw["names"].items()}
    for name in table.values():
        if platforms.lookup(name) is None:  # a typo in the table is ours: fail loudly, at once
            raise RuntimeError(f"platform_map.yaml maps to {name!r}, which is no platform of ours")
    return fields, table


def map_platform(spelled: dict[str, Any]) -> str | None:
    """Our platform name for a source-of-truth platform, given its fields (``network_driver``,
    ``napalm_driver``, ``slug``, ``name``...): the first field, in the table's order, whose value
    the table or our own aliases (platform_defs ``aliases``) know.  None when none does."""
    fields, table = _platform_table()
    for field in fields:
        value = spelled.get(field)
        if not isinstance(value, str) or not value.strip():
            continue
        key = value.strip().lower()
        if key in table:
            return table[key]
        found = platforms.lookup(key)
        if found is not None:
            return found.name
    return None
