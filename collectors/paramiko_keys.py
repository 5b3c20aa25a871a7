"""Host-key checks for the paramiko-based collectors (``ssh_netmiko``, ``netconf``).

paramiko learns the server's key in the key exchange (``Transport.start_client``) and both
netmiko (through ``SSHClient.connect``) and ncclient (``SSHSession.connect``) judge it there,
before their first authentication request.  This module plugs ``target.host_keys``
(agent.core.hostkeys) into both places, so the policy, not a known_hosts file in the user's home
or an auto-add default, decides; a refused key ends the connection with kind ``hostkey`` and
nothing of ours was sent.  Imported only when one of those collectors runs (paramiko is heavy).
"""
from __future__ import annotations

import time

import paramiko

from agent.core import hostkeys
from agent.core.hostkeys import HostKeySeen
from agent.core.models import Target
from collectors.base import CollectError


class HostKeyRefused(paramiko.SSHException):
    """Raised inside paramiko's connect to stop it before authentication."""


class ParamikoHostKeyCheck:
    def __init__(self, target: Target, port: int | None = None) -> None:
        self.target = target
        self.port = target.port if port is None else port
        self.policy = target.host_keys
        self.seen: HostKeySeen | None = None
        self.types = self.policy.key_types(self.port) if self.policy is not None else ()

    def accept(self, key: paramiko.PKey) -> bool:
        """Judge the key the server presented (``key.get_name()`` is the key type, also for RSA)."""
        if self.policy is None:
            return True
        self.seen = self.policy.verify(self.target.host, self.port, key.get_name(), key.get_base64(), at=time.time())
        return self.seen.ok

    def algorithms(self) -> list[str]:
        """Host-key algorithms to negotiate: those of the trusted key types, or paramiko's own."""
        preferred = list(paramiko.Transport._preferred_keys)
        if not self.types:
            return preferred
        return [a for a in hostkeys.algorithms(self.types) if a in preferred]

    def disabled_algorithms(self) -> dict[str, list[str]] | None:
        """For ``SSHClient.connect(disabled_algorithms=...)``: every host-key algorithm but ours."""
        if not self.types:
            return None
        allowed = set(self.algorithms())
        return {"keys": [a for a in paramiko.Transport._preferred_keys if a not in allowed]}

    def key_policy(self) -> paramiko.MissingHostKeyPolicy:
        """For ``SSHClient``: with no host keys loaded, paramiko asks this for every server key."""
        check = self

        class _Policy(paramiko.MissingHostKeyPolicy):
            def missing_host_key(self, client, hostname, key):
                if not check.accept(key):
                    raise HostKeyRefused(check.seen.message())

        return _Policy()

    def refusal(self, exc: BaseException | None = None) -> CollectError | None:
        """The ``hostkey`` error when the connection failed because of the host key, else None."""
        if self.seen is not None and not self.seen.ok:
            return CollectError("hostkey", self.seen.message())
        if self.types and self.seen is None and exc is not None and "no acceptable host key" in str(exc):
            # We asked only for the key types trusted for this host and the server has none.
            seen = self.policy.no_common_type(self.target.host, self.port, at=time.time())
            return CollectError("hostkey", seen.message())
        return None
