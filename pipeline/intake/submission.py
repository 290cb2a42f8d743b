"""What reading one return produces: typed values with their source cells, project rows, and issues.

Every value keeps its raw form (what the cell held) and its place (sheet, cell), so any number in the
summary can be traced back to the agency's file, and any problem shown at the cell it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.issues import Issue, Severity


@dataclass
class ProjectRow:
    row: int  # the Excel row it was read from
    values: dict[str, Any]  # column id → typed value (None when blank or unreadable)
    raw: dict[str, Any] = field(default_factory=dict)  # column id → what the cell held (non-blank only)


@dataclass
class TableRows:
    """One table of a return as read: where it was, its rows, and the cells that could not be typed."""

    sheet: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # column id → column letter
    rows: list[ProjectRow] = field(default_factory=list)
    bad_cells: set[tuple[int, str]] = field(default_factory=set)  # (Excel row, column id)

    def cell(self, row: int, column_id: str) -> str | None:
        letter = self.columns.get(column_id)
        return f"{letter}{row}" if letter else None


@dataclass
class Submission:
    file: str  # the original file name (NFC), as the agency sent it
    sha256: str = ""
    path: str | None = None
    format: str | None = None  # xlsx | xlsm | xls | ods
    form_id: str | None = None
    version: str | None = None
    round: str | None = None
    agency_code: str | None = None  # resolved against the registry
    values: dict[str, Any] = field(default_factory=dict)  # field id → typed value (None = blank)
    raw: dict[str, Any] = field(default_factory=dict)  # field id → raw cell content (non-blank only)
    cells: dict[str, tuple[str, str]] = field(default_factory=dict)  # field id → (sheet, cell) read from
    projects: list[ProjectRow] = field(default_factory=list)
    project_sheet: str = ""
    project_columns: dict[str, str] = field(default_factory=dict)  # column id → column letter
    issues: list[Issue] = field(default_factory=list)
    readable: bool = False  # values were extracted: the validator may look at them
    # Cells whose value could not be typed: the validator must not report them again as blank.
    bad_fields: set[str] = field(default_factory=set)
    bad_project_cells: set[tuple[int, str]] = field(default_factory=set)  # (Excel row, column id)
    # The form's other tables (the 2008 annual plan, online services), by table id.
    tables: dict[str, TableRows] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return any(i.severity is Severity.ERROR for i in self.issues)

    def locate(self, field_id: str) -> tuple[str | None, str | None]:
        """(sheet, cell) of a return-level field as read, or (None, None)."""
        return self.cells.get(field_id, (None, None))

    def table(self, table_id: str, *, projects: bool) -> TableRows:
        """A table as read. The project table's rows, columns and bad cells are this submission's own
        (``projects``…; its sheet is ``project_sheet``): the view shares them."""
        if projects:
            return TableRows(self.project_sheet, self.project_columns, self.projects, self.bad_project_cells)
        return self.tables.setdefault(table_id, TableRows())

    def project_cell(self, row: int, column_id: str) -> str | None:
        letter = self.project_columns.get(column_id)
        return f"{letter}{row}" if letter else None
