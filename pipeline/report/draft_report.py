"""The draft of the provincial consolidated report, as a Word document the Department edits and signs:
"Báo cáo tổng hợp thực trạng và kế hoạch ứng dụng CNTT trong các cơ quan nhà nước tỉnh … giai đoạn 2007–2010
và năm 2008".

Written with python-docx (pinned in pyproject.toml): .docx is what the Department's office edits in Word
(or LibreOffice Writer), and python-docx writes plain paragraphs, runs and tables — agency text goes in as
the text of a run, so it can never become a field, a link or a formula.

The document follows the article's framework: the official header and motto; I. the current state (results,
shortcomings, difficulties, causes, proposed solutions); II. viewpoints and objectives; III. the plan
(infrastructure; IT for direction and administration; for citizens and businesses; human resources;
implementation solutions; projects 2008–2010); IV. funding; V. recommendations; the recipients and the
signature; the reporting status as an appendix. Each section gives the province's figures with their
coverage ("37/41 đơn vị báo cáo") and the tables of the print set (pipeline.report.bieu), then the agencies'
own words on the theme: a sentence several agencies wrote once, with who wrote it, then each agency's own
sentences under its name — so the writer edits rather than compiles. Numbers are written 1.234,5.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.atomic import write_atomic
from pipeline.form.spec import FormSpec
from pipeline.report import consolidate as C
from pipeline.report.bieu import (
    Bieu,
    Part,
    all_bieu,
    annual_plan_part,
    as_of,
    label_span,
    plan_year,
    services_part,
    text_of,
)
from pipeline.report.frame import MOTTO, NATION, Frame, date_vi, frame_for, long_date_vi, number_vi
from pipeline.report.xlsx import safe_text

FONT = "Times New Roman"
BODY_PT, TABLE_PT = 13, 10
TEXT_WIDTH = 210 - 30 - 15  # millimetres between the margins of a portrait A4 page

# The report's structure: (heading, the narrative fields whose words it gathers, the project content group
# whose projects it counts). Field ids are the spec's (checked by `missing_fields`).
CURRENT_STATE_PARTS = (
    ("1. Kết quả đạt được", ("dg_ket_qua",)),
    ("2. Tồn tại, hạn chế", ("dg_ton_tai",)),
    ("3. Khó khăn, vướng mắc", ("dg_kho_khan",)),
    ("4. Nguyên nhân", ("dg_nguyen_nhan",)),
    ("5. Giải pháp đề xuất", ("dg_de_xuat",)),
)
VIEWPOINT_FIELDS = ("kh_quan_diem", "kh_muc_tieu_tong_quat")
# Gathered where the form asks them (one version or the other), not required of every spec by missing_fields.
DECREE_64_ITEMS = ("kh_lo_trinh", "kh_dieu_kien", "kh_to_chuc_thuc_hien")  # form 1.1: roadmap, conditions, organisation
PLAN_PARTS = (
    ("1. Xây dựng hạ tầng kỹ thuật phục vụ ứng dụng CNTT", ("kh_nd_ha_tang",), "HA_TANG"),
    ("2. Ứng dụng CNTT phục vụ chỉ đạo, điều hành", ("kh_nd_chi_dao_dieu_hanh",), "CHI_DAO_DIEU_HANH"),
    ("3. Ứng dụng CNTT phục vụ người dân và doanh nghiệp", ("kh_nd_phuc_vu_dan_dn",), "PHUC_VU_DAN_DN"),
    ("4. Phát triển nguồn nhân lực CNTT", ("kh_nd_nhan_luc",), "NHAN_LUC"),
    ("5. Giải pháp thực hiện", ("kh_giai_phap", *DECREE_64_ITEMS, "kh_hieu_qua"), None),
)
PROJECTS_FIELDS = ("kh_trong_tam_2008",)  # form 1.0's priorities for 2008 (1.1 asks for the annual plan's table)
SECTIONS = ("I. THỰC TRẠNG ỨNG DỤNG CÔNG NGHỆ THÔNG TIN", "II. QUAN ĐIỂM, MỤC TIÊU",
            "III. KẾ HOẠCH ỨNG DỤNG CÔNG NGHỆ THÔNG TIN GIAI ĐOẠN 2008–2010 VÀ NĂM 2008", "IV. KINH PHÍ",
            "V. KIẾN NGHỊ, ĐỀ XUẤT")
PROJECTS_HEADING = "6. Các dự án, nhiệm vụ ứng dụng CNTT giai đoạn 2008–2010"
ANNUAL_HEADING = "7. Kế hoạch ứng dụng CNTT năm 2008"
APPENDIX = "PHỤ LỤC: TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC CƠ QUAN, ĐƠN VỊ"
WORDS_HEADING = "Ý kiến của các đơn vị"
_SENTENCE_END = re.compile(r"[.!?…;]\s+")


def missing_fields(spec: FormSpec) -> list[str]:
    """Narrative fields the report gathers that the spec lacks (a test keeps both in step)."""
    named = [f for _, fields in CURRENT_STATE_PARTS for f in fields] + [*VIEWPOINT_FIELDS, *PROJECTS_FIELDS]
    named += [f for _, fields, _ in PLAN_PARTS for f in fields]
    return [f for f in named if f not in spec.fields and f not in (*DECREE_64_ITEMS, *PROJECTS_FIELDS)]


def write_report(summary: C.Summary, spec: FormSpec, path: Path) -> Path:
    """Write the draft report atomically; returns the path written (a timestamped sibling when the target is
    open in Word)."""
    return write_atomic(Path(path), report_bytes(summary, spec), fallback=True)


def report_bytes(summary: C.Summary, spec: FormSpec) -> bytes:
    buffer = io.BytesIO()
    _Report(summary, spec).build().save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------------
# The agencies' words, grouped by theme


@dataclass(frozen=True)
class Said:
    """A sentence several agencies wrote (`agencies` in registry order), or one agency's own sentences."""

    text: str
    agencies: tuple[str, ...]


