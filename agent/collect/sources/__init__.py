"""Inventory sources besides Nornir YAML: a CSV file, and the Nautobot / NetBox REST APIs.

Each source turns its rows or devices into Nornir-shaped host entries and hands them, with the
defaults (and groups) file beside, to ``agent.collect.inventory.build_inventory``: one resolver of
credentials, transports and options for every source, so a CSV or a Nautobot host becomes exactly
the Target the same host in hosts.yaml would.

``-i`` forms (README, "Inventory from a source of truth"):
  * ``hosts.csv``: columns name, address, platform, site, groups (``;``-separated), optional port
    and transports; ``defaults.yaml`` / ``groups.yaml`` beside it hold credentials by reference;
  * ``nautobot+http(s)://HOST:PORT/?location=X&role=Y&tag=T&status=active&defaults=FILE`` and
    ``netbox+http(s)://...?site=X...``: the token by reference (``token=${ENV}`` or
    ``token=file:KEY``, default ``${NAUTOBOT_TOKEN}`` / ``${NETBOX_TOKEN}``), never literal.

This module stays light (no HTTP library imported) because every ``load_inventory`` asks it first.
"""
from __future__ import annotations

from pathlib import Path

from agent.collect.inventory import Inventory

SCHEMES = ("nautobot+", "netbox+")


def claims(spec: str | Path) -> bool:
    """Is ``spec`` a CSV file or a source-of-truth URL (rather than Nornir YAML)?"""
    text = str(spec)
    return text.lower().startswith(SCHEMES) or text.lower().endswith(".csv")


def load(spec: str, env: dict[str, str]) -> Inventory:
    lowered = spec.lower()
    if lowered.startswith("nautobot+"):
        from agent.collect.sources import nautobot
        return nautobot.load(spec, env)
    if lowered.startswith("netbox+"):
        from agent.collect.sources import netbox
        return netbox.load(spec, env)
    from agent.collect.sources import csv_hosts
    return csv_hosts.load(Path(spec), env)
