"""Preflight: every threat category of the reliability notes, normal files, and properties over any bytes."""

from __future__ import annotations

import io
import logging
import math
import os
import re
import string
import struct
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hostile as h
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.intake import ole, preflight
from pipeline.intake.preflight import DEFAULT_LIMITS, Limits, Preflight, check_file, check_path
from pipeline.issues import CATALOGUE, Severity

RETURNED = Path(__file__).parents[1] / "data" / "returned"
REGRESSIONS = Path(__file__).parents[1] / "data" / "regressions"

# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def codes(result: Preflight) -> list[str]:
    return [i.code for i in result.issues]


def only_error(result: Preflight) -> dict[str, Any]:
    """The single ERROR issue's context (preflight stops at the first error)."""
    errors = [i for i in result.issues if i.severity is Severity.ERROR]
    assert len(errors) == 1, result.issues
    return errors[0].context


def template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def assert_messages_complete(result: Preflight) -> None:
    """Every placeholder of the catalogue message is filled from the issue's context, in both languages."""
    for item in result.issues:
        detail = CATALOGUE[item.code]
        assert item.code.startswith("FILE_")
        for template in (detail.vi, detail.en):
            missing = template_fields(template) - set(item.context)
            assert not missing, (item.code, missing)


@dataclass(frozen=True)
class Case:
    make: Any  # () -> bytes
    name: str
    code: str
    format: str | None
    context: dict[str, Any]


# --------------------------------------------------------------------------------------------------
# One case per threat category: exact code, format and ok flag
# --------------------------------------------------------------------------------------------------

REFUSED = [
    # empty, truncated, corrupt
    Case(h.empty, "bao_cao.xlsx", "FILE_EMPTY", None, {}),
    Case(h.empty_zip, "bao_cao.xlsx", "FILE_CORRUPT", None, {"reason": "empty zip"}),
    Case(h.truncated_xlsx, "bao_cao.xlsx", "FILE_CORRUPT", None, {"reason": "zip"}),
    Case(h.bad_crc, "bao_cao.xlsx", "FILE_CORRUPT", "xlsx", {"reason": "xl/sharedStrings.xml: CRC"}),
    Case(h.truncated_xls, "bao_cao.xls", "FILE_CORRUPT", None, {"reason": "ole"}),
    Case(h.bzip2_member, "bao_cao.xlsx", "FILE_CORRUPT", "xlsx",
         {"reason": "xl/sharedStrings.xml: compression method 12"}),
    # not a workbook, whatever the name says
    Case(h.html_as_xlsx, "bao_cao.xlsx", "FILE_NOT_SPREADSHEET", None, {"kind": "HTML"}),
    Case(h.csv_as_xls, "bao_cao.xls", "FILE_NOT_SPREADSHEET", None, {"kind": "CSV/text"}),
    Case(h.legacy_csv, "bao_cao.xls", "FILE_NOT_SPREADSHEET", None, {"kind": "CSV/text"}),
    Case(h.unicode_text, "bao_cao.xls", "FILE_NOT_SPREADSHEET", None, {"kind": "CSV/text"}),
    Case(h.plain_zip, "bao_cao.xlsx", "FILE_NOT_SPREADSHEET", None, {"kind": "ZIP"}),
    Case(h.docx, "bao_cao.docx", "FILE_NOT_SPREADSHEET", None, {"kind": "Word .docx"}),
    Case(h.word_doc, "bao_cao.doc", "FILE_NOT_SPREADSHEET", None, {"kind": "Word .doc"}),
    Case(h.word_doc_with_embedded_sheet, "bao_cao.xls", "FILE_NOT_SPREADSHEET", None, {"kind": "Word .doc"}),
    Case(h.pdf, "bao_cao.pdf", "FILE_NOT_SPREADSHEET", None, {"kind": "PDF"}),
    Case(h.jpeg, "scan.jpg", "FILE_NOT_SPREADSHEET", None, {"kind": "JPEG image"}),
    # encrypted: OOXML in an OLE container, BIFF FILEPASS, ZIP flag, ODF manifest
    Case(h.ole_encrypted_xlsx, "bao_cao.xlsx", "FILE_ENCRYPTED", None, {}),
    Case(h.xls_with_filepass, "bao_cao.xls", "FILE_ENCRYPTED", "xls", {}),
    Case(h.zip_encrypted_member, "bao_cao.xlsx", "FILE_ENCRYPTED", "xlsx", {}),
    Case(h.ods_encrypted, "bao_cao.ods", "FILE_ENCRYPTED", "ods", {}),
    # bombs and lies
    Case(h.ratio_bomb, "bao_cao.xlsx", "FILE_ZIP_BOMB", "xlsx",
         {"reason": re.compile(r"xl/sharedStrings\.xml: \d+:1")}),  # ~1000:1, zlib-version dependent
    Case(h.lying_sizes, "bao_cao.xlsx", "FILE_ZIP_BOMB", "xlsx",
         {"reason": "xl/sharedStrings.xml: more data than declared"}),
    Case(h.overlapping_members, "bao_cao.xlsx", "FILE_ZIP_BOMB", "xlsx", {"reason": "overlapping parts"}),
    Case(h.member_flood, "bao_cao.xlsx", "FILE_ZIP_BOMB", None, {"reason": "2001 parts, limit 2000"}),
    Case(h.dimension_bomb, "bao_cao.xlsx", "FILE_DIMENSION_BOMB", "xlsx",
         {"sheet": "xl/worksheets/sheet1.xml", "ref": "A1:XFD1048576"}),
    Case(h.renamed_dimension_bomb, "bao_cao.xlsx", "FILE_DIMENSION_BOMB", "xlsx",
         {"sheet": "xl/data/s1.bin", "ref": "A1:XFD1048576"}),
    # XML entities
    Case(h.renamed_xxe, "bao_cao.xlsx", "FILE_XML_ENTITIES", "xlsx", {"part": "xl/data/s1.bin"}),
    Case(h.billion_laughs, "bao_cao.xlsx", "FILE_XML_ENTITIES", "xlsx", {"part": "xl/sharedStrings.xml"}),
    Case(h.xxe, "bao_cao.xlsx", "FILE_XML_ENTITIES", "xlsx", {"part": "xl/worksheets/sheet1.xml"}),
    Case(h.doctype_after_long_comment, "bao_cao.xlsx", "FILE_XML_ENTITIES", "xlsx",
         {"part": "xl/sharedStrings.xml"}),
    Case(h.utf16_doctype, "bao_cao.xlsx", "FILE_XML_ENTITIES", "xlsx", {"part": "xl/sharedStrings.xml"}),
    # parser differentials
    Case(h.duplicate_members, "bao_cao.xlsx", "FILE_DUPLICATE_PARTS", "xlsx",
         {"part": "xl/worksheets/sheet1.xml"}),
    Case(h.case_duplicate_members, "bao_cao.xlsx", "FILE_DUPLICATE_PARTS", "xlsx",
         {"part": "XL/Worksheets/Sheet1.xml"}),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.make.__name__)
