"""Plausible implementation reports (the 2008 form): each agency's figures at the end of 2008, near its own
2007 plan, some targets reached and some not, with the mistakes agencies make.

A result is made from the agency's plan return, the one `sample.write_samples` writes for the plan round with
the same seed (its clean figures: `sample.make_sample` with the same rng): staff a little changed, PCs, e-mail
users, documents exchanged online, IT staff and training moved to the 2008 target (reached, about two in
three) or part of the way to it (not reached); every task of its 2008 annual plan reported (done, in progress,
not started) with what was allocated and disbursed; every project with a 2008 allocation; every procedure of
its online-services roadmap with the level reached. Like the plan samples it satisfies every rule of its
spec (`sample.audit` checks it), and a sample with mistakes records each one (`sample.Mistake`), verified.

An agency the report round expects that took over others (the 2008 reorganisation, the registry's successors:
Sở Thông tin và Truyền thông after Sở Bưu chính, Viễn thông; Sở Công Thương after Sở Công nghiệp and Sở Thương
mại và Du lịch; Sở Nông nghiệp và PTNT with Sở Thủy sản) reports from their plans put together
(`merged_plan`): counts and money added, percentages weighted by staff, the tables' rows one after the other.

Deterministic: a result depends on the seed and the agency code only (and the registry's successors).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipeline.form.registry import Agency, Registry, round_day
from pipeline.form.sample import (
    _INJECTORS,
    Finding,
    Mistake,
    SampleReturn,
    _blank_required,
    _field_mistake,
    _inject_one,
    _Injected,
    _money,
    _refresh_computed,
    _rule,
    _split,
    _tenths,
    _text_in_number,
    make_sample,
    write_returns,
)
from pipeline.form.spec import FormSpec, plan_spec_of
from pipeline.form.template import table_cell

REACHED = 0.65  # the share of targets an agency reaches
_SOURCES = ("nstw", "tinh", "huyen", "oda", "khac")


def plan_sample(plan_spec: FormSpec, agency: Agency, seed: int) -> SampleReturn:
    """The agency's plan return as `write_samples` makes it with `seed`, before any mistake."""
    return make_sample(plan_spec, agency, random.Random(f"{seed}/{agency.code}"))


def make_result(spec: FormSpec, plan: SampleReturn, rng: random.Random, *, mistakes: int = 0) -> SampleReturn:
    """A clean report of 2008 for the agency of `plan`, then `mistakes` injected mistakes (each verified)."""
    values, projects, tables = _Results(spec, plan, rng).run()
    sample = SampleReturn(plan.agency, values, projects, {}, [], tables)
    _refresh_computed(spec, sample)
    for _ in range(mistakes):
        _inject_one(spec, sample, rng, _RESULT_INJECTORS)
    return sample


def write_results(spec: FormSpec, registry: Registry, out_dir: str | Path, *, count: int | None = None,
                  seed: int = 2008, plan_seed: int = 2007, error_rate: float = 0.0) -> list[tuple[Path, SampleReturn]]:
    """Filled reports for the first `count` agencies (default all), from their plan samples of `plan_seed`,
    written atomically with a manifest (as `sample.write_samples`)."""
    plan_spec = plan_spec_of(spec)
    day, planned = round_day(spec), registry.of_round(plan_spec)

    def result_for(agency: Agency, rng: random.Random, mistakes: int) -> SampleReturn:
        sources = [a for a in ([agency] if planned.get(agency.code) else [])
                   + (registry.predecessors(agency.code, day) if day else []) if planned.get(a.code)]
        plans = [plan_sample(plan_spec, a, plan_seed) for a in sources]
        plan = merged_plan(plan_spec, spec, agency, plans) if plans else plan_sample(plan_spec, agency, plan_seed)
        return make_result(spec, plan, rng, mistakes=mistakes)

    return write_returns(spec, registry, out_dir, result_for, count=count, seed=seed, error_rate=error_rate,
                         stream=f"/{spec.round}", manifest={"round": spec.round, "plan_seed": plan_seed})


