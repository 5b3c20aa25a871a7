"""``data.ssh_algorithms`` (agent.core.ssh_algorithms) on asyncssh: connect options, and what was negotiated.

asyncssh implements every algorithm the legacy and ancient profiles name (group1/group14-sha1,
ssh-rsa, AES-CBC, 3DES, hmac-sha1) but offers only a modern set by default; its connect options
replace the offer, so a profile becomes four explicit lists.  The driver's defaults (with our
preference order, collectors.ssh) always come first: a better algorithm wins wherever the peer has
one.
"""
from __future__ import annotations

import asyncssh

from agent.core import ssh_algorithms as algs
from agent.core.ssh_algorithms import AlgorithmProfile
from collectors.base import CollectError

_IMPLEMENTED = {
    "kex": frozenset(a.decode() for a in asyncssh.kex.get_kex_algs()),
    "ciphers": frozenset(a.decode() for a in asyncssh.encryption.get_encryption_algs()),
    "macs": frozenset(a.decode() for a in asyncssh.mac.get_mac_algs()),
    "hostkey": frozenset(a.decode() for a in asyncssh.public_key.get_public_key_algs()),
}
_OPTION = {"kex": "kex_algs", "ciphers": "encryption_algs", "macs": "mac_algs", "hostkey": "server_host_key_algs"}


def connect_options(profile: AlgorithmProfile, defaults: dict[str, list[str]], trusted_host_key_algs: list[str] | None) -> dict:
    """asyncssh.connect keyword arguments for ``profile`` on top of ``defaults`` (category -> names).

    ``trusted_host_key_algs``: when the host-key policy restricts this host to known key types, only
    those algorithms may be negotiated, whatever the profile says (verification stays in force).
    """
    options = {}
    for cat in algs.CATEGORIES:
        offer = algs.merged(defaults[cat], profile, cat, _IMPLEMENTED[cat])
        if cat == "hostkey" and trusted_host_key_algs is not None:
            offer = [a for a in offer if a in trusted_host_key_algs] or list(trusted_host_key_algs)
        if not offer:
            raise CollectError("config", f"data.ssh_algorithms: none of the {cat} named is implemented by asyncssh")
        options[_OPTION[cat]] = offer
    return options


def negotiated(conn, kex: str | None, host_key_alg: str | None) -> dict[str, str]:
    """What one asyncssh session agreed on, as the store keeps it."""
    cipher = conn.get_extra_info("send_cipher") or ""
    mac = conn.get_extra_info("send_mac") or ""
    return {"kex": kex or "", "cipher": cipher, "mac": "" if mac == "none" or "gcm" in cipher or "chacha" in cipher else mac,
            "hostkey": host_key_alg or ""}


def signature_algorithm(sig: bytes) -> str:
    """The algorithm name that opens an SSH signature blob (RFC 4253 6.6: string name, string blob)."""
    if len(sig) < 4:
        return ""
    n = int.from_bytes(sig[:4], "big")
    return sig[4 : 4 + n].decode("ascii", "replace") if n <= 64 else ""


class NegotiationFailed(CollectError):
    """The peer and the profile have no algorithm in common: kind ``connect``, never retried as is
    (the same offer fails the same way); data.ssh_step_down may retry with a wider profile."""

    def __init__(self, detail: str, profile: AlgorithmProfile, driver: str) -> None:
        hint = (" (the device offers only older algorithms: set data.ssh_algorithms to legacy or ancient, "
                "or data.ssh_step_down: true)") if profile.name != "ancient" else ""
        super().__init__("connect", f"SSH algorithm negotiation failed with profile {profile.name} ({driver}): "
                         f"{_short(detail)}{hint}")
        self.profile = profile


def _short(detail: str) -> str:
    """asyncssh lists both offers in full; what we sent is known, the device's offer is the news."""
    head, sent, rest = detail.partition(", sent ")
    if not sent:
        return detail
    _, received, theirs = rest.partition(" and received ")
    return f"{head}; the device offers {theirs}" if received else head


def is_negotiation_failure(reason: str) -> bool:
    """Does a handshake failure say the two sides had no algorithm in common?  Both the client's own
    verdict (asyncssh: 'No matching ... algorithm found'; paramiko: 'Incompatible ssh peer (no
    acceptable kex algorithm)') and OpenSSH's disconnect text ('no matching ... found') count."""
    text = reason.lower()
    return ("no matching" in text or "incompatible ssh peer" in text or "no acceptable" in text
            or "unable to negotiate" in text)


def profiles_to_try(options: dict) -> list[AlgorithmProfile]:
    """The target's profile, then (data.ssh_step_down) the wider named ones to retry with; a bad
    ``data.ssh_algorithms`` fails the device ``config`` (both SSH drivers step down this way)."""
    try:
        first = algs.parse(options.get("ssh_algorithms"))
    except algs.AlgorithmError as exc:
        raise CollectError("config", str(exc)) from None
    order = [first]
    if algs.step_down_enabled(options):
        order += [algs.PROFILES[name] for name in algs.step_down_order(first)]
    return order


def step_down_failed(order: list[AlgorithmProfile], first_error: NegotiationFailed) -> CollectError:
    """What a device whose every profile failed negotiation ends with: the first failure (the
    target's own profile), naming the wider ones also tried."""
    if len(order) > 1:
        return CollectError("connect", f"{first_error.message}; step-down to "
                            f"{', '.join(p.name for p in order[1:])} failed too")
    return first_error


def kexinit_mismatch(payload: bytes | None, offer: dict) -> str | None:
    """Why the server's KEXINIT (``payload``, as asyncssh kept it) and our ``offer`` (connect options)
    cannot agree on a key exchange, cipher or MAC, or None (no KEXINIT seen, or they can).

    Used when the server closed the connection before asyncssh reached its own verdict (which side
    speaks first is a race): the server's offer then tells a negotiation failure from a host-key one."""
    if not payload:
        return None
    from asyncssh.packet import SSHPacket

    try:
        packet = SSHPacket(payload)
        packet.get_byte()
        packet.get_bytes(16)  # cookie
        kex, _hostkey, enc_cs, _enc_sc, mac_cs, _mac_sc = (
            [a.decode("ascii", "replace") for a in packet.get_namelist()] for _ in range(6))
    except Exception:  # noqa: BLE001 - a malformed KEXINIT: no verdict of ours
        return None
    checks = [("key exchange", kex, offer["kex_algs"]), ("encryption", enc_cs, offer["encryption_algs"])]
    aead = [a for a in offer["encryption_algs"] if a in enc_cs and ("gcm" in a or "chacha" in a)]
    if not aead:
        checks.append(("MAC", mac_cs, offer["mac_algs"]))
    for what, theirs, ours in checks:
        if not set(theirs) & set(ours):
            return f"No matching {what} algorithm found; the device offers {','.join(theirs)}"
    return None
