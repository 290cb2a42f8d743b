"""Workbooks other programs save that calamine once refused: .ods re-saved by gnumeric, flat ODF (.fods) and
Excel 2003 XML Spreadsheet (.xml). Real files in tests/data/returned/ (regenerate_odf_xml.py); the markup
cases below are what Excel 2003 writes that LibreOffice's filter does not (a hidden sheet, rich text, a cell
comment, skipped cells and rows), and hostile versions of both XML formats."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.intake import odf, spreadsheetml
from pipeline.intake.preflight import DEFAULT_LIMITS, check_file
from pipeline.intake.read import read

RETURNED = Path(__file__).parents[1] / "data" / "returned"
CLEAN = {
    "gnumeric-odf-extended-was-corrupt-STP.ods": "ods",
    "gnumeric-odf-strict-was-corrupt-SXD.ods": "ods",
    "libreoffice-fods-was-not-a-spreadsheet-SNV.fods": "fods",
    "libreoffice-xml2003-was-not-a-spreadsheet-SGTVT.xml": "xml",
}
EDITED = ("gnumeric-odf-extended-hidden-row-merged-STP.ods", "libreoffice-fods-hidden-row-merged-SNV.fods",
          "libreoffice-xml2003-hidden-row-merged-SGTVT.xml")
SS = 'xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"'


def codes(sub) -> list[str]:
    return [i.code for i in sub.issues]


def xml_workbook(body: str, *, prolog: str = '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n') -> bytes:
    return f'{prolog}<Workbook {SS} xmlns:x="urn:schemas-microsoft-com:office:excel" ' \
           f'xmlns:html="http://www.w3.org/TR/REC-html40">{body}</Workbook>\n'.encode()


def fods(body: str = "", *, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> bytes:
    return (f'{prolog}<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3" '
            f'office:mimetype="application/vnd.oasis.opendocument.spreadsheet"><office:body><office:spreadsheet>'
            f'{body}</office:spreadsheet></office:body></office:document>\n').encode()


# --------------------------------------------------------------------------------------------------
# The real files: what each program wrote is recognised, and what calamine refused in it
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "fmt"), CLEAN.items())
def test_other_programs_files_pass_the_preflight_as_their_format(name, fmt):
    checked = check_file((RETURNED / name).read_bytes(), name)
    assert checked.ok and checked.format == fmt and checked.issues == ()
    assert not checked.hidden_rows or fmt == "xml"  # .xml: the parsed workbook is asked


def test_gnumeric_indentation_was_what_calamine_refused():
    """calamine takes nothing but cells between a row's tags: gnumeric's indentation was the one fault."""
    import io
    import zipfile

    from python_calamine import CalamineError, CalamineWorkbook

    path = RETURNED / "gnumeric-odf-strict-was-corrupt-SXD.ods"
    with pytest.raises(CalamineError, match="Expecting 'table-cell', found 'Text"):
        CalamineWorkbook.from_path(str(path))
    copy = check_file(path.read_bytes(), path.name).unpacked  # what the reader hands calamine
    original, edited = (zipfile.ZipFile(io.BytesIO(d)) for d in (path.read_bytes(), copy))
    assert sorted(original.namelist()) == sorted(edited.namelist())
    for name in original.namelist():
        expected = original.read(name)
        assert edited.read(name) == (odf.without_indentation(expected) if name == "content.xml" else expected)
    assert edited.read("content.xml") != original.read("content.xml")
    assert CalamineWorkbook.from_filelike(io.BytesIO(copy)).sheet_names[:2] == ["Hướng dẫn", "Thông tin chung"]


def test_indentation_inside_a_paragraph_is_kept():
    """A space between two spans of a cell's text is text; indentation between cells and rows is not."""
    markup = (b'<table:table-row>\n  <table:table-cell office:value-type="string">\n    '
              b'<text:p><text:span>B\xc3\xa1o</text:span> <text:span>c\xc3\xa1o</text:span></text:p>\n  '
              b'</table:table-cell>\n</table:table-row>')
    assert odf.without_indentation(markup) == (
        b'<table:table-row><table:table-cell office:value-type="string">'
        b'<text:p><text:span>B\xc3\xa1o</text:span> <text:span>c\xc3\xa1o</text:span></text:p>'
        b'</table:table-cell></table:table-row>')
    one_line = b"<table:table-row><table:table-cell/></table:table-row>"
    assert odf.without_indentation(one_line) is one_line  # LibreOffice's .ods: nothing copied


