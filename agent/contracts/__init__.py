"""Stage: contracts. Contract / coverage exports and EoX data, read from the files Cisco and its
partners give out into records: ``ContractLine`` per covered line, ``EoxRecord`` per product ID,
every bad cell a ``RowError`` naming file, row and column.  Header recognition and the export
layout registry (``layouts``), the readers per file type (``csv``, ``xlsx``, ``json``, sharing
``source``), dates (``dates``), serials a column at a time (``identifiers``), rows -> lines
(``rows``), the entry points (``load``: ``load_contracts``, ``load_header_map``) and the EoX import
(``eox``).  May import: ``agent.core`` only (and python-calamine for XLSX; openpyxl for the price list's package checks).

To add a contract layout: add one ``Layout`` entry to ``LAYOUTS`` in ``agent/contracts/layouts.py``
(and any new column names to ``ALIASES`` there), a sample file under ``fixtures/contracts/`` and a
test in ``tests/test_contracts.py``.  To read another file type: a reader module beside ``csv_reader.py``
and its suffix in ``load._READERS``.
"""
from agent.contracts.dates import DATE_FORMATS, DateProblem, parse_date  # noqa: F401  (the stage's public names)
from agent.contracts.eox import EoxIndex, EoxLoad, EoxRecord, load_eox  # noqa: F401
from agent.contracts.identifiers import _FREEZE_AFTER, canonical_serials, paused_gc  # noqa: F401
from agent.contracts.layouts import (  # noqa: F401
    ALIASES, DATE_FIELDS, HEADER_SCAN_ROWS, LAYOUTS, MAPPABLE_FIELDS, Layout, header_key, parse_covered,
)
from agent.contracts.load import load_contracts, load_header_map, validate_header_map  # noqa: F401
from agent.contracts.records import ContractLine, ContractLoad, FileSummary, RowError  # noqa: F401
from agent.contracts.source import decode_text  # noqa: F401
from agent.core.identity import (  # noqa: F401  (re-exported, as agent/contracts.py did)
    PLACEHOLDERS, SERIAL_SHAPE, base_pid, canonical_serial, cell_text, split_pid,
)
