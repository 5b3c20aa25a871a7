"""Stage: normalise. Raw parser output -> comparable, classified, de-duplicated records: the ONE
place where versions are canonicalised (``versions``) and inventory rows are classified
(``classify``), linked to their parents (``parents``) and judged contractable (``components``),
licences merged (``licenses``), and a device's captures turned into :class:`DeviceRecords`
(``records``); a scan and ``ibagent parse FILE`` both go through :func:`records_from_captures`.
The serial and PID rules live in ``agent.core.identity`` and are re-exported here for old callers.
May import: ``agent.core``, ``parsers``.

Rules (FORMATS.md section 4)
============================
Serials (:func:`canonical_serial`)
    trim; upper-case; strip ``SN:`` / ``S/N:`` / ``S:`` / ``Serial Number:`` prefixes,
    surrounding quotes and trailing padding/commas; placeholders (``N/A``, ``NA``, ``None``,
    ``-``, ``Unknown``, ``<empty>``, all zeros...) become ``""``.  Characters are never
    substituted: ``O`` and ``0`` stay as printed (virtual UDIs such as ``9NZ7O74FICQ`` carry a
    real letter O); hyphen suffixes (``INL24374088-A``) are kept.
PIDs (:func:`base_pid`, :func:`is_refurbished`)
    the PID is kept as read on the record; ``base_pid`` trims it, drops trailing ``=``
    (spare SKU marker) and a trailing ``-RF`` (Cisco Refresh SKU, flagged ``refurbished``).
    ``/K9``, ``-E``/``-A`` and every other suffix are significant and kept.
Versions, classes, parents, contractability, device facts: see each module's docstring.
"""
from __future__ import annotations

from agent.core.identity import PLACEHOLDERS, base_pid, canonical_serial, is_refurbished, pid_key  # noqa: F401  (re-exported)
from agent.normalize.classify import CONTAINER_CLASSES, classify  # noqa: F401
from agent.normalize.records import records_from_captures
from agent.core.versions import canonical_version, version_key

__all__ = [
    "canonical_serial",
    "base_pid",
    "is_refurbished",
    "canonical_version",
    "version_key",
    "classify",
    "records_from_captures",
]
