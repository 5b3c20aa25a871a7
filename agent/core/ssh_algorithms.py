"""SSH algorithm profiles (``data.ssh_algorithms``) and the weak-crypto findings auditors ask for.

Why profiles: the installed base that support contracts cover is old.  IOS 15.0-15.2 offers only
``diffie-hellman-group14-sha1`` / ``ssh-rsa`` / AES-CBC / ``hmac-sha1``; IOS 12.2 only
``diffie-hellman-group1-sha1`` with CBC and 3DES.  Both SSH libraries stopped offering these by
default, so a scan of such a switch fails in the key exchange.  A profile says, per host, group or
defaults, what ibagent may additionally offer:

- ``modern`` (default): each driver's own defaults, today's behaviour;
- ``legacy``: also sha1 key exchange (group14), ``ssh-rsa`` host keys, AES-CBC, ``hmac-sha1``;
- ``ancient``: also ``diffie-hellman-group1-sha1`` and ``3des-cbc``;
- a mapping of explicit lists ``{kex: [...], ciphers: [...], macs: [...], hostkey: [...]}``: exactly
  those, in that order, for each category given (the others keep the driver's defaults).

Weaker algorithms are always offered *after* the driver's defaults, so a device that speaks
something better still gets it: a profile widens what is acceptable, it never downgrades a peer.
Host-key verification (agent.core.hostkeys) is not part of a profile and stays in force.

This module is pure data and judgement (no SSH library): the collectors map a profile onto their
library (collectors.ssh_algorithms for asyncssh, collectors.paramiko_algorithms for netmiko), the
inventory validates it, the store and the scan summary use :func:`weak_ssh` / :func:`weak_snmp`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

CATEGORIES = ("kex", "ciphers", "macs", "hostkey")
DEFAULT_PROFILE = "modern"
# The order step-down tries after a negotiation failure (data.ssh_step_down).
STEP_DOWN = ("legacy", "ancient")

_LEGACY = {
    "kex": ("diffie-hellman-group14-sha1",),
    "ciphers": ("aes128-cbc", "aes256-cbc"),
    "macs": ("hmac-sha1",),
    "hostkey": ("ssh-rsa",),
}
_ANCIENT = {
    "kex": ("diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"),
    "ciphers": ("aes128-cbc", "aes256-cbc", "3des-cbc"),
    "macs": ("hmac-sha1",),
    "hostkey": ("ssh-rsa",),
}

# Names an explicit list may use: what at least one of the two drivers implements.  A typo must be
# an inventory error, not a silent "no common algorithm" at scan time.
KNOWN = {
    "kex": frozenset({
        "mlkem768x25519-sha256", "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com",
        "curve25519-sha256", "curve25519-sha256@libssh.org", "curve448-sha512",
        "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
        "diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1",
        "diffie-hellman-group14-sha256", "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512",
        "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1",
    }),
    "ciphers": frozenset({
        "chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
        "aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc",
    }),
    "macs": frozenset({
        "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512",
        "umac-64-etm@openssh.com", "umac-128-etm@openssh.com", "umac-64@openssh.com", "umac-128@openssh.com",
        "hmac-sha1-etm@openssh.com", "hmac-sha1", "hmac-sha1-96", "hmac-md5", "hmac-md5-96",
    }),
    "hostkey": frozenset({
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "rsa-sha2-256", "rsa-sha2-512", "ssh-rsa",
    }),
}


@dataclass(frozen=True, slots=True)
class AlgorithmProfile:
    name: str  # modern | legacy | ancient | custom
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)  # offered after the driver's defaults
    exact: dict[str, tuple[str, ...]] = field(default_factory=dict)  # offered instead of them


PROFILES = {
    "modern": AlgorithmProfile("modern"),
    "legacy": AlgorithmProfile("legacy", extra=_LEGACY),
    "ancient": AlgorithmProfile("ancient", extra=_ANCIENT),
}


class AlgorithmError(ValueError):
    """``data.ssh_algorithms`` is not a known profile nor valid lists."""


def parse(value: Any) -> AlgorithmProfile:
    """``data.ssh_algorithms`` as written (None: the default) -> profile; :class:`AlgorithmError` if wrong."""
    if value is None:
        return PROFILES[DEFAULT_PROFILE]
    if isinstance(value, str):
        profile = PROFILES.get(value.strip().lower())
        if profile is None:
            raise AlgorithmError(f"data.ssh_algorithms {value!r} is not one of {', '.join(PROFILES)} nor a mapping "
                                 f"of {', '.join(CATEGORIES)} lists")
        return profile
    if not isinstance(value, dict) or not value:
        raise AlgorithmError("data.ssh_algorithms must be a profile name or a mapping of "
                             f"{', '.join(CATEGORIES)} lists")
    exact: dict[str, tuple[str, ...]] = {}
    for cat, names in value.items():
        if cat not in CATEGORIES:
            raise AlgorithmError(f"data.ssh_algorithms: unknown category {cat!r} (known: {', '.join(CATEGORIES)})")
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise AlgorithmError(f"data.ssh_algorithms.{cat} must be a non-empty list of algorithm names")
        unknown = [n for n in names if n not in KNOWN[cat]]
        if unknown:
            raise AlgorithmError(f"data.ssh_algorithms.{cat}: unknown {', '.join(map(repr, unknown))} "
                                 f"(known: {', '.join(sorted(KNOWN[cat]))})")
        exact[cat] = tuple(dict.fromkeys(names))
    return AlgorithmProfile("custom", exact=exact)


def step_down_enabled(options: dict[str, Any]) -> bool:
    value = options.get("ssh_step_down", False)
    if not isinstance(value, bool):
        raise AlgorithmError(f"data.ssh_step_down {value!r} is not true or false")
    return value


def step_down_order(current: AlgorithmProfile) -> tuple[str, ...]:
    """The named profiles to retry after ``current`` failed to negotiate (none after a custom list)."""
    if current.name == "modern":
        return STEP_DOWN
    if current.name == "legacy":
        return STEP_DOWN[1:]
    return ()


def merged(defaults: list[str], profile: AlgorithmProfile, category: str, implemented: frozenset[str] | set[str]) -> list[str]:
    """One category's offer for a driver: its ``defaults``, widened or replaced by ``profile``,
    limited to what the driver ``implemented``."""
    if category in profile.exact:
        return [a for a in profile.exact[category] if a in implemented]
    extra = [a for a in profile.extra.get(category, ()) if a in implemented and a not in defaults]
    return list(defaults) + extra


# ------------------------------------------------------------------ weak crypto

# (category, pattern, why): the first match names why an algorithm is weak.
_WEAK_SSH = (
    ("kex", re.compile(r"group1-sha1$"), "1024-bit Diffie-Hellman group with SHA-1 (Logjam-class)"),
    ("kex", re.compile(r"sha1"), "SHA-1 key exchange hash"),
    ("ciphers", re.compile(r"^3des"), "3DES (64-bit block, Sweet32)"),
    ("ciphers", re.compile(r"-cbc$"), "CBC mode cipher"),
    ("ciphers", re.compile(r"arcfour|blowfish|cast128"), "obsolete cipher"),
    ("macs", re.compile(r"md5"), "MD5 MAC"),
    ("macs", re.compile(r"sha1"), "SHA-1 MAC"),
    ("hostkey", re.compile(r"^ssh-rsa$"), "RSA host key signed with SHA-1"),
    ("hostkey", re.compile(r"^ssh-dss$"), "DSA host key"),
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One weak-crypto finding about a device: what (``subject``), the value, and why it is weak."""

    subject: str  # "ssh kex", "ssh cipher", "snmp version", "snmp auth", "transport"...
    value: str
    why: str

    def text(self) -> str:
        return f"{self.subject} {self.value}: {self.why}"

    def to_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "value": self.value, "why": self.why}


