"""Writing xlsx for officials with xlsxwriter, safely and fast: the table machinery every workbook of the
report stage shares (the summary, and the print set).

- `safe_text`: text a cell can hold and every reader reads back the same (control characters, lone
  surrogates, Excel's 32,767-character limit);
- `FastWorksheet`: a worksheet that takes a row's finished cell XML in one call, spooled to disk;
- `Styles`, `Col`, `Cell`, `Row`: one cached Format per (kind, row style), and a table's columns and rows;
- `WORKBOOK_OPTIONS`: nothing an agency typed ever becomes a formula, a link or a number.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import RowInfo, Worksheet

MAX_CELL = 32_767  # Excel's limit, in UTF-16 code units (xlsxwriter's measure)
TRUNCATED = {"vi": "… [đã cắt bớt]", "en": "… [truncated]"}
FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r")  # OWASP: a cell starting with these may run as a formula
_UNSAFE = re.compile("[\ud800-\udfff\ufffe\uffff]")  # not encodable, or not allowed in XML
_BREAKS = re.compile("\r\n?|[\x0b\x0c]")  # Word's vertical tab and form feed are line breaks too
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f]")
FONT = "Times New Roman"  # the Vietnamese administrative standard; LibreOffice uses Liberation Serif
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
                    "remove_timezone": True}
WRAPPED = {"wrap", "center"}  # value kinds whose text wraps inside the column
LINE_HEIGHT = 12.75  # points per line of 10-point text
MAX_ROW_HEIGHT = 409  # Excel's limit, in points
NUM_FORMATS = {"count": "#,##0", "money": "#,##0.0", "ratio": "0.00", "pct": "0.0", "year": "0",
               "bool": "#,##0", "datetime": "dd/mm/yyyy hh:mm", "int": "0"}
FILLS = {"header": "#D9E1F2", "group": "#DDEBF7", "subtotal": "#F2F2F2", "total": "#FCE4D6",
         "missing": "#F8CBAD", "rejected": "#FFE699", "warning": "#FFF2CC"}

class _Covered(NamedTuple):
    """Marks the last cell of a run: it keeps the row's spans and the sheet's dimension right."""


COVERED = _Covered()
_RUN_SIZE_BITS = 24  # a run is stored as one int: offset << 24 | size (a row's XML is far below 16 MB)


class FastWorksheet(Worksheet):
    """xlsxwriter's Worksheet with a short path for the hundreds of thousands of cells in the summary's
    tables: `write_run` takes a row's consecutive number, shared-string and blank cells as finished XML,
    instead of one stored cell tuple each that is escaped attribute by attribute when the sheet is saved
    (most of the cost of a large sheet). The XML waits in a temporary spool file, not in memory (at 10,000
    agencies it is 150 MB); the cell table keeps one int per run, where its first cell would be, and the
    XML is copied into the sheet when xlsxwriter saves it, row by row in order. Row heights set with
    `set_height` are kept as one int per row (xlsxwriter's set_row keeps two objects, 130 bytes, per row),
    except on a sheet with drawings (their placement sums xlsxwriter's own row sizes).
    The bytes are identical to writing every cell and height through xlsxwriter (tests/report/test_summary.py
    compares both); xlsxwriter is pinned, since this relies on its internal cell table and row writer."""

    _spool: Any = None
    _spooled = 0  # bytes written to the spool
    _spool_at = -1  # where the spool is read from when the sheet is saved
    _heights: dict[int, int] | None = None  # row → height in pixels, from set_height
    has_drawings = False  # set before writing a sheet that gets charts: their placement sums row heights

    def write_run(self, row: int, first: int, last: int, xml: str) -> None:
        assert not self.constant_memory
        if self._check_dimensions(row, first) or self._check_dimensions(row, last):
            raise ValueError(f"cell out of range: row {row}, columns {first}-{last}")
        if self._spool is None:
            self._spool = tempfile.TemporaryFile(dir=self.tmpdir)  # noqa: SIM115 - closed once the sheet is saved
        data = xml.encode()
        self._spool.write(data)
        cells = self.table[row]
        cells[first] = self._spooled << _RUN_SIZE_BITS | len(data)
        self._spooled += len(data)
        if last > first:
            cells[last] = COVERED

    def set_height(self, row: int, height: float) -> None:
        """set_row(row, height) for a row that has cells, in less memory."""
        if self.has_drawings:
            self.set_row(row, height)
            return
        if self._heights is None:
            self._heights = {}
        self._heights[row] = int(height * 4.0 / 3.0 + 0.5)  # as set_row converts it

    def _write_row(self, row: int, spans: str | None, row_info: RowInfo | None = None,
                   empty_row: bool = False) -> None:
        if row_info is None and self._heights and row in self._heights:
            row_info = RowInfo(height=self._heights[row], row_format=None, hidden=False, level=0, collapsed=False)
        super()._write_row(row, spans, row_info, empty_row)

    def _write_cell(self, row: int, col: int, cell: Any) -> None:
        kind = cell.__class__
        if kind is int:  # a run of finished cells in the spool
            offset, size = cell >> _RUN_SIZE_BITS, cell & ((1 << _RUN_SIZE_BITS) - 1)
            if self._spool_at != offset:  # rows are saved in order: a seek is rare
                self._spool.seek(offset)
            self.fh.write(self._spool.read(size).decode())
            self._spool_at = offset + size
        elif kind is not _Covered:
            super()._write_cell(row, col, cell)

    def _assemble_xml_file(self) -> None:
        super()._assemble_xml_file()
        if self._spool is not None:
            self._spool.close()
            self._spool = None



def safe_text(text: str, lang: str = "vi") -> str:
    """Text an xlsx cell can hold, read back the same by Excel, LibreOffice and openpyxl: line breaks made
    "\n", other control characters dropped (xlsxwriter would write them as _xHHHH_ escapes, which not every
    reader decodes), unencodable code points replaced by U+FFFD, cut visibly at Excel's cell limit."""
    if not text.isprintable():
        text = _CONTROLS.sub("", _BREAKS.sub("\n", text))
    if _UNSAFE.search(text):
        text = _UNSAFE.sub("\ufffd", text)
    if len(text) > MAX_CELL // 2 and _utf16_len(text) > MAX_CELL:
        suffix = TRUNCATED.get(lang, TRUNCATED["vi"])
        keep = (MAX_CELL - _utf16_len(suffix)) * 2
        text = text.encode("utf-16-le")[:keep].decode("utf-16-le", errors="ignore") + suffix
    return text


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


# --------------------------------------------------------------------------------------------------------
# Formats and tables: one helper each


class Styles:
    """One cached Format per (kind, row style, quote prefix): kinds say how a value looks, row styles
    what the row is (body, group band, subtotal, province total, coverage, missing, rejected…)."""

    BASE: ClassVar[dict[str, Any]] = {"font_name": FONT, "font_size": 10, "valign": "top", "border": 1}
    KINDS: ClassVar[dict[str, dict[str, Any]]] = {
        "text": {}, "wrap": {"text_wrap": True}, "center": {"align": "center", "text_wrap": True},
        **{k: {"num_format": v} for k, v in NUM_FORMATS.items()},
        "bool": {"num_format": NUM_FORMATS["bool"], "align": "center"},
        "year": {"num_format": NUM_FORMATS["year"], "align": "center"},
        "datetime": {"num_format": NUM_FORMATS["datetime"], "align": "center"},
        "header": {"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True, "bg_color": FILLS["header"]},
        # a band over many columns: left-aligned, or its text lands mid-range, off the printed page
        "band": {"bold": True, "align": "left", "valign": "vcenter", "bg_color": FILLS["header"], "indent": 1},
        "title": {"bold": True, "font_size": 14, "border": 0, "align": "left", "valign": "vcenter"},
        "subtitle": {"italic": True, "border": 0},
        "heading": {"bold": True, "font_size": 11, "border": 0},
        "note": {"italic": True, "border": 0, "text_wrap": True, "font_size": 9},
        "para": {"border": 0, "text_wrap": True},
    }
    ROWS: ClassVar[dict[str, dict[str, Any]]] = {
        "body": {}, "group": {"bold": True, "bg_color": FILLS["group"]},
        "subtotal": {"bold": True, "bg_color": FILLS["subtotal"]}, "total": {"bold": True, "bg_color": FILLS["total"]},
        "coverage": {"italic": True, "font_size": 9, "font_color": "#404040", "align": "center"},
        "missing": {"bg_color": FILLS["missing"]}, "rejected": {"bg_color": FILLS["rejected"]},
        "warning": {"bg_color": FILLS["warning"]}, "plain": {"border": 0},
    }

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.book = book
        self.cache: dict[tuple[str, str, bool], Format] = {}

    def get(self, kind: str, row: str = "body", quote: bool = False) -> Format:
        key = (kind, row, quote)
        if key not in self.cache:
            props = {**self.BASE, **self.KINDS[kind], **self.ROWS[row]}
            if row == "coverage" and kind in ("text", "wrap"):
                props["align"] = "right"
            if quote:
                props["quote_prefix"] = True
            fmt = self.cache[key] = self.book.add_format(props)
            # Numbered at creation, not by the first cell that uses it when the sheets are saved: the
            # tables' finished cell XML (FastWorksheet.write_run) needs the number before then.
            fmt._get_xf_index()
        return self.cache[key]


@dataclass(frozen=True)
class Col:
    """A table column: header text, width (characters), value kind (see _Styles.KINDS), optional band."""

    header: str
    width: float
    kind: str = "text"
    band: str = ""  # a top header row label shared by consecutive columns (merged)


@dataclass(frozen=True)
class Cell:
    """A value whose kind differs from its column's (a table whose rows are different measures)."""

    value: Any
    kind: str


Row = tuple[str, Sequence[Any]]  # (row style, one value per column)


def text_lines(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column `width` characters wide: 10-point Times fits ~1.3 small
    letters per width unit; capitals are about 1.5 times as wide (counted in short texts only — file names,
    labels — where they matter and counting is cheap)."""
    per_line = max(width * 1.3, 1.0)
    total = 0
    for part in text.split("\n"):
        size = len(part)
        if size < 200:
            size += 0.5 * sum(map(str.isupper, part))
        total += max(1, math.ceil(size / per_line))
    return total


def header_height(cols: Sequence[Col]) -> float:
    """Row height that shows every wrapped header (xlsxwriter cannot autofit; Excel skips merged cells)."""
    lines = max(max(1, math.ceil(len(c.header) * 1.15 / max(c.width - 1, 1))) for c in cols)
    return 13.0 * min(lines, 9) + 5

