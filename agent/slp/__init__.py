"""Smart Licensing Using Policy: the usage report and the air-gapped RUM / ACK round trip.

Public API
==========
Report (pure logic, no I/O except the one store reader):

``report_inputs(store, as_of, window_days=90, site=None) -> ReportInputs``   (``agent.slp.history``)
``build_report(inputs, due_days=30) -> SlpReport``                            (``agent.slp.report``)
``slp_report(store, as_of, window_days=90, site=None) -> SlpReport``          both in one call
``render(report, fmt)`` / ``write_report_files(report, out_dir)``             (``agent.slp.render``)
``reporting_state(LicenseStatus | None, as_of, due_days=30) -> ReportingState`` (``agent.slp.status``)
``parse_cli_time(text) -> CliTime | None``                                    (``agent.slp.clock``)

Round trip (``agent.slp.offline``; SSH through ``collectors.ssh_actions``):

``collect(targets, store, mode=..., site=..., options=..., redactor=...) -> RunResult``   (async)
``bundle(store, out_dir, site=None, include_acknowledged=False) -> BundleResult``
``import_acks(targets, store, files, options=..., redactor=...) -> RunResult``            (async)

RUM / ACK files (``agent.slp.rum``): ``parse_rum(bytes) -> RumFile``, ``parse_ack(bytes) -> AckFile``;
read-only, the bytes are never rewritten.

Imports are lazy: ``import agent.slp`` costs nothing until a name is used (the CLI's ``--help``
stays fast, and the report never loads asyncssh).

Stage: slp.  May import ``agent.core``, ``parsers`` and ``collectors`` (the round trip re-reads
the device), ``agent.store`` and ``agent.reports`` (terminal tables); never the demo or the CLI.
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.store import Store

    from .report import SlpReport

_LAZY = {
    "report_inputs": "history", "build_report": "report", "SlpReport": "report", "ReportInputs": "report",
    "render": "render", "write_report_files": "render", "FORMATS": "render",
    "reporting_state": "status", "ReportingState": "status", "STATUSES": "status",
    "parse_cli_time": "clock", "CliTime": "clock",
    "parse_rum": "rum", "parse_ack": "rum", "RumError": "rum",
    "collect": "offline", "bundle": "offline", "import_acks": "ack_import", "ActionOptions": "offline",
    "SlpLock": "offline",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agent.slp' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"agent.slp.{module}"), name)


def slp_report(store: "Store", as_of: date, window_days: int = 90, site: str | None = None,
               due_days: int = 30, devices: "set[str] | None" = None) -> "SlpReport":
    """The report for ``as_of`` straight from the store; ``devices``: only these (an agent's
    devices), their entitlement totals included, as if the others were not in the store."""
    from .history import report_inputs
    from .report import build_report

    inputs = report_inputs(store, as_of, window_days, site)
    if devices is not None:
        inputs.snapshots = {sid: {d: p for d, p in snap.items() if d in devices}
                            for sid, snap in inputs.snapshots.items()}
    return build_report(inputs, due_days)
