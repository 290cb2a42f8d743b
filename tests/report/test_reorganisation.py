"""The 2008 reorganisation across two rounds (issue 19): each round expects the agencies existing at its deadline,
a return of an agency that had ended is refused naming its successor, and the 2008 "Thực hiện so với kế hoạch"
follows the successors: against figures computed here from the generated returns, not from the ledger.

A province cut down to the reorganised departments and the agencies their work went to: in 2007 (deadline
30/09/2007) twelve agencies; in 2008 (deadline 31/01/2009) eight, three of them new (Sở Công Thương from Sở Công
nghiệp and Sở Thương mại và Du lịch; Sở Văn hóa, Thể thao và Du lịch from Sở Văn hóa - Thông tin and Sở Thể dục,
Thể thao; Sở Thông tin và Truyền thông from Sở Bưu chính, Viễn thông), Sở Thủy sản merged into Sở Nông nghiệp
và Phát triển nông thôn and Ủy ban Dân số, Gia đình và Trẻ em dissolved."""

from __future__ import annotations

import random

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from summary_factory import registry_csv, sheet_blocks

from pipeline.cli import cli
from pipeline.form.bundled import bundled
from pipeline.form.registry import parse_registry
from pipeline.form.sample import write_samples
from pipeline.form.sample_results import make_result, plan_sample, write_results
from pipeline.form.spec import load_spec
from pipeline.form.template import build_workbook, template_file_name
from pipeline.record.ledger import Ledger
from pipeline.report.status import round_status
from pipeline.run import Paths, consolidate, summary_name

CODES = ("VP-UBND", "STC", "SCN", "STMDL", "SNNPTNT", "STS", "SYT", "SLDTBXH", "SVHTT", "STDTT", "SBCVT", "UBDSGDTE", "SCT",
         "SVHTTDL", "STTTT")
IN_2007 = ["VP-UBND", "STC", "SCN", "STMDL", "SNNPTNT", "STS", "SYT", "SLDTBXH", "SVHTT", "STDTT", "SBCVT", "UBDSGDTE"]
IN_2008 = ["VP-UBND", "STC", "SNNPTNT", "SYT", "SLDTBXH", "SCT", "SVHTTDL", "STTTT"]
# whose plans each agency's 2008 targets come from
MERGED = {"SCT": ("SCN", "STMDL"), "SVHTTDL": ("SVHTT", "STDTT"), "STTTT": ("SBCVT",), "SNNPTNT": ("SNNPTNT", "STS")}
PVR_SHEET = "Thực hiện so với kế hoạch"


@pytest.fixture(scope="module")
def report_spec():
    return load_spec(bundled("report_2008_spec.yaml"))


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """The bundled registry's rows of CODES, as a file (for the CLI) and a registry."""
    text = registry_csv(CODES)
    path = tmp_path_factory.mktemp("registry") / "agencies.csv"
    path.write_text(text, encoding="utf-8")
    return path, parse_registry(text, str(path))


@pytest.fixture(scope="module")
def rounds(tmp_path_factory, province, spec, report_spec):
    """2007: the plans of the twelve agencies; the 2008 templates carried forward from them; 2008: the eight
    agencies' reports made by `ictplan sample`'s generator, and a report Sở Bưu chính, Viễn thông sent anyway."""
    registry_path, registry = province
    root = tmp_path_factory.mktemp("reorg")
    db = root / "ledger.sqlite"
    plans = write_samples(spec, registry, root / "inbox07", seed=2007)
    consolidate(Paths(root / "inbox07", root / "out07", db), spec, registry)
    carried = CliRunner().invoke(cli, ["template", "--round", "2008", "--db", str(db), "--registry", str(registry_path),
                                       "--out", str(root / "templates08")])
    assert carried.exit_code == 0, carried.output
    results = write_results(report_spec, registry, root / "inbox08", seed=2008, plan_seed=2007)
    sbcvt = registry.get("SBCVT")
    stray = make_result(report_spec, plan_sample(spec, sbcvt, 2007), random.Random("stray"))
    (root / "inbox08" / template_file_name(report_spec, "SBCVT")).write_bytes(
        build_workbook(report_spec, agency=sbcvt, values=stray.values, projects=stray.projects, tables=stray.tables))
    run = consolidate(Paths(root / "inbox08", root / "out08", db), report_spec, registry)
    book = openpyxl.load_workbook(root / "out08" / summary_name(report_spec), read_only=True)
    return {"plans": {p.agency.code: p for _, p in plans}, "results": {r.agency.code: r for _, r in results},
            "run": run, "book": book, "db": db, "root": root, "carried": carried.output}


