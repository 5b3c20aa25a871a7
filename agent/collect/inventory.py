"""Inventory: Nornir SimpleInventory YAML (hosts / groups / defaults) into resolved Targets.

Accepted shapes:
  * a directory holding ``hosts.yaml`` (required), ``groups.yaml`` and ``defaults.yaml``;
  * one YAML file with top-level keys ``hosts``, ``groups`` and ``defaults``;
  * a path to a ``hosts.yaml`` whose siblings are ``groups.yaml`` / ``defaults.yaml``.

Inheritance follows Nornir: a host's own value wins, then its groups in the order listed
(depth first through each group's own ``groups``), then ``defaults``.  Keys under ``data``
merge the same way, key by key, so ``site`` can sit in a group and ``transports`` in defaults.

Secrets are never written in the inventory: ``password`` (and ``data.enable_secret``,
SNMP keys...) hold a reference, ``${ENV_VAR}`` or ``file:KEY`` with ``credentials_file`` naming a
YAML file of ``KEY: secret`` that must be mode 0600.  A literal secret is refused, because an
inventory is the file people paste into tickets.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.collect import connection_options
from agent.collect.connection_options import Picked
from agent.core import platforms, ssh_algorithms
from agent.core.hostkeys import MODES
from agent.core.models import TRANSPORTS, Credential, Target
from agent.core.untrusted import InputError, check_expansion, check_yaml_text, decode_utf8, read_capped

# Keys a Nornir host may carry at top level; the rest of ours live under ``data``.
_TOP_KEYS = {"hostname", "port", "username", "password", "platform", "groups", "data", "connection_options"}
_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_SECRET_KEYS = ("password", "enable_secret", "snmp_community", "snmp_auth_key", "snmp_priv_key")


class InventoryError(ValueError):
    """A problem in the inventory, with the file and host it is about."""

    def __init__(self, message: str, file: Path | str | None = None, host: str | None = None):
        where = ", ".join(p for p in (f"{file}" if file else "", f"host {host!r}" if host else "") if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.file = str(file) if file else None
        self.host = host
        self.reason = message


class InventoryProblems(InventoryError):
    """Every problem of one inventory, found in one pass over all its hosts.  A reason shared by many
    hosts (an unset environment variable in the defaults, a bad group) is said once with the hosts
    it concerns, so 500 hosts missing one variable make one line, not 500."""

    SHOWN_HOSTS = 5  # host names listed per shared reason before "and N more"
    SHOWN_LINES = 50  # distinct problems printed; the count says how many there are

    def __init__(self, problems: list[InventoryError]):
        self.problems = problems
        by_reason: dict[tuple[str | None, str], list[str | None]] = {}
        for p in problems:
            by_reason.setdefault((p.file, p.reason), []).append(p.host)
        hosts = {p.host for p in problems}
        lines = [f"{len(problems)} problem(s) in {len(hosts)} host(s) of the inventory, all listed here:"]
        for (file, reason), names in list(by_reason.items())[: self.SHOWN_LINES]:
            named = [repr(n) for n in names if n is not None][: self.SHOWN_HOSTS]
            more = f" and {len(names) - len(named)} more" if len(names) > len(named) and named else ""
            who = (f"host {named[0]}" if len(names) == 1 else f"hosts {', '.join(named)}{more}") if named else ""
            lines.append("  " + ", ".join(x for x in (file or "", who) if x) + f": {reason}")
        if len(by_reason) > self.SHOWN_LINES:
            lines.append(f"  ... and {len(by_reason) - self.SHOWN_LINES} more distinct problem(s)")
        ValueError.__init__(self, "\n".join(lines))
        self.file = problems[0].file if problems else None
        self.host = None
        self.reason = lines[0]


@dataclass(slots=True)
class Inventory:
    targets: list[Target]
    source: str
    # Every secret value resolved while loading: the redactor scrubs them from any text we emit.
    secrets: frozenset[str] = field(repr=False)  # never in a repr, a log line or a traceback


# libyaml's C loader when present: the pure-Python one took 1.3 s for 2,000 hosts.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    """Safe loader that refuses duplicate keys: two hosts with one name is a mistake, not an override."""


_MERGE = "tag:yaml.org,2002:merge"


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == _MERGE:  # '<<: *defaults': merged by the SafeLoader, own keys win
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {key_node.start_mark.line + 1})", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# An inventory is data a person wrote: 20,000 hosts take a few MiB.  The cap also bounds how deep
# block nesting can go (each level is a wider indent), which libyaml's composer recurses over.
MAX_FILE_BYTES = 32 << 20
# Values the document may hold once every alias is expanded: generous for anchors shared by every
# host (`<<: *defaults`), far below what nested aliases reach (10^9 from 700 bytes).
MAX_EXPANDED = 2_000_000


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = decode_utf8(read_capped(path, MAX_FILE_BYTES, "file"), "file")
        check_yaml_text(text, "YAML")
    except OSError as exc:
        raise InventoryError(f"cannot read: {exc.strerror}", path) from None
    except InputError as exc:
        raise InventoryError(str(exc), path) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
        if "&" in text:  # no anchor, no alias: nothing to expand
            check_expansion(data, max(MAX_EXPANDED, len(text)), "YAML")
    except yaml.YAMLError as exc:
        raise InventoryError(f"not valid YAML: {exc}", path) from None
    except InputError as exc:
        raise InventoryError(str(exc), path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InventoryError("expected a mapping at the top level", path)
    return data


def _locate(path: Path) -> tuple[dict, dict, dict, dict[str, Path]]:
    """Read hosts/groups/defaults from whichever shape ``path`` is."""
    if path.is_dir():
        hosts_file = path / "hosts.yaml"
        if not hosts_file.exists():
            hosts_file = path / "hosts.yml"
        if not hosts_file.exists():
            raise InventoryError("directory has no hosts.yaml", path)
        base = path
    elif path.exists():
        data = _read_yaml(path)
        if "hosts" in data:
            files = {k: path for k in ("hosts", "groups", "defaults")}
            return data.get("hosts") or {}, data.get("groups") or {}, data.get("defaults") or {}, files
        hosts_file, base = path, path.parent
    else:
        raise InventoryError("no such file or directory", path)
    files = {"hosts": hosts_file}
    parts = {"hosts": _read_yaml(hosts_file)}
    for part in ("groups", "defaults"):
        for suffix in (".yaml", ".yml"):
            candidate = base / f"{part}{suffix}"
            if candidate.exists():
                parts[part] = _read_yaml(candidate)
                files[part] = candidate
                break
        else:
            parts[part] = {}
            files[part] = base / f"{part}.yaml"
    return parts["hosts"], parts["groups"], parts["defaults"], files


class _SecretResolver:
    def __init__(self, credentials_file: Path | None, env: dict[str, str]):
        self._file = credentials_file
        self._env = env
        self._file_data: dict[str, Any] | None = None
        self.seen: set[str] = set()

    def _load_file(self) -> dict[str, Any]:
        if self._file_data is None:
            path = self._file
            if path is None:
                raise InventoryError("a 'file:' secret reference needs 'credentials_file' in defaults")
            try:
                mode = path.stat().st_mode
            except OSError as exc:
                raise InventoryError(f"credentials file unreadable: {exc.strerror}", path) from None
            if stat.S_IMODE(mode) & 0o077:
                raise InventoryError(
                    f"credentials file is mode {stat.S_IMODE(mode):04o}; it holds secrets and must be 0600 "
                    f"(chmod 600 {path})",
                    path,
                )
            data = _read_yaml(path)
            self._file_data = {str(k): v for k, v in data.items()}
        return self._file_data

    def resolve(self, value: Any, what: str, file: Path, host: str) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise InventoryError(f"{what} must be a reference such as ${{ENV_VAR}} or file:KEY", file, host)
        match = _REF.match(value.strip())
        if match:
            name = match.group(1)
            if name not in self._env:
                raise InventoryError(f"{what} refers to environment variable {name}, which is not set", file, host)
            secret = self._env[name]
        elif value.startswith("file:"):
            key = value[5:].strip()
            data = self._load_file()
            if key not in data:
                raise InventoryError(f"{what} refers to {key!r}, not found in {self._file}", file, host)
            secret = str(data[key])
        else:
            # Do not echo the value: it may be the secret itself.
            raise InventoryError(
                f"{what} is written in clear; use ${{ENV_VAR}} or file:KEY with a 0600 credentials_file", file, host
            )
        if secret:
            self.seen.add(secret)
        return secret


def _group_chain(name: str, groups: dict, file: Path, host: str, trail: tuple[str, ...] = (),
                 memo: dict[str, list[str]] | None = None) -> list[str]:
    """``name`` then its parents depth first, each once (Nornir's order).  ``memo`` keeps each
    group's chain: groups sharing parents would otherwise be walked once per path, 2^40 times for a
    40-level diamond, and every host of a group shares its chain."""
    if not isinstance(name, str):  # a mapping or list here would otherwise end in a TypeError
        raise InventoryError(f"group name {name!r} is not a string", file, host)
    if memo is not None and name in memo:
        return memo[name]
    if name in trail:
        raise InventoryError(f"group cycle: {' -> '.join(trail + (name,))}", file, host)
    if name not in groups:
        raise InventoryError(f"unknown group {name!r}", file, host)
    order = [name]
    for parent in (groups[name] or {}).get("groups", []) or []:
        for g in _group_chain(parent, groups, file, host, trail + (name,), memo):
            if g not in order:
                order.append(g)
    if memo is not None:
        memo[name] = order
    return order


def _layers(host: str, hdata: dict, groups: dict, defaults: dict, files: dict[str, Path],
            memo: dict[str, list[str]] | None = None) -> list[dict]:
    chain: list[str] = []
    for g in hdata.get("groups", []) or []:
        if not isinstance(g, str) or g not in groups:  # the mistake is in the host's own entry: its file
            raise InventoryError(f"unknown group {g!r}", files["hosts"], host)
        for name in _group_chain(g, groups, files["groups"], host, memo=memo):
            if name not in chain:
                chain.append(name)
    return [hdata] + [groups[g] or {} for g in chain] + [defaults]


def _pick(layers: list[dict], key: str) -> Any:
    for layer in layers:
        if layer.get(key) is not None:
            return layer[key]
        data = layer.get("data") or {}
        if data.get(key) is not None:
            return data[key]
    return None


def _merged_data(layers: list[dict]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in reversed(layers):
        merged.update(layer.get("data") or {})
    return merged


def _host_key_options(options: dict[str, Any], hdata: dict, files: dict[str, Path], hosts_file: Path,
                      name: str) -> None:
    """Check ``data.host_keys`` and resolve ``data.known_hosts`` (agent.core.hostkeys).  ``insecure``
    turns host-key checking off, so it is taken only from the host's own entry: a group or the
    defaults would silently extend it to every host added there later."""
    mode = options.get("host_keys")
    if mode is not None and mode not in MODES:
        raise InventoryError(f"data.host_keys {mode!r} is not one of {', '.join(MODES)}", hosts_file, name)
    if mode == "insecure" and (hdata.get("data") or {}).get("host_keys") != "insecure":
        raise InventoryError("data.host_keys: insecure is a per-host opt-in: set it on the host itself, "
                             "not in a group or the defaults", hosts_file, name)
    paths = options.get("known_hosts")
    if paths is None:
        return
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise InventoryError("data.known_hosts must be a file name or a list of them", hosts_file, name)
    resolved = []
    for p in paths:
        path = Path(p).expanduser()
        if not path.is_absolute():
            path = files["defaults"].parent / path
        if not path.is_file():
            raise InventoryError(f"data.known_hosts {p!r}: no such file ({path})", hosts_file, name)
        resolved.append(str(path))
    options["known_hosts"] = tuple(resolved)


def _telnet_opt_in(layers: list[dict], transports: list, hosts_file: Path, name: str) -> None:
    """``transports: [telnet]`` sends credentials in clear, so it is taken only from the host or its
    groups: in the defaults it would extend silently to every host added later (as ``data.host_keys:
    insecure``).  ``data.telnet_port`` (default 23; ``port`` is SSH's) must be a TCP port."""
    if "telnet" not in transports:
        return
    source = next(i for i, layer in enumerate(layers) if _pick([layer], "transports") is not None)
    if source == len(layers) - 1:
        raise InventoryError("transports: [telnet] sends credentials in clear and is a per-host or per-group "
                             "opt-in: set it on the host or its group, not in the defaults", hosts_file, name)
    port = _pick(layers, "telnet_port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
        raise InventoryError(f"data.telnet_port {port!r} is not a TCP port", hosts_file, name)


def load_inventory(path: str | Path, env: dict[str, str] | None = None) -> Inventory:
    """Load and fully resolve an inventory; raise InventoryError naming file and host.  A CSV file
    or a ``nautobot+``/``netbox+`` URL is read by its source module (agent.collect.sources), which
    builds the same host entries and resolves them through ``build_inventory`` below."""
    env = dict(os.environ) if env is None else env
    from agent.collect import sources  # light: the source modules are imported only when claimed

    if sources.claims(path):
        return sources.load(str(path), env)
    path = Path(path)
    hosts, groups, defaults, files = _locate(path)
    return build_inventory(hosts, groups, defaults, files, env, str(path))


def credentials_path(defaults: dict, files: dict[str, Path]) -> Path | None:
    """The defaults' ``credentials_file`` (top level or under ``data``), relative to defaults.yaml."""
    cred_file = defaults.get("credentials_file") or (defaults.get("data") or {}).get("credentials_file")
    if not cred_file:
        return None
    path = Path(cred_file)
    return path if path.is_absolute() else files["defaults"].parent / path


def build_inventory(hosts: Any, groups: Any, defaults: Any, files: dict[str, Path], env: dict[str, str],
                    source: str) -> Inventory:
    """Nornir-shaped ``hosts``/``groups``/``defaults`` (``files`` names where each came from) into
    resolved Targets: the YAML files' path, and every other source's after it built the entries."""
    for what, part in (("hosts", hosts), ("groups", groups), ("defaults", defaults)):
        if not isinstance(part, dict):
            raise InventoryError(f"'{what}' must be a mapping", files[what])
    resolver = _SecretResolver(credentials_path(defaults, files), env)
    hosts_file = files["hosts"]
    reader = _HostReader(groups, defaults, files, resolver)
    targets: list[Target] = []
    problems: list[InventoryError] = []
    # Every host is read even after a bad one: a 500-host inventory with 7 mistakes is fixed in
    # one pass, from one message listing all 7, not in 7 runs.
    for name, hdata in hosts.items():
        try:
            targets.append(reader.target(name, hdata))
        except InventoryError as exc:
            problems.append(exc)
    if problems:
        raise InventoryProblems(problems)
    if not targets:
        raise InventoryError("no hosts", hosts_file)
    return Inventory(targets=targets, source=source, secrets=frozenset(resolver.seen))


class _HostReader:
    """One host entry -> its Target, or the InventoryError naming what is wrong with it.  Holds what
    every host of the inventory shares (groups, defaults, the secret resolver, the connection
    options already resolved per group)."""

    def __init__(self, groups: dict, defaults: dict, files: dict[str, Path], resolver: _SecretResolver):
        self.groups, self.defaults, self.files, self.resolver = groups, defaults, files, resolver
        self.connection = connection_options.Resolver(groups, defaults, files)
        self.chains: dict[str, list[str]] = {}  # group -> its chain of parents, shared by its hosts

    def target(self, name: Any, hdata: Any) -> Target:
        groups, defaults, files, resolver = self.groups, self.defaults, self.files, self.resolver
        hosts_file = files["hosts"]
        name = str(name)
        if hdata is None:
            hdata = {}
        if not isinstance(hdata, dict):
            raise InventoryError("host entry must be a mapping", hosts_file, name)
        layers = _layers(name, hdata, groups, defaults, files, self.chains)
        conn = self._connection_parameters(hdata, hosts_file, name)
        platform = _platform(conn.get("platform"), _pick(layers, "platform"), hosts_file, name)
        address = connection_options.first(conn.get("hostname"), lambda: _pick(layers, "hostname")) or name
        port = connection_options.first(conn.get("port"), lambda: _pick(layers, "port")) or 22
        try:
            port = int(port)
            if not 0 < port < 65536:
                raise ValueError
        except (TypeError, ValueError):
            field = conn["port"].where() if "port" in conn else "port"
            raise InventoryError(f"{field} {port!r} is not a TCP port", hosts_file, name) from None
        transports = _pick(layers, "transports") or ["ssh"]
        if isinstance(transports, str):
            transports = [transports]
        bad = [t for t in transports if t not in TRANSPORTS]
        if bad:
            raise InventoryError(f"unknown transport(s) {bad} (known: {', '.join(TRANSPORTS)})", hosts_file, name)
        _telnet_opt_in(layers, transports, hosts_file, name)
        username = connection_options.first(conn.get("username"), lambda: _pick(layers, "username"))
        password = _secret(resolver, conn.get("password"), _pick(layers, "password"), "password", hosts_file, name)
        enable = _secret(resolver, conn.get("secret"), _pick(layers, "enable_secret"), "enable_secret",
                         hosts_file, name)
        if {"ssh", "netconf", "telnet"} & set(transports):
            if not username:
                raise InventoryError("no username for an SSH/NETCONF/telnet transport", hosts_file, name)
            if password is None:
                raise InventoryError("no password reference for an SSH/NETCONF/telnet transport", hosts_file, name)
        data = _merged_data(layers)
        options = {k: v for k, v in data.items() if k not in ("site", "transports", "contract_site_ids", "max_age_days")}
        for key in _SECRET_KEYS[2:]:
            if key in options:
                options[key] = resolver.resolve(options[key], key, hosts_file, name)
        options.pop("enable_secret", None)
        options.pop("credentials_file", None)
        _host_key_options(options, hdata, files, hosts_file, name)
        try:  # data.ssh_algorithms / data.ssh_step_down: a typo is an inventory error, not a failed handshake
            ssh_algorithms.parse(options.get("ssh_algorithms"))
            ssh_algorithms.step_down_enabled(options)
        except ssh_algorithms.AlgorithmError as exc:
            raise InventoryError(str(exc), hosts_file, name) from None
        max_age = data.get("max_age_days")
        if max_age is not None:
            if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age <= 0:
                raise InventoryError(f"data.max_age_days {max_age!r} is not a whole number of days above 0",
                                     hosts_file, name)
        site_ids = data.get("contract_site_ids") or []
        if isinstance(site_ids, (str, int)):
            site_ids = [site_ids]
        return (
            Target(
                name=name,
                host=str(address),
                platform=platform,
                port=port,
                site=str(data.get("site") or _pick(layers, "site") or ""),
                transports=tuple(transports),
                credential=Credential(str(username), password, enable) if username else None,
                groups=tuple(hdata.get("groups", []) or []),
                options=options,
                contract_site_ids=tuple(str(s) for s in site_ids),
                max_age_days=max_age,
            )
        )

    def _connection_parameters(self, hdata: dict, hosts_file: Path, name: str) -> dict[str, Picked]:
        try:
            return self.connection.parameters(hdata)
        except connection_options.OptionsError as exc:
            raise InventoryError(str(exc), exc.file, name) from None


def _platform(picked: Picked | None, own: Any, hosts_file: Path, name: str) -> str:
    """The platform's canonical name, from a connection option's platform (a netmiko device type
    or a NAPALM driver name) or the host's own; every accepted spelling is an alias in
    platform_defs/*.yaml."""
    value = picked.value if picked is not None else own
    if not value:
        raise InventoryError("no platform (set it on the host, a group or defaults)", hosts_file, name)
    found = platforms.lookup(value)
    if found is None:
        field = picked.where() if picked is not None else "platform"
        raise InventoryError(
            f"{field}: unknown platform {value!r} (ibagent reads {', '.join(platforms.names())}; their NAPALM "
            f"driver and netmiko device type names are accepted too, see README 'Inventory')", hosts_file, name)
    return found.name


def _secret(resolver: _SecretResolver, picked: Picked | None, own: Any, what: str, file: Path,
            name: str) -> str | None:
    """A secret from a connection option (which wins, as in Nornir) or our own key, resolved."""
    if picked is not None:
        return resolver.resolve(picked.value, picked.where(), file, name)
    return resolver.resolve(own, what, file, name)
