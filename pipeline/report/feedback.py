"""Feedback workbooks: tell an agency, cell by cell and in Vietnamese, what to fix in its return.

One .xlsx per return with errors or warnings (anchors-features §2 item 3), named after the agency
(``phan_hoi_STC_<original stem>.xlsx``). Its first sheet, "Các lỗi cần sửa", lists every issue — errors
first — with a clickable link to the cell; the other sheets are the agency's form with each problem cell
highlighted and commented:

- an .xlsx/.xlsm return: a copy of the agency's own workbook (openpyxl, macros never copied, saved as
  .xlsx). The agency's file is only read; the copy is a new file written atomically;
- an .xls/.ods/.fods/.xml return (openpyxl cannot open them), or an .xlsx openpyxl cannot load: the CURRENT template
  re-created and pre-filled with the values read, annotated where the template puts each field, so the
  agency corrects and resends the right form;
- an unreadable file (corrupt, encrypted, not a spreadsheet, not our form): only the issues sheet.

Nothing from a return may become a formula or a link in the feedback (reliability notes §0 item 7): text is
written as text whatever it starts with, agency formulas that could reach outside the workbook are replaced
by their cached values (or, without one, by their own text, as text), external hyperlinks and link-bearing names are dropped. Text is cleaned of
characters openpyxl refuses and cut visibly at Excel's 32,767-character limit (item 9).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
import warnings
from collections.abc import Callable, Hashable, Iterable, Sequence
from copy import copy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple, get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.atomic import write_atomic
from pipeline.filenames import fit_name, shorten
from pipeline.form.layout import a1, layout_for
from pipeline.form.spec import FormSpec
from pipeline.i18n import STATUS_LABELS
from pipeline.intake import preflight
from pipeline.intake.read import LEGACY_FORMATS
from pipeline.intake.submission import Submission
from pipeline.issues import Issue, Severity, display_value

__all__ = ["ISSUES_SHEET", "feedback_bytes", "feedback_file_name", "feedback_for_file", "is_safe_formula", "put_text",
           "safe_text"]

log = logging.getLogger(__name__)

ISSUES_SHEET = "Các lỗi cần sửa"
FILE_PREFIX = "phan_hoi_"
TEXT_LIMIT = 32_767  # Excel's limit for a cell's text, in UTF-16 units
TRUNCATED_MARK = " … [đã cắt bớt: văn bản dài quá 32.767 ký tự]"
MAX_ROW, MAX_COLUMN = 1_048_576, 16_384  # Excel's grid
STEM_LIMIT = 100  # characters of the original file name kept in the feedback's name

SEVERITY_VI = {Severity.ERROR: "Lỗi", Severity.WARNING: "Cảnh báo", Severity.INFO: "Thông tin"}
SEVERITY_EN = {Severity.ERROR: "Error", Severity.WARNING: "Warning", Severity.INFO: "Note"}
# Highlights: light enough to read the value through. Info notes get a comment but no fill.
FILLS = {Severity.ERROR: "FF9C9C", Severity.WARNING: "FFC864"}
INFO_FILL = "DDEBF7"
LINK_COLOUR = "0563C1"
RESTORED_INPUT_FILL = "FFF2CC"  # the template's input colour (pipeline.form.template.INPUT_FILL)

# The heading's verdict: the status label (pipeline.i18n.STATUS_LABELS), then what the agency is asked to do.
OUTCOMES = {
    "rejected": "Báo cáo chưa hợp lệ, đề nghị đơn vị sửa các lỗi dưới đây, hoàn thiện và gửi lại cho {issuer}.",
    "accepted_with_warnings": "Báo cáo đã được tiếp nhận và tổng hợp; đề nghị đơn vị xem lại các cảnh báo dưới đây.",
    "accepted": "Báo cáo đã được tiếp nhận và tổng hợp.",
}

COLUMNS = (  # (header, width)
    ("STT", 6), ("Mức độ", 11), ("Trang", 16), ("Ô", 8), ("Chỉ tiêu", 32), ("Giá trị đã nhập", 24),
    ("Nội dung", 72), ("Mã", 22),
)
COL_SEVERITY, COL_SHEET, COL_CELL, COL_LABEL, COL_VALUE, COL_MESSAGE, COL_CODE = range(2, 9)

# Functions an agency formula may use and still be kept as a formula: the template's own (SUM, IF, OR, N,
# ABS, INDEX, ROW) and everyday arithmetic. Anything else — HYPERLINK, WEBSERVICE, INDIRECT, CALL, DDE —
# is replaced by the value it last showed.
SAFE_FUNCTIONS = frozenset({
    "SUM", "IF", "OR", "AND", "NOT", "N", "ABS", "INDEX", "ROW", "ROWS", "COLUMN", "COLUMNS", "ROUND",
    "ROUNDUP", "ROUNDDOWN", "INT", "MOD", "MIN", "MAX", "AVERAGE", "COUNT", "COUNTA", "COUNTBLANK", "COUNTIF",
    "SUMIF", "SUMIFS", "COUNTIFS", "AVERAGEIF", "SUMPRODUCT", "PRODUCT", "SUBTOTAL", "IFERROR", "ISBLANK",
    "ISNUMBER", "ISTEXT", "ISERROR", "LEN", "TRIM", "VALUE", "TEXT", "LEFT", "RIGHT", "MID", "UPPER", "LOWER",
    "PROPER", "CONCATENATE", "DATE", "YEAR", "MONTH", "DAY", "TODAY", "MATCH", "VLOOKUP", "HLOOKUP", "POWER",
    "SQRT",
})
_FUNCTION_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\s*\(")
_STRING_LITERAL = re.compile(r'"(?:[^"]|"")*"')
_QUOTED_SHEET = re.compile(r"'(?:[^']|'')*'")  # 'Kế hoạch (mới)'!A1: a name, not a call
_CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?([0-9]{1,7})$")
# Characters XML 1.0 (hence openpyxl) refuses, plus lone surrogates that cannot be encoded.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

THIN = Side(style="thin", color="A6A6A6")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
LINE_POINTS = 15.0  # one line of 11 pt text


# --------------------------------------------------------------------------------------------------------
# Public API


def feedback_for_file(source: Path, submission: Submission, issues: list[Issue], spec: FormSpec, folder: Path,
                      *, registry: Any = None) -> Path | None:
    """Write the feedback workbook for one return into ``folder``; None when there is nothing to say.

    ``source`` is the agency's file as received (or its archived copy): it is only read. ``registry``
    (optional) gives the agency's official name for the heading.
    """
    if not any(i.severity in (Severity.ERROR, Severity.WARNING) for i in issues):
        return None
    data = feedback_bytes(source, submission, issues, spec, registry=registry)
    # Shortened (deterministically) where the folder's path is long: Excel opens no path over 218 characters.
    # fallback: when last run's feedback is open in Excel (Windows), write a timestamped sibling.
    return write_atomic(Path(folder) / fit_name(Path(folder), feedback_file_name(submission)), data, fallback=True)


def feedback_bytes(source: Path | None, submission: Submission, issues: Sequence[Issue], spec: FormSpec,
                   *, registry: Any = None) -> bytes:
    """The feedback workbook as .xlsx bytes (see the module docstring for which kind)."""
    ordered = list(issues)  # sorted when the workbook's sheet order is known (_finish)
    sender = _sender(submission, registry)
    data = _source_bytes(source, submission) if submission.readable else None
    if data is not None:
        try:
            return _copy_feedback(data, submission, ordered, spec, sender)
        except Exception:  # openpyxl is stricter than the reader: a file it cannot round-trip gets the template
            log.warning("feedback: could not copy %r; re-creating the form", submission.file, exc_info=True)
    if submission.readable:
        try:
            return _template_feedback(submission, ordered, spec, sender, copied=data is not None)
        except Exception:
            log.warning("feedback: could not re-create the form for %r", submission.file, exc_info=True)
    return _list_feedback(submission, ordered, spec, sender)


def feedback_file_name(submission: Submission) -> str:
    """``phan_hoi_<CODE>_<original stem>.xlsx`` (``phan_hoi_<stem>.xlsx`` for an unknown agency), ASCII."""
    code = _ascii(submission.agency_code or "")
    stem = _ascii(Path(submission.file or "").stem)
    # A corrected feedback copy sent back keeps one prefix, not phan_hoi_STC_phan_hoi_STC_…
    while stem.lower().startswith(FILE_PREFIX):
        stem = stem[len(FILE_PREFIX):]
        if code and stem.startswith(code + "_"):
            stem = stem[len(code) + 1:]
    stem = shorten(stem.strip("._-"), STEM_LIMIT) or "bao_cao"
    return f"{FILE_PREFIX}{code}_{stem}.xlsx" if code else f"{FILE_PREFIX}{stem}.xlsx"


def safe_text(value: Any, limit: int = TEXT_LIMIT) -> str:
    """Text openpyxl and Excel accept: NFC, no control characters, at most ``limit`` UTF-16 units, with a
    visible mark where it was cut (openpyxl itself would cut silently)."""
    text = unicodedata.normalize("NFC", str(value)).replace("\x0b", "\n")  # \v: Word's manual line break
    text = _ILLEGAL.sub("", text)
    if len(text) * 2 <= limit:  # cannot exceed the limit even if every character were astral
        return text
    budget = limit - _utf16_len(TRUNCATED_MARK)
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            return text[:index] + TRUNCATED_MARK
    return text


def is_safe_formula(formula: Any) -> bool:
    """Whether an agency formula may stay a formula: only arithmetic, references within the workbook and
    SAFE_FUNCTIONS; no external workbook ([…]), no DDE (|)."""
    text = formula if isinstance(formula, str) else getattr(formula, "text", None)
    if not isinstance(text, str):
        return False  # data-table formulas and anything unknown
    code = _STRING_LITERAL.sub('""', text)
    if "[" in code or "|" in code:
        return False
    # A quoted name with characters no sheet name may hold is another file ('C:\x\book.xlsx'!A1).
    if any(set(name) & set("\\/?*:") for name in _QUOTED_SHEET.findall(code)):
        return False
    code = _QUOTED_SHEET.sub("''", code)
    names = (name.upper().removeprefix("_XLFN.").removeprefix("_XLWS.") for name in _FUNCTION_CALL.findall(code))
    return all(name in SAFE_FUNCTIONS for name in names)


# --------------------------------------------------------------------------------------------------------
# The three kinds of feedback


@dataclass(frozen=True)
class _Sender:
    """The agency as the template writer wants it (code, name_vi)."""

    code: str
    name_vi: str


@dataclass(frozen=True)
class _Entry:
    issue: Issue  # as listed (its message names the cell it links to)
    target: tuple[str, str] | None  # (sheet, A1) in the output workbook, when the cell exists there


def _copy_feedback(data: bytes, submission: Submission, issues: list[Issue], spec: FormSpec,
                   sender: _Sender | None) -> bytes:
    """The agency's own workbook, defused, annotated, with the issues sheet first."""
    wb = _load(data)
    author = _author(spec)
    _remove_old_feedback(wb, author)
    _defuse(wb, data)
    entries = [_Entry(i, _target_in(wb, i.sheet, i.cell)) for i in issues]
    notes = [
        "Các trang sau là bản sao tệp của đơn vị: ô có lỗi tô đỏ, ô có cảnh báo tô cam; rê chuột vào ô để đọc "
        "ghi chú. Bấm vào địa chỉ ở cột \"Ô\" để đến ô cần sửa. Đơn vị có thể sửa ngay trên tệp này rồi gửi lại.",
    ]
    if submission.format == "xlsm":
        notes.append("Macro (VBA) trong tệp gửi đến không được sao chép; tệp này là .xlsx.")
    return _finish(wb, entries, submission, spec, sender, notes)


