"""Excel 2003 XML Spreadsheet (SpreadsheetML 2003, saved as .xml by Excel 2002–2003 and LibreOffice) read into
what the reader asks calamine for, which does not read this format: sheet names and visibility, each sheet's
cells from A1 (numbers as floats, dates, booleans, text) with its merged ranges, and its hidden rows.

The format is one XML file (Microsoft's "XML Spreadsheet Reference"): <Worksheet ss:Name> holds a <Table> of
<Row>s of <Cell>s, each cell's value in <Data ss:Type="Number|String|DateTime|Boolean|Error">. A row or cell
without ss:Index follows the one before it; a merged cell (ss:MergeAcross, ss:MergeDown) moves the next cell
past the columns it covers; a row with ss:Span stands for that many more rows like it. A cell's formula
(ss:Formula) is not evaluated: its value is the cached <Data>, as calamine gives cached values.

The preflight has refused files over the size limit and any DTD; expat is told to refuse one as well (no entity
can then be declared, so none can expand), and a sheet is bounded by its real cells (rows, rows × columns),
never by what its <Table> declares (ss:ExpandedRowCount). Anything malformed raises `Refused` with the issue to
report; nothing else escapes.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from python_calamine import SheetVisibleEnum

from pipeline.intake.preflight import DEFAULT_LIMITS, Limits

__all__ = ["Refused", "Sheet", "Workbook"]

SS = "urn:schemas-microsoft-com:office:spreadsheet"  # the element and attribute namespace
EXCEL = "urn:schemas-microsoft-com:office:excel"  # WorksheetOptions and their <Visible>
MAX_ROW, MAX_COL = 1_048_576, 16_384  # Excel's own bounds: an index past them is not a cell
_SEP = "\x01"  # expat's separator between a namespace and a local name
_VISIBILITY = {"SheetHidden": SheetVisibleEnum.Hidden, "SheetVeryHidden": SheetVisibleEnum.VeryHidden}
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?")


class Refused(Exception):
    """The file cannot be read: `code` and `context` are the issue to report."""

    def __init__(self, code: str, **context: object) -> None:
        super().__init__(code)
        self.code = code
        self.context = context


@dataclass(frozen=True, slots=True)
class SheetMetadata:
    name: str
    visible: SheetVisibleEnum


@dataclass
class Sheet:
    """One worksheet, as calamine's CalamineSheet gives it to the reader."""

    name: str
    cells: dict[int, dict[int, Any]] = field(default_factory=dict)  # 0-based row → 0-based column → value
    merged_cell_ranges: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    hidden: list[tuple[int, int]] = field(default_factory=list)  # (first, last) Excel row numbers hidden
    visible: SheetVisibleEnum = field(default_factory=lambda: SheetVisibleEnum.Visible)

    def to_python(self, *, skip_empty_area: bool = False, nrows: int | None = None) -> list[list[Any]]:
        """Rows from A1 (skip_empty_area=False, the only way the reader asks) to the last row holding a
        value, each as wide as the widest; "" where there is nothing, like calamine."""
        if not self.cells:
            return []
        height = max(self.cells) + 1
        width = max(max(row) for row in self.cells.values()) + 1
        rows = []
        for number in range(height if nrows is None else min(height, nrows)):
            row = [""] * width
            for col, value in self.cells.get(number, {}).items():
                row[col] = value
            rows.append(row)
        return rows

    def hidden_rows(self, rows: set[int]) -> set[int]:
        """Those of `rows` (Excel numbers) that the sheet hides."""
        return {row for row in rows if any(first <= row <= last for first, last in self.hidden)}


class Workbook:
    """An XML Spreadsheet parsed at once (a return is ~100 KB: a few milliseconds with expat)."""

    def __init__(self, data: bytes, *, name: str = "", limits: Limits = DEFAULT_LIMITS) -> None:
        parsed = _Parser(name, limits).parse(data)
        self.sheets = {sheet.name: sheet for sheet in parsed}
        self.sheet_names = [sheet.name for sheet in parsed]
        self.sheets_metadata = [SheetMetadata(sheet.name, sheet.visible) for sheet in parsed]

    def get_sheet_by_name(self, name: str) -> Sheet:
        return self.sheets[name]

    def hidden_rows(self, sheet: str, rows: set[int]) -> set[int]:
        return self.sheets[sheet].hidden_rows(rows) if sheet in self.sheets else set()


