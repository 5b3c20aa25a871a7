"""Stage: contracts (being split: ``load`` still holds today's agent/contracts.py whole)."""
from agent.contracts.load import (  # noqa: F401
    _FREEZE_AFTER, ALIASES, DATE_FIELDS, DATE_FORMATS, HEADER_SCAN_ROWS, MAPPABLE_FIELDS, PLACEHOLDERS,
    SERIAL_SHAPE, ContractLine, ContractLoad, DateProblem, FileSummary, RowError, base_pid,
    canonical_serial, canonical_serials, cell_text, decode_text, header_key, load_contracts,
    load_header_map, parse_covered, parse_date, paused_gc, split_pid, validate_header_map,
)
from agent.contracts.eox import EoxIndex, EoxLoad, EoxRecord, load_eox  # noqa: F401
