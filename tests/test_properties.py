"""Properties of the whole pipeline (hypothesis): returns written as agencies would, consolidated for real.

- Totals: the summary's province totals and the exported indicators equal sums computed here, from the
  generated values of the returns the ledger counted; which returns count is predicted independently (a
  return counts iff none of its injected mistakes is an error). Running twice changes nothing.
- Order: the same returns consolidated in any processing order, in one run or several, give the same
  summary data (up to submission ids), and superseding keeps exactly one counted return per agency: the
  newest accepted one by (received time, sha256).
- Text: anything an agency can type (any Unicode, leading = + - @, URLs, 40,000 characters) reaches the
  summary as plain text: no formula, no hyperlink, readable (visibly cut at Excel's 32,767 characters).

Each example runs real consolidations (about 1–2 s), so example counts are small and deadlines off.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import random
import re
import shutil
import string
import tempfile
import unicodedata
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest
from faultkit import RECEIVED, inbox_files, ledger_invariant, snapshot, summary_data, write_return
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import pipeline.run as run
from pipeline.form.sample import make_sample
from pipeline.form.template import build_workbook, template_file_name
from pipeline.record.ledger import Ledger
from pipeline.report.consolidate import KEY_MEASURES
from pipeline.report.xlsx import MAX_CELL, TRUNCATED, safe_text
from pipeline.run import Paths, consolidate, summary_name

# End-to-end examples take 1–4 s each: few of them, a fixed (derandomized) set so CI is repeatable, and no
# shrinking (it would take minutes; the strategies are small enough to read a failing example as it is).
E2E = settings(max_examples=8, deadline=None, derandomize=True, phases=(Phase.explicit, Phase.generate),
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NUMERIC = {"int", "dec", "money", "pct"}
TOTAL_ROW = "TOÀN TỈNH"


def paths_in(root: Path) -> Paths:
    return Paths(root / "inbox", root / "out", root / "state" / "ledger.sqlite")


def counted_rows(paths: Paths) -> list[dict]:
    with Ledger(paths.db) as ledger:
        return [r for r in ledger.submissions() if r["counted"]]


def has_error(sample) -> bool:
    return any(m.severity == "error" for m in sample.mistakes)


def numeric_fields(spec) -> list[str]:
    return [f.id for f in spec.fields.values() if f.type in NUMERIC or (f.type == "computed" and f.formula)]


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def province_row(summary: Path) -> tuple[list, list, list]:
    """Headers, the TOÀN TỈNH row and its n/m row of the "Chỉ tiêu theo đơn vị" sheet."""
    book = openpyxl.load_workbook(summary, read_only=True)
    try:
        rows = list(book["Chỉ tiêu theo đơn vị"].iter_rows(values_only=True))
    finally:
        book.close()
    header = next(r for r in rows if r[0] == "STT")
    at = next(i for i, r in enumerate(rows) if r[1] == TOTAL_ROW)
    return list(header), list(rows[at]), list(rows[at + 1])


# --- totals --------------------------------------------------------------------------------------------

returns_mix = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 10**6), st.sampled_from([0, 0, 1, 2])),
    min_size=1, max_size=6, unique_by=lambda r: r[0])


@E2E
@given(mix=returns_mix)
def test_totals_are_the_sums_of_the_counted_returns(spec, registry, mix):
    with tempfile.TemporaryDirectory() as tmp:
        paths = paths_in(Path(tmp))
        samples = {}
        for i, (index, seed, mistakes) in enumerate(mix):
            agency = registry.of_round(spec).agencies[index]
            _, sample = write_return(paths.inbox, spec, agency, seed=seed, mistakes=mistakes,
                                     received=RECEIVED + dt.timedelta(minutes=i))
            samples[agency.code] = sample
        consolidate(paths, spec, registry)

        counted = {r["agency_code"] for r in counted_rows(paths)}
        assert counted == {code for code, s in samples.items() if not has_error(s)}
        values = [samples[code].values for code in counted]

        # The exported indicators: one row per counted return, each numeric column sums as generated.
        exported = csv_rows(paths.out / "data" / "indicators.csv")
        assert sorted(r["agency"] for r in exported) == sorted(counted)
        for field_id in numeric_fields(spec):
            expected = sum(v[field_id] for v in values if v.get(field_id) is not None)
            got = sum(float(r[field_id]) for r in exported if r[field_id] != "")
            assert close(got, expected), field_id

        # The summary workbook's province row: sums, "Có" counts, ratios of sums, coverage n/41.
        header, total, coverage = province_row(paths.out / summary_name(spec))
        for column, measure in enumerate(KEY_MEASURES, start=3):
            present = [v for v in values if v.get(measure) is not None] if measure in spec.fields else values
            if measure in spec.fields:
                f = spec.fields[measure]
                assert str(header[column]).startswith(f.vi), (header[column], f.vi)
                expected = (sum(1 for v in present if v[measure] is True) if f.type == "bool"
                            else sum(v[measure] for v in present))
                assert coverage[column] == f"{len(present)}/{len(registry.of_round(spec).agencies)}", measure
            elif measure == "tl_may_tren_cbcc":
                both = [v for v in values if v.get("tong_so_may_tinh") is not None and v.get("tong_so_cbccvc")]
                staff = sum(v["tong_so_cbccvc"] for v in both)
                expected = sum(v["tong_so_may_tinh"] for v in both) / staff if staff else None
            else:
                continue
            if not present or expected is None:
                assert total[column] is None, measure
            else:
                assert close(float(total[column]), expected), measure

        # Running again changes nothing: no new row anywhere, the same bytes out.
        before_out, before_ledger = snapshot(paths.out), _ledger_dump(paths)
        again = consolidate(paths, spec, registry)
        assert again.counts["unchanged"] == len(mix) and again.counts["received"] == 0
        assert snapshot(paths.out) == before_out
        assert _ledger_dump(paths) == before_ledger
        ledger_invariant(paths)


def _ledger_dump(paths: Paths) -> dict[str, list]:
    with Ledger(paths.db) as ledger:
        return {t: ledger.rows(f"SELECT * FROM {t} ORDER BY 1, 2") for t in ("submissions", "receipts", "projects",
                                                                            "issues")}


# --- order of arrival, superseding ----------------------------------------------------------------------

arrivals = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 10**6), st.sampled_from([0, 0, 1]), st.integers(0, 2)),
    min_size=2, max_size=6, unique_by=lambda r: r[1])


@E2E
@given(batch=arrivals, order=st.randoms(use_true_random=False), runs=st.integers(1, 3))
def test_processing_order_does_not_change_the_summary(spec, registry, batch, order, runs):
    """Up to four agencies, several returns each (resends), received at times that may tie. One run over
    all files in name order, against the same files processed in a shuffled order, arriving over 1–3 runs."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source, samples = root / "files", {}
        for k, (index, seed, mistakes, hour) in enumerate(batch):
            agency = registry.of_round(spec).agencies[index]
            path, sample = write_return(source, spec, agency, seed=seed, mistakes=mistakes,
                                        name=f"{agency.code} lan {k}.xlsx", received=RECEIVED + dt.timedelta(hours=hour))
            samples[path.name] = sample
        files = sorted(source.iterdir(), key=lambda p: p.name)

        reference = paths_in(root / "reference")
        shutil.copytree(source, reference.inbox)
        consolidate(reference, spec, registry)

        shuffled = paths_in(root / "shuffled")
        shuffled.inbox.mkdir(parents=True)
        arrival = order.sample(files, len(files))
        cuts = sorted(order.sample(range(1, len(files)), min(runs - 1, len(files) - 1)))
        real_listing = run.list_inbox
        with pytest.MonkeyPatch.context() as m:  # every run processes its files in a random order
            m.setattr(run, "list_inbox", lambda inbox: order.sample(real_listing(inbox), len(real_listing(inbox))))
            for a, b in zip([0, *cuts], [*cuts, len(files)], strict=True):
                for p in arrival[a:b]:
                    shutil.copy2(p, shuffled.inbox / p.name)
                consolidate(shuffled, spec, registry)

        for paths in (reference, shuffled):
            ledger_invariant(paths)
        got, expected = (summary_data(p.out / summary_name(spec), p.out / "data", by_content=True)
                         for p in (shuffled, reference))
        assert got == expected

        # Superseding: per agency exactly one counted return iff one is accepted — the newest accepted by
        # (received time, sha256); predicted here from the injected mistakes and the files' times.
        for paths in (reference, shuffled):
            counted = {r["agency_code"]: r for r in counted_rows(paths)}
            received = {(h, n): p for (h, n), p in inbox_files(paths.inbox).items()}
            by_agency: dict[str, list] = {}
            for (digest, name), p in received.items():
                if not has_error(samples[name]):
                    stamp = dt.datetime.fromtimestamp(p.stat().st_mtime).isoformat(timespec="seconds")
                    by_agency.setdefault(samples[name].agency.code, []).append((stamp, digest, name))
            assert set(counted) == set(by_agency)
            for code, candidates in by_agency.items():
                assert counted[code]["file_name"] == max(candidates)[2], code


