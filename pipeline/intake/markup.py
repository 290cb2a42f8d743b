"""What calamine does not expose, read from a return's own markup and looked up lazily: in an .xlsx's
XML parts the 1904 date system, percent number formats, hidden rows and formulas without a calculated value; in an .ods's content.xml hidden
rows and merged ranges. The preflight has already refused DTDs, entities and oversize parts, so a regex
over a known part is enough.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from functools import cached_property

_ATTR = re.compile(r'([\w:.-]+)="([^"]*)"')  # names with - and . too: table:number-rows-repeated
_PERCENT_FORMATS = {9, 10}  # the built-in "0%" and "0.00%"


class Ooxml:
    """The 1904 date system and a cell's percent number format. Consulted only in rare cases (a serial
    number in a date field, exactly 1 in a percent field), so the common path never unzips twice. The
    preflight has already refused DTDs, entities and oversize parts; a regex over a known part is enough."""

    def __init__(self, data: bytes | None) -> None:
        self.zip = zipfile.ZipFile(io.BytesIO(data)) if data is not None else None
        self.texts: dict[str, str] = {}  # sheet name → its part, decoded once

    def part(self, name: str) -> str:
        if self.zip is None or not name:
            return ""
        try:
            return self.zip.read(name).decode("utf-8", "replace")
        except KeyError:
            return ""

    @cached_property
    def date1904(self) -> bool:
        match = re.search(r"<(?:\w+:)?workbookPr\b[^>]*>", self.part("xl/workbook.xml"))
        return bool(match) and _attrs(match.group()).get("date1904", "").lower() in ("1", "true")

    @cached_property
    def sheet_parts(self) -> dict[str, str]:
        """Sheet name → the name of its part in the package."""
        targets = {}
        for tag in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", self.part("xl/_rels/workbook.xml.rels")):
            attrs = _attrs(tag)
            target = attrs.get("Target", "")
            targets[attrs.get("Id", "")] = target[1:] if target.startswith("/") else "xl/" + target
        parts = {}
        for tag in re.findall(r"<(?:\w+:)?sheet\b[^>]*>", self.part("xl/workbook.xml")):
            attrs = _attrs(tag)
            rel = next((v for k, v in attrs.items() if k.endswith(":id")), "")
            parts[html.unescape(attrs.get("name", ""))] = targets.get(rel, "")
        return parts

    @cached_property
    def percent_styles(self) -> frozenset[int]:
        """Indexes of the cell formats (cellXfs) whose number format shows a percent."""
        styles = self.part("xl/styles.xml")
        custom = {_attr_int(a.get("numFmtId")) for a in map(_attrs, re.findall(r"<(?:\w+:)?numFmt\b[^>]*>", styles))
                  if "%" in html.unescape(a.get("formatCode", ""))}
        block = re.search(r"<(?:\w+:)?cellXfs\b.*?</(?:\w+:)?cellXfs>", styles, re.S)
        formats = (_PERCENT_FORMATS | custom) - {None}
        return frozenset(i for i, tag in enumerate(re.findall(r"<(?:\w+:)?xf\b[^>]*>", block.group() if block else ""))
                         if _attr_int(_attrs(tag).get("numFmtId", "0")) in formats)

    def hidden_rows(self, sheet: str) -> set[int]:
        """The Excel row numbers a sheet hides."""
        rows = set()
        for tag in re.findall(r"<(?:\w+:)?row\b[^>]*>", self.sheet_text(sheet)):
            attrs = _attrs(tag)
            row = _attr_int(attrs.get("r"))
            if attrs.get("hidden", "").lower() in ("1", "true") and row is not None:
                rows.add(row)
        return rows

    def is_percent_cell(self, sheet: str, cell: str) -> bool:
        text = self.sheet_text(sheet)
        at = text.find(f' r="{cell}"')  # a plain search: a regex starting at every '<' is slow over a sheet
        start = text.rfind("<", 0, at)
        tag = text[start : text.find(">", at) + 1] if at >= 0 and start >= 0 else ""
        style = _attrs(tag).get("s", "0") if re.match(r"<(?:\w+:)?c\b", tag) else "0"
        return _attr_int(style) in self.percent_styles

    def uncached_formulas(self, sheet: str) -> dict[str, str]:
        """A1 reference → formula ("=HYPERLINK(…)") of the sheet's cells that hold a formula but no calculated
        value: calamine reads them as empty. A shared formula's other cells carry no text of their own ("=")."""
        found = {}
        for match in _UNCACHED_FORMULA.finditer(self.sheet_text(sheet)):
            ref = _attrs(match.group(1)).get("r")
            if ref:
                found[ref] = "=" + html.unescape(match.group(2) or "")
        return found

    def sheet_text(self, sheet: str) -> str:
        text = self.texts.get(sheet)
        if text is None:
            text = self.texts[sheet] = self.part(self.sheet_parts.get(sheet, ""))
        return text


