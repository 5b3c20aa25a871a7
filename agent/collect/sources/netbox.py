"""Inventory from NetBox (``-i netbox+http://HOST:PORT/?site=...``) through pynetbox, NetBox's
own client library.  Filters take NetBox's slugs (site, role, tag) and status values (``active``);
NetBox before 4.0 called the role ``device_role`` (read either way)."""
from __future__ import annotations

from agent.collect.inventory import Inventory, InventoryError
from agent.collect.sources import nautobot, rest


def _client(base: str, token: str, session):
    try:
        import pynetbox
        from pynetbox.core.query import Request
    except ImportError:
        raise InventoryError("netbox: pynetbox is not installed (pip install 'ibagent[sot]')") from None
    url = pynetbox.api(base, token=token).dcim.devices.url
    return nautobot._Raw(lambda filters: Request(base=url, http_session=session, filters=filters,
                                                 token=token).get())


def _site(device: dict) -> str:
    return rest._name(device.get("site"))


FLAVOUR = rest.Flavour(
    name="netbox", token_env="NETBOX_TOKEN",
    filters={"site": "site", "location": "location", "role": "role", "tag": "tag", "status": "status"},
    client=_client, site_of=_site,
)


def load(spec: str, env: dict[str, str]) -> Inventory:
    return rest.load(spec, env, FLAVOUR)
