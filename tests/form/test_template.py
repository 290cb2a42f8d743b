"""The template workbook: names, protection, validation, hidden sheets, cached formula values, golden bytes.

Update the golden file after an intended change to the spec or the template:

    ICTPLAN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_template.py

and review the parts listed in the diff of tests/golden/template_blank.parts.json.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import unicodedata
import warnings
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from pipeline.form import template
from pipeline.form.layout import LISTS_SHEET, META_SHEET, col_letter, layout_for, parse_a1
from pipeline.form.meta import parse_meta
from pipeline.form.template import (
    BOOL_LABELS,
    FIXED_CREATED,
    build_workbook,
    evaluate_computed,
    template_file_name,
    write_templates,
)

GOLDEN = Path(__file__).parents[1] / "golden" / "template_blank.parts.json"
EXCEL_EPOCH = dt.date(1899, 12, 30)
DV_TYPES = {"int": "whole", "year": "whole", "dec": "decimal", "money": "decimal", "pct": "decimal",
            "date": "date", "bool": "list", "choice": "list"}



@pytest.fixture(scope="module")
def blank(spec) -> bytes:
    return build_workbook(spec)


@pytest.fixture(scope="module")
def stc(spec, registry) -> bytes:
    return build_workbook(spec, agency=registry.get("STC"))


@pytest.fixture(scope="module")
def written(spec, registry, tmp_path_factory) -> list[Path]:
    return write_templates(spec, registry, tmp_path_factory.mktemp("templates"))


def load_openpyxl(data: bytes, **kwargs: Any) -> openpyxl.Workbook:
    """Open with openpyxl, failing on any warning (bad names, bad validations, unknown parts)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return openpyxl.load_workbook(io.BytesIO(data), **kwargs)


def calamine_rows(data: bytes, sheet: str) -> list[list[Any]]:
    """A sheet as the reader sees it (python-calamine, cached values), from A1."""
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def at(rows: list[list[Any]], cell: str) -> Any:
    row, col = parse_a1(cell)
    try:
        return rows[row - 1][col]
    except IndexError:
        return ""


def input_cells(spec, *, agency: bool) -> dict[str, set[str]]:
    """Sheet name → the cells an agency may type into."""
    layout = layout_for(spec)
    cells: dict[str, set[str]] = {}
    for field_id, ref in layout.cells.items():
        f = spec.fields[field_id]
        if f.is_input and not (f.prefilled and agency):
            cells.setdefault(ref.sheet, set()).add(ref.a1)
    for t in layout.tables.values():
        for row in range(t.first_row, t.last_row + 1):
            cells.setdefault(t.sheet, set()).update(f"{col_letter(c)}{row}" for c in t.columns.values())
    return cells


# --- names, structure -------------------------------------------------------------------------------------


def test_sheets_in_order_with_hidden_meta_and_lists(spec, blank):
    wb = load_openpyxl(blank)
    assert wb.sheetnames == [template.INSTRUCTIONS_SHEET, *(s.name for s in spec.sheets), META_SHEET, LISTS_SHEET]
    assert [ws.sheet_state for ws in wb] == ["visible"] * (1 + len(spec.sheets)) + ["hidden", "hidden"]
    assert wb.active.title == template.INSTRUCTIONS_SHEET


def test_every_field_has_a_defined_name_at_its_layout_cell(spec, stc):
    names = load_openpyxl(stc).defined_names
    for field_id, ref in layout_for(spec).cells.items():
        assert names[field_id].attr_text == ref.absolute(), field_id
    t = layout_for(spec).table
    last = col_letter(len(t.columns) - 1)
    assert names[spec.table.id].attr_text == f"'{t.sheet}'!$A${t.first_row}:${last}${t.last_row}"