def _template_feedback(submission: Submission, issues: list[Issue], spec: FormSpec, sender: _Sender | None,
                       *, copied: bool) -> bytes:
    """The current template pre-filled with what was read, annotated at the template's cells."""
    from pipeline.form.template import build_workbook

    values, cell_text, projects = _form_inputs(spec, submission, sender)
    extra = max(0, len(projects) - spec.table.rows) if spec.table is not None else 0
    data = build_workbook(spec, agency=sender, values=values, projects=projects, cell_text=cell_text,
                          extra_project_rows=extra)
    wb = _load(data)
    rows = {p.row: index for index, p in enumerate(submission.projects)}
    entries = [_template_entry(wb, i, spec, rows, extra) for i in issues]
    shown = LEGACY_FORMATS.get(submission.format or "")  # .xls, .ods, .fods, .xml: openpyxl opens none of them
    why = (f"Tệp gửi đến ở định dạng {shown} nên không sao chép được" if shown and not copied
           else "Không sao chép được tệp gửi đến")
    notes = [
        f"{why}: biểu mẫu trong tệp này được tạo lại từ mẫu hiện hành (phiên bản {spec.version}) và điền sẵn "
        "số liệu đã đọc được; vị trí ô ghi theo biểu mẫu mới. Đề nghị đơn vị kiểm tra, sửa các ô được đánh dấu "
        "(đỏ: lỗi, cam: cảnh báo) và gửi lại chính tệp .xlsx này.",
    ]
    return _finish(wb, entries, submission, spec, sender, notes)