def merged_plan(plan_spec: FormSpec, spec: FormSpec, agency: Agency, plans: Sequence[SampleReturn]) -> SampleReturn:
    """The plan `agency` reports against when it took over the agencies of `plans` (itself first when it had one):
    counts and money added, percentages and ratios weighted by staff, yes where any said yes, other values the
    first plan's; the tables' rows one after the other (a name already listed once), as many as the report
    form holds; the agency's own identity."""
    first = plans[0]
    if len(plans) == 1 and first.agency.code == agency.code:
        return first
    values = dict(first.values)
    staff = [float(p.values.get("tong_so_cbccvc") or 0) for p in plans]
    for f in plan_spec.fields.values():
        found = [p.values.get(f.id) for p in plans]
        numbers = [x for x in found if isinstance(x, int | float) and not isinstance(x, bool)]
        if f.value_type in ("int", "money") and numbers:
            values[f.id] = sum(numbers)
        elif f.value_type in ("dec", "pct") and numbers and len(numbers) == len(plans) and sum(staff):
            values[f.id] = sum(x * w for x, w in zip(numbers, staff, strict=True)) / sum(staff)
        elif f.value_type == "bool" and any(x is not None for x in found):
            values[f.id] = any(bool(x) for x in found)
    values["ma_don_vi"], values["ten_don_vi"] = agency.code, agency.name_vi
    values["loai_don_vi"] = agency.loai_don_vi or values.get("loai_don_vi")
    if values.get("so_hieu_van_ban"):
        values["so_hieu_van_ban"] = f"{str(values['so_hieu_van_ban']).split('/', 1)[0]}/{agency.code}-VP"
    if agency.email:
        values["email_lien_he"] = agency.email
    report_rows = {t.id: t.rows for t in spec.tables}
    carried = {source: report_rows.get(target, 0)
               for target, (source, *_rest) in _carry_sources(spec).items()}
    tables = {t.id: _rows_once(t.key, [r for p in plans for r in p.tables.get(t.id, ())], carried.get(t.id))
              for t in plan_spec.other_tables}
    projects = _rows_once(plan_spec.table.key if plan_spec.table else None, [r for p in plans for r in p.projects],
                          None)
    if spec.table is not None:  # no more projects with 2008 money than the report's project table holds
        kept, room = [], spec.table.rows
        for row in projects:
            if row.get(PLAN_MONEY):
                if not room:
                    continue
                room -= 1
            kept.append(row)
        projects = kept[: plan_spec.table.rows if plan_spec.table else None]
    return dataclasses.replace(first, agency=agency, values=values, projects=projects, tables=tables)


PLAN_MONEY = "kp_2008"  # a plan project's 2008 allocation: the projects the report asks about


def _carry_sources(spec: FormSpec) -> dict[str, tuple[str]]:
    """Report table id → (the plan table its rows come from,), from the spec's `form.carry_forward`."""
    config = (spec.form.get("carry_forward") or {}).get("tables") or {}
    return {str(k): (str(v.get("from", "")),) for k, v in config.items() if isinstance(v, dict)}


