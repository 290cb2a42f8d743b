"""The 2008 implementation report (workbook_templates/report_2008_spec.yaml, issue 19): its own spec, built on
form 1.1 with `same:`; the same question keeps the same field id; each result names the plan field it is held
against; its template, schemas and rulebook are derived like form 1.1's, and its returns read back."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import yaml

from pipeline.form.registry import load_registry
from pipeline.form.rulebook import render_rulebook
from pipeline.form.sample import audit
from pipeline.form.sample_results import make_result, plan_sample
from pipeline.form.spec import NUMERIC_TYPES, SpecError, bundled, load_spec, plan_spec_of
from pipeline.form.template import build_workbook
from pipeline.intake.read import read
from pipeline.validation.validate import validate_batch

ROOT = Path(__file__).parents[2]
REPORT_SPEC = bundled("report_2008_spec.yaml")


@pytest.fixture(scope="module")
def report():
    return load_spec(REPORT_SPEC)


def test_the_report_form_is_its_own_form_and_round(report, spec):
    assert (report.form_id, report.version, report.round) == ("BM-BCTH-2008", "1.0", "2008")
    assert report.form["plan_round"] == spec.round and plan_spec_of(report).round == spec.round
    assert report.form["issuer_vi"] == "Sở Thông tin và Truyền thông Hà Tĩnh"  # the 2008 reorganisation
    assert [t.id for t in report.tables] == ["th_2008", "da_2008", "dvc_2008"] and report.table.id == "da_2008"
    assert {"kinh_phi_ke_hoach", "ket_qua", "kinh_phi_bo_tri", "kinh_phi_giai_ngan"} <= {
        c.id for c in report.table_named("th_2008").columns}
    assert {"kp_2008_ke_hoach", "von_bo_tri_2008", "von_giai_ngan_2008"} <= {c.id for c in report.table.columns}
    assert {"muc_ke_hoach_2008", "muc_dat_2008"} <= {c.id for c in report.table_named("dvc_2008").columns}


def test_a_field_taken_with_same_is_form_1_1s_with_the_changes_given(report, spec):
    for field_id in ("tong_so_cbccvc", "so_may_ket_noi_internet", "so_cbcc_dung_thu_thuong_xuyen", "dg_ket_qua"):
        mine, theirs = report.fields[field_id], spec.fields[field_id]
        assert (mine.vi, mine.en, mine.type, mine.unit, mine.min, mine.max, mine.required) == (
            theirs.vi, theirs.en, theirs.type, theirs.unit, theirs.min, theirs.max, theirs.required)
    assert spec.fields["so_dvc_muc_3"].warn_max == 0 and report.fields["so_dvc_muc_3"].warn_max is None  # null drops
    assert str(report.fields["ngay_so_lieu"].min) == "2008-01-01"
    assert report.table_named("th_2008").column("ten_nhiem_vu").vi == spec.table_named("kh_2008").column(
        "ten_nhiem_vu").vi
    assert report.table_named("th_2008").column("don_vi_chu_tri").required is False  # given beside same
    assert next(r for r in report.rules if r.id == "R01a").vi == next(r for r in spec.rules if r.id == "R01a").vi


def test_the_same_field_id_asks_the_same_question(report, spec):
    """Where both forms have a field id it is the same question (its label), so 2007 and 2008 line up."""
    shared = set(report.fields) & set(spec.fields)
    assert len(shared) >= 45
    assert {f for f in shared if report.fields[f].vi != spec.fields[f].vi} == set()


def test_every_result_names_a_numeric_field_of_the_plan(report, spec):
    results = {f.id: f.plan_field for f in report.fields.values() if f.plan_field}
    assert results["kp_cntt_2008"] == "kh_kp_2008"
    assert results["ty_le_may_tren_cbcc"] == "mt_may_tinh_tren_cbcc_2008"
    # every 2008 target of the plan is held against one result
    targets = {f.id for f in spec.fields.values() if f.kind == "target" and f.year == 2008}
    assert targets <= set(results.values())
    for plan_field in results.values():
        assert spec.fields[plan_field].value_type in NUMERIC_TYPES | {"pct", "ratio"}


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_mistakes_in_same_say_where(tmp_path):
    shutil.copy(bundled("form_spec.yaml"), tmp_path / "form_spec.yaml")
    data = yaml.safe_load(REPORT_SPEC.read_text(encoding="utf-8"))
    data["sheets"][0]["sections"][0]["fields"][2] = {"same": "loai_don_vi_typo"}
    with pytest.raises(SpecError, match=r"sheets\[0\]\.sections\[0\]\.fields\[2\].*loai_don_vi_typo"):
        load_spec(_write(tmp_path / "r.yaml", data))
    data = yaml.safe_load(REPORT_SPEC.read_text(encoding="utf-8"))
    data["form"]["base_spec"] = "r.yaml"
    _write(tmp_path / "r.yaml", data)
    with pytest.raises(SpecError, match="one level only"):
        load_spec(_write(tmp_path / "r2.yaml", data))


def test_a_change_to_the_base_changes_the_reports_hash(tmp_path, report):
    shutil.copy(bundled("form_spec.yaml"), tmp_path / "form_spec.yaml")
    shutil.copy(REPORT_SPEC, tmp_path / "report.yaml")
    assert load_spec(tmp_path / "report.yaml").sha256 == report.sha256
    base = (tmp_path / "form_spec.yaml").read_text(encoding="utf-8")
    (tmp_path / "form_spec.yaml").write_text(base.replace("'Tổng số cán bộ, công chức, viên chức'",
                                                          "'Tổng số CBCCVC'"), encoding="utf-8")
    changed = load_spec(tmp_path / "report.yaml")
    assert changed.sha256 != report.sha256 and changed.fields["tong_so_cbccvc"].vi == "Tổng số CBCCVC"


def test_a_report_reads_back_with_its_values_and_validates_clean(report, spec):
    registry = load_registry()
    in_both = [a for a in registry.of_round(report).agencies if registry.of_round(spec).get(a.code)]
    for agency in in_both[::7]:
        plan = plan_sample(spec, agency, 2007)
        sample = make_result(report, plan, random.Random(agency.code))
        assert audit(report, sample.values, sample.projects, sample.cell_text, sample.tables) == []
        data = build_workbook(report, agency=agency, values=sample.values, projects=sample.projects,
                              tables=sample.tables)
        sub = read(data, name=f"{agency.code}.xlsx", spec=report, registry=registry)
        assert (sub.form_id, sub.round, sub.agency_code) == ("BM-BCTH-2008", "2008", agency.code)
        assert sub.issues == []
        for field_id, value in sample.values.items():
            if report.fields[field_id].is_input and value is not None:
                assert sub.values[field_id] == value, field_id
        assert len(sub.tables["th_2008"].rows) == len(plan.tables["kh_2008"])  # every task of the 2008 plan
        verdict = validate_batch([sub], report)[0]
        assert verdict.status == "accepted", [i.code for i in verdict.issues]


def test_a_plan_return_is_not_a_report(report, spec):
    agency = load_registry().agencies[0]
    data = build_workbook(spec, agency=agency, values=plan_sample(spec, agency, 2007).values)
    sub = read(data, name="plan.xlsx", spec=report, registry=load_registry())
    assert [i.code for i in sub.issues] == ["FORM_OTHER_ROUND"] and not sub.readable
    assert (sub.round, sub.agency_code) == ("2007-2010", agency.code)  # its own round's; whom it came from


def test_its_rulebook_is_up_to_date(report):
    """docs/rulebook_2008.md: `ictplan rulebook --spec workbook_templates/report_2008_spec.yaml --out
    docs/rulebook_2008.md`."""
    text = render_rulebook(report)
    assert "report_2008_spec.yaml" in text.splitlines()[2]
    assert (ROOT / "docs" / "rulebook_2008.md").read_text(encoding="utf-8") == text
