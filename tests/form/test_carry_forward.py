"""Carry-forward templates (issue 19): `ictplan template --round 2008 --db …` pre-fills each agency's copy from
its counted plan return where the report form asks the same (same field id; the tables by form.carry_forward),
marked (a blue fill and a note) for the agency to check; an agency without a plan return gets a plain copy."""

from __future__ import annotations

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.form.carry_forward import carried_fields, table_rules
from pipeline.form.sample import write_samples
from pipeline.form.spec import SpecError, bundled, load_spec
from pipeline.form.template import CARRIED_FILL, INPUT_FILL
from pipeline.intake.read import read
from pipeline.run import Paths, consolidate

COUNT = 3


@pytest.fixture(scope="module")
def report_spec():
    return load_spec(bundled("report_2008_spec.yaml"))


@pytest.fixture(scope="module")
def carried(tmp_path_factory, spec, registry):
    root = tmp_path_factory.mktemp("carry")
    plans = write_samples(spec, registry, root / "inbox", count=COUNT, seed=2007)
    consolidate(Paths(root / "inbox", root / "out", root / "ledger.sqlite"), spec, registry)
    done = CliRunner().invoke(cli, ["template", "--round", "2008", "--db", str(root / "ledger.sqlite"),
                                    "--out", str(root / "templates")])
    assert done.exit_code == 0, done.output
    assert f"vào bản của {COUNT} đơn vị" in done.output
    return {p.agency.code: p for _, p in plans}, root / "templates"


def _cell(book, spec, field_id):
    from pipeline.form.layout import layout_for

    ref = layout_for(spec).cells[field_id]
    return book[ref.sheet][ref.a1]


def test_the_same_questions_are_pre_filled_and_marked(carried, report_spec, spec, registry):
    plans, folder = carried
    fields = carried_fields(report_spec, spec)
    assert {"tong_so_cbccvc", "so_may_ket_noi_internet", "dien_thoai", "so_dvc_muc_2"} <= set(fields)
    assert not {"dg_ket_qua", "ngay_lap", "ngay_so_lieu", "ma_don_vi"} & set(fields)  # narratives, dates, identity
    for code, plan in plans.items():
        path = folder / f"BM-BCTH-2008_v1.0_{code}.xlsx"
        book = openpyxl.load_workbook(path)
        for field_id in fields:
            cell = _cell(book, report_spec, field_id)
            if plan.values.get(field_id) is None:
                continue
            assert cell.fill.fgColor.rgb == "FF" + CARRIED_FILL[1:], field_id
            assert "Ghi sẵn từ báo cáo kỳ 2007-2010" in cell.comment.text
        new = _cell(book, report_spec, "kp_cntt_2008")  # asked for the first time: a plain input
        assert new.value is None and new.fill.fgColor.rgb == "FF" + INPUT_FILL[1:] and new.comment is None
        sub = read(path.read_bytes(), name=path.name, spec=report_spec, registry=registry)
        for field_id in fields:
            if plan.values.get(field_id) is not None:
                assert sub.values[field_id] == plan.values[field_id], (code, field_id)
        # the 2008 annual plan's tasks, the projects with a 2008 allocation and the services, row by row
        tasks = [r.values for r in sub.tables["th_2008"].rows]
        assert [(t["ten_nhiem_vu"], t["kinh_phi_ke_hoach"]) for t in tasks] == [
            (t["ten_nhiem_vu"], t["kinh_phi"]) for t in plan.tables["kh_2008"]]
        assert all(t.get("kinh_phi_giai_ngan") is None for t in tasks)  # what the agency reports
        assert [(p.values["ten_du_an"], p.values["kp_2008_ke_hoach"]) for p in sub.projects] == [
            (p["ten_du_an"], p["kp_2008"]) for p in plan.projects if p["kp_2008"]]
        assert [(r.values["ten_thu_tuc"], r.values["muc_ke_hoach_2008"]) for r in sub.tables["dvc_2008"].rows] == [
            (r["ten_thu_tuc"], r["muc_2008"]) for r in plan.tables["dvc"]]


def test_an_agency_without_a_plan_return_gets_a_plain_copy(carried, report_spec, registry):
    _, folder = carried
    other = registry.agencies[COUNT].code
    book = openpyxl.load_workbook(folder / f"BM-BCTH-2008_v1.0_{other}.xlsx")
    cell = _cell(book, report_spec, "tong_so_cbccvc")
    assert cell.value is None and cell.comment is None


def test_a_wrong_mapping_names_its_place(report_spec, spec):
    from dataclasses import replace

    broken = replace(report_spec, form={**report_spec.form, "carry_forward": {
        "tables": {"th_2008": {"from": "kh_2008", "columns": {"kinh_phi_ke_hoach": "kinh_phi_typo"}}}}})
    with pytest.raises(SpecError, match=r"th_2008.*kinh_phi_typo"):
        table_rules(broken, spec)
