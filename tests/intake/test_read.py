"""Reading returns: values come back exactly, whatever program saved the file, however the agency moved
things, and every surprise is reported at its cell. `read` never raises."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import re
import string
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import hostile as h
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.form.layout import layout_for
from pipeline.form.sample import SampleReturn, make_sample
from pipeline.form.template import build_workbook, evaluate_computed
from pipeline.intake import read as read_module
from pipeline.intake.read import LEGACY_FORMATS, read
from pipeline.intake.submission import Submission
from pipeline.issues import CATALOGUE, Issue, Severity, unnested
from pipeline.normalize import unicode_to_tcvn3

RETURNED = Path(__file__).parents[1] / "data" / "returned"


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def codes(sub: Submission) -> list[str]:
    return [i.code for i in sub.issues]


def errors(sub: Submission) -> list[str]:
    return [i.code for i in sub.issues if i.severity is Severity.ERROR]


def only(sub: Submission, code: str) -> Any:
    found = [i for i in sub.issues if i.code == code]
    assert len(found) == 1, sub.issues
    return found[0]


def sample_for(spec, registry, code: str = "STC", seed: int = 1, *, projects: int = 3) -> SampleReturn:
    """A clean sample of ``code`` with at least ``projects`` projects (the first seed that has them)."""
    agency = registry.get(code)
    for attempt in range(200):
        sample = make_sample(spec, agency, random.Random(f"{seed}/{attempt}"))
        if len(sample.projects) >= projects:
            return sample
    raise AssertionError("no sample with enough projects")


def workbook(spec, sample: SampleReturn, **changes: Any) -> bytes:
    options = {"agency": sample.agency, "values": sample.values, "projects": sample.projects,
               "cell_text": sample.cell_text, "tables": sample.tables} | changes
    return build_workbook(spec, **options)


def table_sheet_name(spec, table_id: str) -> str:
    return spec.sheet_name(spec.table_named(table_id).sheet)


def read_bytes(data: bytes, spec, registry, name: str = "BM-UDCNTT-2007_v1.0_STC.xlsx") -> Submission:
    sub = read(data, name=name, spec=spec, registry=registry)
    for item in sub.issues:
        assert_renders(item)
    return sub


def assert_renders(item: Issue) -> None:
    """Every placeholder of the issue's message is filled (the lenient formatter would print '?')."""
    detail = CATALOGUE[item.code]
    for template in (detail.vi, detail.en):
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        given = {"value", *item.context, *(k[:-3] for k in item.context if k.endswith(("_vi", "_en")))}
        assert names <= given, (item.code, names - given)
    if "value" in {name for _, name, _, _ in string.Formatter().parse(detail.en) if name}:
        assert item.value is not None or "value" in item.context, item.code


def edited(data: bytes, edit: Callable[[openpyxl.Workbook], None]) -> bytes:
    """The workbook after an edit in openpyxl, saved again (as a non-calculating tool saves it: no cached
    formula values)."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    edit(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def shift_rows(sheet: Any, row: int, amount: int) -> None:
    """Insert (amount > 0) or delete (amount < 0) rows the way Excel does, merged ranges included
    (openpyxl moves the cells but leaves merged ranges where they were)."""
    moved = [r.coord for r in sheet.merged_cells.ranges if r.min_row >= row]
    for coord in moved:
        sheet.unmerge_cells(coord)
    if amount > 0:
        sheet.insert_rows(row, amount)
    else:
        sheet.delete_rows(row, -amount)
    for coord in moved:
        top, bottom = (int(n) for n in re.findall(r"\d+", coord))
        if amount > 0 or top >= row - amount:
            letters = re.findall(r"[A-Z]+", coord)
            sheet.merge_cells(f"{letters[0]}{top + amount}:{letters[1]}{bottom + amount}")


def patched(data: bytes, part: str, old: str, new: str) -> bytes:
    """The package with one text replaced in one XML part (cached values stay, unlike an openpyxl save)."""
    text = h.read_member(data, part).decode("utf-8")
    assert old in text
    return h.rebuild(data, replace={part: text.replace(old, new, 1).encode("utf-8")})


def input_values(spec, sample: SampleReturn) -> dict[str, Any]:
    return {k: v for k, v in sample.values.items() if spec.fields[k].is_input and k not in sample.cell_text}


def filled(projects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in p.items() if v is not None} for p in projects]


def cell_of(spec, field_id: str) -> str:
    return layout_for(spec).cells[field_id].a1


@pytest.fixture(scope="module")
def stc(spec, registry) -> SampleReturn:
    return sample_for(spec, registry, "STC")


@pytest.fixture(scope="module")
def stc_bytes(spec, stc) -> bytes:
    return workbook(spec, stc)


# --------------------------------------------------------------------------------------------------
# A clean return, and the formats other programs save
# --------------------------------------------------------------------------------------------------


def test_clean_return_gives_back_every_value(spec, registry, stc, stc_bytes):
    sub = read_bytes(stc_bytes, spec, registry)
    assert sub.readable and sub.issues == [] and sub.format == "xlsx"
    assert sub.agency_code == "STC"
    assert (sub.form_id, sub.version, sub.round) == (spec.form_id, spec.version, spec.round)
    for field_id, value in input_values(spec, stc).items():
        assert sub.values[field_id] == value, field_id
    computed = evaluate_computed(spec, input_values(spec, stc), stc.projects, stc.tables)
    for field_id, value in computed.items():
        assert sub.values[field_id] == pytest.approx(value), field_id
    assert filled([p.values for p in sub.projects]) == filled(stc.projects)
    for table in spec.other_tables:  # the 2008 annual plan and the online services, each from its sheet
        assert sub.tables[table.id].sheet == table_sheet_name(spec, table.id)
        assert filled([r.values for r in sub.tables[table.id].rows]) == filled(stc.tables[table.id])
    assert [p.row for p in sub.projects] == list(range(7, 7 + len(stc.projects)))
    assert set(sub.values) == set(spec.fields)


def test_cells_and_raw_values_trace_back_to_the_file(spec, registry, stc_bytes):
    sub = read_bytes(stc_bytes, spec, registry)
    assert sub.cells["tong_so_may_tinh"] == ("Hiện trạng", cell_of(spec, "tong_so_may_tinh"))
    assert sub.raw["tong_so_may_tinh"] == float(sub.values["tong_so_may_tinh"])  # an .xlsx number is a float
    assert sub.project_sheet == "Dự án" and sub.project_columns["ten_du_an"] == "B"
    assert sub.project_cell(sub.projects[0].row, "tong_kinh_phi") == "P7"
    assert sub.cells["da_tong_kinh_phi"] == ("Dự án", f"P{layout_for(spec).table.total_row}")


def test_many_samples_round_trip(spec, registry):
    """Every agency's sample, with mistakes injected: each value reads back as written, and only the
    text-in-number mistakes are the reader's to report."""
    for index, agency in enumerate(registry.of_round(spec).agencies):
        sample = make_sample(spec, agency, random.Random(index), mistakes=index % 3)
        sub = read_bytes(workbook(spec, sample), spec, registry, name=f"{agency.code}.xlsx")
        assert sub.readable and sub.agency_code == agency.code
        assert {k: sub.values[k] for k in input_values(spec, sample)} == input_values(spec, sample)
        assert filled([p.values for p in sub.projects]) == filled(sample.projects)
        reader_mistakes = [m for m in sample.mistakes if m.code.startswith("VALUE_")]
        assert sorted(codes(sub)) == sorted(m.code for m in reader_mistakes), agency.code
        assert sub.bad_fields == {m.field for m in reader_mistakes}
        assert {(i.code, i.cell) for i in sub.issues} == {(m.code, m.cell) for m in reader_mistakes}