@pytest.mark.parametrize("name", EDITED)
def test_hidden_rows_and_merged_inputs_are_still_reported(spec, registry, name):
    """The row of 'Tổng số máy tính' (row 9) hidden, the cell of 'Số máy chủ' (D11) merged with E11, each
    saved by the program the file name gives: both reported at their place, as in .xlsx."""
    sub = read(RETURNED / name, spec=spec, registry=registry)
    assert sub.readable
    merged = [i for i in sub.issues if i.code == "LAYOUT_MERGED"]
    hidden = [i for i in sub.issues if i.code == "LAYOUT_HIDDEN"]
    assert [(i.sheet, i.cell, i.context["ref"]) for i in merged] == [("Hiện trạng", "D11", "D11:E11")]
    assert [(i.sheet, i.context["what_en"]) for i in hidden] == [("Hiện trạng", "Row 9")]
    assert sub.values["tong_so_may_tinh"] is not None  # a hidden row's figures are still read


@pytest.mark.parametrize("name", CLEAN)
def test_the_clean_files_carry_no_layout_issue(spec, registry, name):
    sub = read(RETURNED / name, spec=spec, registry=registry)
    assert codes(sub) == ["FILE_LEGACY_FORMAT"]
    assert sub.issues[0].context["format"].startswith(f".{CLEAN[name]} (")


# --------------------------------------------------------------------------------------------------
# SpreadsheetML as Excel 2003 writes it
# --------------------------------------------------------------------------------------------------


def test_cells_follow_index_merges_and_spans():
    book = spreadsheetml.Workbook(xml_workbook(
        '<Worksheet ss:Name="A"><Table ss:ExpandedColumnCount="9" ss:ExpandedRowCount="9">'
        '<Row><Cell ss:MergeAcross="1"><Data ss:Type="String">Tiêu đề</Data></Cell>'
        '<Cell><Data ss:Type="Number">3.5</Data></Cell></Row>'  # after a 2-wide merge: column C
        '<Row ss:Index="3" ss:Span="1" ss:Hidden="1"><Cell ss:Index="2"><Data ss:Type="Number">7</Data></Cell></Row>'
        '<Row><Cell ss:StyleID="s1"/><Cell ss:Formula="=R[-1]C*2"><Data ss:Type="Number">14</Data></Cell>'
        '<Cell><Data ss:Type="DateTime">2007-06-30T00:00:00.000</Data></Cell>'
        '<Cell><Data ss:Type="DateTime">2007-06-30T08:30:00.000</Data></Cell>'
        '<Cell><Data ss:Type="Boolean">1</Data></Cell><Cell><Data ss:Type="Error">#DIV/0!</Data></Cell></Row>'
        "</Table></Worksheet>"))
    sheet = book.get_sheet_by_name("A")
    assert sheet.to_python(skip_empty_area=False) == [
        ["Tiêu đề", "", 3.5, "", "", ""],
        ["", "", "", "", "", ""],
        ["", 7.0, "", "", "", ""],
        ["", 7.0, "", "", "", ""],  # ss:Span="1": one more row like it
        ["", 14.0, dt.date(2007, 6, 30), dt.datetime(2007, 6, 30, 8, 30), True, "#DIV/0!"],
    ]
    assert sheet.to_python(skip_empty_area=False, nrows=2) == [["Tiêu đề", "", 3.5, "", "", ""], [""] * 6]
    assert sheet.merged_cell_ranges == [((0, 0), (0, 1))]
    assert book.hidden_rows("A", {2, 3, 4, 5}) == {3, 4}


