"""Sample returns: deterministic, clean by every spec rule, mistakes that say where they are, readable files."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import random
import warnings
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from pipeline.form.layout import col_letter, layout_for, parse_a1
from pipeline.form.registry import load_registry
from pipeline.form.sample import MANIFEST, Finding, Mistake, audit, make_sample, write_samples
from pipeline.form.spec import load_spec
from pipeline.form.template import BOOL_LABELS, build_workbook, evaluate_computed

SPEC = load_spec()
REGISTRY = load_registry()
AGENCIES = REGISTRY.of_round(SPEC).agencies  # the 41 agencies of the 2007 round
SEEDS = range(12)


def sample_for(agency, seed: int, mistakes: int = 0):
    return make_sample(SPEC, agency, random.Random(f"{seed}/{agency.code}"), mistakes=mistakes)


def blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def rule_failures(values: dict[str, Any], projects: list[dict[str, Any]],
                  tables: dict[str, list[dict[str, Any]]] | None = None) -> list[str]:
    """Every spec rule, evaluated directly (independently of pipeline.form.sample.audit): a rule whose when-clause
    holds and whose check fails; rules with a blank operand are skipped (the 'required' check's business)."""
    tables = tables or {}
    env = values | evaluate_computed(SPEC, values, projects, tables)
    failures = []
    scopes = [("return", env)] + [(SPEC.table.id, p) for p in projects]
    scopes += [(table_id, row) for table_id, rows in tables.items() for row in rows]
    for scope, data in scopes:
        for rule in SPEC.rules_for(scope):
            operands = rule.check.operands | (rule.when.operands if rule.when else frozenset())
            if any(blank(data.get(name)) for name in operands):
                continue
            if (rule.when is None or rule.when.evaluate(data)) and not rule.check.evaluate(data):
                failures.append(f"{rule.id} {({n: data.get(n) for n in rule.names})}")
    return failures


def field_problems(field, value: Any) -> list[str]:
    """Required, hard and warning ranges, choice lists and value types of one field (spec, not audit)."""
    if blank(value):
        return [f"{field.id}: required"] if field.required else []
    problems = []
    if field.type == "choice" and value not in {c.code for c in SPEC.choices[field.choices]}:
        problems.append(f"{field.id}: {value!r} not in {field.choices}")
    if field.type == "bool" and not isinstance(value, bool):
        problems.append(f"{field.id}: {value!r} is not a bool")
    if field.type in {"int", "year"} and not (isinstance(value, int) and not isinstance(value, bool)):
        problems.append(f"{field.id}: {value!r} is not a whole number")
    for low in (field.min, field.warn_min):
        if low is not None and value < low:
            problems.append(f"{field.id}: {value!r} < {low}")
    for high in (field.max, field.warn_max):
        if high is not None and value > high:
            problems.append(f"{field.id}: {value!r} > {high}")
    if field.min_length and len(value) < field.min_length:
        problems.append(f"{field.id}: text shorter than {field.min_length}")
    return problems


def all_problems(sample) -> list[str]:
    problems = rule_failures(sample.values, sample.projects, sample.tables)
    for f in SPEC.fields.values():
        if f.is_input:
            problems += field_problems(f, sample.values.get(f.id))
    for table in SPEC.tables:
        for row in sample.projects if table is SPEC.table else sample.tables.get(table.id, []):
            for column in table.columns:
                problems += field_problems(column, row.get(column.id))
    return problems


# --- clean samples ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("agency", AGENCIES, ids=lambda a: a.code)
def test_clean_samples_satisfy_every_rule_range_and_choice(agency):
    for seed in SEEDS:
        sample = sample_for(agency, seed)
        assert all_problems(sample) == [], (agency.code, seed)
        assert audit(SPEC, sample.values, sample.projects, tables=sample.tables) == [], (agency.code, seed)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), agency=st.sampled_from(AGENCIES))
def test_clean_samples_for_any_seed(seed, agency):
    sample = make_sample(SPEC, agency, random.Random(seed))
    assert all_problems(sample) == []
    assert sample.mistakes == [] and sample.cell_text == {}