def _from_json(value: Any) -> Any:
    return dt.date.fromisoformat(value["date"]) if isinstance(value, dict) else value


@pytest.mark.parametrize("expected_file", sorted(RETURNED.glob("*.json")), ids=lambda p: p.stem)
def test_files_saved_by_other_programs_give_the_same_values(spec, registry, expected_file):
    """Fixtures converted once by LibreOffice (tests/data/returned/regenerate.py): .xls as Excel 2003
    saves it, .ods from OpenOffice, an .xlsx re-saved by LibreOffice; and by regenerate_odf_xml.py: .ods
    re-saved by gnumeric (ODF 1.2 extended and strict, once FILE_CORRUPT), .fods and Excel 2003 XML saved by
    LibreOffice (once refused as not a spreadsheet)."""
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    sub = read(RETURNED / expected["file"], spec=spec, registry=registry)
    assert sub.readable and errors(sub) == []
    assert sub.agency_code == expected["agency_code"]
    for field_id, value in expected["values"].items():
        assert sub.values[field_id] == pytest.approx(_from_json(value)), field_id
    assert filled([p.values for p in sub.projects]) == [
        {k: _from_json(v) for k, v in p.items() if v is not None} for p in expected["projects"]]
    legacy = sub.format in LEGACY_FORMATS
    assert ("FILE_LEGACY_FORMAT" in codes(sub)) == legacy
    # The only warning these clean files may carry: exactly 1 in a percent cell, undecidable in .xls/.ods.
    assert set(codes(sub)) - {"FILE_LEGACY_FORMAT"} <= {"VALUE_AMBIGUOUS_NUMBER"}


def test_fixture_formats_are_what_their_names_say(spec, registry):
    workbooks = [p for p in RETURNED.iterdir() if p.suffix in (".xls", ".ods", ".xlsx", ".fods", ".xml")]
    formats = {p.name: read(p, spec=spec, registry=registry).format for p in workbooks}
    assert formats == {p.name: p.suffix[1:] for p in workbooks}
    assert {"excel2003-STC.xls", "openoffice-H-CANLOC.ods", "libreoffice-resaved-SYT.xlsx"} <= formats.keys()


def test_path_and_bytes_give_the_same_submission(spec, registry, stc_bytes, tmp_path):
    path = tmp_path / "BM-UDCNTT-2007_v1.0_STC.xlsx"
    path.write_bytes(stc_bytes)
    by_path = read(path, spec=spec, registry=registry)
    by_bytes = read_bytes(stc_bytes, spec, registry)
    assert by_path.values == by_bytes.values and by_path.sha256 == by_bytes.sha256
    assert by_path.path == str(path) and by_bytes.path is None


def test_file_name_is_kept_in_nfc(spec, registry, stc_bytes):
    nfd = unicodedata.normalize("NFD", "Báo cáo STC.xlsx")
    sub = read_bytes(stc_bytes, spec, registry, name=nfd)
    assert sub.file == unicodedata.normalize("NFC", nfd)


# --------------------------------------------------------------------------------------------------
# Identity of the form and the agency
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "code"), [
    ({"form_id": "BM-KHAC-2007"}, "FORM_NOT_OURS"),
    ({"version": "0.9"}, "FORM_OLD_VERSION"),
    ({"round": "2006-2010"}, "FORM_OTHER_ROUND"),
])
def test_another_form_version_or_round_is_not_read(spec, registry, stc, change, code):
    data = workbook(replace(spec, **change), stc)
    sub = read_bytes(data, spec, registry)
    assert not sub.readable and codes(sub) == [code]
    assert sub.values == {} and sub.projects == []
    if code != "FORM_NOT_OURS":
        found = only(sub, code)
        assert found.context["expected"] == getattr(spec, next(iter(change)))
        assert sub.agency_code == "STC"  # whom the feedback goes to


def test_cell_map_of_meta_is_followed_when_written_from_another_spec_edit(spec, registry, stc, stc_bytes):
    """A template written from another edit of the spec (another sha256) placed two items the other way
    round: `_meta` says so, and the reader follows it without calling it a move."""
    first, second = "tong_so_cbccvc", "so_cbcc_su_dung_may_tinh"
    row_1, row_2 = (layout_for(spec).cells[f].row for f in (first, second))

    def swap(book: openpyxl.Workbook) -> None:
        sheet = book["Hiện trạng"]
        for col in ("B", "C", "D"):
            sheet[f"{col}{row_1}"].value, sheet[f"{col}{row_2}"].value = (
                sheet[f"{col}{row_2}"].value, sheet[f"{col}{row_1}"].value)
        for row in book["_meta"].iter_rows():
            key, value = row[0].value, row[1].value if len(row) > 1 else None
            if key == "spec_sha256":
                row[1].value = "0" * 64
            elif key == "@cells" and value == "Hiện trạng":  # "field=cell; field=cell; …"
                pairs = dict(pair.split("=") for pair in row[2].value.split("; "))
                pairs[first], pairs[second] = f"D{row_2}", f"D{row_1}"
                row[2].value = "; ".join(f"{k}={v}" for k, v in pairs.items())

    sub = read_bytes(edited(stc_bytes, swap), spec, registry)
    assert "LAYOUT_MOVED" not in codes(sub) and errors(sub) == []
    assert sub.cells[first] == ("Hiện trạng", f"D{row_2}")
    assert (sub.values[first], sub.values[second]) == (stc.values[first], stc.values[second])


def test_a_random_spreadsheet_is_not_ours(spec, registry):
    sub = read_bytes(h.real_xlsx(), spec, registry, name="bang_tinh.xlsx")
    assert not sub.readable and codes(sub) == ["FORM_NOT_OURS"]


def test_workbook_copied_without_meta_is_read_by_labels(spec, registry, stc, stc_bytes):
    def drop_meta(book: openpyxl.Workbook) -> None:
        del book["_meta"]

    sub = read_bytes(edited(stc_bytes, drop_meta), spec, registry)
    assert sub.readable and "FORM_META_MISSING" in codes(sub) and errors(sub) == []
    assert sub.agency_code == "STC"
    assert {k: sub.values[k] for k in input_values(spec, stc)} == input_values(spec, stc)


def test_blank_template_filled_without_identity(spec, registry, stc):
    values = dict(stc.values, ma_don_vi=None, ten_don_vi=None)
    sub = read_bytes(build_workbook(spec, values=values), spec, registry, name="bao_cao.xlsx")
    assert sub.readable and errors(sub) == ["FORM_AGENCY_MISSING"] and sub.agency_code is None
    assert only(sub, "FORM_AGENCY_MISSING").cell == cell_of(spec, "ma_don_vi")


def test_unknown_agency(spec, registry, stc):
    values = dict(stc.values, ma_don_vi="CTY-ABC", ten_don_vi="Công ty TNHH ABC")
    sub = read_bytes(build_workbook(spec, values=values), spec, registry, name="bao_cao.xlsx")
    assert errors(sub) == ["FORM_AGENCY_UNKNOWN"] and sub.agency_code is None
    assert only(sub, "FORM_AGENCY_UNKNOWN").context["found"] == "CTY-ABC"