def test_refused(case: Case) -> None:
    result = check_file(case.make(), case.name)
    assert codes(result) == [case.code]
    context = only_error(result)
    assert context.keys() - {"kind_vi", "kind_en"} == case.context.keys()
    for key, expected in case.context.items():
        if isinstance(expected, re.Pattern):
            assert expected.fullmatch(context[key]), context[key]
        else:
            assert context[key] == expected
    assert result.format == case.format
    assert result.ok is False
    assert result.skip is False
    assert result.has_macros is False
    assert result.issues[0].file == case.name
    assert_messages_complete(result)


def test_corrupt_deflate_names_the_damaged_part() -> None:
    result = check_file(h.corrupt_deflate(), "bao_cao.xlsx")
    assert codes(result) == ["FILE_CORRUPT"]
    assert only_error(result)["reason"] in {
        "xl/worksheets/sheet1.xml: deflate",
        "xl/worksheets/sheet1.xml: CRC",
    }
    assert result.format == "xlsx" and not result.ok


# --------------------------------------------------------------------------------------------------
# Normal files
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "fmt"),
    [(h.real_xlsx, "xlsx"), (h.renamed_sheet, "xlsx"), (h.real_ods, "ods"), (h.real_xls, "xls"),
     (h.small_xls, "xls"), (h.xml_spreadsheet_2003, "xml")],
    ids=["xlsx", "xlsx-renamed-sheet", "ods", "xls", "xls-mini-stream", "xml-spreadsheet-2003"],
)  # fmt: skip
def test_normal_files_are_ok(make: Any, fmt: str) -> None:
    result = check_file(make(), f"bao_cao.{fmt}")
    assert result == Preflight(format=fmt, skip=False, issues=(), has_macros=False)
    assert result.ok


@pytest.mark.parametrize(
    "make",
    [h.real_xlsm, h.disguised_vba_xlsx, h.macro_content_type_xlsx, h.ods_with_macros,
     lambda: h.real_xls(macros=True)],
    ids=["xlsm", "vba-disguised-as-xlsx", "macro-content-type", "ods-basic", "xls-vba"],
)  # fmt: skip
def test_macros_are_a_warning_and_still_ok(make: Any) -> None:
    result = check_file(make(), "bao_cao.xlsx")
    assert result.ok
    assert result.has_macros
    assert codes(result) == ["FILE_MACROS"]
    assert result.issues[0].severity is Severity.WARNING
    assert result.format in {"xlsm", "ods", "xls"}


def test_vba_in_xlsx_is_reported_as_xlsm() -> None:
    assert check_file(h.disguised_vba_xlsx(), "bao_cao.xlsx").format == "xlsm"
    assert check_file(h.real_xlsm(), "bao_cao.xlsm").format == "xlsm"