def test_samples_are_plausible_for_2007():
    """The figures every agency shares; what depends on the agency (staff, spending, websites, mail, Lộc Hà,
    the focal department, the plan) is tests/form/test_sample_plausible.py's."""
    for agency in AGENCIES:
        v = sample_for(agency, 3).values
        assert 20 <= v["tong_so_cbccvc"] <= 200
        assert 0.25 <= v["tong_so_may_tinh"] / v["tong_so_cbccvc"] <= 1.05
        assert v["so_dvc_muc_3"] == v["so_dvc_muc_4"] == 0
        assert v["so_cb_chuyen_trach"] <= 8
        assert 10 <= v["kp_cntt_2007"] <= 1500
        assert v["ngay_so_lieu"] in (dt.date(2007, 6, 30), dt.date(2007, 7, 31))
        window = SPEC.form["collection_window"]
        assert window[0] <= v["ngay_lap"] <= window[1] and v["ngay_lap"] >= v["ngay_so_lieu"]
        if v.get("email_lien_he") is not None:
            assert v["email_lien_he"].endswith("@hatinh.gov.vn") and v["email_lien_he"].isascii()
        assert v["dien_thoai"].startswith("039.")
        if v["co_website"]:
            assert v["dia_chi_website"].startswith("http://") and v["dia_chi_website"].endswith(".hatinh.gov.vn")
        if v.get("kp2007_nsdp") is not None:
            parts = v["kp2007_nstw"] + v["kp2007_nsdp"] + v["kp2007_khac"]
            assert parts == pytest.approx(v["kp_cntt_2007"], abs=1e-6)
        assert sum(v[f"kh_kp_{s}"] for s in ("nstw", "tinh", "huyen", "oda", "khac")) == pytest.approx(v["kh_kp_tong"], abs=1e-6)
        assert v["mt_pct_cbcc_dung_email_2010"] >= 60


def test_narratives_are_vietnamese_and_vary_by_agency():
    texts = [sample_for(a, 5).values["dg_ket_qua"] for a in AGENCIES]
    assert len(set(texts)) == len(texts)
    assert all(len(t) >= 30 and any(ch in t for ch in "ăâđêôơư") for t in texts)


def test_projects_are_consistent():
    seen = 0
    for agency in AGENCIES:
        for seed in SEEDS:
            projects = sample_for(agency, seed).projects
            assert 0 <= len(projects) <= 8
            for p in projects:
                seen += 1
                years = [y for y in (2008, 2009, 2010) if p[f"kp_{y}"]]
                assert all(p["nam_bat_dau"] <= y <= p["nam_ket_thuc"] for y in years)
                allocated = sum(p[f"kp_{y}"] for y in (2008, 2009, 2010))
                if p["nam_bat_dau"] >= 2008 and p["nam_ket_thuc"] <= 2010:
                    assert allocated == pytest.approx(p["tong_kinh_phi"], abs=1e-6)
                sources = p["von_nstw"] + p["von_nsdp"] + p["von_khac"]
                assert sources == pytest.approx(p["tong_kinh_phi"], abs=1e-6)
            names = [p["ten_du_an"] for p in projects]
            assert len(names) == len(set(names))
    assert seen > 100


# --- determinism -----------------------------------------------------------------------------------------


def test_same_seed_same_sample_and_different_seed_differs():
    agency = REGISTRY.get("SYT")
    first, second = sample_for(agency, 7, mistakes=2), sample_for(agency, 7, mistakes=2)
    assert (first.values, first.projects, first.cell_text, first.mistakes) == (
        second.values, second.projects, second.cell_text, second.mistakes)
    assert sample_for(agency, 8).values != first.values


def test_mistakes_do_not_change_the_clean_figures_they_do_not_touch():
    agency = REGISTRY.get("H-KYANH")
    clean, broken = sample_for(agency, 4), sample_for(agency, 4, mistakes=1)
    (mistake,) = broken.mistakes
    changed = {k for k in clean.values if clean.values[k] != broken.values.get(k)}
    assert changed <= {mistake.field} | {f for f in SPEC.fields if SPEC.fields[f].type == "computed"} | {
        "so_may_ket_noi_lan", "so_dvc_muc_1"}


def test_write_samples_is_reproducible_and_independent_of_count(tmp_path):
    three = write_samples(SPEC, REGISTRY, tmp_path / "a", count=3, seed=11, error_rate=0.5)
    five = write_samples(SPEC, REGISTRY, tmp_path / "b", count=5, seed=11, error_rate=0.5)
    again = write_samples(SPEC, REGISTRY, tmp_path / "c", count=3, seed=11, error_rate=0.5)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p, _ in three]
    assert digest == [hashlib.sha256(p.read_bytes()).hexdigest() for p, _ in five[:3]]
    assert digest == [hashlib.sha256(p.read_bytes()).hexdigest() for p, _ in again]
    assert (tmp_path / "a" / MANIFEST).read_bytes() == (tmp_path / "c" / MANIFEST).read_bytes()
    with pytest.raises(ValueError):
        write_samples(SPEC, REGISTRY, tmp_path / "d", count=len(AGENCIES) + 1)


# --- mistakes --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def erroneous(tmp_path_factory):
    return write_samples(SPEC, REGISTRY, tmp_path_factory.mktemp("errors"), seed=2007, error_rate=1.0)


def expected_findings(mistake: Mistake, sample) -> set[Finding]:
    project = None if mistake.row is None else mistake.row - layout_for(SPEC).table.first_row
    found = {Finding(mistake.code, mistake.field, mistake.severity, project)}
    if "RULE_PLAUSIBLE" in mistake.note:
        found.add(Finding("RULE_PLAUSIBLE", mistake.field, "warning", project))
    return found