# A table's start tag; "\s" after the name, so that the search does not try every row and cell tag (table:table-row,
# table:table-cell) for a table:name up to its '>': that took 11 ms of reading a gnumeric .ods, whose cells are many
_ODS_TABLE = re.compile(r'<table:table\s[^>]*?\btable:name="([^"]*)"[^>]*>')

# A cell whose formula is followed by nothing, an empty value or a self-closed one (openpyxl writes <v></v> with
# lxml, <v /> without).
_UNCACHED_FORMULA = re.compile(
    r"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b[^>]*?(?:/>|>([^<]*)</(?:\w+:)?f>)"  # the text has no '<' (&lt;)
    r"\s*(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>")


def _ods_table(content: str, sheet: str) -> str:
    """The markup of one table (sheet) of an .ods content.xml; "" when there is none of that name."""
    start = next((m.end() for m in _ODS_TABLE.finditer(content) if html.unescape(m.group(1)) == sheet), None)
    if start is None:
        return ""
    end = content.find("</table:table>", start)
    return content[start : end if end >= 0 else None]


def ods_hidden_rows(content: str, sheet: str) -> list[tuple[int, int]]:
    """(first, last) row numbers an .ods table (in content.xml) hides, collapsed or filtered out. Rows come
    run-length encoded (table:number-rows-repeated), so they are ranges, never expanded."""
    hidden, row = [], 0
    for tag in re.finditer(r"<table:table-row\b[^>]*>", _ods_table(content, sheet)):
        attrs = _attrs(tag.group())
        count = _ods_count(attrs.get("table:number-rows-repeated"))
        if attrs.get("table:visibility") in ("collapse", "filter"):
            hidden.append((row + 1, row + count))
        row += count
    return hidden


_ODS_ROW_OR_CELL = re.compile(r"<table:table-row\b[^>]*>|<table:(?:covered-)?table-cell\b[^>]*>")


def ods_merged_ranges(content: str, sheet: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """An .ods table's merged ranges, 0-based as calamine gives them for other formats: a cell that spans
    (table:number-columns-spanned / -rows-spanned), placed by counting rows and cells with their repeats."""
    merged = []
    row = col = following = 0  # following: the row number after this row's repeats
    for tag in _ODS_ROW_OR_CELL.finditer(_ods_table(content, sheet)):
        text = tag.group()
        attrs = _attrs(text) if "table:number-" in text else {}
        if text.startswith("<table:table-row"):
            row, col = following, 0
            following += _ods_count(attrs.get("table:number-rows-repeated"))
            continue
        columns = _ods_count(attrs.get("table:number-columns-spanned"))
        rows = _ods_count(attrs.get("table:number-rows-spanned"))
        if columns > 1 or rows > 1:
            merged.append(((row, col), (row + rows - 1, col + columns - 1)))
        col += _ods_count(attrs.get("table:number-columns-repeated"))
    return merged


def _ods_count(value: str | None) -> int:
    return _attr_int(value) or 1  # absent, 0 or odd: one


def _attr_int(value: str | None) -> int | None:
    """An attribute's whole number (a row, a style index, a repeat count); None unless 1–9 ASCII digits: a
    file's markup may hold anything, and int() raises on '²' and on 5,000 digits."""
    if value and len(value) <= 9 and value.isascii() and value.isdigit():
        return int(value)
    return None


def _attrs(tag: str) -> dict[str, str]:
    return dict(_ATTR.findall(tag))
