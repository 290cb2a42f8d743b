"""The print set: the first sheets of the summary workbook, Biểu 01–05, each in the official frame and with a
print area that fits A4, so that printing the workbook gives the few pages leaders read (at most 6 for the
41 agencies of Hà Tĩnh; `tests/report/test_print_set.py` converts the workbook to PDF with LibreOffice and
counts them). Every other sheet of the workbook is left out of printing (`exclude_from_printing`).

A sheet, top to bottom: "Biểu số 01" at the top right; the header (governing body over the Department;
the national motto), the title and the coverage line; the table(s); the notes; the place-and-date line and
the signature blocks "NGƯỜI LẬP BIỂU" and "GIÁM ĐỐC". Numbers are real numbers, shown the Vietnamese way
(1.234,5) by a Vietnamese number format ([$-42A]) that LibreOffice honours whatever the machine's locale.
The table's header rows repeat on every printed page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from pipeline.report.bieu import Bieu, Part, label_span, typed
from pipeline.report.frame import MOTTO, NATION, PREPARER, PREPARER_NOTE, SIGNER_NOTE, Frame
from pipeline.report.xlsx import FONT, FORMULA_CHARS, Col, safe_text, text_lines

VIETNAMESE = "[$-42A]"  # the locale of a number format: "." for thousands, "," for decimals
NUMBERS = {"count": "#,##0", "money": "#,##0.0", "ratio": "0.00", "pct": "0.0", "date": "dd/mm/yyyy"}
FILLS = {"group": "#E7E6E6", "subtotal": "#F2F2F2", "total": "#D9D9D9", "flag": "#FFF2CC", "missing": "#FCE4D6",
         "late": "#FFFFFF"}
A4 = 9
ROWS_PER_PAGE = {True: 30, False: 48}  # table lines of one line that fit a page (landscape, portrait)
PRINT_NOTE = ("Trang này không thuộc bộ biểu in (Biểu 01–05). Muốn in: Bố cục Trang › Vùng in › Xóa vùng in.")


def write_print_set(book: xlsxwriter.Workbook, tables: Sequence[Bieu], frame: Frame, year: int) -> list[Worksheet]:
    """Add one sheet per biểu, in order, as the workbook's first sheets (call before adding any other)."""
    formats = _Formats(book)
    return [_BieuSheet(book.add_worksheet(bieu.sheet), bieu, frame, formats).write(year) for bieu in tables]


def exclude_from_printing(ws: Worksheet) -> None:
    """Leave a sheet out of printing: its print area is one empty cell past its data, which Excel and
    LibreOffice print as nothing. The sheet keeps its page setup: clearing the print area prints it whole."""
    ws.print_area(0, ws.dim_colmax + 2 if ws.dim_colmax is not None else 0, 0,
                  ws.dim_colmax + 2 if ws.dim_colmax is not None else 0)


