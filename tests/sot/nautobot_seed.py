"""Seed a Nautobot with a small site/device set through its REST API (pynautobot), as a user would
build it by hand: location type, locations, manufacturer, device types, roles, platforms (with
their netutils ``network_driver``), a custom field ``ssh_port``, devices with an interface holding
127.0.0.1 as their primary IP.  Everything here is written by this test, nothing copied.

``devices`` is a list of ``SeedDevice``; the lab's devices all listen on 127.0.0.1 at their own
port, so every seeded device shares the one address and carries its port in ``ssh_port``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

PLATFORMS = {  # our platform -> (Nautobot platform name, netutils network_driver, napalm_driver)
    "cisco_ios": ("Cisco IOS", "cisco_ios", "ios"),
    "cisco_xe": ("Cisco IOS-XE", "cisco_xe", "ios"),
    "cisco_nxos": ("Cisco NX-OS", "cisco_nxos", "nxos_ssh"),
    "cisco_xr": ("Cisco IOS-XR", "cisco_xr", "iosxr"),
    "cisco_asa": ("Cisco ASA", "cisco_asa", "asa"),
}


@dataclass
class SeedDevice:
    name: str
    platform: str  # ours, or a Nautobot platform name with no driver we know (to be skipped)
    location: str
    role: str
    port: int | None = None
    address: bool = True  # False: no primary IP (the reader must skip it, saying why)
    status: str = "Active"
    tags: list[str] = field(default_factory=list)
    model: str = "C9300-24T"


def _get_or_create(endpoint, lookup: dict, **fields):
    found = endpoint.get(**lookup)
    return found if found is not None else endpoint.create(**lookup, **fields)


def seed(api, devices: list[SeedDevice]) -> dict[str, str]:
    """Create what ``devices`` need and the devices; returns {device name: id}."""
    device_ct = ["dcim.device"]
    site_type = _get_or_create(api.dcim.location_types, {"name": "Site"}, content_types=device_ct)
    cisco = _get_or_create(api.dcim.manufacturers, {"name": "Cisco"})
    namespace = api.ipam.namespaces.get(name="Global")
    active = api.extras.statuses.get(name="Active")
    _get_or_create(api.ipam.prefixes, {"prefix": "127.0.0.0/8", "namespace": namespace.id}, status=active.id,
                   type="network")
    address = _get_or_create(api.ipam.ip_addresses, {"address": "127.0.0.1/32", "namespace": namespace.id},
                             status=active.id)
    if not any(cf.key == "ssh_port" for cf in api.extras.custom_fields.all()):  # no filter by key
        api.extras.custom_fields.create(key="ssh_port", label="SSH port", type="integer", content_types=device_ct)
    ids = {}
    for d in devices:
        location = _get_or_create(api.dcim.locations, {"name": d.location}, location_type=site_type.id,
                                  status=active.id)
        role = _get_or_create(api.extras.roles, {"name": d.role}, content_types=device_ct)
        pname, driver, napalm = PLATFORMS.get(d.platform, (d.platform, "", ""))
        platform = _get_or_create(api.dcim.platforms, {"name": pname}, network_driver=driver, napalm_driver=napalm,
                                  manufacturer=cisco.id)
        dtype = _get_or_create(api.dcim.device_types, {"model": d.model, "manufacturer": cisco.id})
        status = api.extras.statuses.get(name=d.status)
        tags = [_get_or_create(api.extras.tags, {"name": t}, content_types=device_ct).id for t in d.tags]
        dev = api.dcim.devices.create(
            name=d.name, device_type=dtype.id, role=role.id, location=location.id, status=status.id,
            platform=platform.id, tags=tags, custom_fields={"ssh_port": d.port} if d.port else {})
        if d.address:
            iface = api.dcim.interfaces.create(device=dev.id, name="Mgmt0", type="virtual", status=active.id)
            api.ipam.ip_address_to_interface.create(ip_address=address.id, interface=iface.id)
            dev.update({"primary_ip4": address.id})
        ids[d.name] = dev.id
    return ids