def _list_feedback(submission: Submission, issues: list[Issue], spec: FormSpec, sender: _Sender | None) -> bytes:
    """Only the issues sheet: the file could not be opened (or is not our form)."""
    wb = Workbook()
    wb.remove(wb.active)
    entries = [_Entry(i, None) for i in issues]
    notes = ["Không mở được tệp gửi đến nên không có bản sao kèm theo; đề nghị đơn vị xem danh sách dưới đây."]
    return _finish(wb, entries, submission, spec, sender, notes)


def _load(data: bytes, *, data_only: bool = False) -> Workbook:
    """openpyxl's full load: macros and external-link parts are never carried over."""
    with warnings.catch_warnings():  # "extension is not supported and will be removed": known, documented loss
        warnings.simplefilter("ignore", UserWarning)
        return openpyxl.load_workbook(io.BytesIO(data), keep_vba=False, keep_links=False, rich_text=False,
                                      data_only=data_only)


def _finish(wb: Workbook, entries: list[_Entry], submission: Submission, spec: FormSpec, sender: _Sender | None,
            notes: list[str]) -> bytes:
    entries = sorted(entries, key=_order(wb.sheetnames))
    _annotate(wb, entries, _author(spec))
    _issues_sheet(wb, entries, _heading(submission, entries, spec, sender, notes), spec)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _order(sheet_names: list[str]) -> Callable[[_Entry], tuple[int, int, int, int]]:
    """Errors, then warnings, then notes; within each, file-level issues first, then sheet by sheet in the
    workbook's order and cell by cell as the agency reads the form (issues.sort_key orders sheets by name)."""
    position = {name: index for index, name in enumerate(sheet_names)}

    def key(entry: _Entry) -> tuple[int, int, int, int]:
        item = entry.issue
        sheet = -1 if not item.sheet else position.get(item.sheet, len(position))
        ref = _plain_cell(item.cell) if item.cell else None
        row, col = coordinate_to_tuple(ref) if ref else (0, 0)
        return _rank(item.severity), sheet, row, col

    return key