class _Formats:
    """One Format per (role, line style, kind): roles are the frame's words and the table's cells."""

    BASE: ClassVar[dict[str, Any]] = {"font_name": FONT, "font_size": 11, "valign": "top"}
    ROLES: ClassVar[dict[str, dict[str, Any]]] = {
        "corner": {"bold": True, "align": "right"},
        "governing": {"align": "center", "font_size": 12},
        "issuer": {"bold": True, "align": "center", "font_size": 12, "underline": 1},
        "nation": {"bold": True, "align": "center", "font_size": 12},
        "motto": {"bold": True, "align": "center", "font_size": 13, "underline": 1},
        "title": {"bold": True, "align": "center", "valign": "vcenter", "font_size": 13, "text_wrap": True},
        "subtitle": {"italic": True, "align": "center", "text_wrap": True},
        "unit": {"italic": True, "align": "right"},
        "heading": {"bold": True, "text_wrap": True},
        "note": {"italic": True, "font_size": 10, "text_wrap": True},
        "date": {"italic": True, "align": "center", "font_size": 12},
        "signer": {"bold": True, "align": "center", "font_size": 12},
        "sign_note": {"italic": True, "align": "center"},
        "header": {"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True, "border": 1},
    }
    KINDS: ClassVar[dict[str, dict[str, Any]]] = {
        "text": {}, "wrap": {"text_wrap": True}, "center": {"align": "center", "text_wrap": True},
        **{k: {"num_format": VIETNAMESE + v, "align": "center" if k == "date" else "right"} for k, v in NUMBERS.items()},
    }

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.book = book
        self.cache: dict[tuple[str, str, str, bool], Format] = {}

    def role(self, name: str) -> Format:
        return self.get("role", name, "")

    def cell(self, style: str, kind: str, quote: bool = False) -> Format:
        return self.get("cell", style, kind if kind in self.KINDS else "text", quote)

    def get(self, what: str, name: str, kind: str, quote: bool = False) -> Format:
        key = (what, name, kind, quote)
        if key not in self.cache:
            if what == "role":
                props = {**self.BASE, **self.ROLES[name]}
            else:
                props = {**self.BASE, "border": 1, **self.KINDS[kind]}
                if name in FILLS and FILLS[name] != "#FFFFFF":
                    props["bg_color"] = FILLS[name]
                if name in ("group", "subtotal", "total"):
                    props["bold"] = True
                if name == "late":
                    props["italic"] = True
                if quote:
                    props["quote_prefix"] = True
            self.cache[key] = self.book.add_format(props)
        return self.cache[key]


class _BieuSheet:
    def __init__(self, ws: Worksheet, bieu: Bieu, frame: Frame, formats: _Formats) -> None:
        self.ws, self.bieu, self.frame, self.f = ws, bieu, frame, formats
        self.widths = _widths(bieu.parts)
        self.n = len(self.widths)
        self.split = _split(self.widths)

    def write(self, year: int) -> Worksheet:
        ws, bieu = self.ws, self.bieu
        for c, width in enumerate(self.widths):
            ws.set_column(c, c, width)
        row = self.header()
        row = self.merged(row, bieu.title, "title", 0, self.n, height=_height(bieu.title, sum(self.widths), 13))
        row = self.merged(row, bieu.subtitle, "subtitle", 0, self.n)
        if bieu.unit:
            row = self.merged(row, bieu.unit, "unit", 0, self.n)
        row += 1
        repeat: tuple[int, int] | None = None
        lines = 0
        for part in bieu.parts:
            if part.heading:
                row = self.merged(row, part.heading, "heading", 0, self.n)
            top = row
            row = self.table_header(row, part.columns)
            repeat = repeat or (top, row - 1)
            row = self.table_body(row, part)
            lines += len(part.lines) + 2
            row += 1
        for note in bieu.notes:
            row = self.merged(row, note, "note", 0, self.n, height=_height(note, sum(self.widths), 10))
        last = self.signatures(row + 1, year)
        self.page_setup(last, repeat, lines)
        return ws

    # --- the frame ----------------------------------------------------------------------------------------
    def header(self) -> int:
        """Rows 0–2: the biểu number at the top right; governing body and Department | nation and motto. A body
        that answers to no other in the header (a ministry: the frame has no issuing unit under it) is written
        alone, in the issuer's bold, level with the national name."""
        corner = max(self.n - 2, self.split)
        self.merged(0, self.bieu.label, "corner", corner, self.n)
        alone = not self.frame.issuer
        self.merged(1, self.frame.governing, "issuer" if alone else "governing", 0, self.split)
        self.merged(1, NATION, "nation", self.split, self.n)
        if not alone:
            self.merged(2, self.frame.issuer, "issuer", 0, self.split)
        self.merged(2, MOTTO, "motto", self.split, self.n)
        return 4

    def signatures(self, row: int, year: int) -> int:
        """The place-and-date line over "GIÁM ĐỐC" on the right, "NGƯỜI LẬP BIỂU" on the left; returns the
        last row of the print area (room left for the signatures)."""
        self.merged(row, self.frame.date_line(year), "date", self.split, self.n)
        self.merged(row + 1, PREPARER, "signer", 0, self.split)
        self.merged(row + 1, self.frame.signer, "signer", self.split, self.n)
        self.merged(row + 2, PREPARER_NOTE, "sign_note", 0, self.split)
        self.merged(row + 2, SIGNER_NOTE, "sign_note", self.split, self.n)
        return row + 6

    def merged(self, row: int, text: str, role: str, first: int, last: int, height: float | None = None) -> int:
        """Our own words across columns [first, last); returns the next row."""
        fmt = self.f.role(role)
        if last - 1 > first:
            self.ws.merge_range(row, first, row, last - 1, "", fmt)
        self.ws.write_string(row, first, text, fmt)
        if height:
            self.ws.set_row(row, height)
        return row + 1

    # --- the table ----------------------------------------------------------------------------------------
    def table_header(self, row: int, columns: Sequence[Col]) -> int:
        """One header row, or two when columns share band headers (merged above them)."""
        head = self.f.role("header")
        banded = any(c.band for c in columns)
        height = max(_height(c.header, c.width, 11) for c in columns)
        if not banded:
            for c, col in enumerate(columns):
                self.ws.write_string(row, c, col.header, head)
            self.ws.set_row(row, height)
            return row + 1
        c = 0
        while c < len(columns):
            col = columns[c]
            if not col.band:
                self.ws.merge_range(row, c, row + 1, c, "", head)
                self.ws.write_string(row, c, col.header, head)
                c += 1
                continue
            end = c
            while end + 1 < len(columns) and columns[end + 1].band == col.band:
                end += 1
            if end > c:
                self.ws.merge_range(row, c, row, end, "", head)
            self.ws.write_string(row, c, col.band, head)
            for k in range(c, end + 1):
                self.ws.write_string(row + 1, k, columns[k].header, head)
            c = end + 1
        self.ws.set_row(row, max(_height(c.band, c.width * 2, 11) for c in columns if c.band))
        self.ws.set_row(row + 1, height)
        return row + 2

    def table_body(self, row: int, part: Part) -> int:
        for style, values in part.lines:
            lines, span = 1, label_span(style, values)
            for c, (col, raw) in enumerate(zip(part.columns, values, strict=True)):
                value, own = typed(raw)
                if span and c == 1:  # a group's label runs over the empty cells after it
                    self.ws.merge_range(row, 1, row, span, "", self.f.cell(style, "text"))
                if span and 1 < c <= span:
                    continue
                self.put(row, c, value, own or col.kind, style)
                width = sum(x.width for x in part.columns[1:span + 1]) if span and c == 1 else col.width
                if isinstance(value, str) and col.kind in ("wrap", "center", "text"):
                    lines = max(lines, _lines(value, width))
            if lines > 1:
                self.ws.set_row(row, 15 * lines + 2)
            row += 1
        return row

    def put(self, row: int, col: int, value: Any, kind: str, style: str) -> None:
        """A value by its type; agency text only ever as a string (never a formula, a link or a number)."""
        fmt = self.f.cell(style, kind)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            self.ws.write_blank(row, col, None, fmt)
        elif isinstance(value, str):
            text = safe_text(value)
            quote = text.startswith(FORMULA_CHARS)  # stays text when edited (Excel's quote prefix)
            self.ws.write_string(row, col, text, self.f.cell(style, kind, quote) if quote else fmt)
        elif hasattr(value, "year") and hasattr(value, "month"):
            self.ws.write_datetime(row, col, _as_datetime(value), self.f.cell(style, "date"))
        else:
            self.ws.write_number(row, col, float(value), fmt)

    # --- the page ------------------------------------------------------------------------------------------
    def page_setup(self, last: int, repeat: tuple[int, int] | None, lines: int) -> None:
        """A4, the official margins, fit to the page width, as many pages tall as the table needs."""
        ws, landscape = self.ws, self.bieu.landscape
        ws.set_paper(A4)
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        # millimetres as official documents set them (top/bottom 20, left 25, right 15), in inches
        ws.set_margins(left=25 / 25.4, right=15 / 25.4, top=20 / 25.4, bottom=15 / 25.4)
        ws.center_horizontally()
        ws.print_area(0, 0, last, self.n - 1)
        pages = max(1, math.ceil(lines / ROWS_PER_PAGE[landscape]))
        ws.fit_to_pages(1, pages)
        if repeat is not None and pages > 1:
            ws.repeat_rows(*repeat)
            ws.set_footer("&C&10Trang &P/&N")
        ws.hide_gridlines(2)


def _widths(parts: Sequence[Part]) -> list[float]:
    """Column widths shared by a biểu's tables: the widest of each position."""
    n = max(len(p.columns) for p in parts)
    return [max((p.columns[i].width for p in parts if i < len(p.columns)), default=8.0) for i in range(n)]


def _split(widths: Sequence[float]) -> int:
    """Where the left block of the header and signatures ends: about 40 % of the width."""
    total, running = sum(widths), 0.0
    for i, width in enumerate(widths):
        running += width
        if running >= 0.4 * total:
            return max(1, min(i + 1, len(widths) - 1))
    return max(1, len(widths) - 1)


def _lines(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column `width` characters wide, at 11 points."""
    return text_lines(text, width * 10 / 11)


def _height(text: str, width: float, points: float) -> float:
    return max(1, _lines(text, width * 11 / points)) * points * 1.35 + 3


def _as_datetime(value: Any) -> Any:
    import datetime as dt

    return value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