def test_dropdown_lists_are_named_ranges_holding_the_labels(spec, blank):
    names = load_openpyxl(blank).defined_names
    rows = calamine_rows(blank, LISTS_SHEET)
    expected = {name: [c.vi for c in choices] for name, choices in spec.choices.items()}
    expected[template.BOOL_LIST] = [BOOL_LABELS[True], BOOL_LABELS[False]]
    for list_id, labels in expected.items():
        sheet, cells = names[template.list_name(list_id)].attr_text.split("!")
        assert sheet == f"'{LISTS_SHEET}'"
        first, last = cells.replace("$", "").split(":")
        (r1, c1), (r2, c2) = parse_a1(first), parse_a1(last)
        assert c1 == c2
        assert [rows[r - 1][c1] for r in range(r1, r2 + 1)] == labels


def test_no_defined_name_clashes_case_insensitively(spec):
    names = [n.lower() for n in template.defined_names(spec)]
    assert len(names) == len(set(names))


# --- protection and input cells ---------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["blank", "stc"])
def test_only_input_cells_are_unlocked(spec, which, request):
    data = request.getfixturevalue(which)
    wb = load_openpyxl(data)
    inputs = input_cells(spec, agency=which == "stc")
    for sheet in (template.INSTRUCTIONS_SHEET, *(s.name for s in spec.sheets)):
        ws = wb[sheet]
        assert ws.protection.sheet and not ws.protection.password, sheet
        unlocked = {c.coordinate for row in ws.iter_rows() for c in row if not c.protection.locked}
        assert unlocked == inputs.get(sheet, set()), sheet
        for row in ws.iter_rows():
            for c in row:
                if c.value not in (None, "") and c.coordinate not in inputs.get(sheet, set()):
                    assert c.protection.locked, (sheet, c.coordinate)
    for cell in inputs[layout_for(spec).cells["tong_so_cbccvc"].sheet]:
        assert wb["Hiện trạng"][cell].fill.fgColor.rgb.endswith(template.INPUT_FILL[1:])


def test_project_sheet_allows_inserting_rows_and_label_sheets_do_not(spec, blank):
    wb = load_openpyxl(blank)
    table_sheet = wb[layout_for(spec).table.sheet]
    assert table_sheet.protection.insertRows is False and table_sheet.protection.formatRows is False
    assert table_sheet.protection.autoFilter is False
    for sheet in spec.sheets:
        if sheet.table is None:
            assert wb[sheet.name].protection.insertRows is True, sheet.name


def test_instructions_explain_the_unprotected_lock(blank, spec):
    text = " ".join(str(c) for row in calamine_rows(blank, template.INSTRUCTIONS_SHEET) for c in row if c)
    assert "Trang tính được khóa không mật khẩu để giữ bố cục" in text
    assert "30/09/2007" in text
    for paragraph in spec.instructions:
        assert unicodedata.normalize("NFC", paragraph) in text


# --- data validation -------------------------------------------------------------------------------------


def _validations_at(ws, cell: str) -> list:
    return [dv for dv in ws.data_validations.dataValidation if cell in dv.sqref]


def _bound(f, value) -> str:
    if f.type == "date":
        return str((value - EXCEL_EPOCH).days)
    return str(value)


def _check_validation(spec, ws, f, cell: str) -> None:
    found = _validations_at(ws, cell)
    assert len(found) == 1, (f.id, cell, len(found))
    dv = found[0]
    assert dv.type == DV_TYPES[f.type], f.id
    assert dv.errorStyle in (None, "stop") and dv.showErrorMessage and dv.showInputMessage, f.id
    assert dv.prompt and len(dv.prompt) <= 255 and dv.promptTitle and len(dv.promptTitle) <= 32, f.id
    if f.type == "bool":
        assert dv.formula1 == template.list_name(template.BOOL_LIST)
    elif f.type == "choice":
        assert dv.formula1 == template.list_name(f.choices)
    else:
        assert dv.operator in (None, "between"), f.id
        assert (dv.formula1, dv.formula2) == (_bound(f, f.min), _bound(f, f.max)), f.id


