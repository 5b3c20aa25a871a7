"""The store's host-key table (schema v7): keys trusted on first use, and keys offered instead of
them, waiting for a person to accept them (``ibagent hostkeys``).

``Store`` inherits these methods; the policy they feed is ``agent.core.hostkeys``.  Only TOFU
writes here: ``strict`` trusts the user's known_hosts file alone, and ``insecure`` checks nothing.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable

from agent.core.hostkeys import HostKeySeen, TrustedKey, fingerprint

SOURCE = "the store"

_TRUST_NEW = """
INSERT INTO host_keys(host, port, key_type, status, key, fingerprint, device, first_seen, last_seen)
VALUES (?, ?, ?, 'trusted', ?, ?, ?, ?, ?)
ON CONFLICT(host, port, key_type, status) DO NOTHING
"""
_SEEN_AGAIN = """
UPDATE host_keys SET last_seen = CASE WHEN last_seen > :at THEN last_seen ELSE :at END, device = :device
WHERE host = :host AND port = :port AND key_type = :key_type AND status = 'trusted' AND key = :key
"""
# The latest key offered instead of a trusted one; its first sighting kept while it stays the same.
_OFFERED = """
INSERT INTO host_keys(host, port, key_type, status, key, fingerprint, device, first_seen, last_seen)
VALUES (?, ?, ?, 'offered', ?, ?, ?, ?, ?)
ON CONFLICT(host, port, key_type, status) DO UPDATE SET
    first_seen = CASE WHEN host_keys.key = excluded.key THEN host_keys.first_seen ELSE excluded.first_seen END,
    key = excluded.key, fingerprint = excluded.fingerprint, device = excluded.device, last_seen = excluded.last_seen
"""
_MATCH = "(host = :host OR device = :host) AND (:port IS NULL OR port = :port)"


def _seen(at: float, device: str, s: HostKeySeen) -> dict:
    return {"at": at, "device": device, "host": s.host, "port": s.port, "key_type": s.key_type, "key": s.key}


class HostKeyStore:
    """Mixed into ``agent.store.Store``."""

    db: sqlite3.Connection

    def trusted_host_keys(self) -> dict[str, list[TrustedKey]]:
        """host -> the keys trusted on first use for it, every port."""
        out: dict[str, list[TrustedKey]] = {}
        for row in self.db.execute("SELECT host, port, key_type, key, first_seen FROM host_keys "
                                   "WHERE status = 'trusted' ORDER BY host, port, key_type"):
            out.setdefault(row["host"], []).append(
                TrustedKey(row["port"], row["key_type"], row["key"], SOURCE, row["first_seen"]))
        return out

    def record_host_keys(self, device: str, seen: Iterable[HostKeySeen]) -> list[HostKeySeen]:
        """Write what a device's connections were shown (TOFU only); returns the keys newly trusted.

        A key offered instead of a trusted one is kept as ``offered``: never trusted by this, only
        by ``accept_host_keys``.  Two connections racing to be first (two inventory names on one
        address) cannot both win: the second different key is recorded as offered."""
        learned = []
        for s in seen:
            if s.mode != "tofu" or not s.key:
                continue
            at = s.at or time.time()
            args = (s.host, s.port, s.key_type, s.key, fingerprint(s.key), device, at, at)
            if s.verdict == "match":
                self.db.execute(_SEEN_AGAIN, _seen(at, device, s))
            elif s.verdict == "new":
                if self.db.execute(_TRUST_NEW, args).rowcount:
                    learned.append(s)
                    continue
                row = self.db.execute("SELECT key FROM host_keys WHERE host = ? AND port = ? AND key_type = ? "
                                      "AND status = 'trusted'", (s.host, s.port, s.key_type)).fetchone()
                if row["key"] == s.key:
                    self.db.execute(_SEEN_AGAIN, _seen(at, device, s))
                else:
                    self.db.execute(_OFFERED, args)
            elif s.verdict == "changed":
                self.db.execute(_OFFERED, args)
        return learned

    def host_key_rows(self, host: str | None = None) -> list[sqlite3.Row]:
        """Every row (or those of one address or inventory name), trusted before offered."""
        where = f"WHERE {_MATCH}" if host else ""
        return self.db.execute(f"SELECT * FROM host_keys {where} ORDER BY host, port, status DESC, key_type",
                               {"host": host, "port": None}).fetchall()

    def accept_host_keys(self, host: str, port: int | None = None) -> list[sqlite3.Row]:
        """Trust the keys offered for ``host`` (address or inventory name; one port or all) in place
        of the keys trusted so far for that address and port.  Returns the rows now trusted."""
        with self.transaction():
            offered = self.db.execute(f"SELECT * FROM host_keys WHERE status = 'offered' AND {_MATCH}",
                                      {"host": host, "port": port}).fetchall()
            for addr, p in dict.fromkeys((r["host"], r["port"]) for r in offered):
                self.db.execute("DELETE FROM host_keys WHERE host = ? AND port = ? AND status = 'trusted'", (addr, p))
                self.db.execute("UPDATE host_keys SET status = 'trusted' WHERE host = ? AND port = ? "
                                "AND status = 'offered'", (addr, p))
        return offered

    def forget_host_keys(self, host: str, port: int | None = None) -> int:
        """Drop every key of ``host`` (address or inventory name; one port or all): the next
        connection trusts on first use again.  Returns how many rows went."""
        with self.transaction():
            return self.db.execute(f"DELETE FROM host_keys WHERE {_MATCH}", {"host": host, "port": port}).rowcount
