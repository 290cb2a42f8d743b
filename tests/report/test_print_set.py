"""The print set (Biểu 01–05): the summary workbook's first sheets, in the official frame, on at most 6 A4
pages for the 41 agencies of Hà Tĩnh, everything else left out of printing; Biểu 05 names every agency."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess

import openpyxl
import pytest
from summary_factory import full_ledger, make_return, record, summary_from

from pipeline.report import consolidate as C
from pipeline.report.bieu import CURRENT_STATE, FOLD_NOTE, all_bieu, as_of, missing_measures
from pipeline.report.frame import MOTTO, NATION, PREPARER, frame_for
from pipeline.report.pdf import page_sizes
from pipeline.report.summary import summary_bytes

PRINT_SET = ["Biểu 01 Hiện trạng", "Biểu 02 Mục tiêu", "Biểu 03 Kinh phí", "Biểu 04 Dự án", "Biểu 05 Tình hình nộp"]
A4_PORTRAIT, A4_LANDSCAPE = (595, 842), (842, 595)  # points, as PDF MediaBoxes give them (rounded)


@pytest.fixture(scope="module")
def round_(tmp_path_factory, spec, registry):
    """41 agencies of which one is missing, one has only a rejected return (on time) and one was late."""
    path = tmp_path_factory.mktemp("ledger") / "l.sqlite"
    ledger, _ = full_ledger(path, spec, registry, skip=["H-KYANH", "SYT", "STC"])
    record(ledger, spec, "SYT", *make_return(spec, registry.by_code["SYT"], 1), status="rejected",
           received_at="2007-09-25T10:00:00")
    record(ledger, spec, "STC", *make_return(spec, registry.by_code["STC"], 2), received_at="2007-10-12T15:00:00")
    summary = summary_from(ledger, spec, registry)
    yield summary, summary_bytes(summary, spec)
    ledger.close()


def cells(ws) -> list[str]:
    return [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]


def test_the_print_set_comes_first_each_in_the_official_frame(round_, spec):
    _, data = round_
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames[:5] == PRINT_SET
    frame = frame_for(spec)
    assert (frame.governing, frame.issuer, frame.signer) == ("UBND TỈNH HÀ TĨNH", "SỞ BƯU CHÍNH, VIỄN THÔNG", "GIÁM ĐỐC")
    for number, name in enumerate(PRINT_SET, start=1):
        ws = wb[name]
        text = cells(ws)
        for words in (f"Biểu số {number:02d}", frame.governing, frame.issuer, NATION, MOTTO, PREPARER, frame.signer,
                      "(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)", "Hà Tĩnh, ngày …… tháng …… năm 2007"):
            assert words in text, (name, words)
        assert ws.print_area and ws.page_setup.paperSize == 9
        assert ws.page_setup.fitToWidth in (None, 1) and ws.sheet_properties.pageSetUpPr.fitToPage
        assert int(ws.print_area.rsplit("$", 1)[1]) >= ws.max_row  # the frame's last rows are in the print area


def test_bieu_01_asks_commune_figures_of_the_districts_only(round_, spec, registry):
    """Communes are the districts' question (the spec's answered_by): Biểu 01 counts its coverage over the
    12 districts in their column and the province's, and leaves the departments' column out ("–"), where
    "0/29" would read as 29 departments that failed to answer."""
    s, _ = round_
    districts = sum(a.loai_don_vi == "UBND_HUYEN" for a in registry.of_round(spec).agencies)
    lines = all_bieu(s, spec)[0].parts[0].lines
    groups = [values[1] for style, values in lines if style == "group"]
    assert groups[:3] == ["HẠ TẦNG KỸ THUẬT", "HẠ TẦNG CNTT CẤP XÃ", "ỨNG DỤNG CNTT TRONG CHỈ ĐẠO, ĐIỀU HÀNH"]
    row = next(values for style, values in lines if style == "body" and values[1] == "Tổng số xã, phường, thị trấn")
    departments, district, province = row[3:5], row[5:7], row[7:9]
    assert departments[0].value == departments[1] == "–"
    assert district[1].endswith(f"/{districts}") and province[1] == district[1]
    assert province[0].value == district[0].value > 0
    staff = next(values for style, values in lines if style == "body" and values[1].startswith("Tổng số cán bộ"))
    assert staff[8].endswith(f"/{len(s.agencies)}")  # every other question is every agency's


def test_other_sheets_are_left_out_of_printing(round_):
    """Their print area is one empty cell (Excel and LibreOffice print nothing); clearing it prints them."""
    _, data = round_
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for name in wb.sheetnames[5:]:
        ws = wb[name]
        cell = ws.print_area.split("!")[1].replace("$", "")
        assert re.fullmatch(r"[A-Z]+1", cell), (name, cell)
        assert ws[cell].value is None
        assert "Trang này không thuộc bộ biểu in" in ws["A2"].value


def test_figures_are_the_summary_s_with_coverage_in_the_vietnamese_number_format(round_):
    s, data = round_
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["Biểu 01 Hiện trạng"]
    row = next(r for r in ws.iter_rows() if r[1].value == "Tổng số máy tính (để bàn và xách tay)")
    province = row[-2]
    assert province.value == pytest.approx(s.totals.at[C.PROVINCE, C.PCS])
    assert province.number_format.startswith("[$-42A]")  # 1.234 on any machine
    assert row[-1].value == f"{s.coverage.at[C.PROVINCE, C.PCS]}/41" == "39/41"
    assert "(Tổng hợp từ báo cáo hợp lệ của 39/41 cơ quan, đơn vị; số liệu đến ngày 12/10/2007)" in cells(ws)
    assert not missing_measures(s), "Biểu 01 names measures the spec lacks"
    assert len(CURRENT_STATE) == len(set(CURRENT_STATE))


def test_the_date_the_figures_stand_at_replaces_the_consolidation_time(round_):
    s, data = round_
    assert as_of(s) == dt.date(2007, 10, 12)  # the latest file received, not the day the ledger was written
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert "Số liệu đến ngày 12/10/2007" in wb["Tổng quan"]["A2"].value
    assert "Tổng hợp lúc" not in wb["Tổng quan"]["A2"].value


def test_bieu_05_names_every_agency_with_its_receipt_deadline_and_validity(spec, round_, registry):
    _, data = round_
    ws = openpyxl.load_workbook(io.BytesIO(data))["Biểu 05 Tình hình nộp"]
    rows = {r[1]: r for r in ws.iter_rows(values_only=True) if r[1] in {a.name_vi for a in registry.of_round(spec).agencies}}
    assert len(rows) == len(registry.of_round(spec).agencies) == 41
    name = {a.code: a.name_vi for a in registry.of_round(spec).agencies}
    assert rows[name["H-KYANH"]][2:5] == (None, None, "Chưa nộp")
    assert rows[name["SYT"]][2:5] == (dt.datetime(2007, 9, 25), "Đúng hạn", "Chưa hợp lệ")
    assert rows[name["SYT"]][5] == "Đề nghị hoàn thiện và gửi lại"
    assert rows[name["STC"]][2:5] == (dt.datetime(2007, 10, 12), "Trễ 12 ngày", "Hợp lệ")  # deadline 30/09/2007
    assert rows[name["SNV"]][4] == "Hợp lệ"
    text = cells(ws)
    assert "Hạn gửi báo cáo: 30/09/2007." in text
    assert ("Đã nhận báo cáo của 40/41 cơ quan, đơn vị (39 đúng hạn, 1 trễ hạn); 39 báo cáo hợp lệ, 1 chưa hợp lệ; "
            "1 đơn vị chưa nộp.") in text


def test_bieu_04_flags_the_same_project_in_several_agencies(round_, spec):
    s, _ = round_
    bieu = all_bieu(s, spec)[3]
    lines = bieu.parts[0].lines
    flagged = [values for style, values in lines if style == "flag"]
    names = {name for name in s.duplicates["name"]}
    assert flagged and {values[1] for values in flagged} <= names
    assert all(values[-1] == FOLD_NOTE.format(n=len(set(s.projects[s.projects[C.PROJECT_NAME].map(C.name_key)
                                                                        == C.name_key(values[1])]["agency"])))
               for values in flagged)
    total = next(values for style, values in lines if style == "total")
    assert total[3] == len(s.projects) and total[4] == pytest.approx(s.projects[C.PROJECT_COST].sum())


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_the_whole_workbook_prints_as_at_most_six_a4_pages(round_, tmp_path):
    """Printing the workbook (LibreOffice's PDF export of every sheet) gives the print set alone: one to two A4
    pages a biểu, at most 6 for 41 agencies."""
    _, data = round_
    source = tmp_path / "tong_hop.xlsx"
    source.write_bytes(data)
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(source)], check=True, capture_output=True, timeout=300)
    sizes = page_sizes(tmp_path / "tong_hop.pdf")
    assert 5 <= len(sizes) <= 6, sizes
    assert all(size in (A4_PORTRAIT, A4_LANDSCAPE) for size in sizes), sizes


def test_the_frame_takes_the_spec_s_entries_and_derives_the_rest(spec):
    import dataclasses

    derived = frame_for(spec)
    assert (derived.place, derived.symbol, derived.number_line()) == ("Hà Tĩnh", "BC-SBCVT", "Số: ……/BC-SBCVT")
    given = frame_for(dataclasses.replace(spec, form={**spec.form, "governing_body_vi": "UBND tỉnh Quảng Bình",
                                                      "issuer_short_vi": "Sở Thông tin và Truyền thông",
                                                      "issuer_signer_vi": "KT. Giám đốc", "issuer_symbol": "STTTT"}))
    assert (given.governing, given.issuer, given.signer, given.symbol) == (
        "UBND TỈNH QUẢNG BÌNH", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG", "KT. GIÁM ĐỐC", "BC-STTTT")


def test_vietnamese_numbers_and_dates_in_text():
    from pipeline.report.frame import long_date_vi, number_vi

    assert [number_vi(v) for v in (1388.5, 1500, 0.6913, 2.0, None, float("nan"))] == [
        "1.388,5", "1.500", "0,69", "2", "–", "–"]
    assert (number_vi(23479.3, 1), number_vi(12373.0, 1), number_vi(37, 0)) == ("23.479,3", "12.373", "37")
    assert long_date_vi(dt.date(2007, 8, 17)) == "ngày 17 tháng 8 năm 2007"
    assert long_date_vi(dt.date(2008, 2, 5)) == "ngày 05 tháng 02 năm 2008"
