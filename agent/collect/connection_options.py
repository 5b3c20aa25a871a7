"""Nornir ``connection_options`` (netmiko's and NAPALM's) read the way Nornir resolves them.

A Nornir inventory often keeps the connection's own parameters there rather than at the top of a
host: the enable secret in ``connection_options: {netmiko: {extras: {secret: ...}}}`` (NAPALM:
``extras: {optional_args: {secret: ...}}``), a per-driver ``platform`` (``cisco_ios`` for netmiko
beside ``ios`` for NAPALM), a ``port`` or ``username`` for that connection only.  Ignoring them made
an ASA fail ``enable refused`` although its inventory worked with Nornir.

Precedence is Nornir 3's own (``Host.get_connection_parameters``), reproduced attribute by attribute
(hostname, port, username, password, platform, extras):

  * the host's ``connection_options.<conn>``, then each of its groups in order, each group
    resolved the same way *including the defaults* before the next group is looked at, then the
    defaults.  (So a value in the defaults' connection options wins over one in a host's second
    group: Nornir does this, and an inventory must mean the same here as there.)
  * ``extras`` is taken whole from the first level that has it, never merged key by key;
  * an attribute no connection option sets falls back to the host's own (host, groups, defaults).

What the connection plugins then do is applied too: nornir_netmiko hands ``extras`` to netmiko
after the attributes, so ``extras.port``, ``extras.username``, ``extras.secret``... win;
nornir_napalm does the same with ``hostname``/``username``/``password`` and reads ``secret`` and
``port`` from ``extras.optional_args``.  ibagent's SSH session stands in for both: netmiko's
options are taken first (its session is a CLI session like ours), then NAPALM's.

This module only finds values and says where they came from; inventory.py checks them and resolves
secret references.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

# The connection plugins whose options describe the session ibagent opens, in order of precedence.
CONNECTIONS = ("netmiko", "napalm")
# Nornir's ConnectionOptions attributes: any other key under connection_options.<conn> is refused
# by Nornir itself (so a misplaced 'secret' there is a mistake worth naming).
ATTRIBUTES = ("hostname", "port", "username", "password", "platform", "extras")
# What each plugin's extras may say that ibagent uses, as (path inside extras, our field).
_EXTRAS = {
    "netmiko": ((("host",), "hostname"), (("port",), "port"), (("username",), "username"),
                (("password",), "password"), (("device_type",), "platform"), (("secret",), "secret")),
    "napalm": ((("hostname",), "hostname"), (("username",), "username"), (("password",), "password"),
               (("optional_args", "port"), "port"), (("optional_args", "secret"), "secret")),
}
FIELDS = ("hostname", "port", "username", "password", "platform", "secret")


@dataclass(frozen=True, slots=True)
class Picked:
    """A value and where it was written: ``field`` as a dotted path, ``origin`` the host, a group
    or the defaults, ``file`` the file holding it (for the error message that names all three)."""

    value: Any
    field: str
    origin: str
    file: Path

    def where(self) -> str:
        return f"{self.field}, from {self.origin} in {self.file.name}" if self.origin != "host" else self.field


class OptionsError(ValueError):
    """A malformed connection_options entry: message, file and the element it sits on."""

    def __init__(self, message: str, file: Path):
        super().__init__(message)
        self.file = file


_Level = dict[str, tuple[Any, str, Path]]  # attribute -> (value, origin, file)


class Resolver:
    """Resolves connection parameters for every host of one inventory.  Groups are shared by many
    hosts, so each group's resolution is computed once (also bounds the work on a group graph
    with many shared parents, which a naive recursion walks exponentially often)."""

    def __init__(self, groups: dict, defaults: dict, files: dict[str, Path]):
        self._groups = groups
        self._defaults = defaults
        self._files = files
        self._memo: dict[tuple[str, str], _Level] = {}

    # ---------------------------------------------------------------- one element's own options

    def _own(self, element: dict, conn: str, origin: str, file: Path) -> _Level:
        options = element.get("connection_options")
        if options is None:
            return {}
        label = f"connection_options ({origin})"
        if not isinstance(options, dict):
            raise OptionsError(f"{label} must be a mapping of connection name to its options", file)
        entry = options.get(conn)
        if entry is None:
            return {}
        if not isinstance(entry, dict):
            raise OptionsError(f"connection_options.{conn} ({origin}) must be a mapping", file)
        unknown = sorted(str(k) for k in entry if k not in ATTRIBUTES)
        if unknown:
            hint = " (an enable secret goes under extras: extras.secret)" if "secret" in unknown else ""
            raise OptionsError(f"connection_options.{conn} ({origin}): unknown key(s) {', '.join(unknown)}; "
                               f"Nornir accepts {', '.join(ATTRIBUTES)}{hint}", file)
        extras = entry.get("extras")
        if extras is not None and not isinstance(extras, dict):
            raise OptionsError(f"connection_options.{conn}.extras ({origin}) must be a mapping", file)
        return {k: (v, origin, file) for k, v in entry.items() if v is not None}

    @staticmethod
    def _fill(into: _Level, other: _Level) -> None:
        for attr, picked in other.items():
            into.setdefault(attr, picked)

    def _group(self, name: str, conn: str, trail: tuple[str, ...] = ()) -> _Level:
        key = (name, conn)
        if key in self._memo:
            return self._memo[key]
        if name in trail or name not in self._groups:  # inventory.py names cycles and unknown groups first
            return {}
        group = self._groups[name] or {}
        level = dict(self._own(group, conn, f"group {name!r}", self._files["groups"]))
        for parent in group.get("groups") or []:
            self._fill(level, self._group(str(parent), conn, trail + (name,)))
        self._fill(level, self._own(self._defaults, conn, "defaults", self._files["defaults"]))
        self._memo[key] = level
        return level

    def _connection(self, host: dict, conn: str) -> _Level:
        level = dict(self._own(host, conn, "host", self._files["hosts"]))
        for name in host.get("groups") or []:
            self._fill(level, self._group(str(name), conn))
        self._fill(level, self._own(self._defaults, conn, "defaults", self._files["defaults"]))
        return level

    # ---------------------------------------------------------------- the session's parameters

    def parameters(self, host: dict) -> dict[str, Picked]:
        """Our fields (:data:`FIELDS`) that the host's netmiko or NAPALM options set, each with
        where it was written.  A field absent here falls back to the host's own attribute."""
        found: dict[str, Picked] = {}
        for conn in CONNECTIONS:
            level = self._connection(host, conn)
            mine: dict[str, Picked] = {}
            for attr in FIELDS:
                if attr in level:
                    value, origin, file = level[attr]
                    mine[attr] = Picked(value, f"connection_options.{conn}.{attr}", origin, file)
            if "extras" in level:
                extras, origin, file = level["extras"]
                for path, attr in _EXTRAS[conn]:
                    value = _dig(extras, path)
                    if value is not None:  # the plugin passes extras after the attributes: they win
                        field = f"connection_options.{conn}.extras.{'.'.join(path)}"
                        mine[attr] = Picked(value, field, origin, file)
            for attr, picked in mine.items():
                found.setdefault(attr, picked)
        return found


def _dig(mapping: dict, path: tuple[str, ...]) -> Any:
    value: Any = mapping
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def first(picked: Picked | None, fallback: Callable[[], Any]) -> Any:
    """The connection option's value when one is set, else the host's own attribute."""
    return picked.value if picked is not None else fallback()
