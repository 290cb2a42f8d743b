"""Thực hiện so với kế hoạch: a report round's figures against its plan round's (the 2008 report against
the 2007 plans, issue 19), from the two rounds' Summaries alone.

- Targets: every field of the report form with a `plan_field` against that field of the agency's plan
  return: the target, the result, the gap (result − target), the result as a share of the target and
  whether it was reached (result ≥ target). Per agency that has a counted return in both rounds, then per
  group and for the province over those agencies ("n/m"): sums for counts and money; a ratio `a / b` (×100)
  as Σa / Σb against the targets weighted by b (Σ target·b / Σb); a percentage typed in, staff-weighted.
- Projects: each project of the plan with a 2008 allocation against the report's project of the same name
  (domain rule 18's name key) in the same agency: planned (the plan's kp_2008), allocated, disbursed; a
  project reported but not in the plan is listed too. Tasks of the 2008 annual plan likewise (with their
  outcome); online services: the level planned for 2008 against the level reached.
- Year over year: every measure both rounds' summaries have (the same field id asks the same question),
  per group and for the province: 2007, 2008, the change and the change in per cent.

An agency of the plan round that was merged into another (the registry's successors, when it has them) is
compared through its successor; `notes` says which. What else became of the plan round's agencies that ended
before the report round (`Handover`: a part of the work that went elsewhere, as Sở Văn hóa - Thông tin's press
and publishing to Sở Thông tin và Truyền thông; an agency dissolved without a successor) is said beside the
figures, which follow the successor only.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.form.spec import Field, FormSpec
from pipeline.report import consolidate as C

_RATIO = re.compile(r"^\s*(\w+)\s*/\s*(\w+)\s*(\*\s*100)?\s*$")
AGENCY, GROUP, PROVINCE_LEVEL = "agency", "group", "province"
PLAN_YEAR_COLUMN = "kp_2008"  # the plan's 2008 allocation of a project
TASK_COST = "kinh_phi"  # the plan's cost of a 2008 task
SERVICE_PLANNED = "muc_2008"  # the level the plan targets for 2008
# The report form's columns (report_2008_spec.yaml).
ALLOCATED, DISBURSED = {"da_2008": "von_bo_tri_2008", "th_2008": "kinh_phi_bo_tri"}, {
    "da_2008": "von_giai_ngan_2008", "th_2008": "kinh_phi_giai_ngan"}
OUTCOME, PROGRESS, REACHED_LEVEL = "ket_qua", "tien_do", "muc_dat_2008"


@dataclass(frozen=True)
class Handover:
    """A plan-round agency that ended before the report round: the first day without it, the agency that
    reports for it ("" when dissolved without one), and the parts of its work that went to others (code, part)."""

    old: str
    day: dt.date
    successor: str = ""
    transfers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, eq=False)
class PlanVsResult:
    """The comparison; every frame has plain columns (no index meaning).

    targets   level (agency | group | province), code (agency or group code; PROVINCE), field, plan_field,
              target, result, gap, pct (result / target × 100), reached (bool; None where not comparable),
              n, m (agencies compared / in the level).
    projects  agency, name, area, planned, allocated, disbursed, in_plan, in_report (one row per project).
    project_totals  level, code, planned, allocated, disbursed, allocated_pct, disbursed_pct, projects.
    tasks     agency, name, area, planned, outcome, allocated, disbursed, in_plan, in_report.
    services  agency, name, planned, reached_level, reached (bool).
    changes   level, code, measure, before, after, change, pct, n (agencies counted in both rounds with the value).
    notes     agency (plan round's code), successor: comparisons that follow a successor.
    handovers the plan-round agencies that ended before the report round (Handover).
    names     agency code → (Vietnamese, English name), for both rounds' agencies.
    plan_codes  the agencies with a counted plan return of their own.
    """

    plan_round: str
    targets: pd.DataFrame
    projects: pd.DataFrame
    project_totals: pd.DataFrame
    tasks: pd.DataFrame
    services: pd.DataFrame
    changes: pd.DataFrame
    notes: list[tuple[str, str]] = field(default_factory=list)
    handovers: tuple[Handover, ...] = ()
    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    plan_codes: frozenset[str] = frozenset()  # the agencies with a counted return of their own in the plan round

    def name(self, code: str, lang: str = "vi") -> str:
        vi, en = self.names.get(code, (code, code))
        return vi if lang == "vi" else en or vi

    def target(self, code: str, field_id: str) -> dict[str, Any]:
        rows = self.targets[(self.targets["code"] == code) & (self.targets["field"] == field_id)]
        return rows.iloc[0].to_dict() if len(rows) else {}


def results_of(spec: FormSpec) -> list[Field]:
    """The report form's fields held against a plan field, in form order."""
    return [f for f in spec.fields.values() if f.plan_field]


def compare(report: C.Summary, plan: C.Summary, spec: FormSpec, plan_spec: FormSpec,
            successors: dict[str, str] | None = None, handovers: tuple[Handover, ...] = ()) -> PlanVsResult:
    """The report round's Summary against its plan round's. `successors` maps a plan-round agency code to the
    code that reports for it now (merged agencies); their plan figures are added to the successor's. The
    `handovers` (default: none) add the successors they name and are kept for the notes."""
    successors = {**{h.old: h.successor for h in handovers if h.successor}, **(successors or {})}
    # an agency the plan round expected without a counted plan of its own is not compared through what merged
    # into it (Sở NN&PTNT's targets are not Sở Thủy sản's alone)
    plan_values = _follow(plan.values, successors, plan_spec, set(plan.agencies.index))
    codes = list(report.agencies.index)
    group_of = report.agencies["group"].to_dict()
    both = [c for c in codes if c in report.values.index and c in plan_values.index]
    targets = _targets(spec, plan_spec, report, plan_values, both, codes, group_of)
    projects = _matched(plan.projects, report.projects, C.PROJECT_NAME, PLAN_YEAR_COLUMN, "da_2008", successors,
                        both, PROGRESS)
    tasks = _matched(plan.tables.get("kh_2008", _empty()), report.tables.get("th_2008", _empty()), "ten_nhiem_vu",
                     TASK_COST, "th_2008", successors, both, OUTCOME)
    services = _services(plan.tables.get("dvc", _empty()), report.tables.get("dvc_2008", _empty()), successors, both)
    plan_order = {code: i for i, code in enumerate(plan.agencies.index)}
    report_order = {code: i for i, code in enumerate(codes)}
    notes = sorted(((old, new) for old, new in successors.items() if new in both and old in plan.values.index),
                   key=lambda pair: (report_order[pair[1]], plan_order.get(pair[0], 0)))
    names = {code: (row["name_vi"], row["name_en"]) for frame in (plan.agencies, report.agencies)
             for code, row in frame[["name_vi", "name_en"]].iterrows()}
    planned = set(plan.values.index)
    return PlanVsResult(plan.round, targets, projects, _money_totals(projects, group_of, report), tasks, services,
                        _changes(report, plan, spec, plan_spec, plan_values, both), notes,
                        tuple(handovers), names, frozenset(planned))


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["agency"])