def test_another_agencys_code_in_the_file_name(spec, registry, stc_bytes):
    sub = read_bytes(stc_bytes, spec, registry, name="BM-UDCNTT-2007_v1.0_SYT.xlsx")
    mismatch = only(sub, "FORM_AGENCY_MISMATCH")
    assert errors(sub) == ["FORM_AGENCY_MISMATCH"]
    assert "= STC" in mismatch.context["detail"] and "SYT.xlsx = SYT" in mismatch.context["detail"]
    assert sub.agency_code == "STC"  # the cell and _meta outvote the file name


def test_code_cell_edited_to_another_agency(spec, registry, stc):
    data = workbook(spec, stc, values=dict(stc.values, ma_don_vi="SYT"))
    sub = read_bytes(data, spec, registry)
    assert errors(sub) == ["FORM_AGENCY_MISMATCH"]
    assert sub.agency_code == "STC"  # _meta, the file name and the name "Sở Tài chính" outvote the cell


def test_name_of_another_agency_is_a_warning(spec, registry, stc):
    data = workbook(spec, stc, values=dict(stc.values, ten_don_vi="Sở Y tế"))
    sub = read_bytes(data, spec, registry)
    warning = only(sub, "FORM_AGENCY_NAME")
    assert warning.severity is Severity.WARNING and errors(sub) == []
    assert (warning.context["name_code"], warning.context["code"]) == ("SYT", "STC")
    assert sub.agency_code == "STC"


def test_tcvn3_agency_name_resolves_when_the_code_is_blank(spec, registry, stc):
    name = unicode_to_tcvn3("Sở Tài chính")
    values = dict(stc.values, ma_don_vi=None, ten_don_vi=name)
    sub = read_bytes(build_workbook(spec, values=values), spec, registry, name="bao_cao.xlsx")
    assert errors(sub) == [] and sub.agency_code == "STC"
    assert sub.values["ten_don_vi"] == "Sở Tài chính"
    legacy = only(sub, "VALUE_LEGACY_TEXT")
    assert legacy.value == name and legacy.context["converted"] == "Sở Tài chính"


def test_code_written_in_lower_case(spec, registry, stc):
    sub = read_bytes(workbook(spec, stc, cell_text={"ma_don_vi": " stc "}), spec, registry)
    assert sub.values["ma_don_vi"] == "STC" and errors(sub) == [] and sub.agency_code == "STC"


# --------------------------------------------------------------------------------------------------
# Finding values the agency moved
# --------------------------------------------------------------------------------------------------


def test_rows_inserted_in_a_label_sheet(spec, registry, stc, stc_bytes):
    row = layout_for(spec).cells["so_may_xach_tay"].row

    def insert(book: openpyxl.Workbook) -> None:
        shift_rows(book["Hiện trạng"], row, 3)
        book["Hiện trạng"].cell(row, 2, "Ghi chú thêm của đơn vị")

    sub = read_bytes(edited(stc_bytes, insert), spec, registry)
    moved = only(sub, "LAYOUT_MOVED")  # one warning for the sheet, not one per item
    assert moved.sheet == "Hiện trạng" and moved.context["expected"].startswith(f"D{row},")
    assert moved.context["found"].startswith(f"D{row + 3},")
    assert sub.cells["so_may_xach_tay"] == ("Hiện trạng", f"D{row + 3}")
    assert sub.cells["tong_so_may_tinh"] == ("Hiện trạng", f"D{row - 1}")  # above the insertion: unmoved
    assert {k: sub.values[k] for k in input_values(spec, stc)} == input_values(spec, stc)
    # openpyxl keeps formulas but drops their cached values: recomputed, and said so (never 0 or blank).
    not_calculated = {i.field for i in sub.issues if i.code == "VALUE_FORMULA_NOT_CALCULATED"}
    assert "ty_le_may_tren_cbcc" in not_calculated and "kh_kp_tong" in not_calculated
    assert sub.values["kh_kp_tong"] == pytest.approx(stc.values["kh_kp_tong"])
    assert "LAYOUT_MERGED" not in codes(sub) and errors(sub) == []


def test_renamed_sheet_is_found_by_its_labels(spec, registry, stc, stc_bytes):
    data = patched(stc_bytes, "xl/workbook.xml", 'name="Kế hoạch"', 'name="KH 2008-2010"')
    sub = read_bytes(data, spec, registry)
    renamed = only(sub, "LAYOUT_SHEET_RENAMED")
    assert (renamed.context["expected"], renamed.context["found"]) == ("Kế hoạch", "KH 2008-2010")
    assert sub.cells["kh_kp_2008"][0] == "KH 2008-2010"
    assert sub.values["kh_kp_2008"] == stc.values["kh_kp_2008"] and errors(sub) == []


def _kept_copy(spec, rename: str | None, figures: dict[str, Any]) -> Callable[[openpyxl.Workbook], None]:
    """A clerk's copy of 'Kế hoạch' (openpyxl puts it last) holding `figures`; the original renamed if asked."""
    def edit(book: openpyxl.Workbook) -> None:
        copy = book.copy_worksheet(book["Kế hoạch"])
        copy.title = "Kế hoạch (bản sao)"
        for field_id, value in figures.items():
            copy[layout_for(spec).cells[field_id].a1] = value
        if rename:
            book["Kế hoạch"].title = rename
    return edit


def test_an_identical_copy_of_a_renamed_sheet_is_not_ambiguous(spec, registry, stc, stc_bytes):
    """A backup copy holding the same figures: whichever is read, the return is the same."""
    sub = read_bytes(edited(stc_bytes, _kept_copy(spec, "KH 2008-2010", {})), spec, registry)
    assert "LAYOUT_SHEET_AMBIGUOUS" not in codes(sub) and errors(sub) == []
    assert sub.values["kh_kp_2008"] == stc.values["kh_kp_2008"]


def test_a_differing_copy_of_a_renamed_sheet_is_refused_and_nothing_taken_from_either(spec, registry, stc, stc_bytes):
    figure = "kh_dtpt_tinh_2008"  # an input (the year's total kh_kp_2008 is computed from the grid)
    sub = read_bytes(edited(stc_bytes, _kept_copy(spec, "KH 2008-2010", {figure: 1.5})), spec, registry)
    ambiguous = only(sub, "LAYOUT_SHEET_AMBIGUOUS")
    assert ambiguous.severity is Severity.ERROR and ambiguous.context["expected"] == "Kế hoạch"
    assert {"KH 2008-2010", "Kế hoạch (bản sao)"} <= set(re.findall(r'"([^"]+)"', ambiguous.context["found"]))
    assert sub.values[figure] is None and figure in sub.bad_fields
    assert "Kế hoạch (bản sao)" in ambiguous.message("vi") and "KH 2008-2010" in ambiguous.message("en")


def test_the_sheet_of_the_forms_name_is_read_and_a_differing_copy_reported(spec, registry, stc, stc_bytes):
    sub = read_bytes(edited(stc_bytes, _kept_copy(spec, None, {"kh_dtpt_tinh_2008": 1.5})), spec, registry)
    assert only(sub, "LAYOUT_SHEET_COPY").context["others"] == '"Kế hoạch (bản sao)"'
    assert sub.values["kh_kp_2008"] == stc.values["kh_kp_2008"] and errors(sub) == []


