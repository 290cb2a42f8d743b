"""The five statistical tables (biểu) leaders and the People's Committee receive, as data: what the printed
sheets of the summary workbook (print_set) and the draft provincial report (draft_report) both show, made
once from a `consolidate.Summary` so the paper and the report never disagree.

- Biểu 01: the current state (2007), by group and for the province, each figure with "n/m" coverage;
- Biểu 02: the targets for 2008 and 2010 beside the current values;
- Biểu 03: funding by year, source and kind;
- Biểu 04: the projects by content group, a line per project name, names proposed by several agencies
  flagged as candidates to fold into one;
- Biểu 05: who has reported: received when, on time or late, valid or not yet valid, and who is missing.

Pure: no file, clock or workbook access. Totals and coverage are the Summary's (sums over the agencies
that reported; ratios recomputed from the totals), never recomputed here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.form.spec import FormSpec
from pipeline.i18n import STATUS_LABELS
from pipeline.report import consolidate as C
from pipeline.report.frame import date_vi, number_vi
from pipeline.report.xlsx import Cell, Col, Row

# The indicators of Biểu 01, in order, grouped under their form section. Named like consolidate's
# KEY_MEASURES; `missing_measures` lists those the spec lacks (a test keeps the list and the spec in step).
CURRENT_STATE = (
    C.STAFF, "so_cbcc_su_dung_may_tinh", C.PCS, "tl_may_tren_cbcc", "so_may_chu", "co_mang_lan", "tl_may_lan",
    "tl_may_internet", "so_may_internet_bang_rong", "ket_noi_mang_dien_rong",
    "so_xa_phuong", "so_xa_co_may_tinh", "so_xa_ket_noi_internet",
    "co_thu_dien_tu_cong_vu", "so_cbcc_co_hop_thu", "tl_cbcc_dung_email", "ty_le_van_ban_qua_mang",
    "pm_ke_toan", "pm_quan_ly_can_bo",
    C.WEBSITE, "so_tthc", *C.SERVICE_LEVELS, "co_bo_phan_mot_cua",
    "co_don_vi_chuyen_trach", C.IT_STAFF, "tl_cb_chuyen_trach", "so_luot_dao_tao_2007",
    "kp_cntt_2006", C.SPEND_2007,
)
NOT_ASKED = "–"  # coverage of a level none of whose agencies the question is for
PROJECT_KIND = "loai_hinh"  # project-table column: kind of spending (Biểu 03)
PROJECT_STATES = ("tinh_trang", "tinh_chat", "phe_duyet")  # project-table choice columns counted in Biểu 04
SOURCES = ("von_nstw", "von_nsdp", "von_khac")  # project-table columns: cost by source
PROJECT_LINES = 48  # lines of Biểu 04 (two landscape pages): shared names first, then the costliest others
FOLD_NOTE = "Trùng tên ở {n} đơn vị"
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


# A table's lines are xlsx.Row: (style, one value a column). Styles: body, group, subtotal, total, flag (a line
# to act on), missing, late. A figure whose kind is its line's, not its column's, is an xlsx.Cell.
Line = Row


@dataclass(frozen=True)
class Part:
    """One table of a biểu, with the heading above it (empty for a biểu of one table)."""

    heading: str
    columns: tuple[Col, ...]
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Bieu:
    number: str  # "01"
    key: str  # sheet key: bieu01 …
    sheet: str  # the sheet's tab name
    title: str  # upper case, as printed
    subtitle: str  # the coverage and the date the figures stand at
    unit: str  # "Đơn vị tính: …", or ""
    parts: tuple[Part, ...]
    notes: tuple[str, ...]
    landscape: bool

    @property
    def label(self) -> str:
        return f"Biểu số {self.number}"


def as_of(summary: C.Summary) -> dt.date | None:
    """The date the figures stand at: the day the latest return of the round was received."""
    received = pd.to_datetime(summary.submissions["received_at"]).dropna()
    return None if received.empty else received.max().date()


def plan_year(summary: C.Summary) -> int:
    """The year of the documents: the year the figures stand at, else the first plan year less one."""
    day = as_of(summary)
    return day.year if day else min(C.PLAN_YEARS) - 1


def missing_measures(summary: C.Summary) -> list[str]:
    return [m for m in CURRENT_STATE if m not in summary.measures]


def all_bieu(summary: C.Summary, spec: FormSpec) -> tuple[Bieu, ...]:
    tables = _Tables(summary, spec)
    return (tables.current_state(), tables.targets(), tables.funding(), tables.projects(), tables.returns())


class _Tables:
    def __init__(self, summary: C.Summary, spec: FormSpec) -> None:
        self.s = summary
        self.spec = spec
        self.levels = [*summary.groups.index, C.PROVINCE]
        self.province = str(spec.form.get("province_vi") or "")
        self.sections = {sec.id: sec for sheet in spec.sheets for sec in sheet.sections}
        self.columns = {c.id: c for c in spec.table.columns} if spec.table else {}
        day = as_of(summary)
        counts = summary.status_counts()
        valid = counts["accepted"] + counts["accepted_with_warnings"]
        self.coverage_line = (f"(Tổng hợp từ báo cáo hợp lệ của {valid}/{counts['expected']} cơ quan, đơn vị"
                              + (f"; số liệu đến ngày {date_vi(day)})" if day else ")"))

    # --- words ------------------------------------------------------------------------------------------
    def level_label(self, level: str) -> str:
        return "Toàn tỉnh" if level == C.PROVINCE else str(self.s.groups.at[level, "label_vi"])

    def cover(self, level: str, measure_id: str, asked: int | None = None) -> str:
        """"n/m": m the level's agencies, or those of them `asked` the question (answered_by)."""
        members = self.s.members(level) if asked is None else asked
        return C.coverage_text(int(self.s.coverage.at[level, measure_id]), members)

    def answering(self, level: str, m: C.Measure) -> int | None:
        """How many agencies of a level are asked the measure's section, when only some types are (None: all)."""
        section = self.sections.get(self.section_of(m))
        return self.s.answering(level, section.answered_by) if section is not None and section.answered_by else None

    def measure_label(self, m: C.Measure) -> tuple[str, str]:
        """(label, unit) as a leader reads them: a yes/no item counts agencies ("Số đơn vị có …")."""
        label = m.vi.replace(" (tự tính)", "")
        if m.fmt == "bool":
            return f"Số đơn vị {label[:1].lower()}{label[1:]}", "đơn vị"
        return label, m.unit

    def section_of(self, m: C.Measure) -> str:
        if m.section:
            return m.section
        # one of the summary's own ratios: the section of its numerator, the first name of its formula
        source = C.RATIOS.get(m.id, ("",))[0].split()
        numerator = self.s.measures.get(source[0]) if source else None
        return numerator.section if numerator is not None else ""

    def area_label(self, code: str) -> str:
        if code == C.UNCLASSIFIED:
            return "Chưa xác định nhóm"
        return self.spec.choice_label(self.columns[C.PROJECT_AREA].choices or "", code, "vi")

    def agency_name(self, code: str) -> str:
        return str(self.s.agencies.at[code, "name_vi"]) if code in self.s.agencies.index else code

    def figure(self, level: str, measure_id: str) -> float | None:
        value = self.s.totals.at[level, measure_id]
        return None if pd.isna(value) else float(value)

    # --- Biểu 01 ----------------------------------------------------------------------------------------
    def current_state(self) -> Bieu:
        columns = [Col("STT", 5, "center"), Col("Chỉ tiêu", 40, "wrap"), Col("Đơn vị tính", 9, "center")]
        for level in self.levels:
            band = self.level_label(level)
            columns += [Col("Số liệu", 10, "auto", band), Col("Số đơn vị báo cáo", 9, "center", band)]
        lines: list[Line] = []
        section, number = None, 0
        for mid in (m for m in CURRENT_STATE if m in self.s.measures):
            m = self.s.measures[mid]
            sec = self.section_of(m)
            if sec != section:
                section, number = sec, 0
                title = self.sections[sec].vi if sec in self.sections else sec
                lines.append(("group", [ROMAN[len([x for x in lines if x[0] == "group"])], title,
                                        *[None] * (len(columns) - 2)]))
            number += 1
            label, unit = self.measure_label(m)
            values: list[Any] = [number, label, unit]
            for level in self.levels:
                asked = self.answering(level, m)
                if asked == 0:  # no agency of this level is asked (communes: departments): not a gap
                    values += [Cell(NOT_ASKED, "center"), NOT_ASKED]  # centred as the coverage beside it
                    continue
                values += [Cell(self.figure(level, mid), _kind(m)), self.cover(level, mid, asked)]
            lines.append(("body", values))
        return Bieu("01", "bieu01", "Biểu 01 Hiện trạng",
                    f"HIỆN TRẠNG ỨNG DỤNG CÔNG NGHỆ THÔNG TIN TRONG CÁC CƠ QUAN NHÀ NƯỚC TỈNH "
                    f"{self.province.upper()} NĂM {plan_year(self.s)}",
                    self.coverage_line, "", (Part("", tuple(columns), tuple(lines)),),
                    ("Số liệu của khối và toàn tỉnh là tổng cộng số liệu của các đơn vị có báo cáo chỉ tiêu đó; "
                     "\"Số đơn vị báo cáo\" ghi n/m: n đơn vị có số liệu trên m đơn vị. Tỷ lệ tính lại từ số tổng "
                     "(không lấy trung bình các tỷ lệ); tỷ lệ văn bản trao đổi qua mạng là bình quân gia quyền theo "
                     "số CBCCVC. Tiền: triệu đồng.",), landscape=False)

    # --- Biểu 02 ----------------------------------------------------------------------------------------
    def targets(self) -> Bieu:
        blocks = self.s.targets
        headers = [label for label, _ in blocks[0].columns] if blocks else []
        columns = [Col("STT", 5, "center"), Col("Chỉ tiêu", 34, "wrap"), Col("Đơn vị tính", 9, "center")]
        for level in self.levels:
            band = self.level_label(level)
            columns += [Col(h if i == 0 else f"Mục tiêu {h}", 9, "auto", band) for i, h in enumerate(headers)]
        columns.append(Col("Số đơn vị có mục tiêu (toàn tỉnh)", 10, "center"))
        lines: list[Line] = []
        for i, block in enumerate(blocks, start=1):
            values: list[Any] = [i, block.vi, block.unit]
            for level in self.levels:
                values += [Cell(self.figure(level, mid), _kind(self.s.measures[mid])) for _, mid in block.columns]
            values.append(self.cover(C.PROVINCE, block.columns[-1][1]))
            lines.append(("body", values))
        return Bieu("02", "bieu02", "Biểu 02 Mục tiêu",
                    f"MỤC TIÊU ỨNG DỤNG CÔNG NGHỆ THÔNG TIN ĐẾN NĂM {max(C.PLAN_YEARS)} VÀ NĂM {min(C.PLAN_YEARS)}",
                    self.coverage_line, "", (Part("", tuple(columns), tuple(lines)),),
                    ("Chỉ tiêu số lượng: tổng cộng của các đơn vị. Hiện trạng của chỉ tiêu tỷ lệ tính lại từ số tổng; "
                     "mục tiêu tỷ lệ là bình quân gia quyền theo số CBCCVC của các đơn vị có mục tiêu.",),
                    landscape=True)

    # --- Biểu 03 ----------------------------------------------------------------------------------------
    def funding(self) -> Bieu:
        """By year × source × kind from the form's funding grid where it has one (form 1.1); else by year
        and by source from the funding plan, and by kind from the project lists."""
        grid = next((sec for sheet in self.spec.sheets for sec in sheet.sections if getattr(sec, "grid", ())), None)
        parts = [self.grid_part(grid)] if grid is not None else [self.plan_part()]
        kinds = self.kind_part()
        if kinds is not None:
            parts.append(kinds)
        return Bieu("03", "bieu03", "Biểu 03 Kinh phí", f"KINH PHÍ ỨNG DỤNG CÔNG NGHỆ THÔNG TIN {min(C.PLAN_YEARS)}–"
                    f"{max(C.PLAN_YEARS)}", self.coverage_line, "Đơn vị tính: triệu đồng", tuple(parts),
                    ("Phần 1 lấy từ phần kinh phí của báo cáo các đơn vị; phần 2 tổng hợp từ danh mục dự án, nhiệm "
                     "vụ (tổng kinh phí, nguồn vốn và phân kỳ vốn từng năm). Số đơn vị báo cáo: n/m.",),
                    landscape=True)

    def grid_part(self, grid: Any) -> Part:
        """The province's funding grid: a line per kind and source (the grid's own rows, sums bold), a column
        per year, their total, and the coverage."""
        keys = list(grid.grid_columns)
        heads = list(getattr(grid, "grid_head_vi", ()) or ["Nguồn vốn", *keys])
        columns = [Col("STT", 5, "center"), Col(str(heads[0]), 40, "wrap"),
                   *(Col(str(h), 11, "money", "Kế hoạch") for h in heads[1:1 + len(keys)]),
                   Col(f"Cộng {keys[0]}–{keys[-1]}" if len(keys) > 1 else "Cộng", 12, "money"),
                   Col("Số đơn vị báo cáo", 10, "center")]
        labels = list(getattr(grid, "grid_labels", ()) or grid.grid)
        lines: list[Line] = []
        number = 0
        for base, label in zip(grid.grid, labels, strict=False):
            ids = [f"{base}_{k}" for k in keys]
            if not all(i in self.s.measures for i in ids):
                continue
            values = [self.figure(C.PROVINCE, i) for i in ids]
            summed = [v for v in values if v is not None]
            # "Vốn đầu tư phát triển" over its "Vốn đầu tư phát triển: ngân sách tỉnh"…; "Tổng kinh phí" last
            is_total = str(label).startswith("Tổng")
            is_sum = ":" not in str(label) and not is_total
            number += is_sum
            lines.append(("total" if is_total else "subtotal" if is_sum else "body",
                          [ROMAN[number - 1] if is_sum and number <= len(ROMAN) else None,
                           str(label).upper() if is_total else str(label) if is_sum else f"– {_after_colon(str(label))}",
                           *values, sum(summed) if summed else None, self.cover(C.PROVINCE, ids[0])]))
        return Part("1. Kế hoạch kinh phí theo năm, nguồn vốn và loại kinh phí (toàn tỉnh)", tuple(columns),
                    tuple(lines))

    def plan_part(self) -> Part:
        plan = [C.SPEND_2007, *C.PLAN_YEARS.values(), C.PLAN_TOTAL, *C.PLAN_SOURCES]
        plan = [m for m in plan if m in self.s.measures]
        headers = {C.SPEND_2007: "Thực hiện 2007", C.PLAN_TOTAL: "Cộng 2008–2010",
                   **{mid: f"Năm {year}" for year, mid in C.PLAN_YEARS.items()}}
        headers.update({mid: _after_colon(self.s.measures[mid].vi) for mid in C.PLAN_SOURCES if mid in self.s.measures})
        columns = [Col("STT", 5, "center"), Col("Khối", 26, "wrap")]
        columns += [Col(headers.get(mid, self.s.measures[mid].vi), 10, "money",
                           "Nguồn vốn 2008–2010" if mid in C.PLAN_SOURCES else "Kế hoạch" if mid != C.SPEND_2007 else "")
                    for mid in plan]
        columns.append(Col("Số đơn vị báo cáo", 9, "center"))
        by_year: list[Line] = []
        for i, level in enumerate(self.levels):
            total = level == C.PROVINCE
            by_year.append(("total" if total else "body",
                            [None if total else ROMAN[i], self.level_label(level).upper() if total else self.level_label(level),
                             *(self.figure(level, mid) for mid in plan), self.cover(level, C.PLAN_TOTAL)]))
        return Part("1. Kinh phí thực hiện năm 2007 và kế hoạch kinh phí 2008–2010 theo năm, nguồn vốn",
                    tuple(columns), tuple(by_year))

    def kind_part(self) -> Part | None:
        """Funding of the projects by kind (investment, recurrent, rental…) × source and year."""
        kind = self.columns.get(PROJECT_KIND)
        if kind is None:
            return None
        projects = self.s.projects
        money = [c for c in (C.PROJECT_COST, *SOURCES, *C.PROJECT_YEARS.values()) if c in projects]
        columns = [Col("STT", 5, "center"), Col("Loại hình", 26, "wrap"), Col("Số dự án, nhiệm vụ", 10, "count")]
        words = {C.PROJECT_COST: "Tổng kinh phí", **{c: _after_colon(self.columns[c].vi) for c in SOURCES if c in self.columns},
                 **{c: f"Năm {y}" for y, c in C.PROJECT_YEARS.items()}}
        columns += [Col(words[c], 10, "money",
                        "Nguồn vốn" if c in SOURCES else "Phân kỳ vốn" if c in C.PROJECT_YEARS.values() else "")
                    for c in money]
        lines: list[Line] = []
        codes = [ch.code for ch in self.spec.choices.get(kind.choices or "", ())]
        for i, code in enumerate(codes, start=1):
            part = projects[projects[PROJECT_KIND] == code]
            lines.append(("body", [i, self.spec.choice_label(kind.choices or "", code, "vi"), len(part),
                                   *(float(part[c].sum()) for c in money)]))
        lines.append(("total", [None, "TỔNG CỘNG", len(projects), *(float(projects[c].sum()) for c in money)]))
        return Part("2. Kinh phí các dự án, nhiệm vụ theo loại hình, nguồn vốn và năm", tuple(columns), tuple(lines))

    # --- Biểu 04 ----------------------------------------------------------------------------------------
    def projects(self) -> Bieu:
        """A line per project name in each content group: every name several agencies propose (flagged, to
        fold into one project), then the largest of the others while the biểu stays on two pages; the rest
        of a group on one line "Các dự án, nhiệm vụ khác"."""
        years = list(C.PROJECT_YEARS.items())
        columns = (Col("STT", 5, "center"), Col("Tên dự án, nhiệm vụ", 38, "wrap"),
                   Col("Đơn vị đề xuất", 24, "wrap"), Col("Số dự án", 7, "count"),
                   Col("Tổng kinh phí", 11, "money"),
                   *(Col(f"Năm {y}", 10, "money", "Phân kỳ vốn") for y, _ in years),
                   Col("Ghi chú", 20, "wrap"))
        projects = self.s.projects.assign(_key=self.s.projects[C.PROJECT_NAME].map(C.name_key))
        agencies_of = projects.groupby("_key")["agency"].agg(lambda a: list(dict.fromkeys(a))).to_dict()
        names = projects.groupby(["area", "_key"], sort=False).agg(cost=(C.PROJECT_COST, "sum"))
        shared = {k for k, v in agencies_of.items() if k and len(v) >= 2}
        areas = list(dict.fromkeys(projects["area"]))
        # shared names first, then by cost, as many as the lines left once each group has its band, its
        # subtotal and a line for the rest
        room = max(0, PROJECT_LINES - 3 * len(areas) - 1)
        ranked = names.assign(_shared=[k in shared for _, k in names.index])
        ranked = ranked.sort_values(["_shared", "cost"], ascending=False, kind="stable")
        named = set(ranked.index[:room])

        def sums(part: pd.DataFrame) -> list[float]:
            return [float(part[C.PROJECT_COST].sum()), *(float(part[c].sum()) for _, c in years)]

        lines: list[Line] = []
        folded = 0
        for a_index, area in enumerate(areas):
            part = projects[projects["area"] == area]
            lines.append(("group", [ROMAN[a_index] if a_index < len(ROMAN) else a_index + 1,
                                    f"{self.area_label(str(area))}: {len(part)} dự án, nhiệm vụ{self.states(part)}",
                                    *[None] * (len(columns) - 2)]))
            number = 0
            rest = part[[(area, k) not in named for k in part["_key"]]]
            for key, same in part.groupby("_key", sort=False):
                if (area, key) not in named:
                    continue
                number += 1
                here = list(dict.fromkeys(same["agency"]))
                who = ", ".join(self.agency_name(c) for c in here) if len(here) <= 2 else f"{len(here)} đơn vị"
                flagged = key in shared
                folded += flagged
                lines.append(("flag" if flagged else "body", [
                    number, str(same[C.PROJECT_NAME].iloc[0]), who, len(same), *sums(same),
                    FOLD_NOTE.format(n=len(agencies_of[key])) if flagged else None]))
            if len(rest):
                lines.append(("body", [number + 1, "Các dự án, nhiệm vụ khác", f"{rest['agency'].nunique()} đơn vị",
                                       len(rest), *sums(rest), None]))
            lines.append(("subtotal", [None, "Cộng", None, len(part), *sums(part), None]))
        lines.append(("total", [None, "TỔNG CỘNG", None, len(projects), *sums(projects), None]))
        notes = ["Mỗi dòng là một tên dự án, nhiệm vụ (không phân biệt chữ hoa, chữ thường, khoảng trắng); các đơn "
                 "vị đề xuất cùng tên được gộp một dòng. Danh mục đầy đủ ở trang \"Dự án 2008–2010\"."]
        if folded:
            notes.append(f"{folded} dòng tô nền là dự án trùng tên giữa các đơn vị: đề nghị xem xét lồng ghép thành dự "
                         "án chung; danh sách đơn vị và mã dự án ở trang \"Dự án trùng tên\".")
        return Bieu("04", "bieu04", "Biểu 04 Dự án", f"DANH MỤC DỰ ÁN, NHIỆM VỤ ỨNG DỤNG CÔNG NGHỆ THÔNG TIN "
                    f"{min(C.PLAN_YEARS)}–{max(C.PLAN_YEARS)} THEO NHÓM NỘI DUNG", self.coverage_line,
                    "Đơn vị tính: triệu đồng", (Part("", columns, tuple(lines)),), tuple(notes), landscape=True)

    def states(self, part: pd.DataFrame) -> str:
        """" (28 Đề xuất mới, 12 Chuyển tiếp từ 2007; …)": the projects by each state column the form has
        (new or carried over; approved or not)."""
        texts = []
        for column_id in PROJECT_STATES:
            column = self.columns.get(column_id)
            if column is None or column_id not in part:
                continue
            counts = part[column_id].value_counts()
            words = [f"{int(counts[ch.code])} {ch.vi.lower()}" for ch in self.spec.choices.get(column.choices or "", ())
                     if ch.code in counts.index]
            if words:
                texts.append(", ".join(words))
        return f" ({'; '.join(texts)})" if texts else ""

    # --- Biểu 05 ----------------------------------------------------------------------------------------
    def returns(self) -> Bieu:
        deadline = self.spec.form.get("deadline")
        deadline = deadline if isinstance(deadline, dt.date) else None
        columns = (Col("STT", 5, "center"), Col("Tên cơ quan, đơn vị", 40, "wrap"),
                   Col("Ngày nhận báo cáo", 11, "date"), Col("Thời hạn", 11, "center"),
                   Col("Tình trạng", 12, "center"), Col("Ghi chú", 30, "wrap"))
        first, counted = self.receipts()
        lines: list[Line] = []
        on_time = late = 0
        for g_index, group in enumerate(self.s.groups.index):
            members = self.s.agencies[self.s.agencies["group"] == group]
            received = int((members["status"] != C.MISSING).sum())
            lines.append(("group", [ROMAN[g_index], f"{self.level_label(group)} (đã nộp {received}/{len(members)})",
                                    None, None, None, None]))
            for i, (code, a) in enumerate(members.iterrows(), start=1):
                day = first.get(code)
                timing, is_late = _timing(day, deadline)
                on_time += day is not None and not is_late
                late += is_late
                lines.append((_return_style(a["status"], is_late),
                              [i, str(a["name_vi"]), day, timing, _status_word(a["status"]),
                               self.return_note(a, day, counted.get(code))]))
        counts = self.s.status_counts()
        valid = counts["accepted"] + counts["accepted_with_warnings"]
        notes = [f"Hạn gửi báo cáo: {date_vi(deadline)}." if deadline else "",
                 f"Đã nhận báo cáo của {counts['received']}/{counts['expected']} cơ quan, đơn vị ({on_time} đúng hạn, "
                 f"{late} trễ hạn); {valid} báo cáo hợp lệ, {counts['rejected']} chưa hợp lệ; "
                 f"{counts['missing']} đơn vị chưa nộp.",
                 "Ngày nhận là ngày nhận tệp báo cáo đầu tiên của đơn vị; thời hạn tính theo ngày đó. Báo cáo chưa "
                 "hợp lệ: đơn vị hoàn thiện theo phản hồi của Sở và gửi lại."]
        return Bieu("05", "bieu05", "Biểu 05 Tình hình nộp", "TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC CƠ QUAN, ĐƠN VỊ",
                    f"(Kỳ kế hoạch {self.s.round}" + (f"; đến ngày {date_vi(as_of(self.s))})" if as_of(self.s) else ")"),
                    "", (Part("", columns, tuple(lines)),), tuple(n for n in notes if n), landscape=False)

    def receipts(self) -> tuple[dict[str, dt.date], dict[str, dt.date]]:
        """Per agency: the day its first file was received, and the day of the return that counts."""
        subs = self.s.submissions
        subs = subs[subs["agency"].isin(self.s.agencies.index)]
        days = pd.to_datetime(subs["received_at"]).dt.date
        first = days.groupby(subs["agency"]).min().to_dict()
        counted = days[subs["counted"].to_numpy(dtype=bool)].groupby(subs["agency"][subs["counted"]]).max().to_dict()
        return first, counted

    def return_note(self, a: pd.Series, first: dt.date | None, counted: dt.date | None) -> str | None:
        if a["status"] == C.MISSING:
            return "Đề nghị gửi báo cáo"
        if a["status"] == C.REJECTED:
            return "Đề nghị hoàn thiện và gửi lại"
        notes = []
        if counted is not None and first is not None and counted > first:
            notes.append(f"Báo cáo hợp lệ nhận ngày {date_vi(counted)}")
        if int(a["returns"]) > 1:
            notes.append(f"đã gửi {int(a['returns'])} lần")
        text = "; ".join(notes)
        return text[:1].upper() + text[1:] if text else None