class _Parser:
    """expat callbacks that build the sheets as the elements stream past."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.name = name  # the file's, for messages
        self.limits = limits
        self.sheets: list[Sheet] = []
        self.sheet: Sheet | None = None
        self.row = 0  # Excel number of the current (or last) row
        self.span = 0  # more rows the current row stands for (ss:Span)
        self.col = 0  # Excel number of the last cell's last column
        self.cell_col = 0  # 0-based column of the current cell
        self.width = 0  # the sheet's widest row so far, in columns
        self.row_cells: dict[int, Any] = {}
        self.data_type: str | None = None  # inside a cell's <Data>: its ss:Type
        self.text: list[str] = []
        self.cell_value: Any = None
        self.comment = 0  # depth inside a cell's <Comment>, whose <Data> is the comment's text
        self.options: list[str] = []  # element stack inside <WorksheetOptions>
        self.seen_root = False

    def parse(self, data: bytes) -> list[Sheet]:
        parser = expat.ParserCreate(namespace_separator=_SEP)
        parser.StartDoctypeDeclHandler = self.refuse_declaration
        parser.EntityDeclHandler = self.refuse_declaration
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.characters
        try:
            parser.Parse(data, True)
        except expat.ExpatError as exc:
            raise Refused("FILE_CORRUPT", reason=f"XML: {expat.ErrorString(exc.code)}, line {exc.lineno}") from None
        except RecursionError:
            raise Refused("FILE_CORRUPT", reason="XML nesting") from None
        if not self.seen_root:
            raise Refused("FILE_CORRUPT", reason="XML: no <Workbook>")
        return self.sheets

    def refuse_declaration(self, *_: object) -> None:
        raise Refused("FILE_XML_ENTITIES", part=self.name)

    # -- elements ---------------------------------------------------------------------------------------

    def start(self, name: str, attrs: dict[str, str]) -> None:
        namespace, _, local = name.rpartition(_SEP)
        if self.options or (namespace == EXCEL and local == "WorksheetOptions" and self.sheet is not None):
            self.options.append(local)
            return
        if self.comment or (namespace == SS and local == "Comment"):
            self.comment += 1
            return
        if namespace != SS:
            return  # rich text inside <Data> (html:B, html:Font…): its text is collected all the same
        if local == "Workbook":
            self.seen_root = True
        elif local == "Worksheet":
            self.start_sheet(attrs)
        elif local == "Row" and self.sheet is not None:
            self.start_row(attrs)
        elif local == "Cell" and self.sheet is not None:
            self.start_cell(attrs)
        elif local == "Data" and self.sheet is not None:
            self.data_type = attrs.get(f"{SS}{_SEP}Type", "String")
            self.text = []

    def end(self, name: str) -> None:
        namespace, _, local = name.rpartition(_SEP)
        if self.options:
            self.options.pop()
            return
        if self.comment:
            self.comment -= 1
            return
        if namespace != SS or self.sheet is None:
            return
        if local == "Data" and self.data_type is not None:
            self.cell_value = _value(self.data_type, "".join(self.text))
            self.data_type = None
        elif local == "Cell":
            if self.cell_value is not None and self.cell_value != "":
                self.row_cells[self.cell_col] = self.cell_value
        elif local == "Row":
            self.end_row()
        elif local == "Worksheet":
            self.sheet = None

    def characters(self, text: str) -> None:
        if self.data_type is not None:
            self.text.append(text)
        elif self.options and self.options[-1] == "Visible" and self.sheet is not None:
            self.sheet.visible = _VISIBILITY.get(text.strip(), self.sheet.visible)

    # -- sheets, rows and cells ---------------------------------------------------------------------------

    def start_sheet(self, attrs: dict[str, str]) -> None:
        name = attrs.get(f"{SS}{_SEP}Name", "")
        if not name or any(sheet.name == name for sheet in self.sheets):
            raise Refused("FILE_CORRUPT", reason=f"XML: worksheet name {name!r}")
        self.sheet = Sheet(name)
        self.sheets.append(self.sheet)
        self.row = self.width = 0

    def start_row(self, attrs: dict[str, str]) -> None:
        self.row = self.index(attrs, self.row + 1, MAX_ROW, "Row")
        self.span = _count(attrs.get(f"{SS}{_SEP}Span"))
        if self.row + self.span > MAX_ROW:
            raise Refused("FILE_CORRUPT", reason=f"XML: row {self.row + self.span}")
        if attrs.get(f"{SS}{_SEP}Hidden", "").strip() in ("1", "true"):
            assert self.sheet is not None
            self.sheet.hidden.append((self.row, self.row + self.span))
        self.col = 0
        self.row_cells = {}

    def start_cell(self, attrs: dict[str, str]) -> None:
        first = self.index(attrs, self.col + 1, MAX_COL, "Cell")
        across = _count(attrs.get(f"{SS}{_SEP}MergeAcross"))
        down = _count(attrs.get(f"{SS}{_SEP}MergeDown"))
        self.col, self.cell_col = first + across, first - 1
        if self.col > MAX_COL or self.row + down > MAX_ROW:
            raise Refused("FILE_CORRUPT", reason=f"XML: cell R{self.row}C{self.col}")
        if across or down:
            assert self.sheet is not None
            self.sheet.merged_cell_ranges.append(((self.row - 1, first - 1), (self.row - 1 + down, self.col - 1)))
        self.cell_value = None

    def end_row(self) -> None:
        sheet = self.sheet
        assert sheet is not None
        if self.row_cells:
            self.width = max(self.width, max(self.row_cells) + 1)
            self.check_size(sheet, self.row + self.span)
            for number in range(self.row - 1, self.row + self.span):  # a span's rows share one (read-only) dict
                sheet.cells[number] = self.row_cells
        self.row += self.span

    def index(self, attrs: dict[str, str], implied: int, limit: int, element: str) -> int:
        """A row's or cell's ss:Index, or the one its place implies; never back over an earlier one."""
        given = attrs.get(f"{SS}{_SEP}Index")
        if given is None:
            number = implied
        elif (number := _count(given, default=0)) < implied:
            raise Refused("FILE_CORRUPT", reason=f"XML: {element} ss:Index={given[:12]!r}")
        if number > limit:
            raise Refused("FILE_CORRUPT", reason=f"XML: {element} ss:Index={given!r}")
        return number

    def check_size(self, sheet: Sheet, rows: int) -> None:
        """The area from A1 to a sheet's last value (what the reader would be handed), not what the sheet
        declares, against the limits every format has (preflight.Limits)."""
        if rows > self.limits.max_rows or rows * self.width > self.limits.max_dimension_cells:
            ref = f"A1:{_column_letters(self.width)}{rows}"
            raise Refused("FILE_DIMENSION_BOMB", sheet=sheet.name, ref=ref)


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _count(value: str | None, *, default: int = 0) -> int:
    """A non-negative whole number attribute (an index, a span); `default` when absent or not one."""
    if value is None:
        return default
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        raise Refused("FILE_CORRUPT", reason=f"XML: number {text[:12]!r}")
    return int(text)


def _value(kind: str, text: str) -> Any:
    """A <Data> element's value, typed as calamine types cells: float, bool, date or datetime, text."""
    if kind == "Number":
        try:
            number = float(text)
        except ValueError:
            return text  # the reader reports it as not a number, with the text as typed
        return number if math.isfinite(number) else text
    if kind == "Boolean":
        return text.strip() in ("1", "true", "TRUE")
    if kind == "DateTime":
        return _datetime(text)
    return text  # String, Error ("#DIV/0!"): as written


def _datetime(text: str) -> Any:
    """ISO 8601 as Excel writes it ("2007-07-31T00:00:00.000"): a date when there is no time of day."""
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        return text
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        if hour == minute == second == 0:
            return dt.date(year, month, day)
        return dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return text
