"""Platform definitions as data (``platform_defs/<name>.yaml``), loaded once.

Adding a platform is adding a YAML file; code asks this module, never ``if platform == ...``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

_DEFS = Path(__file__).with_name("platform_defs")


@dataclass(frozen=True, slots=True)
class SshProfile:
    prompt: re.Pattern[str]
    enable: str  # never | when_user_exec | always
    setup: tuple[str, ...]
    commands: tuple[str, ...]
    optional: frozenset[str]


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    description: str
    netmiko_device_type: str
    ntc_platform: str
    ssh: SshProfile
    raw: dict[str, Any]


class UnknownPlatform(ValueError):
    pass


@cache
def names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in _DEFS.glob("*.yaml")))


@cache
def get(name: str) -> Platform:
    path = _DEFS / f"{name}.yaml"
    if name not in names():
        raise UnknownPlatform(f"unknown platform {name!r} (known: {', '.join(names())})")
    data = yaml.safe_load(path.read_text())
    ssh = data["ssh"]
    return Platform(
        name=data["name"],
        description=data.get("description", name),
        netmiko_device_type=data["netmiko_device_type"],
        ntc_platform=data["ntc_platform"],
        ssh=SshProfile(
            prompt=re.compile(ssh["prompt"]),
            enable=ssh.get("enable", "never"),
            setup=tuple(ssh.get("setup", ())),
            commands=tuple(ssh["commands"]),
            optional=frozenset(ssh.get("optional", ())),
        ),
        raw=data,
    )