# --- agency text ----------------------------------------------------------------------------------------

FORMULA_LIKE = st.sampled_from([
    "=1+1", "=HYPERLINK(\"http://evil.example/x\",\"Bấm vào đây\")", "+84 39 3855 123", "-2+3", "@SUM(A1:A9)",
    "=cmd|' /C calc'!A0", "http://hatinh.gov.vn/", "https://evil.example/?q=1&r=2", "mailto:a@b.vn",
    "external:C:\\Windows\\win.ini", "ftp://x.y/z", "\t=1", "\r=2", "=" * 5, "www.example.com",
])
BENIGN = st.text(alphabet=string.ascii_letters + string.digits + string.punctuation + " "
                 + "ăâđêôơưĂÂĐÊÔƠƯáàảãạấầẩẫậếềểễệốồổỗộớờởỡợứừửữựíìỉĩịúùủũụýỳỷỹỵ", min_size=1, max_size=200)
agency_text = st.one_of(
    FORMULA_LIKE,
    st.tuples(st.sampled_from("=+-@"), BENIGN).map("".join),
    BENIGN,
    st.text(min_size=1, max_size=300),  # any Unicode (no surrogates), controls and all
    st.tuples(st.sampled_from(["=", "", "http://x.vn/"]), st.sampled_from("Aầ😀 "), st.integers(32_768, 40_000))
      .map(lambda t: t[0] + t[1] * t[2]),  # longer than a cell can hold
)
TEXT_FIELDS = ("ds_csdl_ung_dung", "so_hieu_van_ban")  # a narrative ("text") and a short text ("str")
_PLACEHOLDER = "ICTPLAN-PLACEHOLDER-{}"


