"""What the Nautobot and NetBox sources share: the ``-i`` URL, the token by reference, the read
under bounds, and each device -> a host entry or a skip with its reason.

``nautobot+http://127.0.0.1:8080/?location=hq&role=access&tag=t&status=active&defaults=inv/defaults.yaml``
Query keys: the filters of the flavour (site/location, role, tag, status: repeat a key or separate
values by commas for several), ``defaults`` (the Nornir defaults file holding username, password
references and transports; ``groups.yaml`` beside it is read too), ``token`` (``${ENV}`` or
``file:KEY`` from the defaults' ``credentials_file``; never the token itself), ``port_field`` (the
custom field holding a device's SSH port; default ``ssh_port``, else 22), ``timeout`` (seconds for
the whole read, default 120).  An unknown key is refused: a typo in a filter would otherwise widen
the scan to every device.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from agent.collect.inventory import Inventory, InventoryError, _SecretResolver, credentials_path
from agent.collect.sources import common
from agent.collect.sources.http_bounds import BoundedSession, SourceError, fetch_with_deadline

MAX_DEVICES = 100_000  # a scan of more is a mistake in the filters, not a fleet
COMMON_KEYS = ("defaults", "token", "port_field", "timeout")


@dataclass(frozen=True)
class Flavour:
    name: str  # nautobot | netbox
    token_env: str  # the default token reference's variable
    filters: dict[str, str]  # our query key -> the API's filter name
    client: Callable[[str, str, BoundedSession], Any]  # (base URL, token, session) -> an endpoint with .all/.filter
    site_of: Callable[[dict], str]  # the device's site (location) name


@dataclass
class Spec:
    base: str  # http(s)://host:port/prefix, the server's root (the libraries add /api)
    filters: dict[str, list[str]]
    defaults: Path | None
    token_ref: str
    port_field: str
    timeout: float


def parse(spec: str, flavour: Flavour) -> Spec:
    url = spec.split("+", 1)[1]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InventoryError(f"{flavour.name}: expected {flavour.name}+http(s)://HOST[:PORT]/[?filters]")
    if parts.username or parts.password:
        raise InventoryError(f"{flavour.name}: no credentials in the URL; the token comes by reference (token=${{ENV}})")
    filters: dict[str, list[str]] = {}
    extra: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in flavour.filters:
            filters.setdefault(key, []).extend(v.strip() for v in value.split(",") if v.strip())
        elif key in COMMON_KEYS:
            extra[key] = value
        else:
            known = ", ".join([*flavour.filters, *COMMON_KEYS])
            raise InventoryError(f"{flavour.name}: unknown query key {key!r} (known: {known})")
    try:
        timeout = float(extra.get("timeout") or 120)
        if not 0 < timeout <= 3600:
            raise ValueError
    except ValueError:
        raise InventoryError(f"{flavour.name}: timeout={extra.get('timeout')!r} is not a number of seconds "
                             "(0-3600)") from None
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    return Spec(base, filters, Path(extra["defaults"]).expanduser() if extra.get("defaults") else None,
                extra.get("token") or "${" + flavour.token_env + "}", extra.get("port_field") or "ssh_port", timeout)


def load(spec_text: str, env: dict[str, str], flavour: Flavour) -> Inventory:
    spec = parse(spec_text, flavour)
    defaults, groups, files = common.side_files(spec.defaults)
    token = _token(spec, defaults, files, env, flavour)
    session = BoundedSession(spec.base, timeout=min(30.0, spec.timeout))
    query = {flavour.filters[k]: v if len(v) > 1 else v[0] for k, v in spec.filters.items()}
    where = f"{flavour.name} at {spec.base}"

    def read() -> list[dict]:
        endpoint = flavour.client(spec.base, token, session)
        records = endpoint.filter(**query) if query else endpoint.all()
        out = []
        for record in records:
            out.append(record)  # raw JSON: to_entry checks each one
            if len(out) > MAX_DEVICES:
                raise SourceError(f"{where}: more than {MAX_DEVICES} devices match: narrow the filters")
        return out

    try:
        devices = fetch_with_deadline(read, spec.timeout, where)
    except SourceError as exc:
        raise InventoryError(f"{where}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the libraries' own errors (bad JSON, 4xx/5xx, odd shapes)
        raise InventoryError(f"{where}: {_describe(exc)}") from None
    hosts: dict[str, dict] = {}
    for device in devices:
        name, entry, why = to_entry(device, flavour, spec.port_field)
        if entry is None:
            print(f"ibagent: {where}: skipped device {name!r}: {why}", file=sys.stderr)
        elif name in hosts:
            print(f"ibagent: {where}: skipped device {name!r}: the name is used by another device", file=sys.stderr)
        else:
            hosts[name] = entry
    if not hosts:
        raise InventoryError(f"{where}: no device to scan (filters: {spec.filters or 'none'})")
    files["hosts"] = f"{flavour.name} {spec.base}"  # named in errors as a file is; never opened
    return common.build(hosts, defaults, groups, files, env, f"{flavour.name}+{spec.base}",
                        extra_secrets=frozenset({token}))


def _token(spec: Spec, defaults: dict, files: dict[str, Path], env: dict[str, str], flavour: Flavour) -> str:
    resolver = _SecretResolver(credentials_path(defaults, files), env)
    token = resolver.resolve(spec.token_ref, "token", f"{flavour.name} {spec.base}", "")
    if not token:
        raise InventoryError(f"{flavour.name}: the token reference {spec.token_ref} is empty")
    return token


def _describe(exc: Exception) -> str:
    """The libraries' errors in a line, never their request headers (the token is in them)."""
    status = getattr(getattr(exc, "req", None), "status_code", None)
    if isinstance(status, int) and status >= 400:
        return f"the server answered HTTP {status} ({exc.__class__.__name__})"
    return f"{exc.__class__.__name__}: the answer was not what the API documents (not JSON, or another shape)"