def group_words(narratives: pd.DataFrame, field_id: str) -> tuple[list[Said], list[Said]]:
    """(sentences written by two agencies or more, most-shared first; then each agency's own sentences, in
    registry order). A sentence is compared without case, spacing or its final stop."""
    rows = narratives[narratives["field"] == field_id]
    by_key: dict[str, tuple[str, list[str]]] = {}
    per_agency: list[tuple[str, list[tuple[str, str]]]] = []
    for code, text in zip(rows["code"].tolist(), rows["text"].tolist(), strict=True):
        pieces = [(C.name_key(s.rstrip(".;!?… ")), s) for s in sentences(text)]
        per_agency.append((code, pieces))
        for key, sentence in pieces:
            entry = by_key.setdefault(key, (sentence, []))
            if code not in entry[1]:
                entry[1].append(code)
    shared_keys = {k for k, (_, codes) in by_key.items() if k and len(codes) >= 2}
    shared = sorted((Said(_full_stop(by_key[k][0]), tuple(by_key[k][1])) for k in shared_keys),
                    key=lambda s: (-len(s.agencies), list(by_key).index(C.name_key(s.text.rstrip(".;!?… ")))))
    own = [Said(" ".join(_full_stop(s) for k, s in pieces if k not in shared_keys), (code,))
           for code, pieces in per_agency]
    return shared, [s for s in own if s.text]


def sentences(text: str) -> list[str]:
    """A narrative's sentences: split after a full stop (or ; ! ? …) followed by a capital letter."""
    out, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        following = text[match.end():match.end() + 1]
        if following[:1].isupper() or following[:1].isdigit():
            out.append(text[start:match.end()].strip())
            start = match.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def _full_stop(sentence: str) -> str:
    sentence = sentence.strip()
    return sentence if sentence[-1:] in ".!?…" else sentence.rstrip(";,") + "."


# --------------------------------------------------------------------------------------------------------
# The document


