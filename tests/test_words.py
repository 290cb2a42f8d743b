"""The register of what users read: official Vietnamese ("Đề nghị đơn vị …", never "Vui lòng …"; a return is
"chưa hợp lệ", never "bị từ chối") in every message the tool can show, and one list of status labels
(pipeline.i18n.STATUS_LABELS) behind every status a user reads — the CLI, the summary, the print set, the
feedback and the desk."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from pipeline.i18n import MESSAGES, STATE_LABELS, STATUS_LABELS
from pipeline.issues import CATALOGUE, REQUIRED_ADVICE

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pipeline"
BANNED = re.compile(r"vui lòng|bị từ chối|xin vui|\bhãy\b", re.IGNORECASE)
VI_LABELS = {vi for vi, _ in STATUS_LABELS.values()}


def _package_strings() -> list[tuple[str, str]]:
    """(place, text) of every string literal of the package: each message, label and template it can show."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.value))
    return found


def _spec_strings() -> list[tuple[str, str]]:
    """Every text of the bundled spec (labels, help, instructions, rule messages, choices)."""
    found: list[tuple[str, str]] = []

    def walk(node: object, place: str) -> None:
        if isinstance(node, str):
            found.append((place, node))
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{place}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{place}[{i}]")

    walk(yaml.safe_load((ROOT / "workbook_templates" / "form_spec.yaml").read_text(encoding="utf-8")), "spec")
    return found


def _page_strings() -> list[tuple[str, str]]:
    return [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8"))
            for p in sorted((PACKAGE / "web" / "templates").glob("*.html"))]


def test_the_catalogue_asks_in_the_official_register():
    texts = [(code, d.vi) for code, d in CATALOGUE.items()] + [(k, vi) for k, (vi, _) in REQUIRED_ADVICE.items()]
    texts += [(key, vi) for key, (vi, _) in MESSAGES.items()]
    assert [(code, text) for code, text in texts if BANNED.search(text)] == []
    # A request to the agency is worded "Đề nghị …" (the catalogue has many; none may slip back to another form).
    asks = [d.vi for d in CATALOGUE.values() if "Đề nghị" in d.vi]
    assert len(asks) >= 30


@pytest.mark.parametrize("source", [_package_strings, _spec_strings, _page_strings],
                         ids=["package", "spec", "desk pages"])
def test_no_text_a_user_reads_says_vui_long_or_bi_tu_choi(source):
    """Every string the package, the spec and the desk's pages hold: issue messages, CLI words, the summary's
    and the feedback's words, the template's instructions, the sample returns' text."""
    assert [(place, text[:120]) for place, text in source() if BANNED.search(text)] == []


def test_agencies_are_never_told_to_run_the_tool():
    """An agency has no ictplan: what it reads (the catalogue, the spec's instructions and rules) says what it can
    do — open the workbook again, correct the marked cells and send it back."""
    agency_texts = [d.vi for code, d in CATALOGUE.items() if not code.startswith("ROLLUP_")]
    agency_texts += [text for _, text in _spec_strings()]
    assert [text for text in agency_texts if "ictplan" in text] == []
    assert [text for text in agency_texts if "xxx" in text.lower()] == []


def test_status_labels_are_one_capitalised_list():
    for key, (vi, en) in STATUS_LABELS.items():
        assert vi[:1].isupper() and en[:1].isupper(), key
    assert STATUS_LABELS["rejected"][0] == "Chưa hợp lệ" and STATUS_LABELS["missing"][0] == "Chưa nộp"
    assert STATUS_LABELS["accepted_with_warnings"][0] == "Hợp lệ, có cảnh báo"
    assert set(STATE_LABELS.values()) <= set(STATUS_LABELS.values())
    for key, label in STATUS_LABELS.items():
        assert MESSAGES[f"status.{key}"] == label
    for key, label in STATE_LABELS.items():
        assert MESSAGES[f"state.{key}"] == label


def test_every_status_the_report_stage_writes_is_a_label():
    from pipeline.report import bieu
    from pipeline.report import consolidate as C
    from pipeline.report.status import AGENCY_STATES, RETURN_STATES

    assert {bieu._status_word(s) for s in C.STATUS_ORDER} <= VI_LABELS
    assert set(AGENCY_STATES) | set(RETURN_STATES) <= set(STATE_LABELS)
    assert set(C.STATUS_ORDER) <= set(STATUS_LABELS)


def test_the_desk_board_shows_the_labels_as_they_are():
    """No filter re-cases a label on the page (Jinja's capitalize would lower "Hợp lệ, Có …" and the rest)."""
    for place, text in _page_strings():
        assert "| capitalize" not in text and "|capitalize" not in text, place