def test_hidden_sheets_rich_text_and_comments():
    book = spreadsheetml.Workbook(xml_workbook(
        '<Worksheet ss:Name="Hiện trạng"><Table><Row><Cell>'
        '<ss:Data ss:Type="String" xmlns="http://www.w3.org/TR/REC-html40"><B>Số</B> liệu&#10;2007</ss:Data>'
        '<Comment ss:Author="Kế toán"><ss:Data xmlns="http://www.w3.org/TR/REC-html40">Xem lại</ss:Data></Comment>'
        "</Cell></Row></Table></Worksheet>"
        '<Worksheet ss:Name="_meta"><Table/><WorksheetOptions xmlns="urn:schemas-microsoft-com:office:excel">'
        "<Visible>SheetVeryHidden</Visible></WorksheetOptions></Worksheet>"))
    from python_calamine import SheetVisibleEnum

    assert book.sheet_names == ["Hiện trạng", "_meta"]
    assert [m.visible for m in book.sheets_metadata] == [SheetVisibleEnum.Visible, SheetVisibleEnum.VeryHidden]
    assert book.get_sheet_by_name("Hiện trạng").to_python() == [["Số liệu\n2007"]]  # the comment is not the value
    assert book.get_sheet_by_name("_meta").to_python() == []


@pytest.mark.parametrize(("body", "reason"), [
    ('<Worksheet ss:Name="A"><Table><Row><Cell>', "XML: mismatched tag, line 3"),
    ('<Worksheet ss:Name="A"><Table><Row ss:Index="5"/><Row ss:Index="2"/></Table></Worksheet>',
     "XML: Row ss:Index='2'"),
    ('<Worksheet ss:Name="A"><Table><Row><Cell ss:Index="16385"/></Row></Table></Worksheet>',
     "XML: Cell ss:Index='16385'"),
    ('<Worksheet ss:Name="A"><Table><Row ss:Index="-1"/></Table></Worksheet>', "XML: number '-1'"),
    ('<Worksheet ss:Name="A"/><Worksheet ss:Name="A"/>', "XML: worksheet name 'A'"),
])  # fmt: skip
def test_malformed_spreadsheetml_is_corrupt_with_its_reason(body, reason):
    with pytest.raises(spreadsheetml.Refused) as refused:
        spreadsheetml.Workbook(xml_workbook(body))
    assert (refused.value.code, refused.value.context) == ("FILE_CORRUPT", {"reason": reason})


def test_a_number_that_is_not_finite_is_kept_as_text_for_the_reader_to_report():
    book = spreadsheetml.Workbook(xml_workbook(
        '<Worksheet ss:Name="A"><Table><Row><Cell><Data ss:Type="Number">NaN</Data></Cell>'
        '<Cell><Data ss:Type="Number">1.500</Data></Cell></Row></Table></Worksheet>'))
    assert book.get_sheet_by_name("A").to_python() == [["NaN", 1.5]]


# --------------------------------------------------------------------------------------------------
# Hostile XML workbooks: refused before (or while) parsing, with their clear messages
# --------------------------------------------------------------------------------------------------

_LAUGHS = ('<!DOCTYPE Workbook [<!ENTITY a "hahahahahahahahahaha">'
           + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
           + "]>\n")
_XXE = '<!DOCTYPE Workbook [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
_CELL = '<Worksheet ss:Name="A"><Table><Row><Cell><Data ss:Type="String">&i;</Data></Cell></Row></Table></Worksheet>'


@pytest.mark.parametrize(("make", "name"), [
    (lambda: xml_workbook(_CELL, prolog=f'<?xml version="1.0"?>\n{_LAUGHS}'), "bao_cao.xml"),  # billion laughs
    (lambda: xml_workbook(_CELL.replace("&i;", "&x;"), prolog=f'<?xml version="1.0"?>\n{_XXE}'), "bao_cao.xml"),
    (lambda: xml_workbook(_CELL, prolog=f'<?xml version="1.0"?>\n<!--{"x" * 10_000}-->\n{_LAUGHS}'), "bao_cao.xml"),
    (lambda: fods('<table:table table:name="A"/>', prolog=f'<?xml version="1.0"?>\n{_LAUGHS}'), "bao_cao.fods"),
    (lambda: fods('<table:table table:name="A"/>', prolog=f'<?xml version="1.0"?>\n{_XXE}'), "bao_cao.fods"),
    (lambda: fods(f'<!--{"x" * 10_000}--><table:table table:name="A"/>').replace(b"<office:body>", _XXE.encode()),
     "bao_cao.fods"),  # not in the prolog, past the head: malformed for XML, still refused by name
], ids=["xml-billion-laughs", "xml-xxe", "xml-doctype-after-long-comment", "fods-billion-laughs", "fods-xxe",
        "fods-doctype-in-body"])  # fmt: skip
