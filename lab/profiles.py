"""Device profiles: ``lab/data/devices/<profile>/`` = ``profile.yaml`` + one template per command.

``<command_slug>.txt`` (``show_license_udi.txt`` answers ``show license udi``) holds what the
device prints, adapted from a real capture.  ``profile.yaml`` says what that output *means*:
platform, version, which serial token is which item, the license rows.  Keeping the meaning
beside the text, written by hand rather than parsed out of it, is what makes it usable as
ground truth: ``tests/test_lab.py`` checks the two agree, so neither can drift silently.

Profiles are loaded once per process and shared by every device built from them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from agent.core import platforms

from .serials import TOKENS_PER_DEVICE
from .templates import TOKEN, Template

FIXTURES_ENV = "IBAGENT_LAB_FIXTURES"
_DEFAULT_FIXTURES = Path(__file__).resolve().parent / "data" / "devices"  # package data: the installed demo runs from it
HOSTNAME_TOKEN = "hostname"


def fixtures_dir() -> Path:
    return Path(os.environ.get(FIXTURES_ENV) or _DEFAULT_FIXTURES)


@dataclass(frozen=True, slots=True)
class InventoryRow:
    command: str  # which command prints it ("show inventory", XR "admin show inventory")
    name: str
    pid: str
    serial: str  # template expression, e.g. "{{sw1}}" or "{{dac1}}-A"
    virtual: bool = False  # a row that is not a physical item (IOS XE "c93xx Stack")


@dataclass(frozen=True, slots=True)
class LicenseRow:
    license: str
    entitlement_tag: str
    count: int | None
    status: str
    license_type: str = ""
    enforcement: str = ""


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    platform: str
    description: str
    os_version: str
    login_mode: str  # "exec" lands at '#', "user" lands at '>' and needs enable
    prompt_node: str  # IOS XR "RP/0/RSP0/CPU0:" before the hostname
    licensing: str  # slp | classic | none
    serial_kinds: tuple[tuple[str, str], ...]  # (token, kind) in token-ordinal order
    chassis_pid: str
    chassis_serial: str
    roles: tuple[str, ...]
    inventory: tuple[InventoryRow, ...]
    licenses: tuple[LicenseRow, ...]
    udi: tuple[str, str] | None
    ha_udis: tuple[tuple[str, str, str], ...]  # (role, pid, serial expression)
    commands: dict[str, Template]

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(t for t, _ in self.serial_kinds)


def command_for_slug(slug: str) -> str:
    return slug.replace("_", " ")


def slug_for_command(command: str) -> str:
    return "_".join(command.split())


def available() -> tuple[str, ...]:
    root = fixtures_dir()
    return tuple(sorted(p.parent.name for p in root.glob("*/profile.yaml")))


def _serial_expr(value: str) -> str:
    # Shorthand: a bare token name means exactly that token's serial.
    value = str(value)
    return value if "{{" in value else "{{" + value + "}}"


def _inventory(data: dict[str, list[list[Any]]]) -> tuple[InventoryRow, ...]:
    rows = []
    for command, entries in data.items():
        for entry in entries:
            name, pid, serial, *flags = entry
            # builtin: a board of a fixed unit that repeats the unit's PID (ISR "module R0", a FEX's
            # "Module 1"); it is covered by the unit's own contract line, so like a virtual row it is
            # not an item of its own.
            unknown = set(flags) - {"virtual", "builtin"}
            if unknown:
                raise ValueError(f"unknown inventory flags {unknown} in {entry}")
            rows.append(InventoryRow(command, str(name), str(pid), _serial_expr(serial), bool({"virtual", "builtin"} & set(flags))))
    return tuple(rows)


def _licenses(entries: list[dict[str, Any]]) -> tuple[LicenseRow, ...]:
    return tuple(
        LicenseRow(
            license=str(e["license"]),
            entitlement_tag=str(e.get("tag", "")),
            count=e.get("count"),
            status=str(e.get("status", "")),
            license_type=str(e.get("type", "")),
            enforcement=str(e.get("enforcement", "")),
        )
        for e in entries
    )


def _check_tokens(profile: Profile) -> None:
    known = {HOSTNAME_TOKEN, *profile.tokens}
    exprs = [r.serial for r in profile.inventory] + [profile.chassis_serial]
    exprs += [s for _, _, s in profile.ha_udis] + ([profile.udi[1]] if profile.udi else [])
    used = {m.group(1) for e in exprs for m in TOKEN.finditer(e)}
    for command, template in profile.commands.items():
        missing = template.tokens - known
        if missing:
            raise ValueError(f"profile {profile.name}: {command!r} uses undeclared tokens {sorted(missing)}")
    if used - known:
        raise ValueError(f"profile {profile.name}: profile.yaml uses undeclared tokens {sorted(used - known)}")
    if len(profile.tokens) > TOKENS_PER_DEVICE:
        raise ValueError(f"profile {profile.name}: more than {TOKENS_PER_DEVICE} serial tokens")


@cache
def load(name: str) -> Profile:
    directory = fixtures_dir() / name
    meta_path = directory / "profile.yaml"
    if not meta_path.is_file():
        raise KeyError(f"unknown lab profile {name!r} (known: {', '.join(available())})")
    meta = yaml.safe_load(meta_path.read_text())
    platform = platforms.get(meta["platform"]).name  # rejects platforms ibagent does not know
    commands = {
        command_for_slug(p.stem): Template.compile(p.read_text())
        for p in sorted(directory.glob("*.txt"))
    }
    udi = meta.get("udi")
    profile = Profile(
        name=name,
        platform=platform,
        description=str(meta.get("description", name)),
        os_version=str(meta["os_version"]),
        login_mode=str(meta.get("login", "exec")),
        prompt_node=str(meta.get("prompt_node", "")),
        licensing=str(meta.get("licensing", "none")),
        serial_kinds=tuple((str(t), str(k)) for t, k in meta.get("serials", {}).items()),
        chassis_pid=str(meta["chassis"]["pid"]),
        chassis_serial=_serial_expr(meta["chassis"]["sn"]),
        roles=tuple(meta.get("roles", ())),
        inventory=_inventory(meta.get("inventory", {})),
        licenses=_licenses(meta.get("licenses", [])),
        udi=(str(udi["pid"]), _serial_expr(udi["sn"])) if udi else None,
        ha_udis=tuple((str(r), str(p), _serial_expr(s)) for r, p, s in meta.get("ha_udis", [])),
        commands=commands,
    )
    if profile.login_mode not in ("exec", "user"):
        raise ValueError(f"profile {name}: login must be exec or user")
    _check_tokens(profile)
    return profile
