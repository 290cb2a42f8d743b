"""The official frame on the template's printed sheets (issue 16): the two-column header, the motto, the
"Biểu số" numbers, the place-and-date line and the signature blocks, in the cells and on the printed pages."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from pipeline.form import frame
from pipeline.form.bundled import bundled
from pipeline.form.layout import HEADER_ROW, INSTRUCTIONS_SHEET, layout_for
from pipeline.form.spec import load_spec
from pipeline.form.template import build_workbook
from pipeline.intake.read import read
from pipeline.report.pdf import page_sizes

A4 = {(595, 842), (842, 595)}  # points, portrait and landscape


def sheet_rows(data: bytes, sheet: str) -> list[list[Any]]:
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def texts(rows: list[list[Any]]) -> list[str]:
    return [value for row in rows for value in row if isinstance(value, str) and value]


def last_row_of(spec, sheet) -> int:
    layout = layout_for(spec)
    if sheet.table is not None:
        return layout.tables[sheet.table.id].total_row
    return layout.rows[sheet.id][-1].row


@pytest.fixture(scope="module", params=["form_spec.yaml", "report_2008_spec.yaml"])
def any_spec(request):
    return load_spec(bundled(request.param))


def test_every_form_sheet_carries_the_frame_in_its_cells(any_spec, registry):
    agency = registry.get("H-NGHIXUAN")
    data = build_workbook(any_spec, agency=agency)
    year = str(any_spec.form["deadline"].year)
    for number, sheet in enumerate(any_spec.sheets, start=1):
        rows = sheet_rows(data, sheet.name)
        assert rows[0][0] == "UBND TỈNH HÀ TĨNH\nUBND HUYỆN NGHI XUÂN", sheet.name
        assert f"{frame.NATION}\n{frame.MOTTO}" in rows[0], sheet.name
        assert rows[1][0].startswith(f"Biểu số {number:02d}\n"), sheet.name
        below = texts(rows[last_row_of(any_spec, sheet):])
        assert f"Hà Tĩnh, ngày …… tháng …… năm {year}" in below, sheet.name
        assert f"{frame.PREPARER}\n{frame.PREPARER_NOTE}" in below and f"{frame.HEAD}\n{frame.SIGNER_NOTE}" in below
        assert rows[HEADER_ROW - 1][0] == "STT", sheet.name  # the table header has not moved


def test_the_blank_template_leaves_the_unit_to_fill_and_the_instructions_are_not_numbered(spec):
    data = build_workbook(spec)
    first = sheet_rows(data, spec.sheets[0].name)
    assert first[0][0] == f"UBND TỈNH HÀ TĨNH\n{frame.BLANK_UNIT}"
    guide = sheet_rows(data, INSTRUCTIONS_SHEET)
    assert f"{frame.NATION}\n{frame.MOTTO}" in guide[0]
    assert not any(text.startswith("Biểu số") for text in texts(guide[:3]))
    listed = [text for text in texts(guide) if text.startswith("Biểu số")]
    assert [text.split(" – ")[0] for text in listed] == [f"Biểu số {i:02d}" for i in range(1, len(spec.sheets) + 1)]


def test_a_table_whose_totals_row_was_deleted_ends_at_the_signatures(spec, registry, tmp_path):
    """Sheets may have rows deleted: without the "Tổng cộng" row, the place-and-date line and the signature
    blocks under the table are not read as projects."""
    import openpyxl

    table = layout_for(spec).table
    project = {"ten_du_an": "Xây dựng cổng thông tin điện tử", "tong_kinh_phi": 800}
    data = build_workbook(spec, agency=registry.get("STC"), projects=[project])
    book = openpyxl.load_workbook(io.BytesIO(data))
    book[table.sheet].delete_rows(table.total_row)
    path = tmp_path / "khong_dong_tong.xlsx"
    book.save(path)
    sub = read(path, spec=spec, registry=registry)
    assert [row.values.get("ten_du_an") for row in sub.projects] == ["Xây dựng cổng thông tin điện tử"]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")
def test_printed_sheets_show_the_frame_on_a4_at_fit_to_width(spec, registry, tmp_path):
    """The agency copy as LibreOffice prints it: every page A4; each Biểu's first page has the header, the
    motto and its number; its last page the place-and-date line and both signature blocks."""
    source = tmp_path / "ban_sao.xlsx"
    source.write_bytes(build_workbook(spec, agency=registry.get("SYT")))
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(source)], check=True, capture_output=True, timeout=300)
    pdf = tmp_path / "ban_sao.pdf"
    sizes = page_sizes(pdf)
    assert sizes and set(sizes) <= A4, sizes
    pages = [_page_text(pdf, n) for n in range(1, len(sizes) + 1)]
    starts = [i for i, text in enumerate(pages) if re.search(r"^\s*Biểu số \d\d\s*$", text, flags=re.M)]
    assert len(starts) == len(spec.sheets), [p[:80] for p in pages]
    for number, (first, end) in enumerate(zip(starts, [*starts[1:], len(pages)], strict=True), start=1):
        head = _flat(pages[first])
        assert "UBND TỈNH HÀ TĨNH" in head and "SỞ Y TẾ" in head and _flat(frame.NATION) in head
        assert _flat(frame.MOTTO) in head and f"Biểu số {number:02d}" in head
        tail = _flat(pages[end - 1])
        for words in (frame.PREPARER, frame.PREPARER_NOTE, frame.HEAD, frame.SIGNER_NOTE, "Hà Tĩnh, ngày"):
            assert _flat(words) in tail, (number, words)
    assert _flat(frame.NATION) in _flat(pages[0])  # the instructions are framed too


def _page_text(pdf: Path, page: int) -> str:
    return subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          check=True, capture_output=True, text=True).stdout


def _flat(text: str) -> str:
    return " ".join(text.split())
