"""One simulated device: what to start (``DeviceSpec``) and what is running (``RunningDevice``)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from . import profiles, truth
from .faults import FAULTS
from .profiles import HOSTNAME_TOKEN, Profile
from .serials import make_serial

USERNAME_ENV = "IBAGENT_LAB_USERNAME"
PASSWORD_ENV = "IBAGENT_LAB_PASSWORD"
ENABLE_ENV = "IBAGENT_LAB_ENABLE"
DEFAULT_USERNAME = "labadmin"
DEFAULT_PASSWORD = "lab-password"
DEFAULT_ENABLE = "lab-enable"


def default_credentials(env: Mapping[str, str] | None = None) -> tuple[str, str, str]:
    """(username, password, enable secret) every healthy lab device accepts."""
    env = os.environ if env is None else env
    return (
        env.get(USERNAME_ENV) or DEFAULT_USERNAME,
        env.get(PASSWORD_ENV) or DEFAULT_PASSWORD,
        env.get(ENABLE_ENV) or DEFAULT_ENABLE,
    )


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    name: str  # inventory key
    profile: str  # directory under lab/data/devices
    hostname: str = ""  # as the device calls itself; defaults to name
    site: str = ""
    index: int | None = None  # serial namespace, unique per lab; None = position in the lab
    seed: int = 0
    username: str = ""  # "" = default_credentials()
    password: str = field(default="", repr=False)
    enable_password: str = field(default="", repr=False)
    faults: frozenset[str] = frozenset()
    latency: float = 0.0  # seconds before a 'show' command answers
    jitter: float = 0.0  # +- fraction of latency, uniform
    login_delay: float = 0.0  # seconds spent validating the password
    slow_chunk: int = 64  # slow_output: bytes per write
    slow_pause: float = 0.04  # slow_output: seconds between writes
    port: int = 0  # 0 = let the OS pick
    # Serial tokens (profile.yaml names) whose part was swapped under RMA: they print a fresh
    # serial, same PID and slot, so a later scan sees the replacement where the original was.
    rma: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "faults", frozenset(self.faults))  # accept any iterable of names
        unknown = self.faults - FAULTS
        if unknown:
            raise ValueError(f"{self.name}: unknown faults {sorted(unknown)} (known: {sorted(FAULTS)})")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"{self.name}: jitter must be in [0, 1)")

    def resolved(self, index: int) -> "DeviceSpec":
        """The spec with defaults filled in (credentials from the environment, index)."""
        user, password, enable = default_credentials()
        return replace(
            self,
            hostname=self.hostname or self.name,
            index=self.index if self.index is not None else index,
            username=self.username or user,
            password=self.password or password,
            enable_password=self.enable_password or enable,
        )


class RunningDevice:
    """A device listening on ``host:port``; values and truth are computed on first use.

    Lazy on purpose: a 2,000-device benchmark lab should not pay for rendering ground truth
    nobody asks for.
    """

    def __init__(self, spec: DeviceSpec, host: str, port: int) -> None:
        self.spec = spec
        self.host = host
        self.port = port
        # Set when the lab runs the structured peers (lab.netconf / lab.snmp); None otherwise.
        self.netconf_port: int | None = None
        self.snmp_port: int | None = None
        self.snmp_community: str | None = None  # a secret: never in repr, to_dict or lab.json
        # CDP / LLDP (lab.neighbours.attach sets them when the lab starts): what it sees, and the
        # protocols it has switched off.  None: no topology (an empty table is printed).
        self.neighbour_links: list | None = None
        self.neighbour_off: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return f"RunningDevice({self.name!r}, {self.profile!r}, {self.host}:{self.port}, faults={sorted(self.faults)})"

    name = property(lambda self: self.spec.name)
    hostname = property(lambda self: self.spec.hostname)
    site = property(lambda self: self.spec.site)
    username = property(lambda self: self.spec.username)
    password = property(lambda self: self.spec.password)
    enable_password = property(lambda self: self.spec.enable_password)
    faults = property(lambda self: self.spec.faults)

    @property
    def profile(self) -> str:
        return self.spec.profile

    @cached_property
    def profile_def(self) -> Profile:
        return profiles.load(self.spec.profile)

    @property
    def platform(self) -> str:
        return self.profile_def.platform

    @property
    def needs_enable(self) -> bool:
        return self.profile_def.login_mode == "user"

    @cached_property
    def values(self) -> dict[str, str]:
        assert self.spec.index is not None, "spec not resolved"
        values = {HOSTNAME_TOKEN: self.spec.hostname}
        for i, (token, kind) in enumerate(self.profile_def.serial_kinds):
            # A replacement part draws from another seed: unique, and never the original's serial.
            seed = self.spec.seed + 1_000_003 if token in self.spec.rma else self.spec.seed
            values[token] = make_serial(kind, seed, self.spec.index, i)
        return values

    @cached_property
    def truth(self) -> truth.DeviceTruth:
        return truth.build(self.profile_def, self.values)

    def output(self, command: str) -> str | None:
        """What the device prints for a canonical command, None if it does not know it."""
        template = self.profile_def.commands.get(command)
        if template is None:
            from .neighbour_text import output as neighbour_output  # per device, from the lab's topology

            return neighbour_output(self, command)
        return template.render(self.values)

    def netmiko_params(self, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for netmiko.ConnectHandler."""
        return netmiko_params(self, **extra)

    def to_dict(self) -> dict[str, Any]:
        """Secret-free description (written to lab.json for other processes)."""
        return {
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "netconf_port": self.netconf_port,
            "snmp_port": self.snmp_port,
            "platform": self.platform,
            "profile": self.profile,
            "hostname": self.hostname,
            "site": self.site,
            "username": self.username,
            "needs_enable": self.needs_enable,
            "faults": sorted(self.faults),
            "truth": self.truth.to_dict(),
        }


def netmiko_params(device: Any, **extra: Any) -> dict[str, Any]:
    """netmiko.ConnectHandler keyword arguments for anything shaped like a running device
    (a RunningDevice here, or the manifest-built view of one in another process)."""
    params: dict[str, Any] = {
        "device_type": device.platform,
        "host": device.host,
        "port": device.port,
        "username": device.username,
        "password": device.password,
    }
    if device.needs_enable:
        params["secret"] = device.enable_password
    params.update(extra)
    return params