def test_sheet_name_differing_only_in_case_and_spaces(spec, registry, stc_bytes):
    data = patched(stc_bytes, "xl/workbook.xml", 'name="Kế hoạch"', 'name=" KẾ  HOẠCH"')
    sub = read_bytes(data, spec, registry)
    assert sub.issues == [] and sub.cells["kh_kp_2008"][0] == " KẾ  HOẠCH"


def test_deleted_sheet(spec, registry, stc_bytes):
    def drop(book: openpyxl.Workbook) -> None:
        del book["Kế hoạch"]

    sub = read_bytes(edited(stc_bytes, drop), spec, registry)
    assert only(sub, "LAYOUT_SHEET_MISSING").context["expected"] == "Kế hoạch"
    assert sub.readable and sub.values["kh_dtpt_tinh_2008"] is None and "kh_dtpt_tinh_2008" in sub.bad_fields


def test_deleted_label_row(spec, registry, stc, stc_bytes):
    row = layout_for(spec).cells["so_may_chu"].row
    sub = read_bytes(edited(stc_bytes, lambda book: shift_rows(book["Hiện trạng"], row, -1)), spec, registry)
    missing = only(sub, "LAYOUT_FIELD_NOT_FOUND")
    assert missing.context["label"] == spec.fields["so_may_chu"].vi and missing.sheet == "Hiện trạng"
    assert "so_may_chu" in sub.bad_fields and sub.values["so_may_chu"] is None
    assert "LAYOUT_MOVED" in codes(sub)  # the rows below moved up
    assert sub.values["co_mang_lan"] == stc.values["co_mang_lan"]


def test_hidden_sheet_is_read_and_reported(spec, registry, stc, stc_bytes):
    data = patched(stc_bytes, "xl/workbook.xml", 'name="Hiện trạng"', 'name="Hiện trạng" state="hidden"')
    sub = read_bytes(data, spec, registry)
    assert only(sub, "LAYOUT_HIDDEN").sheet == "Hiện trạng"
    assert sub.values["tong_so_may_tinh"] == stc.values["tong_so_may_tinh"]


def test_merged_input_cells(spec, registry, stc_bytes):
    first = layout_for(spec).cells["so_may_chu"]

    def merge(book: openpyxl.Workbook) -> None:
        book["Hiện trạng"].merge_cells(f"D{first.row}:D{first.row + 1}")

    merged = only(read_bytes(edited(stc_bytes, merge), spec, registry), "LAYOUT_MERGED")
    assert merged.context["ref"] == f"D{first.row}:D{first.row + 1}" and merged.sheet == "Hiện trạng"


def _ods_cell_tag(content: str, sheet: str, row: int, col: int) -> re.Match:
    """The opening tag of an .ods table's cell (1-based row, 0-based column), counting the run-length
    repeats of rows and cells as LibreOffice writes them."""
    start = content.index(f'table:name="{sheet}"')
    number = 0
    for tag in re.finditer(r"<table:table-row\b[^>]*>", content[start:]):
        number += 1
        if number == row:
            column = 0
            for cell in re.compile(r"<table:(?:covered-)?table-cell\b[^>]*>").finditer(content, start + tag.end()):
                if column == col:
                    return cell
                repeated = re.search(r'table:number-columns-repeated="(\d+)"', cell.group())
                column += int(repeated.group(1)) if repeated else 1
        repeated = re.search(r'table:number-rows-repeated="(\d+)"', tag.group())
        number += int(repeated.group(1)) - 1 if repeated else 0
    raise AssertionError(f"no row {row} on {sheet}")


def test_merged_input_cells_in_an_ods_return(spec, registry):
    """calamine gives no merged ranges for .ods: the reader takes them from content.xml (a cell spanning
    rows and columns), and reports an input swallowed by one as for .xlsx. The template's own merged titles
    are no input: the unedited file reports nothing."""
    first = layout_for(spec).cells["so_may_chu"]
    data = (RETURNED / "openoffice-H-CANLOC.ods").read_bytes()
    content = h.read_member(data, "content.xml").decode("utf-8")
    cell = _ods_cell_tag(content, "Hiện trạng", first.row, first.col)
    at = cell.start() + len("<table:table-cell")
    content = content[:at] + ' table:number-rows-spanned="2"' + content[at:]
    sub = read_bytes(h.rebuild(data, replace={"content.xml": content.encode("utf-8")}), spec, registry,
                     name="openoffice-H-CANLOC.ods")
    merged = only(sub, "LAYOUT_MERGED")
    assert merged.context["ref"] == f"D{first.row}:D{first.row + 1}" and merged.sheet == "Hiện trạng"
    assert "LAYOUT_MERGED" not in codes(read(RETURNED / "openoffice-H-CANLOC.ods", spec=spec, registry=registry))


def test_ods_rows_after_a_repeated_run_are_counted_regression():
    """Defect: attribute names with '-' (table:number-rows-repeated) were not parsed, so a run of repeated
    rows counted as one and a hidden or merged row below it was placed too high."""
    from pipeline.intake.markup import ods_hidden_rows as _ods_hidden_rows
    from pipeline.intake.markup import ods_merged_ranges as _ods_merged_ranges

    content = ('<table:table table:name="T"><table:table-row><table:table-cell/></table:table-row>'
               '<table:table-row table:number-rows-repeated="3"><table:table-cell/></table:table-row>'
               '<table:table-row table:visibility="collapse"><table:table-cell table:number-columns-repeated="2"/>'
               '<table:table-cell table:number-columns-spanned="2"/><table:covered-table-cell/></table:table-row>'
               '</table:table>')
    assert _ods_hidden_rows(content, "T") == [(5, 5)]
    assert _ods_merged_ranges(content, "T") == [((4, 2), (4, 3))]


def test_content_outside_the_form_columns(spec, registry, stc_bytes):
    def scribble(book: openpyxl.Workbook) -> None:
        for row in range(10, 16):
            book["Hiện trạng"].cell(row, 8, f"ghi chú {row}")

    stray = [i for i in read_bytes(edited(stc_bytes, scribble), spec, registry).issues if i.code == "LAYOUT_STRAY"]
    assert [i.context["ref"] for i in stray] == ["H10", "H11", "H12"]  # the first few only
    assert stray[0].context["value"] == "ghi chú 10"


# --------------------------------------------------------------------------------------------------
# The project table
# --------------------------------------------------------------------------------------------------


def test_rows_added_before_the_totals_row(spec, registry):
    sample = sample_for(spec, registry, "SYT", projects=2)
    extra = [dict(sample.projects[0], stt=str(n), ten_du_an=f"Dự án bổ sung {n}") for n in range(1, 56)]
    projects = sample.projects + extra
    sub = read_bytes(workbook(spec, sample, projects=projects, extra_project_rows=10), spec, registry,
                     name="SYT.xlsx")
    assert len(sub.projects) == len(projects) and filled([p.values for p in sub.projects]) == filled(projects)
    assert only(sub, "LAYOUT_PROJECT_ROWS_ADDED").context["count"] == len(projects)
    total_row = layout_for(spec).table.total_row + 10
    assert sub.cells["da_tong_kinh_phi"] == ("Dự án", f"P{total_row}")
    assert sub.values["da_tong_kinh_phi"] == pytest.approx(sum(p["tong_kinh_phi"] for p in projects))
    assert errors(sub) == [] and "VALUE_FORMULA_STALE" not in codes(sub)


