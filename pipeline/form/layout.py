"""Where every value lives in the workbook: derived from the spec, used by the template writer and the reader.

The template writes each field at the cell this module assigns; the reader looks there first (or where the
return's hidden `_meta` sheet says), checks the row's label, and relocates by label when an agency inserted
rows. Both sides use this one map, so they can never disagree.

Label/value sheets: A = STT, B = label, C = unit, D = value (targets: D = current, E.. = target years),
E = help; a grid row (funding by source × year): D.. = one value per grid column. A table (projects, the
2008 annual plan, online services), on a sheet of its own: one column per spec column, a header row, a row
of column numbers, the body and a totals row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from pipeline.form.spec import FormSpec, Section, Table

# The official frame's header, the sheet's number and title, the subtitle; row 4 is left empty.
FRAME_ROW, TITLE_ROW, SUBTITLE_ROW, HEADER_ROW = 1, 2, 3, 5
FIRST_BODY_ROW = 6
COL_STT, COL_LABEL, COL_UNIT, COL_VALUE, COL_HELP = 0, 1, 2, 3, 4
TABLE_NUMBER_ROW = HEADER_ROW + 1
META_SHEET, LISTS_SHEET = "_meta", "_lists"
INSTRUCTIONS_SHEET = "Hướng dẫn"  # the template's first sheet: how to fill the form, no values
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]


def col_letter(col: int) -> str:
    """0-based column index → Excel letters (0 → A, 26 → AA)."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(row: int, col: int, absolute: bool = False) -> str:
    """1-based row, 0-based column → "D12" (or "$D$12")."""
    if absolute:
        return f"${col_letter(col)}${row}"
    return f"{col_letter(col)}{row}"


def parse_a1(ref: str) -> tuple[int, int]:
    """ "D12" → (12, 3): 1-based row, 0-based column."""
    ref = ref.replace("$", "").upper()
    letters = "".join(ch for ch in ref if ch.isalpha())
    col = 0
    for ch in letters:
        col = col * 26 + (ord(ch) - 64)
    return int(ref[len(letters):]), col - 1


@dataclass(frozen=True)
class CellRef:
    sheet: str  # sheet name as shown in Excel
    row: int  # 1-based
    col: int  # 0-based

    @property
    def a1(self) -> str:
        return a1(self.row, self.col)

    def absolute(self) -> str:
        """Sheet-qualified absolute reference, for defined names and cross-sheet formulas."""
        return f"'{self.sheet}'!{a1(self.row, self.col, absolute=True)}"


@dataclass(frozen=True)
class Row:
    """One row of a label/value sheet, in order: what the template draws and the reader expects."""

    kind: str  # section | subheader | field | target | grid
    row: int
    stt: str
    label_vi: str
    section: str
    fields: tuple[str, ...] = ()  # field: (id,); target: (current, year1, year2…); grid: one per grid column


@dataclass(frozen=True)
class TableLayout:
    sheet: str
    header_row: int
    number_row: int
    first_row: int
    last_row: int
    total_row: int
    columns: dict[str, int]  # column id → 0-based column

    def cell(self, row: int, column_id: str) -> str:
        return a1(row, self.columns[column_id])


@dataclass(frozen=True)
class Layout:
    cells: dict[str, CellRef]  # every return-level field → its value cell
    rows: dict[str, tuple[Row, ...]]  # sheet id → rows in order
    sheet_names: dict[str, str]  # sheet id → name
    table: TableLayout | None  # the project table's
    width: dict[str, int]  # sheet id → number of used columns
    tables: dict[str, TableLayout] = field(default_factory=dict)  # table id → its layout (every table)
    # The form's own numbers, as printed in its STT column: section id → "II", field id → "II.3" (a target or
    # grid row's fields share their row's number). The summary cites sections and questions by them.
    numbers: dict[str, str] = field(default_factory=dict)

    def label_row(self, field_id: str) -> Row:
        for rows in self.rows.values():
            for row in rows:
                if field_id in row.fields:
                    return row
        raise KeyError(field_id)