def test_fixtures_are_real_for_an_independent_reader() -> None:
    """The 'real' cases open in python-calamine, so a refused case is refused for its one flaw only."""
    from python_calamine import CalamineWorkbook

    for make in (
        h.real_xlsx, h.real_xlsm, h.disguised_vba_xlsx, h.renamed_sheet, h.real_ods, h.real_xls, h.small_xls,
        h.big_xls,
    ):  # fmt: skip
        book = CalamineWorkbook.from_filelike(io.BytesIO(make()))
        first = book.get_sheet_by_name(book.sheet_names[0]).to_python()
        assert first, make.__name__
    assert CalamineWorkbook.from_filelike(io.BytesIO(h.real_xls())).get_sheet_by_index(0).to_python() == [
        [42.0]
    ]


@pytest.mark.parametrize(
    ("make", "name", "fmt"),
    [
        (h.real_xlsx, "bao_cao.xls", "xlsx"),
        (h.real_xlsx, "bao_cao.pdf", "xlsx"),
        (h.real_xlsx, "bao_cao", "xlsx"),
        (h.real_ods, "bao_cao.xlsx", "ods"),
        (h.real_xls, "bao_cao.xlsx", "xls"),
    ],
)
def test_format_comes_from_the_bytes_not_the_name(make: Any, name: str, fmt: str) -> None:
    result = check_file(make(), name)
    assert (result.format, result.ok) == (fmt, True)


# --------------------------------------------------------------------------------------------------
# Name rules
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["~$bao_cao.xlsx", "inbox/~$bao_cao.xlsx", "C:\\hop thu\\~$Bao cao.xlsx"])
def test_office_owner_file_is_skipped(name: str) -> None:
    result = check_file(h.owner_file(), name)
    assert result.skip and not result.ok and result.format is None
    assert codes(result) == ["FILE_OWNER_LOCK"]
    assert result.issues[0].severity is Severity.INFO
    assert result.issues[0].context == {"name": name.replace("\\", "/").rsplit("/", 1)[-1]}
    assert_messages_complete(result)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        (".DS_Store", "hidden file"),
        ("._bao_cao.xlsx", "hidden file"),
        ("~WRL0001.tmp", "temporary file"),
        ("4F2A1B3C.TMP", "temporary file"),
        ("Thumbs.db", "Windows thumbnail cache"),
        ("desktop.ini", "Windows folder settings"),
        ("manifest.json", "JSON"),
        ("ghi chu.md", "text notes"),
    ],
)
def test_non_returns_are_skipped_by_name(name: str, kind: str) -> None:
    result = check_file(h.real_xlsx(), name)  # even workbook bytes: the name says it is not a return
    assert result.skip and not result.ok
    assert codes(result) == ["FILE_SKIPPED"]
    assert result.issues[0].context["name"] == name
    assert result.issues[0].context["kind_en"] == kind
    assert result.issues[0].context["kind_vi"] != kind or kind == "JSON"
    assert result.issues[0].severity is Severity.INFO
    assert_messages_complete(result)


def test_owner_file_bytes_under_a_normal_name_are_not_a_workbook() -> None:
    result = check_file(h.owner_file(), "bao_cao.xlsx")
    assert not result.skip
    assert codes(result) == ["FILE_NOT_SPREADSHEET"]


# --------------------------------------------------------------------------------------------------
# Size limits, bombs at default and at small limits
# --------------------------------------------------------------------------------------------------


def test_file_over_the_size_limit() -> None:
    data = b"PK\x03\x04" + b"\x00" * (25 * preflight.MiB - 3)  # 25 MiB + 1 byte
    result = check_file(data, "bao_cao.xlsx")
    assert codes(result) == ["FILE_TOO_LARGE"]
    assert only_error(result) == {"size_mb": 25.1, "limit_mb": 25.0}
    assert "25.1 MB, limit 25 MB" in result.issues[0].message("en")


def test_65_mib_part_is_refused_from_the_directory_without_decompressing(monkeypatch: Any) -> None:
    streamed: list[str] = []
    original = preflight._member_chunks

    def spy(part: Any) -> Any:
        streamed.append(part.key)
        return original(part)

    monkeypatch.setattr(preflight, "_member_chunks", spy)
    data = h.big_part_bomb()
    started = time.perf_counter()
    result = check_file(data, "bao_cao.xlsx")
    elapsed = time.perf_counter() - started
    assert codes(result) == ["FILE_ZIP_BOMB"]
    assert only_error(result) == {"reason": "xl/sharedStrings.xml: 65 MB"}
    assert result.format == "xlsx"
    assert "xl/sharedStrings.xml" not in streamed
    assert elapsed < 1.0  # decompressing 65 MiB would take far longer


def _sizes(data: bytes) -> dict[str, int]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: info.file_size for info in archive.infolist()}


