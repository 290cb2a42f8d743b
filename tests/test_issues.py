"""The issue catalogue: every code has Vietnamese and English text, every placeholder renders, and
messages say where the problem is."""

from __future__ import annotations

import re
import string
import unicodedata

import pytest

from pipeline.issues import CATALOGUE, Severity, display_value, format_number, issue, sort_key


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_code_has_both_languages_and_renders(code):
    detail = CATALOGUE[code]
    assert detail.vi.strip() and detail.en.strip() and detail.name
    assert unicodedata.is_normalized("NFC", detail.vi)
    assert re.match(r"^[A-Z]+_[A-Z0-9_]+$", code)
    # Same placeholders in both languages, so neither message loses information.
    assert set(re.findall(r"\{(\w+)\}", detail.vi)) == set(re.findall(r"\{(\w+)\}", detail.en))
    # Missing placeholders never crash rendering.
    assert issue(code).message("vi") and issue(code).message("en")


def test_message_names_sheet_cell_and_label():
    item = issue("RULE_RANGE", sheet="Hiện trạng", cell="D7", field="tong_so_cbccvc", value=9000.0,
                 context={"min": 1, "max": 5000, "unit_vi": "người", "unit_en": "people",
                          "label_vi": "Tổng số CBCCVC", "label_en": "Total staff"})
    assert item.message("vi").startswith("Trang 'Hiện trạng', ô D7 (Tổng số CBCCVC): giá trị 9.000 nằm ngoài "
                                         "khoảng cho phép 1–5.000 người.")
    assert item.message("en").startswith("Sheet 'Hiện trạng', cell D7 (Total staff): 9,000 is outside the allowed "
                                         "range 1–5,000 people.")
    assert item.to_dict()["message_en"] == item.message("en")


def test_no_label_of_the_form_nests_brackets_in_a_location(spec):
    """A label with its own brackets ("Tổng kinh phí (triệu đồng)") is written "(Tổng kinh phí, triệu đồng)"
    after the cell, not "(Tổng kinh phí (triệu đồng))"."""
    item = issue("RULE_RANGE", sheet="Dự án", cell="K9", context={"label_vi": "Tổng kinh phí (triệu đồng)"})
    assert item.where("vi") == "Trang 'Dự án', ô K9 (Tổng kinh phí, triệu đồng)"
    labels = [f.vi for f in spec.fields.values()] + [c.vi for t in spec.tables for c in t.columns]
    assert any("(" in label for label in labels)
    for label in labels:
        where = issue("RULE_RANGE", sheet="S", cell="A1", context={"label_vi": label}).where("vi")
        assert not re.search(r"\([^()]*\(", where), where


@pytest.mark.parametrize(("value", "vi", "en"), [
    (1388.8, "1.388,8", "1,388.8"), (74200, "74.200", "74,200"), (74200.0, "74.200", "74,200"),
    (999, "999", "999"), (12.5, "12,5", "12.5"), (47.6190476, "47,619", "47.619"), (-1234.5, "-1.234,5", "-1,234.5"),
    (1234567.25, "1.234.567,25", "1,234,567.25"), (0.5, "0,5", "0.5"),
])
def test_numbers_are_written_in_the_convention_of_the_language(value, vi, en):
    assert format_number(value, "vi") == vi
    assert format_number(value, "en") == en
    assert display_value(value, "vi") == vi


NUMBER = 1388.8  # a number with thousands and decimals: "1.388,8" in Vietnamese, "1,388.8" in English


def _numeric_issue(code: str):
    """An issue of `code` whose every placeholder (and the value found) is the number 1388.8, as a stage gives
    it: numbers stay numbers until a message is written."""
    detail = CATALOGUE[code]
    names = {name for _, name, _, _ in string.Formatter().parse(detail.vi + detail.en) if name}
    return issue(code, value=NUMBER, context=dict.fromkeys(names, NUMBER))


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_message_writes_numbers_in_its_language(code):
    """The whole catalogue: a Vietnamese message never shows "1388.8", an English one shows "1,388.8"."""
    item = _numeric_issue(code)
    vi, en = item.message("vi"), item.message("en")
    placeholders = {name for _, name, _, _ in string.Formatter().parse(CATALOGUE[code].vi) if name}
    assert "1388" not in vi and "1388" not in en
    if placeholders:  # a message that shows a number shows it in its language's convention
        assert "1.388,8" in vi and "1,388.8" not in vi
        assert "1,388.8" in en and "1.388,8" not in en


def test_a_number_found_in_a_cell_is_written_per_language_after_the_ledger():
    """The ledger keeps the number, not its text: a message rendered from it follows the language too."""
    from pipeline.intake.submission import Submission
    from pipeline.record.ledger import Ledger

    found = issue("RULE_MONEY_UNIT", sheet="Hiện trạng", cell="D73", field="kp_cntt_2006", value=74200.0,
                  context={"unit_vi": "triệu đồng", "unit_en": "million VND", "max": 100000})
    with Ledger(":memory:") as ledger:
        recorded = ledger.record(submission=Submission("a.xlsx", sha256="0" * 64, agency_code="STC", round="r"),
                                 issues=[found], status="rejected", received_at="2007-09-01T00:00:00",
                                 archive_path=None, run_id=None)
        [back] = ledger.issues([recorded.submission_id])[recorded.submission_id]
    assert back.message("vi") == found.message("vi")
    assert "74.200 triệu đồng" in back.message("vi")
    assert "74,200 million VND" in back.message("en")
    assert back.to_dict()["value"] == "74200"  # the data form, for issues.csv


def test_rule_issues_render_their_own_templates():
    item = issue("R01a", severity=Severity.WARNING, context={"msg_vi": "Sai {x}", "msg_en": "Wrong {x}", "x": 3})
    assert item.message("vi") == "Sai 3"
    assert item.message("en") == "Wrong 3"


def test_errors_sort_before_warnings_then_by_row():
    items = [issue("RULE_PLAUSIBLE", sheet="A", cell="D9"), issue("RULE_RANGE", sheet="A", cell="D12"),
             issue("RULE_RANGE", sheet="A", cell="D8")]
    assert [i.cell for i in sorted(items, key=sort_key)] == ["D8", "D12", "D9"]