def _source_bytes(source: Path | None, submission: Submission) -> bytes | None:
    """The return's bytes when a copy can be made from them: an .xlsx/.xlsm that is still the file that was
    read (same SHA-256) and still passes the file guard. Reading never modifies the file."""
    if source is None or submission.format not in ("xlsx", "xlsm") or not str(source) or str(source) == ".":
        return None
    try:
        data = Path(source).read_bytes()
    except OSError:
        return None
    if submission.sha256 and hashlib.sha256(data).hexdigest() != submission.sha256:
        return None  # changed since it was read: its cells may not be where the issues say
    if not preflight.check_file(data, submission.file or Path(source).name).ok:
        return None  # never hand openpyxl a file the guard rejects
    return data


def _sender(submission: Submission, registry: Any) -> _Sender | None:
    code = submission.agency_code
    if not code:
        return None
    agency = registry.get(code) if registry is not None else None
    name = getattr(agency, "name_vi", None) or submission.values.get("ten_don_vi")
    return _Sender(code, str(name) if name else code)


def _author(spec: FormSpec) -> str:
    return str(spec.form.get("issuer_vi") or spec.form_id)


# --------------------------------------------------------------------------------------------------------
# The re-created form (.xls/.ods returns)


def _form_inputs(spec: FormSpec, submission: Submission, sender: _Sender | None
                 ) -> tuple[dict[str, Any], dict[str, str], list[dict[str, Any]]]:
    """Values, literal cell texts and project rows for build_workbook. A cell the reader could not type
    keeps its text ("khoảng 50"), so the agency sees what it wrote next to the comment."""
    values: dict[str, Any] = {}
    cell_text: dict[str, str] = {}
    for field_id, value in submission.values.items():
        f = spec.fields.get(field_id)
        if f is None or not f.is_input:
            continue  # computed cells are formulas in the template
        if sender is not None and field_id in ("ma_don_vi", "ten_don_vi"):
            continue  # the identity comes from the agency, as in its own copy of the template
        if field_id in submission.bad_fields and field_id in submission.raw:
            cell_text[field_id] = safe_text(submission.raw[field_id])
        elif value is not None:
            values[field_id] = _clean(value)
    projects = []
    columns = {c.id for c in spec.table.columns} if spec.table is not None else set()
    for project in submission.projects:
        row: dict[str, Any] = {}
        for column_id in columns:
            if (project.row, column_id) in submission.bad_project_cells and column_id in project.raw:
                row[column_id] = safe_text(project.raw[column_id])
            elif project.values.get(column_id) is not None:
                row[column_id] = _clean(project.values[column_id])
        projects.append(row)
    return values, cell_text, projects