def test_every_typed_input_has_the_right_validation(spec, blank):
    wb = load_openpyxl(blank)
    layout = layout_for(spec)
    checked = 0
    for field_id, ref in layout.cells.items():
        f = spec.fields[field_id]
        if f.is_input and f.type in DV_TYPES:
            _check_validation(spec, wb[ref.sheet], f, ref.a1)
            checked += 1
    assert checked > 80
    t = layout.table
    for column in spec.table.columns:
        if column.type in DV_TYPES:
            for row in (t.first_row, t.last_row):
                _check_validation(spec, wb[t.sheet], column, t.cell(row, column.id))


def test_prefilled_identity_has_no_validation_and_text_fields_only_help(spec, stc):
    wb = load_openpyxl(stc)
    for field_id in ("ma_don_vi", "ten_don_vi"):
        ref = layout_for(spec).cells[field_id]
        assert _validations_at(wb[ref.sheet], ref.a1) == []
    ref = layout_for(spec).cells["dien_thoai"]
    (dv,) = _validations_at(wb[ref.sheet], ref.a1)
    assert dv.type is None and "039" in dv.prompt  # "any value": shows the help, enforces nothing


# --- _meta and agency copies -----------------------------------------------------------------------------


def test_meta_round_trips_through_calamine(spec, stc):
    meta = parse_meta(calamine_rows(stc, META_SHEET))
    layout = layout_for(spec)
    assert (meta.form_id, meta.version, meta.round) == (spec.form_id, spec.version, spec.round)
    assert (meta.agency_code, meta.agency_name, meta.spec_sha256) == ("STC", "Sở Tài chính", spec.sha256)
    assert meta.cells == {fid: (ref.sheet, ref.a1) for fid, ref in layout.cells.items()}
    for table_id, t in layout.tables.items():
        assert meta.tables[table_id] == (table_id, t.sheet, t.first_row, t.last_row, t.total_row)
        assert meta.table_columns[table_id] == {cid: col_letter(c) for cid, c in t.columns.items()}
    assert meta.table == meta.tables[spec.tables[0].id]  # the first table's, as format 2 had one


def test_meta_is_compact_one_map_row_per_sheet(spec, stc):
    """Every reader parses the whole of `_meta` on every return: the cell map is one row per sheet."""
    rows = [r for r in calamine_rows(stc, META_SHEET) if any(c != "" for c in r)]
    assert len(rows) <= 7 + len(spec.sheets) + 2 * len(spec.tables)
    assert rows[0][:2] == ["ictplan_meta", "3"]


def test_meta_format_1_of_earlier_templates_is_still_read(spec):
    """Templates sent out before the compact map carry one row per field and per column."""
    layout = layout_for(spec)
    t = layout.table
    rows = [["ictplan_meta", "1"], ["form_id", spec.form_id], ["agency_code", "STC"], ["spec_sha256", "x"], [],
            *(["@field", fid, ref.sheet, ref.a1] for fid, ref in layout.cells.items()),
            ["@table", spec.table.id, t.sheet, float(t.first_row), float(t.last_row), float(t.total_row)],
            *(["@column", cid, col_letter(c)] for cid, c in t.columns.items())]
    meta = parse_meta(rows)
    assert meta.cells == {fid: (ref.sheet, ref.a1) for fid, ref in layout.cells.items()}
    assert meta.table == (spec.table.id, t.sheet, t.first_row, t.last_row, t.total_row)
    assert meta.columns == {cid: col_letter(c) for cid, c in t.columns.items()}
    assert meta.agency_code == "STC"


def test_a_long_cell_map_continues_on_more_rows(spec, monkeypatch):
    from pipeline.form import meta as meta_module

    layout = layout_for(spec)
    whole = parse_meta(meta_module.meta_rows(spec, layout))
    monkeypatch.setattr(meta_module, "MAX_TEXT", 60)
    rows = meta_module.meta_rows(spec, layout)
    assert all(len(c) <= 60 for r in rows if r and r[0] in ("@cells", "@columns") for c in r[-1:])
    assert parse_meta(rows) == whole


