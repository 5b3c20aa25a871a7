"""Stage: reconcile. The live fleet against contract lines and EoX data -> one row per item with a
status, its reasons and its evidence: the rules (``rules``: matching and seen items; ``unseen``:
contract keys no live item carries, RMA pairs; ``context``: what every rule consults;
``parents``: major/minor items and coverage through a parent), the
output vocabulary (``rows``), Cisco's co-term formula (``coterm``), and the store-to-rows wiring
that every command shares (``from_store``).

Everything but ``from_store`` is a pure function (no I/O, no clock) over the kernel's records and
the contracts stage's, so reconcile imports without the parsing stack (textfsm, lxml).
May import: ``agent.core``, ``agent.contracts``, ``agent.store`` (``from_store`` only).
"""
from agent.core.identity import Key  # noqa: F401  (the stage's public names)
from agent.core.models import DeviceScanState, FleetItem, SeenHistory  # noqa: F401
from agent.reconcile.rows import (  # noqa: F401
    COVERED, END_OF_SUPPORT, EXPIRING, LAPSED, MATCH_EXACT, MATCH_SERIAL, NOT_SEEN, RMA_SWAP,
    STATUSES, UNCOVERED, UNVERIFIED, FLAGS, ReconRow, count_by_status,
)
from agent.reconcile.rules import reconcile  # noqa: F401