def test_blank_rows_inside_the_table_are_skipped(spec, registry, stc):
    rows = [stc.projects[0], {}, {}, stc.projects[1], {}, stc.projects[2]]
    sub = read_bytes(workbook(spec, stc, projects=rows), spec, registry)
    first = layout_for(spec).table.first_row
    assert [p.row for p in sub.projects] == [first, first + 3, first + 5]
    assert filled([p.values for p in sub.projects]) == filled(stc.projects[:3])
    assert sub.issues == []


def test_table_moved_down_by_rows_inserted_above_it(spec, registry, stc, stc_bytes):
    sub = read_bytes(edited(stc_bytes, lambda book: shift_rows(book["Dự án"], 2, 4)), spec, registry)
    first = layout_for(spec).table.first_row + 4
    assert [p.row for p in sub.projects] == list(range(first, first + len(stc.projects)))
    assert filled([p.values for p in sub.projects]) == filled(stc.projects)
    assert "LAYOUT_TABLE_NOT_FOUND" not in codes(sub) and "LAYOUT_PROJECT_ROWS_ADDED" not in codes(sub)


def test_project_rows_inserted_in_excel_style_without_cached_totals(spec, registry, stc, stc_bytes):
    """openpyxl insert_rows inside the body: the totals row moves, its cached sums are gone."""
    first = layout_for(spec).table.first_row

    def insert(book: openpyxl.Workbook) -> None:
        sheet = book["Dự án"]
        shift_rows(sheet, first + 1, 10)
        sheet.cell(first + 1, 2, "Dự án chèn thêm")
        sheet.cell(first + 1, 16, 120.5)

    sub = read_bytes(edited(stc_bytes, insert), spec, registry)
    names = [p.values["ten_du_an"] for p in sub.projects]
    assert names[:2] == [stc.projects[0]["ten_du_an"], "Dự án chèn thêm"]
    assert len(sub.projects) == len(stc.projects) + 1
    assert sub.values["da_tong_kinh_phi"] == pytest.approx(sum(p["tong_kinh_phi"] for p in stc.projects) + 120.5)
    assert "da_tong_kinh_phi" in {i.field for i in sub.issues if i.code == "VALUE_FORMULA_NOT_CALCULATED"}


def test_project_cell_errors_point_at_the_row(spec, registry, stc):
    projects = [dict(stc.projects[0], tong_kinh_phi="khoảng 500", nhom_noi_dung="Mạng máy tính", nam_bat_dau="2008")]
    sub = read_bytes(workbook(spec, stc, projects=projects), spec, registry)
    row = layout_for(spec).table.first_row
    assert sub.bad_project_cells == {(row, "tong_kinh_phi"), (row, "nhom_noi_dung")}
    not_number = only(sub, "VALUE_NOT_NUMBER")
    assert (not_number.row, not_number.cell, not_number.value) == (row, f"P{row}", "khoảng 500")
    assert only(sub, "VALUE_NOT_CHOICE").context["choices"].startswith("Hạ tầng kỹ thuật; ")
    assert sub.projects[0].values["nam_bat_dau"] == 2008  # a year typed as text


def test_missing_header_row(spec, registry, stc_bytes):
    def wipe(book: openpyxl.Workbook) -> None:
        for cell in book["Dự án"][layout_for(spec).table.header_row]:
            cell.value = None

    sub = read_bytes(edited(stc_bytes, wipe), spec, registry)
    assert only(sub, "LAYOUT_TABLE_NOT_FOUND").sheet == "Dự án" and sub.projects == []
    assert "da_tong_kinh_phi" in sub.bad_fields and sub.readable


# --------------------------------------------------------------------------------------------------
# Vietnamese spellings of values
# --------------------------------------------------------------------------------------------------

NBSP = "\u00a0"


@pytest.mark.parametrize(("field_id", "text", "value", "issue_codes"), [
    ("kp_cntt_2007", "1.234.567", 1234567, []),
    ("kp_cntt_2007", "1.234,5", 1234.5, []),
    ("kp_cntt_2007", "12,5", 12.5, []),
    ("tong_so_cbccvc", "1 200", 1200, []),
    ("tong_so_cbccvc", f"1{NBSP}200", 1200, []),
    ("kp_cntt_2006", "(1.234)", -1234, []),
    ("ty_le_van_ban_qua_mang", "85%", 85, []),
    ("ty_le_van_ban_qua_mang", "85 %", 85, []),
    ("ty_le_van_ban_qua_mang", "0,85", 85.0, ["VALUE_PERCENT_SCALE"]),
    ("so_may_chu", "-", 0, []),
    ("so_may_chu", "x", 0, []),
    ("so_may_chu", "không", 0, []),
    ("so_may_chu", "chưa có", 0, []),
    ("co_tuong_lua", "có", True, []),
    ("co_tuong_lua", "không", False, []),
    ("co_tuong_lua", "x", True, []),
    ("co_tuong_lua", "✓", True, []),
    ("co_tuong_lua", "Có", True, []),
    ("ngay_lap", "15/10/2007", dt.date(2007, 10, 15), []),
    ("ngay_lap", "ngày 15 tháng 10 năm 2007", dt.date(2007, 10, 15), []),
    ("loai_don_vi", "SO_BAN_NGANH", "SO_BAN_NGANH", []),
    ("loai_don_vi", "sở, ban, ngành cấp tỉnh", "SO_BAN_NGANH", []),
    ("loai_don_vi", unicode_to_tcvn3("Sở, ban, ngành cấp tỉnh"), "SO_BAN_NGANH", []),
    ("nguoi_lap", unicodedata.normalize("NFD", "Nguyễn Thị Hương"), "Nguyễn Thị Hương", []),
    ("nguoi_lap", "Nguyễn\u200b Thị\u200d Hương", "Nguyễn Thị Hương", ["VALUE_CLEANED"]),
    ("kp_cntt_2007", "1,500", 1.5, ["VALUE_AMBIGUOUS_NUMBER"]),
])
def test_spellings_in_cells(spec, registry, stc, field_id, text, value, issue_codes):
    sub = read_bytes(workbook(spec, stc, cell_text={field_id: text}), spec, registry)
    assert sub.values[field_id] == value and type(sub.values[field_id]) is type(value)
    assert sub.raw[field_id] == text
    assert [i.code for i in sub.issues if i.field == field_id] == issue_codes
    assert field_id not in sub.bad_fields