def _after_colon(label: str) -> str:
    """"Theo nguồn: ngân sách trung ương" → "Ngân sách trung ương": a column header under its band."""
    text = label.split(": ", 1)[-1].strip()
    return text[:1].upper() + text[1:]


def _kind(m: C.Measure) -> str:
    return "count" if m.fmt in ("bool", "choice", "year") else m.fmt


def _timing(day: dt.date | None, deadline: dt.date | None) -> tuple[str | None, bool]:
    if day is None or deadline is None:
        return None, False
    late = (day - deadline).days
    return ("Đúng hạn", False) if late <= 0 else (f"Trễ {late} ngày", True)


def _status_word(status: str) -> str:
    """The status label (pipeline.i18n.STATUS_LABELS); leaders read a valid return as valid, warnings or not."""
    return STATUS_LABELS["accepted" if status == "accepted_with_warnings" else status][0]


def _return_style(status: str, late: bool) -> str:
    if status == C.MISSING:
        return "missing"
    if status == C.REJECTED:
        return "flag"
    return "body"


def label_span(style: str, values: Sequence[Any]) -> int:
    """The last column a group line's label (column 1) runs over: the empty cells right after it; 0 if none."""
    if style != "group":
        return 0
    end = 1
    while end + 1 < len(values) and values[end + 1] is None:
        end += 1
    return end if end > 1 else 0