def _clean(value: Any) -> Any:
    """Text for the template writer: xlsxwriter would cut an over-long text silently."""
    return safe_text(value) if isinstance(value, str) else value


def _template_entry(wb: Workbook, item: Issue, spec: FormSpec, rows: dict[int, int], extra_rows: int) -> _Entry:
    """The issue moved to where the template holds its field, so message, link and highlight agree."""
    place = _template_place(item, spec, rows, extra_rows)
    if place is None:
        return _Entry(item, None)
    return _Entry(replace(item, sheet=place[0], cell=place[1]), _target_in(wb, *place))


def _template_place(item: Issue, spec: FormSpec, rows: dict[int, int], extra_rows: int) -> tuple[str, str] | None:
    layout = layout_for(spec)
    table = layout.table
    if item.field is None:
        return None
    if item.row is not None and table is not None and item.field in table.columns:
        index = rows.get(item.row)
        return None if index is None else (table.sheet, table.cell(table.first_row + index, item.field))
    ref = layout.cells.get(item.field)
    if ref is None:
        return None
    is_total = spec.fields[item.field].kind == "total"
    return ref.sheet, a1(ref.row + (extra_rows if is_total else 0), ref.col)


# --------------------------------------------------------------------------------------------------------
# Making the agency's workbook safe to hand back


def _remove_old_feedback(wb: Workbook, author: str) -> None:
    """A corrected feedback copy sent back carries our previous sheet, comments and highlights: remove them,
    so this feedback shows only today's issues."""
    if ISSUES_SHEET in wb.sheetnames:
        wb.remove(wb[ISSUES_SHEET])
    ours = {f"00{colour}" for colour in (*FILLS.values(), INFO_FILL)} | {f"FF{c}" for c in (*FILLS.values(), INFO_FILL)}
    for ws in wb.worksheets:
        for cell in list(ws._cells.values()):
            if cell.comment is None or cell.comment.author != author:
                continue
            cell.comment = None
            if str(cell.fill.fgColor.rgb).upper() in ours:
                unlocked = cell.protection is not None and cell.protection.locked is False
                cell.fill = PatternFill("solid", fgColor=RESTORED_INPUT_FILL) if unlocked else PatternFill()