@pytest.mark.parametrize(("field_id", "text", "code"), [
    ("tong_so_cbccvc", "khoảng 50", "VALUE_NOT_NUMBER"),
    ("tong_so_cbccvc", "12,5", "VALUE_NOT_INTEGER"),
    ("kp_cntt_2007", "85%", "VALUE_NOT_NUMBER"),
    ("co_tuong_lua", "có thể", "VALUE_NOT_BOOL"),
    ("ngay_lap", "sáng mai", "VALUE_NOT_DATE"),
    ("ngay_lap", "31/02/2007", "VALUE_NOT_DATE"),
    ("nam_khai_truong_website", "2005-2006", "VALUE_NOT_INTEGER"),
    ("phan_mem_van_phong", "WordPerfect", "VALUE_NOT_CHOICE"),
])
def test_unreadable_values_are_errors_at_their_cell(spec, registry, stc, field_id, text, code):
    sub = read_bytes(workbook(spec, stc, cell_text={field_id: text}), spec, registry)
    found = only(sub, code)
    f = spec.fields[field_id]
    assert found.severity is Severity.ERROR and found.value == text
    assert (found.file, found.sheet, found.cell, found.field) == (
        sub.file, spec.sheet_name(f.sheet), cell_of(spec, field_id), field_id)
    assert found.context["label_vi"] == f.vi and found.context["label_en"] == f.en
    assert sub.values[field_id] is None and field_id in sub.bad_fields and sub.readable
    assert found.message("vi").startswith(f"Trang '{spec.sheet_name(f.sheet)}', ô {cell_of(spec, field_id)} ({unnested(f.vi)}): ")


def test_ambiguous_number_gives_both_readings(spec, registry, stc):
    sub = read_bytes(workbook(spec, stc, cell_text={"kp_cntt_2007": "1,500"}), spec, registry)
    found = only(sub, "VALUE_AMBIGUOUS_NUMBER")
    assert found.severity is Severity.WARNING
    assert (found.context["taken"], found.context["other"], found.context["other_plain"]) == (1.5, 1500, "1500")
    assert found.message("vi").endswith(': "1,500" có thể hiểu là 1,5 hoặc 1.500; đã lấy 1,5. Nếu sai, đề nghị đơn vị nhập '
                                        'lại không dùng dấu phân cách (ví dụ 1500).')
    assert found.message("en").endswith(': "1,500" could mean 1.5 or 1,500; 1.5 was taken. If wrong, re-enter it '
                                        'without separators (e.g. 1500).')


def test_tcvn3_narrative_is_converted_with_a_warning(spec, registry, stc):
    text = "Hạ tầng mạng chưa đồng bộ, nhiều máy tính đã cũ, cấu hình thấp."
    legacy = unicode_to_tcvn3(text)
    sub = read_bytes(workbook(spec, stc, cell_text={"dg_ton_tai": legacy}), spec, registry)
    assert sub.values["dg_ton_tai"] == text
    found = only(sub, "VALUE_LEGACY_TEXT")
    assert found.severity is Severity.WARNING and found.value == legacy
    assert (found.context["encoding"], found.context["converted"]) == ("TCVN3", text)


def _set_cell(sheet_name: str, cell: str, value: Any, number_format: str | None = None):
    def edit(book: openpyxl.Workbook) -> None:
        target = book[sheet_name][cell]
        target.value = value
        if number_format:
            target.number_format = number_format
    return edit


@pytest.mark.parametrize(("value", "number_format", "expected", "issue_codes"), [
    (0.85, "0%", 85, ["VALUE_PERCENT_SCALE"]),
    (1, "0%", 100, ["VALUE_PERCENT_SCALE"]),  # "100%" typed: Excel stores 1 with a percent format
    (1, "0.0", 1, []),  # 1 in the template's own number format means 1 %
    (85, "0.0", 85, []),
])
def test_real_numbers_in_a_percent_cell(spec, registry, stc_bytes, value, number_format, expected, issue_codes):
    cell = cell_of(spec, "ty_le_van_ban_qua_mang")
    sub = read_bytes(edited(stc_bytes, _set_cell("Hiện trạng", cell, value, number_format)), spec, registry)
    assert sub.values["ty_le_van_ban_qua_mang"] == expected
    assert [i.code for i in sub.issues if i.field == "ty_le_van_ban_qua_mang"] == issue_codes


@pytest.mark.parametrize("date1904", [False, True])
def test_dates_as_date_cells_and_as_serial_numbers(spec, registry, stc_bytes, date1904):
    cell = cell_of(spec, "ngay_lap")
    serial = (dt.date(2007, 10, 15) - (dt.date(1904, 1, 1) if date1904 else dt.date(1899, 12, 30))).days

    def edit(book: openpyxl.Workbook) -> None:
        book.epoch = openpyxl.utils.datetime.MAC_EPOCH if date1904 else openpyxl.utils.datetime.WINDOWS_EPOCH
        _set_cell("Thông tin chung", cell, serial, "General")(book)
        _set_cell("Thông tin chung", cell_of(spec, "ngay_so_lieu"), dt.date(2007, 6, 30), "dd/mm/yyyy")(book)

    sub = read_bytes(edited(stc_bytes, edit), spec, registry)
    assert sub.values["ngay_lap"] == dt.date(2007, 10, 15)
    assert sub.values["ngay_so_lieu"] == dt.date(2007, 6, 30)


def test_formula_stale_value_is_replaced_by_the_recomputed_one(spec, registry, stc, stc_bytes):
    cell = cell_of(spec, "kh_kp_tong")
    part = "xl/worksheets/sheet4.xml"  # Hướng dẫn, Thông tin chung, Hiện trạng, Kế hoạch
    text = h.read_member(stc_bytes, part).decode("utf-8")
    stale = re.sub(rf'(<c r="{cell}"[^>]*>.*?<v>)[^<]*(</v>)', r"\g<1>1.5\g<2>", text, count=1)
    sub = read_bytes(h.rebuild(stc_bytes, replace={part: stale.encode("utf-8")}), spec, registry)
    found = only(sub, "VALUE_FORMULA_STALE")
    assert found.cell == cell and found.value == 1.5
    assert sub.values["kh_kp_tong"] == pytest.approx(stc.values["kh_kp_tong"])


# --------------------------------------------------------------------------------------------------
# Hostile and broken files: never raise, never readable
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "name", "code"), [
    (h.empty, "bao_cao.xlsx", "FILE_EMPTY"),
    (h.truncated_xlsx, "bao_cao.xlsx", "FILE_CORRUPT"),
    (h.corrupt_deflate, "bao_cao.xlsx", "FILE_CORRUPT"),
    (h.bad_crc, "bao_cao.xlsx", "FILE_CORRUPT"),
    (h.truncated_xls, "bao_cao.xls", "FILE_CORRUPT"),
    (h.html_as_xlsx, "bao_cao.xlsx", "FILE_NOT_SPREADSHEET"),
    (h.csv_as_xls, "bao_cao.xls", "FILE_NOT_SPREADSHEET"),
    (h.plain_zip, "bao_cao.xlsx", "FILE_NOT_SPREADSHEET"),
    (h.docx, "bao_cao.docx", "FILE_NOT_SPREADSHEET"),
    (h.pdf, "bao_cao.pdf", "FILE_NOT_SPREADSHEET"),
    (h.ole_encrypted_xlsx, "bao_cao.xlsx", "FILE_ENCRYPTED"),
    (h.xls_with_filepass, "bao_cao.xls", "FILE_ENCRYPTED"),
    (h.ods_encrypted, "bao_cao.ods", "FILE_ENCRYPTED"),
    (h.ratio_bomb, "bao_cao.xlsx", "FILE_ZIP_BOMB"),
    (h.member_flood, "bao_cao.xlsx", "FILE_ZIP_BOMB"),
    (h.dimension_bomb, "bao_cao.xlsx", "FILE_DIMENSION_BOMB"),
    (h.billion_laughs, "bao_cao.xlsx", "FILE_XML_ENTITIES"),
    (h.xxe, "bao_cao.xlsx", "FILE_XML_ENTITIES"),
    (h.duplicate_members, "bao_cao.xlsx", "FILE_DUPLICATE_PARTS"),
    (h.zip_encrypted_member, "bao_cao.xlsx", "FILE_ENCRYPTED"),
])
def test_hostile_files_are_refused_before_parsing(spec, registry, make, name, code):
    sub = read_bytes(make(), spec, registry, name=name)
    assert not sub.readable and code in errors(sub)
    assert sub.values == {} and sub.sha256


