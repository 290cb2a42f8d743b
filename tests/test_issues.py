"""The issue catalogue: every code has Vietnamese and English text, every placeholder renders, and
messages say where the problem is."""

from __future__ import annotations

import re
import unicodedata

import pytest

from pipeline.issues import CATALOGUE, Severity, issue, sort_key


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
                 context={"min": 1, "max": 5000, "unit": "người", "label_vi": "Tổng số CBCCVC",
                          "label_en": "Total staff"})
    assert item.message("vi").startswith("Trang 'Hiện trạng', ô D7 (Tổng số CBCCVC): giá trị 9000 ")
    assert item.message("en").startswith("Sheet 'Hiện trạng', cell D7 (Total staff): 9000 ")
    assert item.to_dict()["message_en"] == item.message("en")


def test_rule_issues_render_their_own_templates():
    item = issue("R01a", severity=Severity.WARNING, context={"msg_vi": "Sai {x}", "msg_en": "Wrong {x}", "x": 3})
    assert item.message("vi") == "Sai 3"
    assert item.message("en") == "Wrong 3"


def test_errors_sort_before_warnings_then_by_row():
    items = [issue("RULE_PLAUSIBLE", sheet="A", cell="D9"), issue("RULE_RANGE", sheet="A", cell="D12"),
             issue("RULE_RANGE", sheet="A", cell="D8")]
    assert [i.cell for i in sorted(items, key=sort_key)] == ["D8", "D12", "D9"]
