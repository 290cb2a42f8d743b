"""The parser's copy of an .xls: formats a workbook defines under ids calamine takes for dates are renumbered,
only when their text is plainly not a date, and nothing else of the file changes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from pipeline.form.layout import layout_for
from pipeline.form.spec import load_spec
from pipeline.intake import ole, xls_formats

DATA = Path(__file__).parents[1] / "data"
GNUMERIC = DATA / "regressions" / "gnumeric-biff8-number-formats-SKHDT.xls"


def _formats(data: bytes) -> dict[int, str]:
    stream = ole.xls_workbook_stream(data)
    found = {}
    for record, payload in ole.biff_records(stream):
        if record == 0x041E:
            found[int.from_bytes(payload[:2], "little")] = xls_formats._format_text(payload, True)
        elif record == ole.BIFF_EOF:
            break
    return found


@pytest.mark.parametrize(("code", "is_date"), [
    ("0.0", False), ("#,##0.0", False), ("General", False), ('#,##0" người"', False), ("0%", False),
    ("[Red]#,##0;-#,##0", False), ("0.00E+00", False), ("#,##0_);(#,##0)", False), ('0\\d', False),
    ("dd/mm/yyyy", True), ("d-mmm-yy", True), ("h:mm AM/PM", True), ("[h]:mm:ss", True), ("mm:ss", True),
    ("[$-42A]dd/mm/yyyy", True), ('"Năm "yyyy', True), ("0;dd/mm", True),  # a date in any section counts
])
def test_what_is_a_date_format(code, is_date):
    assert xls_formats.is_date_format(code) is is_date


def test_gnumerics_number_formats_get_ids_calamine_reads_by_their_text():
    data = GNUMERIC.read_bytes()
    before, after = _formats(data), _formats(xls_formats.for_parser(data))
    custom = {i: text for i, text in before.items() if 50 <= i < 164}  # gnumeric numbers its own from 50
    assert {"0.0", "#,##0.0", "dd/mm/yyyy"} <= set(custom.values())
    moved = {i: text for i, text in after.items() if i not in before}
    assert sorted(moved.values()) == sorted(t for t in custom.values() if "yy" not in t) and min(moved) >= 164
    for i, text in custom.items():  # a date format keeps its id: calamine reads it as a date either way
        if "yy" in text:
            assert after[i] == text
    assert len(xls_formats.for_parser(data)) == len(data)


def _money_cell(book: bytes) -> object:
    """The cell of kp_cntt_2006 (million đồng) on 'Hiện trạng' as calamine reads it."""
    ref = layout_for(load_spec()).cells["kp_cntt_2006"]
    return CalamineWorkbook.from_filelike(io.BytesIO(book)).get_sheet_by_name(ref.sheet).to_python()[ref.row - 1][ref.col]


def test_a_money_cell_of_a_gnumeric_file_is_a_number_in_the_copy():
    data = GNUMERIC.read_bytes()
    money = _money_cell
    assert not isinstance(money(data), int | float)  # what calamine made of the file as gnumeric wrote it
    assert isinstance(money(xls_formats.for_parser(data)), int | float)


@pytest.mark.parametrize("name", ["excel2003-STC.xls", "excel2003-hidden-row-STC.xls"])
def test_files_that_need_nothing_are_handed_over_as_they_are(name):
    data = (DATA / "returned" / name).read_bytes()
    assert xls_formats.renumbered(ole.xls_workbook_stream(data)) == []
    assert xls_formats.for_parser(data) is data


@pytest.mark.parametrize("data", [b"", b"\xd0\xcf\x11\xe0" + b"\x00" * 600, b"PK\x03\x04 not an xls"])
def test_anything_else_is_handed_over_unchanged(data):
    assert xls_formats.for_parser(data) is data