def workbook_with_text(spec, agency, texts: dict[str, str]) -> bytes:
    """A valid return whose text fields hold `texts` exactly as Excel would store them: written as
    placeholders, then replaced in the shared strings, so even 40,000 characters (more than Excel and
    xlsxwriter write) reach the file."""
    sample = make_sample(spec, agency, random.Random(f"text/{agency.code}"))
    values = dict(sample.values) | {f: _PLACEHOLDER.format(i) for i, f in enumerate(texts)}
    data = build_workbook(spec, agency=agency, values=values, projects=sample.projects, tables=sample.tables)
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = source.read(item)
            if item.filename == "xl/sharedStrings.xml":
                text = body.decode("utf-8")
                for i, value in enumerate(texts.values()):
                    assert _PLACEHOLDER.format(i) in text
                    text = text.replace(_PLACEHOLDER.format(i), _xml_text(value))
                body = text.encode("utf-8")
            target.writestr(item, body)
    return out.getvalue()


def _xml_text(value: str) -> str:
    """How a spreadsheet stores text in XML: escaped, control characters as _xHHHH_ (ECMA-376)."""
    value = value.replace("_x", "_x005F_x")
    value = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", lambda m: f"_x{ord(m.group()):04X}_", value)
    return escape(value)


def _sheet_parts(summary: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(summary) as z:
        return {n: z.read(n) for n in z.namelist()}


@settings(E2E, max_examples=12)
@given(narrative=agency_text, reference=agency_text)
def test_agency_text_reaches_the_summary_as_plain_text(spec, registry, narrative, reference):
    agency = registry.get("STC")
    texts = dict(zip(TEXT_FIELDS, (narrative, reference), strict=True))
    with tempfile.TemporaryDirectory() as tmp:
        paths = paths_in(Path(tmp))
        paths.inbox.mkdir(parents=True)
        (paths.inbox / template_file_name(spec, agency.code)).write_bytes(workbook_with_text(spec, agency, texts))
        report = consolidate(paths, spec, registry)  # no crash
        assert [f.status for f in report.files] in (["accepted"], ["accepted_with_warnings"]), report.files[0].issues
        summary = paths.out / summary_name(spec)

        # No formula and no link came from the agency: the summary has no formula cells at all, no
        # hyperlinks, no external links.
        parts = _sheet_parts(summary)
        for name, body in parts.items():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in body and b"<f " not in body, name
                assert b"<hyperlink" not in body, name
            assert b"relationships/hyperlink" not in body and b"externalLink" not in body, name

        # Readable: the narrative sheet shows what the ledger recorded (as text, cut visibly if too long);
        # plain text an agency typed is recorded as typed (spaces collapsed by the reader's clean-up).
        with Ledger(paths.db) as ledger:
            recorded = json.loads(ledger.submissions()[0]["values_json"])
        book = openpyxl.load_workbook(summary, read_only=True)
        try:
            shown = [r[3] for r in book["Thuyết minh"].iter_rows(values_only=True)
                     if r[2] and "Liệt kê các ứng dụng" in str(r[2])]
        finally:
            book.close()
        stored = recorded.get("ds_csdl_ung_dung")
        if stored is None:  # only invisible characters typed: nothing to show
            assert shown == []
        else:
            assert shown == [safe_text(stored)] and isinstance(shown[0], str)
            assert len(shown[0].encode("utf-16-le")) // 2 <= MAX_CELL
        for field_id, typed in texts.items():
            plain = set(typed) <= set(string.printable + "ăâđêôơưĂÂĐÊÔƠƯáàảãạấầẩẫậếềểễệốồổỗộớờởỡợứừửữựíìỉĩịúùủũụýỳỷỹỵ")
            if plain and not set(typed) & set("\t\r\n\x0b\x0c") and typed.strip():
                expected = unicodedata.normalize("NFC", " ".join(typed.split()))
                assert recorded.get(field_id) == expected, field_id
        if len(narrative) > MAX_CELL and stored:
            assert shown[0].endswith(TRUNCATED["vi"])
            assert shown[0].startswith(stored[:1000])


@pytest.mark.parametrize("text", ["=1+1", "=HYPERLINK(\"http://evil.example\",\"x\")", "@SUM(A1)", "-2+3",
                                  "+84 39 3855 123"])
def test_formula_like_text_keeps_its_quote_prefix_style(spec, registry, tmp_path, text):
    """Excel must not turn the text into a formula if someone edits the cell: it is written with the
    quote-prefix style (reliability notes §6.5)."""
    agency = registry.get("STC")
    paths = paths_in(tmp_path)
    paths.inbox.mkdir(parents=True)
    (paths.inbox / "STC.xlsx").write_bytes(workbook_with_text(spec, agency, {"ds_csdl_ung_dung": text}))
    consolidate(paths, spec, registry)
    book = openpyxl.load_workbook(paths.out / summary_name(spec))
    cells = [c for row in book["Thuyết minh"].iter_rows() for c in row if c.value == text]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)
    assert all(c.hyperlink is None for c in cells)