def test_every_return_gets_mistakes_at_cells_of_the_layout(erroneous):
    layout = layout_for(SPEC)
    kinds = set()
    for _, sample in erroneous:
        assert 1 <= len(sample.mistakes) <= 2
        for m in sample.mistakes:
            kinds.add(m.kind)
            if m.row is None:
                ref = layout.cells[m.field]
                assert (m.sheet, m.cell) == (ref.sheet, ref.a1)
            else:
                t = layout.table
                assert m.sheet == t.sheet and t.first_row <= m.row <= t.last_row
                assert m.cell == f"{col_letter(t.columns[m.field])}{m.row}"
            assert m.severity in {"error", "warning"}
    assert kinds == {"rule", "required", "text_in_number", "unit_slip"}


def test_each_mistake_raises_exactly_its_code(erroneous):
    for _, sample in erroneous:
        found = set(audit(SPEC, sample.values, sample.projects, sample.cell_text, sample.tables))
        expected = set().union(*(expected_findings(m, sample) for m in sample.mistakes))
        assert found == expected, sample.agency.code


def test_rule_mistakes_break_their_rule_and_only_it():
    codes = set()
    for agency in AGENCIES:
        for seed in SEEDS:
            sample = sample_for(agency, seed, mistakes=1)
            (m,) = sample.mistakes
            failures = rule_failures(sample.values, sample.projects, sample.tables)
            if m.kind == "rule":
                codes.add(m.code)
                assert [f.split()[0] for f in failures] == [m.code], (agency.code, seed)
            else:
                assert failures == [], (agency.code, seed)
    assert {"R01a", "R08a", "R14a", "R15a"} <= codes


def test_text_in_number_mistakes_hold_words_not_numbers():
    for agency in AGENCIES[:10]:
        for seed in SEEDS:
            sample = sample_for(agency, seed, mistakes=2)
            for m in sample.mistakes:
                if m.kind == "text_in_number":
                    text = sample.cell_text[m.field]
                    assert text.startswith(("khoảng", "chưa thống kê")) and sample.values[m.field] is None
                if m.kind == "unit_slip":
                    assert sample.values[m.field] > 10_000 and m.code == "RULE_MONEY_UNIT"


def test_manifest_lists_files_hashes_and_mistakes(erroneous):
    folder = erroneous[0][0].parent
    raw = (folder / MANIFEST).read_bytes()
    manifest = json.loads(raw.decode("utf-8"))
    assert manifest["seed"] == 2007 and manifest["error_rate"] == 1.0
    assert "Sở".encode() in raw or "ả".encode() in raw or b"\\u" not in raw  # ensure_ascii=False
    assert [f["file"] for f in manifest["files"]] == [p.name for p, _ in erroneous]
    for entry, (path, sample) in zip(manifest["files"], erroneous, strict=True):
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["agency_code"] == sample.agency.code
        assert [Mistake(**m) for m in entry["mistakes"]] == sample.mistakes
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


# --- readable by both readers ----------------------------------------------------------------------------


def cell_shown(field, value: Any) -> Any:
    """What python-calamine returns for a value written the way an agency leaves it."""
    if blank(value):
        return ""
    if field.type == "bool":
        return BOOL_LABELS[value]
    if field.type == "choice":
        return SPEC.choice_label(field.choices, value)
    if isinstance(value, int | float) and not isinstance(value, bool) and field.type != "str":
        return float(value)
    return value


def at(rows: list[list[Any]], cell: str) -> Any:
    row, col = parse_a1(cell)
    return rows[row - 1][col] if row <= len(rows) and col < len(rows[row - 1]) else ""


def test_samples_read_back_through_calamine_and_openpyxl():
    layout = layout_for(SPEC)
    t = layout.table
    for agency in AGENCIES[::4]:
        sample = sample_for(agency, 1, mistakes=1)
        data = build_workbook(SPEC, agency=agency, values=sample.values, projects=sample.projects,
                              cell_text=sample.cell_text, tables=sample.tables)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            openpyxl.load_workbook(io.BytesIO(data))
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = {s.name: book.get_sheet_by_name(s.name).to_python(skip_empty_area=False) for s in SPEC.sheets}
        for field_id, ref in layout.cells.items():
            f = SPEC.fields[field_id]
            got = at(sheets[ref.sheet], ref.a1)
            if field_id in sample.cell_text:
                assert got == sample.cell_text[field_id]
            elif f.type == "computed" and sample.values.get(field_id) is not None:
                assert got == pytest.approx(sample.values[field_id]), field_id
            else:
                assert got == cell_shown(f, sample.values.get(field_id)), (agency.code, field_id)
        for i, project in enumerate(sample.projects):
            for column in SPEC.table.columns:
                got = at(sheets[t.sheet], t.cell(t.first_row + i, column.id))
                assert got == cell_shown(column, project.get(column.id)), (agency.code, i, column.id)
