"""Write the reporting form: the blank template, one pre-filled copy per agency, and filled samples.

Everything is derived from the spec and its layout (`pipeline.form.layout`), so the reader finds each value where
this module wrote it. What the workbook promises the agencies and the reader:

- input cells are light yellow and unlocked; everything else is locked; sheets are protected *without* a
  password (it keeps the layout, it is not security: the instructions say so);
- every typed input carries an Excel data validation with a Vietnamese message (dropdown lists come from
  the hidden `_lists` sheet through defined names, because labels contain commas);
- every field's cell has a workbook-level defined name equal to its field id;
- computed cells are formulas that also carry their value computed here, so readers that only see cached
  values (python-calamine) get them right;
- the hidden `_meta` sheet holds the form's identity and cell map (`pipeline.form.meta`);
- the bytes depend only on the inputs (fixed creation time), so the same spec and registry always give
  byte-identical files; files are written atomically (`pipeline.atomic`).
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import math
import textwrap
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from pipeline.atomic import write_atomic
from pipeline.form import frame
from pipeline.form.layout import (
    COL_HELP,
    COL_LABEL,
    COL_STT,
    COL_UNIT,
    COL_VALUE,
    FRAME_ROW,
    HEADER_ROW,
    INSTRUCTIONS_SHEET,
    LISTS_SHEET,
    META_SHEET,
    ROMAN,
    SUBTITLE_ROW,
    TITLE_ROW,
    CellRef,
    Layout,
    Row,
    a1,
    col_letter,
    layout_for,
    parse_a1,
)
from pipeline.form.meta import meta_rows
from pipeline.form.registry import Agency, Registry
from pipeline.form.spec import Field, FormSpec, Section, Sheet, Table

# Fixed document creation time (the start of the collection window): with it the output bytes depend only on
# the spec, the agency and the values.
FIXED_CREATED = dt.datetime(2007, 8, 17, 8, 0)

BOOL_LABELS = {True: "Có", False: "Không"}
BOOL_LIST = "co_khong"
ACRONYMS = frozenset({"CNTT", "UBND", "LAN", "WAN", "CBCC", "CBCCVC", "NSTW", "NSĐP", "ODA"})
LIST_NAME_PREFIX = "DS_"

# Agency text must never turn into a formula, a link or a number (reliability notes §0 item 7).
WORKBOOK_OPTIONS = {
    "in_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "default_format_properties": {"font_name": "Times New Roman", "font_size": 11},
}

# Number formats by value type. Percentages are 0–100 numbers, not Excel percent (the "%" is in the unit
# column); text-like inputs are "@" so a phone number such as 039.855123 stays text. Narrative ("text")
# cells stay General: Excel shows "####" for a Text-formatted cell holding more than 255 characters.
NUM_FORMATS = {
    "int": "#,##0", "dec": "#,##0.00", "money": "#,##0.0", "pct": "0.0", "ratio": "0.00", "year": "0",
    "date": "dd/mm/yyyy", "str": "@", "phone": "@", "email": "@", "url": "@", "agency": "@",
}
NUMBER_TYPES = {"int", "dec", "money", "pct", "year"}
WHOLE_TYPES = {"int", "year"}

INPUT_FILL = "#FFF2CC"
COMPUTED_FILL = "#EDEDED"
CARRIED_FILL = "#DDEBF7"  # an input pre-filled from the agency's previous return: to check, not retype
SECTION_FILL = "#D9E1F2"
HEADER_FILL = "#BDD7EE"
LINE_HEIGHT = 15.0  # points per line of 11 pt text
BOLD_FACTOR = 0.8  # bold header text is wider: fewer characters per width unit
HELP_FACTOR = 1.4  # the 9 pt help text fits more characters per width unit
NARRATIVE_LINES = 6
TABLE_BODY_HEIGHT = 30.0

# Label/value sheets: STT | label | unit | value | help (| further target years). Chosen so the sheet prints
# on A4 portrait at a readable scale; the value column is wide enough for narratives.
SHEET_WIDTHS = {COL_STT: 5, COL_LABEL: 40, COL_UNIT: 10, COL_VALUE: 42, COL_HELP: 24}
TARGET_YEAR_WIDTH = 13
INSTRUCTION_WIDTHS = (5, 40, 60)  # STT | text, merged across the last two (the frame's header splits there)
FRAME_LEFT_SHARE = 0.4  # the frame's left block (governing body, unit) takes about 40% of the page width
SIGNATURE_SPACE = LINE_HEIGHT * 5  # room under the signature titles for the signature and the seal

PROTECT_LABEL_SHEET = {"format_rows": True, "format_columns": True}
# Agencies add projects by inserting rows, and may filter the list.
PROTECT_TABLE_SHEET = {"format_rows": True, "format_columns": True, "insert_rows": True, "delete_rows": True,
                       "autofilter": True}
MARGINS = {"left": 0.5, "right": 0.4, "top": 0.6, "bottom": 0.7}
TABLE_MARGINS = {"left": 0.3, "right": 0.3, "top": 0.5, "bottom": 0.6}  # the wide table needs every millimetre

DV_TITLE_MAX = 32  # xlsxwriter/Excel limits on data-validation texts (UTF-16 units)
DV_MESSAGE_MAX = 255


# --------------------------------------------------------------------------------------------------------
# Public API


@dataclass(frozen=True)
class Carried:
    """The inputs of a copy pre-filled from the agency's previous return (form.carry_forward): field ids, and
    per table the columns of each row (0-based), with the note every such cell carries."""

    fields: frozenset[str] = frozenset()
    tables: Mapping[str, Mapping[int, frozenset[str]]] = field(default_factory=dict)
    note: str = ""


CARRIED_NOTE = {"x_scale": 2.2, "y_scale": 1.6, "author": "ictplan"}


def template_file_name(spec: FormSpec, agency_code: str | None) -> str:
    """"BM-UDCNTT-2007_v1.0_STC.xlsx"; the blank template is "BM-UDCNTT-2007_v1.0_mau-trong.xlsx"."""
    return f"{spec.form_id}_v{spec.version}_{agency_code or 'mau-trong'}.xlsx"


def build_workbook(spec: FormSpec, *, agency: Agency | None = None, values: Mapping[str, Any] | None = None,
                   projects: Sequence[Mapping[str, Any]] = (), cell_text: Mapping[str, str] | None = None,
                   extra_project_rows: int = 0, tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                   carried: Carried | None = None) -> bytes:
    """The form as .xlsx bytes: blank (agency None), pre-filled for an agency, or filled with values.

    ``values`` are typed values by field id, written as an agency filling the form in Excel would leave
    them (bools and choice codes as their Vietnamese labels, dates as date cells). Values of computed fields
    are ignored: computed cells are always recomputed from the inputs. ``cell_text`` writes literal text
    into an input cell instead ("1.500", "khoảng 50"). ``projects`` are rows of the project table (column id
    → value); ``tables`` the rows of the other tables, by table id. ``extra_project_rows`` adds body rows
    beyond the spec's count to the project table (for tests). ``carried`` marks the inputs that were
    pre-filled from the agency's previous return (a fill colour and a note: the agency checks them).
    """
    values = dict(values or {})
    cell_text = dict(cell_text or {})
    rows_by_table = _rows_by_table(spec, projects, tables)
    _check_inputs(spec, cell_text, rows_by_table, extra_project_rows)
    layout = layout_for(spec)
    code, name = (agency.code, agency.name_vi) if agency is not None else ("", "")
    if agency is not None:
        values.setdefault("ma_don_vi", code)
        values.setdefault("ten_don_vi", name)
    computed = evaluate_computed(spec, _without(values, cell_text), projects, tables)

    buffer = io.BytesIO()
    # A fresh copy each time: xlsxwriter writes into the options it is given (it adds theme_font_name to
    # the default format), which would make the second workbook's styles differ from the first's.
    workbook = xlsxwriter.Workbook(buffer, copy.deepcopy(WORKBOOK_OPTIONS))
    writer = _FormWriter(spec, layout, workbook, code, name, carried)
    writer.properties()
    writer.instructions()
    for sheet in spec.sheets:
        if sheet.table is not None:
            extra = extra_project_rows if sheet.table is spec.table else 0
            writer.table_sheet(sheet, sheet.table, rows_by_table[sheet.table.id], computed, extra)
        else:
            writer.label_sheet(sheet, values, cell_text, computed)
    writer.meta_sheet()
    writer.lists_sheet()
    writer.field_names()
    workbook.close()
    return buffer.getvalue()


def write_templates(spec: FormSpec, registry: Registry, out_dir: str | Path) -> list[Path]:
    """The blank template plus one pre-filled copy per agency, written atomically into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_atomic(out / template_file_name(spec, None), build_workbook(spec))]
    for agency in registry.of_round(spec).agencies:
        paths.append(write_atomic(out / template_file_name(spec, agency.code), build_workbook(spec, agency=agency)))
    return paths


