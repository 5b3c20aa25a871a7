"""Inventory from Nautobot (``-i nautobot+http://HOST:PORT/?location=...``) through pynautobot,
Network to Code's client library.  Nautobot 2+ has locations, not sites: ``site=`` is read as
``location=``.  ``depth=1`` asks for the nested platform, location, role, status and primary IP
in the device list itself (pynautobot would otherwise fetch each one per device: N+1 requests)."""
from __future__ import annotations

from agent.collect.inventory import Inventory, InventoryError
from agent.collect.sources import rest


def _client(base: str, token: str, session):
    try:
        import pynautobot
    except ImportError:
        raise InventoryError("nautobot: pynautobot is not installed (pip install 'ibagent[sot]')") from None
    api = pynautobot.api(base, token=token, threading=False)
    api.http_session = session
    return _Depth1(api.dcim.devices)


class _Depth1:
    """The devices endpoint, every read with ``depth=1``."""

    def __init__(self, endpoint):
        self._endpoint = endpoint

    def all(self):
        return self._endpoint.filter(depth=1)

    def filter(self, **query):
        return self._endpoint.filter(depth=1, **query)


def _site(device: dict) -> str:
    return rest._name(device.get("location"))


FLAVOUR = rest.Flavour(
    name="nautobot", token_env="NAUTOBOT_TOKEN",
    filters={"site": "location", "location": "location", "role": "role", "tag": "tags", "status": "status"},
    client=_client, site_of=_site,
)


def load(spec: str, env: dict[str, str]) -> Inventory:
    return rest.load(spec, env, FLAVOUR)
