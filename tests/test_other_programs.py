"""Issue 14's formats through a real consolidation: returns re-saved by gnumeric as .ods (ODF 1.2 extended and
strict, once FILE_CORRUPT) and saved by LibreOffice as flat ODF (.fods) and Excel 2003 XML Spreadsheet (.xml,
once refused as not a spreadsheet). The values that reach indicators.csv and projects.csv are the values the
agency typed (each fixture's JSON, made with it by tests/data/returned/regenerate_odf_xml.py); the archive
keeps each file under its own extension; a return with problems gets its feedback as the re-created .xlsx."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from pipeline.run import Paths, consolidate

RETURNED = Path(__file__).parent / "data" / "returned"
FIXTURES = ("gnumeric-odf-extended-was-corrupt-STP", "gnumeric-odf-strict-was-corrupt-SXD",
            "libreoffice-fods-was-not-a-spreadsheet-SNV", "libreoffice-xml2003-was-not-a-spreadsheet-SGTVT")


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def exported(value: Any) -> str:
    """A typed value as the CSV exports write it: booleans True/False, dates ISO, numbers as floats."""
    if isinstance(value, dict):  # {"date": "yyyy-mm-dd"} in the fixture's JSON
        return dt.date.fromisoformat(value["date"]).isoformat()
    return str(value)


def same(cell: str, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return cell == exported(value)
    return cell != "" and float(cell) == pytest.approx(value)


def consolidated(tmp_path: Path, names: list[str]) -> Paths:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in names:
        shutil.copyfile(RETURNED / name, inbox / name)
    paths = Paths(inbox, tmp_path / "out", tmp_path / "out" / "ledger.sqlite")
    consolidate(paths, *_spec_and_registry())
    return paths


def _spec_and_registry() -> tuple[Any, Any]:
    from pipeline.form.registry import load_registry
    from pipeline.form.spec import load_spec

    return load_spec(), load_registry()


def test_the_values_typed_reach_the_exports(tmp_path):
    expected = {e["agency_code"]: e for e in (json.loads((RETURNED / f"{f}.json").read_text("utf-8")) for f in FIXTURES)}
    paths = consolidated(tmp_path, [e["file"] for e in expected.values()])

    indicators = {row["agency"]: row for row in csv_rows(paths.out / "data" / "indicators.csv")}
    assert indicators.keys() == expected.keys()  # all four counted: 0 honest returns refused
    for code, entry in expected.items():
        typed = {k: v for k, v in entry["values"].items() if v is not None}
        assert len(typed) > 40, code
        wrong = {k: (indicators[code][k], v) for k, v in typed.items() if not same(indicators[code][k], v)}
        assert wrong == {}, code  # 0 values that differ from what the agency typed

    projects = csv_rows(paths.out / "data" / "projects.csv")
    for code, entry in expected.items():
        rows = sorted((r for r in projects if r["agency"] == code), key=lambda r: int(r["row"]))
        assert len(rows) == len(entry["projects"]) >= 3, code
        for row, project in zip(rows, entry["projects"], strict=True):
            wrong = {k: (row[k], v) for k, v in project.items() if v is not None and not same(row[k], v)}
            assert wrong == {}, (code, project["ten_du_an"])

    submissions = {r["file"]: r for r in csv_rows(paths.out / "data" / "submissions.csv")}
    assert {r["status"] for r in submissions.values()} == {"accepted"}
    archived = sorted(p.suffix for p in paths.archive.iterdir())
    assert archived == [".fods", ".ods", ".ods", ".xml"]  # each kept as received, under its own extension
    assert not (paths.out / "feedback").exists() or not any((paths.out / "feedback").iterdir())


@pytest.mark.parametrize("name", ["libreoffice-xml2003-hidden-row-merged-SGTVT.xml",
                                  "libreoffice-fods-hidden-row-merged-SNV.fods"])
def test_feedback_for_an_xml_workbook_is_the_recreated_xlsx(tmp_path, name):
    """openpyxl opens neither format: the agency gets the current form, filled with what was read, named
    phan_hoi_<agency>_<its file name>.xlsx, saying which format came in and that the .xlsx is to be sent back."""
    paths = consolidated(tmp_path, [name])
    code = name.rsplit("-", 1)[1].split(".")[0]
    feedback = paths.out / "feedback" / f"phan_hoi_{code}_{Path(name).stem}.xlsx"
    workbook = openpyxl.load_workbook(feedback)
    assert workbook.sheetnames[:4] == ["Các lỗi cần sửa", "Hướng dẫn", "Thông tin chung", "Hiện trạng"]
    texts = [str(c) for row in workbook["Các lỗi cần sửa"].iter_rows(values_only=True) for c in row if c]
    shown = ".xml (Excel 2003 XML)" if name.endswith(".xml") else ".fods (OpenDocument XML)"
    assert any(t.startswith(f"Tệp gửi đến ở định dạng {shown} nên không sao chép được") for t in texts)
    assert {"LAYOUT_HIDDEN", "LAYOUT_MERGED"} <= set(texts)
    indicators = {r["agency"]: r for r in csv_rows(paths.out / "data" / "indicators.csv")}
    values = json.loads((RETURNED / f"{name.replace('hidden-row-merged', 'was-not-a-spreadsheet').rsplit('.', 1)[0]}.json")
                        .read_text("utf-8"))["values"]
    assert same(indicators[code]["tong_so_may_tinh"], values["tong_so_may_tinh"])  # the hidden row's figure
    assert workbook["Hiện trạng"]["D9"].value == pytest.approx(values["tong_so_may_tinh"])
