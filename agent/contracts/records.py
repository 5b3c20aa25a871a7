"""What reading contract exports produces: one ``ContractLine`` per covered line, the problems
(``RowError``: file, row as a spreadsheet user sees it, column), a ``FileSummary`` per file, and
the ``ContractLoad`` holding them all."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date


@dataclass(slots=True)
class ContractLine:
    """One covered line: a serial on a contract for a period, as one export row stated it.

    Not frozen only because frozen dataclasses cost 4x to build at 10^5 lines: treat as read-only.
    """

    serial: str  # canonical
    pid: str  # as read (upper-cased, trimmed)
    base_pid: str
    contract_number: str = ""
    service_level: str = ""
    start: date | None = None
    end: date | None = None
    status: str = ""  # raw coverage/line status text as given
    covered: bool | None = None  # what the file says, None when it says nothing
    instance_id: str = ""
    parent_instance_id: str = ""
    parent_serial: str = ""
    site_id: str = ""
    site_name: str = ""
    ldos: date | None = None
    end_of_renewal: date | None = None  # End of Service Contract Renewal, when the file carries it
    refurbished: bool = False
    source_file: str = ""
    source_row: int = 0
    # Major (True) or minor (False) item as the file says (Major/Minor, item_position P/C/S,
    # componentType), None when it says nothing.  Last: built positionally in contracts.rows.
    major: bool | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.serial, self.base_pid)

    @property
    def where(self) -> str:
        return f"{self.source_file}:{self.source_row}"


@dataclass(frozen=True, slots=True)
class RowError:
    file: str
    row: int | None  # spreadsheet row (1-based, header counted), JSON record number, None = whole file/column
    column: str
    message: str
    # The file as a whole cannot be trusted (a runaway quote, rows shorter than the header): it is
    # refused, not read in part, even though the problem has a row.
    fatal: bool = False
    # A warning: the cell is of an optional field, left empty, and its line was kept.
    kept: bool = False

    def __str__(self) -> str:
        unit = "record" if self.file.lower().endswith(".json") else "row"
        where = self.file if self.row is None else f"{self.file} {unit} {self.row}"
        col = f", column '{self.column}'" if self.column else ""
        return f"{where}{col}: {self.message}"


@dataclass(slots=True)
class FileSummary:
    file: str
    layout: str = ""
    sheet: str = ""
    header_row: int | None = None
    delimiter: str = ""
    encoding: str = ""
    rows_read: int = 0
    lines: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        head = f"{self.file}: {self.layout or 'not loaded'}"
        if self.sheet:
            head += f" (sheet '{self.sheet}')"
        if self.header_row:
            head += f", header on row {self.header_row}"
        parts = [head, f"{self.rows_read} rows read, {self.lines} lines kept"]
        if self.skipped:
            parts.append("skipped: " + ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())))
        return "; ".join(parts + self.notes)


@dataclass(slots=True)
class ContractLoad:
    lines: list[ContractLine] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    summary: list[FileSummary] = field(default_factory=list)

    def summary_text(self) -> str:
        return "\n".join(s.text() for s in self.summary)