def test_entity_declarations_are_refused(make, name):
    checked = check_file(make(), name)
    assert [i.code for i in checked.issues] == ["FILE_XML_ENTITIES"] and not checked.ok
    assert checked.issues[0].context["part"] == name
    assert "DOCTYPE/ENTITY" in checked.issues[0].message("vi") and name in checked.issues[0].message("en")


def test_expat_refuses_a_declaration_the_preflight_did_not_see():
    """Defence in depth: the parser itself refuses any DTD (here UTF-16, which the byte search cannot see)."""
    data = xml_workbook(_CELL, prolog=f'<?xml version="1.0" encoding="UTF-16"?>\n{_LAUGHS}').decode().encode("utf-16")
    with pytest.raises(spreadsheetml.Refused) as refused:
        spreadsheetml.Workbook(data, name="bao_cao.xml")
    assert (refused.value.code, refused.value.context) == ("FILE_XML_ENTITIES", {"part": "bao_cao.xml"})


@pytest.mark.parametrize("make", [lambda: xml_workbook(_CELL), lambda: fods('<table:table table:name="A"/>')],
                         ids=["xml", "fods"])
def test_a_huge_xml_workbook_is_refused_unread(make):
    data = make()
    huge = data.replace(b"?>\n", b"?>\n" + b" " * (DEFAULT_LIMITS.max_file_bytes - len(data) + 1), 1)
    checked = check_file(huge, "bao_cao.xml")
    assert [i.code for i in checked.issues] == ["FILE_TOO_LARGE"]
    assert "25 MB" in checked.issues[0].message("en")


def test_a_sheet_that_spreads_its_cells_too_far_is_a_dimension_bomb(spec, registry):
    """A few bytes that would make the reader lay out 100,000 rows × 16,384 columns: judged by the real
    cells, as every other format's sheets are, and refused with the sheet's name and area."""
    data = xml_workbook('<Worksheet ss:Name="Hiện trạng"><Table><Row><Cell ss:Index="16384"><Data ss:Type="String">x'
                        '</Data></Cell></Row><Row ss:Index="900"><Cell><Data ss:Type="Number">1</Data></Cell></Row>'
                        "</Table></Worksheet>")
    sub = read(data, name="bao_cao.xml", spec=spec, registry=registry)
    assert codes(sub) == ["FILE_LEGACY_FORMAT", "FILE_DIMENSION_BOMB"] and not sub.readable
    bomb = sub.issues[1]
    assert bomb.context == {"sheet": "Hiện trạng", "ref": "A1:XFD900"}
    assert "Hiện trạng" in bomb.message("vi") and "A1:XFD900" in bomb.message("en")
    spanned = xml_workbook('<Worksheet ss:Name="A"><Table><Row ss:Span="200000"><Cell><Data ss:Type="Number">1'
                           "</Data></Cell></Row></Table></Worksheet>")
    with pytest.raises(spreadsheetml.Refused, match="FILE_DIMENSION_BOMB"):
        spreadsheetml.Workbook(spanned)


def test_an_unrelated_xml_or_flat_text_document_is_still_not_a_spreadsheet():
    text_document = fods().replace(b"spreadsheet", b"text")
    for data, kind in ((b'<?xml version="1.0"?>\n<note><to>STC</to></note>', "XML"), (text_document, "XML")):
        checked = check_file(data, "bao_cao.xml")
        assert [i.code for i in checked.issues] == ["FILE_NOT_SPREADSHEET"]
        assert checked.issues[0].context["kind"] == kind


def test_flat_odf_basic_macros_are_flagged_never_run():
    data = fods('<table:table table:name="A"/>').replace(
        b"<office:body>", b'<office:scripts><office:script script:language="ooo:Basic"><ooo:libraries>'
        b'<ooo:library-embedded ooo:name="Standard"><ooo:module ooo:name="Module1"><ooo:source-code>'
        b"Sub Main\nEnd Sub</ooo:source-code></ooo:module></ooo:library-embedded></ooo:libraries></office:script>"
        b"</office:scripts><office:body>")
    checked = check_file(data, "bao_cao.fods")
    assert checked.ok and checked.has_macros and [i.code for i in checked.issues] == ["FILE_MACROS"]