def test_blank_meta_has_no_agency(blank):
    meta = parse_meta(calamine_rows(blank, META_SHEET))
    assert meta.agency_code == "" and meta.agency_name == ""


def test_agency_copies_carry_their_code_and_name(spec, registry, written):
    layout = layout_for(spec)
    code_ref, name_ref = layout.cells["ma_don_vi"], layout.cells["ten_don_vi"]
    by_name = {p.name: p for p in written}
    assert template_file_name(spec, None) in by_name
    assert template_file_name(spec, None) == "BM-UDCNTT-2007_v1.1_mau-trong.xlsx"
    for agency in registry.of_round(spec).agencies:
        data = by_name[template_file_name(spec, agency.code)].read_bytes()
        rows = calamine_rows(data, code_ref.sheet)
        assert at(rows, code_ref.a1) == agency.code
        assert at(rows, name_ref.a1) == agency.name_vi
        assert at(rows, "A1") == f"UBND TỈNH HÀ TĨNH\n{agency.name_vi.upper()}"  # the frame's issuing unit
        assert parse_meta(calamine_rows(data, META_SHEET)).agency_code == agency.code
    assert template_file_name(spec, "STC") == "BM-UDCNTT-2007_v1.1_STC.xlsx"


def test_write_templates_is_reproducible_and_leaves_no_temp_files(spec, registry, written, tmp_path):
    again = write_templates(spec, registry, tmp_path)
    assert [p.name for p in again] == [p.name for p in written]
    for first, second in zip(written, again, strict=True):
        assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in again)
    assert len(again) == len(registry.of_round(spec).agencies) + 1 == 42  # the 41 agencies of 2007, and the blank


def test_same_inputs_give_byte_identical_workbooks(spec, registry):
    options = json.dumps(template.WORKBOOK_OPTIONS, sort_keys=True)
    agency = registry.get("H-LOCHA")
    values = {"tong_so_cbccvc": 80, "co_website": True, "ngay_lap": dt.date(2007, 9, 1)}
    first = build_workbook(spec, agency=agency, values=values)
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(
        build_workbook(spec, agency=agency, values=values)).hexdigest()
    # xlsxwriter writes into the options it is given; the template must hand it a copy every time, or the
    # first workbook of a process differs from the later ones.
    assert json.dumps(template.WORKBOOK_OPTIONS, sort_keys=True) == options
    core = zipfile.ZipFile(io.BytesIO(first)).read("docProps/core.xml").decode()
    assert FIXED_CREATED.strftime("%Y-%m-%dT%H:%M:%SZ") in core


# --- golden ----------------------------------------------------------------------------------------------


