"""The hidden `_meta` sheet: the form's identity and cell map, written by the template, read by the reader.

Any reader sees it (calamine reads hidden sheets), so identity never depends on defined names or document
properties that LibreOffice or old Excel may drop. Layout of the sheet (column A = key):

    ictplan_meta | 1
    form_id      | BM-UDCNTT-2007
    version      | 1.0
    round        | 2008-2010
    agency_code  | STC            (blank in the blank template)
    agency_name  | Sở Tài chính
    spec_sha256  | …
    (blank row)
    @field       | <field id> | <sheet name> | <cell>        one row per return-level field
    @table       | <table id> | <sheet name> | <first row> | <last row> | <total row>
    @column      | <column id> | <column letter>            one row per table column
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.layout import Layout, col_letter
from pipeline.spec import FormSpec

META_FORMAT = "1"


@dataclass
class Meta:
    form_id: str = ""
    version: str = ""
    round: str = ""
    agency_code: str = ""
    agency_name: str = ""
    spec_sha256: str = ""
    cells: dict[str, tuple[str, str]] = field(default_factory=dict)  # field id → (sheet, cell)
    table: tuple[str, str, int, int, int] | None = None  # (id, sheet, first, last, total)
    columns: dict[str, str] = field(default_factory=dict)  # column id → letter


def meta_rows(spec: FormSpec, layout: Layout, agency_code: str = "", agency_name: str = "") -> list[list[str]]:
    rows = [
        ["ictplan_meta", META_FORMAT],
        ["form_id", spec.form_id],
        ["version", spec.version],
        ["round", spec.round],
        ["agency_code", agency_code],
        ["agency_name", agency_name],
        ["spec_sha256", spec.sha256],
        [],
    ]
    rows += [["@field", field_id, ref.sheet, ref.a1] for field_id, ref in layout.cells.items()]
    if layout.table is not None and spec.table is not None:
        t = layout.table
        rows.append(["@table", spec.table.id, t.sheet, str(t.first_row), str(t.last_row), str(t.total_row)])
        rows += [["@column", column_id, col_letter(col)] for column_id, col in t.columns.items()]
    return rows


def parse_meta(rows: list[list[Any]]) -> Meta | None:
    """Read `_meta` rows (as any reader returns them); None when the sheet is not ours."""
    if not rows or not rows[0] or _text(rows[0][0]) != "ictplan_meta":
        return None
    meta = Meta()
    for row in rows[1:]:
        cells = [_text(c) for c in row]
        if not cells or not cells[0]:
            continue
        key = cells[0]
        if key == "@field" and len(cells) >= 4:
            meta.cells[cells[1]] = (cells[2], cells[3])
        elif key == "@table" and len(cells) >= 6:
            try:
                meta.table = (cells[1], cells[2], int(float(cells[3])), int(float(cells[4])), int(float(cells[5])))
            except ValueError:
                meta.table = None
        elif key == "@column" and len(cells) >= 3:
            meta.columns[cells[1]] = cells[2]
        elif key in {"form_id", "version", "round", "agency_code", "agency_name", "spec_sha256"}:
            setattr(meta, key, cells[1] if len(cells) > 1 else "")
    return meta


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # row numbers come back as floats from .xlsx; identity values are written as text
    return str(value).strip()
