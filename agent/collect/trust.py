"""The scan's side of host-key trust (agent.core.hostkeys): each target gets its policy before
its first connection, and what its connections were shown is recorded with the device.

The policy comes from the store (keys trusted on first use) and the known_hosts files (the
scan's ``--known-hosts``, the inventory's ``data.known_hosts``); the mode from ``--host-keys`` or
the inventory's ``data.host_keys`` (the host's own value wins).  Collectors see only the policy
(``Target.host_keys``) and report every verdict through it; this module hands the verdicts to the
store in the device's own transaction, so a key learned on first use is kept whatever the
device's ending.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from agent.core.hostkeys import HostKeySeen, KnownHostsError, PolicyBook
from agent.core.models import Target
from agent.store import Store

log = logging.getLogger("ibagent.scan")


def _ports(target: Target) -> tuple[int, ...]:
    """Every port the scan may reach ``target`` on: SSH's and NETCONF's."""
    ports = [target.port]
    if "netconf" in target.transports:
        from collectors.netconf import netconf_port

        port = netconf_port(target)
        if port is not None:
            ports.append(port)
    return tuple(ports)


class ScanTrust:
    def __init__(self, store: Store, mode: str, known_hosts: Sequence[str]) -> None:
        self.book = PolicyBook(store.trusted_host_keys(), mode, known_hosts)

    def insecure(self, targets: Sequence[Target]) -> list[str]:
        """The targets whose inventory entry opts out of host-key checking, warned about once."""
        names = [t.name for t in targets if self.book.mode_of(t.options) == "insecure"]
        if names:
            log.warning("host keys are NOT checked for %d device(s) (data.host_keys: insecure in the inventory): "
                        "an impostor on their addresses would receive their credentials: %s",
                        len(names), ", ".join(names))
        return names

    def attach(self, target: Target, report: Callable[[HostKeySeen], None]) -> Target:
        """``target`` with its policy; KnownHostsError when its known_hosts file cannot be used."""
        policy = self.book.policy(target.host, target.options, _ports(target), report)
        return dataclasses.replace(target, host_keys=policy)

    @staticmethod
    def record(store: Store, device: str, seen: Sequence[HostKeySeen]) -> list[HostKeySeen]:
        """Write the verdicts (inside the caller's transaction); returns the keys learned, for
        ``announce`` once that transaction has committed."""
        return store.record_host_keys(device, seen)

    @staticmethod
    def announce(device: str, learned: Sequence[HostKeySeen]) -> None:
        for s in learned:
            log.info("%s: trusting %s:%s's %s host key %s on first use", device, s.host, s.port, s.key_type,
                     s.fingerprint)


__all__ = ["KnownHostsError", "ScanTrust"]
