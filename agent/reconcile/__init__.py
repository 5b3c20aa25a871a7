"""Stage: reconcile. The live fleet against contract lines and EoX data -> one row per item with a
status, its reasons and its evidence (``rules``), Cisco's co-term formula (``coterm``), and the
store-to-rows wiring that every command shares (``from_store``).

``rules`` and ``coterm`` are pure functions (no I/O, no clock) and import only the kernel and
the contracts stage's records, so reconcile imports without the parsing stack (textfsm, lxml).
May import: ``agent.core``, ``agent.contracts``, ``agent.store`` (``from_store`` only).
"""
from agent.reconcile.rules import (  # noqa: F401  (the stage's public names)
    COVERED, END_OF_SUPPORT, EXPIRING, LAPSED, MATCH_EXACT, MATCH_SERIAL, NOT_SEEN, RMA_SWAP,
    STATUSES, UNCOVERED, UNVERIFIED, DeviceScanState, FleetItem, Key, ReconRow, SeenHistory,
    count_by_status, reconcile,
)