def evaluate_computed(spec: FormSpec, values: Mapping[str, Any], projects: Sequence[Mapping[str, Any]] = (),
                      tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> dict[str, float | None]:
    """The value of every computed field (formulas and table totals), as Excel computes it from the cells.

    Only numbers count: a text in a numeric cell is ignored (SUM and N() ignore it; a ratio's zero guard
    then shows a blank). None means the cell shows blank (a blank or zero divisor).
    """
    env: dict[str, Any] = {fid: _number_or_none(v) for fid, v in values.items()
                           if fid in spec.fields and spec.fields[fid].is_input}
    out: dict[str, float | None] = {}
    for table_id, rows in _rows_by_table(spec, projects, tables).items():
        for column_id, total_id in spec.table_named(table_id).totals.items():
            # Added in row order, as SUM does (and as the spec's total() does).
            out[total_id] = sum((n for row in rows if (n := _number_or_none(row.get(column_id))) is not None), 0)
    env.update(out)

    def resolve(field_id: str, chain: tuple[str, ...] = ()) -> Any:
        if field_id in env:
            return env[field_id]
        f = spec.fields.get(field_id)
        if f is None or f.formula is None:
            return None
        if field_id in chain:
            raise ValueError(f"computed fields refer to each other in a circle: {' → '.join(chain)}")
        for name in f.formula.names:
            resolve(name, (*chain, field_id))
        result = f.formula.evaluate(env)
        env[field_id] = out[field_id] = None if _is_nan(result) else result
        return env[field_id]

    for f in spec.fields.values():
        if f.type == "computed" and f.formula is not None:
            resolve(f.id)
    return out


def excel_formula(f: Field, cell_of: Any) -> str:
    """The Excel formula of a computed field, blank whenever the Python evaluation is blank.

    ``expr.to_excel`` already blanks a zero or blank divisor. Excel would still read a blank or text operand
    as 0 (a bare reference to an empty cell shows 0), where the spec's evaluation gives blank; so the formula
    is also blank while any operand holds no number (COUNT ignores blanks and text).
    """
    assert f.formula is not None
    body = f.formula.to_excel(cell_of)
    operands = sorted(f.formula.operands)
    if not operands:
        return body
    guard = ",".join(f"COUNT({cell_of(name)})=0" for name in operands)
    return f'=IF(OR({guard}),"",{body[1:]})'


def list_name(list_id: str) -> str:
    """The workbook name of a dropdown list: DS_loai_don_vi, DS_co_khong."""
    return LIST_NAME_PREFIX + list_id


def input_value_text(spec: FormSpec, f: Field, value: Any) -> Any:
    """What an agency's cell holds for a typed value: the label for bools and choices, else the value."""
    if isinstance(value, bool) and f.type == "bool":
        return BOOL_LABELS[value]
    if f.type == "choice" and isinstance(value, str) and f.choices:
        return spec.choice_label(f.choices, value)
    return value


# --------------------------------------------------------------------------------------------------------
# The writer


def _look(**props: Any) -> Mapping[str, Any]:
    return MappingProxyType(props)


class _Styles:
    """Formats built on demand and shared: one xlsxwriter Format per distinct set of properties."""

    BASE = _look(valign="vcenter")
    TITLE = _look(bold=True, font_size=13, align="center", valign="vcenter", text_wrap=True)
    SUBTITLE = _look(italic=True, align="center", text_wrap=True)
    FRAME = _look(align="center", valign="top", text_wrap=True)
    FRAME_BOLD = _look(bold=True)
    FRAME_MOTTO = _look(bold=True, underline=1)
    FRAME_NOTE = _look(italic=True)
    PLACE_DATE = _look(italic=True, align="center")
    NUMBER = _look(bold=True, font_size=11)
    HEADER = _look(bold=True, align="center", text_wrap=True, border=1, bg_color=HEADER_FILL)
    NUMBER_ROW = _look(italic=True, align="center", border=1, font_size=9)
    SECTION = _look(bold=True, border=1, bg_color=SECTION_FILL)
    CELL = _look(border=1, text_wrap=True)
    CENTER = _look(border=1, align="center", text_wrap=True)
    HELP = _look(border=1, text_wrap=True, italic=True, font_size=9, font_color="#404040")
    INPUT = _look(border=1, bg_color=INPUT_FILL, locked=False)
    CARRIED = _look(border=1, bg_color=CARRIED_FILL, locked=False)
    TABLE_CARRIED = _look(border=1, bg_color=CARRIED_FILL, locked=False, text_wrap=True)
    TABLE_INPUT = _look(border=1, bg_color=INPUT_FILL, locked=False, text_wrap=True)  # narrow columns wrap
    PREFILLED = _look(border=1, bold=True)
    COMPUTED = _look(border=1, bg_color=COMPUTED_FILL)
    TOTAL = _look(border=1, bold=True, bg_color=COMPUTED_FILL)

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self.workbook = workbook
        self.cache: dict[tuple[Any, ...], Format] = {}

    def get(self, *parts: Mapping[str, Any], **extra: Any) -> Format:
        # The looks above live as long as the class, so their identity is a cheap cache key; any other
        # mapping is keyed by content (a temporary dict's id may be reused by a later one).
        if all(isinstance(p, MappingProxyType) for p in parts):
            fast_key: tuple[Any, ...] | None = ("ids", *map(id, parts), *sorted(extra.items()))
            found = self.cache.get(fast_key)
            if found is not None:
                return found
        else:
            fast_key = None
        props: dict[str, Any] = dict(self.BASE)
        for part in parts:
            props.update(part)
        props.update(extra)
        key = ("props", *sorted(props.items()))
        if key not in self.cache:
            self.cache[key] = self.workbook.add_format(props)
        if fast_key is not None:
            self.cache[fast_key] = self.cache[key]
        return self.cache[key]

    def value(self, kind: Mapping[str, Any], value_type: str) -> Format:
        """An input/computed cell format for a value type (number format, wrapping for narratives)."""
        return self.get(kind, **_VALUE_LOOKS.get(value_type, {}))


def _value_look(value_type: str) -> dict[str, Any]:
    look: dict[str, Any] = {}
    if value_type in NUM_FORMATS:
        look["num_format"] = NUM_FORMATS[value_type]
    if value_type == "text":
        look.update(text_wrap=True, valign="top")
    elif value_type in {"bool", "choice", "date", "year"}:
        look["align"] = "center"
    if value_type == "str":
        look["valign"] = "top"
    return look


_VALUE_LOOKS = {t: _value_look(t) for t in (*NUM_FORMATS, "text", "bool", "choice")}


class _FormWriter:
    def __init__(self, spec: FormSpec, layout: Layout, workbook: xlsxwriter.Workbook, code: str, name: str,
                 carried: Carried | None = None) -> None:
        self.spec = spec
        self.carried = carried or Carried()
        self.layout = layout
        self.workbook = workbook
        self.code = code
        self.name = name
        self.styles = _Styles(workbook)
        self.pending: dict[tuple[Any, ...], tuple[dict[str, Any], list[str]]] = {}
        self.extra_rows = 0  # project rows beyond the template's

    # --- workbook-level ----------------------------------------------------------------------------------

    def properties(self) -> None:
        form = self.spec.form
        self.workbook.set_properties({
            "title": _nfc(f"{form.get('title_vi', self.spec.form_id)}"),
            "subject": _nfc(f"{self.spec.form_id} v{self.spec.version} — {self.name or 'mẫu trống'}"),
            "author": _nfc(str(form.get("issuer_vi", ""))),
            "company": _nfc(str(form.get("issuer_vi", ""))),
            "keywords": f"{self.spec.form_id}, {self.spec.round}",
            "created": FIXED_CREATED,
        })
        # Identity also travels as custom properties (the hidden _meta sheet is the authoritative copy).
        for key, value in (("ictplan_form_id", self.spec.form_id), ("ictplan_version", self.spec.version),
                           ("ictplan_round", self.spec.round), ("ictplan_agency", self.code)):
            self.workbook.set_custom_property(key, value or "-")

    def field_names(self) -> None:
        """A workbook-level name per field: its id, pointing at its cell.

        With extra project rows the totals row moves down, and so do the names of the totals, as Excel moves
        them when an agency inserts rows (the `_meta` sheet keeps the template's layout, as it would then).
        """
        totals = set(self.spec.table.totals.values()) if self.spec.table is not None else set()  # those move
        for field_id, ref in self.layout.cells.items():
            if field_id in totals:
                ref = CellRef(ref.sheet, ref.row + self.extra_rows, ref.col)
            self.workbook.define_name(field_id, "=" + ref.absolute())

    # --- instructions ------------------------------------------------------------------------------------

    def instructions(self) -> None:
        ws = self.workbook.add_worksheet(INSTRUCTIONS_SHEET)
        s = self.styles
        for col, width in enumerate(INSTRUCTION_WIDTHS):
            ws.set_column(col, col, width)
        wrap = s.get({"text_wrap": True, "valign": "top"})
        number = s.get({"align": "right", "valign": "top"})
        heading = s.get({"bold": True, "font_size": 12, "valign": "bottom"})
        last = len(INSTRUCTION_WIDTHS) - 1
        self._banner(ws, INSTRUCTION_WIDTHS, number=None)
        row = HEADER_ROW - 1
        for title, paragraphs in self._instruction_blocks():
            ws.set_row(row, LINE_HEIGHT * 1.6)
            ws.write_string(row, 0, _nfc(title), heading)
            row += 1
            for marker, text in paragraphs:
                # A marker that is a style name draws a sample cell of that style (the legend).
                marker_format = s.get(getattr(s, marker), locked=True) if marker.isupper() else number
                ws.write_string(row, 0, "" if marker.isupper() else marker, marker_format)
                ws.merge_range(row, 1, row, last, _nfc(text), wrap)
                ws.set_row(row, LINE_HEIGHT * _lines(text, sum(INSTRUCTION_WIDTHS[1:])))
                row += 1
        ws.protect("", PROTECT_LABEL_SHEET)
        self._print_setup(ws, landscape=False, repeat=None)
        ws.activate()

    def _instruction_blocks(self) -> list[tuple[str, list[tuple[str, str]]]]:
        spec, form = self.spec, self.spec.form
        deadline = form.get("deadline")
        numbered = [(f"{i}.", text) for i, text in enumerate(spec.instructions, start=1)]
        sheets = [(f"{i}.", f"{frame.sheet_number(spec, sheet.id)} – {sheet.name}: " + _sheet_summary(sheet))
                  for i, sheet in enumerate(spec.sheets, 1)]
        units = [
            ("–", "Tiền: TRIỆU ĐỒNG, ghi tối đa một chữ số thập phân (ví dụ 1.500 hoặc 12,5)."),
            ("–", "Tỷ lệ (%): ghi số từ 0 đến 100 (ví dụ 85 nghĩa là 85%), không gõ dấu %."),
            ("–", "Ngày: ngày/tháng/năm (dd/mm/yyyy), ví dụ 30/06/2007. Năm: đủ bốn chữ số, ví dụ 2008."),
            ("–", "Số lượng: số nguyên (người, chiếc, dịch vụ…); không có thì ghi 0."),
        ]
        sending = [
            ("–", f"Hạn gửi báo cáo: {_date_vi(deadline)}." if isinstance(deadline, dt.date) else ""),
            ("–", f"Cách gửi: {form.get('return_vi', '')}"),
            ("–", f"Liên hệ: {form.get('contact_vi', '')}"),
        ]
        about = [
            ("–", f"Cơ quan ban hành mẫu: {form.get('issuer_vi', '')}."),
            ("–", f"Mẫu {spec.form_id}, phiên bản {spec.version}; kỳ kế hoạch {spec.round.replace('-', '–')}."),
        ]
        return [
            ("THÔNG TIN VỀ MẪU BÁO CÁO", about),
            ("HƯỚNG DẪN ĐIỀN MẪU", numbered),
            ("CÁC TRANG CỦA MẪU", sheets),
            ("ĐƠN VỊ TÍNH VÀ CÁCH GHI SỐ", units),
            ("THỜI HẠN VÀ CÁCH GỬI", [p for p in sending if p[1]]),
            ("CHÚ GIẢI", [
                ("INPUT", "Ô nền vàng: ô nhập liệu (không khóa). Chỉ nhập vào các ô này."),
                ("COMPUTED", "Ô nền xám: ô tự tính bằng công thức, đã khóa."),
                ("–", "Trang tính được khóa không mật khẩu để giữ bố cục: không cần mở khóa để nhập liệu; "
                      "đề nghị đơn vị không gỡ khóa, không sửa nhãn, không thêm hoặc xóa cột."),
            ]),
        ]

    # --- label/value sheets ------------------------------------------------------------------------------

    def label_sheet(self, sheet: Sheet, values: Mapping[str, Any], cell_text: Mapping[str, str],
                    computed: Mapping[str, Any]) -> None:
        ws = self.workbook.add_worksheet(sheet.name)
        width = self.layout.width[sheet.id]
        widths = [SHEET_WIDTHS.get(col, TARGET_YEAR_WIDTH) for col in range(width)]
        for col, col_width in enumerate(widths):
            ws.set_column(col, col, col_width)
        self._banner(ws, widths, number=frame.sheet_number(self.spec, sheet.id))
        self._header_row(ws, HEADER_ROW, ["STT", "Nội dung", "Đơn vị tính", "Số liệu", "Ghi chú, hướng dẫn"], width)
        sections = {section.id: section for section in sheet.sections}
        for row in self.layout.rows[sheet.id]:
            if row.kind == "section":
                self._section_row(ws, row, width)
            elif row.kind == "subheader":
                self._target_header(ws, row, sections[row.section])
            elif row.kind in ("target", "grid"):
                self._target_row(ws, row, values, cell_text, computed)
            else:
                self._field_row(ws, row, values, cell_text, computed)
        self._signatures(ws, widths, self.layout.rows[sheet.id][-1].row)
        self._flush_validations(ws)
        ws.freeze_panes(HEADER_ROW, 0)
        ws.protect("", PROTECT_LABEL_SHEET)
        self._print_setup(ws, landscape=False, repeat=HEADER_ROW)

    def _section_row(self, ws: Worksheet, row: Row, width: int) -> None:
        fmt = self.styles.get(self.styles.SECTION)
        r = row.row - 1
        ws.set_row(r, LINE_HEIGHT * 1.3)
        ws.write_string(r, COL_STT, row.stt, self.styles.get(self.styles.SECTION, align="center"))
        # Merged so the title is not crossed by the cell borders; its text stays in the label column.
        ws.merge_range(r, COL_LABEL, r, width - 1, _nfc(row.label_vi), fmt)

    def _target_header(self, ws: Worksheet, row: Row, section: Section) -> None:
        """The header over target rows (current value, then the target years) or grid rows (its columns)."""
        if section.grid:
            labels = ["STT", section.grid_head_vi[0], "ĐVT", *section.grid_head_vi[1:]]
        else:
            labels = ["STT", "Chỉ tiêu", "ĐVT", section.current_vi, *(f"Mục tiêu {y}" for y in section.target_years)]
        self._header_row(ws, row.row, labels, len(labels))

    def _field_row(self, ws: Worksheet, row: Row, values: Mapping[str, Any], cell_text: Mapping[str, str],
                   computed: Mapping[str, Any]) -> None:
        f = self.spec.fields[row.fields[0]]
        r = row.row - 1
        self._row_labels(ws, row, f)
        help_text = _help_text(f)
        help_format = self.styles.get(self.styles.HELP)
        ws.write_string(r, COL_HELP, _nfc(help_text), help_format)
        for col in range(COL_HELP + 1, self.layout.width[f.sheet]):  # target-year columns of a wider sheet
            ws.write_blank(r, col, None, help_format)
        lines = max(_lines(f.vi, SHEET_WIDTHS[COL_LABEL]), _lines(help_text, SHEET_WIDTHS[COL_HELP] * HELP_FACTOR))
        if f.type == "text":
            lines = max(lines, NARRATIVE_LINES)
        if lines > 1:
            ws.set_row(r, LINE_HEIGHT * lines)
        self._value_cell(ws, f, values, cell_text, computed)

    def _target_row(self, ws: Worksheet, row: Row, values: Mapping[str, Any], cell_text: Mapping[str, str],
                    computed: Mapping[str, Any]) -> None:
        self._row_labels(ws, row, self.spec.fields[row.fields[0]])
        lines = _lines(row.label_vi, SHEET_WIDTHS[COL_LABEL])
        if lines > 1:
            ws.set_row(row.row - 1, LINE_HEIGHT * lines)
        for field_id in row.fields:
            self._value_cell(ws, self.spec.fields[field_id], values, cell_text, computed)

    def _row_labels(self, ws: Worksheet, row: Row, f: Field) -> None:
        r = row.row - 1
        ws.write_string(r, COL_STT, row.stt, self.styles.get(self.styles.CENTER))
        ws.write_string(r, COL_LABEL, _nfc(row.label_vi), self.styles.get(self.styles.CELL))
        ws.write_string(r, COL_UNIT, _nfc(f.unit), self.styles.get(self.styles.CENTER))

    def _value_cell(self, ws: Worksheet, f: Field, values: Mapping[str, Any], cell_text: Mapping[str, str],
                    computed: Mapping[str, Any]) -> None:
        ref = self.layout.cells[f.id]
        r, c = ref.row - 1, ref.col
        if not f.is_input:
            self._formula(ws, r, c, f, computed.get(f.id), self.styles.value(self.styles.COMPUTED, _shown_type(f)))
            return
        if f.prefilled and self.code:
            # Identity comes from the registry: filled in and locked, not an input any more.
            fmt = self.styles.value(self.styles.PREFILLED, f.type)
        else:
            marked = f.id in self.carried.fields
            fmt = self.styles.value(self.styles.CARRIED if marked else self.styles.INPUT, f.type)
            self._validation(f, a1(ref.row, ref.col))
            if marked:
                ws.write_comment(r, c, self.carried.note, CARRIED_NOTE)
        if f.id in cell_text:
            ws.write_string(r, c, cell_text[f.id], fmt)
        else:
            self._write_value(ws, r, c, f, values.get(f.id), fmt)

    def _formula(self, ws: Worksheet, r: int, c: int, f: Field, cached: Any, fmt: Format) -> None:
        assert f.formula is not None
        ws.write_formula(r, c, excel_formula(f, self._absolute), fmt, "" if cached is None else cached)

    def _absolute(self, field_id: str) -> str:
        return self.layout.cells[field_id].absolute()

    def _write_value(self, ws: Worksheet, r: int, c: int, f: Field, value: Any, fmt: Format) -> None:
        """Write a typed value the way Excel would hold it after an agency typed or picked it."""
        shown = input_value_text(self.spec, f, value)
        if shown is None or _is_nan(shown):
            ws.write_blank(r, c, None, fmt)
        elif isinstance(shown, bool):
            ws.write_boolean(r, c, shown, fmt)
        elif isinstance(shown, dt.date):
            moment = shown if isinstance(shown, dt.datetime) else dt.datetime.combine(shown, dt.time())
            ws.write_datetime(r, c, moment, fmt)
        elif isinstance(shown, int | float) and f.type in NUMBER_TYPES:
            ws.write_number(r, c, shown, fmt)
        else:
            ws.write_string(r, c, str(shown), fmt)

    # --- the project table -------------------------------------------------------------------------------

    def table_sheet(self, sheet: Sheet, table: Table, projects: Sequence[Mapping[str, Any]],
                    computed: Mapping[str, Any], extra_rows: int) -> None:
        t = self.layout.tables[table.id]
        ws = self.workbook.add_worksheet(sheet.name)
        s = self.styles
        columns = table.columns
        width = len(columns)
        if table is self.spec.table:
            self.extra_rows = extra_rows
        last_row = t.last_row + extra_rows
        total_row = t.total_row + extra_rows
        widths = [column.width or 12 for column in columns]
        for col, col_width in enumerate(widths):
            ws.set_column(col, col, col_width)
        self._banner(ws, widths, number=frame.sheet_number(self.spec, sheet.id), title=table.vi)
        headers = [_column_header(c) for c in columns]
        self._header_row(ws, t.header_row, headers, width,
                         height=LINE_HEIGHT * max(_lines(h, (c.width or 12) * BOLD_FACTOR)
                                                  for h, c in zip(headers, columns, strict=True)))
        number_fmt = s.get(s.NUMBER_ROW)
        for col in range(width):
            ws.write_string(t.number_row - 1, col, f"({col + 1})", number_fmt)
        formats = [s.value(s.TABLE_INPUT, c.type) for c in columns]
        marked = [s.value(s.TABLE_CARRIED, c.type) for c in columns]
        carried = self.carried.tables.get(table.id, {})
        noted = next((i for i, c in enumerate(columns) if c.id == table.key), 0)
        for index in range(last_row - t.first_row + 1):
            r = t.first_row - 1 + index
            ws.set_row(r, TABLE_BODY_HEIGHT)
            project = projects[index] if index < len(projects) else {}
            row_carried = carried.get(index, frozenset())
            for col, column in enumerate(columns):
                fmt = marked[col] if column.id in row_carried else formats[col]
                self._write_value(ws, r, col, column, project.get(column.id), fmt)
            if row_carried:  # one note a row, on its name
                ws.write_comment(r, noted, self.carried.note, CARRIED_NOTE)
        for col, column in enumerate(columns):
            self._validation(column, f"{a1(t.first_row, col)}:{a1(last_row, col)}")
        self._flush_validations(ws)
        self._totals_row(ws, table, t.first_row, total_row, computed)
        self._signatures(ws, widths, total_row)
        body = f"'{sheet.name}'!${col_letter(0)}${t.first_row}:${col_letter(width - 1)}${last_row}"
        self.workbook.define_name(table.id, "=" + body)
        # Filter arrows on the column-number row: they do not hide the header labels, and the filter range is
        # exactly the body.
        ws.autofilter(t.number_row - 1, 0, last_row - 1, width - 1)
        ws.freeze_panes(t.number_row, 2)
        ws.protect("", PROTECT_TABLE_SHEET)
        self._print_setup(ws, landscape=True, repeat=(t.header_row, t.number_row))

    def _totals_row(self, ws: Worksheet, table: Table, first_row: int, total_row: int,
                    computed: Mapping[str, Any]) -> None:
        s = self.styles
        r = total_row - 1
        label_col = next((i for i, c in enumerate(table.columns) if c.id == table.key), 1)
        ws.set_row(r, LINE_HEIGHT * 1.4)
        for col, column in enumerate(table.columns):
            total_id = table.totals.get(column.id)
            if total_id is not None:
                letter = col_letter(col)
                # SUM up to the row above, wherever it is now: rows an agency inserts just above the totals
                # row are still counted (a plain SUM range would stop at the old last row).
                formula = f"=SUM({letter}{first_row}:INDEX({letter}:{letter},ROW()-1))"
                fmt = s.value(s.TOTAL, column.type)
                ws.write_formula(r, col, formula, fmt, computed.get(total_id) or 0)
            elif col == label_col:
                ws.write_string(r, col, _nfc(table.total_vi), s.get(s.TOTAL, align="center"))
            else:
                ws.write_blank(r, col, None, s.get(s.TOTAL))

    # --- hidden sheets -----------------------------------------------------------------------------------

    def meta_sheet(self) -> None:
        ws = self.workbook.add_worksheet(META_SHEET)
        for r, cells in enumerate(meta_rows(self.spec, self.layout, self.code, self.name)):
            for c, text in enumerate(cells):
                ws.write_string(r, c, text)
        ws.protect("", {})
        ws.hide()

    def lists_sheet(self) -> None:
        ws = self.workbook.add_worksheet(LISTS_SHEET)
        for col, (list_id, labels) in enumerate(_dropdown_lists(self.spec)):
            ws.write_string(0, col, list_id)
            for r, label in enumerate(labels, start=1):
                ws.write_string(r, col, label)
            letter = col_letter(col)
            self.workbook.define_name(list_name(list_id), f"='{LISTS_SHEET}'!${letter}$2:${letter}${len(labels) + 1}")
        ws.protect("", {})
        ws.hide()

    # --- shared pieces -----------------------------------------------------------------------------------

    def _banner(self, ws: Worksheet, widths: Sequence[float], *, number: str | None,
                title: str | None = None) -> None:
        """The official frame's header (governing body over the unit | national name over the motto), then the
        sheet's "Biểu số" over the title, then the subtitle. Rows 1–4 as in every return of this layout, so a
        return's cells stay where the reader expects them."""
        s = self.styles
        form = self.spec.form
        left, last = _frame_split(widths), len(widths) - 1
        unit = frame.unit_name(self.name if self.code else None)
        self._rich(ws, FRAME_ROW - 1, 0, left - 1,
                   [(frame.governing_body(self.spec) + "\n", None), (unit, s.FRAME_BOLD)])
        self._rich(ws, FRAME_ROW - 1, left, last, [(frame.NATION + "\n", s.FRAME_BOLD), (frame.MOTTO, s.FRAME_MOTTO)])
        unit_lines = _lines(unit, sum(widths[:left]) * BOLD_FACTOR)
        ws.set_row(FRAME_ROW - 1, LINE_HEIGHT * (1.3 + unit_lines))
        title_text = _nfc(title or str(form.get("title_vi", self.spec.form_id)))
        title_lines = _lines(title_text, sum(widths) * BOLD_FACTOR * 0.85)
        if number is None:
            ws.merge_range(TITLE_ROW - 1, 0, TITLE_ROW - 1, last, title_text, s.get(s.TITLE))
            ws.set_row(TITLE_ROW - 1, LINE_HEIGHT * (0.5 + 1.3 * title_lines))
        else:
            self._rich(ws, TITLE_ROW - 1, 0, last, [(number + "\n", s.NUMBER), (title_text, None)], s.TITLE)
            ws.set_row(TITLE_ROW - 1, LINE_HEIGHT * (1.5 + 1.3 * title_lines))
        subtitle = _nfc(str(form.get("subtitle_vi", "")))
        ws.merge_range(SUBTITLE_ROW - 1, 0, SUBTITLE_ROW - 1, last, subtitle, s.get(s.SUBTITLE))
        ws.set_row(SUBTITLE_ROW - 1, LINE_HEIGHT * _lines(subtitle, sum(widths) * 1.05))

    def _signatures(self, ws: Worksheet, widths: Sequence[float], last_row: int) -> None:
        """Below the sheet's last row: the place-and-date line over the head's block, then the signature
        blocks (the preparer left, the head of the unit right) and room to sign and seal."""
        s = self.styles
        left, last = _frame_split(widths), len(widths) - 1
        r = last_row + 1  # 0-based: one empty row under the table
        line = frame.date_line(frame.place(self.spec), frame.signing_year(self.spec))
        ws.merge_range(r, left, r, last, line, s.get(s.PLACE_DATE))
        self._rich(ws, r + 1, 0, left - 1, [(frame.PREPARER + "\n", s.FRAME_BOLD), (frame.PREPARER_NOTE, s.FRAME_NOTE)])
        self._rich(ws, r + 1, left, last, [(frame.HEAD + "\n", s.FRAME_BOLD), (frame.SIGNER_NOTE, s.FRAME_NOTE)])
        ws.set_row(r + 1, LINE_HEIGHT * 2.2)
        ws.set_row(r + 2, SIGNATURE_SPACE)

    def _rich(self, ws: Worksheet, row: int, first: int, last: int,
              parts: Sequence[tuple[str, Mapping[str, Any] | None]], cell: Mapping[str, Any] | None = None) -> None:
        """Text in runs of their own looks (bold name over plain body, …), merged over columns first..last."""
        s = self.styles
        cell_format = s.get(cell or s.FRAME)
        if first < last:
            ws.merge_range(row, first, row, last, "", cell_format)
        runs: list[Any] = []
        for text, look in parts:  # every run names its font: a bare run would fall back to the default's
            runs += [s.get(cell or s.FRAME, *(look,) if look else ()), _nfc(text)]
        ws.write_rich_string(row, first, *runs, cell_format)

    def _header_row(self, ws: Worksheet, row: int, labels: Sequence[str], width: int,
                    height: float = LINE_HEIGHT * 1.6) -> None:
        fmt = self.styles.get(self.styles.HEADER)
        ws.set_row(row - 1, height)
        for col, label in enumerate(labels[:-1]):
            ws.write_string(row - 1, col, _nfc(label), fmt)
        last = len(labels) - 1
        if width - 1 > last:  # the last label spans the remaining columns
            ws.merge_range(row - 1, last, row - 1, width - 1, _nfc(labels[last]), fmt)
        else:
            ws.write_string(row - 1, last, _nfc(labels[last]), fmt)

    def _validation(self, f: Field, cells: str) -> None:
        """Queue a validation; cells with identical rules share one (fewer, smaller XML records)."""
        options = validation_options(f)
        if options is not None:
            key = tuple(sorted(options.items()))
            self.pending.setdefault(key, (options, []))[1].append(cells)

    def _flush_validations(self, ws: Worksheet) -> None:
        for options, ranges in self.pending.values():
            first, _, last = ranges[0].partition(":")
            (r1, c1), (r2, c2) = _rc(first), _rc(last or first)
            ws.data_validation(r1, c1, r2, c2, {**options, "multi_range": " ".join(ranges)})
        self.pending = {}

    def _print_setup(self, ws: Worksheet, *, landscape: bool, repeat: int | tuple[int, int] | None) -> None:
        ws.set_paper(9)  # A4
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(1, 0)
        ws.set_margins(**(TABLE_MARGINS if landscape else MARGINS))
        if isinstance(repeat, tuple):
            ws.repeat_rows(repeat[0] - 1, repeat[1] - 1)
        elif repeat is not None:
            ws.repeat_rows(repeat - 1)
        left = (self.name or f"{self.spec.form_id} – mẫu trống").replace("&", "&&")
        ws.set_footer(_nfc(f"&L{left}&RTrang &P/&N"))


# --------------------------------------------------------------------------------------------------------
# Data validation (cached per field: built once per spec, reused by every workbook)


@cache
def validation_options(f: Field) -> dict[str, Any] | None:
    """The xlsxwriter data_validation options for an input field, or None when it has none."""
    kind = f.type
    if not f.is_input or kind == "agency":
        return None
    if kind == "bool":
        options = _list_validation(BOOL_LIST, "Chọn Có hoặc Không trong danh sách thả xuống.")
    elif kind == "choice" and f.choices:
        options = _list_validation(f.choices, "Chọn một mục trong danh sách thả xuống.")
    elif kind == "date":
        options = _range_validation(f, "date", "Ngày (ngày/tháng/năm)")
    elif kind in WHOLE_TYPES:
        options = _range_validation(f, "integer", "Năm (bốn chữ số)" if kind == "year" else "Số nguyên")
    elif kind in NUMBER_TYPES:
        options = _range_validation(f, "decimal", "Số")
    elif f.help_vi or f.min_length:
        # Text: no rule to enforce in Excel, but the input message shows the help when the cell is selected.
        options = {"validate": "any"}
    else:
        return None
    help_text = _nfc(f.help_vi or (f"Viết tối thiểu {f.min_length} ký tự; xuống dòng bằng Alt+Enter."
                                   if f.min_length else ""))
    options["input_title"] = _clip(_INPUT_TITLES.get(kind, "Hướng dẫn"), DV_TITLE_MAX)
    options["input_message"] = _clip(" ".join(p for p in (options.pop("_rule", ""), help_text) if p), DV_MESSAGE_MAX)
    if options["validate"] != "any":
        options.setdefault("error_title", "Giá trị không hợp lệ")
        options["error_type"] = "stop"
    return options


_INPUT_TITLES = {
    "bool": "Chọn Có hoặc Không", "choice": "Chọn trong danh sách", "date": "Nhập ngày", "year": "Nhập năm",
    "int": "Nhập số nguyên", "dec": "Nhập số", "money": "Nhập số tiền (triệu đồng)", "pct": "Nhập tỷ lệ (%)",
}


def _list_validation(list_id: str, message: str) -> dict[str, Any]:
    return {"validate": "list", "source": "=" + list_name(list_id), "_rule": message,
            "error_message": message + " Không gõ giá trị khác."}


def _range_validation(f: Field, validate: str, what: str) -> dict[str, Any]:
    low, high = f.min, f.max
    unit = f" {f.unit}" if f.unit and f.unit != "%" else ""
    if f.type == "money":
        unit = " triệu đồng"
    if validate == "date":
        shown_low, shown_high = (_date_vi(x) if x is not None else None for x in (low, high))
    else:
        shown_low, shown_high = (_number_vi(x) if x is not None else None for x in (low, high))
    options: dict[str, Any] = {"validate": validate}
    if low is not None and high is not None:
        options.update(criteria="between", minimum=low, maximum=high)
        rule = f"{what} từ {shown_low} đến {shown_high}{unit}."
    elif low is not None:
        options.update(criteria=">=", value=low)
        rule = f"{what} từ {shown_low}{unit} trở lên."
    elif high is not None:
        options.update(criteria="<=", value=high)
        rule = f"{what} không quá {shown_high}{unit}."
    else:
        options.update(criteria=">=", value=-1e300 if validate == "decimal" else -2147483647)
        rule = f"{what}."
    if f.type == "pct":
        rule += " Ví dụ 85 nghĩa là 85%; không gõ dấu %."
    elif f.type == "money":
        rule += " Ví dụ 1,5 tỷ đồng ghi 1.500."
    options["_rule"] = rule
    options["error_message"] = _clip(f"Giá trị phải là {rule[0].lower()}{rule[1:]}", DV_MESSAGE_MAX)
    return options


# --------------------------------------------------------------------------------------------------------
# Small helpers


@cache
def _dropdown_lists(spec: FormSpec) -> tuple[tuple[str, tuple[str, ...]], ...]:
    lists = [(name, tuple(_nfc(c.vi) for c in choices)) for name, choices in spec.choices.items()]
    lists.append((BOOL_LIST, (BOOL_LABELS[True], BOOL_LABELS[False])))
    return tuple(lists)


def _rows_by_table(spec: FormSpec, projects: Sequence[Mapping[str, Any]],
                   tables: Mapping[str, Sequence[Mapping[str, Any]]] | None) -> dict[str, Sequence[Mapping[str, Any]]]:
    """Every table's rows by table id: the project table's are ``projects``, the others' in ``tables``."""
    tables = dict(tables or {})
    unknown = set(tables) - {t.id for t in spec.other_tables}
    if unknown:
        raise KeyError(f"tables names {sorted(unknown)}, which are not tables of the form besides the projects")
    if spec.table is None and projects:
        raise ValueError("the form has no project table")
    out = {t.id: tables.get(t.id, ()) for t in spec.tables}
    if spec.table is not None:
        out[spec.table.id] = projects
    return out


def _check_inputs(spec: FormSpec, cell_text: Mapping[str, str], rows_by_table: Mapping[str, Sequence[Mapping[str, Any]]],
                  extra_rows: int) -> None:
    for field_id in cell_text:
        f = spec.fields.get(field_id)
        if f is None or not f.is_input:
            raise KeyError(f"cell_text names {field_id!r}, which is not an input field of the form")
    for table in spec.tables:
        rows = rows_by_table[table.id]
        capacity = table.rows + (max(extra_rows, 0) if table is spec.table else 0)
        if len(rows) > capacity:
            raise ValueError(f"{len(rows)} rows of {table.id} do not fit in {capacity} rows"
                             + ("; pass extra_project_rows" if table is spec.table else ""))
        known = {c.id for c in table.columns}
        for i, row in enumerate(rows):
            unknown = set(row) - known
            if unknown:
                raise KeyError(f"row {i + 1} of {table.id} has unknown columns {sorted(unknown)}")


def _without(values: Mapping[str, Any], cell_text: Mapping[str, str]) -> dict[str, Any]:
    """Values as Excel sees them: a cell overwritten with text holds no number."""
    return {k: (None if k in cell_text else v) for k, v in values.items()}


def _number_or_none(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or _is_nan(value):
        return None
    return value


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _shown_type(f: Field) -> str:
    return (f.format or "dec") if f.type == "computed" else f.type


def _help_text(f: Field) -> str:
    if f.help_vi:
        return f.help_vi
    if f.type == "computed":
        return "Tự tính, không nhập."
    if f.type == "bool":
        return "Chọn Có/Không."
    if f.type == "choice":
        return "Chọn trong danh sách."
    if f.type == "text" and f.min_length:
        return f"Thuyết minh, tối thiểu {f.min_length} ký tự."
    if f.type == "date":
        return "Ngày/tháng/năm."
    return ""


def _column_header(column: Field) -> str:
    unit = column.unit
    if unit and unit not in column.vi:
        return f"{column.vi} ({unit})"
    return column.vi


def _sheet_summary(sheet: Sheet) -> str:
    if sheet.table is not None:
        return f"{_sentence_case(sheet.table.vi)} (mỗi {sheet.table.items_vi} một dòng)."
    return "; ".join(f"{ROMAN[i]}. {_sentence_case(s.vi)}" for i, s in enumerate(sheet.sections)) + "."


def _sentence_case(text: str) -> str:
    """"ỨNG DỤNG CNTT TRONG CHỈ ĐẠO" → "Ứng dụng CNTT trong chỉ đạo": section titles are upper case in the
    spec; acronyms stay upper case."""
    words = [w if w.strip(",.;:()") in ACRONYMS else w.lower() for w in text.split(" ")]
    sentence = " ".join(words)
    return sentence[:1].upper() + sentence[1:]


@lru_cache(maxsize=4096)
def _lines(text: str, width: float) -> int:
    """Lines a word-wrapped text takes in a column ``width`` units wide. A width unit is one digit of the
    default font; Vietnamese text in Times New Roman takes about one unit per character (a safe estimate)."""
    per_line = max(int(width), 1)
    return sum(len(textwrap.wrap(part, per_line)) or 1 for part in (text or "").split("\n"))


def _frame_split(widths: Sequence[float]) -> int:
    """The first column of the frame's right block: where the left block reaches its share of the width."""
    total, reached = sum(widths), 0.0
    for col, width in enumerate(widths[:-1]):
        reached += width
        if reached >= total * FRAME_LEFT_SHARE:
            return col + 1
    return max(len(widths) - 1, 1)


def _rc(ref: str) -> tuple[int, int]:
    row, col = parse_a1(ref)
    return row - 1, col


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _clip(text: str, limit: int) -> str:
    """Clip to ``limit`` UTF-16 units (xlsxwriter's measure), ending with an ellipsis when cut."""
    if _utf16_len(text) <= limit:
        return text
    while _utf16_len(text) > limit - 1:
        text = text[:-1]
    return text.rstrip() + "…"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _number_vi(value: float | int) -> str:
    """Vietnamese number text: 5000 → "5.000", 0.1 → "0,1"."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    whole, _, fraction = f"{value:,.3f}".rstrip("0").partition(".")
    return whole.replace(",", ".") + "," + fraction


def _date_vi(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


def cell_ref(spec: FormSpec, field_id: str) -> CellRef:
    """Where a return-level field lives (sheet name, row, column)."""
    return layout_for(spec).cells[field_id]


def project_cell(spec: FormSpec, index: int, column_id: str) -> tuple[str, int, str]:
    """(sheet name, Excel row, A1 cell) of column ``column_id`` in the ``index``-th project row (0-based)."""
    if spec.table is None:
        raise ValueError("the form has no project table")
    return table_cell(spec, spec.table.id, index, column_id)


def table_cell(spec: FormSpec, table_id: str, index: int, column_id: str) -> tuple[str, int, str]:
    """(sheet name, Excel row, A1 cell) of column ``column_id`` in the ``index``-th row (0-based) of a table."""
    t = layout_for(spec).tables[table_id]
    row = t.first_row + index
    return t.sheet, row, t.cell(row, column_id)


def defined_names(spec: FormSpec) -> Iterable[str]:
    """Every workbook-level defined name the template creates (fields, lists, the table body)."""
    names = list(layout_for(spec).cells)
    names += [list_name(list_id) for list_id, _ in _dropdown_lists(spec)]
    names += [table.id for table in spec.tables]
    return names
