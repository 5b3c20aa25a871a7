"""SSH sessions as negotiated and findings about a device's collection (schema v9), written and read.

Functions over a :class:`agent.store.Store` rather than methods on it: the store class is big
enough, and these two tables have one writer (the scan) and two readers (``devices``, reports).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from agent.core import ssh_algorithms
from agent.core.models import Target

WEAK_CRYPTO = "weak-crypto"
SESSION_FIELDS = ("driver", "profile", "stepped_down_from", "kex", "cipher", "mac", "hostkey")


def save(store, scan_id: int, device: str, session: dict[str, str] | None, findings: Sequence[Any]) -> None:
    """One device's session (None: no SSH session was made) and findings (agent.core.ssh_algorithms.Finding).
    Call inside the transaction that saves the device."""
    if session:
        store.db.execute(
            "INSERT INTO sessions(scan_id, device, transport, driver, profile, stepped_down_from,"
            " kex, cipher, mac, hostkey) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(scan_id, device, transport)"
            " DO UPDATE SET " + ", ".join(f"{k} = excluded.{k}" for k in SESSION_FIELDS),
            (scan_id, device, "ssh", *(str(session.get(k) or "") for k in SESSION_FIELDS)),
        )
    store.db.execute("DELETE FROM findings WHERE scan_id = ? AND device = ?", (scan_id, device))
    store.db.executemany(
        "INSERT INTO findings(scan_id, device, kind, subject, value, why) VALUES (?,?,?,?,?,?)",
        [(scan_id, device, WEAK_CRYPTO, f.subject, f.value, f.why) for f in findings],
    )


def record(store, scan_id: int, target: Target, transport: str, session: dict[str, str] | None) -> list[str]:
    """Save a device's session and the weak-crypto findings about its collection; the findings' texts
    (for the scan summary)."""
    findings = ssh_algorithms.device_findings(target.options, target.transports, transport, session)
    save(store, scan_id, target.name, session, findings)
    return [f.text() for f in findings]


def sessions_of(store, pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], dict[str, str]]:
    """(scan_id, device) -> its SSH session as stored."""
    wanted = set(pairs)
    if not wanted:
        return {}
    scans = sorted({s for s, _ in wanted})
    rows = store.db.execute(
        f"SELECT * FROM sessions WHERE transport = 'ssh' AND scan_id IN ({','.join('?' * len(scans))})", scans)
    return {(r["scan_id"], r["device"]): {k: r[k] or "" for k in SESSION_FIELDS}
            for r in rows if (r["scan_id"], r["device"]) in wanted}


def findings_of(store, pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], list[dict[str, str]]]:
    """(scan_id, device) -> its findings, in the order written."""
    wanted = set(pairs)
    if not wanted:
        return {}
    scans = sorted({s for s, _ in wanted})
    out: dict[tuple[int, str], list[dict[str, str]]] = {}
    rows = store.db.execute(
        f"SELECT * FROM findings WHERE scan_id IN ({','.join('?' * len(scans))}) ORDER BY rowid", scans)
    for r in rows:
        key = (r["scan_id"], r["device"])
        if key in wanted:
            out.setdefault(key, []).append({"kind": r["kind"], "subject": r["subject"], "value": r["value"],
                                            "why": r["why"]})
    return out