def test_small_part_limit() -> None:
    data = h.real_xlsx()
    sheet = _sizes(data)["xl/worksheets/sheet1.xml"]
    result = check_file(data, "bao_cao.xlsx", limits=Limits(max_part_uncompressed=sheet - 1))
    assert codes(result) == ["FILE_ZIP_BOMB"]
    assert only_error(result) == {
        "reason": f"xl/worksheets/sheet1.xml: {math.ceil(sheet / 1048.576) / 1000} MB"
    }
    assert check_file(data, "bao_cao.xlsx", limits=Limits(max_part_uncompressed=sheet)).ok


def test_small_total_limit() -> None:
    data = h.real_xlsx()
    total = sum(_sizes(data).values())
    result = check_file(data, "bao_cao.xlsx", limits=Limits(max_total_uncompressed=total - 1))
    assert codes(result) == ["FILE_ZIP_BOMB"]
    assert only_error(result)["reason"].startswith("total ")
    assert check_file(data, "bao_cao.xlsx", limits=Limits(max_total_uncompressed=total)).ok


def test_small_member_limit() -> None:
    data = h.real_xlsx()
    count = len(_sizes(data))
    result = check_file(data, "bao_cao.xlsx", limits=Limits(max_members=count - 1))
    assert codes(result) == ["FILE_ZIP_BOMB"]
    assert only_error(result) == {"reason": f"{count} parts, limit {count - 1}"}
    assert check_file(data, "bao_cao.xlsx", limits=Limits(max_members=count)).ok


def test_small_file_limit() -> None:
    result = check_file(h.real_xlsx(), "bao_cao.xlsx", limits=Limits(max_file_bytes=1000))
    assert codes(result) == ["FILE_TOO_LARGE"]
    assert only_error(result)["limit_mb"] == 0.001


def test_non_ascii_member_names() -> None:
    """Names flagged UTF-8 (as zipfile and Excel write 'ảnh chụp.png') match their local header."""
    data = h.rebuild(h.real_xlsx(), add=[("xl/media/ảnh chụp.png", h.jpeg())])
    assert check_file(data, "bao_cao.xlsx").ok
    renamed = data.replace("ảnh chụp".encode(), "ảnh chụt".encode(), 1)  # the local header only
    assert codes(check_file(renamed, "bao_cao.xlsx")) == ["FILE_CORRUPT"]


def test_ratio_is_only_judged_for_parts_over_one_mib() -> None:
    """A small part may compress 500:1 (an empty sheet full of one style); only large parts are bombs."""
    small = h.rebuild(h.real_xlsx(), replace={"xl/sharedStrings.xml": b"<sst>" + b"a" * 500_000 + b"</sst>"})
    assert check_file(small, "bao_cao.xlsx").ok


@pytest.mark.parametrize(
    ("ref", "ok"),
    [
        (b"A1:XFD1048576", False),  # the whole grid
        (b"A1:B200000", False),  # too many rows
        (b"A1:ZZ9000", False),  # 702 × 9000 = 6.3 M cells
        (b"XFD1048576", True),  # a single cell, even far away
        (b"A1:Z5000", True),
        (b"not-a-ref", True),  # left to the reader, which resets dimensions anyway
    ],
)
def test_dimension_limits(ref: bytes, ok: bool) -> None:
    result = check_file(h.dimension_bomb(ref), "bao_cao.xlsx")
    assert result.ok is ok
    assert codes(result) == ([] if ok else ["FILE_DIMENSION_BOMB"])


def _declared_down_to_the_last_row(ref: bytes, last_rows: bytes) -> bytes:
    """The real little workbook's first sheet declaring `ref`, with `last_rows` added at the end of its data."""
    sheet = h.read_member(h.dimension_bomb(ref), "xl/worksheets/sheet1.xml")
    sheet = sheet.replace(b"</sheetData>", last_rows + b"</sheetData>", 1)
    return h.rebuild(h.real_xlsx(), replace={"xl/worksheets/sheet1.xml": sheet})


@pytest.mark.parametrize(
    ("ref", "last_rows", "ok"),
    [
        # LibreOffice after a row was deleted: an empty last row, the sheet declared down to it
        (b"A1:E1048576", b'<row r="1048576" customFormat="false" ht="12.8"></row>', True),
        (b"A1:E1048576", b'<row r="1048576"><c r="E1048576" s="1"/></row>', True),  # formatted, empty
        # a real bomb: content at the far end (calamine would allocate the rows in between)
        (b"A1:E1048576", b'<row r="1048576"><c r="E1048576"><v>1</v></c></row>', False),
        (b"A1:XFD1000", b'<row r="1000"><c r="XFD1000" t="inlineStr"><is><t>x</t></is></c></row>', False),
        # the declared area reached by no row or cell: a lie, refused as before
        (b"A1:XFD1048576", b'<row r="1048576"></row>', False),
        (b"A1:E1048576", b'<row r="90000"></row>', False),
        # rows or cells that do not say where they are
        (b"A1:E1048576", b'<row r="1048576"></row><row><c><v>1</v></c></row>', False),
    ],
    ids=["libreoffice-empty-row", "formatted-blank", "value-far-down", "value-far-right", "grid-not-reached",
         "rows-not-reached", "no-references"],
)
def test_an_oversized_dimension_is_judged_on_the_sheets_own_cells(ref: bytes, last_rows: bytes, ok: bool) -> None:
    result = check_file(_declared_down_to_the_last_row(ref, last_rows), "bao_cao.xlsx")
    assert result.ok is ok
    assert codes(result) == ([] if ok else ["FILE_DIMENSION_BOMB"])
    if not ok:
        assert only_error(result) == {"sheet": "xl/worksheets/sheet1.xml", "ref": ref.decode()}