def _follow(values: pd.DataFrame, successors: dict[str, str], plan_spec: FormSpec,
            expected: set[str] | None = None) -> pd.DataFrame:
    """The plan's values with merged agencies' rows added into their successor's: counts and money summed,
    ratios and percentages (targets among them) averaged weighted by staff; other values the successor's. A
    successor the plan round `expected` that has no row (its own plan not counted) gets none."""
    if not successors:
        return values
    additive = {f.id for f in plan_spec.fields.values() if f.value_type in ("int", "money")}
    averaged = {f.id for f in plan_spec.fields.values() if f.value_type in ("dec", "pct")}
    frame = values.astype(object).copy()
    for old, new in successors.items():
        if old not in frame.index:
            continue
        if new not in frame.index and new in (expected or set()):
            pass  # its own plan is missing: its targets would be only what merged into it
        elif new not in frame.index:
            frame.loc[new] = frame.loc[old]
        else:
            a, b = frame.loc[old], frame.loc[new].copy()
            wa, wb = _number(a.get(C.STAFF)) or 0.0, _number(b.get(C.STAFF)) or 0.0
            for column in frame.columns:
                x, y = _number(a[column]), _number(b[column])
                if x is None or y is None:
                    b[column] = b[column] if y is not None else a[column]
                elif column in additive:
                    b[column] = x + y
                elif column in averaged and wa + wb:
                    b[column] = (x * wa + y * wb) / (wa + wb)
            frame.loc[new] = b
        frame = frame.drop(index=old)
    return frame.infer_objects()


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def summed(f: Field) -> bool:
    """Whether a result's level figures (group, province; the nation's in `ictplan rollup`) are sums of its
    agencies': counts and money. Ratios are recomputed from totals and percentages weighted by staff."""
    ratio = _RATIO.match(f.formula.source) if f.formula is not None else None
    return ratio is None and f.type != "pct"


