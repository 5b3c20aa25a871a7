"""Describe a running lab to the outside world: a Nornir SimpleInventory, and a manifest with ground truth.

The inventory carries credentials by reference only (``${IBAGENT_LAB_PASSWORD}``), so it can be
committed, copied or printed; the secrets live in the environment of whoever scans the lab.
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


def _write(path: Path, text: str) -> None:
    # Write-then-rename: a reader polling the directory never sees half a file.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def host_entry(device: RunningDevice, password_env: str, enable_env: str) -> dict[str, Any]:
    data: dict[str, Any] = {"site": device.site, "lab_profile": device.profile}
    if device.needs_enable:
        data["enable_secret"] = "${" + enable_env + "}"
    if device.faults:
        data["lab_faults"] = sorted(device.faults)
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
) -> Path:
    """Write hosts.yaml, groups.yaml and defaults.yaml for ``devices``; returns the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    hosts = {d.name: host_entry(d, password_env, enable_env) for d in devices}
    groups = {LAB_GROUP: {"data": {"description": "ibagent simulated devices on loopback"}}}
    defaults: dict[str, Any] = {"data": {}}
    for name, content in (("hosts.yaml", hosts), ("groups.yaml", groups), ("defaults.yaml", defaults)):
        _write(directory / name, yaml.safe_dump(content, sort_keys=False, width=200))
    return directory


def write_manifest(devices: Iterable[RunningDevice], directory: str | Path, **extra: Any) -> Path:
    """lab.json: every device with its ground truth (no secrets), for tests in another process."""
    path = Path(directory) / MANIFEST
    body = {**extra, "devices": [d.to_dict() for d in devices]}
    _write(path, json.dumps(body, indent=1))
    return path


def read_manifest(directory: str | Path) -> dict[str, Any]:
    return json.loads((Path(directory) / MANIFEST).read_text())