_SUBJECT = {"kex": "ssh kex", "ciphers": "ssh cipher", "macs": "ssh mac", "hostkey": "ssh host key"}


def weak_ssh(negotiated: dict[str, str]) -> list[Finding]:
    """Findings for what one SSH session negotiated ({kex, cipher, mac, hostkey} as stored)."""
    keys = {"kex": "kex", "ciphers": "cipher", "macs": "mac", "hostkey": "hostkey"}
    found = []
    for cat, key in keys.items():
        value = negotiated.get(key) or ""
        if cat == "macs" and value == "" and "gcm" in (negotiated.get("cipher") or ""):
            continue  # AEAD ciphers carry no separate MAC
        for rule_cat, rx, why in _WEAK_SSH:
            if rule_cat == cat and value and rx.search(value):
                found.append(Finding(_SUBJECT[cat], value, why))
                break
    return found


def weak_snmp(options: dict[str, Any]) -> list[Finding]:
    """Findings for the SNMP modes a target is configured with (issue 12: weak SNMP modes)."""
    version = str(options.get("snmp_version") or "2c").lower().lstrip("v")
    if version == "1":
        return [Finding("snmp version", "v1", "community string in clear text, no integrity")]
    if version != "3":
        return []  # v2c is the common baseline; issue 12 names v1, noAuthNoPriv, MD5 and DES
    found = []
    auth = options.get("snmp_auth_key")
    priv = options.get("snmp_priv_key")
    if not auth:
        found.append(Finding("snmp security level", "noAuthNoPriv", "no authentication, no privacy"))
    elif not priv:
        found.append(Finding("snmp security level", "authNoPriv", "no privacy: requests and answers in clear text"))
    if auth and str(options.get("snmp_auth_proto") or "SHA").upper().replace("-", "") == "MD5":
        found.append(Finding("snmp auth", "MD5", "MD5 authentication"))
    if priv and str(options.get("snmp_priv_proto") or "AES").upper().replace("-", "") in ("DES", "3DES"):
        found.append(Finding("snmp privacy", str(options.get("snmp_priv_proto")).upper(), "DES-family privacy (56-bit / 64-bit block)"))
    return found


def weak_transport(transport: str) -> list[Finding]:
    """Clear-text management transports (telnet)."""
    if transport == "telnet":
        return [Finding("transport", "telnet", "credentials and output in clear text")]
    return []


def device_findings(options: dict[str, Any], transports: tuple[str, ...] | list[str], used: str,
                    session: dict[str, str] | None) -> list[Finding]:
    """Every weak-crypto finding about one device collection: the SSH session it negotiated, the
    SNMP modes it is configured with (when SNMP is one of its transports) and a clear-text
    transport it was collected over (``used``: the collection's transport, ``ssh+snmp`` style)."""
    found = weak_ssh(session) if session else []
    if "snmp" in transports:
        found += weak_snmp(options)
    for transport in used.split("+") if used else ():
        found += weak_transport(transport)
    return found
