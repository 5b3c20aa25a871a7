"""Describe a running lab to the outside world: a Nornir SimpleInventory, and a manifest with ground truth.

The inventory carries credentials by reference only (``${IBAGENT_LAB_PASSWORD}``), so it can be
committed, copied or printed; the secrets live in the environment of whoever scans the lab.

When the lab runs its NETCONF / SNMP peers, each host's ``data`` also names its ``netconf_port``
and ``snmp_port``, and references its SNMP community as ``file:snmp_community_<host>``: every lab
device has a community of its own (the agent tells devices apart by it), so those live in
``lab-secrets.yaml`` (mode 0600) beside the inventory, named by ``credentials_file`` in defaults.
With ``snmp_version="3"`` hosts use the lab's SNMPv3 user instead, keys by ``${...}`` reference.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from .device import ENABLE_ENV, PASSWORD_ENV, RunningDevice

MANIFEST = "lab.json"
LAB_GROUP = "lab"
SECRETS_FILE = "lab-secrets.yaml"


def _write(path: Path, text: str) -> None:
    # Write-then-rename: a reader polling the directory never sees half a file.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _community_key(device: RunningDevice) -> str:
    return f"snmp_community_{device.name}"


def host_entry(
    device: RunningDevice, password_env: str, enable_env: str, snmp_version: str = "2c",
    transports: list[str] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"site": device.site, "lab_profile": device.profile}
    if device.needs_enable:
        data["enable_secret"] = "${" + enable_env + "}"
    if device.faults:
        data["lab_faults"] = sorted(device.faults)
    if transports:
        data["transports"] = list(transports)
    if device.netconf_port:
        data["netconf_port"] = device.netconf_port
    if device.snmp_port:
        from .snmp import AUTH_KEY_ENV, AUTH_PROTO, PRIV_KEY_ENV, PRIV_PROTO, snmp_credentials

        data["snmp_port"] = device.snmp_port
        data["snmp_community"] = "file:" + _community_key(device)
        if snmp_version == "3":
            data.update({
                "snmp_version": "3", "snmp_user": snmp_credentials()[0],
                "snmp_auth_key": "${" + AUTH_KEY_ENV + "}", "snmp_auth_proto": AUTH_PROTO,
                "snmp_priv_key": "${" + PRIV_KEY_ENV + "}", "snmp_priv_proto": PRIV_PROTO,
                # The lab agent tells devices apart by SNMPv3 context, named like the community.
                "snmp_context": device.snmp_community,
            })
    return {
        "hostname": device.host,
        "port": device.port,
        "platform": device.platform,
        "username": device.username,
        "password": "${" + password_env + "}",
        "groups": [LAB_GROUP],
        "data": data,
    }


def write_inventory(
    devices: Iterable[RunningDevice],
    directory: str | Path,
    password_env: str = PASSWORD_ENV,
    enable_env: str = ENABLE_ENV,
    *,
    transports: list[str] | None = None,
    snmp_version: str = "2c",
) -> Path:
    """Write hosts.yaml, groups.yaml and defaults.yaml for ``devices``; returns the directory.

    ``transports`` (e.g. ``["netconf", "ssh", "snmp"]``) is written per host when given; without
    it hosts use the inventory default (SSH).  ``snmp_version`` ``"3"`` points hosts at the lab's
    SNMPv3 user instead of their community.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    devices = list(devices)
    hosts = {d.name: host_entry(d, password_env, enable_env, snmp_version, transports) for d in devices}
    groups = {LAB_GROUP: {"data": {"description": "ibagent simulated devices on loopback"}}}
    defaults: dict[str, Any] = {"data": {}}
    communities = {_community_key(d): d.snmp_community for d in devices if d.snmp_port and d.snmp_community}
    if communities:
        defaults["credentials_file"] = SECRETS_FILE
        _write_secret(directory / SECRETS_FILE, yaml.safe_dump(communities, sort_keys=False, width=200))
    for name, content in (("hosts.yaml", hosts), ("groups.yaml", groups), ("defaults.yaml", defaults)):
        _write(directory / name, yaml.safe_dump(content, sort_keys=False, width=200))
    return directory


def _write_secret(path: Path, text: str) -> None:
    # Created 0600 from the start: agent.collect.inventory refuses a credentials file others can read.
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def write_manifest(devices: Iterable[RunningDevice], directory: str | Path, **extra: Any) -> Path:
    """lab.json: every device with its ground truth (no secrets), for tests in another process."""
    path = Path(directory) / MANIFEST
    body = {**extra, "devices": [d.to_dict() for d in devices]}
    _write(path, json.dumps(body, indent=1))
    return path


def read_manifest(directory: str | Path) -> dict[str, Any]:
    return json.loads((Path(directory) / MANIFEST).read_text())
