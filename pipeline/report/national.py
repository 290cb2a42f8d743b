"""The national workbook's print set (`ictplan rollup`): its first sheets as biểu in the official frame, written
by the province summary's own print set (report.print_set) so both levels print alike — "Biểu số 01…" at the
top right, the two-column header, the title and coverage, the table, the place-and-date line and the signature
blocks, A4 fit to the page width with the header rows repeated.

The frame one level up: the left block is the ministry the provinces' departments report to
(report.frame.ministry_name: the spec's `national_body_vi`, "Bộ Thông tin và Truyền thông" for the 2007 plans,
renamed in August 2007 while the departments kept their names until 2008; else derived from the round's
department, "Sở Thông tin và Truyền thông" → "Bộ Thông tin và Truyền thông" for the 2008 reports): a document
of the ministry itself, its name alone in bold (Joint Circular 55/2005), or over the unit that compiles the
figures when the spec names one; the national name and motto on the right; signed for the ministry in Hà Nội.
A spec may say the others itself (`national_unit_vi`, `national_signer_vi`, `national_place_vi`).

The biểu: 01 the key indicators by province with the national total and "n/m tỉnh"; for a report round on a
plan, 02 the nation's results against their targets with the projects' money, 03 each province's; last, the
provinces taken into the roll-up (and the folders refused).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from pipeline.form.spec import FormSpec
from pipeline.report import consolidate as C
from pipeline.report import plan_vs_result as P
from pipeline.report.bieu import Bieu, Line, Part
from pipeline.report.frame import MINISTRY, Frame, frame_for, ministry_name
from pipeline.report.xlsx import Cell, Col

if TYPE_CHECKING:
    from pipeline.report.rollup import Rollup

NATIONAL_PLACE = "Hà Nội"  # where the ministries sit
NATIONAL_SIGNER = "Bộ trưởng"
KINDS = {"count": "count", "money": "money", "ratio": "ratio", "pct": "pct", "bool": "count"}


def national_frame(spec: FormSpec) -> Frame:
    """The frame of the national documents of `spec`'s round: the ministry (over the compiling unit, when the
    spec names one; the print set then writes the ministry alone, in bold)."""
    form, own = spec.form, frame_for(spec)
    body = ministry_name(spec).upper()
    return dataclasses.replace(
        own, governing=body, issuer=str(form.get("national_unit_vi") or "").upper(),
        issuer_name=body[:1] + body[1:].lower(), place=str(form.get("national_place_vi") or NATIONAL_PLACE),
        signer=str(form.get("national_signer_vi") or NATIONAL_SIGNER).upper(),
        symbol="BC-B" + "".join(w[0] for w in body.removeprefix(MINISTRY.upper()).replace(",", " ").split()), recipients=())


def national_bieu(rollup: Rollup) -> tuple[Bieu, ...]:
    tables = [_key_indicators(rollup)]
    if rollup.plan is not None:
        tables += [_plan_nation(rollup), _plan_provinces(rollup)]
    tables.append(_provinces(rollup))
    return tuple(dataclasses.replace(b, number=f"{n:02d}", key=f"bieu{n:02d}") for n, b in enumerate(tables, start=1))


# --------------------------------------------------------------------------------------------------------


def _coverage_line(rollup: Rollup) -> str:
    from pipeline.report.rollup import coverage_text

    n, m = len(rollup.provinces), rollup.expected
    agencies_n, agencies_m = rollup.agencies()
    return (f"(Tổng hợp từ báo cáo của {coverage_text(n, m)}, {coverage_text(agencies_n, agencies_m, 'cơ quan, đơn vị')}"
            f"; số liệu đến ngày {rollup.generated_at:%d/%m/%Y})")


def _bieu(rollup: Rollup, sheet: str, title: str, parts: list[Part], notes: tuple[str, ...] = (),
          landscape: bool = True) -> Bieu:
    return Bieu("", "", sheet, title, _coverage_line(rollup), "", tuple(parts), notes, landscape=landscape)


def _places(rollup: Rollup) -> list[tuple[str, str]]:
    from pipeline.report.rollup import NATION

    return [*((p.key, p.name) for p in rollup.provinces), (NATION, "Toàn quốc")]


def _key_indicators(rollup: Rollup) -> Bieu:
    from pipeline.report.rollup import NATION, coverage_text

    measures = [rollup.measures[m] for m in C.KEY_MEASURES if m in rollup.measures]
    cols = (Col("STT", 5, "center"), Col("Tỉnh, thành phố", 18, "wrap"), Col("Đơn vị báo cáo", 9, "center"),
            *(Col(f"{m.vi} ({m.unit})" if m.unit else m.vi, 11, KINDS.get(m.fmt, "count")) for m in measures))
    lines: list[Line] = []
    for i, (key, name) in enumerate(_places(rollup), start=1):
        national = key == NATION
        p = None if national else next(p for p in rollup.provinces if p.key == key)
        reported = C.coverage_text(*rollup.agencies()) if p is None else C.coverage_text(p.reported, p.agencies)
        lines.append(("total" if national else "body",
                      [None if national else i, name, reported, *(rollup.totals.at[key, m.id] for m in measures)]))
    lines.append(("body", [None, "Số tỉnh có số liệu", None,
                           *(coverage_text(int(rollup.provinces_reporting[m.id]), rollup.expected) for m in measures)]))
    title = f"TỔNG HỢP TOÀN QUỐC CÁC CHỈ TIÊU CHÍNH — {rollup.title_vi.upper()}"
    notes = ("Tổng toàn quốc là tổng của các tỉnh; tỷ lệ tính lại từ các tổng toàn quốc, không lấy bình quân tỷ lệ "
             "của các tỉnh. \"n/m tỉnh\": số tỉnh có số liệu của chỉ tiêu trên số tỉnh phải báo cáo.",)
    return _bieu(rollup, "Chỉ tiêu chính", title, [Part("", cols, tuple(lines))], notes)


def _plan_nation(rollup: Rollup) -> Bieu:
    from pipeline.report.rollup import NATION, coverage_text

    plan = rollup.plan
    assert plan is not None
    year = str(rollup.round)
    cols = (Col("STT", 5, "center"), Col(P.word("pvr.h.item", "vi"), 34, "wrap"), Col("Đơn vị tính", 9, "center"),
            Col(P.word("pvr.h.target", "vi"), 12, "count"), Col(P.word("pvr.h.result", "vi"), 12, "count"),
            Col(P.word("pvr.h.gap", "vi"), 11, "count"), Col(P.word("pvr.h.pct", "vi"), 11, "pct"),
            Col(P.word("pvr.h.reached", "vi"), 10, "center"), Col("Số tỉnh có số liệu", 11, "center"),
            Col(P.word("pvr.h.compared", "vi"), 11, "center"))
    lines: list[Line] = []
    for i, f in enumerate(plan.fields, start=1):
        r = plan.at(NATION, f.id)
        kind = KINDS.get(P.kind_of(f), "count")
        reached = None if r["reached"] is None or r["reached"] != r["reached"] else bool(r["reached"])
        verdict = "" if reached is None else P.word("pvr.reached" if reached else "pvr.not_reached", "vi")
        lines.append(("flag" if reached is False else "body",
                      [i, f.vi, f.unit or "", Cell(_value(r["target"]), kind), Cell(_value(r["result"]), kind),
                       Cell(_value(r["gap"]), kind), _value(r["pct"]), verdict,
                       coverage_text(plan.compared[f.id], rollup.expected), C.coverage_text(int(r["n"]), int(r["m"]))]))
    money_cols = (Col("STT", 5, "center"), Col("Tỉnh, thành phố", 34, "wrap"), Col(P.word("pvr.h.count", "vi"), 9, "count"),
                  Col(P.word("pvr.h.planned", "vi"), 12, "money"), Col(P.word("pvr.h.allocated", "vi"), 12, "money"),
                  Col(P.word("pvr.h.allocated_pct", "vi"), 11, "pct"), Col(P.word("pvr.h.disbursed", "vi"), 11, "money"),
                  Col(P.word("pvr.h.disbursed_pct", "vi"), 10, "pct"))
    r = plan.money.set_index("key").loc[NATION]
    money = (("total", [None, "Toàn quốc", _value(r["projects"]), *(_value(r[k]) for k in (
        "planned", "allocated", "allocated_pct", "disbursed", "disbursed_pct"))]),)
    parts = [Part(f"1. Mục tiêu năm {year} của kế hoạch kỳ {plan.plan_round} và kết quả thực hiện", cols, tuple(lines)),
             Part(f"2. Vốn các dự án năm {year} (số tỉnh có số liệu: "
                  f"{coverage_text(plan.money_compared, rollup.expected)})", money_cols, money)]
    compared = int(plan.targets[plan.targets["key"] == NATION]["n"].max() or 0)
    notes = (f"So sánh các cơ quan, đơn vị có báo cáo được tổng hợp ở cả hai kỳ ({compared}/{rollup.agencies()[1]} "
             f"đơn vị); mục tiêu lấy từ báo cáo kế hoạch kỳ {plan.plan_round} của từng đơn vị. Số toàn quốc là tổng "
             "của các tỉnh; chỉ tổng hợp các chỉ tiêu cộng được (số lượng, kinh phí), các tỷ lệ xem ở biểu tổng hợp "
             "của từng tỉnh.",)
    return _bieu(rollup, "Thực hiện so với kế hoạch", P.word("title.pvr_targets", "vi", year=year,
                                                                 plan=plan.plan_round) + " — TOÀN QUỐC", parts, notes)


def _plan_provinces(rollup: Rollup) -> Bieu:
    from pipeline.report.rollup import NATION

    plan = rollup.plan
    assert plan is not None
    cols = [Col("STT", 5, "center"), Col("Tỉnh, thành phố", 18, "wrap")]
    for f in plan.fields:
        band = f"{f.vi} ({f.unit})" if f.unit else f.vi
        kind = KINDS.get(P.kind_of(f), "count")
        cols += [Col("Kế hoạch", 10, kind, band), Col("Thực hiện", 10, kind, band)]
    cols += [Col("Kế hoạch", 11, "money", "Vốn dự án (triệu đồng)"), Col("Đã bố trí", 11, "money", "Vốn dự án (triệu đồng)"),
             Col("Đã giải ngân", 11, "money", "Vốn dự án (triệu đồng)")]
    targets, money = plan.targets.set_index(["key", "field"]), plan.money.set_index("key")
    lines: list[Line] = []
    for i, (key, name) in enumerate(_places(rollup), start=1):
        figures = [_value(targets.at[(key, f.id), k]) for f in plan.fields for k in ("target", "result")]
        figures += [_value(money.at[key, k]) for k in ("planned", "allocated", "disbursed")]
        lines.append(("total" if key == NATION else "body", [None if key == NATION else i, name, *figures]))
    notes = ("Ô trống: tỉnh chưa so sánh được (chưa tổng hợp báo cáo kế hoạch của kỳ trước trong sổ theo dõi).",)
    return _bieu(rollup, "Thực hiện theo tỉnh", f"MỤC TIÊU VÀ KẾT QUẢ THỰC HIỆN NĂM {rollup.round} CỦA TỪNG TỈNH, "
                                                 "THÀNH PHỐ", [Part("", tuple(cols), tuple(lines))], notes)


def _provinces(rollup: Rollup) -> Bieu:
    from pipeline.report.rollup import date_text

    cols = (Col("STT", 5, "center"), Col("Tỉnh, thành phố", 22, "wrap"), Col("Số liệu đến ngày", 12, "center"),
            Col("Đơn vị báo cáo", 11, "center"), Col("Ghi chú", 40, "wrap"))
    lines: list[Line] = [("body", [i, p.name, date_text(p.generated_at), C.coverage_text(p.reported, p.agencies),
                                   "Đã cộng vào số liệu toàn quốc"]) for i, p in enumerate(rollup.provinces, start=1)]
    lines += [("missing", [None, str(i.context.get("province") or i.file or ""), None, None, i.message("vi")])
              for i in rollup.refused]
    return _bieu(rollup, "Các tỉnh", "CÁC TỈNH, THÀNH PHỐ ĐÃ TỔNG HỢP", [Part("", cols, tuple(lines))],
                 landscape=False)


def _value(value: Any) -> Any:
    """A figure, or None for a blank (NaN in a frame)."""
    return None if value is None or value != value else value
