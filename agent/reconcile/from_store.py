"""The store-to-rows wiring of reconciliation: read the snapshot, its device states and the
history reconcile needs from the store, and hand them to the pure ``rules.reconcile``.

The one place the reconcile command and the demo get their rows (moved here from the CLI, so
the demo no longer imports ``agent.cli``).
"""
from __future__ import annotations

from agent.store import fleet as history
from agent.reconcile.rules import reconcile
from agent.reconcile.stale import DEFAULT_MAX_AGE_DAYS


def reconcile_from_store(store, contract_lines, eox_index, as_of, window: int, scan_id: int | None = None,
                         max_age_days: int = DEFAULT_MAX_AGE_DAYS):
    """The reconcile rows for the fleet as of ``scan_id``: the one place CLI and demo get them."""
    fleet = history.fleet_items(store, scan_id)
    # Reconcile looks history up only for contract keys the snapshot does not carry.
    carried = {(item.serial, item.base_pid) for item in fleet}
    absent = {line.serial for line in contract_lines if (line.serial, line.base_pid) not in carried}
    return reconcile(
        fleet, history.device_states(store, scan_id), contract_lines, eox_index,
        as_of, window, history.seen_history(store, scan_id, serials=absent), max_age_days=max_age_days,
    )
