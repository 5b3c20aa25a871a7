"""Ground truth: what a lab device will print, as data, for tests to assert completeness against.

Built from the profile's hand-written meaning (profile.yaml) and the device's own values
(hostname, serials), never by parsing the device's output.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .profiles import Profile
from .templates import render_text


@dataclass(frozen=True, slots=True)
class TruthItem:
    """One inventory row that carries a serial, exactly as the device prints it."""

    name: str
    pid: str
    serial: str
    command: str = "show inventory"
    virtual: bool = False  # printed, but not a physical item (e.g. "c93xx Stack")


@dataclass(frozen=True, slots=True)
class TruthLicense:
    license: str
    entitlement_tag: str
    count: int | None
    status: str
    license_type: str = ""
    enforcement: str = ""


@dataclass(frozen=True, slots=True)
class TruthUdi:
    role: str  # "" for the device's own UDI, else Active / Standby / Member
    pid: str
    serial: str


@dataclass(frozen=True, slots=True)
class DeviceTruth:
    hostname: str
    platform: str
    profile: str
    os_version: str  # as printed
    chassis_pid: str
    chassis_serial: str
    licensing: str  # slp | classic | none
    roles: tuple[str, ...]
    items: tuple[TruthItem, ...]
    licenses: tuple[TruthLicense, ...]
    udi: TruthUdi | None
    ha_udis: tuple[TruthUdi, ...]

    @property
    def physical(self) -> tuple[TruthItem, ...]:
        """Distinct physical items, identity (serial, PID) as in DESIGN.md, first row kept.

        Rows repeat on real devices: the stack row and Switch 1, both ends of a stack cable,
        a C9500 chassis and its supervisor slot, an XR card in both inventories.
        """
        seen: dict[tuple[str, str], TruthItem] = {}
        for item in self.items:
            if not item.virtual:
                seen.setdefault((item.serial, item.pid.rstrip("=")), item)
        return tuple(seen.values())

    @property
    def serials(self) -> frozenset[str]:
        return frozenset(i.serial for i in self.items)

    def items_for(self, command: str) -> tuple[TruthItem, ...]:
        return tuple(i for i in self.items if i.command == command)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["physical"] = [asdict(i) for i in self.physical]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "DeviceTruth":
        udi = data.get("udi")
        return cls(
            hostname=data["hostname"],
            platform=data["platform"],
            profile=data["profile"],
            os_version=data["os_version"],
            chassis_pid=data["chassis_pid"],
            chassis_serial=data["chassis_serial"],
            licensing=data["licensing"],
            roles=tuple(data["roles"]),
            items=tuple(TruthItem(**i) for i in data["items"]),
            licenses=tuple(TruthLicense(**lic) for lic in data["licenses"]),
            udi=TruthUdi(**udi) if udi else None,
            ha_udis=tuple(TruthUdi(**u) for u in data["ha_udis"]),
        )


def build(profile: Profile, values: Mapping[str, str]) -> DeviceTruth:
    def r(expr: str) -> str:
        return render_text(expr, values)

    return DeviceTruth(
        hostname=values["hostname"],
        platform=profile.platform,
        profile=profile.name,
        os_version=profile.os_version,
        chassis_pid=profile.chassis_pid,
        chassis_serial=r(profile.chassis_serial),
        licensing=profile.licensing,
        roles=profile.roles,
        items=tuple(
            TruthItem(row.name, row.pid, r(row.serial), row.command, row.virtual)
            for row in profile.inventory
        ),
        licenses=tuple(
            TruthLicense(lic.license, lic.entitlement_tag, lic.count, lic.status, lic.license_type, lic.enforcement)
            for lic in profile.licenses
        ),
        udi=TruthUdi("", profile.udi[0], r(profile.udi[1])) if profile.udi else None,
        ha_udis=tuple(TruthUdi(role, pid, r(sn)) for role, pid, sn in profile.ha_udis),
    )
