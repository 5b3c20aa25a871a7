"""Inventory from Nautobot (``-i nautobot+http://HOST:PORT/?location=...``) through pynautobot,
Network to Code's client library.  Nautobot 2+ has locations, not sites: ``site=`` is read as
``location=``.  ``depth=1`` asks for the nested platform, location, role, status and primary IP
in the device list itself (pynautobot's Records would otherwise fetch each one per device: N+1 requests)."""
from __future__ import annotations

from agent.collect.inventory import Inventory, InventoryError
from agent.collect.sources import rest


def _client(base: str, token: str, session):
    try:
        import pynautobot
        from pynautobot.core.query import Request
    except ImportError:
        raise InventoryError("nautobot: pynautobot is not installed (pip install 'ibagent[sot]')") from None
    url = pynautobot.api(base, token=token).dcim.devices.url
    return _Raw(lambda filters: Request(base=url, http_session=session, filters={"depth": 1, **filters},
                                        token=token).get())


class _Raw:
    """The devices list through pynautobot's request layer (its pagination, its errors), as the
    JSON objects the API sent: each device is then checked on its own, so one of the wrong shape
    is skipped with its reason instead of failing the whole read in the library's Record."""

    def __init__(self, get):
        self._get = get

    def all(self):
        return self._get({})

    def filter(self, **query):
        return self._get(query)


def _site(device: dict) -> str:
    return rest._name(device.get("location"))


FLAVOUR = rest.Flavour(
    name="nautobot", token_env="NAUTOBOT_TOKEN",
    filters={"site": "location", "location": "location", "role": "role", "tag": "tags", "status": "status"},
    client=_client, site_of=_site,
)


def load(spec: str, env: dict[str, str]) -> Inventory:
    return rest.load(spec, env, FLAVOUR)