@pytest.mark.parametrize("name", ["libreoffice-deleted-table-row-SCN.xlsx", "libreoffice-deleted-spacer-row-STMDL.xlsx"])
def test_sheets_libreoffice_declares_down_to_the_last_row_are_read(name: str) -> None:
    data = (REGRESSIONS / name).read_bytes()
    assert re.search(rb'<dimension ref="A1:[A-Z]+1048576"/>', b"".join(
        h.read_member(data, n) for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.startswith("xl/worksheets/")))
    result = check_file(data, name)
    assert result.ok and result.issues == () and result.unpacked is not None


@pytest.mark.parametrize(("rows", "columns", "empty", "ok"), [
    (6000, 16000, False, False),  # 96 million cells of one repeated value: 12 GB in calamine before the guard
    (1048575, 16384, False, False),  # past calamine's own ceiling too
    (3, 2_000_000, False, False),  # one very wide row
    (1048575, 1024, True, True),  # LibreOffice's blank tail of every sheet
    (200, 20, False, True),  # a filled range of a real return
])
def test_ods_repeated_cells_bomb_is_refused_before_parsing(rows: int, columns: int, empty: bool, ok: bool) -> None:
    """Defect: an .ods of 1 KB asking for a value repeated over 6,000 × 16,000 cells took 81 s and 12 GB to
    read. The cells with content are counted with their repeats, and the area they span, before calamine."""
    result = check_file(h.ods_repeated_cells(rows, columns, empty=empty), "bao_cao.ods")
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["FILE_DIMENSION_BOMB"] and only_error(result)["sheet"] == "Hiện trạng"


def test_dimension_limits_are_configurable() -> None:
    result = check_file(h.real_xlsx(), "bao_cao.xlsx", limits=Limits(max_dimension_cells=100))
    assert codes(result) == ["FILE_DIMENSION_BOMB"]
    assert only_error(result) == {"sheet": "xl/worksheets/sheet1.xml", "ref": "A1:E80"}


_SST = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>x</t></si></sst>'


