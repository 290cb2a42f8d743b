"""Believable samples (issue 16): over seeds 1–20 and every agency of the registry, the figures of a clean
sample return look like that agency's in Hà Tĩnh 2007, and every one passes the real validator.

The bands are written here, from the domain brief and the registry's documentation, not taken from
pipeline.form.plausible: the test says what a plausible return is, the module how it draws one.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any

import pytest
import yaml

from pipeline.form.layout import col_letter, layout_for
from pipeline.form.registry import load_registry
from pipeline.form.sample import audit, make_sample
from pipeline.form.spec import DEFAULT_SPEC, build_spec, load_spec
from pipeline.intake.submission import ProjectRow, Submission, TableRows
from pipeline.validation.validate import ACCEPTED, validate_batch

SPEC = load_spec()
REGISTRY = load_registry().of_round(SPEC)  # the 41 agencies of the 2007 round
SEEDS = range(1, 21)
# Staff of the reporting scope by size class (registry: S 20–45, M 45–90, L 90–200), else by type (brief §2.3).
CLASS_STAFF = {"S": (20, 45), "M": (45, 90), "L": (90, 200)}
TYPE_STAFF = {"so": (20, 120), "huyen": (50, 200)}
FOCAL = SPEC.form["issuer_symbol"]  # Sở Bưu chính, Viễn thông
SOURCES = ("nstw", "tinh", "huyen", "oda", "khac")
YEARS = (2008, 2009, 2010)


@pytest.fixture(scope="module")
def samples() -> dict[tuple[int, str], Any]:
    return {(seed, a.code): make_sample(SPEC, a, random.Random(f"{seed}/{a.code}"))
            for seed in SEEDS for a in REGISTRY.agencies}


def test_staff_falls_in_the_agency_size_class_band(samples):
    classes = set()
    for (seed, code), sample in samples.items():
        agency = REGISTRY.get(code)
        size = agency.size_class
        classes.add(size)
        low, high = CLASS_STAFF.get(size) or TYPE_STAFF[agency.group]
        assert low <= sample.values["tong_so_cbccvc"] <= high, (seed, code, size)
        assert sample.values["pham_vi_so_lieu"] == "CO_QUAN"  # the band is the office's
    per_class = defaultdict(list)
    for (_, code), sample in samples.items():
        per_class[REGISTRY.get(code).size_class].append(sample.values["tong_so_cbccvc"])
    assert {"S", "M", "L"} <= classes  # the registry gives them
    assert sum(per_class["L"]) / len(per_class["L"]) > 2 * sum(per_class["S"]) / len(per_class["S"])


def test_it_spending_is_mostly_50_to_400_million_a_year(samples):
    figures = [s.values[k] for s in samples.values() for k in ("kp_cntt_2006", "kp_cntt_2007")
               if s.values.get(k) is not None]
    inside = sum(50 <= x <= 400 for x in figures)
    assert inside >= 0.8 * len(figures), (inside, len(figures))
    assert inside < len(figures)  # mostly, not always: a few agencies spend less or more
    assert all(10 <= x <= 1500 for x in figures)


def test_websites_and_official_mail_are_rare_as_in_2007(samples):
    for seed in SEEDS:
        batch = [samples[seed, a.code].values for a in REGISTRY.agencies]
        sites_2006 = sum(bool(v["co_website"]) and v["nam_khai_truong_website"] <= 2006 for v in batch)
        assert sites_2006 <= 0.3 * len(batch), seed
        assert sum(bool(v["co_website"]) for v in batch) <= 0.45 * len(batch), seed
        assert sum(bool(v["co_thu_dien_tu_cong_vu"]) for v in batch) <= 0.4 * len(batch), seed
        assert sum(v["so_dvc_muc_2"] > 0 for v in batch) <= 0.3 * len(batch), seed


def test_nothing_before_the_agency_existed(samples):
    """Lộc Hà (created in February 2007, Decree 20/2007/NĐ-CP) has no 2006 spending and no 2006 website, and
    none of its projects began or was approved before it existed; every agency with a creation date alike."""
    created = {a.code: a.valid_from for a in REGISTRY.agencies if a.valid_from}
    assert created["H-LOCHA"].year == 2007
    for (seed, code), sample in samples.items():
        if code not in created:
            continue
        v, year = sample.values, created[code].year
        if year > 2006:
            assert v.get("kp_cntt_2006") is None, (seed, code)
        if v["co_website"]:
            assert v["nam_khai_truong_website"] >= year, (seed, code)
        for p in sample.projects:
            assert p["nam_bat_dau"] >= year, (seed, code, p["ten_du_an"])
            if p.get("ngay_qd_phe_duyet"):
                assert p["ngay_qd_phe_duyet"] >= created[code], (seed, code)
    locha = [samples[seed, "H-LOCHA"].values for seed in SEEDS]
    assert all(v.get("kp_cntt_2006") is None and not v["co_website"] for v in locha)


def test_the_focal_department_has_its_it_staff_mail_and_network(samples):
    for seed in SEEDS:
        v = samples[seed, FOCAL].values
        assert v["co_don_vi_chuyen_trach"] and v["so_cb_chuyen_trach"] > 0, seed
        assert v["co_thu_dien_tu_cong_vu"] and v["so_cbcc_co_hop_thu"] > 0 and v["co_mang_lan"], seed
        issuer = SPEC.form["issuer_short_vi"]
        assert all(issuer not in str(p.get("don_vi_phoi_hop") or "") for p in samples[seed, FOCAL].projects)
    others = [s.values["so_cb_chuyen_trach"] for (_, code), s in samples.items() if code != FOCAL]
    assert max(others) <= 3 and sum(others) / len(others) < 1.5


def test_the_2008_plan_mostly_asks_for_more_than_2007_spent(samples):
    up = sum(s.values["kh_kp_2008"] >= s.values["kp_cntt_2007"] for s in samples.values())
    assert up >= 0.75 * len(samples)
    assert up < len(samples)  # mostly: some agencies plan less


def test_licences_are_bought_not_rented(samples):
    for sample in samples.values():
        for p in sample.projects:
            if "bản quyền" in p["ten_du_an"]:
                assert p["loai_hinh"] != "THUE_DICH_VU" and not p["ten_du_an"].startswith("Thuê")
        for task in sample.tables["kh_2008"]:
            assert not ("bản quyền" in task["ten_nhiem_vu"] and task["ten_nhiem_vu"].startswith("Thuê"))


def money(value: Any) -> float:
    return value or 0.0


def test_the_funding_grid_is_the_projects_and_the_annual_plan(samples):
    """Year by year, development investment is the investment projects' allocations and the total covers all
    allocations (R17); for 2008 every source of the grid is the annual plan's column of that source, and the
    plan's total is the grid's (R22b)."""
    for (seed, code), sample in samples.items():
        v, where = sample.values, (seed, code)
        for year in YEARS:
            invest = sum(p[f"kp_{year}"] for p in sample.projects if p["loai_hinh"] == "DU_AN_DAU_TU")
            assert v[f"kh_dtpt_{year}"] == pytest.approx(invest, abs=0.05), where
            assert v[f"kh_kp_{year}"] + 0.05 >= sum(p[f"kp_{year}"] for p in sample.projects), where
        tasks = sample.tables["kh_2008"]
        assert sum(t["kinh_phi"] for t in tasks) == pytest.approx(v["kh_kp_2008"], abs=0.05), where
        for source in SOURCES:
            grid = money(v.get(f"kh_dtpt_{source}_2008")) + money(v.get(f"kh_sn_{source}_2008"))
            assert sum(money(t.get(f"nguon_{source}")) for t in tasks) == pytest.approx(grid, abs=0.05), where
        if code.startswith("H-") or sample.agency.group == "huyen":
            continue
        assert all(money(v.get(f"kh_{kind}_huyen_{y}")) == 0 for kind in ("dtpt", "sn") for y in YEARS), where


def test_commune_it_is_reported_by_districts_only(samples):
    for (seed, code), sample in samples.items():
        v = sample.values
        filled = [v.get(k) is not None for k in ("so_xa_phuong", "so_xa_co_may_tinh", "so_xa_ket_noi_internet")]
        assert filled == [sample.agency.group == "huyen"] * 3, (seed, code)


def test_projects_and_online_services_carry_realistic_names(samples):
    for (seed, code), sample in samples.items():
        names = [p["ten_du_an"] for p in sample.projects] + [r["ten_thu_tuc"] for r in sample.tables["dvc"]]
        assert all("{" not in n for n in names), (seed, code)
        if not sample.values["co_website"]:  # no upgrading, nor updating, a website one does not have
            tasks = names + [t["ten_nhiem_vu"] for t in sample.tables["kh_2008"]]
            assert not [n for n in tasks if "Nâng cấp trang" in n or "lên trang thông tin" in n], (seed, code)
        assert 2 <= len(sample.tables["dvc"]) <= 6
    # a department's roadmap names its sector's procedures: the health department's are medical
    health = {r["ten_thu_tuc"] for seed in SEEDS for r in samples[seed, "SYT"].tables["dvc"]}
    assert any("hành nghề y" in n or "thuốc" in n or "dược" in n for n in health)
    roads = {p["ten_du_an"] for seed in SEEDS for p in samples[seed, "SGTVT"].projects}
    assert "Xây dựng cơ sở dữ liệu giấy phép lái xe" in roads and "Xây dựng cơ sở dữ liệu chuyên ngành" not in roads


def submission(sample) -> Submission:
    """The return as the reader gives it (values with their cells, rows of every table), for the validator."""
    layout = layout_for(SPEC)
    table = layout.table
    return Submission(
        file=f"{sample.agency.code}.xlsx", readable=True, agency_code=sample.agency.code, values=dict(sample.values),
        cells={fid: (ref.sheet, ref.a1) for fid, ref in layout.cells.items()},
        projects=[ProjectRow(table.first_row + i, row) for i, row in enumerate(sample.projects)],
        project_sheet=table.sheet, project_columns={cid: col_letter(c) for cid, c in table.columns.items()},
        tables={t.id: TableRows(layout.tables[t.id].sheet,
                                {cid: col_letter(c) for cid, c in layout.tables[t.id].columns.items()},
                                [ProjectRow(layout.tables[t.id].first_row + i, row)
                                 for i, row in enumerate(sample.tables.get(t.id, []))])
                for t in SPEC.other_tables})


def test_every_clean_sample_passes_the_validator_without_an_error(samples):
    verdicts = validate_batch([submission(s) for s in samples.values()], SPEC)
    errors = {(v.file, i.code, i.field) for v in verdicts for i in v.issues if i.severity == "error"}
    assert errors == set()
    assert {v.status for v in verdicts} == {ACCEPTED}  # and without a warning


def test_a_required_field_the_generator_does_not_know_is_drawn_from_the_spec():
    """A later form (or 1.1 with one more item) still gets clean samples: each new required field gets a value of
    its type, in its range, scaled to the agency (no more people than its staff), from the spec alone."""
    raw = yaml.safe_load(DEFAULT_SPEC.read_bytes())
    section = raw["sheets"][1]["sections"][0]
    section["fields"] += [
        {"id": "so_nguoi_moi", "type": "int", "unit": "người", "required": True, "min": 0, "max": 5000,
         "vi": "Số người mới", "en": "New people"},
        {"id": "kp_moi", "type": "money", "required": True, "min": 0, "max": 100000, "warn_max": 10000,
         "vi": "Kinh phí mới", "en": "New money"},
        {"id": "nam_moi", "type": "year", "required": True, "min": 1997, "max": 2008, "vi": "Năm", "en": "Year"},
        {"id": "ngay_moi", "type": "date", "required": True, "min": dt.date(2007, 1, 1), "max": dt.date(2008, 6, 30),
         "vi": "Ngày", "en": "Date"},
        {"id": "loai_moi", "type": "choice", "choices": "uu_tien", "required": True, "vi": "Loại", "en": "Kind"},
        {"id": "co_moi", "type": "bool", "required": True, "vi": "Có", "en": "Has"},
        {"id": "tl_moi", "type": "pct", "unit": "%", "required": True, "min": 0, "max": 100, "vi": "Tỷ lệ",
         "en": "Share"},
        {"id": "nd_moi", "type": "text", "required": True, "min_length": 30, "vi": "Nội dung mới", "en": "New"},
    ]
    spec = build_spec(raw)
    for agency in REGISTRY.agencies:
        sample = make_sample(spec, agency, random.Random(f"new/{agency.code}"))
        v = sample.values
        assert audit(spec, v, sample.projects, tables=sample.tables) == [], agency.code
        assert 0 <= v["so_nguoi_moi"] <= v["tong_so_cbccvc"] and 0 <= v["kp_moi"] <= 10000
        if agency.valid_from:
            assert v["nam_moi"] >= agency.valid_from.year and v["ngay_moi"] >= agency.valid_from
