"""Returns as real programs leave them (issue 14, the reading defects): re-saved by gnumeric, in Excel 5.0/95
format, edited by clerks in LibreOffice and with openpyxl. The fixtures are real output of the program each file
is named after (tests/data/regressions/regenerate.py); every one goes through one real consolidation, and what
reaches indicators.csv and projects.csv is compared with the sample the file was made from: an accepted return
must carry exactly its figures, a refused one nothing at all."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline.issues import Severity
from pipeline.run import FileResult, Paths, consolidate

DATA = Path(__file__).parent / "data" / "regressions"
EXPECTED = {entry["file"]: entry for entry in json.loads((DATA / "expected.json").read_text(encoding="utf-8"))}
ACCEPTED = ("accepted", "accepted_with_warnings")

# file → (accepted?, the issue it must carry, if any)
OUTCOMES: dict[str, tuple[bool, str | None]] = {
    # gnumeric numbers its custom formats from 50 ('0.0', '#,##0.0'): ids calamine takes for East Asian dates
    "gnumeric-biff8-number-formats-SKHDT.xls": (True, None),
    # Excel 5.0/95 with the Vietnamese code page holds the text: read; with the Western one it lost it: refused
    "gnumeric-excel95-cp1258-SNV.xls": (True, "FILE_LEGACY_FORMAT"),
    "gnumeric-excel95-cp1252-STP.xls": (False, "FILE_EXCEL95_TEXT_LOST"),
    # a deleted row makes LibreOffice declare the sheet down to row 1,048,576: not a bomb
    "libreoffice-deleted-table-row-SCN.xlsx": (True, None),
    "libreoffice-deleted-spacer-row-STMDL.xlsx": (True, None),
    # last year's copy beside this year's sheet, neither named as the form's: which is the return cannot be told
    "libreoffice-duplicate-sheet-renamed-SNNPTNT.xlsx": (False, "LAYOUT_SHEET_AMBIGUOUS"),
    "libreoffice-duplicate-sheet-renamed-STS.xls": (False, "LAYOUT_SHEET_AMBIGUOUS"),
    "libreoffice-duplicate-sheet-renamed-SGTVT.ods": (False, "LAYOUT_SHEET_AMBIGUOUS"),
    "openpyxl-duplicate-sheet-renamed-SXD.xlsx": (False, "LAYOUT_SHEET_AMBIGUOUS"),
    "libreoffice-duplicate-table-renamed-SLDTBXH.xlsx": (False, "LAYOUT_SHEET_AMBIGUOUS"),
    # this year's figures typed into the copy, the template's original renamed as the old one: the original
    # is not the return either, so no identity of the original could have picked the right sheet
    "libreoffice-duplicate-sheet-copy-holds-new-SGDDT.xlsx": (False, "LAYOUT_SHEET_AMBIGUOUS"),
    # the form's sheet kept its name: it is read, the old copy is reported
    "libreoffice-duplicate-sheet-kept-name-STNMT.xlsx": (True, "LAYOUT_SHEET_COPY"),
    "openpyxl-duplicate-sheet-kept-name-SKHCN.xlsx": (True, "LAYOUT_SHEET_COPY"),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory, spec, registry) -> tuple[dict[str, FileResult], dict[str, dict[str, str]],
                                                    dict[str, list[dict[str, str]]]]:
    """One consolidation of every fixture (each is its own agency's): the results by file, indicators.csv by
    agency and projects.csv by agency."""
    root = tmp_path_factory.mktemp("regressions")
    inbox = root / "inbox"
    inbox.mkdir()
    for name in EXPECTED:
        shutil.copyfile(DATA / name, inbox / name)
    report = consolidate(Paths(inbox, root / "out", root / "out" / "ledger.sqlite"), spec, registry)
    indicators = {row["agency"]: row for row in _csv(root / "out" / "data" / "indicators.csv")}
    projects: dict[str, list[dict[str, str]]] = {}
    for row in _csv(root / "out" / "data" / "projects.csv"):
        projects.setdefault(row["agency"], []).append(row)
    return {f.name: f for f in report.files}, indicators, projects


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _same(expected: Any, text: str) -> bool:
    """A value of the sample and its text in a CSV export (numbers as numbers, dates ISO, yes/no True/False)."""
    if expected is None:
        return text == ""
    if isinstance(expected, dict):
        return text[:10] == expected["date"]
    if isinstance(expected, bool):
        return text == str(expected)
    if isinstance(expected, int | float):
        return text != "" and float(text) == pytest.approx(expected)
    return text == expected


def test_every_fixture_has_an_expected_outcome():
    assert set(OUTCOMES) == set(EXPECTED) == {p.name for p in DATA.iterdir() if p.suffix in (".xls", ".xlsx", ".ods")}


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_what_reaches_the_exports(run, name):
    results, indicators, projects = run
    accepted, code = OUTCOMES[name]
    entry, result = EXPECTED[name], results[name]
    agency = entry["agency_code"]
    assert result.agency in (agency, None)  # a file the preflight refuses is not opened: no agency yet
    if code is not None:
        assert code in [i.code for i in result.issues]
    if not accepted:
        assert result.status == "rejected"
        assert agency not in indicators and agency not in projects  # nothing of a refused return is counted
        return
    assert result.status in ACCEPTED, [i.message("en") for i in result.issues if i.severity is Severity.ERROR]
    assert result.agency == agency
    row = indicators[agency]
    wrong = {k: (row[k], v) for k, v in entry["values"].items() if not _same(v, row[k])}
    assert wrong == {}
    exported = sorted(projects.get(agency, []), key=lambda p: int(float(p["row"])))
    assert len(exported) == len(entry["projects"])
    for got, want in zip(exported, entry["projects"], strict=True):
        assert {k: (got[k], v) for k, v in want.items() if not _same(v, got[k])} == {}


def test_no_wrong_value_and_no_honest_return_refused(run):
    """The issue's measure, over every case: accepted returns carry the truth (checked above, value by value),
    and the only returns refused are those whose figures no reader could tell."""
    results, _, _ = run
    refused = {name for name, result in results.items() if result.status == "rejected"}
    assert refused == {name for name, (accepted, _) in OUTCOMES.items() if not accepted}