def typed(value: Any) -> tuple[Any, str | None]:
    """(value, its own kind) for a cell: a figure of Biểu 01/02 carries its kind; others take the column's."""
    if isinstance(value, Cell):
        return value.value, value.kind
    return value, None


def text_of(value: Any, kind: str) -> str:
    """A cell as printed text, the Vietnamese way (the report's tables; the sheets use number formats)."""
    value, own = typed(value)
    kind = own or kind
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, dt.date):
        return date_vi(value)
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, int | float):
        decimals = {"count": 0, "money": 1, "ratio": 2, "pct": 1}.get(kind)
        return number_vi(value, decimals, fixed=kind == "money")
    return str(value)


# --------------------------------------------------------------------------------------------------------
# The form's other tables (form 1.1), for the report: the 2008 annual plan and the online-services roadmap


ANNUAL_PLAN = "kh_2008"  # table id: the 2008 annual plan, a line per task
SERVICES = "dvc"  # table id: the agency's administrative procedures with their online level, now and planned
LEVELS = ("Chưa cung cấp trực tuyến", "Mức 1", "Mức 2", "Mức 3", "Mức 4")


def other_table(summary: C.Summary, spec: FormSpec, table_id: str) -> tuple[Any, pd.DataFrame] | None:
    """(the spec's table, its rows in the counted returns), or None when the form has no such table."""
    table = next((t for t in getattr(spec, "tables", ()) if t.id == table_id), None)
    rows = getattr(summary, "tables", {}).get(table_id)
    return None if table is None or rows is None else (table, rows)


