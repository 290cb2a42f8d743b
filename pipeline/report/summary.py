"""The leaders' summary workbook, written with xlsxwriter from a `consolidate.Summary`.

Safety (reliability notes §0 items 7–9, §6.5):
- the workbook is opened with strings_to_formulas/urls/numbers = False and every text goes through
  `write_string`, so nothing an agency typed ("=HYPERLINK(…)", "http://…") becomes a formula or a link;
  text starting with = + - @ also gets Excel's quote prefix, so editing the cell keeps it text;
- text over Excel's 32,767-character cell limit is cut visibly ("… [đã cắt bớt]"); lone surrogates and
  the XML non-characters U+FFFE/U+FFFF become U+FFFD (xlsxwriter escapes control characters itself);
- NaN and ±inf are written as blank cells; sheet names are fixed words of at most 31 characters;
- the file is replaced atomically (pipeline.atomic), so a failure leaves the previous summary intact.

Reproducible: the same Summary gives the same bytes (the creation time is summary.generated_at and
xlsxwriter stamps ZIP members with a fixed date and mode). Totals are numbers computed by consolidate, not formulas:
the workbook holds no formula at all, which keeps it identical in Excel and LibreOffice.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import numbers
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from pipeline.atomic import write_atomic
from pipeline.form.layout import layout_for
from pipeline.form.spec import FormSpec
from pipeline.i18n import t
from pipeline.report import consolidate as C
from pipeline.report import plan_vs_result as P
from pipeline.report.bieu import all_bieu, as_of, plan_year
from pipeline.report.frame import date_vi, frame_for
from pipeline.report.print_set import PRINT_NOTE, exclude_from_printing, write_print_set
from pipeline.report.xlsx import (
    FONT,
    FORMULA_CHARS,
    LINE_HEIGHT,
    MAX_CELL,
    MAX_ROW_HEIGHT,
    WORKBOOK_OPTIONS,
    WRAPPED,
    Cell,
    Col,
    FastWorksheet,
    Row,
    Styles,
    header_height,
    safe_text,
    text_lines,
)

MAX_BAR_AGENCIES = 60  # above this many agencies the per-agency bar chart shows groups instead

# Every fixed word of the workbook: key → (Vietnamese, English).
WORDS: dict[str, tuple[str, str]] = {
    "sheet.overview": ("Tổng quan", "Overview"),
    "sheet.key": ("Chỉ tiêu theo đơn vị", "Indicators by agency"),
    "sheet.detail": ("Số liệu chi tiết", "All figures"),
    "sheet.targets": ("Mục tiêu", "Targets"),
    "sheet.projects": ("Dự án 2008–2010", "Projects 2008–2010"),
    "sheet.duplicates": ("Dự án trùng tên", "Duplicate projects"),
    "sheet.funding": ("Kinh phí", "Funding"),
    "sheet.funding_agency": ("Kinh phí theo đơn vị", "Funding by agency"),
    "sheet.narratives": ("Thuyết minh", "Narratives"),
    "sheet.status": ("Tình hình nộp", "Returns"),
    "sheet.issues": ("Lỗi và cảnh báo", "Issues"),
    "sheet.lineage": ("Nguồn số liệu", "Sources"),
    "sheet.history": ("Lịch sử nộp", "History"),
    "sheet.chartdata": ("Số liệu biểu đồ", "Chart data"),
    "title.overview": ("TỔNG HỢP {title}", "SUMMARY: {title}"),
    "subtitle": ("Kỳ báo cáo {round} · Mẫu {form} phiên bản {version} · Số liệu đến ngày {time} · {unprinted}",
                 "Round {round} · Form {form} version {version} · Figures as at {time} · {unprinted}"),
    "unprinted": (PRINT_NOTE, "Not part of the printed set (Biểu 01–05). To print it: Page Layout › Print Area › "
                  "Clear Print Area."),
    "title.key": ("CHỈ TIÊU CHỦ YẾU THEO ĐƠN VỊ", "KEY INDICATORS BY AGENCY"),
    "title.detail": ("TOÀN BỘ SỐ LIỆU HIỆN TRẠNG THEO ĐƠN VỊ", "ALL STATUS FIGURES BY AGENCY"),
    "title.targets": ("HIỆN TRẠNG VÀ MỤC TIÊU 2008, 2010", "CURRENT VALUES AND TARGETS FOR 2008 AND 2010"),
    "title.projects": ("DANH MỤC DỰ ÁN, NHIỆM VỤ CNTT 2008–2010", "IT PROJECTS AND TASKS 2008–2010"),
    "title.duplicates": ("DỰ ÁN TRÙNG TÊN GIỮA CÁC ĐƠN VỊ (CẦN XEM XÉT LỒNG GHÉP)",
                         "PROJECTS WITH THE SAME NAME IN SEVERAL AGENCIES (CANDIDATES FOR MERGING)"),
    "title.funding": ("KINH PHÍ DỰ KIẾN 2008–2010", "PLANNED FUNDING 2008–2010"),
    "title.funding_agency": ("KINH PHÍ DỰ KIẾN 2008–2010 THEO ĐƠN VỊ", "PLANNED FUNDING 2008–2010 BY AGENCY"),
    "title.narratives": ("THUYẾT MINH CỦA CÁC ĐƠN VỊ", "AGENCIES' NARRATIVES"),
    "title.status": ("TÌNH HÌNH NỘP BÁO CÁO", "RETURNS RECEIVED"),
    "title.issues": ("LỖI VÀ CẢNH BÁO TRONG BÁO CÁO HIỆN HÀNH CỦA CÁC ĐƠN VỊ (ĐƯỢC TỔNG HỢP HOẶC CHƯA HỢP LỆ)",
                     "ISSUES OF EACH AGENCY'S CURRENT RETURNS (COUNTED OR NOT YET VALID)"),
    "title.lineage": ("NGUỒN SỐ LIỆU", "DATA SOURCES"),
    "title.history": ("LỊCH SỬ CÁC TỆP ĐÃ NHẬN", "EVERY FILE RECEIVED"),
    "title.chartdata": ("SỐ LIỆU CỦA CÁC BIỂU ĐỒ Ở TRANG TỔNG QUAN", "DATA OF THE OVERVIEW CHARTS"),
    "note.key": ("Dòng \"Cộng\" và \"Toàn tỉnh\": số lượng là tổng cộng; tỷ lệ tính lại từ số tổng (không lấy trung "
                 "bình các tỷ lệ); chỉ tiêu Có/Không là số đơn vị trả lời Có. Dòng \"Số đơn vị báo cáo\" ghi n/m: n "
                 "đơn vị có số liệu trên m đơn vị. Tiền: triệu đồng.",
                 "\"Total\" rows: counts are sums; ratios are recomputed from the totals (never averaged); yes/no "
                 "items count the agencies answering yes. \"Agencies reporting\" rows show n/m. Money: million VND."),
    "note.targets": ("Dòng tổng: chỉ tiêu số lượng là tổng cộng; hiện trạng của chỉ tiêu tỷ lệ tính lại từ số tổng; "
                     "mục tiêu tỷ lệ (%) là bình quân gia quyền theo số CBCCVC của các đơn vị.",
                     "Total rows: count targets are sums; current ratios are recomputed from the totals; ratio "
                     "targets are means weighted by each agency's staff."),
    "note.projects": ("Sắp xếp theo nhóm nội dung, đơn vị. Tiền: triệu đồng. Các cột mục tiêu, quy mô, ghi chú "
                      "ở bên phải (không in).",
                      "Ordered by content area and agency. Money: million VND. Objective, scope and remarks "
                      "columns are on the right (not printed)."),
    "note.truncated": ("… [đã cắt bớt]", "… [truncated]"),
    "h.stt": ("STT", "No."),
    "h.code": ("Mã", "Code"),
    "h.agency": ("Đơn vị", "Agency"),
    "h.group": ("Khối", "Group"),
    "h.status": ("Tình trạng báo cáo", "Return status"),
    "h.file": ("Tệp đang dùng", "File used"),
    "h.received": ("Nhận lúc", "Received"),
    "h.recorded": ("Ghi sổ lúc", "Recorded"),
    "h.errors": ("Lỗi", "Errors"),
    "h.warnings": ("Cảnh báo", "Warnings"),
    "h.returns": ("Số tệp đã nhận", "Files received"),
    "h.unsuccessful": ("Số tệp chưa hợp lệ", "Files not valid"),
    "h.changes": ("Số chỉ tiêu thay đổi so với báo cáo trước", "Items changed since the previous return"),
    "h.changed": ("Thay đổi (tối đa 5 chỉ tiêu đầu)", "Changes (first 5 items)"),
    "h.note": ("Ghi chú", "Remarks"),
    "h.item": ("Chỉ tiêu", "Indicator"),
    "h.unit": ("Đơn vị tính", "Unit"),
    "h.province": ("Toàn tỉnh", "Province"),
    "h.coverage": ("Số đơn vị báo cáo", "Agencies reporting"),
    "h.count": ("Số đơn vị", "Agencies"),
    "h.share": ("Tỷ lệ (%)", "Share (%)"),
    "h.project_id": ("Mã dự án", "Project id"),
    "h.area": ("Nhóm nội dung", "Content area"),
    "h.duplicate_of": ("Trùng tên với dự án", "Same name as"),
    "h.name": ("Tên dự án, nhiệm vụ", "Project or task"),
    "h.agencies": ("Các đơn vị", "Agencies"),
    "h.project_ids": ("Mã các dự án", "Project ids"),
    "h.projects": ("Số dự án", "Projects"),
    "h.cost": ("Tổng kinh phí các dự án (triệu đồng)", "Total cost of the projects (million VND)"),
    "h.plan_total": ("Cộng 2008–2010 (triệu đồng)", "2008–2010 (million VND)"),
    "h.year": ("Năm {year} (triệu đồng)", "{year} (million VND)"),
    "h.section": ("Phần", "Part"),
    "h.question": ("Nội dung", "Item"),
    "h.text": ("Thuyết minh", "Narrative"),
    "h.severity": ("Mức độ", "Severity"),
    "h.sheet": ("Trang", "Sheet"),
    "h.cell": ("Ô", "Cell"),
    "h.value": ("Giá trị", "Value"),
    "h.message": ("Nội dung", "Message"),
    "h.sha": ("Mã SHA-256 của tệp", "File SHA-256"),
    "h.version": ("Phiên bản mẫu", "Form version"),
    "h.submission": ("Mã lần nộp", "Submission id"),
    "h.supersedes": ("Thay cho lần nộp", "Replaces"),
    "h.superseded_by": ("Bị thay bởi lần nộp", "Replaced by"),
    "h.result": ("Kết quả kiểm tra", "Check result"),
    "h.counted": ("Được tổng hợp", "Counted"),
    "h.template_cell": ("Ô theo mẫu", "Template cell"),
    "h.read_cell": ("Ô đã đọc", "Cell read"),
    "h.what": ("Nội dung", "Item"),
    "h.number": ("Số lượng", "Count"),
    "h.level": ("Mức độ dịch vụ", "Service level"),
    "h.services": ("Số dịch vụ công trực tuyến", "Online services"),
    "h.pcs_per_staff": ("Số máy tính / CBCCVC", "PCs per staff"),
    "row.subtotal": ("Cộng: {label}", "Total: {label}"),
    "row.province": ("TOÀN TỈNH", "PROVINCE"),
    "row.coverage": ("Số đơn vị báo cáo (n/m)", "Agencies reporting (n/m)"),
    "row.total": ("Tổng cộng", "Total"),
    "row.unclassified": ("Chưa xác định nhóm", "No content area"),
    "n_projects": ("{label}: {n} dự án", "{label}: {n} projects"),
    "ov.returns": ("1. TÌNH HÌNH NỘP BÁO CÁO", "1. RETURNS"),
    "ov.indicators": ("2. CHỈ TIÊU CHỦ YẾU", "2. KEY INDICATORS"),
    "ov.charts": ("3. BIỂU ĐỒ", "3. CHARTS"),
    "ov.expected": ("Số đơn vị phải báo cáo", "Agencies expected to report"),
    "ov.received": ("Đã nộp báo cáo", "Returned a file"),
    "ov.unattributed": ("Tệp không xác định được đơn vị (không tổng hợp)", "Files of no known agency (not counted)"),
    "ov.coverage": ("{n}/{m} đơn vị báo cáo", "{n}/{m} agencies reporting"),
    "chart.pcs": ("Số máy tính bình quân trên một CBCCVC theo đơn vị (toàn tỉnh: {value})",
                  "PCs per staff member by agency (province: {value})"),
    "chart.pcs_groups": ("Số máy tính bình quân trên một CBCCVC theo khối", "PCs per staff member by group"),
    "chart.funding_report": ("Vốn các dự án năm 2008: kế hoạch, đã bố trí và đã giải ngân theo nhóm nội dung (triệu đồng)",
                             "Projects' 2008 money: planned, allocated and disbursed by content area (million VND)"),
    "chart.funding": ("Kinh phí dự kiến theo năm và nhóm nội dung (triệu đồng, theo danh mục dự án)",
                      "Planned funding by year and content area (million VND, from the project lists)"),
    "chart.services": ("Số dịch vụ công trực tuyến theo mức độ (toàn tỉnh)", "Online services by level (province)"),
    "chart.level": ("Mức {n}", "Level {n}"),
    "fund.by_area": ("1. Kinh phí dự kiến theo năm và nhóm nội dung (tổng hợp từ danh mục dự án)",
                     "1. Planned funding by year and content area (from the project lists)"),
    "fund.by_source": ("2. Kinh phí dự kiến theo năm và nguồn vốn (theo phần kế hoạch kinh phí của báo cáo)",
                       "2. Planned funding by year and source (from the returns' funding plan)"),
    "status.note_later": ("{n} tệp gửi sau chưa hợp lệ; vẫn dùng báo cáo hợp lệ trước đó.",
                          "{n} later file(s) not valid; the earlier valid return still counts."),
    "status.note_rejected": ("Tệp gần nhất: {status}. Xem phản hồi gửi đơn vị.",
                             "Latest file: {status}. See the agency's feedback."),
    "status.note_missing": ("Cần đôn đốc đơn vị nộp báo cáo.", "Remind the agency to report."),
    "yes": ("Có", "Yes"),
    "unknown_agency": ("(chưa xác định được đơn vị)", "(agency unknown)"),
    "no": ("Không", "No"),
    "blank": ("(trống)", "(blank)"),
    "severity.error": ("lỗi", "error"),
    "severity.warning": ("cảnh báo", "warning"),
    "severity.info": ("thông tin", "info"),
    "lin.info": ("THÔNG TIN TỔNG HỢP", "ABOUT THIS SUMMARY"),
    "lin.form": ("Mẫu báo cáo", "Form"),
    "lin.round": ("Kỳ báo cáo", "Round"),
    "lin.spec": ("Mã SHA-256 của tệp đặc tả mẫu", "SHA-256 of the form spec"),
    "lin.generated": ("Thời điểm tổng hợp (tệp mới nhất được ghi sổ)", "Consolidated at (latest file recorded)"),
    "lin.files": ("Số tệp trong sổ cái của kỳ", "Files in the ledger for this round"),
    "lin.method": ("PHƯƠNG PHÁP TỔNG HỢP", "METHOD"),
    "lin.moved": ("CÁC Ô ĐƯỢC ĐỌC KHÁC VỊ TRÍ MẪU (ĐƠN VỊ ĐÃ CHÈN/XÓA DÒNG)",
                  "VALUES READ FROM ANOTHER CELL THAN THE TEMPLATE'S (ROWS INSERTED OR DELETED)"),
}

METHOD_NOTES: dict[str, tuple[str, ...]] = {
    "vi": (
        "Mỗi đơn vị chỉ tính một báo cáo: báo cáo hợp lệ nhận sau cùng (theo thời điểm nhận tệp, không theo thứ tự "
        "xử lý). Khi đơn vị gửi lại, báo cáo mới thay thế báo cáo cũ; các chỉ tiêu thay đổi được liệt kê ở trang "
        "\"Tình hình nộp\". Tệp chưa hợp lệ không được tổng hợp; tệp gửi trùng (cùng nội dung) chỉ tính một lần.",
        "Số của khối và toàn tỉnh là tổng cộng số liệu của các đơn vị có báo cáo chỉ tiêu đó. Mỗi số tổng kèm "
        "\"n/m đơn vị báo cáo\": n đơn vị có số liệu trên m đơn vị của khối (toàn tỉnh). Đơn vị chưa nộp hoặc để "
        "trống không được tính là 0.",
        "Các tỷ lệ ở dòng tổng được tính lại từ số tổng, không lấy trung bình cộng tỷ lệ của các đơn vị. Ví dụ: số "
        "máy tính trên một CBCCVC = tổng số máy tính / tổng số CBCCVC của các đơn vị báo cáo cả hai chỉ tiêu; tỷ lệ "
        "máy tính kết nối LAN, Internet = tổng số máy kết nối / tổng số máy tính × 100.",
        "Tỷ lệ do đơn vị tự ghi (tỷ lệ văn bản trao đổi qua mạng) và mục tiêu tỷ lệ năm 2008, 2010 ở dòng tổng là "
        "bình quân gia quyền theo số CBCCVC của từng đơn vị. Mục tiêu số lượng là tổng cộng.",
        "Chỉ tiêu Có/Không: dòng tổng là số đơn vị trả lời \"Có\".",
        "Đơn vị tiền tệ: triệu đồng. Kinh phí theo nhóm nội dung tổng hợp từ danh mục dự án (phân kỳ vốn từng năm); "
        "kinh phí theo năm và nguồn vốn lấy từ phần kế hoạch kinh phí của báo cáo.",
        "Mã dự án do hệ thống tạo: {mã đơn vị}-{năm bắt đầu}-{số thứ tự}. Dự án trùng tên: cùng tên (không phân "
        "biệt chữ hoa, chữ thường, khoảng trắng) ở hai đơn vị trở lên.",
        "Mỗi số liệu truy được về tệp gốc: tên tệp, mã SHA-256 và thời điểm nhận ghi ở bảng trên; tệp gốc được lưu "
        "nguyên trạng trong thư mục lưu trữ theo mã SHA-256.",
        "Văn bản của đơn vị được ghi nguyên dạng chữ, không trở thành công thức hay liên kết; đoạn dài quá 32.767 ký "
        "tự (giới hạn một ô Excel) bị cắt và ghi \"… [đã cắt bớt]\".",
    ),
    "en": (
        "One return counts per agency: the valid return received last (by the file's received time, not the order "
        "of processing). A resent return replaces the earlier one; the changed items are listed on the Returns "
        "sheet. Rejected files are not consolidated; a file received twice counts once.",
        "Group and province figures are sums over the agencies that reported the item, each with \"n/m agencies "
        "reporting\". A missing or blank value is never counted as 0.",
        "Ratios in total rows are recomputed from the totals, never averaged: PCs per staff = total PCs / total "
        "staff of the agencies reporting both; shares of PCs on the LAN or Internet = PCs connected / PCs × 100.",
        "Ratios agencies typed themselves (share of documents exchanged electronically) and ratio targets are "
        "staff-weighted means in total rows. Count targets are summed.",
        "Yes/no items: the total row counts the agencies answering yes.",
        "Money is in million VND. Funding by content area comes from the project lists (yearly allocations); "
        "funding by year and source comes from the returns' funding plan.",
        "Project ids are generated: {agency code}-{start year}-{sequence}. Duplicate projects: the same name "
        "(ignoring case and spacing) in two or more agencies.",
        "Every figure traces back to its file: name, SHA-256 and received time are in the table above; the "
        "original file is archived unchanged under its SHA-256.",
        "Agency text is written as plain text, never as a formula or link; text over 32,767 characters (Excel's "
        "cell limit) is cut and marked \"… [truncated]\".",
    ),
}




def write_summary(summary: C.Summary, spec: FormSpec, path: Path, *, lang: str = "vi") -> Path:
    """Write the summary workbook atomically, straight to its temporary file; returns the path written (a
    timestamped sibling when the target is locked, e.g. open in Excel)."""
    return write_atomic(Path(path), lambda temp: _write_workbook(summary, spec, str(temp), lang), fallback=True)


def summary_bytes(summary: C.Summary, spec: FormSpec, *, lang: str = "vi") -> bytes:
    """The workbook as bytes: identical for identical Summaries, and to what write_summary writes."""
    buffer = io.BytesIO()
    _write_workbook(summary, spec, buffer, lang)
    return buffer.getvalue()


def _write_workbook(summary: C.Summary, spec: FormSpec, target: str | io.BytesIO, lang: str) -> None:
    # Each sheet's XML goes to a temporary file, not to an in-memory string: at 10,000 agencies those
    # strings alone take several hundred MB. Members are still stamped with a fixed date (31/1/1980).
    book = xlsxwriter.Workbook(target, {"in_memory": False, **WORKBOOK_OPTIONS})
    _Writer(summary, spec, book, lang).write()
    book.close()



WORDS.update(P.WORDS)  # the "Thực hiện so với kế hoạch" sheets' words (report.plan_vs_result)


class _Writer:
    def __init__(self, summary: C.Summary, spec: FormSpec, book: xlsxwriter.Workbook, lang: str) -> None:
        self.s = summary
        self.spec = spec
        self.book = book
        self.lang = lang if lang in ("vi", "en") else "vi"
        self.st = Styles(book)
        self.sheets: dict[str, Worksheet] = {}
        self.chart_refs: dict[str, Any] = {}
        # Row lookups as plain dicts: .loc per agency and table would dominate the run time at 1,000 agencies.
        self.agency = summary.agencies.to_dict("index")
        self.members = summary.agencies.groupby("group", sort=False).groups
        self.sections = {sec.id: sec for sheet in spec.sheets for sec in sheet.sections}
        self.sheet_of = {sec.id: sheet.id for sheet in spec.sheets for sec in sheet.sections}
        self.numbers = layout_for(spec).numbers
        self.columns = {c.id: c for c in spec.table.columns} if spec.table else {}
        # A report form's own words where the plan's would be wrong: its project sheet, no print set.
        self.words: dict[str, tuple[str, str]] = {} if not C.reports_on_plan(spec) or spec.table is None else {
            "sheet.projects": (spec.sheet_name(spec.table.sheet), spec.table.en[:31]),
            "title.projects": (spec.table.vi, spec.table.en.upper()),
            "subtitle": tuple(text.removesuffix(" · {unprinted}") for text in WORDS["subtitle"])}

    # --- words --------------------------------------------------------------------------------------------
    def w(self, key: str, **params: Any) -> str:
        vi, en = self.words.get(key) or WORDS[key]
        text = vi if self.lang == "vi" else en
        return text.format(**params) if params else text

    def status_label(self, status: str | None) -> str:
        return t(f"status.{status}", self.lang) if isinstance(status, str) and status else ""

    def agency_name(self, code: str) -> str:
        row = self.agency.get(code)
        if row is None:
            return code
        return row["name_vi"] if self.lang == "vi" else (row["name_en"] or row["name_vi"])

    def group_label(self, group: str) -> str:
        return self.s.groups.at[group, "label_vi" if self.lang == "vi" else "label_en"]

    def measure_header(self, m: C.Measure) -> str:
        label = m.label(self.lang)
        return f"{label} ({m.unit})" if m.unit and f"({m.unit})" not in label else label

    def field_label(self, field_id: str | None) -> str:
        if not field_id:
            return ""
        f = self.spec.fields.get(field_id) or self.columns.get(field_id)
        return f.label(self.lang) if f is not None else field_id

    def section_label(self, section_id: str) -> str:
        """"Hiện trạng – II. HẠ TẦNG CNTT CẤP XÃ": the form's sheet and its number of the section, as the
        agencies' forms print them (each sheet numbers its sections from I)."""
        section = self.sections.get(section_id)
        if section is None:
            return section_id
        title = section.vi if self.lang == "vi" else section.en
        return f"{self.spec.sheet_name(self.sheet_of[section_id])} – {self.numbers[section_id]}. {title}"

    def question_label(self, field_id: str) -> str:
        """"Kế hoạch – IV.2. Điều kiện bảo đảm thực hiện": a question cited by the form's number of it."""
        f = self.spec.fields[field_id]
        return f"{self.spec.sheet_name(f.sheet)} – {self.numbers.get(field_id, f.section)}. {self.field_label(field_id)}"

    def area_label(self, code: str) -> str:
        if code == C.UNCLASSIFIED:
            return self.w("row.unclassified")
        if code == C.TOTAL:
            return self.w("row.total")
        return self.spec.choice_label(self.columns[C.PROJECT_AREA].choices or "", code, self.lang)

    def time_text(self, value: Any) -> str:
        return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%d/%m/%Y %H:%M")

    # --- cells and tables ---------------------------------------------------------------------------------
    def put(self, ws: Worksheet, r: int, c: int, value: Any, kind: str = "text", row: str = "body") -> None:
        """Write one value by its Python type: text only ever through write_string, NaN/inf/None blank."""
        if isinstance(value, Cell):
            value, kind = value.value, value.kind
        if value is None or value is pd.NA or value is pd.NaT:
            ws.write_blank(r, c, None, self.st.get(kind, row))
        elif isinstance(value, str):
            quote = value.startswith(FORMULA_CHARS)
            ws.write_string(r, c, safe_text(value, self.lang), self.st.get(kind, row, quote))
        elif isinstance(value, bool):
            ws.write_string(r, c, self.w("yes" if value else "no"), self.st.get("center", row))
        elif isinstance(value, numbers.Number):
            number = float(value)  # type: ignore[arg-type]
            if math.isfinite(number):
                ws.write_number(r, c, number, self.st.get(kind, row))
            else:
                ws.write_blank(r, c, None, self.st.get(kind, row))
        elif isinstance(value, dt.datetime):
            ws.write_datetime(r, c, pd.Timestamp(value).to_pydatetime(), self.st.get("datetime", row))
        else:
            ws.write_string(r, c, safe_text(str(value), self.lang), self.st.get(kind, row))

    def table(self, ws: Worksheet, top: int, cols: Sequence[Col], rows: Iterable[Row], *, autofilter: bool = True,
              freeze: bool = True, freeze_cols: int = 0, repeat: bool = True, widths: bool = True) -> int:
        """Header (banded when columns have bands), rows, column widths, autofilter, frozen panes and
        repeated print rows. Returns the first row after the table."""
        banded = any(c.band for c in cols)
        header = top + 1 if banded else top
        head, band = self.st.get("header"), self.st.get("band")
        if banded:
            ws.set_row(top, 30)
            start = 0
            for i in range(1, len(cols) + 1):
                if i < len(cols) and cols[start].band and cols[i].band == cols[start].band:
                    continue
                if cols[start].band:
                    fmt = head if i - start <= 4 else band
                    if i - 1 > start:
                        ws.merge_range(top, start, top, i - 1, "", fmt)
                    ws.write_string(top, start, cols[start].band, fmt)
                start = i
        ws.set_row(header, header_height(cols))
        for c, col in enumerate(cols):
            if banded and not col.band:
                ws.merge_range(top, c, header, c, "", head)
            ws.write_string(top if banded and not col.band else header, c, col.header, head)
            if widths:
                ws.set_column(c, c, col.width)
        r = self.body(ws, header + 1, cols, rows)
        if autofilter and r > header + 1:
            ws.autofilter(header, 0, r - 1, len(cols) - 1)
        if freeze:
            ws.freeze_panes(header + 1, freeze_cols)
        if repeat:
            ws.repeat_rows(top, header)
        return r

    def body(self, ws: Worksheet, top: int, cols: Sequence[Col], rows: Iterable[Row]) -> int:
        """Write a table's rows from `top`, each value by its type; returns the row after the last.

        The hot loop (every cell of the workbook): finite numbers, blanks and printable text — nearly every
        cell — become finished XML, a row's consecutive ones written as one run (FastWorksheet.write_run);
        anything else goes through put(). A plain xlsxwriter Worksheet (the reference the tests compare
        against) gets the same cells one by one."""
        fast = hasattr(ws, "write_run")  # a FastWorksheet
        strings = ws.str_table
        letters = [xl_col_to_name(c) for c in range(len(cols))]
        kinds = [col.kind for col in cols]
        wrapped = [col.kind in WRAPPED for col in cols]
        formats: dict[str, tuple[list[Format], list[int]]] = {}
        r = top
        for style, values in rows:
            if style not in formats:
                fmts = [self.st.get(kind, style) for kind in kinds]
                formats[style] = fmts, [fmt._get_xf_index() for fmt in fmts]
            fmts, xfs = formats[style]
            lines, run, first, ref = 1, [], 0, r + 1
            for c, value in enumerate(values):
                kind = type(value)
                if (kind is float or kind is int) and math.isfinite(value):
                    if not fast:
                        ws._write_number(r, c, value, fmts[c])
                        continue
                    run.append(f'<c r="{letters[c]}{ref}" s="{xfs[c]}"><v>{value:.16G}</v></c>')
                elif value is None:
                    if not fast:
                        ws._write_blank(r, c, None, fmts[c])
                        continue
                    run.append(f'<c r="{letters[c]}{ref}" s="{xfs[c]}"/>')
                elif kind is str and value.isprintable() and len(value) <= MAX_CELL // 2:
                    fmt = self.st.get(kinds[c], style, True) if value.startswith(FORMULA_CHARS) else fmts[c]
                    if wrapped[c] and len(value) > cols[c].width:
                        lines = max(lines, text_lines(value, cols[c].width))
                    if not fast:
                        ws._write_string(r, c, value, fmt)
                        continue
                    index = strings._get_shared_string_index(value)
                    run.append(f'<c r="{letters[c]}{ref}" s="{fmt._get_xf_index()}" t="s"><v>{index}</v></c>')
                else:
                    if run:
                        ws.write_run(r, first, c - 1, "".join(run))
                        run = []
                    first = c + 1
                    self.put(ws, r, c, value, kinds[c], style)
                    if kind is str and wrapped[c]:
                        lines = max(lines, text_lines(value, cols[c].width))
            if run:
                ws.write_run(r, first, len(values) - 1, "".join(run))
            if lines > 1:  # neither LibreOffice nor a printed page grows a row by itself: size it from the text
                (ws.set_height if fast else ws.set_row)(r, min(MAX_ROW_HEIGHT, LINE_HEIGHT * lines + 3))
            r += 1
        return r

    def sheet(self, key: str, *, fit_width: bool = True) -> Worksheet:
        # The charts' own sheet keeps xlsxwriter's cells: the charts' cached values are read from them.
        kind = Worksheet if key == "chartdata" else FastWorksheet
        ws = self.book.add_worksheet(self.w(f"sheet.{key}"), worksheet_class=kind)
        ws.set_paper(9)  # A4
        ws.set_landscape()
        ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
        ws.center_horizontally()
        if fit_width:
            ws.fit_to_pages(1, 0)
        footer = f"{self.s.form_id} · {self.w(f'sheet.{key}')} · {date_vi(as_of(self.s))}"
        page = "Trang &P/&N" if self.lang == "vi" else "Page &P/&N"
        ws.set_footer(f"&L&8{footer.replace('&', '&&')}&R&8{page}")
        self.sheets[key] = ws
        return ws

    def title(self, ws: Worksheet, key: str, width: int) -> int:
        """Title and subtitle rows; returns the first free row."""
        text = self.w("title.overview", title=self.s.title_vi) if key == "overview" else self.w(f"title.{key}")
        subtitle = self.w("subtitle", round=self.s.round, form=self.s.form_id, version=self.s.form_version,
                          time=date_vi(as_of(self.s)), unprinted=self.w("unprinted"))
        for row, (value, kind, height) in enumerate([(text, "title", 24), (subtitle, "subtitle", 16)]):
            fmt = self.st.get(kind, "plain")
            ws.merge_range(row, 0, row, max(width - 1, 1), "", fmt)
            ws.write_string(row, 0, value, fmt)
            ws.set_row(row, height)
        return 3

    def paragraph(self, ws: Worksheet, row: int, text: str, width: int, kind: str = "note", chars: int = 150) -> int:
        """A merged, wrapped line of our own text; the height follows the length (merged cells never autofit)."""
        fmt = self.st.get(kind, "plain")
        ws.merge_range(row, 0, row, max(width - 1, 1), "", fmt)
        ws.write_string(row, 0, text, fmt)
        ws.set_row(row, 14 * math.ceil(len(text) / chars) + 3)
        return row + 1

    def heading(self, ws: Worksheet, row: int, text: str) -> int:
        ws.write_string(row, 0, text, self.st.get("heading", "plain"))
        return row + 1

    # --- values by measure ----------------------------------------------------------------------------
    @staticmethod
    def measure_kind(m: C.Measure) -> str:
        return "wrap" if m.fmt == "choice" else m.fmt

    def total_value(self, level: str, m: C.Measure) -> Any:
        return None if m.how == "none" else self.s.totals.at[level, m.id]

    def coverage(self, level: str, measure_id: str) -> str:
        return C.coverage_text(int(self.s.coverage.at[level, measure_id]), self.s.members(level))

    def display(self, field_id: str, value: Any) -> str:
        """A typed ledger value as a short text, for "field: old → new"."""
        f = self.spec.fields.get(field_id)
        if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
            return self.w("blank")
        if isinstance(value, bool):
            return self.w("yes" if value else "no")
        if f is not None and f.type == "choice" and isinstance(value, str):
            return self.spec.choice_label(f.choices or "", value, self.lang)
        if isinstance(value, dt.date):
            return value.strftime("%d/%m/%Y")
        if isinstance(value, int | float):
            return _number_text(float(value), self.lang)
        text = str(value)
        return text if len(text) <= 60 else text[:59] + "…"

    # --- grouped agency tables ------------------------------------------------------------------------
    def lead_cols(self, status: bool = False) -> list[Col]:
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.agency"), 30, "wrap")]
        return [*cols, Col(self.w("h.status"), 12, "center")] if status else cols

    def measure_cols(self, measure_ids: Sequence[str], *, banded: bool = False, width: float = 11) -> list[Col]:
        cols = []
        for mid in measure_ids:
            m = self.s.measures[mid]
            cols.append(Col(self.measure_header(m), width + (9 if m.fmt == "choice" else 0), self.measure_kind(m),
                            self.section_label(m.section) if banded else ""))
        return cols

    def measure_values(self, m: C.Measure, column: pd.Series) -> list[Any]:
        """A measure's per-agency column as cell values: choice labels, "Có"/"Không", floats (NaN blank)."""
        if m.fmt == "choice":
            labels = {c.code: c.vi if self.lang == "vi" else c.en for c in self.spec.choices.get(m.choices or "", ())}
            return [labels.get(v, v) if isinstance(v, str) else None for v in column.tolist()]
        if m.fmt == "bool":
            yes, no = self.w("yes"), self.w("no")
            return [None if v != v else yes if v else no for v in column.astype(float).tolist()]
        return column.astype(float).tolist()

    def agency_rows(self, measure_ids: Sequence[str], *, status: bool = False) -> Iterator[Row]:
        """Agencies by group (band row, agencies, subtotal, coverage), then the province and its coverage.
        Lead columns: STT, agency name (and the return status). Made as they are written."""
        measures = [self.s.measures[m] for m in measure_ids]
        columns = [self.measure_values(m, self.s.table[m.id]) for m in measures]
        position = {code: i for i, code in enumerate(self.s.table.index)}
        pad = [None] if status else []
        for g_index, group in enumerate(self.s.groups.index):
            label = self.group_label(group)
            yield "group", [_roman(g_index), label, *pad, *[None] * len(measures)]
            for i, code in enumerate(self.members.get(group, []), start=1):
                state = self.agency[code]["status"]
                lead = [i, self.agency_name(code), *([self.status_label(state)] if status else [])]
                at = position[code]
                yield ({"missing": "missing", "rejected": "rejected"}.get(state, "body"),
                       [*lead, *(column[at] for column in columns)])
            yield from self.total_rows(group, [None, self.w("row.subtotal", label=label), *pad], measures, "subtotal")
        yield from self.total_rows(C.PROVINCE, [None, self.w("row.province"), *pad], measures, "total")

    def total_rows(self, level: str, lead: list[Any], measures: Sequence[C.Measure], style: str) -> list[Row]:
        """A total row and its coverage row ("n/m" under every figure)."""
        cover = [None, self.w("row.coverage"), *[None] * (len(lead) - 2)]
        return [(style, [*lead, *(self.total_value(level, m) for m in measures)]),
                ("coverage", [*cover, *(self.coverage(level, m.id) for m in measures)])]

    # --- sheets ---------------------------------------------------------------------------------------------
    def write(self) -> None:
        self.book.set_properties({
            "title": self.w("title.overview", title=self.s.title_vi), "subject": f"{self.s.form_id} {self.s.round}",
            "author": self.s.issuer_vi, "company": self.s.issuer_vi, "created": self.s.generated_at,
            "comments": f"ictplan · {self.s.form_id} v{self.s.form_version}",
        })
        # The print set first (what leaders receive on paper), then every other sheet, left out of printing.
        order = ["overview", "key", "detail", "targets", "projects", "duplicates", "funding", "funding_agency",
                 "narratives", "status", "issues", "lineage", "history", "chartdata"]
        if C.reports_on_plan(self.spec):  # a report on a plan: no plan of its own to print or fund
            order = [k for k in order if k not in ("targets", "funding", "funding_agency", "duplicates")]
            if self.s.comparison is not None:  # its plan against its result, right after the overview
                order[1:1] = list(P.SHEETS)
        else:
            write_print_set(self.book, all_bieu(self.s, self.spec), frame_for(self.spec), plan_year(self.s))
        for key in order:  # tab order fixed up front; the chart data are written first, the charts need them
            self.sheet(key, fit_width=key != "detail")
        self.write_chartdata(self.sheets["chartdata"])
        self.sheets["overview"].has_drawings = True
        for key in order[:-1]:
            getattr(self, f"write_{key}")(self.sheets[key])
        for ws in self.sheets.values():
            exclude_from_printing(ws)

    def write_overview(self, ws: Worksheet) -> None:
        s = self.s
        levels = [C.PROVINCE, *s.groups.index]
        width = 3 + 2 * len(levels)
        row = self.heading(ws, self.title(ws, "overview", width), self.w("ov.returns"))
        counts = s.status_counts()
        lines = [("expected", "body"), ("received", "body"), ("accepted", "body"),
                 ("accepted_with_warnings", "warning"), ("rejected", "rejected"), ("missing", "missing")]
        status_rows: list[Row] = [
            (style if counts[key] and key != "expected" else "body",
             [i, self.w(f"ov.{key}") if key in ("expected", "received") else self.status_label(key), counts[key],
              None if key == "expected" else 100.0 * counts[key] / max(counts["expected"], 1)])
            for i, (key, style) in enumerate(lines, start=1)]
        if s.unattributed:
            status_rows.append(("rejected", [len(lines) + 1, self.w("ov.unattributed"), s.unattributed, None]))
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.what"), 44, "wrap"),
                Col(self.w("h.count"), 12, "count"), Col(self.w("h.share"), 13, "pct")]
        row = self.table(ws, row, cols, status_rows, autofilter=False, freeze=False, repeat=False) + 1
        row = self.heading(ws, row, self.w("ov.indicators"))
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.item"), 44, "wrap"), Col(self.w("h.unit"), 13, "center")]
        for level in levels:
            label = self.w("h.province") if level == C.PROVINCE else self.group_label(level)
            cols += [Col(self.w("h.value"), 13, "count", label), Col(self.w("h.coverage"), 17, "center", label)]
        key_rows: list[Row] = []
        for i, mid in enumerate(s.overview_measures, start=1):
            m = s.measures[mid]
            values: list[Any] = [i, m.label(self.lang), m.unit or (self.w("h.count").lower() if m.fmt == "bool" else "")]
            kind = "count" if m.fmt == "bool" else self.measure_kind(m)  # a yes/no total is a number of agencies
            for level in levels:
                values += [Cell(s.totals.at[level, mid], kind),
                           self.w("ov.coverage", n=int(s.coverage.at[level, mid]), m=s.members(level))]
            key_rows.append(("body", values))
        row = self.table(ws, row, cols, key_rows, autofilter=False, freeze=False, repeat=False) + 1
        ws.set_h_pagebreaks([row])  # the charts start on a page of their own, never cut by a page break
        self.overview_charts(ws, self.heading(ws, row, self.w("ov.charts")))

    def overview_charts(self, ws: Worksheet, row: int) -> None:
        refs, data, font = self.chart_refs, self.w("sheet.chartdata"), {"name": FONT}
        ratio = self.s.totals.at[C.PROVINCE, "tl_may_tren_cbcc"]
        first, last = refs["pcs"]
        bar = self.book.add_chart({"type": "bar"})
        bar.add_series({"name": self.w("h.pcs_per_staff"), "categories": [data, first, 0, last, 0],
                        "values": [data, first, 1, last, 1], "fill": {"color": "#4472C4"}, "gap": 40,
                        "data_labels": {"value": True, "num_format": "0.00", "font": {**font, "size": 7}}})
        title = self.w("chart.pcs", value=_number_text(ratio, self.lang, 2) if pd.notna(ratio) else "–")
        bar.set_title({"name": title if refs["pcs_by_agency"] else self.w("chart.pcs_groups"),
                       "name_font": {**font, "size": 11}})
        bar.set_legend({"none": True})
        # xlsxwriter's y axis of a bar chart is the vertical category axis: reversed, the first agency is on top
        bar.set_y_axis({"reverse": True, "num_font": {**font, "size": 7}})
        bar.set_x_axis({"num_format": "0.0", "num_font": {**font, "size": 8}, "min": 0})
        height = max(320, 14 * (last - first + 1) + 90)
        bar.set_size({"width": 1000, "height": height})
        ws.insert_chart(row, 1, bar)
        row += math.ceil(height / 20) + 2
        ws.set_h_pagebreaks([ws.hbreaks[0], row])
        row += 1  # a spare row: an object touching the break would be drawn on both pages
        first, last, n_series = refs["funding"]
        stacked = self.book.add_chart({"type": "column", "subtype": "stacked"})
        for j, color in zip(range(n_series), _PALETTE * 2, strict=False):
            stacked.add_series({"name": [data, first - 1, 1 + j], "categories": [data, first, 0, last, 0],
                                "values": [data, first, 1 + j, last, 1 + j], "fill": {"color": color}, "gap": 80})
        title = self.w("chart.funding_report" if C.reports_on_plan(self.spec) else "chart.funding")
        stacked.set_title({"name": title, "name_font": {**font, "size": 11}})
        stacked.set_legend({"position": "bottom", "font": {**font, "size": 9}})
        stacked.set_y_axis({"num_format": "#,##0", "num_font": {**font, "size": 8}})
        stacked.set_x_axis({"num_font": {**font, "size": 9}})
        stacked.set_size({"width": 620, "height": 380})
        ws.insert_chart(row, 1, stacked)
        first, last = refs["services"]
        column = self.book.add_chart({"type": "column"})
        column.add_series({"name": self.w("h.services"), "categories": [data, first, 0, last, 0],
                           "values": [data, first, 1, last, 1], "fill": {"color": "#70AD47"},
                           "data_labels": {"value": True, "num_format": "#,##0", "font": {**font, "size": 9}}})
        column.set_title({"name": self.w("chart.services"), "name_font": {**font, "size": 11}})
        column.set_legend({"none": True})
        column.set_y_axis({"num_format": "#,##0", "num_font": {**font, "size": 8}, "min": 0})
        column.set_x_axis({"num_font": {**font, "size": 9}})
        column.set_size({"width": 370, "height": 380})
        ws.insert_chart(row, 1, column, {"x_offset": 630})

    # --- a report round: its result against its plan round's (report.plan_vs_result) ---------------------
    def pvr_title(self, ws: Worksheet, key: str, width: int) -> int:
        c = self.s.comparison
        text = self.w(f"title.{key}", year=self.s.round, plan=c.plan_round)
        subtitle = self.w("subtitle", round=self.s.round, form=self.s.form_id, version=self.s.form_version,
                          time=date_vi(as_of(self.s)), unprinted=self.w("unprinted"))
        ws.write_string(0, 0, text, self.st.get("title", "plain"))
        ws.write_string(1, 0, subtitle, self.st.get("subtitle", "plain"))
        row = 2
        targets = c.targets[c.targets["level"] == P.PROVINCE_LEVEL]
        n = int(targets["n"].max()) if len(targets) else 0
        row = self.paragraph(ws, row, self.w("pvr.note.pvr", n=n, m=len(self.s.agencies), plan=c.plan_round), width)
        for line in P.note_lines(c, self.lang):
            row = self.paragraph(ws, row, line, width)
        return row + 1

    def level_label(self, level: str, code: str) -> str:
        if level == P.PROVINCE_LEVEL:
            return self.w("row.province")
        if level == P.GROUP:
            return self.w("row.subtotal", label=self.group_label(code))
        return self.agency_name(code)

    def write_pvr_targets(self, ws: Worksheet) -> None:
        c, fields = self.s.comparison, {f.id: f for f in P.results_of(self.spec)}
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.agency"), 28, "wrap"),
                Col(self.w("pvr.h.item"), 36, "wrap"), Col(self.w("h.unit"), 10, "center"),
                Col(self.w("pvr.h.target"), 12, "count"), Col(self.w("pvr.h.result"), 12, "count"),
                Col(self.w("pvr.h.gap"), 12, "count"), Col(self.w("pvr.h.pct"), 11, "pct"),
                Col(self.w("pvr.h.reached"), 11, "center"), Col(self.w("pvr.h.compared"), 11, "center")]
        row = self.pvr_title(ws, "pvr_targets", len(cols))
        rows: list[Row] = []
        frame = c.targets
        for number, (level, code) in enumerate(P.levels_in_order(frame, list(self.s.agencies.index)), start=1):
            part = frame[(frame["level"] == level) & (frame["code"] == code)]
            for first, r in enumerate(part.itertuples()):
                f = fields[r.field]
                kind = P.kind_of(f)
                verdict = "" if r.reached is None or pd.isna(r.reached) else self.w(
                    "pvr.reached" if r.reached else "pvr.not_reached")
                style = P.row_style(level) if r.reached or r.reached is None else "warning"
                rows.append((style, [number if first == 0 else None, self.level_label(level, code) if first == 0
                                     else None, f.label(self.lang), f.unit_in(self.lang),
                                     Cell(r.target, kind), Cell(r.result, kind), Cell(r.gap, kind), r.pct, verdict,
                                     C.coverage_text(int(r.n), int(r.m))]))
        self.table(ws, row, cols, rows, freeze_cols=2)

    def write_pvr_projects(self, ws: Worksheet) -> None:
        c = self.s.comparison
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.agency"), 28, "wrap"),
                Col(self.w("pvr.h.count"), 9, "count"), Col(self.w("pvr.h.planned"), 13, "money"),
                Col(self.w("pvr.h.allocated"), 13, "money"), Col(self.w("pvr.h.allocated_pct"), 11, "pct"),
                Col(self.w("pvr.h.disbursed"), 13, "money"), Col(self.w("pvr.h.disbursed_pct"), 11, "pct")]
        row = self.pvr_title(ws, "pvr_projects", len(cols) + 2)
        totals = c.project_totals
        rows: list[Row] = [
            (P.row_style(level), [i, self.level_label(level, code), *(
                totals[(totals["level"] == level) & (totals["code"] == code)].iloc[0][
                    ["projects", "planned", "allocated", "allocated_pct", "disbursed", "disbursed_pct"]].tolist())])
            for i, (level, code) in enumerate(P.levels_in_order(totals, list(self.s.agencies.index)), start=1)]
        row = self.table(ws, row, cols, rows, autofilter=False, freeze=False, repeat=False) + 1
        self.pvr_rows(ws, row, c.projects, P.PROGRESS, "tien_do")

    def pvr_rows(self, ws: Worksheet, row: int, frame: pd.DataFrame, state: str, choices: str) -> int:
        """One row per project or task: planned, allocated, disbursed, its progress, whether it was planned."""
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.agency"), 22, "wrap"),
                Col(self.w("pvr.h.name"), 36, "wrap"), Col(self.w("pvr.h.area"), 16, "wrap"),
                Col(self.w("pvr.h.planned"), 12, "money"), Col(self.w("pvr.h.allocated"), 12, "money"),
                Col(self.w("pvr.h.disbursed"), 12, "money"), Col(self.w("pvr.h.state"), 16, "wrap"),
                Col(self.w("pvr.h.note"), 16, "wrap")]
        lists = {"tien_do": "tien_do", "ket_qua": "ket_qua_th"}
        rows: list[Row] = []
        for i, r in enumerate(frame.to_dict("records"), start=1):
            note = "" if r["in_plan"] and r["in_report"] else self.w(
                "pvr.not_in_plan" if not r["in_plan"] else "pvr.not_reported")
            area = self.spec.choice_label("nhom_noi_dung", r["area"], self.lang) if isinstance(r["area"], str) else ""
            shown = self.spec.choice_label(lists[choices], r[state], self.lang) if isinstance(r[state], str) else ""
            rows.append(("warning" if note else "body", [i, self.agency_name(r["agency"]), r["name"], area,
                                                           r["planned"], r["allocated"], r["disbursed"], shown, note]))
        return self.table(ws, row, cols, rows, freeze_cols=2)

    def write_pvr_tasks(self, ws: Worksheet) -> None:
        row = self.pvr_title(ws, "pvr_tasks", 9)
        self.pvr_rows(ws, row, self.s.comparison.tasks, P.OUTCOME, "ket_qua")

    def write_pvr_services(self, ws: Worksheet) -> None:
        services = self.s.comparison.services
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.agency"), 26, "wrap"),
                Col(self.w("pvr.h.procedure"), 44, "wrap"), Col(self.w("pvr.h.level_planned"), 11, "count"),
                Col(self.w("pvr.h.level_reached"), 11, "count"), Col(self.w("pvr.h.reached"), 11, "center")]
        row = self.pvr_title(ws, "pvr_services", len(cols))
        rows: list[Row] = [
            ("body" if r["reached"] is not False else "warning",
             [i, self.agency_name(r["agency"]), r["name"], r["planned"], r["reached_level"],
              "" if r["reached"] is None else self.w("pvr.reached" if r["reached"] else "pvr.not_reached")])
            for i, r in enumerate(services.to_dict("records"), start=1)]
        self.table(ws, row, cols, rows, freeze_cols=2)

    def write_pvr_changes(self, ws: Worksheet) -> None:
        c = self.s.comparison
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.agency"), 24, "wrap"),
                Col(self.w("pvr.h.item"), 40, "wrap"), Col(self.w("h.unit"), 10, "center"),
                Col(self.w("pvr.h.before", plan=c.plan_round), 12, "count"),
                Col(self.w("pvr.h.after", year=self.s.round), 12, "count"),
                Col(self.w("pvr.h.change"), 12, "count"), Col(self.w("pvr.h.change_pct"), 11, "pct"),
                Col(self.w("pvr.h.compared"), 11, "center")]
        row = self.pvr_title(ws, "pvr_changes", len(cols))
        rows: list[Row] = []
        frame = c.changes
        for number, (level, code) in enumerate(P.levels_in_order(frame, []), start=1):
            part = frame[(frame["level"] == level) & (frame["code"] == code)]
            for first, r in enumerate(part.itertuples()):
                m = self.s.measures[r.measure]
                kind = "count" if m.fmt == "bool" else self.measure_kind(m)
                rows.append((P.row_style(level), [number if first == 0 else None,
                                                  self.level_label(level, code) if first == 0 else None,
                                                  m.label(self.lang), m.unit, Cell(r.before, kind), Cell(r.after, kind),
                                                  Cell(r.change, kind), r.pct,
                                                  C.coverage_text(int(r.n), self.s.members(code))]))
        self.table(ws, row, cols, rows, freeze_cols=2)

    def write_chartdata(self, ws: Worksheet) -> None:
        """The overview charts' numbers, visible on their own sheet (charts must point at cells)."""
        s = self.s
        plain = {"autofilter": False, "freeze": False, "repeat": False}
        row = self.title(ws, "chartdata", 6)
        ratio = s.table["tl_may_tren_cbcc"].dropna()
        by_agency = len(ratio) <= MAX_BAR_AGENCIES
        pcs_rows: list[Row] = ([("body", [self.agency_name(code), value]) for code, value in ratio.items()]
                               if by_agency else
                               [("body", [self.group_label(g), s.totals.at[g, "tl_may_tren_cbcc"]]) for g in s.groups.index])
        end = self.table(ws, row, [Col(self.w("h.agency"), 40, "wrap"), Col(self.w("h.pcs_per_staff"), 16, "ratio")],
                         pcs_rows, **plain)
        self.chart_refs.update(pcs=(row + 1, max(end - 1, row + 1)), pcs_by_agency=by_agency)
        funding = s.funding_by_area.drop(index=C.TOTAL)
        cols = [Col(self.w("h.area"), 40, "text"), *(Col(self.area_label(a), 16, "money") for a in funding.index)]
        # a plan's allocations per year; a report's planned, allocated and disbursed money
        series = [(str(y), c) for y, c in C.PROJECT_YEARS.items() if c in funding] or [
            (self.columns[c].label(self.lang), c) for c in funding.columns
            if c in self.columns and self.columns[c].type == "money"]
        year_rows: list[Row] = [("body", [label, *funding[c].tolist()]) for label, c in series]
        row = end + 1
        end = self.table(ws, row, cols, year_rows, widths=False, **plain)
        self.chart_refs["funding"] = (row + 1, end - 1, len(funding.index))
        services: list[Row] = [("body", [self.w("chart.level", n=i), s.totals.at[C.PROVINCE, mid]])
                               for i, mid in enumerate(C.SERVICE_LEVELS, start=1)]
        row = end + 1
        end = self.table(ws, row, [Col(self.w("h.level"), 40, "text"), Col(self.w("h.services"), 16, "count")],
                         services, widths=False, **plain)
        self.chart_refs["services"] = (row + 1, end - 1)

    def write_key(self, ws: Worksheet) -> None:
        ids = self.s.key_measures
        cols = [*self.lead_cols(status=True), *self.measure_cols(ids, width=10)]
        row = self.paragraph(ws, self.title(ws, "key", len(cols)), self.w("note.key"), len(cols))
        self.table(ws, row, cols, self.agency_rows(ids, status=True), freeze_cols=2)

    def write_detail(self, ws: Worksheet) -> None:
        ids = self.s.detail_measures
        cols = [*self.lead_cols(), *self.measure_cols(ids, banded=True)]
        row = self.paragraph(ws, self.title(ws, "detail", 14), self.w("note.key"), 14)
        self.table(ws, row, cols, self.agency_rows(ids), freeze_cols=2)
        ws.repeat_columns(0, 1)  # too wide for one page: printed across pages, the agency column repeated
        ws.set_print_scale(60)

    def write_targets(self, ws: Worksheet) -> None:
        cols = self.lead_cols()
        ids: list[str] = []
        for block in self.s.targets:
            label = block.vi if self.lang == "vi" else block.en
            label = f"{label} ({block.unit})" if block.unit else label
            for header, mid in block.columns:
                cols.append(Col(header, 9, self.measure_kind(self.s.measures[mid]), label))
                ids.append(mid)
        row = self.paragraph(ws, self.title(ws, "targets", len(cols)), self.w("note.targets"), len(cols))
        self.table(ws, row, cols, self.agency_rows(ids), freeze_cols=2)

    def project_columns(self) -> tuple[list[tuple[str, Col]], list[tuple[str, Col]]]:
        """(printed columns, columns on the right outside the print area) as (column id, Col)."""
        kinds = {"money": "money", "year": "year", "int": "count", "dec": "ratio", "pct": "pct"}
        printed = [("project_id", Col(self.w("h.project_id"), 19, "text")), ("agency", Col(self.w("h.agency"), 22, "wrap"))]
        right = []
        for column in self.columns.values():
            if column.id == "stt":
                continue
            label = column.label(self.lang)
            header = f"{label} ({column.unit})" if column.unit and "(" not in label else label
            col = Col(header, min(column.width or 12, 30), kinds.get(column.type, "wrap"))
            if column.type == "text" or column.id in ("don_vi_chu_tri", "don_vi_phoi_hop"):
                # not printed: one line each, so they do not make the printed rows tall
                right.append((column.id, Col(col.header, col.width, "text")))
            else:
                printed.append((column.id, col))
        return [*printed, ("duplicate_of", Col(self.w("h.duplicate_of"), 18, "wrap"))], right

    def project_column(self, column_id: str, values: pd.Series) -> list[Any]:
        """A project column as cell values: choice labels, agency names, long duplicate lists shortened."""
        column = self.columns.get(column_id)
        if column is not None and column.type == "choice":
            labels = {c.code: c.vi if self.lang == "vi" else c.en for c in self.spec.choices.get(column.choices or "", ())}
            return [labels.get(v, v) if isinstance(v, str) else None for v in values.tolist()]
        if column_id == "agency":
            return [self.agency_name(v) for v in values.tolist()]
        if column_id == "duplicate_of":  # one id and a count: the full list is on the duplicates sheet
            counts = self.s.projects.loc[values.index, "duplicate_count"].tolist()
            return [None if not n else v.split("; ")[0] + (f" (+{n - 1})" if n > 1 else "")
                    for v, n in zip(values.tolist(), counts, strict=True)]
        if values.dtype.kind == "f":
            return values.tolist()
        return [None if v is None or (isinstance(v, float) and v != v) else v for v in values.tolist()]

    def write_projects(self, ws: Worksheet) -> None:
        printed, right = self.project_columns()
        columns = printed + right
        row = self.paragraph(ws, self.title(ws, "projects", len(printed)), self.w("note.projects"), len(printed))
        rows: list[Row] = []
        for area, part in self.s.projects.groupby("area", sort=False):
            label = self.area_label(str(area))
            rows.append(("group", [None, label, *[None] * (len(columns) - 2)]))
            cells = [self.project_column(cid, part[cid]) for cid, _ in columns]
            rows += [("body", list(values)) for values in zip(*cells, strict=True)]
            rows.append(("subtotal", self.area_total(str(area), label, columns)))
        rows.append(("total", self.area_total(C.TOTAL, self.w("row.total"), columns)))
        end = self.table(ws, row, [c for _, c in columns], rows, freeze_cols=3)
        ws.print_area(0, 0, end - 1, len(printed) - 1)

    def area_total(self, area: str, label: str, columns: Sequence[tuple[str, Col]]) -> list[Any]:
        fund = self.s.funding_by_area.loc[area]
        return [self.w("n_projects", label=label, n=int(fund["projects"])) if cid == "agency"
                else fund[cid] if col.kind == "money" and cid in fund.index else None
                for cid, col in columns]

    def write_duplicates(self, ws: Worksheet) -> None:
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.name"), 40, "wrap"), Col(self.w("h.agencies"), 30, "wrap"),
                Col(self.w("h.project_ids"), 44, "wrap"), Col(self.w("h.projects"), 9, "count"),
                Col(self.w("h.cost"), 16, "money")]
        row = self.title(ws, "duplicates", len(cols))
        rows: list[Row] = [("body", [i, r.name, ", ".join(self.agency_name(c) for c in r.agencies.split(", ")),
                                     r.project_ids, r.count, r.cost])
                           for i, r in enumerate(self.s.duplicates.itertuples(index=False), start=1)]
        self.table(ws, row, cols, rows, freeze_cols=2)

    def write_funding(self, ws: Worksheet) -> None:
        s = self.s
        years = list(C.PROJECT_YEARS.items())
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.area"), 36, "wrap"),
                *(Col(self.w("h.year", year=y), 13, "money") for y, _ in years),
                Col(self.w("h.plan_total"), 14, "money"), Col(self.w("h.cost"), 16, "money"),
                Col(self.w("h.projects"), 9, "count"), Col(self.w("h.agencies"), 11, "count")]
        row = self.heading(ws, self.title(ws, "funding", len(cols)), self.w("fund.by_area"))
        rows: list[Row] = []
        for i, (area, r) in enumerate(s.funding_by_area.iterrows(), start=1):
            total = area == C.TOTAL
            rows.append(("total" if total else "body",
                         [None if total else i, self.area_label(str(area)), *(r[c] for _, c in years),
                          r["plan_total"], r[C.PROJECT_COST], r["projects"], r["agencies"]]))
        row = self.table(ws, row, cols, rows, autofilter=False, freeze=False, repeat=False) + 1
        row = self.heading(ws, row, self.w("fund.by_source"))
        measures = [s.measures[m] for m in s.plan_measures]
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.group"), 36, "wrap"),
                *self.measure_cols(s.plan_measures, width=13)]
        rows = []
        for i, group in enumerate(s.groups.index):
            rows += self.total_rows(group, [_roman(i), self.group_label(group)], measures, "body")
        rows += self.total_rows(C.PROVINCE, [None, self.w("row.province")], measures, "total")
        self.table(ws, row, cols, rows, autofilter=False, freeze=False, repeat=False, widths=False)

    def write_funding_agency(self, ws: Worksheet) -> None:
        ids = self.s.agency_funding_measures
        cols = [*self.lead_cols(), *self.measure_cols(ids, width=11)]
        self.table(ws, self.title(ws, "funding_agency", len(cols)), cols, self.agency_rows(ids), freeze_cols=2)

    def write_narratives(self, ws: Worksheet) -> None:
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.agency"), 24, "wrap"),
                Col(self.w("h.question"), 30, "wrap"), Col(self.w("h.text"), 100, "wrap")]
        n = self.s.narratives
        names = {code: self.agency_name(code) for code in dict.fromkeys(n["code"].tolist())}
        items = {f: self.question_label(f) for f in dict.fromkeys(n["field"].tolist())}
        rows = (("body", [i, names[code], items[field], text]) for i, (code, field, text) in
                enumerate(zip(n["code"].tolist(), n["field"].tolist(), n["text"].tolist(), strict=True), start=1))
        self.table(ws, self.title(ws, "narratives", len(cols)), cols, rows, freeze_cols=2)

    def write_status(self, ws: Worksheet) -> None:
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.code"), 12, "text"), Col(self.w("h.agency"), 28, "wrap"),
                Col(self.w("h.status"), 13, "center"), Col(self.w("h.file"), 30, "wrap"),
                Col(self.w("h.received"), 15, "datetime"), Col(self.w("h.errors"), 6, "count"),
                Col(self.w("h.warnings"), 8, "count"), Col(self.w("h.returns"), 8, "count"),
                Col(self.w("h.unsuccessful"), 8, "count"), Col(self.w("h.changes"), 12, "count"),
                Col(self.w("h.changed"), 40, "wrap"), Col(self.w("h.note"), 24, "wrap")]
        changes = dict(tuple(self.s.changes.groupby("code", sort=False)))
        rows: list[Row] = []
        for g_index, group in enumerate(self.s.groups.index):
            rows.append(("group", [_roman(g_index), None, self.group_label(group), *[None] * (len(cols) - 3)]))
            for i, code in enumerate(self.members.get(group, []), start=1):
                a = self.agency[code]
                style = {"missing": "missing", "rejected": "rejected", "accepted_with_warnings": "warning"}
                resent = pd.notna(a["supersedes"])
                rows.append((style.get(a["status"], "body"), [
                    i, code, self.agency_name(code), self.status_label(a["status"]), a["file"], a["received_at"],
                    a["errors"], a["warnings"], a["returns"], a["unsuccessful"], a["changes"] if resent else None,
                    self.changes_text(changes.get(code)), self.status_note(a)]))
        self.table(ws, self.title(ws, "status", len(cols)), cols, rows, freeze_cols=3)

    def changes_text(self, changed: pd.DataFrame | None, limit: int = 5) -> str | None:
        if changed is None or changed.empty:
            return None
        parts = [f"{self.field_label(r.field)}: {self.display(r.field, r.old)} → {self.display(r.field, r.new)}"
                 for r in changed.head(limit).itertuples(index=False)]
        more = len(changed) - limit
        return "; ".join(parts) + (f"; … (+{more})" if more > 0 else "")

    def status_note(self, a: dict[str, Any]) -> str | None:
        if a["status"] == C.MISSING:
            return self.w("status.note_missing")
        if a["status"] == C.REJECTED:
            return self.w("status.note_rejected", status=self.status_label(a["last_status"]))
        if a["later_unsuccessful"]:
            return self.w("status.note_later", n=int(a["later_unsuccessful"]))
        return None

    def write_issues(self, ws: Worksheet) -> None:
        """Every issue of each agency's current returns (Summary.issues): the department's to-do list."""
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.agency"), 22, "wrap"), Col(self.w("h.file"), 20, "wrap"),
                Col(self.w("h.result"), 13, "center"), Col(self.w("h.counted"), 9, "center"),
                Col(self.w("h.severity"), 10, "center"), Col(self.w("h.sheet"), 12, "wrap"), Col(self.w("h.cell"), 7, "center"),
                Col(self.w("h.item"), 22, "wrap"), Col(self.w("h.value"), 14, "wrap"), Col(self.w("h.message"), 60, "wrap")]
        message, value = ("message_vi", "value_vi") if self.lang == "vi" else ("message_en", "value_en")
        severity = {s: self.w(f"severity.{s}") for s in ("error", "warning", "info")}
        style = {"error": "rejected", "warning": "warning"}
        rows: list[Row] = [
            (style.get(r.severity, "body"),
             [i, self.agency_name(r.agency) if r.agency else self.w("unknown_agency"), r.file,
              self.status_label(r.status), bool(r.counted), severity.get(r.severity, r.severity), r.sheet, r.cell,
              self.field_label(r.field), getattr(r, value), getattr(r, message)])
            for i, r in enumerate(self.s.issues.itertuples(index=False), start=1)]
        self.table(ws, self.title(ws, "issues", len(cols)), cols, rows, freeze_cols=2)

    def write_lineage(self, ws: Worksheet) -> None:
        """How the figures were made (notes first: leaders read them), then the file behind each agency."""
        s = self.s
        cols = [Col(self.w("h.stt"), 5, "center"), Col(self.w("h.code"), 12, "text"), Col(self.w("h.agency"), 26, "wrap"),
                Col(self.w("h.status"), 13, "center"), Col(self.w("h.file"), 24, "wrap"),
                Col(self.w("h.sha"), 34, "wrap"), Col(self.w("h.received"), 15, "datetime"),
                Col(self.w("h.recorded"), 15, "datetime"), Col(self.w("h.version"), 8, "center"),
                Col(self.w("h.submission"), 8, "count"), Col(self.w("h.supersedes"), 9, "count")]
        form = f"{s.form_id}, {'phiên bản' if self.lang == 'vi' else 'version'} {s.form_version}"
        info = [("lin.form", form), ("lin.round", s.round), ("lin.spec", s.spec_sha256 or "–"),
                ("lin.generated", self.time_text(s.generated_at)), ("lin.files", str(len(s.submissions))),
                ("ov.unattributed", str(s.unattributed))]
        row = self.heading(ws, self.title(ws, "lineage", len(cols)), self.w("lin.info"))
        for key, value in info:
            row = self.paragraph(ws, row, f"{self.w(key)}: {value}", len(cols), kind="para", chars=170)
        row = self.heading(ws, row + 1, self.w("lin.method"))
        for i, text in enumerate(METHOD_NOTES[self.lang], start=1):
            row = self.paragraph(ws, row, f"{i}. {text}", len(cols), kind="para", chars=170)
        rows: list[Row] = [
            ({"missing": "missing", "rejected": "rejected"}.get(a["status"], "body"),
             [i, code, self.agency_name(code), self.status_label(a["status"]), a["file"], a["sha256"], a["received_at"],
              a["recorded_at"], a["form_version"], a["submission_id"], a["supersedes"]])
            for i, (code, a) in enumerate(self.agency.items(), start=1)]
        row = self.table(ws, row + 1, cols, rows, freeze=False) + 1
        if len(s.moved_cells):
            # the columns above set the widths: same widths here, other headers
            headers = [("h.stt", "center"), ("h.code", "text"), ("h.agency", "wrap"), ("h.item", "wrap"),
                       ("h.read_cell", "wrap"), ("h.template_cell", "wrap")]
            moved_cols = [Col(self.w(key), col.width, kind) for (key, kind), col in zip(headers, cols, strict=False)]
            moved: list[Row] = [("body", [i, r.code, self.agency_name(r.code), self.field_label(r.field),
                                          f"{r.sheet}!{r.cell}", r.template_cell])
                                for i, r in enumerate(s.moved_cells.itertuples(index=False), start=1)]
            row = self.heading(ws, row, self.w("lin.moved"))
            self.table(ws, row, moved_cols, moved, autofilter=False, freeze=False, repeat=False, widths=False)

    def write_history(self, ws: Worksheet) -> None:
        cols = [Col(self.w("h.submission"), 8, "count"), Col(self.w("h.file"), 30, "wrap"), Col(self.w("h.code"), 12, "text"),
                Col(self.w("h.received"), 15, "datetime"), Col(self.w("h.recorded"), 15, "datetime"),
                Col(self.w("h.result"), 14, "center"), Col(self.w("h.counted"), 9, "center"),
                Col(self.w("h.supersedes"), 9, "count"), Col(self.w("h.superseded_by"), 9, "count"),
                Col(self.w("h.errors"), 6, "count"), Col(self.w("h.warnings"), 8, "count"),
                Col(self.w("h.version"), 8, "center"), Col(self.w("h.sha"), 34, "wrap")]
        rows: list[Row] = [
            ({"rejected": "rejected", "quarantined": "rejected"}.get(r.status, "body"),
             [r.id, r.file, r.agency or None, r.received_at, r.recorded_at, self.status_label(r.status), bool(r.counted),
              r.supersedes, r.superseded_by, r.errors, r.warnings, r.form_version, r.sha256])
            for r in self.s.submissions.itertuples(index=False)]
        self.table(ws, self.title(ws, "history", len(cols)), cols, rows, freeze_cols=2)


_PALETTE = ("#4472C4", "#ED7D31", "#A5A5A5", "#FFC000", "#70AD47", "#5B9BD5")


def _roman(i: int) -> str:
    numerals = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
    return numerals[i] if i < len(numerals) else str(i + 1)


def _number_text(value: float, lang: str, decimals: int | None = None) -> str:
    """1500 → "1.500" and 12.5 → "12,5" in Vietnamese; "1,500" and "12.5" in English. Without `decimals`,
    at most two, trailing zeros dropped."""
    text = f"{value:,.{2 if decimals is None else decimals}f}"
    if decimals is None and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.translate(str.maketrans(",.", ".,")) if lang == "vi" else text