def _name(value: Any) -> str:
    """A nested object's name (``{"name": "hq"}``), or '' when the field is not one."""
    if isinstance(value, dict):
        got = value.get("name")
        return got if isinstance(got, str) else ""
    return ""


def _address(device: dict) -> str | None:
    for key in ("primary_ip4", "primary_ip6", "primary_ip"):
        ip = device.get(key)
        if isinstance(ip, dict) and isinstance(ip.get("address"), str) and ip["address"].strip():
            return ip["address"].split("/", 1)[0].strip()
    return None


def to_entry(device: Any, flavour: Flavour, port_field: str) -> tuple[str, dict | None, str]:
    """``(name, host entry or None, why skipped)`` for one device record of the API."""
    if not isinstance(device, dict):
        return "?", None, f"not an object but {type(device).__name__}"
    name = device.get("name")
    if not isinstance(name, str) or not name.strip():
        return repr(device.get("id", "?")), None, "no name"
    name = name.strip()
    address = _address(device)
    if not address:
        return name, None, "no primary IP address"
    platform = device.get("platform")
    if not isinstance(platform, dict):
        return name, None, "no platform set"
    ours = common.map_platform(platform)
    if ours is None:
        spelled = ", ".join(f"{k}={platform.get(k)!r}" for k in ("network_driver", "slug", "name", "napalm_driver")
                            if platform.get(k))
        return name, None, f"platform ({spelled or 'unnamed'}) is not one ibagent reads (agent/collect/sources/platform_map.yaml)"
    entry: dict[str, Any] = {"hostname": address, "platform": ours, "data": {}}
    custom = device.get("custom_fields")
    port = custom.get(port_field) if isinstance(custom, dict) else None
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            return name, None, f"custom field {port_field} {port!r} is not a TCP port"
        entry["port"] = port
    site = flavour.site_of(device)
    if site:
        entry["data"]["site"] = site
    groups = []
    role = _name(device.get("role")) or _name(device.get("device_role"))
    if role:
        groups.append(role)
    tags = device.get("tags")
    for tag in tags if isinstance(tags, list) else ():
        label = _name(tag) if isinstance(tag, dict) else ""
        if label and label not in groups:
            groups.append(label)
    if groups:
        entry["groups"] = groups
    return name, entry, ""