def judged(target: float | None, result: float | None) -> dict[str, Any]:
    """A result against its target: the gap, the result as a share of the target, whether it was reached."""
    comparable = target is not None and result is not None
    return {"gap": result - target if comparable else None,
            "pct": 100.0 * result / target if comparable and target else None,
            "reached": bool(result + 1e-9 >= target) if comparable else None}


def _row(level: str, code: str, f: Field, target: float | None, result: float | None, n: int, m: int) -> dict:
    return {"level": level, "code": code, "field": f.id, "plan_field": f.plan_field, "target": target,
            "result": result, **judged(target, result), "n": n, "m": m}


def _targets(spec: FormSpec, plan_spec: FormSpec, report: C.Summary, plan_values: pd.DataFrame, both: list[str],
             codes: list[str], group_of: dict[str, str]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    results = [f for f in results_of(spec) if f.plan_field in plan_spec.fields]
    for code in codes:
        for f in results:
            target = _number(plan_values.at[code, f.plan_field]) if code in both else None
            result = _number(report.values.at[code, f.id]) if code in both else None
            rows.append(_row(AGENCY, code, f, target, result, int(target is not None and result is not None), 1))
    levels = [(GROUP, g, [c for c in codes if group_of.get(c) == g]) for g in report.groups.index]
    levels.append((PROVINCE_LEVEL, C.PROVINCE, codes))
    for level, code, members in levels:
        for f in results:
            pairs = [c for c in members if c in both and _number(plan_values.at[c, f.plan_field]) is not None
                     and _number(report.values.at[c, f.id]) is not None]
            target, result = _aggregate(f, spec, report.values, plan_values, pairs)
            rows.append(_row(level, code, f, target, result, len(pairs), len(members)))
    return pd.DataFrame(rows, columns=["level", "code", "field", "plan_field", "target", "result", "gap", "pct",
                                       "reached", "n", "m"])


def _aggregate(f: Field, spec: FormSpec, values: pd.DataFrame, plan_values: pd.DataFrame,
               codes: list[str]) -> tuple[float | None, float | None]:
    """The level's target and result over `codes` (see the module's docstring)."""
    if not codes:
        return None, None
    targets = [float(plan_values.at[c, f.plan_field]) for c in codes]
    ratio = _RATIO.match(f.formula.source) if f.formula is not None else None
    if not summed(f):
        top, bottom = (ratio.group(1), ratio.group(2)) if ratio else (None, C.STAFF)
        scale = 100.0 if ratio is not None and ratio.group(3) else 1.0
        weights = [_number(values.at[c, bottom]) or 0.0 for c in codes]
        if not sum(weights):
            return None, None
        if ratio is not None:
            result = scale * sum(_number(values.at[c, top]) or 0.0 for c in codes) / sum(weights)
        else:
            result = sum(float(values.at[c, f.id]) * w for c, w in zip(codes, weights, strict=True)) / sum(weights)
        return sum(t * w for t, w in zip(targets, weights, strict=True)) / sum(weights), result
    return sum(targets), sum(float(values.at[c, f.id]) for c in codes)


def _matched(plan_rows: pd.DataFrame, report_rows: pd.DataFrame, name: str, planned: str, table: str,
             successors: dict[str, str], both: list[str], state: str) -> pd.DataFrame:
    """Plan rows (those with money planned for 2008) and report rows matched by agency and name key."""
    columns = ["agency", "name", "area", "planned", "allocated", "disbursed", state, "in_plan", "in_report"]
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in plan_rows.to_dict("records"):
        agency = successors.get(row["agency"], row["agency"])
        amount = _number(row.get(planned))
        if agency not in both or not amount:
            continue
        key = (agency, C.name_key(row.get(name)))
        entry = out.setdefault(key, {"agency": agency, "name": row.get(name), "area": row.get(C.PROJECT_AREA),
                                     "planned": 0.0, "allocated": None, "disbursed": None, state: None,
                                     "in_plan": True, "in_report": False})
        entry["planned"] += amount
    for row in report_rows.to_dict("records"):
        if row["agency"] not in both:
            continue
        key = (row["agency"], C.name_key(row.get(name)))
        entry = out.setdefault(key, {"agency": row["agency"], "name": row.get(name),
                                     "area": row.get(C.PROJECT_AREA), "planned": None, "allocated": 0.0,
                                     "disbursed": 0.0, state: None, "in_plan": False, "in_report": True})
        entry["in_report"] = True
        entry["allocated"] = (entry["allocated"] or 0.0) + (_number(row.get(ALLOCATED[table])) or 0.0)
        entry["disbursed"] = (entry["disbursed"] or 0.0) + (_number(row.get(DISBURSED[table])) or 0.0)
        entry[state] = row.get(state)
    order = {c: i for i, c in enumerate(both)}
    rows = sorted(out.values(), key=lambda e: (order[e["agency"]], not e["in_plan"]))
    return pd.DataFrame(rows, columns=columns)


def _money_totals(projects: pd.DataFrame, group_of: dict[str, str], report: C.Summary) -> pd.DataFrame:
    """Planned, allocated and disbursed per agency, group and the province."""
    rows = []
    frame = projects.assign(group=projects["agency"].map(group_of))
    levels = [(AGENCY, code, frame[frame["agency"] == code]) for code in dict.fromkeys(frame["agency"])]
    levels += [(GROUP, g, frame[frame["group"] == g]) for g in report.groups.index]
    levels.append((PROVINCE_LEVEL, C.PROVINCE, frame))
    for level, code, part in levels:
        planned = float(pd.to_numeric(part["planned"]).fillna(0).sum())
        allocated = float(pd.to_numeric(part["allocated"]).fillna(0).sum())
        disbursed = float(pd.to_numeric(part["disbursed"]).fillna(0).sum())
        rows.append({"level": level, "code": code, "planned": planned, "allocated": allocated,
                     "disbursed": disbursed, "allocated_pct": 100.0 * allocated / planned if planned else None,
                     "disbursed_pct": 100.0 * disbursed / allocated if allocated else None, "projects": len(part)})
    return pd.DataFrame(rows, columns=["level", "code", "planned", "allocated", "disbursed", "allocated_pct",
                                       "disbursed_pct", "projects"])


def _services(plan_rows: pd.DataFrame, report_rows: pd.DataFrame, successors: dict[str, str],
              both: list[str]) -> pd.DataFrame:
    planned = {(successors.get(r["agency"], r["agency"]), C.name_key(r.get("ten_thu_tuc"))): r
               for r in plan_rows.to_dict("records")}
    rows = []
    for r in report_rows.to_dict("records"):
        if r["agency"] not in both:
            continue
        plan_row = planned.get((r["agency"], C.name_key(r.get("ten_thu_tuc"))))
        target = _number(plan_row.get(SERVICE_PLANNED)) if plan_row is not None else None
        level = _number(r.get(REACHED_LEVEL))
        rows.append({"agency": r["agency"], "name": r.get("ten_thu_tuc"), "planned": target, "reached_level": level,
                     "reached": None if target is None or level is None else level >= target})
    return pd.DataFrame(rows, columns=["agency", "name", "planned", "reached_level", "reached"])


def _changes(report: C.Summary, plan: C.Summary, spec: FormSpec, plan_spec: FormSpec, plan_values: pd.DataFrame,
             both: list[str]) -> pd.DataFrame:
    """Every measure both forms have, over the agencies counted in both rounds (so a change is not a change
    of who reported), per group and for the province: before, after, change, %, n."""
    group_of = report.agencies["group"].loc[both]
    groups = list(report.groups.index)
    plan_projects = plan.projects[plan.projects["agency"].isin(both)] if len(plan.projects) else plan.projects
    report_projects = report.projects[report.projects["agency"].isin(both)] if len(report.projects) else report.projects
    measures, _, before, before_n = C.figures(plan_spec, plan_values.loc[both], plan_projects, group_of, groups)
    later, _, after, after_n = C.figures(spec, report.values.loc[both], report_projects, group_of, groups)
    shared = [m for m in later if m in measures and later[m].how != "none" and measures[m].how == later[m].how
              and m != C.PROJECT_COUNT]  # the projects of a plan and of a year's report are not the same count
    rows = []
    for level, code in [*((GROUP, g) for g in groups), (PROVINCE_LEVEL, C.PROVINCE)]:
        for m in shared:
            old, new = _number(before.at[code, m]), _number(after.at[code, m])
            comparable = old is not None and new is not None
            rows.append({"level": level, "code": code, "measure": m, "before": old, "after": new,
                         "change": new - old if comparable else None,
                         "pct": 100.0 * (new - old) / old if comparable and old else None,
                         "n": int(min(before_n.at[code, m], after_n.at[code, m]))})
    return pd.DataFrame(rows, columns=["level", "code", "measure", "before", "after", "change", "pct", "n"])


# --------------------------------------------------------------------------------------------------------
# The sheets' rows ("Thực hiện so với kế hoạch" in the report round's summary workbook). The workbook's
# mechanics (styles, widths, print set-up) are report.summary's; here: which columns, which rows.

SHEETS = ("pvr_targets", "pvr_projects", "pvr_tasks", "pvr_services", "pvr_changes")
WORDS: dict[str, tuple[str, str]] = {
    "sheet.pvr_targets": ("Thực hiện so với kế hoạch", "Plan against result"),
    "sheet.pvr_projects": ("TH-KH dự án", "Plan-result projects"),
    "sheet.pvr_tasks": ("TH-KH nhiệm vụ", "Plan-result tasks"),
    "sheet.pvr_services": ("TH-KH dịch vụ công", "Plan-result services"),
    "sheet.pvr_changes": ("Biến động chỉ tiêu", "Year-over-year change"),
    "title.pvr_targets": ("THỰC HIỆN SO VỚI KẾ HOẠCH: MỤC TIÊU NĂM {year} CỦA KẾ HOẠCH KỲ {plan}",
                          "PLAN AGAINST RESULT: THE {year} TARGETS OF THE {plan} PLAN"),
    "title.pvr_projects": ("THỰC HIỆN SO VỚI KẾ HOẠCH: VỐN CÁC DỰ ÁN NĂM {year} (KẾ HOẠCH, ĐÃ BỐ TRÍ, ĐÃ GIẢI NGÂN)",
                           "PLAN AGAINST RESULT: PROJECTS' {year} MONEY (PLANNED, ALLOCATED, DISBURSED)"),
    "title.pvr_tasks": ("THỰC HIỆN CÁC NHIỆM VỤ CỦA KẾ HOẠCH NĂM {year}", "THE {year} ANNUAL PLAN'S TASKS"),
    "title.pvr_services": ("MỨC DỊCH VỤ CÔNG TRỰC TUYẾN NĂM {year}: KẾ HOẠCH VÀ THỰC HIỆN",
                           "ONLINE SERVICES IN {year}: LEVEL PLANNED AND REACHED"),
    "title.pvr_changes": ("BIẾN ĐỘNG CÁC CHỈ TIÊU SO VỚI KỲ {plan}", "CHANGE OF THE INDICATORS SINCE THE {plan} ROUND"),
    "pvr.note.pvr": ("So sánh các đơn vị có báo cáo được tổng hợp ở cả hai kỳ ({n}/{m} đơn vị). Mục tiêu lấy từ báo cáo "
                 "kế hoạch kỳ {plan} của đơn vị; cấp tỉnh và khối: số cộng, tỷ lệ tính từ tổng số, mục tiêu tỷ lệ "
                 "bình quân theo quy mô.",
                 "Agencies with a counted return in both rounds ({n}/{m}). Targets from each agency's {plan} plan; "
                 "groups and province: sums, ratios from the totals, ratio targets weighted by size."),
    "pvr.note.successor": ("Mục tiêu của {new} lấy từ kế hoạch kỳ {plan} của {old} (đơn vị tiền thân).",
                           "The targets of {new} come from the {plan} plan of {old} (its predecessor)."),
    "pvr.note.merged": ("Mục tiêu của {new} gồm kế hoạch kỳ {plan} của đơn vị và của {old} (đã sáp nhập vào đơn vị).",
                        "The targets of {new} are its own {plan} plan and that of {old} (merged into it)."),
    "pvr.note.summed": ("Số lượng, kinh phí cộng lại; tỷ lệ bình quân theo quy mô.",
                        "Counts and money added; ratios weighted by size."),
    "pvr.note.unplanned": ("Kế hoạch của {old} chưa được tổng hợp (không có báo cáo hợp lệ), không tính.",
                           "The plan of {old} was not counted (no valid return) and is left out."),
    "pvr.note.transfer": ("Phần {part} của {old} chuyển sang {new} từ ngày {day}: kế hoạch của {old} được so sánh "
                          "qua {main}, không tính vào {new}.",
                          "The {part} work of {old} went to {new} on {day}: the plan of {old} is compared through "
                          "{main}, not counted in {new}."),
    "pvr.note.ended": ("{old} thôi là đơn vị báo cáo từ ngày {day}, không có đơn vị kế thừa{parts}: kế hoạch kỳ {plan} "
                       "của đơn vị không được so sánh.",
                       "{old} ceased to report on {day}, with no successor{parts}: its {plan} plan is not compared."),
    "pvr.note.parts": ("; công việc chuyển sang: {parts}", "; its work went to: {parts}"),
    "pvr.h.item": ("Chỉ tiêu", "Indicator"), "pvr.h.target": ("Mục tiêu (kế hoạch)", "Target (plan)"),
    "pvr.h.result": ("Thực hiện", "Result"), "pvr.h.gap": ("Chênh lệch", "Gap"),
    "pvr.h.pct": ("Tỷ lệ thực hiện (%)", "Result / target (%)"), "pvr.h.reached": ("Đánh giá", "Assessment"),
    "pvr.h.compared": ("Số đơn vị so sánh", "Agencies compared"), "pvr.h.name": ("Tên dự án, nhiệm vụ", "Project or task"),
    "pvr.h.area": ("Nhóm nội dung", "Content area"), "pvr.h.planned": ("Kế hoạch (triệu đồng)", "Planned (million VND)"),
    "pvr.h.allocated": ("Đã bố trí (triệu đồng)", "Allocated (million VND)"),
    "pvr.h.disbursed": ("Đã giải ngân (triệu đồng)", "Disbursed (million VND)"),
    "pvr.h.allocated_pct": ("Bố trí / kế hoạch (%)", "Allocated / planned (%)"),
    "pvr.h.disbursed_pct": ("Giải ngân / bố trí (%)", "Disbursed / allocated (%)"),
    "pvr.h.count": ("Số dự án", "Projects"), "pvr.h.state": ("Tiến độ, kết quả", "Progress"),
    "pvr.h.note": ("Ghi chú", "Note"), "pvr.h.procedure": ("Thủ tục hành chính", "Procedure"),
    "pvr.h.level_planned": ("Mức kế hoạch", "Level planned"), "pvr.h.level_reached": ("Mức đạt được", "Level reached"),
    "pvr.h.before": ("Kỳ {plan}", "Round {plan}"), "pvr.h.after": ("Năm {year}", "{year}"),
    "pvr.h.change": ("Thay đổi", "Change"), "pvr.h.change_pct": ("Thay đổi (%)", "Change (%)"),
    "pvr.reached": ("Đạt", "Reached"), "pvr.not_reached": ("Chưa đạt", "Not reached"),
    "pvr.not_in_plan": ("Không có trong kế hoạch", "Not in the plan"), "pvr.not_reported": ("Chưa báo cáo", "Not reported"),
}


def word(key: str, lang: str, **params: Any) -> str:
    vi, en = WORDS[key]
    text = vi if lang == "vi" else en
    return text.format(**params) if params else text


def kind_of(f: Field) -> str:
    """How a result's figures are shown: a ratio with two decimals, a percentage, money, a count."""
    shown = f.format if f.type == "computed" else f.type
    return {"ratio": "ratio", "dec": "ratio", "pct": "pct", "money": "money"}.get(shown or "", "count")


def levels_in_order(frame: pd.DataFrame, codes: list[str]) -> list[tuple[str, str]]:
    """The province, then the groups, then the agencies (registry order): (level, code) as in `frame`."""
    present = set(zip(frame["level"], frame["code"], strict=True))
    order = [(PROVINCE_LEVEL, C.PROVINCE), *((lv, c) for lv, c in dict.fromkeys(zip(frame["level"], frame["code"],
                                                                                     strict=True)) if lv == GROUP)]
    order += [(AGENCY, c) for c in codes if (AGENCY, c) in present]
    return [x for x in order if x in present]


def row_style(level: str) -> str:
    return {PROVINCE_LEVEL: "total", GROUP: "subtotal"}.get(level, "body")


def note_lines(c: PlanVsResult, lang: str) -> list[str]:
    """The sentences said under a "Thực hiện so với kế hoạch" title about agencies that changed between the two
    rounds: whose plan each successor's targets come from, the parts of work that went elsewhere (not in the
    figures) and the agencies dissolved without a successor."""
    lines = []
    by_new: dict[str, list[str]] = {}
    for old, new in c.notes:
        by_new.setdefault(new, []).append(old)
    for new, olds in by_new.items():
        joined = _joined([c.name(o, lang) for o in olds], lang)
        merged = new in c.plan_codes
        key = "pvr.note.merged" if merged else "pvr.note.successor"
        line = word(key, lang, new=c.name(new, lang), old=joined, plan=c.plan_round)
        if len(olds) > 1 or merged:
            line += " " + word("pvr.note.summed", lang)
        unplanned = [h.old for h in c.handovers if h.successor == new and h.old not in c.plan_codes]
        if unplanned:
            line += " " + word("pvr.note.unplanned", lang, old=_joined([c.name(o, lang) for o in unplanned], lang))
        lines.append(line)
    successor_of = dict(c.notes)  # compared through their successor
    for h in (h for h in c.handovers if h.old in c.plan_codes):
        day = h.day.strftime("%d/%m/%Y")
        if h.successor and h.old in successor_of:
            for code, part in h.transfers:
                lines.append(word("pvr.note.transfer", lang, part=part, old=c.name(h.old, lang), new=c.name(code, lang),
                                  day=day, main=c.name(h.successor, lang)))
        elif not h.successor:
            parts = "; ".join(f"{part} → {c.name(code, lang)}" for code, part in h.transfers)
            lines.append(word("pvr.note.ended", lang, old=c.name(h.old, lang), day=day, plan=c.plan_round,
                              parts=word("pvr.note.parts", lang, parts=parts) if parts else ""))
    return lines


def _joined(names: list[str], lang: str) -> str:
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {'và' if lang == 'vi' else 'and'} {names[-1]}"