def normalised_parts(data: bytes) -> dict[str, str]:
    """sha256 of every zip member, in name order; the core properties lose their timestamps."""
    parts = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in sorted(archive.namelist()):
            content = archive.read(name)
            if name == "docProps/core.xml":
                content = re.sub(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>", b"", content)
            parts[name] = hashlib.sha256(content).hexdigest()
    return parts


def test_blank_template_matches_the_golden_file(blank):
    parts = normalised_parts(blank)
    if os.environ.get("ICTPLAN_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(parts, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    changed = sorted(k for k in parts.keys() & golden.keys() if parts[k] != golden[k])
    added, removed = sorted(parts.keys() - golden.keys()), sorted(golden.keys() - parts.keys())
    assert not (changed or added or removed), (
        f"the blank template changed: parts changed {changed}, added {added}, removed {removed}. If intended "
        "(spec or template edit), run ICTPLAN_UPDATE_GOLDEN=1 pytest tests/test_template.py and review.")


# --- values, formulas, text ------------------------------------------------------------------------------


FILLED = {
    "tong_so_cbccvc": 64, "tong_so_may_tinh": 40, "so_may_ket_noi_internet": 30, "so_cbcc_dung_thu_thuong_xuyen": 20,
    "ty_le_van_ban_qua_mang": 15, "so_dvc_muc_2": 3, "so_dvc_muc_3": 0, "so_cb_chuyen_trach": 2,
    "kh_kp_2008": 350.5, "kh_kp_2009": 420.0, "kh_kp_2010": 500.1, "co_mang_lan": True, "co_website": False,
    "loai_don_vi": "SO_BAN_NGANH", "ngay_so_lieu": dt.date(2007, 6, 30), "nguoi_lap": "Trần Thị Hoa",
}
PROJECTS = [
    {"stt": "1", "ten_du_an": "Nâng cấp mạng LAN", "nam_bat_dau": 2008, "nam_ket_thuc": 2009, "tong_kinh_phi": 300.0,
     "kp_2008": 100.0, "kp_2009": 200.0, "nhom_noi_dung": "HA_TANG"},
    {"stt": "2", "ten_du_an": "Đào tạo tin học", "tong_kinh_phi": "1.500", "kp_2010": 45.5},
]


@pytest.fixture(scope="module")
def filled(spec, registry) -> bytes:
    return build_workbook(spec, agency=registry.get("STC"), values=FILLED, projects=PROJECTS)


def test_computed_cells_are_formulas_with_the_python_values_cached(spec, filled):
    layout = layout_for(spec)
    formulas = load_openpyxl(filled)
    expected = evaluate_computed(spec, FILLED, PROJECTS)
    assert expected["ty_le_may_tren_cbcc"] == pytest.approx(40 / 64)
    assert expected["da_tong_kinh_phi"] == 300.0  # text "1.500" is not a number to SUM
    assert expected["mt_so_luot_dao_tao_current"] is None  # a blank operand gives a blank, not 0
    for field_id, value in expected.items():
        ref = layout.cells[field_id]
        formula = formulas[ref.sheet][ref.a1].value
        assert isinstance(formula, str) and formula.startswith("="), field_id
        cached = at(calamine_rows(filled, ref.sheet), ref.a1)
        if value is None:
            assert cached == "", field_id
        else:
            assert cached == pytest.approx(value), field_id


def test_blank_operands_blank_the_formula_in_excel_too(spec, blank):
    """Excel shows 0 for a bare reference to an empty cell; the spec's evaluation gives blank."""
    cells = layout_for(spec).cells
    current, source = cells["mt_so_dvc_muc_2_current"], cells["so_dvc_muc_2"].absolute()
    formula = load_openpyxl(blank)[current.sheet][current.a1].value
    assert formula == f'=IF(OR(COUNT({source})=0),"",{source})'


def test_blank_template_caches_blanks_and_zero_sums(spec, blank):
    layout = layout_for(spec)
    for field_id, expected in (("ty_le_may_tren_cbcc", ""), ("mt_pct_may_internet_current", ""),
                               ("kh_kp_tong", 0.0), ("da_kp_2008", 0.0)):
        ref = layout.cells[field_id]
        assert at(calamine_rows(blank, ref.sheet), ref.a1) == expected, field_id


def test_typed_values_land_as_an_agency_would_leave_them(spec, filled):
    layout = layout_for(spec)
    rows = {s.name: calamine_rows(filled, s.name) for s in spec.sheets}

    def cell(field_id):
        ref = layout.cells[field_id]
        return at(rows[ref.sheet], ref.a1)

    assert cell("tong_so_cbccvc") == 64.0
    assert cell("co_mang_lan") == "Có" and cell("co_website") == "Không"
    assert cell("loai_don_vi") == "Sở, ban, ngành cấp tỉnh"
    assert cell("ngay_so_lieu") == dt.date(2007, 6, 30)
    assert cell("nguoi_lap") == "Trần Thị Hoa"
    t = layout.table
    assert at(rows[t.sheet], t.cell(t.first_row, "nhom_noi_dung")) == "Hạ tầng kỹ thuật"
    assert at(rows[t.sheet], t.cell(t.first_row + 1, "tong_kinh_phi")) == "1.500"
    assert at(rows[t.sheet], t.cell(t.total_row, "kp_2009")) == 200.0


def test_text_never_becomes_a_formula_or_link(spec):
    values = {"nguoi_lap": "=HYPERLINK(\"http://x\")", "dia_chi_website": "http://stc.hatinh.gov.vn"}
    data = build_workbook(spec, values=values, cell_text={"tong_so_cbccvc": "=1+1", "so_tthc": "1.500"})
    wb = load_openpyxl(data)
    layout = layout_for(spec)
    for field_id, text in (*values.items(), ("tong_so_cbccvc", "=1+1"), ("so_tthc", "1.500")):
        ref = layout.cells[field_id]
        assert wb[ref.sheet][ref.a1].data_type == "s" and wb[ref.sheet][ref.a1].value == text, field_id
        assert not wb[ref.sheet][ref.a1].hyperlink
    ratio = layout.cells["ty_le_may_tren_cbcc"]
    assert at(calamine_rows(data, ratio.sheet), ratio.a1) == ""  # text staff count: no ratio


def test_unknown_cell_text_field_is_an_error(spec):
    with pytest.raises(KeyError):
        build_workbook(spec, cell_text={"no_such_field": "x"})
    with pytest.raises(KeyError):
        build_workbook(spec, cell_text={"ty_le_may_tren_cbcc": "1"})  # computed: not an input


def test_extra_project_rows_move_the_totals_like_inserted_rows(spec):
    t = layout_for(spec).table
    projects = [{"stt": str(i + 1), "tong_kinh_phi": 10.0} for i in range(spec.table.rows + 3)]
    data = build_workbook(spec, projects=projects, extra_project_rows=5)
    wb = load_openpyxl(data)
    total_cell = t.cell(t.total_row + 5, "tong_kinh_phi")
    assert wb.defined_names["da_tong_kinh_phi"].attr_text == f"'{t.sheet}'!${total_cell[0]}${t.total_row + 5}"
    assert at(calamine_rows(data, t.sheet), total_cell) == pytest.approx(10.0 * len(projects))
    assert at(calamine_rows(data, t.sheet), t.cell(t.total_row + 5, spec.table.key)) == spec.table.total_vi
    assert parse_meta(calamine_rows(data, META_SHEET)).tables[spec.table.id][4] == t.total_row  # as sent
    with pytest.raises(ValueError):
        build_workbook(spec, projects=projects)


def test_all_text_is_nfc(spec, stc, filled):
    for data in (stc, filled):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                text = archive.read(name).decode("utf-8")
                assert unicodedata.is_normalized("NFC", text), name


def test_print_setup(spec, blank):
    wb = load_openpyxl(blank)
    for sheet in spec.sheets:
        ws = wb[sheet.name]
        assert ws.page_setup.paperSize == 9
        assert ws.page_setup.orientation == ("landscape" if sheet.table else "portrait")
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0
        assert "Trang &P/&N" in ws.oddFooter.right.text
        assert ws.print_title_rows and ws.freeze_panes


def test_number_formats(spec, blank):
    wb = load_openpyxl(blank)
    layout = layout_for(spec)
    for field_id, number_format in (("kp_cntt_2007", "#,##0.0"), ("tong_so_cbccvc", "#,##0"),
                                    ("ty_le_van_ban_qua_mang", "0.0"), ("ty_le_may_tren_cbcc", "0.00"),
                                    ("ngay_lap", "dd/mm/yyyy"), ("dien_thoai", "@")):
        ref = layout.cells[field_id]
        assert wb[ref.sheet][ref.a1].number_format == number_format, field_id
    assert spec.fields["ty_le_van_ban_qua_mang"].unit == "%"