def test_each_round_expects_the_agencies_existing_at_its_deadline(rounds, province, spec, report_spec):
    _, registry = province
    assert list(rounds["plans"]) == IN_2007 and list(rounds["results"]) == IN_2008  # `ictplan sample`, both rounds
    assert sorted(p.name for p in (rounds["root"] / "templates08").iterdir()) == sorted(
        [template_file_name(report_spec, None), *(template_file_name(report_spec, c) for c in IN_2008)])
    with Ledger(rounds["db"]) as ledger:
        plan_round, report_round = round_status(ledger, spec, registry), round_status(ledger, report_spec, registry)
    assert [a.agency.code for a in plan_round.agencies] == IN_2007
    assert plan_round.counts()["expected"] == 12 and plan_round.counts()["missing"] == 0
    # the ended agencies are not chased in 2008: every expected agency reported, none is missing
    assert [a.agency.code for a in report_round.agencies] == IN_2008
    counts = report_round.counts()
    assert (counts["expected"], counts["received"], counts["missing"]) == (8, 8, 0)
    assert [r.agency for r in report_round.unattributed] == ["SBCVT"]  # listed apart, not counted


def test_a_return_of_an_agency_that_ended_is_refused_naming_its_successor(rounds):
    (refused,) = [f for f in rounds["run"].files if f.agency == "SBCVT"]
    assert refused.status == "rejected"
    (issue,) = [i for i in refused.issues if i.code == "FORM_AGENCY_SUCCEEDED"]
    assert issue.context["successor_code"] == "STTTT" and issue.context["ended"] == "01/09/2008"
    assert issue.message("vi").endswith(
        "Sở Bưu chính, Viễn thông (mã SBCVT) không còn là đơn vị báo cáo từ ngày 01/09/2008: kỳ báo cáo 2008 "
        "(hạn 31/01/2009) do Sở Thông tin và Truyền thông (mã STTTT) báo cáo thay. Tệp không được tính vào kỳ "
        "2008. Đề nghị đơn vị gửi báo cáo kỳ 2008 trên mẫu của Sở Thông tin và Truyền thông (mã STTTT).")
    assert "Sở Thông tin và Truyền thông (code STTTT) reports in its place" in issue.message("en")
    counts = rounds["run"].counts
    assert counts["accepted"] + counts["accepted_with_warnings"] == 8 and counts["rejected"] == 1


def test_coverage_counts_the_rounds_own_agencies(rounds):
    book = rounds["book"]
    rows = list(book[PVR_SHEET].iter_rows(values_only=True))
    province = next(r for r in rows if r[1] == "TOÀN TỈNH")
    assert province[9] == "8/8"  # all eight compared: the successors through their predecessors' plans
    overview = next(r for r in book["Tổng quan"].iter_rows(values_only=True) if r[1] == "Số đơn vị phải báo cáo")
    assert overview[2] == 8