def _defuse(wb: Workbook, data: bytes) -> None:
    """Remove what could reach outside the workbook: external hyperlinks, formulas other than plain
    arithmetic over the workbook (replaced by the value they showed) and names defined by such formulas.
    External-link parts were already dropped at load (keep_links=False)."""
    cached: Workbook | None = None
    for ws in wb.worksheets:
        for cell in list(ws._cells.values()):
            link = cell.hyperlink
            if link is not None and (link.target or link.id):
                cell.hyperlink = None
            if cell.data_type == "f" and not is_safe_formula(cell.value):
                if cached is None:
                    cached = _load(data, data_only=True)
                shown = cached[ws.title][cell.coordinate].value
                # No value calculated (a program that does not calculate saved it): the formula's own text,
                # as text, so the agency still sees what it typed.
                _put_value(cell, str(cell.value) if shown is None else shown)
    for names in (wb.defined_names, *(ws.defined_names for ws in wb.worksheets)):
        for name, definition in list(names.items()):
            if not is_safe_formula("=" + str(definition.attr_text or "")):
                del names[name]


def _put_value(cell: Cell, value: Any) -> None:
    """Write a cached value back: text as text, numbers, dates and booleans as they are."""
    if isinstance(value, str):
        put_text(cell, value)
    else:
        cell.value = value


def put_text(cell: Cell, value: Any) -> None:
    """Write ``value`` as TEXT: openpyxl 3.1.5 turns a str starting with "=" into a formula (and "#N/A"
    into an error), so the type is forced back to a string; text Excel would read as a formula when edited
    also gets the quote prefix."""
    text = safe_text(value)
    cell.value = text
    cell.data_type = "s"
    if text.startswith(_FORMULA_START):
        cell.quotePrefix = True


# --------------------------------------------------------------------------------------------------------
# Highlights and comments


def _target_in(wb: Workbook, sheet: str | None, cell: str | None) -> tuple[str, str] | None:
    """(sheet, cell) when both exist in ``wb``; a merged cell is annotated at its range's first cell."""
    if not sheet or not cell or sheet not in wb.sheetnames:
        return None
    ws = wb[sheet]
    if not isinstance(ws, Worksheet):
        return None  # a chart sheet
    ref = _plain_cell(cell)
    if ref is None:
        return None
    for merged in ws.merged_cells.ranges:
        if ref in merged:
            return sheet, merged.start_cell.coordinate
    return sheet, ref


def _plain_cell(cell: str) -> str | None:
    """"D12", "$D$12", "D12:E14" → "D12"; None for anything that is not a cell inside Excel's grid."""
    match = _CELL_REF.match(cell.split(":")[0].strip().upper())
    if match is None:
        return None
    letters, digits = match.groups()
    if not 1 <= int(digits) <= MAX_ROW or column_index_from_string(letters) > MAX_COLUMN:
        return None
    return f"{letters}{int(digits)}"


def _annotate(wb: Workbook, entries: Iterable[_Entry], author: str) -> None:
    by_cell: dict[tuple[str, str], list[Issue]] = {}
    for entry in entries:
        if entry.target is not None:
            by_cell.setdefault(entry.target, []).append(entry.issue)
    for (sheet, ref), items in by_cell.items():
        ws = wb[sheet]
        cell = ws[ref]
        worst = min((i.severity for i in items), key=_rank)
        if worst in FILLS:
            cell.fill = PatternFill("solid", fgColor=FILLS[worst])
        cell.comment = _comment(items, author, cell.comment)
        if ws.sheet_state != "visible":
            ws.sheet_state = "visible"  # a link to a hidden sheet goes nowhere


