"""Test ledgers for the consolidation tests: plausible returns recorded the way the orchestrator records them.

Values are generated here from the spec (types and ranges) with the few named figures made consistent
(LAN ≤ PCs, sources add up…), and computed fields are filled with the spec's own formulas and project
sums, as the reader does. Nothing here uses the code under test, so expected figures computed from these
values are independent of pipeline.report.consolidate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.form.bundled import bundled
from pipeline.form.registry import Agency, Registry, parse_registry
from pipeline.form.spec import FormSpec
from pipeline.intake.submission import ProjectRow, Submission
from pipeline.issues import Issue
from pipeline.record.ledger import Ledger, Recorded
from pipeline.report.consolidate import build_summary

GENERATED_AT = dt.datetime(2007, 10, 15, 9, 30, 0)
WORDS = ("ứng dụng", "công nghệ", "thông tin", "cán bộ", "hạ tầng", "mạng nội bộ", "cổng thông tin", "đào tạo",
         "phần mềm", "quản lý văn bản", "một cửa", "điện tử", "kinh phí", "triển khai", "nâng cấp")


def sentence(rng: random.Random, words: int = 12) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def plausible_values(spec: FormSpec, agency: Agency, rng: random.Random) -> dict[str, Any]:
    """Typed values for every input field (and the computed ones, by the spec's formulas)."""
    values: dict[str, Any] = {}
    for f in spec.fields.values():
        if not f.is_input or f.kind == "target":
            continue
        values[f.id] = _value(spec, f, agency, rng)
    staff = rng.randint(20, 200)
    pcs = round(staff * rng.uniform(0.3, 1.0))
    internet = rng.randint(0, pcs)
    mailbox = rng.randint(0, staff)
    it_staff = rng.randint(0, 3)
    values.update(
        tong_so_cbccvc=staff, so_cbcc_su_dung_may_tinh=rng.randint(0, staff), tong_so_may_tinh=pcs,
        so_may_xach_tay=rng.randint(0, pcs), co_mang_lan=True, so_may_ket_noi_lan=rng.randint(0, pcs),
        so_may_ket_noi_internet=internet, so_may_internet_bang_rong=rng.randint(0, internet),
        so_may_co_diet_virus=rng.randint(0, pcs), so_cbcc_co_hop_thu=mailbox,
        so_cbcc_dung_thu_thuong_xuyen=rng.randint(0, mailbox), so_cb_chuyen_trach=it_staff,
        so_cb_ct_dai_hoc=min(it_staff, rng.randint(0, 2)), so_cb_ct_cao_dang=0, so_cb_ct_trung_cap=0,
        so_cbcc_chung_chi_tin_hoc=rng.randint(0, staff), so_tthc=rng.randint(20, 120),
        so_dvc_muc_1=rng.randint(0, 10), so_dvc_muc_2=rng.randint(0, 5), so_dvc_muc_3=rng.randint(0, 1),
        so_dvc_muc_4=0, ma_don_vi=agency.code, ten_don_vi=agency.name_vi, loai_don_vi=agency.loai_don_vi,
    )
    spend = round(rng.uniform(20, 900), 1)
    central = round(spend * rng.uniform(0, 0.3), 1)
    values.update(kp_cntt_2007=spend, kp2007_nstw=central, kp2007_nsdp=round(spend - central, 1), kp2007_khac=0.0)
    for year in (2008, 2009, 2010):  # funding by year: development investment (province) and recurrent funds
        values[f"kh_dtpt_tinh_{year}"] = round(rng.uniform(0, 2000), 1)
        values[f"kh_sn_tinh_{year}"] = round(rng.uniform(50, 1000), 1)
        values[f"kh_sn_nstw_{year}"] = round(rng.uniform(0, 200), 1)
    return values


def _value(spec: FormSpec, f: Any, agency: Agency, rng: random.Random) -> Any:
    low = f.min if isinstance(f.min, int | float) else 0
    high = f.max if isinstance(f.max, int | float) else 100
    if f.type == "bool":
        return rng.random() < 0.6
    if f.type == "choice":
        return rng.choice(spec.choices[f.choices]).code
    if f.type == "int":
        return rng.randint(int(low), int(min(high, 50)))
    if f.type == "year":
        return rng.randint(int(low), int(high))
    if f.type in ("money", "dec"):
        return round(rng.uniform(low, min(high, 500)), 1)
    if f.type == "pct":
        return round(rng.uniform(0, 100), 1)
    if f.type == "date":
        return dt.date(2007, rng.randint(6, 9), rng.randint(1, 28))
    if f.type == "text":
        return sentence(rng, rng.randint(8, 30))
    if f.type == "phone":
        return f"039.8{rng.randint(10000, 99999)}"  # 2007: a 6-digit local number
    if f.type == "email":
        return f"cntt.{agency.code.lower()}@hatinh.gov.vn"
    if f.type == "url":
        return f"http://{agency.code.lower()}.hatinh.gov.vn"
    if f.type == "agency":
        return agency.code
    return sentence(rng, 3)


def plausible_projects(spec: FormSpec, rng: random.Random, count: int) -> list[dict[str, Any]]:
    assert spec.table is not None
    areas = [c.code for c in spec.choices["nhom_noi_dung"]]
    names = ("Xây dựng trang thông tin điện tử", "Nâng cấp mạng LAN", "Đào tạo tin học cho cán bộ",
             "Triển khai phần mềm quản lý văn bản", "Mua sắm máy tính", "Xây dựng cơ sở dữ liệu chuyên ngành")
    projects = []
    for i in range(count):
        start = rng.randint(2008, 2010)
        end = rng.randint(start, 2010)
        years = range(start, end + 1)
        shares = {y: round(rng.uniform(10, 800), 1) for y in years}
        cost = round(sum(shares.values()), 1)
        central = round(cost * rng.uniform(0, 0.5), 1)
        projects.append({
            "stt": str(i + 1), "ten_du_an": rng.choice(names) + ("" if rng.random() < 0.5 else f" giai đoạn {i + 1}"),
            "nhom_noi_dung": rng.choice(areas), "loai_hinh": rng.choice(spec.choices["loai_hinh"]).code,
            "muc_tieu": sentence(rng, 10), "quy_mo_noi_dung": sentence(rng, 14), "don_vi_chu_tri": None,
            "don_vi_phoi_hop": None, "nam_bat_dau": start, "nam_ket_thuc": end, "tong_kinh_phi": cost,
            "von_nstw": central, "von_nsdp": round(cost - central, 1), "von_khac": 0.0,
            **{f"kp_{y}": shares.get(y, 0.0) for y in (2008, 2009, 2010)},
            "tinh_chat": "MOI", "phe_duyet": "CHUA_PHE_DUYET", "uu_tien": rng.choice(["1", "2", "3"]),
            "ghi_chu": None,
        })
    return projects


def with_targets(spec: FormSpec, values: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Fill every target year at or above the current value (computed first)."""
    out = fill_computed(spec, values, [])
    for f in spec.fields.values():
        if f.kind == "target":
            current = out.get(f"{f.target_of}_current")
            base = 0.0 if current is None else float(current)
            top = f.max if isinstance(f.max, int | float) else base + 10
            value = min(top, base + rng.uniform(0, 20) * (f.year - 2007) / 3)
            out[f.id] = round(value) if f.type == "int" else round(value, 2)
    return out


def fill_computed(spec: FormSpec, values: dict[str, Any], projects: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """What the reader stores: computed fields by their formula, table totals by the project sums."""
    out = dict(values)
    rows = list(projects)
    assert spec.table is not None
    for column_id, total_id in spec.table.totals.items():
        out[total_id] = math.fsum(float(p[column_id]) for p in rows if p.get(column_id) is not None)
    for f in spec.fields.values():
        if f.type == "computed" and f.formula is not None:
            result = f.formula.evaluate(out)
            out[f.id] = None if isinstance(result, float) and math.isnan(result) else result
    return out


def make_return(spec: FormSpec, agency: Agency, seed: int, projects: int | None = None
                ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rng = random.Random(seed)
    values = with_targets(spec, plausible_values(spec, agency, rng), rng)
    rows = plausible_projects(spec, rng, rng.randint(0, 6) if projects is None else projects)
    return fill_computed(spec, values, rows), rows


def record(ledger: Ledger, spec: FormSpec, code: str, values: dict[str, Any], projects: list[dict[str, Any]], *,
           status: str = "accepted", received_at: str = "2007-09-20T08:00:00", file: str | None = None,
           issues: list[Issue] | None = None, salt: str = "", cells: dict[str, tuple[str, str]] | None = None
           ) -> Recorded:
    file = file or f"BM-UDCNTT-2007_{code}.xlsx"
    sha = hashlib.sha256(f"{code}|{received_at}|{salt}|{sorted(values.items(), key=str)}".encode()).hexdigest()
    submission = Submission(file=file, sha256=sha, agency_code=code, round=spec.round, form_id=spec.form_id,
                            version=spec.version, format="xlsx", values=values, cells=cells or {},
                            projects=[ProjectRow(row=7 + i, values=p) for i, p in enumerate(projects)],
                            readable=True)
    return ledger.record(submission=submission, issues=issues or [], status=status, received_at=received_at,
                         archive_path=None, run_id=None)


def summary_from(ledger: Ledger, spec: FormSpec, registry: Registry, generated_at: dt.datetime = GENERATED_AT):
    """What the orchestrator does: every row of the round, projects and issues of all of them."""
    rows = ledger.submissions(spec.round)
    ids = [r["id"] for r in rows]
    return build_summary(spec, registry, rows, ledger.projects(ids), ledger.issues(ids), generated_at=generated_at)


def full_ledger(path: Path, spec: FormSpec, registry: Registry, *, skip: Iterable[str] = (),
                seed: int = 7) -> tuple[Ledger, dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]]:
    """A ledger where every registry agency (except `skip`) has one accepted return; returns the data too."""
    ledger = Ledger(path)
    data = {}
    for i, agency in enumerate(registry.of_round(spec).agencies):
        if agency.code in skip:
            continue
        values, projects = make_return(spec, agency, seed * 1000 + i)
        record(ledger, spec, agency.code, values, projects, received_at=f"2007-09-{10 + i % 18:02d}T08:{i % 60:02d}:00")
        data[agency.code] = (values, projects)
    return ledger, data


def big_registry(n: int) -> Registry:
    """n synthetic agencies in two groups, for timing."""
    agencies = tuple(
        Agency(f"DV{i:04d}", f"Đơn vị thử nghiệm số {i}", f"Test agency {i}", "so" if i % 3 else "huyen",
               "Khối sở, ban, ngành" if i % 3 else "Khối UBND huyện, thị xã, thành phố",
               "Departments" if i % 3 else "Districts", "SO_BAN_NGANH" if i % 3 else "UBND_HUYEN", ())
        for i in range(n))
    return Registry(agencies)


def registry_csv(codes: Iterable[str]) -> str:
    """The bundled registry file's header and the rows of `codes` (a province cut down for a test)."""
    wanted = set(codes)
    header, *rows = bundled("agencies.csv").read_text(encoding="utf-8").splitlines()
    return "\n".join([header, *(r for r in rows if r.split(",", 1)[0] in wanted)]) + "\n"


def registry_of(codes: Iterable[str]) -> Registry:
    return parse_registry(registry_csv(codes))


def sheet_blocks(book: Any, sheet: str, first_header: str) -> dict[str, dict[str, tuple]]:
    """A summary sheet listed by level under a header row whose first cell is `first_header`: the level's label
    (agency name, 'Cộng: …', 'TOÀN TỈNH', in the 2nd column) → item (3rd column) → the row's cells."""
    rows = list(book[sheet].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == first_header) + 1
    out: dict[str, dict[str, tuple]] = {}
    level = ""
    for r in rows[start:]:
        if r[1]:
            level = r[1]
        out.setdefault(level, {})[r[2]] = r
    return out