def _rows_once(key: str | None, rows: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """`rows` without a second row of a name already listed (the table's key), the first `limit`."""
    seen: set[str] = set()
    out = []
    for row in rows:
        name = " ".join(str(row.get(key) or "").casefold().split()) if key else ""
        if name and name in seen:
            continue
        seen.add(name)
        out.append(row)
    return out[:limit] if limit else out


class _Results:
    """One agency's 2008 figures, from its plan."""

    def __init__(self, spec: FormSpec, plan: SampleReturn, rng: random.Random) -> None:
        self.spec, self.plan, self.rng = spec, plan, rng
        self.p = plan.values
        self.v: dict[str, Any] = {}
        self.tables: dict[str, list[dict[str, Any]]] = {t.id: [] for t in spec.other_tables}
        self.projects: list[dict[str, Any]] = []

    def run(self) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        for step in (self.general, self.infrastructure, self.direction, self.services, self.people, self.tasks,
                     self.project_list, self.spending, self.narratives):
            step()
        unknown = set(self.v) - set(self.spec.fields)
        assert not unknown, f"generator writes fields the spec does not have: {sorted(unknown)}"
        return self.v, self.projects, self.tables

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def toward(self, now: float, target: float | None) -> tuple[float, bool]:
        """A 2008 figure from the 2007 one and the 2008 target: reached (a little over it) or not (part of
        the way there). Without a target, a little more than now."""
        rng = self.rng
        if target is None:
            return now * rng.uniform(1.0, 1.15), True
        if target <= now or self.chance(REACHED):
            return max(now, target) * rng.uniform(1.0, 1.08), True
        return now + (target - now) * rng.uniform(0.3, 0.9), False

    def general(self) -> None:
        v, p, rng = self.v, self.p, self.rng
        for key in ("ma_don_vi", "ten_don_vi", "loai_don_vi", "pham_vi_so_lieu", "so_hieu_van_ban", "nguoi_lap",
                    "dien_thoai", "email_lien_he", "lanh_dao_phu_trach_cntt"):
            if p.get(key) is not None:
                v[key] = p[key]
        if "so_hieu_van_ban" in v:
            v["so_hieu_van_ban"] = f"{rng.randint(5, 120)}/{v['so_hieu_van_ban'].split('/', 1)[1]}"
        v["ngay_so_lieu"] = dt.date(2008, 12, 31)
        v["ngay_lap"] = dt.date(2009, 1, 2) + dt.timedelta(days=rng.randint(0, 45))
        v["co_ban_chi_dao_cntt"] = bool(p.get("co_ban_chi_dao_cntt")) or self.chance(0.3)
        v["co_ke_hoach_cntt_duoc_duyet"] = bool(p.get("co_ke_hoach_cntt_duoc_duyet")) or self.chance(0.5)

    def infrastructure(self) -> None:
        v, p, rng = self.v, self.p, self.rng
        staff = max(1, p["tong_so_cbccvc"] + rng.randint(-3, 6))
        v["tong_so_cbccvc"] = staff
        v["so_cbcc_su_dung_may_tinh"] = min(staff, max(p["so_cbcc_su_dung_may_tinh"], round(staff * rng.uniform(0.6, 0.97))))
        ratio, _ = self.toward(p["tong_so_may_tinh"] / p["tong_so_cbccvc"], p.get("mt_may_tinh_tren_cbcc_2008"))
        pcs = max(p["tong_so_may_tinh"], min(round(staff * 1.45), math.ceil(staff * ratio)))
        v["tong_so_may_tinh"] = pcs
        v["so_may_xach_tay"] = min(pcs, (p.get("so_may_xach_tay") or 0) + rng.randint(0, 2))
        v["so_may_chu"] = (p.get("so_may_chu") or 0) + rng.choice((0, 0, 1))
        v["co_mang_lan"] = has_lan = bool(p.get("co_mang_lan")) or self.chance(0.5)
        v["so_may_ket_noi_lan"] = round(pcs * rng.uniform(0.75, 1.0)) if has_lan else 0
        share, _ = self.toward(100 * p["so_may_ket_noi_internet"] / p["tong_so_may_tinh"],
                               p.get("mt_pct_may_internet_2008"))
        online = min(pcs, math.ceil(pcs * share / 100))
        v["so_may_ket_noi_internet"] = online
        v["so_may_internet_bang_rong"] = online
        if online:
            v["bang_thong_kbps"] = max(p.get("bang_thong_kbps") or 0, rng.choice((2048, 4096, 6144, 8192)))
        v["ket_noi_mang_dien_rong"] = bool(p.get("ket_noi_mang_dien_rong")) or self.chance(0.3)
        if self.p.get("so_xa_phuong") is not None:
            total = v["so_xa_phuong"] = p["so_xa_phuong"]
            v["so_xa_co_may_tinh"] = with_pcs = min(total, p["so_xa_co_may_tinh"] + rng.randint(0, 3))
            v["so_xa_ket_noi_internet"] = min(with_pcs, p["so_xa_ket_noi_internet"] + rng.randint(0, 5))

    def direction(self) -> None:
        v, p, rng = self.v, self.p, self.rng
        staff = v["tong_so_cbccvc"]
        share, _ = self.toward(100 * p["so_cbcc_dung_thu_thuong_xuyen"] / p["tong_so_cbccvc"],
                               p.get("mt_pct_cbcc_dung_email_2008"))
        users = min(staff, math.ceil(staff * share / 100))
        v["co_thu_dien_tu_cong_vu"] = bool(p.get("co_thu_dien_tu_cong_vu")) or users > 0
        if not v["co_thu_dien_tu_cong_vu"]:
            users = 0
        v["so_cbcc_dung_thu_thuong_xuyen"] = users
        v["so_cbcc_co_hop_thu"] = min(staff, users + rng.randint(0, 6)) if v["co_thu_dien_tu_cong_vu"] else 0
        documents, _ = self.toward(p.get("ty_le_van_ban_qua_mang") or 0, p.get("mt_pct_van_ban_qua_mang_2008"))
        v["ty_le_van_ban_qua_mang"] = min(100, round(documents))
        level = p.get("qlvb_muc_do") or "KHONG"
        if level != "TREN_MANG" and self.chance(0.4):
            level = "TREN_MANG" if level == "CAI_DAT_CUC_BO" else "CAI_DAT_CUC_BO"
        v["qlvb_muc_do"] = level
        if level != "KHONG":
            v["qlvb_ten"] = p.get("qlvb_ten") or "Văn phòng điện tử VPĐT 2.0"

    def services(self) -> None:
        """The levels reached by the roadmap's procedures (the 2008 target, or one short of it), and the
        counts of services by level: the 2007 counts moved to the 2008 targets."""
        v, p = self.v, self.p
        v["co_website"] = has_site = bool(p.get("co_website")) or self.chance(0.3)
        if has_site:
            slug = "".join(c for c in self.plan.agency.code.lower().removeprefix("h-") if c.isalnum())
            v["dia_chi_website"] = p.get("dia_chi_website") or f"http://{slug}.hatinh.gov.vn"
        procedures = v["so_tthc"] = p["so_tthc"]
        level_2 = round(self.toward(p["so_dvc_muc_2"], p.get("mt_so_dvc_muc_2_2008"))[0]) if has_site else 0
        level_3 = round(self.toward(p["so_dvc_muc_3"], p.get("mt_so_dvc_muc_3_2008"))[0]) if has_site else 0
        level_2 = min(level_2, procedures)
        level_3 = min(level_3, procedures - level_2)
        level_1 = min(p["so_dvc_muc_1"], procedures - level_2 - level_3) if has_site else 0
        v["so_dvc_muc_1"], v["so_dvc_muc_2"], v["so_dvc_muc_3"], v["so_dvc_muc_4"] = level_1, level_2, level_3, 0
        v["co_bo_phan_mot_cua"] = one_stop = bool(p.get("co_bo_phan_mot_cua")) or self.chance(0.5)
        v["mot_cua_co_phan_mem"] = one_stop and (bool(p.get("mot_cua_co_phan_mem")) or self.chance(0.3))
        rows = self.tables.setdefault("dvc_2008", [])
        for row in self.plan.tables.get("dvc", ()):
            planned = row["muc_2008"]
            reached = planned if self.chance(REACHED) else max(row["muc_hien_tai"], planned - 1)
            rows.append({"stt": row["stt"], "ten_thu_tuc": row["ten_thu_tuc"], "linh_vuc": row.get("linh_vuc"),
                         "muc_ke_hoach_2008": planned, "muc_dat_2008": reached,
                         **({"ghi_chu": "Chưa đủ điều kiện kỹ thuật."} if reached < planned and self.chance(0.5)
                            else {})})

    def people(self) -> None:
        v, p, rng = self.v, self.p, self.rng
        staff = v["tong_so_cbccvc"]
        it_staff = min(50, round(self.toward(p["so_cb_chuyen_trach"], p.get("mt_so_cb_chuyen_trach_2008"))[0]))
        v["co_don_vi_chuyen_trach"] = bool(p.get("co_don_vi_chuyen_trach")) or it_staff >= 2
        if v["co_don_vi_chuyen_trach"]:
            it_staff = max(1, it_staff)
        v["so_cb_chuyen_trach"] = it_staff
        university = min(it_staff, max(p.get("so_cb_ct_dai_hoc") or 0, rng.randint(0, it_staff)))
        v["so_cb_ct_dai_hoc"] = university
        v["so_cb_ct_cao_dang"] = rng.randint(0, it_staff - university)
        v["so_cb_ct_trung_cap"] = 0
        v["so_cbcc_chung_chi_tin_hoc"] = min(staff, max(p.get("so_cbcc_chung_chi_tin_hoc") or 0,
                                                         round(staff * rng.uniform(0.4, 0.9))))
        trained, _ = self.toward(p.get("so_luot_dao_tao_2007") or 0, p.get("mt_so_luot_dao_tao_2008"))
        v["so_luot_dao_tao_2008"] = min(5000, round(trained))

    def tasks(self) -> None:
        """Every task of the 2008 annual plan: done (allocated as planned, most of it disbursed), in
        progress (part allocated, part of that disbursed) or not started (nothing)."""
        rng = self.rng
        rows = self.tables.setdefault("th_2008", [])
        for task in self.plan.tables.get("kh_2008", ()):
            planned = round(task["kinh_phi"] * 10)
            outcome = rng.choices(("HOAN_THANH", "DANG_THUC_HIEN", "CHUA_THUC_HIEN"), (60, 28, 12))[0]
            if outcome == "HOAN_THANH":
                allocated = planned
                disbursed = round(allocated * rng.uniform(0.85, 1.0))
            elif outcome == "DANG_THUC_HIEN":
                allocated = round(planned * rng.uniform(0.4, 1.0))
                disbursed = round(allocated * rng.uniform(0.2, 0.8))
            else:
                allocated = round(planned * rng.choice((0, 0, 0.3)))
                disbursed = 0
            row = {"stt": task["stt"], "ten_nhiem_vu": task["ten_nhiem_vu"], "nhom_noi_dung": task["nhom_noi_dung"],
                   "don_vi_chu_tri": task.get("don_vi_chu_tri"), "kinh_phi_ke_hoach": task["kinh_phi"],
                   "ket_qua": outcome, "kinh_phi_bo_tri": _money(allocated), "kinh_phi_giai_ngan": _money(disbursed)}
            if outcome != "HOAN_THANH" and self.chance(0.6):
                row["ghi_chu"] = rng.choice(("Chưa được bố trí đủ vốn.", "Chuyển sang năm 2009.",
                                             "Đang chờ phê duyệt dự án."))
            rows.append(row)

    def project_list(self) -> None:
        """Every project with a 2008 allocation in the plan: allocated (all, part, or none) and disbursed."""
        rng = self.rng
        number = 0
        for project in self.plan.projects:
            planned = round(project["kp_2008"] * 10)
            if not planned:
                continue
            number += 1
            progress = rng.choices(("HOAN_THANH", "DUNG_TIEN_DO", "CHAM_TIEN_DO", "CHUA_TRIEN_KHAI"), (20, 40, 28, 12))[0]
            allocated = 0 if progress == "CHUA_TRIEN_KHAI" else planned if progress != "CHAM_TIEN_DO" else round(
                planned * rng.uniform(0.3, 0.9))
            disbursed = round(allocated * (rng.uniform(0.9, 1.0) if progress == "HOAN_THANH" else rng.uniform(0.3, 0.9)))
            self.projects.append({
                "stt": str(number), "ten_du_an": project["ten_du_an"], "nhom_noi_dung": project["nhom_noi_dung"],
                "tinh_chat": project["tinh_chat"], "kp_2008_ke_hoach": project["kp_2008"],
                "von_bo_tri_2008": _money(allocated), "von_giai_ngan_2008": _money(disbursed), "tien_do": progress})

    def spending(self) -> None:
        """The year's IT spending: what the tasks disbursed, and a little besides."""
        v, rng = self.v, self.rng
        tasks = sum(round(r["kinh_phi_giai_ngan"] * 10) for r in self.tables.get("th_2008", ()))
        total = max(tasks + _tenths(rng, 0, 200), _tenths(rng, 20, 300))
        v["kp_cntt_2008"] = _money(total)
        if self.chance(0.85):
            huyen = self.plan.agency.group == "huyen"
            weights = (rng.choice((0, 0, rng.uniform(0, 0.2))), rng.uniform(0.2, 0.5) if huyen else rng.uniform(0.7, 1.0),
                       rng.uniform(0.4, 0.8) if huyen else 0, 0, rng.choice((0, rng.uniform(0, 0.1))))
            for source, part in zip(_SOURCES, _split(rng, total, weights), strict=True):
                v[f"kp2008_{source}"] = _money(part)

    def narratives(self) -> None:
        v, rng = self.v, self.rng
        done = sum(1 for r in self.tables.get("th_2008", ()) if r["ket_qua"] == "HOAN_THANH")
        all_tasks = len(self.tables.get("th_2008", ()))
        v["dg_ket_qua"] = (f"Năm 2008 đơn vị đã hoàn thành {done}/{all_tasks} nhiệm vụ của kế hoạch ứng dụng CNTT; "
                           f"tổng số máy tính đạt {v['tong_so_may_tinh']} máy, {v['so_may_ket_noi_internet']} máy "
                           "kết nối Internet.")
        v["dg_ton_tai"] = rng.choice((
            "Một số nhiệm vụ chưa triển khai được do chưa được bố trí vốn; ứng dụng phần mềm còn rời rạc.",
            "Việc trao đổi văn bản qua mạng còn hạn chế, nhiều cán bộ chưa thường xuyên sử dụng thư điện tử."))
        v["dg_kho_khan"] = rng.choice((
            "Kinh phí bố trí cho ứng dụng CNTT còn thấp so với kế hoạch; thiếu cán bộ chuyên trách CNTT.",
            "Hạ tầng mạng chưa đồng bộ, đường truyền Internet chậm vào giờ cao điểm."))
        v["dg_nguyen_nhan"] = rng.choice((
            "Nguồn ngân sách hạn hẹp, thủ tục phê duyệt dự án kéo dài; nhận thức về CNTT chưa đồng đều.",
            "Chưa có cơ chế, quy chế bắt buộc sử dụng thư điện tử và phần mềm trong công việc."))
        v["dg_de_xuat"] = rng.choice((
            "Đề nghị UBND tỉnh bố trí đủ vốn cho các dự án chuyển tiếp và hỗ trợ đào tạo cán bộ chuyên trách.",
            "Đề nghị Sở Thông tin và Truyền thông hướng dẫn, hỗ trợ triển khai phần mềm dùng chung."))
        v["nhiem_vu_2009"] = ("Hoàn thành các nhiệm vụ chuyển tiếp của năm 2008; mở rộng mạng nội bộ, nâng cấp "
                              "trang thông tin điện tử và đưa thêm dịch vụ công trực tuyến lên mức 2.")


# --------------------------------------------------------------------------------------------------------
# The mistakes of a report: disbursed more than allocated, sources off, and the ones every form gets.


def _table_mistake(spec: FormSpec, table_id: str, index: int, column_id: str, code: str, severity: str) -> Mistake:
    sheet, row, cell = table_cell(spec, table_id, index, column_id)
    return Mistake("rule", column_id, sheet, cell, code, severity, row)


def _task_overspent(spec: FormSpec, s: SampleReturn, rng: random.Random) -> _Injected:
    """A task's disbursement over its allocation (R32a): the columns typed the wrong way round."""
    rows = s.tables.get("th_2008", [])
    candidates = [i for i, r in enumerate(rows) if r["kinh_phi_bo_tri"] >= 1 and r["ket_qua"] != "CHUA_THUC_HIEN"]
    if not candidates:
        return None
    i = rng.choice(candidates)
    rows[i]["kinh_phi_giai_ngan"] = _money(round(rows[i]["kinh_phi_bo_tri"] * 10) + _tenths(rng, 5, 50))
    rule = _rule(spec, "R32a")
    found = {Finding(rule.id, rule.at, rule.severity, i, "th_2008")}
    return _table_mistake(spec, "th_2008", i, rule.at, rule.id, rule.severity), found


def _project_overspent(spec: FormSpec, s: SampleReturn, rng: random.Random) -> _Injected:
    """A project disbursed more than it was allocated in 2008 (R33a)."""
    candidates = [i for i, p in enumerate(s.projects) if p["tien_do"] != "CHUA_TRIEN_KHAI"]
    if not candidates:
        return None
    i = rng.choice(candidates)
    p = s.projects[i]
    p["von_giai_ngan_2008"] = _money(round(p["von_bo_tri_2008"] * 10) + _tenths(rng, 5, 80))
    rule = _rule(spec, "R33a")
    return _table_mistake(spec, spec.table.id, i, rule.at, rule.id, rule.severity), {
        Finding(rule.id, rule.at, rule.severity, i)}


def _spending_sources_off(spec: FormSpec, s: SampleReturn, rng: random.Random) -> _Injected:
    """The 2008 spending's sources do not add up to its total (R31a)."""
    v = s.values
    if v.get("kp2008_tinh") is None:
        return None
    v["kp2008_tinh"] = _money(round(v["kp2008_tinh"] * 10) + _tenths(rng, 5, 100))
    rule = _rule(spec, "R31a")
    return _field_mistake(spec, "rule", rule.at, rule.id, rule.severity), {Finding(rule.id, rule.at, rule.severity)}


_RESULT_INJECTORS: tuple[Callable[[FormSpec, SampleReturn, random.Random], _Injected], ...] = (
    _task_overspent, _project_overspent, _spending_sources_off, _blank_required, _text_in_number,
)
assert _blank_required in _INJECTORS and _text_in_number in _INJECTORS  # the mistakes every form gets

