"""The summary workbook: contents read back with openpyxl, safety checked on the raw XML, reproducibility,
atomic replacement, and (when LibreOffice is installed) a PDF rendering."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from summary_factory import fill_computed, full_ledger, make_return, record, summary_from

from pipeline.form.registry import Registry
from pipeline.record.ledger import Ledger
from pipeline.report import consolidate as C
from pipeline.report import summary as W
from pipeline.report.summary import summary_bytes, write_summary
from pipeline.report.xlsx import FILLS, MAX_CELL, FastWorksheet, safe_text

PRINT_SET = ["Biểu 01 Hiện trạng", "Biểu 02 Mục tiêu", "Biểu 03 Kinh phí", "Biểu 04 Dự án", "Biểu 05 Tình hình nộp"]
SHEETS_VI = [*PRINT_SET, "Tổng quan", "Chỉ tiêu theo đơn vị", "Số liệu chi tiết", "Mục tiêu", "Dự án 2008–2010", "Dự án trùng tên",
             "Kinh phí", "Kinh phí theo đơn vị", "Thuyết minh", "Tình hình nộp", "Lỗi và cảnh báo", "Nguồn số liệu",
             "Lịch sử nộp", "Số liệu biểu đồ"]


@pytest.fixture(scope="module")
def round_(tmp_path_factory, spec, registry):
    """41 agencies: one missing, one rejected, one resend; the summary and its bytes."""
    path = tmp_path_factory.mktemp("ledger") / "l.sqlite"
    ledger, data = full_ledger(path, spec, registry, skip=["H-KYANH", "SYT"])
    record(ledger, spec, "SYT", *make_return(spec, registry.by_code["SYT"], 1), status="rejected",
           received_at="2007-09-25T10:00:00")
    values, projects = data["STC"]
    changed = fill_computed(spec, dict(values, tong_so_may_tinh=values["tong_so_may_tinh"] + 3), projects)
    record(ledger, spec, "STC", changed, projects, received_at="2007-09-29T10:00:00", salt="resend")
    summary = summary_from(ledger, spec, registry)
    data = summary_bytes(summary, spec)
    yield ledger, summary, data
    ledger.close()


def workbook(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def rows_of(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def find_row(ws, label: str, column: int = 1) -> list:
    return next(r for r in rows_of(ws) if r[column] == label)


def worksheet_xml(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist()}


# --------------------------------------------------------------------------------------------------------


def test_sheets_are_the_documented_ones(round_):
    _, _, data = round_
    wb = workbook(data)
    assert wb.sheetnames == SHEETS_VI
    assert all(len(name) <= 31 for name in wb.sheetnames)


def test_province_row_matches_the_summary_with_coverage(round_):
    _, s, data = round_
    ws = workbook(data)["Chỉ tiêu theo đơn vị"]
    rows = rows_of(ws)
    header = next(r for r in rows if r[0] == "STT")
    province = next(i for i, r in enumerate(rows) if r[1] == "TOÀN TỈNH")
    total, coverage = rows[province], rows[province + 1]
    for mid in s.key_measures:
        m = s.measures[mid]
        col = header.index(f"{m.vi} ({m.unit})" if m.unit else m.vi)
        assert total[col] == pytest.approx(s.totals.at[C.PROVINCE, mid])
        assert coverage[col] == f"{s.coverage.at[C.PROVINCE, mid]}/41"
    staff = header.index("Tổng số cán bộ, công chức, viên chức (người)")
    assert coverage[staff] == "39/41"  # Kỳ Anh never reported, Sở Y tế's file was rejected
    assert coverage[1] == "Số đơn vị báo cáo (n/m)"


def test_group_subtotals_and_agency_rows(round_, registry):
    _, s, data = round_
    ws = workbook(data)["Chỉ tiêu theo đơn vị"]
    rows = rows_of(ws)
    header = next(r for r in rows if r[0] == "STT")
    pcs = header.index("Tổng số máy tính (để bàn và xách tay) (chiếc)")
    for group, label_vi, _ in registry.groups:
        subtotal = find_row(ws, f"Cộng: {label_vi}")
        assert subtotal[pcs] == pytest.approx(s.totals.at[group, C.PCS])
    stc = find_row(ws, "Sở Tài chính")
    assert stc[pcs] == s.values.at["STC", C.PCS]
    missing = find_row(ws, "UBND huyện Kỳ Anh")
    assert missing[2] == "Chưa nộp" and missing[pcs] is None
    assert find_row(ws, "Sở Y tế")[2] == "Chưa hợp lệ"


def test_overview_counts_and_key_figures(round_):
    _, s, data = round_
    ws = workbook(data)["Tổng quan"]
    assert find_row(ws, "Số đơn vị phải báo cáo")[2] == 41
    assert find_row(ws, "Đã nộp báo cáo")[2] == 40
    assert find_row(ws, "Chưa nộp")[2] == 1
    assert find_row(ws, "Chưa hợp lệ")[2] == 1
    assert find_row(ws, "Hợp lệ")[2] + find_row(ws, "Hợp lệ, có cảnh báo")[2] == 39  # the status labels
    ratio = find_row(ws, "Số máy tính bình quân trên một CBCCVC")
    assert ratio[3] == pytest.approx(s.totals.at[C.PROVINCE, "tl_may_tren_cbcc"])
    assert ratio[4] == f"{s.coverage.at[C.PROVINCE, 'tl_may_tren_cbcc']}/41 đơn vị báo cáo"


def test_status_sheet_lists_every_agency_and_the_changes(spec, round_, registry):
    _, _, data = round_
    ws = workbook(data)["Tình hình nộp"]
    codes = [r[1] for r in rows_of(ws) if isinstance(r[0], int)]
    assert codes == [a.code for a in registry.of_round(spec).agencies]
    stc = next(r for r in rows_of(ws) if r[1] == "STC")
    assert stc[3] == "Hợp lệ" and stc[10] == 1
    assert re.search(r"Tổng số máy tính \(để bàn và xách tay\): \d+ → \d+", stc[11])
    kyanh = next(r for r in rows_of(ws) if r[1] == "H-KYANH")
    assert kyanh[3] == "Chưa nộp" and kyanh[4] is None


def test_missing_and_rejected_rows_are_highlighted(round_):
    _, _, data = round_
    ws = workbook(data)["Tình hình nộp"]
    fills = {row[1].value: row[0].fill.fgColor.rgb for row in ws.iter_rows() if row[1].value in ("H-KYANH", "SYT", "STC")}
    assert fills["H-KYANH"].endswith(FILLS["missing"][1:])
    assert fills["SYT"].endswith(FILLS["rejected"][1:])
    assert not fills["STC"].endswith(FILLS["missing"][1:])


def test_projects_sheet_totals(round_):
    _, s, data = round_
    ws = workbook(data)["Dự án 2008–2010"]
    rows = rows_of(ws)
    ids = [r[0] for r in rows if isinstance(r[0], str) and re.fullmatch(r"[A-Z0-9-]+-\d{4}-\d{2}", r[0])]
    assert ids == s.projects["project_id"].tolist()
    header = next(r for r in rows if r[0] == "Mã dự án")
    total = next(r for r in rows if r[1] and str(r[1]).startswith("Tổng cộng:"))
    assert total[header.index("Phân kỳ năm 2009 (triệu đồng)")] == pytest.approx(s.funding_by_area.at[C.TOTAL, "kp_2009"])


def test_formats_print_setup_and_charts(round_):
    _, _, data = round_
    xml = worksheet_xml(data)
    assert len([n for n in xml if n.startswith("xl/charts/chart")]) == 3
    styles = xml["xl/styles.xml"]
    for code in ("#,##0.0", "#,##0", "0.00", "0.0"):
        assert f'formatCode="{code}"' in styles
    sheets = [n for n in xml if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]
    for name in sheets[len(PRINT_SET):]:  # the print set's own page setup: tests/report/test_print_set.py
        assert 'paperSize="9"' in xml[name] and 'orientation="landscape"' in xml[name]
        assert "<oddFooter>" in xml[name]
    workbook_xml = xml["xl/workbook.xml"]
    assert workbook_xml.count("_xlnm.Print_Titles") >= 10  # header rows repeated on every printed page
    key = xml[f"xl/worksheets/sheet{len(PRINT_SET) + 2}.xml"]
    assert "<autoFilter" in key and 'state="frozen"' in key and 'fitToPage="1"' in key


PRINTED_ONLY = " (DO UBND HUYỆN, THỊ XÃ, THÀNH PHỐ ĐIỀN)"


def test_sections_are_cited_as_the_printed_form_numbers_them(round_, spec):
    """The summary's column bands name each section by the form's sheet and the number its STT column
    prints ("Hiện trạng – II. HẠ TẦNG CNTT CẤP XÃ …"), read here from the blank template's cells; no section id
    of the spec ("B1.", "H4.") and no "(tự tính)" reaches the leaders' sheets."""
    from pipeline.form.template import build_workbook

    template = openpyxl.load_workbook(io.BytesIO(build_workbook(spec)))
    printed = {f"{sheet.name} – {row[0]}": row[1] for sheet in spec.sheets if sheet.table is None
               for row in template[sheet.name].iter_rows(min_row=6, max_col=2, values_only=True)
               if row[0] in ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")}
    wb = workbook(round_[2])
    bands = {v for row in rows_of(wb["Số liệu chi tiết"])[:6] for v in row if isinstance(v, str) and " – " in v}
    assert bands
    for band in bands:  # the form's title, less whose question it is ("(DO UBND HUYỆN, … ĐIỀN)")
        number, title = band.split(". ", 1)
        assert printed[number].startswith(title) and printed[number][len(title):] in ("", PRINTED_ONLY), band
    ids = re.compile(r"^(?:[A-H]\d?)\. |\(tự tính\)", re.I)
    for ws in wb.worksheets:
        texts = [v for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
        assert not [v for v in texts if ids.search(v)], ws.title


def test_every_text_is_nfc_vietnamese(round_):
    _, _, data = round_
    wb = workbook(data)
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, str):
                    assert unicodedata.is_normalized("NFC", value), value


def test_no_formulas_and_no_links(round_):
    _, _, data = round_
    xml = worksheet_xml(data)
    for name, text in xml.items():
        if name.startswith("xl/worksheets/"):
            assert "<f>" not in text and "<f " not in text, name
            assert "hyperlink" not in text.lower(), name
    assert not any("hyperlink" in text for name, text in xml.items() if name.endswith(".rels"))


def test_same_ledger_same_bytes(round_, spec, registry):
    ledger, _s, data = round_
    again = summary_from(ledger, spec, registry)
    assert summary_bytes(again, spec) == data
    created = worksheet_xml(data)["docProps/core.xml"]
    assert "2007-10-15T09:30:00Z" in created


ORIGINAL_WRITE_RUN = FastWorksheet.write_run


def test_fast_worksheet_writes_exactly_what_xlsxwriter_writes(round_, spec, monkeypatch):
    """FastWorksheet's runs of finished cell XML give xlsxwriter's own bytes, cell by cell."""
    from xlsxwriter.worksheet import Worksheet

    _, summary, data = round_
    runs = []
    monkeypatch.setattr(FastWorksheet, "write_run", lambda ws, *a: runs.append(a) or ORIGINAL_WRITE_RUN(ws, *a))
    assert summary_bytes(summary, spec) == data
    assert len(runs) > 1000  # the short path was taken
    monkeypatch.setattr(W, "FastWorksheet", Worksheet)
    assert summary_bytes(summary, spec) == data
    assert summary_bytes(summary, spec, lang="en") != data  # the comparison can fail


def test_atomic_replacement_keeps_the_previous_summary(round_, spec, tmp_path, monkeypatch):
    _, s, _data = round_
    target = tmp_path / "tong_hop.xlsx"
    assert write_summary(s, spec, target) == target
    before = target.read_bytes()
    later = C.Summary(**{**s.__dict__, "generated_at": dt.datetime(2007, 11, 1, 8, 0)})

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pipeline.atomic.os.fsync", disk_full)  # fails after the bytes went to the temp file
    with pytest.raises(OSError):
        write_summary(later, spec, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tong_hop.xlsx"]  # no temp file left behind
    monkeypatch.undo()
    write_summary(later, spec, target)
    assert target.read_bytes() != before


def test_english_workbook(round_, spec):
    _, s, _ = round_
    wb = workbook(summary_bytes(s, spec, lang="en"))
    # the print set is the Department's official documents: Vietnamese in either language
    assert wb.sheetnames[:len(PRINT_SET)] == PRINT_SET
    assert wb.sheetnames[len(PRINT_SET):][:3] == ["Overview", "Indicators by agency", "All figures"]
    assert find_row(wb["Overview"], "Agencies expected to report")[2] == 41


def test_nan_and_infinity_are_blank(spec, tmp_path):
    registry = Registry(tuple(a for a in _registry().agencies[:2]))
    ledger = Ledger(tmp_path / "l.sqlite")
    values, projects = make_return(spec, registry.agencies[0], 1)
    values = fill_computed(spec, dict(values, tong_so_cbccvc=0, tong_so_may_tinh=5), projects)
    record(ledger, spec, registry.agencies[0].code, values, projects)
    s = summary_from(ledger, spec, registry)
    s.totals.loc[C.PROVINCE, C.PCS] = float("inf")
    ws = workbook(summary_bytes(s, spec))["Chỉ tiêu theo đơn vị"]
    header = next(r for r in rows_of(ws) if r[0] == "STT")
    province = find_row(ws, "TOÀN TỈNH")
    assert province[header.index("Số máy tính bình quân trên một CBCCVC (máy/người)")] is None  # 5 PCs / 0 staff
    assert province[header.index("Tổng số máy tính (để bàn và xách tay) (chiếc)")] is None  # inf


def _registry():
    from pipeline.form.registry import load_registry
    return load_registry()


# --- hostile agency text -------------------------------------------------------------------------------

HOSTILE = st.one_of(
    st.text(),
    st.sampled_from(["=HYPERLINK(\"http://x\",\"bấm\")", "=1+1", "+84 39 385", "-5", "@SUM(A1)", "http://evil.example",
                     "external:C:\\Windows\\win.ini", "mailto:a@b.vn", "\tTab", "\r=cmd", "_x0041_ literal escape",
                     "a\x00b\x0bc\x1fd", "x" * 40_000, "Ở" * 33_000 + "=", "\ufffe\uffff", "😀" * 17_000]),
    st.builds(lambda prefix, body: prefix + body, st.sampled_from(["=", "+", "-", "@", "http://"]), st.text()),
)


def expected_text(text: str) -> str:
    """What a cell should hold, spelled out independently of the writer: line breaks as \\n, other control
    characters dropped, unencodable code points as U+FFFD."""
    text = re.sub("\r\n?|[\x0b\x0c]", "\n", text)
    text = re.sub("[\x00-\x08\x0e-\x1f]", "", text)
    return re.sub("[\ud800-\udfff\ufffe\uffff]", "\ufffd", text)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=HOSTILE)
def test_any_agency_text_stays_text(spec, text):
    registry = Registry(_registry().agencies[:1])
    code = registry.agencies[0].code
    ledger = Ledger(":memory:")
    values, projects = make_return(spec, registry.agencies[0], 1, projects=1)
    values = dict(values, dg_ket_qua=text, so_hieu_van_ban=text)
    projects = [dict(projects[0], ten_du_an=text)]
    record(ledger, spec, code, fill_computed(spec, values, projects), projects, file=text[:60] + ".xlsx")
    data = summary_bytes(summary_from(ledger, spec, registry), spec)
    ledger.close()
    for name, xml in worksheet_xml(data).items():
        if name.startswith("xl/worksheets/"):
            assert "<f>" not in xml and "<f " not in xml and "hyperlink" not in xml.lower()
        if name.endswith(".rels"):
            assert "hyperlink" not in xml
    wb = workbook(data)
    narratives = [r[3] for r in rows_of(wb["Thuyết minh"]) if r[2] == "Hiện trạng – VII.1. Kết quả đạt được"]
    if not text.strip():  # a blank narrative is not listed
        assert narratives == []
        return
    narrative, clean = narratives[0] or "", expected_text(text)
    if utf16(clean) <= MAX_CELL:
        assert narrative == clean
    else:
        assert narrative.endswith("… [đã cắt bớt]") and utf16(narrative) <= MAX_CELL
        assert clean.startswith(narrative[: -len("… [đã cắt bớt]")])
    project_names = [r[2] for r in rows_of(wb["Dự án 2008–2010"]) if r[0] == f"{code}-{projects[0]['nam_bat_dau']}-01"]
    assert project_names == [narrative]


def test_unencodable_text_in_a_summary_is_replaced_not_fatal(round_, spec):
    """The ledger cannot hold lone surrogates, but the writer must not fail on one either."""
    _, s, _ = round_
    narratives = s.narratives.copy()
    narratives.loc[0, "text"] = "a\ud83db\ufffe"
    wb = workbook(summary_bytes(C.Summary(**{**s.__dict__, "narratives": narratives}), spec))
    assert rows_of(wb["Thuyết minh"])[4][3] == "a\ufffdb\ufffd"


def test_text_starting_like_a_formula_gets_a_quote_prefix(spec, tmp_path):
    registry = Registry(_registry().agencies[:1])
    ledger = Ledger(tmp_path / "l.sqlite")
    values, projects = make_return(spec, registry.agencies[0], 1, projects=0)
    record(ledger, spec, registry.agencies[0].code, dict(values, dg_ket_qua="=1+1"), projects)
    wb = workbook(summary_bytes(summary_from(ledger, spec, registry), spec))
    cell = next(row[3] for row in wb["Thuyết minh"].iter_rows() if row[3].value == "=1+1")
    assert cell.data_type == "s" and cell.quotePrefix


# --- LibreOffice ----------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_renders_the_summary(round_, tmp_path):
    _, _, data = round_
    source = tmp_path / "tong_hop.xlsx"
    source.write_bytes(data)
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(source)], check=True, capture_output=True, timeout=300)
    pdf = tmp_path / "tong_hop.pdf"
    assert pdf.stat().st_size > 10_000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        # printed: the print set only (tests/report/test_print_set.py counts its pages)
        assert "Toàn tỉnh" in text and "Số máy tính bình quân trên một CBCCVC" in text
        assert "NGUỒN SỐ LIỆU" not in text and "THUYẾT MINH CỦA CÁC ĐƠN VỊ" not in text