@cache
def layout_for(spec: FormSpec) -> Layout:
    cells: dict[str, CellRef] = {}
    rows: dict[str, tuple[Row, ...]] = {}
    width: dict[str, int] = {}
    tables: dict[str, TableLayout] = {}
    for sheet in spec.sheets:
        if sheet.table is not None:
            table = tables[sheet.table.id] = _table_layout(sheet.name, sheet.table)
            for column_id, field_id in sheet.table.totals.items():
                cells[field_id] = CellRef(sheet.name, table.total_row, table.columns[column_id])
            width[sheet.id] = len(sheet.table.columns)
            continue
        sheet_rows, used = _sheet_rows(spec, sheet.sections, sheet.name, cells)
        rows[sheet.id] = tuple(sheet_rows)
        width[sheet.id] = used
    project = tables.get(spec.table.id) if spec.table is not None else None
    return Layout(cells, rows, {s.id: s.name for s in spec.sheets}, project, width, tables, _numbers(rows))


def _numbers(rows: dict[str, tuple[Row, ...]]) -> dict[str, str]:
    numbers: dict[str, str] = {}
    for sheet_rows in rows.values():
        for row in sheet_rows:
            if row.kind == "section":
                numbers[row.section] = row.stt
            for field_id in row.fields:
                numbers[field_id] = f"{numbers[row.section]}.{row.stt}"
    return numbers


def _sheet_rows(spec: FormSpec, sections, sheet_name: str, cells: dict[str, CellRef]) -> tuple[list[Row], int]:
    out: list[Row] = []
    row = FIRST_BODY_ROW
    used = COL_HELP + 1
    for number, section in enumerate(sections):
        out.append(Row("section", row, ROMAN[number], _section_title(spec, section), section.id))
        row += 1
        if section.grid:
            out.append(Row("subheader", row, "", section.grid_head_vi[0], section.id))
            row += 1
            per_row = len(section.grid_columns)
            used = max(used, COL_VALUE + per_row)
            for item, base_index in enumerate(range(0, len(section.fields), per_row), start=1):
                ids = section.fields[base_index:base_index + per_row]
                for offset, field_id in enumerate(ids):
                    cells[field_id] = CellRef(sheet_name, row, COL_VALUE + offset)
                label = section.grid_labels[item - 1]
                out.append(Row("grid", row, str(item), label, section.id, tuple(ids)))
                row += 1
            continue
        if section.targets:
            out.append(Row("subheader", row, "", "Chỉ tiêu", section.id))
            row += 1
            per_row = 1 + len(section.target_years)
            used = max(used, COL_VALUE + per_row)
            for item, base_index in enumerate(range(0, len(section.fields), per_row), start=1):
                ids = section.fields[base_index:base_index + per_row]
                for offset, field_id in enumerate(ids):
                    cells[field_id] = CellRef(sheet_name, row, COL_VALUE + offset)
                out.append(Row("target", row, str(item), spec.fields[ids[0]].vi, section.id, tuple(ids)))
                row += 1
            continue
        for item, field_id in enumerate(section.fields, start=1):
            cells[field_id] = CellRef(sheet_name, row, COL_VALUE)
            out.append(Row("field", row, str(item), spec.fields[field_id].vi, section.id, (field_id,)))
            row += 1
    return out, used


def _section_title(spec: FormSpec, section: Section) -> str:
    """The section's title as the form prints it; a section for some agency types says whose it is
    ("HẠ TẦNG CNTT CẤP XÃ (DO UBND HUYỆN, THỊ XÃ, THÀNH PHỐ ĐIỀN)"), which the summary does not repeat."""
    if not section.answered_by:
        return section.vi.upper()
    who = ", ".join(spec.choice_label("loai_don_vi", code) for code in section.answered_by)
    return f"{section.vi} (do {who} điền)".upper()


def _table_layout(sheet_name: str, table: Table) -> TableLayout:
    first = TABLE_NUMBER_ROW + 1
    last = first + table.rows - 1
    return TableLayout(sheet_name, HEADER_ROW, TABLE_NUMBER_ROW, first, last, last + 1,
                       {c.id: i for i, c in enumerate(table.columns)})