class _Report:
    def __init__(self, summary: C.Summary, spec: FormSpec) -> None:
        from docx import Document  # imported here: only the report needs python-docx (and its lxml)

        self.s, self.spec = summary, spec
        self.frame: Frame = frame_for(spec)
        self.bieu = {b.number: b for b in all_bieu(summary, spec)}
        self.doc = Document()
        self.year = plan_year(summary)
        self.province = str(spec.form.get("province_vi") or "")
        self.names = summary.agencies["name_vi"].to_dict()

    # --- the page and the type ------------------------------------------------------------------------------
    def build(self) -> Any:
        from docx.shared import Mm, Pt

        section = self.doc.sections[0]
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(20), Mm(20)
        section.left_margin, section.right_margin = Mm(30), Mm(15)
        normal = self.doc.styles["Normal"]
        normal.font.name, normal.font.size = FONT, Pt(BODY_PT)
        _east_asian_font(normal.element, FONT)
        normal.paragraph_format.space_after = Pt(4)
        self.page_numbers(section)
        props = self.doc.core_properties
        props.title = f"Báo cáo {self.subject()[:1].lower()}{self.subject()[1:]}"
        props.author = self.frame.issuer_name
        props.created = props.modified = self.s.generated_at
        props.comments = f"ictplan · {self.s.form_id} v{self.s.form_version}"
        self.header()
        self.opening()
        self.current_state()
        self.viewpoints()
        self.plan()
        self.funding()
        self.recommendations()
        self.closing()
        self.appendix()
        return self.doc

    def page_numbers(self, section: Any) -> None:
        """Page numbers centred at the top from page 2 (our own PAGE field; agency text is never a field)."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        section.different_first_page_header_footer = True
        paragraph = section.header.paragraphs[0]
        paragraph.alignment = 1
        run = paragraph.add_run()
        for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
            if kind:
                element = OxmlElement("w:fldChar")
                element.set(qn("w:fldCharType"), kind)
            else:
                element = OxmlElement("w:instrText")
                element.text = text
            run._r.append(element)

    def subject(self) -> str:
        return (f"Tổng hợp thực trạng và kế hoạch ứng dụng công nghệ thông tin trong các cơ quan nhà nước "
                f"tỉnh {self.province} giai đoạn {min(C.PLAN_YEARS) - 1}–{max(C.PLAN_YEARS)} và năm {min(C.PLAN_YEARS)}")

    # --- paragraphs -----------------------------------------------------------------------------------------
    def para(self, text: str = "", *, bold: bool = False, italic: bool = False, size: float | None = None,
             align: str = "justify", indent: bool = True, container: Any = None, after: float | None = None) -> Any:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Cm, Pt

        paragraph = (container or self.doc).add_paragraph()
        paragraph.alignment = {"justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "center": WD_ALIGN_PARAGRAPH.CENTER,
                               "left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT}[align]
        if indent and align == "justify":
            paragraph.paragraph_format.first_line_indent = Cm(1)
        if after is not None:
            paragraph.paragraph_format.space_after = Pt(after)
        if text:
            self.run(paragraph, text, bold=bold, italic=italic, size=size)
        return paragraph

    @staticmethod
    def run(paragraph: Any, text: str, *, bold: bool = False, italic: bool = False, size: float | None = None) -> Any:
        """Text as the text of a run: never a field, a link or a formula, whatever it says."""
        from docx.shared import Pt

        run = paragraph.add_run(safe_text(text))
        run.bold, run.italic = bold or None, italic or None
        if size:
            run.font.size = Pt(size)
        return run

    def heading(self, text: str, level: int = 1) -> None:
        self.para(text, bold=True, indent=level > 1, align="left" if level == 1 else "justify", after=3)

    # --- the frame ------------------------------------------------------------------------------------------
    def header(self) -> None:
        """Governing body over the Department and the number (left); nation, motto and date (right)."""
        table = self.doc.add_table(rows=1, cols=2)
        left, right = table.rows[0].cells
        _widths(table, (72, 93))
        self.para(self.frame.governing, size=13, align="center", container=left, after=0)
        self.para(self.frame.issuer, bold=True, size=13, align="center", container=left, after=0)
        _rule(self.para(align="center", container=left, after=2), 20, 72)
        self.para(self.frame.number_line(), size=13, align="center", container=left, after=0)
        self.para(NATION, bold=True, size=12, align="center", container=right, after=0)
        self.para(MOTTO, bold=True, size=13, align="center", container=right, after=0)
        _rule(self.para(align="center", container=right, after=2), 45, 93)
        self.para(self.frame.date_line(self.year), italic=True, size=13, align="center", container=right, after=0)
        for cell in (left, right):
            cell._tc.remove(cell.paragraphs[0]._p)  # the cell's own empty first paragraph
        self.para("")
        self.para("BÁO CÁO", bold=True, size=14, align="center", after=0)
        self.para(self.subject(), bold=True, size=14, align="center", after=12)

    def opening(self) -> None:
        counts = self.s.status_counts()
        valid = counts["accepted"] + counts["accepted_with_warnings"]
        day = as_of(self.s)
        missing = [self.names[c] for c in self.s.agencies.index[self.s.agencies["status"] == C.MISSING]]
        rejected = [self.names[c] for c in self.s.agencies.index[self.s.agencies["status"] == C.REJECTED]]
        deadline = self.spec.form.get("deadline")
        text = (f"Thực hiện Nghị định số 64/2007/NĐ-CP ngày 10/4/2007 của Chính phủ về ứng dụng công nghệ thông tin "
                f"trong hoạt động của cơ quan nhà nước, {self.frame.issuer_name} đã hướng dẫn các sở, ban, ngành và "
                f"UBND các huyện, thị xã, thành phố xây dựng báo cáo thực trạng và kế hoạch ứng dụng công nghệ thông "
                f"tin theo mẫu thống nhất"
                + (f", thời hạn gửi báo cáo trước ngày {date_vi(deadline)}" if deadline else "") + ". "
                + (f"Đến {long_date_vi(day)}" if day else "Đến nay")
                + f", Sở đã nhận được báo cáo của {counts['received']}/{counts['expected']} cơ quan, đơn vị, trong đó "
                f"{valid} báo cáo hợp lệ được tổng hợp.")
        self.para(text)
        if rejected:
            self.para(f"Báo cáo chưa hợp lệ, đề nghị hoàn thiện và gửi lại ({len(rejected)} đơn vị): "
                      f"{', '.join(rejected)}.")
        if missing:
            self.para(f"Chưa gửi báo cáo ({len(missing)} đơn vị): {', '.join(missing)}.")
        self.para(f"{self.frame.issuer_name} tổng hợp thực trạng và kế hoạch ứng dụng công nghệ thông tin trong các "
                  f"cơ quan nhà nước của tỉnh như sau (số liệu kèm theo số đơn vị có báo cáo chỉ tiêu đó trên tổng số "
                  f"đơn vị; chi tiết tại các Biểu số 01–05 kèm theo):")

    # --- I–V ------------------------------------------------------------------------------------------------
    def current_state(self) -> None:
        self.heading(SECTIONS[0])
        for i, (title, fields) in enumerate(CURRENT_STATE_PARTS):
            self.heading(title, 2)
            if i == 0:
                self.state_figures()
                self.table(self.bieu["01"])
            for field_id in fields:
                self.words(field_id)

    def state_figures(self) -> None:
        """One paragraph per form section: each indicator of Biểu 01 for the province, with its coverage."""
        section_lines: list[tuple[str, list[str]]] = []
        for style, values in self.bieu["01"].parts[0].lines:
            if style == "group":
                section_lines.append((str(values[1]), []))
            elif section_lines:
                section_lines[-1][1].append(self.figure_text(values))
        for letter, (title, figures) in zip("abcdefgh", section_lines, strict=False):
            self.para(f"{letter}) {title[:1]}{title[1:].lower().replace('cntt', 'CNTT')}: {'; '.join(figures)}.")

    @staticmethod
    def figure_text(values: Sequence[Any]) -> str:
        label, unit, value, cover = values[1], values[2], values[-2], values[-1]
        shown = text_of(value, "count")
        if not shown:
            return f"{label}: chưa có số liệu"
        unit_text = "" if unit in ("", None) else ("%" if unit == "%" else f" {unit}")
        return f"{label}: {shown}{unit_text} ({cover} đơn vị báo cáo)"

    def viewpoints(self) -> None:
        self.heading(SECTIONS[1])
        targets = self.bieu["02"].parts[0]
        if targets.lines:
            self.heading("1. Mục tiêu cụ thể của các đơn vị (tổng hợp)", 2)
            years = [label for label, _ in self.s.targets[0].columns[1:]]
            width = len(years) + 1  # the province's current value and targets, before its coverage column
            for values in (v for _, v in targets.lines):
                current, *planned = [text_of(x, "pct") for x in values[-1 - width:-1]]
                unit = "" if values[2] == "%" else f" {values[2]}"
                years_text = "; ".join(f"năm {y}: {v or '–'}{unit if v else ''}"
                                       for y, v in zip(years, planned, strict=True))
                self.para(f"– {values[1]}: hiện trạng {current or '–'}{unit if current else ''}; {years_text} "
                          f"({values[-1]} đơn vị có mục tiêu).", indent=False)
            self.table(self.bieu["02"])
        for i, field_id in enumerate(VIEWPOINT_FIELDS, start=2):
            if field_id in self.spec.fields:
                self.heading(f"{i}. {self.spec.fields[field_id].vi}", 2)
            self.words(field_id)

    def plan(self) -> None:
        self.heading(SECTIONS[2])
        for title, fields, area in PLAN_PARTS:
            self.heading(title, 2)
            if area is not None:
                self.area_figures(area)
            for field_id in fields:
                if len(fields) > 1 and field_id in self.spec.fields:
                    self.para(self.spec.fields[field_id].vi + ":", italic=True)
                self.words(field_id)
        self.heading(PROJECTS_HEADING, 2)
        total = self.s.funding_by_area.loc[C.TOTAL]
        duplicates = self.s.duplicates
        self.para(f"Các đơn vị đề xuất {int(total['projects'])} dự án, nhiệm vụ của {int(total['agencies'])} đơn vị, "
                  f"tổng kinh phí {number_vi(total[C.PROJECT_COST], 1)} triệu đồng; phân kỳ "
                  + "; ".join(f"năm {y}: {number_vi(total[c], 1)} triệu đồng" for y, c in C.PROJECT_YEARS.items())
                  + ".")
        if len(duplicates):
            self.para(f"Có {len(duplicates)} tên dự án được nhiều đơn vị cùng đề xuất, cần xem xét lồng ghép thành dự án "
                      "dùng chung của tỉnh:")
            for row in duplicates.itertuples(index=False):
                agencies = ", ".join(self.names.get(c, c) for c in row.agencies.split(", "))
                self.para(f"– {row.name}: {row.count} dự án của {agencies} (tổng kinh phí "
                          f"{number_vi(row.cost, 1)} triệu đồng).", indent=False)
        self.table(self.bieu["04"])
        self.annual_plan()

    def annual_plan(self) -> None:
        """III.7: the 2008 annual plan: its tasks by content group (form 1.1), and the agencies' priorities."""
        self.heading(ANNUAL_HEADING, 2)
        plan = annual_plan_part(self.s, self.spec)
        if plan is not None:
            total = next(values for style, values in plan.lines if style == "total")
            planned = self.s.totals.at[C.PROVINCE, C.PLAN_YEARS[2008]] if C.PLAN_YEARS[2008] in self.s.totals else None
            self.para(f"Các đơn vị lập kế hoạch năm 2008 gồm {total[2]} nhiệm vụ, tổng kinh phí "
                      f"{number_vi(total[3], 1)} triệu đồng (kế hoạch kinh phí năm 2008 của các đơn vị: "
                      f"{number_vi(planned, 1)} triệu đồng).")
            self.wide_table(plan)
        for field_id in PROJECTS_FIELDS:
            if field_id in self.spec.fields:
                self.para(self.spec.fields[field_id].vi + ":", italic=True)
            self.words(field_id)

    def area_figures(self, area: str) -> None:
        if area == "PHUC_VU_DAN_DN":
            services = services_part(self.s, self.spec)
            if services is not None:
                self.para(services.heading + ":", italic=True)
                _table(self.doc, services)
                self.para("", after=4)
        if area not in self.s.funding_by_area.index:
            return
        row = self.s.funding_by_area.loc[area]
        if not int(row["projects"]):
            self.para("Chưa có dự án, nhiệm vụ nào thuộc nhóm nội dung này.")
            return
        self.para(f"Các đơn vị đề xuất {int(row['projects'])} dự án, nhiệm vụ ({int(row['agencies'])} đơn vị), tổng "
                  f"kinh phí {number_vi(row[C.PROJECT_COST], 1)} triệu đồng, trong đó giai đoạn 2008–2010: "
                  f"{number_vi(row['plan_total'], 1)} triệu đồng.")

    def funding(self) -> None:
        self.heading(SECTIONS[3])
        s, p = self.s, C.PROVINCE

        def money(mid: str) -> str:
            return f"{number_vi(s.totals.at[p, mid], 1)} triệu đồng" if mid in s.totals.columns else "–"

        def cover(mid: str) -> str:
            return C.coverage_text(int(s.coverage.at[p, mid]), s.members(p)) if mid in s.coverage.columns else "–"

        years = "; ".join(f"năm {y}: {money(mid)}" for y, mid in C.PLAN_YEARS.items())
        sources = "; ".join(f"{s.measures[mid].vi.split(': ', 1)[-1].lower()}: {money(mid)}"
                            for mid in C.PLAN_SOURCES if mid in s.measures)
        self.para(f"Kinh phí ứng dụng CNTT năm 2007 (ước thực hiện) của các đơn vị: {money(C.SPEND_2007)} "
                  f"({cover(C.SPEND_2007)} đơn vị báo cáo).")
        self.para(f"Tổng nhu cầu kinh phí giai đoạn 2008–2010: {money(C.PLAN_TOTAL)} ({cover(C.PLAN_TOTAL)} đơn vị báo "
                  f"cáo); theo năm: {years}; theo nguồn vốn: {sources}.")
        self.table(self.bieu["03"])

    def recommendations(self) -> None:
        self.heading(SECTIONS[4])
        s, p = self.s, C.PROVINCE
        counts = s.status_counts()
        items = [f"Đề nghị UBND tỉnh xem xét, phê duyệt kế hoạch ứng dụng công nghệ thông tin trong các cơ quan nhà "
                 f"nước của tỉnh giai đoạn 2008–2010 và năm 2008 với tổng kinh phí "
                 f"{number_vi(s.totals.at[p, C.PLAN_TOTAL], 1)} triệu đồng, trong đó năm 2008: "
                 f"{number_vi(s.totals.at[p, C.PLAN_YEARS[2008]], 1)} triệu đồng; chỉ đạo bố trí kinh phí trong dự "
                 f"toán ngân sách hằng năm."]
        if len(s.duplicates):
            items.append(f"Giao {self.frame.issuer_name} chủ trì, phối hợp các đơn vị lồng ghép {len(s.duplicates)} "
                         "nhóm dự án trùng tên thành dự án dùng chung của tỉnh, tránh đầu tư dàn trải.")
        if counts["missing"] or counts["rejected"]:
            items.append(f"Đề nghị {counts['missing'] + counts['rejected']} cơ quan, đơn vị chưa gửi báo cáo hoặc báo "
                         "cáo chưa hợp lệ hoàn thiện và gửi lại để tổng hợp đầy đủ.")
        items.append("Đề nghị các cơ quan, đơn vị căn cứ kế hoạch được phê duyệt, xây dựng kế hoạch ứng dụng công nghệ "
                     "thông tin năm 2008 chi tiết, gửi Sở để theo dõi, tổng hợp.")
        for i, text in enumerate(items, start=1):
            self.para(f"{i}. {text}")
        self.para("Kiến nghị, đề xuất của các đơn vị:", italic=True)
        self.words("dg_de_xuat", heading=False)

    def closing(self) -> None:
        """"Nơi nhận:" and its list bottom left; the signature block bottom right."""
        self.para("")
        table = self.doc.add_table(rows=1, cols=2)
        left, right = table.rows[0].cells
        _widths(table, (75, 90))
        self.para("Nơi nhận:", bold=True, italic=True, size=12, align="left", indent=False, container=left, after=0)
        left._tc.remove(left.paragraphs[0]._p)
        for line in self.frame.recipients:
            self.para(f"- {line}", size=11, align="left", indent=False, container=left, after=0)
        self.para(self.frame.signer, bold=True, size=13, align="center", container=right, after=0)
        right._tc.remove(right.paragraphs[0]._p)

    def appendix(self) -> None:
        from docx.enum.text import WD_BREAK

        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        self.para(APPENDIX, bold=True, align="center", after=0)
        self.para(self.bieu["05"].subtitle, italic=True, align="center")
        self.table(self.bieu["05"], title=False)
        for note in self.bieu["05"].notes:
            self.para(note, italic=True, size=11)

    # --- the agencies' words and the tables ----------------------------------------------------------------
    def words(self, field_id: str, *, heading: bool = True) -> None:
        """The agencies' own words on one theme: shared sentences once with who wrote them, then each
        agency's own, under its name."""
        if field_id not in self.spec.fields:
            return
        shared, own = group_words(self.s.narratives, field_id)
        if not shared and not own:
            self.para("(Chưa có đơn vị nào báo cáo nội dung này.)", italic=True)
            return
        if heading:
            label = self.spec.fields[field_id].vi
            self.para(f"{WORDS_HEADING} ({label[:1].lower()}{label[1:]}):", italic=True)
        for said in shared:
            p = self.para(indent=False)
            self.run(p, f"– {said.text} ")
            self.run(p, f"({len(said.agencies)} đơn vị: {', '.join(self.names.get(c, c) for c in said.agencies)})",
                     italic=True, size=11)
        for said in own:
            p = self.para(indent=False)
            self.run(p, f"– {self.names.get(said.agencies[0], said.agencies[0])}: ", bold=True)
            self.run(p, said.text)

    def table(self, bieu: Bieu, *, title: bool = True) -> None:
        """A biểu of the print set; a wide one (landscape on paper) on landscape pages of its own."""
        width = self.landscape() if bieu.landscape else TEXT_WIDTH
        if title:
            self.para(f"{bieu.label}: {bieu.title}", bold=True, size=11, align="center", after=2)
        if bieu.unit:
            self.para(bieu.unit, italic=True, size=11, align="right", after=0)
        for part in bieu.parts:
            if part.heading:
                self.para(part.heading, italic=True, size=11, align="left", indent=False, after=2)
            _table(self.doc, part, width)
        if bieu.landscape:
            self.portrait()
        else:
            self.para("", after=4)

    def wide_table(self, part: Part) -> None:
        """A table of many columns on landscape pages of its own."""
        width = self.landscape()
        if part.heading:
            self.para(part.heading, italic=True, size=11, align="left", indent=False, after=2)
        _table(self.doc, part, width)
        self.portrait()

    def landscape(self) -> float:
        """Start landscape pages (a new section); returns the text width in millimetres."""
        from docx.enum.section import WD_ORIENT, WD_SECTION
        from docx.shared import Mm

        section = self.doc.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
        section.left_margin, section.right_margin = Mm(20), Mm(15)
        return 297 - 20 - 15

    def portrait(self) -> None:
        from docx.enum.section import WD_ORIENT, WD_SECTION
        from docx.shared import Mm

        section = self.doc.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin, section.right_margin = Mm(30), Mm(15)


