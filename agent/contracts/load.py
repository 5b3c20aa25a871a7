"""Contract / coverage import: Cisco exports in their real layouts -> ``ContractLine`` records.

Recognised without a mapping file, from the header row alone (FORMATS.md section 1):
Services API / CX Cloud coverage (JSON ``{"data": [...]}`` or the flattened CSV), the
not-covered export, the two partner installed-base spreadsheets, sn2info coverage JSON and
its camelCase BCS twin.  Anything else goes through a small header map (``--map FILE``).

Nothing here raises on bad input data: a bad cell is a ``RowError`` that names the file, the
row as a spreadsheet user sees it and the column, and the row is skipped.  Only programming
errors (wrong argument types) raise.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from agent.contracts.csv_reader import _csv_source
from agent.contracts.dates import DATE_FORMATS
from agent.contracts.identifiers import paused_gc
from agent.contracts.json_reader import _json_source
from agent.contracts.layouts import LAYOUTS, MAPPABLE_FIELDS
from agent.contracts.records import ContractLoad, FileSummary, RowError
from agent.contracts.rows import _build_lines
from agent.contracts.xlsx import _xlsx_source
from agent.core.untrusted import InputError, check_expansion, check_yaml_text, decode_utf8, read_capped


def load_header_map(path: str | Path) -> dict[str, str]:
    """Read a ``--map`` YAML file: ``canonical field: column name``.  Raises ValueError with a
    message fit for the user when the file is not such a mapping."""
    import yaml

    try:
        text = decode_utf8(read_capped(path, 1 << 20, "a header map"), "a header map")
        check_yaml_text(text, "a header map")
        data = yaml.safe_load(text)
        check_expansion(data, 10_000, "a header map")
    except (OSError, yaml.YAMLError, InputError) as exc:
        raise ValueError(f"{path}: cannot read header map: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path}: a header map is a mapping 'field: column name'")
    return validate_header_map(data, str(path))


def validate_header_map(data: Mapping[Any, Any], where: str = "header map") -> dict[str, str]:
    unknown = [k for k in data if k not in MAPPABLE_FIELDS]
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}; "
                         f"known fields: {', '.join(MAPPABLE_FIELDS)}")
    bad = [k for k, v in data.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise ValueError(f"{where}: field(s) {', '.join(bad)} need a column name")
    if "serial" not in data:
        raise ValueError(f"{where}: 'serial' must be mapped")
    return {k: v.strip() for k, v in data.items()}


# The reader registry, by file suffix: one module per file type (csv, xlsx, json) beside this one.
_READERS = {".csv": _csv_source, ".txt": _csv_source, ".tsv": _csv_source,
            ".xlsx": _xlsx_source, ".xlsm": _xlsx_source, ".json": _json_source}


def _read_file(reader, path: Path, label: str, summary: FileSummary, header_map, date_format: str | None,
               load: ContractLoad) -> None:
    try:
        with paused_gc():
            got = reader(path, label, summary, header_map, load.errors)
        if isinstance(got, str):
            if not got:  # refused with a row-precise error of the reader's own, already in load.errors
                return
            msg = got
            if "recognised" in got and not header_map:
                expected = "; ".join(f"{layout.name} (has '{layout.marker}')" for layout in LAYOUTS)
                msg = f"{got}; known layouts: {expected}; for another layout use --map FILE"
            load.errors.append(RowError(label, None, "", msg))
            return
        header, header_row, rows = got
        summary.layout = header.layout
        if not header.uncovered and "coverage_end" not in header.columns:
            load.errors.append(RowError(label, None, "", _no_end_date(header.names)))
            return
        summary.header_row = header_row or None
        with paused_gc():
            load.lines.extend(_build_lines(label, header, rows, summary, load.errors, date_format,
                                           strings=reader is _csv_source))
    except RecursionError:  # a reader's nested data (JSON) deeper than Python goes
        raise InputError("nests arrays/objects too deeply for any export (a hostile or broken file); "
                         "nothing of this file was read") from None


def _no_end_date(names: list[str]) -> str:
    """Why a file without a coverage end date column is refused, and how to name one.  Read
    anyway, its lines would show as covered with no end: advice resting on nothing."""
    found = ", ".join(f"'{n}'" for n in names if n.strip()) or "none"
    return (f"no coverage end date column recognised (columns found: {found}); its lines would show "
            "as covered with no end date, so the file is not read: name the end-date column in a "
            "--map file (YAML 'field: column name'), e.g. 'serial: <serial column>' and "
            "'coverage_end: <end-date column>'")


def load_contracts(paths: Iterable[str | Path] | str | Path, header_map: Mapping[str, str] | None = None,
                   date_format: str | None = None) -> ContractLoad:
    """Read contract / coverage exports.  Never raises on file content: problems are in ``.errors``.

    ``header_map`` (canonical field -> column name) overrides the built-in aliases; ``date_format``
    (``DD/MM/YYYY``, ``MM/DD/YYYY``, ``YYYY-MM-DD``, ``DD-MMM-YYYY``) settles ambiguous columns.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if header_map:
        header_map = validate_header_map(header_map)
    if date_format and date_format not in DATE_FORMATS:
        raise ValueError(f"unknown date format {date_format!r}; use one of "
                         "DD/MM/YYYY, MM/DD/YYYY, YYYY-MM-DD, DD-MMM-YYYY")
    load = ContractLoad()
    for raw_path in paths:
        path = Path(raw_path)
        label = str(raw_path)
        summary = FileSummary(label)
        load.summary.append(summary)
        reader = _READERS.get(path.suffix.lower())
        if reader is None:
            hint = " (.xlsb: save it as .xlsx or .csv)" if path.suffix.lower() in (".xlsb", ".xls") else ""
            load.errors.append(RowError(label, None, "", f"unsupported file type '{path.suffix}'{hint}"))
            continue
        first_error, first_line = len(load.errors), len(load.lines)
        try:
            _read_file(reader, path, label, summary, header_map, date_format, load)
        except OSError as exc:
            load.errors.append(RowError(label, None, "", f"cannot read file: {exc.strerror or exc}"))
        except InputError as exc:
            load.errors.append(RowError(label, None, "", str(exc), fatal=True))
        mine = load.errors[first_error:]
        if any(e.fatal for e in mine) and len(load.lines) > first_line:
            # A file that cannot be read as a whole gives no lines at all: half a file would
            # put the other half's serials on the quote lists as uncovered.
            summary.skipped["rows of a file that was refused"] += len(load.lines) - first_line
            summary.lines = 0
            del load.lines[first_line:]
        # Date problems are found in a second pass: list this file's errors in row order.
        load.errors[first_error:] = sorted(mine, key=lambda e: (e.row or 0))
    return load