def annual_plan_part(summary: C.Summary, spec: FormSpec) -> Part | None:
    """The 2008 plan's tasks by content group: how many, their cost, by source, and how much is already in
    the 2008 budget estimate or requested in addition."""
    found = other_table(summary, spec, ANNUAL_PLAN)
    if found is None:
        return None
    table, rows = found
    columns = {c.id: c for c in table.columns}
    money = [c.id for c in table.columns if c.type == "money"]
    cost = money[0] if money else None
    split = next((c for c in table.columns if c.type == "choice" and c.id != C.PROJECT_AREA), None)
    choices = spec.choices.get(split.choices or "", ()) if split is not None else ()
    head = [Col("STT", 5, "center"), Col("Nhóm nội dung", 26, "wrap"), Col("Số nhiệm vụ", 8, "count")]
    head += [Col(_after_colon(columns[c].vi).replace(" (triệu đồng)", ""), 10, "money",
                 "Nguồn" if c != cost else "") for c in money]
    head += [Col(ch.vi, 11, "money", "Dự toán năm 2008") for ch in choices]
    area = columns.get(C.PROJECT_AREA)
    codes = [ch.code for ch in spec.choices.get(area.choices or "", ())] if area is not None else []
    lines: list[Line] = []

    def line(part: pd.DataFrame) -> list[Any]:
        by_choice = [float(part.loc[part[split.id] == ch.code, cost].sum()) if split is not None and cost else None
                     for ch in choices]
        return [len(part), *(float(part[c].sum()) for c in money), *by_choice]

    for i, code in enumerate(codes, start=1):
        part = rows[rows[C.PROJECT_AREA] == code] if C.PROJECT_AREA in rows else rows.iloc[:0]
        if len(part):
            lines.append(("body", [i, spec.choice_label(area.choices or "", code, "vi"), *line(part)]))
    lines.append(("total", [None, "TỔNG CỘNG", *line(rows)]))
    return Part("Kế hoạch ứng dụng CNTT năm 2008 theo nhóm nội dung", tuple(head), tuple(lines))


def services_part(summary: C.Summary, spec: FormSpec) -> Part | None:
    """The online-services roadmap: how many procedures stand at each level now and in each plan year."""
    found = other_table(summary, spec, SERVICES)
    if found is None:
        return None
    table, rows = found
    levels = [c for c in table.columns if c.type == "int" and c.max == len(LEVELS) - 1]
    if not levels:
        return None
    head = (Col("STT", 5, "center"), Col("Mức độ dịch vụ công trực tuyến", 30, "wrap"),
            *(Col(c.vi.replace("Mức ", "").replace("dự kiến ", "").capitalize(), 11, "count", "Số thủ tục")
              for c in levels))
    lines: list[Line] = [("body", [i, word, *(int((rows[c.id] == i).sum()) for c in levels)])
                         for i, word in enumerate(LEVELS)]
    lines.append(("total", [None, "TỔNG SỐ THỦ TỤC", *(int(rows[c.id].notna().sum()) for c in levels)]))
    return Part(f"Lộ trình cung cấp dịch vụ công trực tuyến ({rows['agency'].nunique()} đơn vị lập danh mục "
                f"{len(rows)} thủ tục)", head, tuple(lines))