@pytest.mark.parametrize("new", list(MERGED))
def test_a_successors_targets_are_its_predecessors_plans(rounds, province, report_spec, new):
    """Counts and money: the predecessors' plans added; a percentage typed in: weighted by their staff; the
    result: the successor's own report."""
    _, registry = province
    plans, results = rounds["plans"], rounds["results"]
    olds = MERGED[new]
    block = sheet_blocks(rounds["book"], PVR_SHEET, "STT")[registry.get(new).name_vi]
    fields = report_spec.fields
    money = block[fields["kp_cntt_2008"].vi]
    assert money[4] == pytest.approx(sum(plans[o].values["kh_kp_2008"] for o in olds))
    assert money[5] == pytest.approx(results[new].values["kp_cntt_2008"])
    staff = {o: plans[o].values["tong_so_cbccvc"] for o in olds}
    documents = block[fields["ty_le_van_ban_qua_mang"].vi]
    plan_field = fields["ty_le_van_ban_qua_mang"].plan_field
    assert documents[4] == pytest.approx(sum(plans[o].values[plan_field] * staff[o] for o in olds)
                                         / sum(staff.values()))
    assert documents[5] == pytest.approx(results[new].values["ty_le_van_ban_qua_mang"])
    it_staff = block[fields["so_cb_chuyen_trach"].vi]
    assert it_staff[4] == pytest.approx(sum(plans[o].values[fields["so_cb_chuyen_trach"].plan_field] for o in olds))


def test_the_generated_report_of_a_successor_grows_from_its_predecessors_plans(rounds):
    plans, results = rounds["plans"], rounds["results"]
    for new, olds in MERGED.items():
        before = sum(plans[o].values["tong_so_cbccvc"] for o in olds)
        assert before - 3 <= results[new].values["tong_so_cbccvc"] <= before + 6, new  # staff a little changed
        assert results[new].values["ma_don_vi"] == new
        planned = {t["ten_nhiem_vu"] for o in olds for t in plans[o].tables["kh_2008"]}
        assert {t["ten_nhiem_vu"] for t in results[new].tables["th_2008"]} == planned


def test_the_sheet_says_whose_plan_and_what_went_elsewhere(rounds):
    text = " ".join(str(r[0]) for r in rounds["book"][PVR_SHEET].iter_rows(max_row=14, values_only=True) if r[0])
    assert ("Mục tiêu của Sở Thông tin và Truyền thông lấy từ kế hoạch kỳ 2007-2010 của Sở Bưu chính, Viễn thông "
            "(đơn vị tiền thân).") in text
    assert ("Mục tiêu của Sở Công Thương lấy từ kế hoạch kỳ 2007-2010 của Sở Công nghiệp và Sở Thương mại và Du "
            "lịch (đơn vị tiền thân). Số lượng, kinh phí cộng lại; tỷ lệ bình quân theo quy mô.") in text
    assert ("Phần thông tin, báo chí, xuất bản của Sở Văn hóa - Thông tin chuyển sang Sở Thông tin và Truyền thông "
            "từ ngày 01/09/2008: kế hoạch của Sở Văn hóa - Thông tin được so sánh qua Sở Văn hóa, Thể thao và Du "
            "lịch, không tính vào Sở Thông tin và Truyền thông.") in text
    assert "Phần du lịch của Sở Thương mại và Du lịch chuyển sang Sở Văn hóa, Thể thao và Du lịch" in text
    assert ("Mục tiêu của Sở Nông nghiệp và Phát triển nông thôn gồm kế hoạch kỳ 2007-2010 của đơn vị và của Sở "
            "Thủy sản (đã sáp nhập vào đơn vị).") in text
    assert ("Ủy ban Dân số, Gia đình và Trẻ em thôi là đơn vị báo cáo từ ngày 01/09/2008, không có đơn vị kế thừa; "
            "công việc chuyển sang: gia đình → Sở Văn hóa, Thể thao và Du lịch; dân số, kế hoạch hóa gia đình → "
            "Sở Y tế; bảo vệ, chăm sóc trẻ em → Sở Lao động - Thương binh và Xã hội: kế hoạch kỳ 2007-2010 của "
            "đơn vị không được so sánh.") in text