@pytest.mark.parametrize(
    ("prolog", "ok"),
    [
        (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n', True),
        (
            b'<?xml version="1.0"?>\n<!-- written by hand -->\n<?mso-application progid="Excel.Sheet"?>\n',
            True,
        ),
        (b'\xef\xbb\xbf<?xml version="1.0"?>', True),  # UTF-8 BOM
        (b'<?xml version="1.0"?>\n<!doctype sst>\n', False),  # any spelling
        (b'<?xml version="1.0"?><!ENTITY a "b">', False),
        (b'<?xml version="1.0"?>\n<!-- ' + b"x" * 5000 + b" -->\n", False),  # prolog longer than the head
    ],
    ids=["declaration", "comment-and-pi", "bom", "lowercase-doctype", "bare-entity", "long-prolog"],
)
def test_xml_prolog_rules(prolog: bytes, ok: bool) -> None:
    data = h.rebuild(h.real_xlsx(), replace={"xl/sharedStrings.xml": prolog + _SST + b" " * 5000})
    result = check_file(data, "bao_cao.xlsx")
    assert result.ok is ok
    assert codes(result) == ([] if ok else ["FILE_XML_ENTITIES"])


# --------------------------------------------------------------------------------------------------
# check_path
# --------------------------------------------------------------------------------------------------


def test_check_path_reads_the_file(tmp_path: Any) -> None:
    path = tmp_path / "Sở Tư pháp.xlsx"
    path.write_bytes(h.real_xlsx())
    assert check_path(path) == check_file(h.real_xlsx(), "Sở Tư pháp.xlsx")


def test_check_path_reports_the_real_size_without_reading_it(tmp_path: Any) -> None:
    path = tmp_path / "anh_chup.xlsx"
    with open(path, "wb") as handle:
        handle.truncate(26 * preflight.MiB)  # sparse: no 26 MiB written or read
    result = check_path(path)
    assert codes(result) == ["FILE_TOO_LARGE"]
    assert only_error(result) == {"size_mb": 26.0, "limit_mb": 25.0}
    assert result.issues[0].file == "anh_chup.xlsx"  # base name only: no server path in feedback


def test_check_path_missing_and_unreadable(tmp_path: Any) -> None:
    gone = check_path(tmp_path / "da_xoa.xlsx")
    assert codes(gone) == ["FILE_VANISHED"] and not gone.ok
    folder = check_path(tmp_path)
    assert codes(folder) == ["FILE_UNREADABLE"] and not folder.ok
    assert only_error(folder) == {"reason": "IsADirectoryError"}
    assert str(tmp_path) not in folder.issues[0].message("en")


def test_check_path_applies_the_name_rules_without_opening(tmp_path: Any) -> None:
    result = check_path(tmp_path / "~$bao_cao.xlsx")  # does not even exist: never opened
    assert result.skip and codes(result) == ["FILE_OWNER_LOCK"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_check_path_permission_denied(tmp_path: Any) -> None:  # pragma: no cover - CI runs as root
    path = tmp_path / "khoa.xlsx"
    path.write_bytes(h.real_xlsx())
    path.chmod(0)
    assert only_error(check_path(path)) == {"reason": "PermissionError"}


# --------------------------------------------------------------------------------------------------
# Robustness: nothing escapes, for any bytes
# --------------------------------------------------------------------------------------------------


def test_unexpected_failure_becomes_file_corrupt(monkeypatch: Any, caplog: Any) -> None:
    def boom(*args: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(preflight, "_classify_zip", boom)
    with caplog.at_level(logging.WARNING, logger="pipeline.intake.preflight"):
        result = check_file(h.real_xlsx(), "bao_cao.xlsx")
    assert codes(result) == ["FILE_CORRUPT"]
    assert only_error(result) == {"reason": "structure"}
    assert not result.ok
    assert "bao_cao.xlsx" in caplog.text and "RuntimeError" in caplog.text


_MAGICS = [
    b"",
    b"PK\x03\x04",
    b"PK\x05\x06",
    preflight._OLE_MAGIC,
    b"<html>",
    b"<?xml",
    b"%PDF-",
    b"\xef\xbb\xbf",
]


def _assert_well_formed(result: Preflight) -> None:
    assert isinstance(result, Preflight)
    assert result.ok == (
        result.format is not None and all(i.severity is not Severity.ERROR for i in result.issues)
    )
    assert result.format in {None, "xlsx", "xlsm", "xls", "ods", "fods", "xml"}
    assert_messages_complete(result)


@settings(max_examples=400, deadline=None)
@given(prefix=st.sampled_from(_MAGICS), body=st.binary(max_size=3000), name=st.text(max_size=30))
def test_arbitrary_bytes_never_raise(prefix: bytes, body: bytes, name: str) -> None:
    _assert_well_formed(check_file(prefix + body, name))


_XLSX = h.real_xlsx(rows=12)
_XLS = h.real_xls()
_ODS = h.real_ods()


def _structure_offsets(data: bytes) -> list[int]:
    """Where the headers are: mutations there exercise the parsing paths, not just the CRC check."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        offsets = [info.header_offset for info in archive.infolist()] + [archive.start_dir]
    return [*offsets, *h.central_entries(data).values(), data.rfind(b"PK\x05\x06")]


def _mutations(data: bytes, hot: list[int]) -> st.SearchStrategy[bytes]:
    position = st.one_of(
        st.integers(0, len(data) - 1),
        st.sampled_from(hot).flatmap(lambda o: st.integers(o, min(o + 46, len(data) - 1))),
    )
    edit = st.tuples(position, st.integers(0, 255))

    def apply(edits: list[tuple[int, int]], cut: int) -> bytes:
        out = bytearray(data)
        for offset, value in edits:
            out[offset] = value
        return bytes(out[: max(cut, 1)])

    return st.builds(apply, st.lists(edit, min_size=1, max_size=6), st.integers(len(data) // 2, len(data)))


def _zipfile_reads_everything(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        for info in archive.infolist():
            archive.read(info)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_mutations(_XLSX, _structure_offsets(_XLSX)))
def test_mutated_xlsx_never_raises_and_ok_means_zipfile_can_read_it(data: bytes) -> None:
    result = check_file(data, "bao_cao.xlsx")
    _assert_well_formed(result)
    if result.ok:  # preflight is at least as strict as zipfile: no 'ok' file fails in the reader's unzip
        _zipfile_reads_everything(data)


@settings(max_examples=150, deadline=None)
@given(data=_mutations(_ODS, _structure_offsets(_ODS)))
def test_mutated_ods_never_raises(data: bytes) -> None:
    result = check_file(data, "bao_cao.ods")
    _assert_well_formed(result)
    if result.ok:
        _zipfile_reads_everything(data)


@settings(max_examples=300, deadline=None)
@given(data=_mutations(_XLS, [0, 0x2C, 0x4C, 512, 1024, 1536, len(_XLS) - 512]))
def test_mutated_xls_never_raises(data: bytes) -> None:
    _assert_well_formed(check_file(data, "bao_cao.xls"))


def test_ole_mini_stream_lies_are_cheap() -> None:
    """A 4 GB 'Workbook' declared under a 4 GB cutoff, with a mini chain that loops: refused at once."""
    data = bytearray(h.small_xls())
    dir_start, minifat_start = (
        struct.unpack_from("<I", data, 0x30)[0],
        struct.unpack_from("<I", data, 0x3C)[0],
    )
    struct.pack_into("<I", data, 0x38, 0xFFFFFFFF)  # mini stream cutoff
    struct.pack_into("<Q", data, (dir_start + 1) * 512 + 128 + 0x78, 0xFFFFFFF0)  # entry 1 (Workbook) size
    struct.pack_into("<I", data, (minifat_start + 1) * 512, 0)  # mini sector 0 → 0
    started = time.perf_counter()
    result = check_file(bytes(data), "bao_cao.xls")
    assert time.perf_counter() - started < 0.5
    assert codes(result) == ["FILE_CORRUPT"] and only_error(result) == {"reason": "ole"}


def test_large_xls_with_difat_sectors() -> None:
    """Over ~6.9 MB the FAT's sectors no longer fit in the header: the DIFAT chain is followed."""
    data = h.big_xls()
    assert struct.unpack_from("<I", data, 0x48)[0] >= 1  # the file does use DIFAT sectors
    assert check_file(data, "bao_cao.xls") == Preflight("xls", False, (), False)
    cut = check_file(data[: len(data) * 3 // 4], "bao_cao.xls")
    assert codes(cut) == ["FILE_CORRUPT"] and only_error(cut) == {"reason": "ole"}


def test_ole_chain_loop_is_corrupt_not_a_hang() -> None:
    """A FAT entry pointing at itself would make a naive chain walk loop forever."""
    data = bytearray(h.real_xls())
    fat_sector = struct.unpack_from("<I", data, 0x4C)[0]
    dir_start = struct.unpack_from("<I", data, 0x30)[0]
    struct.pack_into("<I", data, (fat_sector + 1) * 512 + 4 * dir_start, dir_start)
    result = check_file(bytes(data), "bao_cao.xls")
    assert codes(result) == ["FILE_CORRUPT"] and only_error(result) == {"reason": "ole"}


# --------------------------------------------------------------------------------------------------
# Cost: it runs on every file
# --------------------------------------------------------------------------------------------------


def test_normal_return_is_cheap() -> None:
    """A loose regression guard (the measured figure is well under 1 ms; CI machines are noisy)."""
    data = h.real_xlsx(rows=300)
    check_file(data, "bao_cao.xlsx")
    runs = []
    for _ in range(30):
        started = time.perf_counter()
        check_file(data, "bao_cao.xlsx")
        runs.append(time.perf_counter() - started)
    assert sorted(runs)[len(runs) // 2] < 0.01
    assert DEFAULT_LIMITS.max_file_bytes == 25 * preflight.MiB


@pytest.mark.parametrize("make,fmt", [(h.real_xlsx, "xlsx"), (h.real_ods, "ods")])
def test_the_parser_gets_the_same_parts_uncompressed(make: Any, fmt: str) -> None:
    """The checked parts, stored: every member with the original's name and bytes, none inflated again."""
    data = make()
    unpacked = check_file(data, f"bao_cao.{fmt}").unpacked
    assert unpacked is not None
    original, stored = zipfile.ZipFile(io.BytesIO(data)), zipfile.ZipFile(io.BytesIO(unpacked))
    assert stored.testzip() is None
    assert [i.filename for i in stored.infolist()] == [i.filename for i in original.infolist()]
    assert all(i.compress_type == zipfile.ZIP_STORED for i in stored.infolist())
    assert all(stored.read(name) == original.read(name) for name in original.namelist()
               if name != "xl/workbook.xml")


def test_the_parsers_copy_has_no_defined_names() -> None:
    """calamine would parse a name for every input cell of the template; the reader finds cells by `_meta`."""
    import xlsxwriter

    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer) as book:
        book.add_worksheet("Hiện trạng").write("D5", 12)
        book.define_name("so_may_tinh", "='Hiện trạng'!$D$5")
    data = buffer.getvalue()
    unpacked = check_file(data, "bao_cao.xlsx").unpacked
    assert unpacked is not None
    stored = zipfile.ZipFile(io.BytesIO(unpacked))
    assert stored.testzip() is None
    assert b"so_may_tinh" in h.read_member(data, "xl/workbook.xml")
    assert b"definedName" not in stored.read("xl/workbook.xml")
    assert '<sheet name="Hiện trạng"'.encode() in stored.read("xl/workbook.xml")


def test_a_part_too_large_to_inflate_at_once_leaves_the_original_to_the_parser() -> None:
    sheet = h.read_member(h.real_xlsx(), "xl/worksheets/sheet1.xml")
    big = sheet.replace(b"</worksheet>", b"<!--" + os.urandom(preflight.MiB).hex().encode() + b"--></worksheet>")
    result = check_file(h.rebuild(h.real_xlsx(), replace={"xl/worksheets/sheet1.xml": big}), "bao_cao.xlsx")
    assert result.ok and result.unpacked is None


def test_rows_of_empty_cells_are_left_out_of_the_parsers_copy() -> None:
    """A sheet of formatted blanks (the template's 50 project rows) reaches calamine without its rows that
    hold nothing else: same values, a valid ZIP whose CRCs match the edited parts."""
    import xlsxwriter
    from python_calamine import CalamineWorkbook

    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer) as book:
        sheet, bordered = book.add_worksheet("Dự án"), book.add_format({"border": 1})
        for row in range(60):
            for col in range(10):
                if (row, col) in ((3, 2), (40, 7)):
                    sheet.write(row, col, f"ô {row},{col}", bordered)
                else:
                    sheet.write_blank(row, col, None, bordered)
    data = buffer.getvalue()
    original = h.read_member(data, "xl/worksheets/sheet1.xml")
    unpacked = check_file(data, "bao_cao.xlsx").unpacked
    assert unpacked is not None
    stored = zipfile.ZipFile(io.BytesIO(unpacked))
    assert stored.testzip() is None
    edited = stored.read("xl/worksheets/sheet1.xml")
    assert len(re.findall(rb"<c [^>]*/>", original)) == 598 and original.count(b"<row ") == 60
    assert len(re.findall(rb"<c [^>]*/>", edited)) == 18 and re.findall(rb'<row r="(\d+)"', edited) == [b"4", b"41"]

    def cells(workbook: bytes) -> list[list[Any]]:
        return CalamineWorkbook.from_filelike(io.BytesIO(workbook)).get_sheet_by_name("Dự án").to_python(skip_empty_area=False)

    assert cells(unpacked) == cells(data)
    assert cells(unpacked)[3][2] == "ô 3,2" and cells(unpacked)[40][7] == "ô 40,7"


def test_an_xls_sheet_hiding_rows_is_flagged_for_the_reader() -> None:
    """The ROW record's fDyZero, found by a search over the Workbook stream (the reader then walks it)."""
    hidden = (RETURNED / "excel2003-hidden-row-STC.xls").read_bytes()
    shown = (RETURNED / "excel2003-STC.xls").read_bytes()
    assert check_file(hidden, "bao_cao.xls").hidden_rows
    assert not check_file(shown, "bao_cao.xls").hidden_rows
    assert ole.xls_workbook_stream(shown)[:2] == b"\x09\x08"  # the BIFF8 BOF record
    assert ole.xls_workbook_stream(b"not an OLE file") == b""


def test_excel95_files_are_read_only_with_the_vietnamese_code_page() -> None:
    """Excel 5.0/95 (BIFF5/7, saved by gnumeric): text in one 8-bit code page. With windows-1258 it is the
    form's text; with 1252 the accented letters became '?' when saving, and the file is refused, saying why."""
    vietnamese = check_file((REGRESSIONS / "gnumeric-excel95-cp1258-SNV.xls").read_bytes(), "SNV.xls")
    assert vietnamese.ok and vietnamese.format == "xls" and vietnamese.excel95
    western = check_file((REGRESSIONS / "gnumeric-excel95-cp1252-STP.xls").read_bytes(), "STP.xls")
    assert codes(western) == ["FILE_EXCEL95_TEXT_LOST"] and only_error(western) == {"codepage": "1252"}
    assert western.format == "xls" and not western.ok
    assert "Excel 97–2003 (.xls)" in western.issues[0].message("vi") and "5.0/95" in western.issues[0].message("en")
    assert not check_file((RETURNED / "excel2003-STC.xls").read_bytes(), "STC.xls").excel95


def test_excel95_sheet_names_are_decoded_in_their_code_page() -> None:
    stream = ole.xls_workbook_stream((REGRESSIONS / "gnumeric-excel95-cp1258-SNV.xls").read_bytes())
    assert [name for _, name in ole._biff_sheets(stream)] == [
        "Hướng dẫn", "Thông tin chung", "Hiện trạng", "Kế hoạch", "Kế hoạch năm 2008", "Dự án",
        "Dịch vụ công trực tuyến", "_meta", "_lists"]


@given(st.lists(st.sampled_from([b"<", b"?", b">", b"!", b"-", b"--", b"<?", b"?>", b"<!--", b"-->", b" ", b"x", b"\n"]),
                max_size=30).map(b"".join))
def test_the_prolog_regex_means_up_to_the_first_end_marker(markup: bytes) -> None:
    """The unrolled pattern skips exactly what the plain definition does: whitespace, then PIs up to the first
    '?>' and comments up to the first '-->', any number of times."""
    definition = re.compile(rb"(?:\s|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
    assert preflight._PROLOG.match(markup).end() == definition.match(markup).end()
