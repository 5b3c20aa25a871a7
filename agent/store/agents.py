"""Agents and their scopes (issue 16): who collected which device, read from the scan rows.

Several agents feed one store (each in its own security zone, or an air-gapped site whose bundles
are imported); every scan row names its agent and scope (``scans.agent``, ``scans.scope``: JSON of
the inventory, sites and groups it covered).  Nothing here writes: the fleet view itself
(``latest.py``, ``fleet.py``) already merges by device across scans, so across agents, and this
module says who stands behind each device's state.

The rule across agents (docs/ARCHITECTURE.md, "Agents and scopes"):

- a device's *items* come from its latest good collection, whichever agent made it: a failed
  attempt by another agent never hides them (``collected_in`` keeps pointing at the good one);
- every attempt is kept, and the device's *latest attempt* is the latest of any agent: a failure by
  another agent is shown (``devices --failed``) and, until the device is collected cleanly again,
  its absence proves nothing (no not-seen claim rests on an attempt that failed);
- a device that two agents claim (each has collected it and each one's latest scan lists it) is
  *contested*: reported by ``ibagent agents`` and by ``ibagent devices`` (the ``claimed_by``
  column), never settled silently in favour of whichever ran last.

Why not let the failing agent's attempt simply not count: an agent whose inventory lists a device
it cannot reach is a configuration fault (overlapping zones) that someone has to see; hiding the
attempt would hide the fault, and choosing an owner by rule would be a guess.
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

# What a scan without an agent (one written before v12, or by a library caller) is listed as.
UNNAMED = "(unnamed)"


def name_of(agent: str | None) -> str:
    return agent if agent else UNNAMED


def scope_of(inventory: str, targets) -> dict[str, Any]:
    """A scan's scope: its inventory, and the sites and groups of the devices it was given."""
    return {"inventory": inventory,
            "sites": sorted({t.site for t in targets if t.site}),
            "groups": sorted({g for t in targets for g in t.groups})}


def latest_scans(store) -> dict[str | None, Any]:
    """Each agent's latest finished scan row (agent None: scans that name none)."""
    rows = store.db.execute(
        "SELECT s.* FROM scans s WHERE s.status != 'running' AND s.id = (SELECT MAX(x.id) FROM scans x"
        " WHERE x.status != 'running' AND (x.agent = s.agent OR (x.agent IS NULL AND s.agent IS NULL)))"
        " ORDER BY s.id").fetchall()
    return {r["agent"]: r for r in rows}


def holders(store, scan_id: int | None = None) -> dict[str, tuple[str, str]]:
    """device -> (agent, site) of the collection its current state comes from (the fleet's
    ``collected_in`` scan), for the devices of the fleet as of ``scan_id`` (None: now)."""
    agent_of = {r["id"]: name_of(r["agent"]) for r in store.db.execute("SELECT id, agent FROM scans")}
    return {row["device"]: (agent_of.get(row["collected_in"], UNNAMED), row["site"] or "")
            for row in store.snapshot_devices(scan_id)}


def stood_for_by(store, agent: str | None, devices) -> list[str]:
    """Those of ``devices`` whose current state ``agent`` made: its latest good collection, or for
    a device never collected, its latest attempt (what ``scan --prune`` may retire for that agent).
    A scan that names no agent (written before v12) stands for whoever runs the store locally now."""
    wanted = set(devices)
    agent_of = {r["id"]: r["agent"] for r in store.db.execute("SELECT id, agent FROM scans")}
    return [row["device"] for row in store.fleet_device_states(None) if row["device"] in wanted
            and agent_of.get(row["last_ok_scan"] or row["scan_id"]) in (agent, None)]


def claims(store) -> dict[str, list[str]]:
    """device -> the agents that claim it, for every device claimed by two or more: an agent
    claims a device when its latest scan lists the device and it has collected the device (in
    that scan, or, when that attempt failed, in an earlier one)."""
    claimed: dict[str, set[str]] = defaultdict(set)
    for agent, scan in latest_scans(store).items():
        for row in store.db.execute("SELECT device, status FROM devices WHERE scan_id = ?", (scan["id"],)):
            if row["status"] == "ok" or _collected_before(store, agent, row["device"], scan["id"]):
                claimed[row["device"]].add(name_of(agent))
    return {device: sorted(agents) for device, agents in sorted(claimed.items()) if len(agents) > 1}


def _collected_before(store, agent: str | None, device: str, before: int) -> bool:
    same_agent = "s.agent = ?" if agent is not None else "s.agent IS NULL"
    row = store.db.execute(
        "SELECT 1 FROM devices d JOIN scans s ON s.id = d.scan_id WHERE d.device = ? AND d.scan_id < ?"
        f" AND d.status = 'ok' AND {same_agent} LIMIT 1",
        (device, before, *([agent] if agent is not None else []))).fetchone()
    return row is not None


def _scope(text: str | None) -> dict[str, Any]:
    try:
        scope = json.loads(text) if text else {}
    except ValueError:
        return {}
    return scope if isinstance(scope, dict) else {}


def agent_rows(store) -> list[dict[str, Any]]:
    """One row per agent: its last run, scope, the devices whose current state it collected, and
    those of them another agent claims too (``ibagent agents``)."""
    held: dict[str, list[str]] = defaultdict(list)
    for device, (agent, _) in sorted(holders(store).items()):
        held[agent].append(device)
    contested = claims(store)
    rows = []
    for agent, scan in sorted(latest_scans(store).items(), key=lambda kv: name_of(kv[0])):
        name = name_of(agent)
        mine = held.get(name, [])
        shared = sorted(d for d, agents in contested.items() if name in agents)
        scope = _scope(scan["scope"])
        rows.append({
            "agent": name, "last_scan": scan["id"], "started": scan["started"], "ended": scan["ended"],
            "status": scan["status"], "imported": scan["origin"] is not None, "origin": scan["origin"] or "",
            "inventory": scope.get("inventory", scan["inventory"] or ""),
            "sites": scope.get("sites", []), "groups": scope.get("groups", []),
            "devices": len(mine), "device_names": mine,
            "contested": len(shared),
            "contested_with": {d: [a for a in contested[d] if a != name] for d in shared},
        })
    return rows