def test_a_plan_not_counted_is_left_out_and_said(rounds, province, spec, report_spec):
    """A predecessor without a counted plan adds nothing and the sheet says so; an agency without a counted plan
    of its own is not compared through what merged into it (its targets would be Sở Thủy sản's alone)."""
    from dataclasses import replace

    from pipeline.report.plan_vs_result import compare, note_lines
    from pipeline.run import INDEX_COLUMNS, _summary_of, handovers_of

    _, registry = province
    plans = rounds["plans"]
    with Ledger(rounds["db"]) as ledger:
        report = _summary_of(ledger, report_spec, registry, ledger.submissions("2008", INDEX_COLUMNS))
        plan = _summary_of(ledger, spec, registry, ledger.submissions("2007-2010", INDEX_COLUMNS))
    plan = replace(plan, values=plan.values.drop(index=["STDTT", "SNNPTNT"]))  # as if both had been refused
    c = compare(report, plan, report_spec, spec, handovers=handovers_of(registry, spec, report_spec))
    assert c.target("SVHTTDL", "kp_cntt_2008")["target"] == pytest.approx(plans["SVHTT"].values["kh_kp_2008"])
    assert pd.isna(c.target("SNNPTNT", "kp_cntt_2008")["target"]) and ("STS", "SNNPTNT") not in c.notes
    assert c.target("SCT", "kp_cntt_2008")["target"] == pytest.approx(
        plans["SCN"].values["kh_kp_2008"] + plans["STMDL"].values["kh_kp_2008"])
    lines = note_lines(c, "vi")
    assert ("Mục tiêu của Sở Văn hóa, Thể thao và Du lịch lấy từ kế hoạch kỳ 2007-2010 của Sở Văn hóa - Thông tin "
            "(đơn vị tiền thân). Kế hoạch của Sở Thể dục, Thể thao chưa được tổng hợp (không có báo cáo hợp lệ), "
            "không tính.") in lines
    assert not [line for line in lines if "Sở Nông nghiệp" in line]
    english = note_lines(c, "en")
    assert "The targets of Department of Information and Communications come from the 2007-2010 plan of " \
           "Department of Posts and Telematics (its predecessor)." in english


def test_a_carried_forward_copy_of_a_successor_is_filled_from_its_predecessors_return(rounds, province, report_spec):
    from pipeline.form.carry_forward import carried_fields
    from pipeline.form.layout import layout_for
    from pipeline.form.spec import load_spec as load
    from pipeline.intake.read import read

    _, registry = province
    plan = rounds["plans"]["SBCVT"]
    # VP-UBND, STC, SNNPTNT (from its own return, not Sở Thủy sản's), SYT, SLDTBXH and STTTT; not SCT, SVHTTDL
    assert "vào bản của 6 đơn vị" in rounds["carried"]
    folder = rounds["root"] / "templates08"
    cells = layout_for(report_spec).cells
    book = openpyxl.load_workbook(folder / template_file_name(report_spec, "STTTT"))
    path = folder / template_file_name(report_spec, "STTTT")
    sub = read(path.read_bytes(), name=path.name, spec=report_spec, registry=registry)
    assert sub.agency_code == "STTTT" and not [i for i in sub.issues if i.code.startswith("FORM_")]
    checked = 0
    for field_id in carried_fields(report_spec, load()):
        if plan.values.get(field_id) is None:
            continue
        cell = book[cells[field_id].sheet][cells[field_id].a1]
        assert sub.values[field_id] == plan.values[field_id], field_id
        assert "Ghi sẵn từ báo cáo kỳ 2007-2010 của Sở Bưu chính, Viễn thông (đơn vị tiền thân)" in cell.comment.text
        checked += 1
    assert checked > 10
    identity = book[cells["ma_don_vi"].sheet][cells["ma_don_vi"].a1]
    assert identity.value == "STTTT"
    merged = openpyxl.load_workbook(folder / template_file_name(report_spec, "SCT"))
    staff = merged[cells["tong_so_cbccvc"].sheet][cells["tong_so_cbccvc"].a1]
    assert staff.value is None and staff.comment is None  # two predecessors: no one return holds its figures
    absorbed = openpyxl.load_workbook(folder / template_file_name(report_spec, "SNNPTNT"))
    staff = absorbed[cells["tong_so_cbccvc"].sheet][cells["tong_so_cbccvc"].a1]
    assert staff.value == rounds["plans"]["SNNPTNT"].values["tong_so_cbccvc"]
    assert "của đơn vị (tệp" in staff.comment.text
