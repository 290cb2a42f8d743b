"""The draft provincial report (.docx): read back with python-docx, every section there and none empty when
its data exist, the agencies' words grouped by theme with the agency named, agency text as text only,
numbers the Vietnamese way; written by consolidate and by `ictplan report` from the ledger alone."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from summary_factory import fill_computed, full_ledger, make_return, record, summary_from

from pipeline.cli import cli
from pipeline.form.sample import write_samples
from pipeline.report.bieu import all_bieu
from pipeline.report.draft_report import (
    ANNUAL_HEADING,
    CURRENT_STATE_PARTS,
    DECREE_64_ITEMS,
    PLAN_PARTS,
    PROJECTS_HEADING,
    SECTIONS,
    group_words,
    missing_fields,
    report_bytes,
    sentences,
)
from pipeline.report.frame import MOTTO, NATION, number_vi
from pipeline.report.pdf import page_count, to_pdf
from pipeline.run import Paths, consolidate, report_name

HOSTILE = '=HYPERLINK("http://evil.example/x","Bấm vào đây") http://evil.example @SUM(A1)'


@pytest.fixture(scope="module")
def round_(tmp_path_factory, spec, registry):
    """41 agencies, one missing, one rejected; two write the same sentence; one writes a formula and a link."""
    path = tmp_path_factory.mktemp("ledger") / "l.sqlite"
    ledger, data = full_ledger(path, spec, registry, skip=["H-KYANH", "SYT", "STC", "SNV", "STP"])
    record(ledger, spec, "SYT", *make_return(spec, registry.by_code["SYT"], 1), status="rejected",
           received_at="2007-09-25T10:00:00")
    shared = "Kinh phí dành cho ứng dụng CNTT hằng năm còn ít."
    for code, own in (("SNV", "Sở Nội vụ thiếu cán bộ chuyên trách."), ("STP", "Sở Tư pháp chưa có mạng LAN.")):
        values, projects = make_return(spec, registry.by_code[code], 7)
        record(ledger, spec, code, fill_computed(spec, dict(values, dg_kho_khan=f"{shared} {own}"), projects),
               projects, received_at="2007-09-28T09:00:00")
    values, projects = make_return(spec, registry.by_code["STC"], 3)
    record(ledger, spec, "STC", fill_computed(spec, dict(values, dg_ton_tai=HOSTILE), projects), projects,
           received_at="2007-09-29T09:00:00")
    summary = summary_from(ledger, spec, registry)
    data = report_bytes(summary, spec)
    yield summary, data
    ledger.close()


def paragraphs(data: bytes) -> list[str]:
    document = docx.Document(io.BytesIO(data))
    texts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            texts += [line for cell in row.cells for line in cell.text.split("\n")]
    return texts


def body(data: bytes) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]


def section_texts(data: bytes) -> dict[str, list[str]]:
    """Each section heading (I–V) → the paragraphs under it, in document order."""
    out: dict[str, list[str]] = {}
    current = None
    for text in body(data):
        if text in SECTIONS:
            current = text
            out[current] = []
        elif current is not None and text.strip():
            out[current].append(text)
    return out


def test_header_motto_and_title(round_, spec):
    _, data = round_
    texts = paragraphs(data)
    for words in ("UBND TỈNH HÀ TĨNH", "SỞ BƯU CHÍNH, VIỄN THÔNG", "Số: ……/BC-SBCVT", NATION, MOTTO,
                  "Hà Tĩnh, ngày …… tháng …… năm 2007", "BÁO CÁO", "Nơi nhận:", "GIÁM ĐỐC"):
        assert words in texts, words
    assert ("Tổng hợp thực trạng và kế hoạch ứng dụng công nghệ thông tin trong các cơ quan nhà nước tỉnh Hà Tĩnh "
            "giai đoạn 2007–2010 và năm 2008") in texts
    section = docx.Document(io.BytesIO(data)).sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)


def test_every_section_is_there_in_order_and_none_is_empty(round_, spec):
    _, data = round_
    texts = body(data)
    positions = [texts.index(heading) for heading in SECTIONS]
    assert positions == sorted(positions)
    for heading, content in section_texts(data).items():
        assert len(content) >= 3, heading
    subsections = [t for t, _ in CURRENT_STATE_PARTS] + [t for t, _, _ in PLAN_PARTS] + [PROJECTS_HEADING]
    for heading in subsections:
        assert heading in texts, heading
        following = texts[texts.index(heading) + 1]
        assert following.strip() and following not in subsections, heading
    assert not missing_fields(spec), "the report gathers fields the spec lacks"


def test_figures_carry_their_coverage_and_vietnamese_numbers(round_):
    s, data = round_
    text = "\n".join(body(data))
    staff = int(s.totals.at["__tinh__", "tong_so_cbccvc"])
    shown = f"{staff:,}".replace(",", ".")
    assert f"Tổng số cán bộ, công chức, viên chức: {shown} người (39/41 đơn vị báo cáo)" in text
    assert "Sở đã nhận được báo cáo của 40/41 cơ quan, đơn vị, trong đó 39 báo cáo hợp lệ được tổng hợp." in text
    assert "Chưa gửi báo cáo (1 đơn vị): UBND huyện Kỳ Anh." in text
    assert not re.search(r"\d,\d{3}\.\d", text)  # no 1,234.5
    assert re.search(r"\d\.\d{3},\d triệu đồng", text)  # 1.234,5 triệu đồng


def test_agencies_words_grouped_by_theme_with_the_agency_named(round_):
    s, data = round_
    text = "\n".join(body(data))
    assert "– Kinh phí dành cho ứng dụng CNTT hằng năm còn ít. (2 đơn vị: Sở Nội vụ, Sở Tư pháp)" in text
    assert "– Sở Nội vụ: Sở Nội vụ thiếu cán bộ chuyên trách." in text
    shared, own = group_words(s.narratives, "dg_kho_khan")
    assert [x.agencies for x in shared if x.text.startswith("Kinh phí dành")] == [("SNV", "STP")]
    assert sum(1 for x in own if x.agencies == ("SNV",)) == 1


def test_agency_text_is_text_never_a_field_a_link_or_a_formula(round_):
    _, data = round_
    assert HOSTILE in "\n".join(body(data))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        document = z.read("word/document.xml").decode()
        rels = z.read("word/_rels/document.xml.rels").decode()
        headers = [z.read(n).decode() for n in z.namelist() if re.fullmatch(r"word/header\d+\.xml", n)]
    assert "<w:hyperlink" not in document and "TargetMode=\"External\"" not in rels
    assert "<w:fldSimple" not in document and "<w:instrText" not in document and "<w:fldChar" not in document
    assert any(">PAGE<" in h for h in headers)  # our own page numbers, in the header only


def test_sentences_split_at_a_stop_before_a_capital():
    assert sentences("Trang http://a.gov.vn hoạt động. Năm 2007 đã cử 3 lượt; 2 máy tính.") == [
        "Trang http://a.gov.vn hoạt động.", "Năm 2007 đã cử 3 lượt;", "2 máy tính."]
    assert sentences("Một câu") == ["Một câu"]


def test_consolidate_writes_it_and_report_rewrites_it_from_the_ledger_alone(tmp_path, spec, registry):
    inbox = tmp_path / "inbox"
    write_samples(spec, registry, inbox, count=6, seed=3)
    (inbox / "manifest.json").unlink()
    paths = Paths(inbox, tmp_path / "out", tmp_path / "out" / "ledger.sqlite")
    run = consolidate(paths, spec, registry)
    draft = paths.out / report_name(spec)
    assert run.outputs["report"] == str(draft) and draft.exists()
    first = body(draft.read_bytes())
    shutil.rmtree(inbox)  # the ledger alone
    draft.unlink()
    result = CliRunner().invoke(cli, ["report", "--out", str(paths.out), "--db", str(paths.db)])
    assert result.exit_code == 0, result.output
    assert str(draft) in result.output and body(draft.read_bytes()) == first


def test_report_on_a_round_never_consolidated_says_so(tmp_path):
    result = CliRunner().invoke(cli, ["report", "--out", str(tmp_path), "--db", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 1
    assert "Không ghi được dự thảo báo cáo" in result.output and "ictplan consolidate" in result.output


def _writer_present() -> bool:
    return shutil.which("soffice") is not None and any(
        Path(p).exists() for p in ("/usr/lib/libreoffice/program/libswlo.so", "/usr/lib64/libreoffice/program/libswlo.so"))


@pytest.mark.skipif(not _writer_present(), reason="LibreOffice Writer is not installed")
def test_libreoffice_converts_it_to_a4_pages(round_, tmp_path):
    _, data = round_
    source = tmp_path / "bao_cao.docx"
    source.write_bytes(data)
    pdf = to_pdf(source)
    assert pdf is not None and page_count(pdf) >= 5


# --- what form 1.1 adds: the funding grid, the 2008 annual plan, the online services -------------------


@pytest.fixture(scope="module")
def sample_round(tmp_path_factory, spec, registry):
    """A real consolidation of 12 sample returns (tables and all, as agencies fill them)."""
    folder = tmp_path_factory.mktemp("round")
    write_samples(spec, registry, folder / "inbox", count=12, seed=5)
    (folder / "inbox" / "manifest.json").unlink()
    paths = Paths(folder / "inbox", folder / "out", folder / "out" / "ledger.sqlite")
    consolidate(paths, spec, registry)
    from pipeline.record.ledger import Ledger
    from pipeline.run import INDEX_COLUMNS, _summary_of

    with Ledger(paths.db) as ledger:
        summary = _summary_of(ledger, spec, registry, ledger.submissions(spec.round, INDEX_COLUMNS))
    return summary, (paths.out / report_name(spec)).read_bytes()


def test_bieu_03_is_the_form_s_funding_grid_by_year_source_and_kind(sample_round, spec):
    s, _ = sample_round
    grid = next(sec for sheet in spec.sheets for sec in sheet.sections if sec.grid)
    part = all_bieu(s, spec)[2].parts[0]
    assert [c.header for c in part.columns[2:2 + len(grid.grid_columns)]] == list(grid.grid_head_vi[1:])
    assert len(part.lines) == len(grid.grid)
    for (_style, values), base in zip(part.lines, grid.grid, strict=True):
        ids = [f"{base}_{k}" for k in grid.grid_columns]
        expected = [s.totals.at["__tinh__", i] for i in ids]
        assert values[2:2 + len(ids)] == pytest.approx(expected)
        assert values[2 + len(ids)] == pytest.approx(sum(expected))  # the 2008–2010 total
        assert values[-1] == f"{s.coverage.at['__tinh__', ids[0]]}/41"
    assert [style for style, _ in part.lines].count("subtotal") == 2  # investment, recurrent
    assert part.lines[-1][0] == "total"


def test_the_report_gathers_the_annual_plan_and_the_online_services(sample_round, spec):
    s, data = sample_round
    texts = body(data)
    heading = texts.index(ANNUAL_HEADING)
    plan = s.tables["kh_2008"]
    assert texts[heading + 1].startswith(f"Các đơn vị lập kế hoạch năm 2008 gồm {len(plan)} nhiệm vụ, tổng kinh phí ")
    tables = [t for t in docx.Document(io.BytesIO(data)).tables]
    cells = [[c.text for c in row.cells] for t in tables for row in t.rows]
    total = next(r for r in cells if r[1] == "TỔNG CỘNG" and r[2] == str(len(plan)))
    assert total[3] == number_vi(plan["kinh_phi"].sum(), 1, fixed=True)
    services = s.tables["dvc"]
    assert any(t.startswith(f"Lộ trình cung cấp dịch vụ công trực tuyến ({services['agency'].nunique()} đơn vị lập "
                            f"danh mục {len(services)} thủ tục)") for t in texts)
    level_2 = next(r for r in cells if r[1] == "Mức 2")
    assert level_2[2] == str(int((services["muc_hien_tai"] == 2).sum()))
    for field_id in DECREE_64_ITEMS:
        assert f"{spec.fields[field_id].vi}:" in texts, field_id
