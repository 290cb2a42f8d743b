"""The national workbook's print set (report.national): its first sheets are biểu in the official frame, as the
province summary's are — "Biểu số 01…", the ministry the provinces' departments report to (Bộ Thông tin và
Truyền thông: the 2007 spec names it, the 2008 department's sector gives it) beside the national name and motto, the place-and-date line, the signature blocks, A4 fit to
the page width; every other sheet left out of printing. With LibreOffice, 63 provinces print as a few A4
pages whose text carries the frame."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess

import openpyxl
import pytest
from test_print_set import A4_LANDSCAPE, A4_PORTRAIT
from test_rollup import write_province_exports
from test_rollup_2008 import written_province

from pipeline.report.frame import MOTTO, NATION, PREPARER, PREPARER_NOTE, SIGNER_NOTE, frame_for
from pipeline.report.national import national_frame
from pipeline.report.pdf import page_sizes
from pipeline.report.rollup import NATION as NATIONAL_KEY
from pipeline.report.rollup import build_rollup, write_rollup

PROVINCES = 63


@pytest.fixture(scope="module")
def books(tmp_path_factory, spec, report_spec, registry):
    """The national workbooks of 63 generated provinces: the 2007 plans' and the 2008 reports'."""
    root = tmp_path_factory.mktemp("national")
    for i in range(1, PROVINCES + 1):
        write_province_exports(root / "2007", spec, registry, i)
        written_province(root / "2008", report_spec, i)
    out = {}
    for year, form in (("2007", spec), ("2008", report_spec)):
        rollup = build_rollup(form, [root / year / f"p{i}" for i in range(1, PROVINCES + 1)])
        out[year] = (rollup, write_rollup(rollup, root / f"out{year}")[0])
    return out


def cells(ws) -> list[str]:
    return [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]


def test_the_national_body_is_the_ministry_of_the_rounds_own_department(spec, report_spec):
    assert frame_for(spec).issuer == "SỞ BƯU CHÍNH, VIỄN THÔNG"
    # the ministry was renamed in August 2007, the department in 2008: the spec says so (national_body_vi)
    assert national_frame(spec).governing == "BỘ THÔNG TIN VÀ TRUYỀN THÔNG"
    derived = dataclasses.replace(spec, form={k: v for k, v in spec.form.items() if k != "national_body_vi"})
    assert national_frame(derived).governing == "BỘ BƯU CHÍNH, VIỄN THÔNG"  # else the department's sector
    assert national_frame(report_spec).governing == "BỘ THÔNG TIN VÀ TRUYỀN THÔNG"
    frame = national_frame(report_spec)
    assert (frame.issuer, frame.place, frame.signer) == ("", "Hà Nội", "BỘ TRƯỞNG")  # the ministry's own document
    assert frame.date_line(2009) == "Hà Nội, ngày …… tháng …… năm 2009"
    named = national_frame(dataclasses.replace(report_spec, form={
        **report_spec.form, "national_unit_vi": "Vụ Ứng dụng công nghệ thông tin", "national_signer_vi": "KT. Bộ trưởng"}))
    assert (named.governing, named.issuer, named.signer) == (
        "BỘ THÔNG TIN VÀ TRUYỀN THÔNG", "VỤ ỨNG DỤNG CÔNG NGHỆ THÔNG TIN", "KT. BỘ TRƯỞNG")


@pytest.mark.parametrize(("year", "ministry", "printed"), [
    ("2007", "BỘ THÔNG TIN VÀ TRUYỀN THÔNG", ["Chỉ tiêu chính", "Các tỉnh"]),
    ("2008", "BỘ THÔNG TIN VÀ TRUYỀN THÔNG", ["Chỉ tiêu chính", "Thực hiện so với kế hoạch", "Thực hiện theo tỉnh",
                                              "Các tỉnh"]),
])
def test_each_printed_sheet_is_a_bieu_in_the_official_frame(books, year, ministry, printed):
    rollup, path = books[year]
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:len(printed)] == printed
    signed = f"Hà Nội, ngày …… tháng …… năm {rollup.generated_at.year}"
    for number, name in enumerate(printed, start=1):
        ws = book[name]
        text = cells(ws)
        assert ws["A2"].value == ministry and ws["A2"].font.b, name  # alone, in bold, level with the nation
        for words in (f"Biểu số {number:02d}", NATION, MOTTO, PREPARER, PREPARER_NOTE, "BỘ TRƯỞNG", SIGNER_NOTE, signed,
                      f"(Tổng hợp từ báo cáo của {PROVINCES}/{PROVINCES} tỉnh"):
            assert any(t.startswith(words) for t in text), (name, words)
        assert not any(t.startswith("SỞ ") or "UBND TỈNH" in t for t in text), name  # not the province's frame
        assert ws.page_setup.paperSize == 9 and ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth in (None, 1)
        assert int(ws.print_area.rsplit("$", 1)[1]) >= ws.max_row  # the signatures are inside the print area
    for name in book.sheetnames[len(printed):]:  # the working sheets: left out of printing
        area = book[name].print_area.split("!")[1].replace("$", "")
        assert area[-1] == "1" and ":" not in area, (name, area)
    first = book["Chỉ tiêu chính"]
    national = next(r for r in first.iter_rows(values_only=True) if r[1] == "Toàn quốc")
    header = next(r for r in first.iter_rows(values_only=True) if r[0] == "STT")
    staff = next(i for i, h in enumerate(header) if h and h.startswith(rollup.measures["tong_so_cbccvc"].vi))
    assert national[staff] == pytest.approx(rollup.totals.at[NATIONAL_KEY, "tong_so_cbccvc"])


def test_the_provinces_plan_bieu_ends_with_the_national_sums(books):
    rollup, path = books["2008"]
    ws = openpyxl.load_workbook(path)["Thực hiện theo tỉnh"]
    lines = [r for r in ws.iter_rows(values_only=True) if isinstance(r[1], str) and r[1].startswith(("Tỉnh thử", "Toàn quốc"))]
    assert len(lines) == PROVINCES + 1 and lines[-1][1] == "Toàn quốc"
    for j, f in enumerate(rollup.plan.fields):
        national = rollup.plan.at(NATIONAL_KEY, f.id)
        assert lines[-1][2 + 2 * j:4 + 2 * j] == pytest.approx((national["target"], national["result"])), f.id


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice or pdftotext is not installed")
@pytest.mark.parametrize(("year", "pages", "ministry"), [("2007", (3, 5), "BỘ THÔNG TIN VÀ TRUYỀN THÔNG"),
                                                         ("2008", (6, 8), "BỘ THÔNG TIN VÀ TRUYỀN THÔNG")])
def test_the_national_workbook_prints_as_a_few_a4_pages_in_the_frame(books, tmp_path, year, pages, ministry):
    """Printing the whole workbook (LibreOffice's PDF of every sheet) gives the print set alone, on A4."""
    _, path = books[year]
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(path)], check=True, capture_output=True, timeout=300)
    pdf = tmp_path / f"{path.stem}.pdf"
    sizes = page_sizes(pdf)
    assert pages[0] <= len(sizes) <= pages[1], sizes
    assert all(size in (A4_PORTRAIT, A4_LANDSCAPE) for size in sizes), sizes
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    for words in (ministry, NATION, MOTTO, "BỘ TRƯỞNG", PREPARER, "Toàn quốc", "Tỉnh thử số 63"):
        assert words in text, words
    assert "Biểu số 01" in text and ("Biểu số 04" in text) == (year == "2008")
    for working in ("TẤT CẢ CHỈ TIÊU", "THƯ MỤC SỐ LIỆU", "CÁCH TÍNH SỐ LIỆU"):  # the working sheets do not print
        assert working not in text, working