@pytest.mark.parametrize(("make", "name", "fmt"), [
    (h.real_xls, "bao_cao.xls", "xls"),
    (h.real_ods, "bao_cao.ods", "ods"),
    (h.real_ods, "bao_cao.xlsx", "ods"),  # renamed: the bytes decide
    (h.real_xlsm, "bao_cao.xlsm", "xlsm"),
    (h.disguised_vba_xlsx, "bao_cao.xlsx", "xlsm"),
])
def test_real_spreadsheets_that_are_not_the_form(spec, registry, make, name, fmt):
    sub = read_bytes(make(), spec, registry, name=name)
    assert sub.format == fmt and not sub.readable and "FORM_NOT_OURS" in errors(sub)


def test_macros_are_reported_and_the_return_still_read(spec, registry, stc_bytes):
    """Our own form saved as .xlsm: the preflight's warning is kept, the values are read."""
    data = h.rebuild(stc_bytes, add=[("xl/vbaProject.bin", h.vba_project())])
    sub = read_bytes(data, spec, registry, name="STC.xlsm")
    assert sub.readable and "FILE_MACROS" in codes(sub) and errors(sub) == []


def test_office_owner_file_is_skipped(spec, registry):
    sub = read_bytes(h.owner_file(), spec, registry, name="~$BM-UDCNTT-2007_v1.0_STC.xlsx")
    assert not sub.readable and codes(sub) == ["FILE_OWNER_LOCK"]


def test_vanished_and_unreadable_paths(spec, registry, tmp_path):
    gone = read(tmp_path / "da_xoa.xlsx", spec=spec, registry=registry)
    assert codes(gone) == ["FILE_VANISHED"] and not gone.readable and gone.file == "da_xoa.xlsx"
    folder = read(tmp_path, spec=spec, registry=registry)
    assert codes(folder) == ["FILE_UNREADABLE"] and not folder.readable


def test_an_unexpected_failure_becomes_an_internal_error(spec, registry, stc_bytes, monkeypatch):
    def broken(self: Any, table: Any) -> None:
        raise RuntimeError("/srv/secret/path")

    monkeypatch.setattr(read_module._Reader, "read_table", broken)
    sub = read_bytes(stc_bytes, spec, registry)
    found = only(sub, "SYS_INTERNAL_ERROR")
    assert not sub.readable and found.context == {"reason": "RuntimeError"}
    assert "/srv" not in found.message("en")


@pytest.mark.parametrize("source", [None, 42, b"", bytearray(b"PK\x03\x04"), memoryview(b"\xd0\xcf\x11\xe0")])
def test_any_source_gives_a_submission(spec, registry, source):
    sub = read(source, name="x.xlsx", spec=spec, registry=registry)
    assert isinstance(sub, Submission) and not sub.readable and errors(sub)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damaged_bytes_never_raise(spec, registry, stc_bytes, data):
    """Any damage to a real return: a Submission comes back, never an exception."""
    damaged = bytearray(stc_bytes)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(damaged)))
    sub = read_bytes(bytes(damaged[:cut]), spec, registry)
    assert isinstance(sub, Submission)
    assert sub.readable or errors(sub)


def test_hidden_rows_holding_inputs_are_read_and_reported(spec, registry, stc, stc_bytes):
    """Issue 3: a hidden row is reported, not fatal. calamine does not tell hidden rows apart: the preflight
    flags a sheet part that hides rows, and the reader names the rows that hold inputs."""
    row = layout_for(spec).cells["tong_so_may_tinh"].row
    data = patched(stc_bytes, "xl/worksheets/sheet3.xml", f'<row r="{row}" ', f'<row r="{row}" hidden="1" ')
    sub = read_bytes(data, spec, registry)
    hidden = only(sub, "LAYOUT_HIDDEN")
    assert hidden.sheet == "Hiện trạng"
    assert hidden.message("vi").startswith(f"Trang 'Hiện trạng': Hàng {row} đang bị ẩn")
    assert hidden.message("en").startswith(f"Sheet 'Hiện trạng': Row {row} is hidden")
    assert sub.values["tong_so_may_tinh"] == stc.values["tong_so_may_tinh"]
    assert "LAYOUT_HIDDEN" not in codes(read_bytes(stc_bytes, spec, registry))


def test_hidden_rows_in_an_xls_return_are_reported(spec, registry):
    """The same for Excel 97–2003: excel2003-STC.xls with the row of tong_so_may_tinh hidden before
    LibreOffice saved it (regenerate.py), so its ROW record carries fDyZero. Same values, one warning."""
    expected = json.loads((RETURNED / "excel2003-STC.json").read_text(encoding="utf-8"))
    row = layout_for(spec).cells["tong_so_may_tinh"].row
    sub = read(RETURNED / "excel2003-hidden-row-STC.xls", spec=spec, registry=registry)
    hidden = only(sub, "LAYOUT_HIDDEN")
    assert hidden.sheet == "Hiện trạng" and hidden.message("en").startswith(f"Sheet 'Hiện trạng': Row {row} is")
    assert hidden.message("vi").startswith(f"Trang 'Hiện trạng': Hàng {row} đang bị ẩn")
    assert all(sub.values[k] == pytest.approx(_from_json(v)) for k, v in expected["values"].items())
    assert "LAYOUT_HIDDEN" not in codes(read(RETURNED / "excel2003-STC.xls", spec=spec, registry=registry))


def test_hidden_rows_in_an_ods_return_are_reported(spec, registry):
    """The same for OpenOffice: a row of 'Hiện trạng' collapsed in content.xml, whose rows are counted with
    their run-length repeats. Rows hidden before it (repeated) shift nothing: the row reported is the input's."""
    target = layout_for(spec).cells["tong_so_may_tinh"].row
    data = (RETURNED / "openoffice-H-CANLOC.ods").read_bytes()
    content = h.read_member(data, "content.xml").decode("utf-8")
    start = content.index('table:name="Hiện trạng"')
    row = 0
    for tag in re.finditer(r"<table:table-row\b[^>]*>", content[start:]):
        repeated = re.search(r'table:number-rows-repeated="(\d+)"', tag.group())
        if row + 1 == target:
            at = start + tag.start() + len("<table:table-row")
            content = content[:at] + ' table:visibility="collapse"' + content[at:]
            break
        row += int(repeated.group(1)) if repeated else 1
    sub = read_bytes(h.rebuild(data, replace={"content.xml": content.encode("utf-8")}), spec, registry,
                     name="openoffice-H-CANLOC.ods")
    hidden = only(sub, "LAYOUT_HIDDEN")
    assert hidden.sheet == "Hiện trạng" and hidden.message("en").startswith(f"Sheet 'Hiện trạng': Row {target} is")
    assert "LAYOUT_HIDDEN" not in codes(read(RETURNED / "openoffice-H-CANLOC.ods", spec=spec, registry=registry))


