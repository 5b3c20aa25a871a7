"""Inventory from NetBox (``-i netbox+http://HOST:PORT/?site=...``) through pynetbox, NetBox's
own client library.  Filters take NetBox's slugs (site, role, tag) and status values (``active``);
NetBox before 4.0 called the role ``device_role`` (read either way)."""
from __future__ import annotations

from agent.collect.inventory import Inventory, InventoryError
from agent.collect.sources import rest


def _client(base: str, token: str, session):
    try:
        import pynetbox
    except ImportError:
        raise InventoryError("netbox: pynetbox is not installed (pip install 'ibagent[sot]')") from None
    api = pynetbox.api(base, token=token, threading=False)
    api.http_session = session
    return api.dcim.devices


def _site(device: dict) -> str:
    return rest._name(device.get("site"))


FLAVOUR = rest.Flavour(
    name="netbox", token_env="NETBOX_TOKEN",
    filters={"site": "site", "location": "location", "role": "role", "tag": "tag", "status": "status"},
    client=_client, site_of=_site,
)


def load(spec: str, env: dict[str, str]) -> Inventory:
    return rest.load(spec, env, FLAVOUR)