def _comment(items: list[Issue], author: str, existing: Comment | None) -> Comment:
    """One comment per cell: each issue's Vietnamese message with the English one under it; a comment the
    agency had written stays below ours."""
    parts = [f"{SEVERITY_VI[i.severity].upper()}: {_message(i, 'vi')}\n({SEVERITY_EN[i.severity]}) {_message(i, 'en')}"
             for i in items]
    if existing is not None and existing.content:
        parts.append(f"— Ghi chú có sẵn trong tệp —\n{existing.content}")
    text = safe_text("\n\n".join(parts))
    width = 360
    lines = sum(max(1, -(-len(line) // 52)) for line in text.split("\n"))
    return Comment(text, author, height=min(16 * lines + 12, 700), width=width)


def _rank(severity: Severity) -> int:
    return {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}[severity]


# --------------------------------------------------------------------------------------------------------
# The issues sheet


_Heading = list[tuple[str, Font]]  # the heading's lines and their fonts


def _heading(submission: Submission, entries: list[_Entry], spec: FormSpec, sender: _Sender | None,
             notes: list[str]) -> _Heading:
    counts = {level: sum(1 for e in entries if e.issue.severity is level) for level in Severity}
    errors, warnings, infos = counts[Severity.ERROR], counts[Severity.WARNING], counts[Severity.INFO]
    agency = f"{sender.name_vi} (mã {sender.code})" if sender else "chưa xác định được đơn vị gửi"
    tally = f"Số lỗi: {errors}; số cảnh báo: {warnings}" + (f"; thông tin: {infos}" if infos else "")
    status = "rejected" if errors else "accepted_with_warnings" if warnings else "accepted"
    outcome = f"Kết quả kiểm tra: {STATUS_LABELS[status][0]}. " + OUTCOMES[status].format(issuer=_issuer(spec))
    title = f"PHẢN HỒI KẾT QUẢ KIỂM TRA BÁO CÁO — MẪU {spec.form_id}, KỲ {spec.round}"
    lines: _Heading = [
        (title, Font(bold=True, size=13)),
        (f"Đơn vị: {agency}", Font(bold=True)),
        (f"Tệp đã nhận: {submission.file}", Font()),
        (tally, Font()),
        (outcome, Font(bold=True, color="C00000" if errors else "C65911")),
        *((note, Font(italic=True)) for note in notes),
    ]
    return lines


def _issuer(spec: FormSpec) -> str:
    """The department returns go back to ("Sở Bưu chính, Viễn thông"), as the spec names it."""
    return str(spec.form.get("issuer_short_vi") or spec.form.get("issuer_vi") or "cơ quan tổng hợp")


class _Styles:
    """Each distinct look is built once and copied to the next cells as a raw style array: assigning
    openpyxl style objects cell by cell costs ~0.2 ms each (every assignment hashes the object)."""

    def __init__(self) -> None:
        self.arrays: dict[Hashable, Any] = {}

    def apply(self, cell: Cell, key: Hashable, **looks: Any) -> None:
        array = self.arrays.get(key)
        if array is not None:
            cell._style = copy(array)
            return
        for name, look in looks.items():
            setattr(cell, name, look)
        self.arrays[key] = copy(cell._style)


def _issues_sheet(wb: Workbook, entries: list[_Entry], heading: _Heading, spec: FormSpec) -> None:
    ws = wb.create_sheet(ISSUES_SHEET, 0)
    styles = _Styles()
    for index, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    last_col = get_column_letter(len(COLUMNS))
    for row, (text, font) in enumerate(heading, start=1):
        cell = ws.cell(row, 1)
        cell.font = font
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        put_text(cell, text)
        ws.merge_cells(f"A{row}:{last_col}{row}")
        ws.row_dimensions[row].height = LINE_POINTS * max(1, -(-len(text) // 180)) + 3
    header = len(heading) + 2
    for col, (label, _) in enumerate(COLUMNS, start=1):
        cell = ws.cell(header, col)
        styles.apply(cell, "header", font=Font(bold=True), fill=PatternFill("solid", fgColor="BDD7EE"),
                     alignment=Alignment(horizontal="center", vertical="center", wrap_text=True), border=BORDER)
        put_text(cell, label)
    for number, entry in enumerate(entries, start=1):
        _issue_row(ws, header + number, number, entry, styles, _label(entry.issue, spec))
    last = header + max(len(entries), 1)
    ws.freeze_panes = f"A{header + 1}"
    ws.auto_filter.ref = f"A{header}:{last_col}{last}"
    _print_setup(ws, header)
    for sheet in wb.worksheets:  # several selected tabs would open "grouped": edits would hit them all
        sheet.sheet_view.tabSelected = False
    ws.sheet_view.tabSelected = True
    wb.active = 0


def _issue_row(ws: Worksheet, row: int, number: int, entry: _Entry, styles: _Styles, label: str) -> None:
    item = entry.issue
    cells = [ws.cell(row, col) for col in range(1, len(COLUMNS) + 1)]
    for cell in cells:
        styles.apply(cell, "cell", alignment=WRAP, border=BORDER)
    severity = cells[COL_SEVERITY - 1]
    styles.apply(severity, ("severity", item.severity), alignment=WRAP, border=BORDER,
                 fill=PatternFill("solid", fgColor=FILLS.get(item.severity, INFO_FILL)),
                 font=Font(bold=item.severity is Severity.ERROR))
    cells[0].value = number
    put_text(severity, SEVERITY_VI[item.severity])
    put_text(cells[COL_SHEET - 1], item.sheet or "")
    put_text(cells[COL_CELL - 1], item.cell or "")
    put_text(cells[COL_LABEL - 1], label)
    put_text(cells[COL_VALUE - 1], _shown_value(item.value))
    put_text(cells[COL_MESSAGE - 1], _message(item, "vi"))
    put_text(cells[COL_CODE - 1], item.code)
    # An explicit height: LibreOffice (and Excel for merged or pre-sized rows) does not grow rows to fit
    # wrapped text when it opens a file.
    ws.row_dimensions[row].height = _row_height(cells)
    if entry.target is not None:
        sheet, ref = entry.target
        link = cells[COL_CELL - 1]
        styles.apply(link, "link", alignment=WRAP, border=BORDER, font=Font(color=LINK_COLOUR, underline="single"))
        if str(link.value).startswith(_FORMULA_START):
            link.quotePrefix = True
        # An internal link is a `location` attribute (no relationship, nothing outside the workbook).
        location = f"'{sheet.replace(chr(39), chr(39) * 2)}'!{ref}"
        link.hyperlink = Hyperlink(ref=link.coordinate, location=location, tooltip="Đến ô cần sửa")


def _row_height(cells: Sequence[Cell]) -> float:
    """Points for the tallest wrapped text of a row (about one character per unit of column width)."""
    lines = 1
    for cell, (_, width) in zip(cells, COLUMNS, strict=True):
        if isinstance(cell.value, str) and cell.value:
            per_line = max(int(width * 1.2), 1)
            lines = max(lines, sum(-(-len(part) // per_line) or 1 for part in cell.value.split("\n")))
    return min(LINE_POINTS * lines + 3, 409)  # Excel's maximum row height


def _label(item: Issue, spec: FormSpec) -> str:
    """The field's Vietnamese label: from the issue, else from the spec (return field or project column)."""
    label = item.context.get("label_vi")
    if label or not item.field:
        return str(label or "")
    f = spec.fields.get(item.field)
    if f is None and spec.table is not None:
        f = next((c for c in spec.table.columns if c.id == item.field), None)
    return f.vi if f is not None else ""


def _message(item: Issue, lang: str) -> str:
    """The issue's sentence; a message that cannot be rendered (a bug in a template) must not cost the
    agency its whole feedback, so it degrades to the code and the location."""
    try:
        return item.message(lang)
    except Exception:
        log.warning("feedback: cannot render %s in %s", item.code, lang, exc_info=True)
        return f"{item.where(lang)}: {item.code}"


def _shown_value(value: Any) -> str:
    """The value found, as text ("" when blank)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Có" if value else "Không"
    return str(display_value(value, "vi"))  # the feedback is Vietnamese: 1.388,8


def _print_setup(ws: Worksheet, header: int) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header}:{header}"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.right.text = "Trang &P/&N"


# --------------------------------------------------------------------------------------------------------
# Small helpers


def _ascii(text: str) -> str:
    """A file-name-safe ASCII form: "Báo cáo Sở Tài chính (bản 2)" → "Bao_cao_So_Tai_chinh_ban_2"."""
    text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text)
    return re.sub(r"_+", "_", text).strip("._-")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