# --------------------------------------------------------------------------------------------------------
# python-docx helpers


def _table(doc: Any, part: Part, width: float = 0.0) -> None:
    """A print-set table in Word: banded headers merged above their columns; 10-point text. Cells are taken
    from the table's XML once (python-docx looks every cell up through the whole table: quadratic)."""
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.shared import Mm, Pt
    from docx.table import _Cell

    columns = part.columns
    banded = any(c.band for c in columns)
    header_rows = 2 if banded else 1
    table = doc.add_table(rows=header_rows + len(part.lines), cols=len(columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    grid = [[_Cell(tc, table) for tc in tr.tc_lst] for tr in table._tbl.tr_lst]
    weights = [c.width + 4 for c in columns]  # narrow columns (STT, figures) need more than their share on paper
    for i, weight in enumerate(weights):
        column_width = Mm((width or TEXT_WIDTH) * weight / sum(weights))
        table.columns[i].width = column_width
        for row in grid:
            row[i].width = column_width

    def put(cell: Any, text: str, *, bold: bool = False, align: int = 0) -> None:
        paragraph = cell.paragraphs[0]
        paragraph.alignment = align
        paragraph.paragraph_format.space_after = Pt(0)
        if text:
            run = paragraph.add_run(safe_text(text))
            run.font.size = Pt(TABLE_PT)
            run.bold = bold or None

    merges = []
    c = 0
    while c < len(columns):
        col = columns[c]
        if not col.band:
            put(grid[0][c], col.header, bold=True, align=1)
            if banded:
                merges.append((grid[0][c], grid[1][c]))
            c += 1
            continue
        end = c
        while end + 1 < len(columns) and columns[end + 1].band == col.band:
            end += 1
        put(grid[0][c], col.band, bold=True, align=1)
        if end > c:
            merges.append((grid[0][c], grid[0][end]))
        for k in range(c, end + 1):
            put(grid[1][k], columns[k].header, bold=True, align=1)
        c = end + 1
    for r, (style, values) in enumerate(part.lines, start=header_rows):
        bold = style in ("group", "subtotal", "total")
        span = label_span(style, values)
        if span:  # a group's label over the empty cells after it
            merges.append((grid[r][1], grid[r][span]))
        for k, (col, value) in enumerate(zip(columns, values, strict=True)):
            if span and 1 < k <= span:
                continue
            text = text_of(value, col.kind)
            numeric = col.kind in ("count", "money", "ratio", "pct", "auto") and not isinstance(value, str)
            put(grid[r][k], text, bold=bold, align=2 if numeric else 1 if col.kind in ("center", "date") else 0)
    for first, last in merges:
        first.merge(last)


def _widths(table: Any, millimetres: Iterable[float]) -> None:
    """Column widths in the table grid (what Writer uses) and in every cell (what Word uses); for the
    frame's small tables."""
    from docx.shared import Mm

    table.autofit = False
    for i, width in enumerate(millimetres):
        table.columns[i].width = Mm(width)
        for cell in table.columns[i].cells:
            cell.width = Mm(width)


def _rule(paragraph: Any, millimetres: float, cell_width: float) -> None:
    """A short centred line under the name above it: the paragraph's bottom border, indented to its length."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    paragraph.paragraph_format.space_after = Pt(0)
    fmt = paragraph.paragraph_format
    side = max(0.0, (cell_width - 4 - millimetres) / 2)  # the cell's own margins: about 2 mm a side
    fmt.left_indent = fmt.right_indent = Mm(side)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "6"), ("space", "1"), ("color", "000000")):
        bottom.set(qn(f"w:{key}"), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)
    run = paragraph.add_run("")
    run.font.size = Pt(2)


def _east_asian_font(style_element: Any, font: str) -> None:
    from docx.oxml.ns import qn

    fonts = style_element.get_or_add_rPr().get_or_add_rFonts()
    for key in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(key), font)

