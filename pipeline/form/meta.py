"""The hidden `_meta` sheet: the form's identity and cell map, written by the template, read by the reader.

Any reader sees it (calamine reads hidden sheets), so identity never depends on defined names or document
properties that LibreOffice or old Excel may drop. Layout of the sheet (column A = key), format 3:

    ictplan_meta | 2
    form_id      | BM-UDCNTT-2007
    version      | 1.0
    round        | 2008-2010
    agency_code  | STC            (blank in the blank template)
    agency_name  | Sở Tài chính
    spec_sha256  | …
    (blank row)
    @cells       | <sheet name> | <field id>=<cell>; <field id>=<cell>; …     one row per sheet
    @table       | <table id> | <sheet name> | <first row> | <last row> | <total row>      one row per table
    @columns     | <table id> | <column id>=<letter>; <column id>=<letter>; …          one row per table

Format 2 (form 1.0) had one table, its `@columns` row without the table id.

The cell map is written compactly (one text cell per sheet rather than one row per field): every reader
parses the whole sheet on each return, even though it only needs the cell map when the spec's sha256
differs, and 130 map rows cost as much to parse as a form sheet (~0.5 ms per return with calamine).
Format 1, which templates sent out earlier still carry, had one row per field and per column:

    @field       | <field id> | <sheet name> | <cell>
    @column      | <column id> | <column letter>

`parse_meta` reads both.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from pipeline.form.layout import Layout, col_letter
from pipeline.form.spec import FormSpec

META_FORMAT = "3"
PAIRS, PAIR = "; ", "="  # the separators of a compact map: field ids and cells hold neither
MAX_TEXT = 8000  # characters of one map cell; a longer map continues on another row


@dataclass
class Meta:
    form_id: str = ""
    version: str = ""
    round: str = ""
    agency_code: str = ""
    agency_name: str = ""
    spec_sha256: str = ""
    cells: dict[str, tuple[str, str]] = field(default_factory=dict)  # field id → (sheet, cell)
    table: tuple[str, str, int, int, int] | None = None  # the first table's (id, sheet, first, last, total)
    columns: dict[str, str] = field(default_factory=dict)  # the first table's: column id → letter
    tables: dict[str, tuple[str, str, int, int, int]] = field(default_factory=dict)  # every table's, by id
    table_columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table id → column id → letter


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
    by_sheet: dict[str, list[str]] = {}
    for field_id, ref in layout.cells.items():
        by_sheet.setdefault(ref.sheet, []).append(f"{field_id}{PAIR}{ref.a1}")
    rows += [["@cells", sheet, text] for sheet, pairs in by_sheet.items() for text in _joined(pairs)]
    for table_id, t in layout.tables.items():
        rows.append(["@table", table_id, t.sheet, str(t.first_row), str(t.last_row), str(t.total_row)])
        pairs = [f"{column_id}{PAIR}{col_letter(col)}" for column_id, col in t.columns.items()]
        rows += [["@columns", table_id, text] for text in _joined(pairs)]
    return rows


def _joined(pairs: list[str]) -> list[str]:
    """The pairs joined into as few texts as fit comfortably in a cell (Excel's limit is 32,767)."""
    texts: list[str] = []
    for pair in pairs:
        if texts and len(texts[-1]) + len(PAIRS) + len(pair) <= MAX_TEXT:
            texts[-1] += PAIRS + pair
        else:
            texts.append(pair)
    return texts


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
        if key == "@cells" and len(cells) >= 3:
            meta.cells.update((field_id, (cells[1], ref)) for field_id, ref in _pairs(cells[2]))
        elif key == "@columns" and len(cells) >= 3 and PAIR not in cells[1]:  # format 3: per table
            meta.table_columns.setdefault(cells[1], {}).update(_pairs(cells[2]))
        elif key == "@columns" and len(cells) >= 2:
            meta.table_columns.setdefault(meta.table[0] if meta.table else "", {}).update(_pairs(cells[1]))
        elif key == "@field" and len(cells) >= 4:  # format 1
            meta.cells[cells[1]] = (cells[2], cells[3])
        elif key == "@table" and len(cells) >= 6:
            with contextlib.suppress(ValueError):
                meta.tables[cells[1]] = (cells[1], cells[2], int(float(cells[3])), int(float(cells[4])),
                                         int(float(cells[5])))
                meta.table = meta.table or meta.tables[cells[1]]
        elif key == "@column" and len(cells) >= 3:  # format 1
            meta.table_columns.setdefault(meta.table[0] if meta.table else "", {})[cells[1]] = cells[2]
        elif key in {"form_id", "version", "round", "agency_code", "agency_name", "spec_sha256"}:
            setattr(meta, key, cells[1] if len(cells) > 1 else "")
    if meta.table is not None:
        meta.columns = meta.table_columns.get(meta.table[0], {})
    return meta


def _pairs(text: str) -> list[tuple[str, str]]:
    """ "a=D7; b=D8" → [("a", "D7"), ("b", "D8")]; malformed items are skipped."""
    pairs = []
    for item in text.split(PAIRS.strip()):
        key, sep, value = item.partition(PAIR)
        if sep and key.strip() and value.strip():
            pairs.append((key.strip(), value.strip()))
    return pairs


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # row numbers come back as floats from .xlsx; identity values are written as text
    return str(value).strip()