@given(st.sampled_from(["int", "dec", "money", "pct", "year"]),
       st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(0, 3000).map(float),
                 st.sampled_from([1.0, 0.5, 2008.0, 999.0, 10000.0, -0.0])))
def test_the_fast_path_for_float_cells_types_them_as_the_long_way_does(kind, raw):
    """read_label_sheet and project_row skip typing a float when _plain_number gives its value: it must be
    what typing gives, and only when typing raises nothing."""
    from pipeline.intake.read import _NUMBER_OPTIONS, _plain_number
    from pipeline.normalize import parse_number, parse_year

    fast = _plain_number(kind, raw)
    if fast is not None:
        slow = parse_year(raw) if kind == "year" else parse_number(raw, **_NUMBER_OPTIONS[kind])
        assert slow.ok and not slow.notes and slow.value == fast and type(slow.value) is type(fast)


def test_a_number_cell_of_5000_digits_is_not_a_number_regression(spec, registry, stc_bytes):
    """Defect: int() raises past 4,300 digits (Python's guard), which made such a cell an internal error and
    quarantined the whole return instead of naming the cell."""
    cell = layout_for(spec).cells["tong_so_may_tinh"]

    def scribble(book: openpyxl.Workbook) -> None:
        book["Hiện trạng"][cell.a1].value = "9" * 5000

    sub = read_bytes(edited(stc_bytes, scribble), spec, registry)
    assert sub.readable and "SYS_INTERNAL_ERROR" not in codes(sub)
    not_a_number = only(sub, "VALUE_NOT_NUMBER")
    assert not_a_number.cell == cell.a1 and f'"{"9" * 79}…"' in not_a_number.message("vi")  # cut for reading


def test_odd_numbers_in_the_files_markup_are_ignored_regression():
    """Defect: attribute numbers were read with isdigit() + int(), which raise on '²' and on 5,000 digits, and
    a cell format without numFmtId (optional in OOXML) raised KeyError when a percent cell was looked up."""
    from pipeline.intake.markup import Ooxml as _Ooxml
    from pipeline.intake.markup import _attr_int, _ods_count

    assert [_attr_int(v) for v in ("12", "²", "9" * 5000, "", None, "-3")] == [12, None, None, None, None, None]
    assert [_ods_count(v) for v in ("3", "0", "²", "9" * 5000, None)] == [3, 1, 1, 1, 1]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("xl/workbook.xml", '<workbook><sheets><sheet name="S" r:id="rId1"/></sheets></workbook>')
        package.writestr("xl/_rels/workbook.xml.rels",
                         '<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>')
        package.writestr("xl/styles.xml", '<styleSheet><cellXfs count="2"><xf fontId="0"/><xf numFmtId="9"/>'
                                          '</cellXfs></styleSheet>')
        package.writestr("xl/worksheets/sheet1.xml", '<worksheet><sheetData><row r="²" hidden="1"/>'
                         '<row r="5" hidden="1"><c r="D5" s="1"><v>1</v></c><c r="E5"><v>1</v></c></row>'
                         '</sheetData></worksheet>')
    ooxml = _Ooxml(buffer.getvalue())
    assert ooxml.is_percent_cell("S", "D5") and not ooxml.is_percent_cell("S", "E5")
    assert ooxml.hidden_rows("S") == {5}


def test_a_date_cell_calamine_cannot_convert_names_its_sheet_regression(spec, registry, stc_bytes):
    """Defect: calamine panics on a date-formatted cell holding a huge negative number, and a Rust panic is a
    BaseException, which escaped read() and would have stopped the batch. Now the sheet is named."""
    cell = layout_for(spec).cells["ngay_lap"]
    sheet = spec.sheet_name(spec.fields["ngay_lap"].sheet)

    def scribble(book: openpyxl.Workbook) -> None:
        book[sheet][cell.a1].value = -1e308

    sub = read_bytes(edited(stc_bytes, scribble), spec, registry)
    assert not sub.readable and sub.agency_code == "STC"
    unreadable = only(sub, "LAYOUT_SHEET_UNREADABLE")
    assert unreadable.sheet == sheet and unreadable.message("vi").startswith(f"Trang '{sheet}': Có ô")


def test_project_totals_past_the_largest_float_are_no_value_regression(spec, registry, stc_bytes):
    """Defect: math.fsum raises OverflowError on 1e308 + 1e308, an internal error for the whole return."""
    first = layout_for(spec).table.first_row
    column = next(i for i, c in enumerate(spec.table.columns) if c.id == "tong_kinh_phi")

    def scribble(book: openpyxl.Workbook) -> None:
        projects = book[spec.sheet_name(spec.table.sheet)]
        for row in (first, first + 1):
            projects.cell(row, column + 1).value = 1e308

    sub = read_bytes(edited(stc_bytes, scribble), spec, registry)
    assert sub.readable and "SYS_INTERNAL_ERROR" not in codes(sub)
    assert sub.values[spec.table.totals["tong_kinh_phi"]] is None


HOSTILE_VALUES = [
    "9" * 5000, "²", "٣٤", "1e400", "inf", "nan", "-0", "(((1)))", "1.2.3,4,5", "%%%", "30/02/2008", "31/12/99999",
    "0/0/0", "Có Không", "\u202e1", "Ð" * 50, "Sè m¸y tÝnh", "x" * 32000, "=1+1", 1e20, -1e308, 1e308, -5, 0.0,
    dt.datetime(1900, 1, 1), dt.datetime(9999, 12, 31), True, False, " ", "12,500", "1.500,5", "(1.234)", "85 %",
    "khoảng 50", "-", "không", "✓", "2008.0", "năm 2008", "2008-2010", 2008.5, 10**15, "1,5 tỷ", "\ufeff12",
    "1\u00a0200", "12\u200b3", "０１２", "Ⅻ", "½", "--5", "+5", "5e3", "0x10", "1_000",
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_hostile_values_in_any_input_cell_are_reported_never_an_internal_error(spec, registry, stc_bytes, data):
    """Whatever an agency types (or a tool writes) into the form's input cells and project rows: read() and
    the validation name the cells, and nothing raises or becomes SYS_INTERNAL_ERROR. (Fuzzing this way found
    a calamine panic and two overflows, see the regression tests above.)"""
    from pipeline.validation.validate import validate_batch

    layout = layout_for(spec)
    inputs = sorted((spec.sheet_name(spec.fields[f].sheet), ref.a1) for f, ref in layout.cells.items()
                    if spec.fields[f].is_input)
    table_sheet = spec.sheet_name(next(s.id for s in spec.sheets if s.table is not None))
    projects = [(table_sheet, f"{string.ascii_uppercase[c]}{r}")
                for r in range(layout.table.first_row, layout.table.first_row + 4) for c in range(20)]
    chosen = data.draw(st.lists(st.tuples(st.sampled_from(inputs + projects), st.sampled_from(HOSTILE_VALUES)),
                                min_size=1, max_size=8))

    def scribble(book: openpyxl.Workbook) -> None:
        for (sheet, ref), value in chosen:
            book[sheet][ref].value = value

    sub = read_bytes(edited(stc_bytes, scribble), spec, registry)
    verdict = validate_batch([sub], spec)[0]
    assert "SYS_INTERNAL_ERROR" not in codes(sub) + [i.code for i in verdict.issues], chosen
    assert all(i.message("vi") and i.message("en") for i in [*sub.issues, *verdict.issues])
