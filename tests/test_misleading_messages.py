"""Issue 14, "Messages that mislead": returns edited as clerks edit them, consolidated end to end.

Each case is a real workbook: a clean sample return edited with openpyxl (a program that does not calculate,
as many office scripts do), or the committed LibreOffice fixture of tests/data/clerks/ (regenerate.py). The
tests assert the values that reach indicators.csv and projects.csv, and the messages in both languages.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.form.layout import layout_for
from pipeline.form.sample import write_samples
from pipeline.run import Paths, consolidate

CLERKS = Path(__file__).resolve().parent / "data" / "clerks"
LIBREOFFICE_DOT_GROUPED = CLERKS / "libreoffice-dot-grouped-STC.xlsx"  # "2.003" typed in en-US Calc
HYPERLINK = '=HYPERLINK("http://example.com/bao-cao","bấm vào đây")'


def _edit(path: Path, spec, edits: dict[str, object], merge: str | None = None) -> None:
    """Type values into the cells of fields with openpyxl and save: every formula loses its calculated value."""
    cells = layout_for(spec).cells
    wb = openpyxl.load_workbook(path)
    for field_id, value in edits.items():
        ref = cells[field_id]
        wb[ref.sheet][ref.a1] = value
    if merge is not None:  # as Excel's Merge Cells does: the covered cells' content is discarded
        sheet, cells_range = merge.split("!")
        wb[sheet].merge_cells(cells_range)
    wb.save(path)


@pytest.fixture(scope="module")
def run(spec, registry, tmp_path_factory):
    """One consolidation of an inbox of edited returns (one agency each) and the LibreOffice fixture (STC)."""
    root = tmp_path_factory.mktemp("clerks")
    inbox = root / "inbox"
    written = write_samples(spec, registry, inbox, count=7, seed=2007)
    (inbox / "manifest.json").unlink()
    files = {sample.agency.code: path for path, sample in written}
    assert "STC" in files
    files["STC"].unlink()  # STC's return is the LibreOffice fixture
    (inbox / LIBREOFFICE_DOT_GROUPED.name).write_bytes(LIBREOFFICE_DOT_GROUPED.read_bytes())
    others = [code for code in files if code != "STC"]
    cells = layout_for(spec).cells
    ton_tai = cells["dg_ton_tai"]
    edits = {
        # a formula typed into a narrative, and one into a count, saved by a program that does not calculate
        "formula": ({"dg_ket_qua": HYPERLINK}, None),
        "formula_count": ({"so_may_chu": "=SUM(2,1)"}, None),
        # a required narrative emptied; another one lost to a merge with the (empty) cell on its left
        "required": ({"dg_kho_khan": None}, f"{ton_tai.sheet}!C{ton_tai.row}:{ton_tai.a1}"),
        # a year typed as text with a thousands dot, money in thousand đồng; a real fraction in a count
        "numbers": ({"nam_khai_truong_website": "2.003", "kp_cntt_2006": 74200}, None),
        "fraction": ({"so_cb_kiem_nhiem": 2.5}, None),
    }
    codes = dict(zip(edits, others, strict=False))
    for case, (values, merge) in edits.items():
        _edit(files[codes[case]], spec, values, merge)
    out = root / "out"
    report = consolidate(Paths(inbox, out, out / "ledger.sqlite"), spec, registry)
    return {"report": report, "out": out, "codes": codes, "files": files,
            "results": {f.agency: f for f in report.files}}


def _csv(out: Path, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((out / "data" / name).read_text(encoding="utf-8-sig"))))


def _indicators(run, code: str) -> dict[str, str]:
    return next(row for row in _csv(run["out"], "indicators.csv") if row["agency"] == code)


def _a1(spec, field_id: str) -> str:
    """Where the template puts a field (the messages name it)."""
    return layout_for(spec).cells[field_id].a1


def _issue(run, code: str, issue_code: str, field: str):
    found = [i for i in run["results"][code].issues if i.code == issue_code and i.field == field]
    assert len(found) == 1, [(i.code, i.field) for i in run["results"][code].issues]
    return found[0]


# --- a formula without a calculated value ------------------------------------------------------------------


def test_a_formula_in_a_narrative_is_kept_as_plain_text_with_a_warning(run, spec):
    code = run["codes"]["formula"]
    at = _a1(spec, "dg_ket_qua")
    found = _issue(run, code, "VALUE_FORMULA_TEXT", "dg_ket_qua")
    assert found.message("vi") == (
        f"Trang 'Hiện trạng', ô {at} (Kết quả đạt được): ô chứa công thức " + HYPERLINK + " nhưng không có giá trị "
        "đã tính; nội dung công thức được giữ nguyên dưới dạng văn bản (không phải công thức hay liên kết). Đề nghị "
        "đơn vị ghi trực tiếp nội dung vào ô, không dùng công thức.")
    assert found.message("en") == (
        f"Sheet 'Hiện trạng', cell {at} (Results achieved): the cell holds the formula " + HYPERLINK + " but no "
        "calculated value; the formula's text was kept as plain text (never as a formula or a link). Please type "
        "the text itself into the cell, not a formula.")
    assert not any(i.code == "RULE_REQUIRED" and i.field == "dg_ket_qua" for i in run["results"][code].issues)
    # indicators.csv: the text, with the apostrophe that keeps a spreadsheet from running it
    assert _indicators(run, code)["dg_ket_qua"] == "'" + HYPERLINK


def test_a_formula_in_a_count_is_an_error_that_says_what_it_is(run):
    code = run["codes"]["formula_count"]
    found = _issue(run, code, "VALUE_FORMULA_INPUT", "so_may_chu")
    assert found.message("vi") == (
        "Trang 'Hiện trạng', ô D11 (Số máy chủ, không tính ở trên): ô nhập liệu chứa công thức =SUM(2,1) nhưng "
        "không có giá trị đã tính (tệp được lưu bằng phần mềm không tính công thức), nên không có số liệu để đọc. "
        "Đề nghị đơn vị ghi trực tiếp giá trị vào ô, không dùng công thức.")
    assert found.message("en").startswith(
        "Sheet 'Hiện trạng', cell D11 (Servers, not counted above): the input cell holds the formula =SUM(2,1) but "
        "no calculated value")
    assert run["results"][code].status == "rejected"


def test_the_formula_is_text_in_the_summary_and_the_feedback(run, spec):
    """Never a formula or a link in any output: the summary's narratives sheet and the agency's feedback."""
    out, code = run["out"], run["codes"]["formula"]
    summary = openpyxl.load_workbook(next(out.glob("tong_hop_*.xlsx")))
    texts = [c for ws in summary.worksheets for row in ws.iter_rows() for c in row if c.value == HYPERLINK]
    assert texts and all(c.data_type == "s" for c in texts)
    assert not any(ws._hyperlinks for ws in summary.worksheets)
    feedback = next((out / "feedback").glob(f"phan_hoi_{code}_*.xlsx"))
    cell = openpyxl.load_workbook(feedback)["Hiện trạng"][_a1(spec, "dg_ket_qua")]
    assert (cell.value, cell.data_type, cell.hyperlink) == (HYPERLINK, "s", None)
    with zipfile.ZipFile(feedback) as book:
        sheets = [book.read(n) for n in book.namelist() if n.startswith("xl/worksheets/")]
    assert not any(re.search(rb"<f\b[^>]*>[^<]*HYPERLINK", xml) for xml in sheets)  # in no formula


# --- the advice of a required field ------------------------------------------------------------------------


def test_a_required_narrative_is_not_told_to_enter_0(run, spec):
    code = run["codes"]["required"]
    at = _a1(spec, "dg_kho_khan")
    found = _issue(run, code, "RULE_REQUIRED", "dg_kho_khan")
    assert found.message("vi") == (f"Trang 'Hiện trạng', ô {at} (Khó khăn, vướng mắc): chưa điền. Đây là chỉ tiêu bắt "
                                   "buộc: đề nghị đơn vị ghi nội dung vào ô này.")
    assert found.message("en") == (f"Sheet 'Hiện trạng', cell {at} (Difficulties): is empty. This item is required: "
                                   "please write it in this cell.")
    assert run["results"][code].status == "rejected"
    assert code not in {row["agency"] for row in _csv(run["out"], "indicators.csv")}  # nothing of it is counted


def test_a_narrative_lost_to_merged_cells_gets_the_same_right_advice(run, spec):
    code = run["codes"]["required"]
    row = layout_for(spec).cells["dg_ton_tai"].row
    found = _issue(run, code, "RULE_REQUIRED", "dg_ton_tai")
    assert found.message("vi").endswith(": chưa điền. Đây là chỉ tiêu bắt buộc: đề nghị đơn vị ghi nội dung vào ô này.")
    assert found.message("en").endswith(": is empty. This item is required: please write it in this cell.")
    merged = [i for i in run["results"][code].issues if i.code == "LAYOUT_MERGED"]
    assert [i.message("en") for i in merged] == [
        f"Sheet 'Hiện trạng', cell C{row}: Cells C{row}:D{row} were merged; only the first cell's value was read. "
        "Please unmerge them."]
    assert "ghi 0" not in " ".join(i.message("vi") for i in run["results"][code].issues)


# --- "2.003" and the numbers in messages ------------------------------------------------------------------


def test_dot_grouped_numbers_typed_in_libreoffice_are_read_the_vietnamese_way(run, spec):
    """en-US Calc stored 2.003 and 2.008: they are 2003 and 2008, each with a warning showing what was typed."""
    assert run["results"]["STC"].status == "accepted_with_warnings"
    row = _indicators(run, "STC")
    assert (row["tong_so_cbccvc"], row["nam_khai_truong_website"]) == ("2003", "2003")
    project = next(p for p in _csv(run["out"], "projects.csv") if p["agency"] == "STC" and p["row"] == "7")
    assert float(project["nam_bat_dau"]) == 2008  # projects.csv writes every year as 2008.0
    staff = _issue(run, "STC", "VALUE_GROUPED_THOUSANDS", "tong_so_cbccvc")
    assert staff.message("vi") == (
        "Trang 'Hiện trạng', ô D7 (Tổng số cán bộ, công chức, viên chức): ô ghi \"2.003\", đã đọc là 2003 (dấu chấm "
        "ngăn cách hàng nghìn, như 1.500 là một nghìn năm trăm). Nếu không đúng, đề nghị đơn vị ghi lại số không có "
        "dấu phân cách.")
    assert staff.message("en") == (
        "Sheet 'Hiện trạng', cell D7 (Total staff): the cell holds \"2.003\", read as 2003 (the dot taken as the "
        "thousands separator of Vietnamese usage, as in 1.500 for fifteen hundred). If that is wrong, please "
        "re-enter the number without separators.")
    start = _issue(run, "STC", "VALUE_GROUPED_THOUSANDS", "nam_bat_dau")
    assert (start.sheet, start.cell) == ("Dự án", layout_for(spec).table.cell(7, "nam_bat_dau")) and '"2.008", read as 2008 ' in start.message("en")


def test_a_year_typed_as_text_with_a_dot_is_read_as_the_year(run):
    code = run["codes"]["numbers"]
    assert _indicators(run, code)["nam_khai_truong_website"] == "2003"
    found = _issue(run, code, "VALUE_GROUPED_THOUSANDS", "nam_khai_truong_website")
    assert ': ô ghi "2.003", đã đọc là 2003 ' in found.message("vi")


def test_units_and_numbers_are_in_the_message_language(run):
    fraction = _issue(run, run["codes"]["fraction"], "VALUE_NOT_INTEGER", "so_cb_kiem_nhiem")
    assert fraction.message("vi").endswith(": giá trị 2,5 phải là số nguyên (người).")
    assert fraction.message("en").endswith(": 2.5 must be a whole number (people).")
    code = run["codes"]["numbers"]
    assert float(_indicators(run, code)["kp_cntt_2006"]) == 74200  # data keep the neutral form
    money = _issue(run, code, "RULE_MONEY_UNIT", "kp_cntt_2006")
    assert money.message("vi").endswith(": 74.200 triệu đồng là lớn bất thường (có thể đã nhập theo nghìn đồng, "
                                        "gấp 1.000 lần). Đề nghị đơn vị kiểm tra đơn vị tính: triệu đồng.")
    assert money.message("en").endswith(": 74,200 million VND is unusually large (perhaps entered in thousand đồng, "
                                        "1,000 times too big). Please check the unit: million VND.")
    # the summary's issues sheet, rebuilt from the ledger, writes them the same way
    issues = _csv(run["out"], "issues.csv")
    row = next(r for r in issues if r["agency"] == code and r["code"] == "RULE_MONEY_UNIT")
    assert (row["value"], row["message_vi"], row["message_en"]) == ("74200", money.message("vi"), money.message("en"))


# --- `ictplan check` on a narrow terminal -----------------------------------------------------------------


@pytest.mark.parametrize("columns", [80, 100])
def test_check_prints_one_block_a_file_on_a_narrow_terminal(run, columns):
    path = run["files"][run["codes"]["required"]]
    result = CliRunner(env={"COLUMNS": str(columns)}).invoke(cli, ["check", str(path), str(LIBREOFFICE_DOT_GROUPED)])
    lines = result.output.splitlines()
    assert result.exit_code == 1 and lines[0] == "Kết quả kiểm tra"
    warnings = sum(i.severity == "warning" for i in run["results"][run["codes"]["required"]].issues)  # and the
    assert warnings > 1  # formulas openpyxl left without a value
    assert lines[1] == f"{path.name} ({run['codes']['required']}): Chưa hợp lệ — 2 lỗi, {warnings} cảnh báo"
    assert lines[2].startswith("  Trang 'Hiện trạng', ô ")
    assert f"{LIBREOFFICE_DOT_GROUPED.name} (STC): Hợp lệ, có cảnh báo — 0 lỗi, " in result.output
    assert not set("┏┃│└") & set(result.output) and max(map(len, lines)) <= columns


def test_check_prints_a_table_on_a_wide_terminal(run):
    result = CliRunner(env={"COLUMNS": "160"}).invoke(cli, ["check", str(LIBREOFFICE_DOT_GROUPED), "--lang", "en"])
    assert result.exit_code == 0 and "┃ File" in result.output and "Check results" in result.output


def test_only_files_with_formulas_without_a_value_are_looked_into(run):
    """LibreOffice writes every formula's value: the reader does not look into its sheets for formulas; it does
    in openpyxl's (and in the template's, whose formulas that show nothing hold an empty value, as openpyxl
    writes a missing one: it finds no input cell among them)."""
    from pipeline.intake.preflight import check_file

    assert not check_file(LIBREOFFICE_DOT_GROUPED.read_bytes(), LIBREOFFICE_DOT_GROUPED.name).uncached_formulas
    edited = run["files"][run["codes"]["formula"]]
    assert check_file(edited.read_bytes(), edited.name).uncached_formulas
