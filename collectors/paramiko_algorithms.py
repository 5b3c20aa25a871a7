"""``data.ssh_algorithms`` (agent.core.ssh_algorithms) on paramiko, for the netmiko driver.

paramiko 4+ removed the SHA-1 key exchanges (``diffie-hellman-group1-sha1``,
``diffie-hellman-group14-sha1``) and ``ssh-rsa`` host-key signatures, and netmiko's
``disabled_algorithms`` can only take algorithms away.  So, for the legacy and ancient profiles:

1. :func:`install` registers implementations of those algorithms in paramiko's tables of what it
   *can* do (``Transport._kex_info``, ``_key_info``), without adding them to what it *offers*
   (``_preferred_*``): a paramiko user that does not ask (ncclient, another library in the same
   process) offers exactly what it offered before.
2. The offer of one connection is an :class:`AlgorithmChoice`, handed to paramiko as its
   ``disabled_algorithms`` mapping (netmiko passes it through unchanged).  paramiko builds every
   offer with ``Transport._filter_algorithm``; ``install`` wraps that method so a transport
   carrying an AlgorithmChoice offers the choice's lists (paramiko's defaults first, then the
   profile's additions), and any other transport behaves as before.

The key exchanges reuse paramiko's own group-14 code with SHA-1 and (group 1) the 1024-bit Oakley
group 2 prime of RFC 2409 section 6.2; the ``ssh-rsa`` key verifies signatures with SHA-1.
"""
from __future__ import annotations

import threading
from hashlib import sha1

import paramiko
from cryptography.hazmat.primitives import hashes
from paramiko.kex_group14 import KexGroup14SHA256
from paramiko.rsakey import RSAKey

from agent.core import ssh_algorithms as algs
from agent.core.ssh_algorithms import AlgorithmProfile
from collectors.base import CollectError


class KexGroup14SHA1(KexGroup14SHA256):
    name = "diffie-hellman-group14-sha1"
    hash_algo = sha1


class KexGroup1SHA1(KexGroup14SHA1):
    # RFC 2409 6.2, the second Oakley group (1024 bits).  paramiko's x generator draws 1023 bits,
    # which is what its own group-1 code did before it was removed.
    P = int(
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF", 16)
    name = "diffie-hellman-group1-sha1"


class SHA1RSAKey(RSAKey):
    """An RSA host key that also accepts ``ssh-rsa`` (SHA-1) signatures, for the profiles that allow them."""

    HASHES = {**RSAKey.HASHES, "ssh-rsa": hashes.SHA1}


class _KexTable(dict):
    """paramiko's kex table, noting on the transport which exchange it instantiates: paramiko drops
    its kex engine once the keys are switched, and the store wants to know what was agreed."""

    def __getitem__(self, name):
        cls = super().__getitem__(name)

        def make(transport):
            transport.ibagent_kex = name
            return cls(transport)

        return make


_CATEGORY = {"kex": "kex", "ciphers": "ciphers", "macs": "macs", "hostkey": "keys"}
_lock = threading.Lock()
_installed = False


class AlgorithmChoice(dict):
    """paramiko's ``disabled_algorithms`` mapping, carrying the exact offer of one connection.

    As a mapping it disables what the host-key policy rules out (``keys``), so a paramiko without
    :func:`install` still honours the policy; ``offers`` is what the wrapped filter uses."""

    def __init__(self, disabled: dict[str, list[str]] | None, offers: dict[str, tuple[str, ...]]) -> None:
        super().__init__(disabled or {})
        self.offers = offers

    def __bool__(self) -> bool:  # netmiko and paramiko replace a false mapping by {}
        return True


def install() -> None:
    """Teach paramiko the legacy algorithms (implementations only; nothing is offered by default)."""
    global _installed
    with _lock:
        if _installed:
            return
        T = paramiko.Transport
        T._kex_info = _KexTable({**T._kex_info, KexGroup14SHA1.name: KexGroup14SHA1, KexGroup1SHA1.name: KexGroup1SHA1})
        T._key_info = {**T._key_info, "ssh-rsa": SHA1RSAKey}
        original = T._filter_algorithm

        def _filter_algorithm(self, type_):
            choice = self.disabled_algorithms
            if isinstance(choice, AlgorithmChoice) and type_ in choice.offers:
                return tuple(a for a in choice.offers[type_] if a not in choice.get(type_, ()))
            return original(self, type_)

        T._filter_algorithm = _filter_algorithm
        _installed = True


def implemented(category: str) -> frozenset[str]:
    T = paramiko.Transport
    table = {"kex": T._kex_info, "ciphers": T._cipher_info, "macs": T._mac_info, "hostkey": T._key_info}[category]
    return frozenset(table)


def choice(profile: AlgorithmProfile, disabled: dict[str, list[str]] | None,
           trusted_host_key_algs: list[str] | None = None) -> AlgorithmChoice:
    """The ``disabled_algorithms`` value for netmiko: ``profile`` on top of paramiko's defaults,
    with the host-key policy's exclusions (``disabled``) still applied and, when the policy
    restricts this host to known key types, only their algorithms (``trusted_host_key_algs``)."""
    install()
    T = paramiko.Transport
    defaults = {"kex": list(T._preferred_kex), "ciphers": list(T._preferred_ciphers),
                "macs": list(T._preferred_macs), "hostkey": list(T._preferred_keys)}
    offers = {}
    for cat in algs.CATEGORIES:
        offer = [a for a in algs.merged(defaults[cat], profile, cat, implemented(cat))
                 if a not in (disabled or {}).get(_CATEGORY[cat], ())]
        if cat == "hostkey" and trusted_host_key_algs is not None:
            offer = [a for a in offer if a in trusted_host_key_algs]
        if not offer:
            raise CollectError("config", f"data.ssh_algorithms: none of the {cat} named is usable with paramiko "
                               "(or the host-key policy rules them out)")
        offers[_CATEGORY[cat]] = tuple(offer)
    return AlgorithmChoice(disabled, offers)


def negotiated(transport: paramiko.Transport | None) -> dict[str, str]:
    """What one paramiko session agreed on, as the store keeps it."""
    if transport is None:
        return {}
    kex = getattr(transport, "ibagent_kex", "") or ""
    cipher = getattr(transport, "local_cipher", "") or ""
    mac = getattr(transport, "local_mac", "") or ""
    return {"kex": kex, "cipher": cipher, "mac": "" if "gcm" in cipher else mac,
            "hostkey": getattr(transport, "host_key_type", "") or ""}