def test_the_fixed_words_are_all_used_or_documented():
    """Every key of the vocabulary has both languages and no stray placeholders."""
    for key, (vi, en) in W.WORDS.items():
        assert vi and en, key
        assert set(re.findall(r"\{(\w+)\}", vi)) == set(re.findall(r"\{(\w+)\}", en)), key


def test_safe_text_limits(spec):
    assert safe_text("a" * (MAX_CELL + 10)).endswith("… [đã cắt bớt]")
    assert utf16(safe_text("😀" * 20_000)) <= MAX_CELL  # astral characters count twice
    assert safe_text("ok") == "ok"


def test_write_summary_returns_fallback_when_locked(round_, spec, tmp_path, monkeypatch):
    _, s, _ = round_
    target = tmp_path / "tong_hop.xlsx"
    real_replace = __import__("os").replace

    def locked(src, dst):
        if Path(dst) == target:
            raise PermissionError(13, "locked by Excel")
        return real_replace(src, dst)

    monkeypatch.setattr("pipeline.atomic.os.replace", locked)
    written = write_summary(s, spec, target)
    assert written != target and written.parent == tmp_path and written.suffix == ".xlsx"
    assert not target.exists()



def test_the_file_written_is_the_workbook_bytes(round_, spec, tmp_path):
    """write_summary streams the workbook to its file: the same bytes as summary_bytes."""
    _, summary, data = round_
    assert write_summary(summary, spec, tmp_path / "tong_hop.xlsx").read_bytes() == data
