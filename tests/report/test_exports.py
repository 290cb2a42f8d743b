"""CSV exports: BOM, columns, one row per counted return, the summary's values, CSV-injection defusing."""

from __future__ import annotations

import csv
import io
import json
import re

import pandas as pd
import pytest
from summary_factory import fill_computed, full_ledger, make_return, record, summary_from

from pipeline.report.exports import csv_bytes, defuse, whole_numbers, write_exports

BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def exported(tmp_path_factory, spec, registry):
    folder = tmp_path_factory.mktemp("out")
    ledger, data = full_ledger(folder / "l.sqlite", spec, registry, skip=["H-KYANH", "SYT"])
    record(ledger, spec, "SYT", *make_return(spec, registry.by_code["SYT"], 1), status="rejected",
           received_at="2007-09-25T10:00:00")
    values, projects = data["STC"]
    hostile = dict(values, dg_ket_qua="=HYPERLINK(\"http://x\",\"bấm\")", nguoi_lap="-Nguyễn Văn A",
                   so_hieu_van_ban="@125/STC-VP")
    record(ledger, spec, "STC", fill_computed(spec, hostile, projects), projects, received_at="2007-09-29T10:00:00",
           salt="resend", file="+STC.xlsx")
    summary = summary_from(ledger, spec, registry)
    paths = write_exports(summary, spec, folder)
    yield summary, {p.name: p for p in paths}, folder
    ledger.close()


def read(path):
    raw = path.read_bytes()
    assert raw.startswith(BOM)
    return list(csv.DictReader(io.StringIO(raw[len(BOM):].decode("utf-8"))))


def test_every_file_in_data_with_a_bom(exported):
    _, paths, folder = exported
    assert sorted(paths) == ["dvc.csv", "indicators.csv", "issues.csv", "kh_2008.csv", "projects.csv",
                             "round.json", "submissions.csv"]
    assert all(p.parent == folder / "data" and p.read_bytes().startswith(BOM) for p in paths.values()
               if p.suffix == ".csv")
    assert b"\r\n" in paths["submissions.csv"].read_bytes()


def test_indicators_one_row_per_counted_return(exported, spec):
    summary, paths, _ = exported
    rows = read(paths["indicators.csv"])
    assert list(rows[0]) == ["agency", "group", *spec.fields]
    assert [r["agency"] for r in rows] == list(summary.values.index)
    assert len(rows) == 39  # 41 agencies: Kỳ Anh never reported, Sở Y tế only rejected; STC counts once
    for row in rows:
        code = row["agency"]
        assert row["group"] == summary.agencies.at[code, "group"]
        for field_id in ("tong_so_cbccvc", "tong_so_may_tinh", "kp_cntt_2007", "kh_kp_tong"):
            assert float(row[field_id]) == pytest.approx(summary.values.at[code, field_id])
        assert row["co_website"] == str(summary.values.at[code, "co_website"])
        assert row["ngay_lap"] == summary.values.at[code, "ngay_lap"].isoformat()


def test_agency_text_is_defused_numbers_are_not(exported):
    _, paths, _ = exported
    stc = next(r for r in read(paths["indicators.csv"]) if r["agency"] == "STC")
    assert stc["dg_ket_qua"] == "'=HYPERLINK(\"http://x\",\"bấm\")"
    assert stc["nguoi_lap"] == "'-Nguyễn Văn A"
    assert stc["so_hieu_van_ban"] == "'@125/STC-VP"
    assert stc["ten_don_vi"] == "Sở Tài chính"
    files = [r["file"] for r in read(paths["submissions.csv"])]
    assert "'+STC.xlsx" in files
    assert csv_bytes(__import__("pandas").DataFrame({"n": [-5.0], "t": ["-5"]}), {"t"}).decode("utf-8-sig") == \
        "n,t\r\n-5.0,'-5\r\n"
    assert defuse(-5) == -5 and defuse("\tx") == "'\tx" and defuse("a=b") == "a=b"


def test_projects_and_submissions_and_issues(exported):
    summary, paths, _ = exported
    projects = read(paths["projects.csv"])
    assert [p["project_id"] for p in projects] == summary.projects["project_id"].tolist()
    assert float(projects[0]["tong_kinh_phi"]) == pytest.approx(summary.projects["tong_kinh_phi"].iloc[0])
    submissions = read(paths["submissions.csv"])
    assert len(submissions) == len(summary.submissions) == 41
    assert {"id", "sha256", "file", "agency", "received_at", "status", "counted", "supersedes", "superseded_by",
            "errors", "warnings"} <= set(submissions[0])
    assert submissions[0]["received_at"].count("T") == 1
    header = paths["issues.csv"].read_bytes()[len(BOM):].split(b"\r\n")[0].decode()
    assert header.split(",") == ["agency", "submission_id", "status", "counted", "code", "severity", "file", "sheet",
                                 "cell", "field", "row", "value", "message_vi", "message_en"]


def test_years_counts_and_levels_are_whole_numbers(exported, spec):
    """Defect: projects.csv held years as "2008.0" (a blank year among the projects made the column float);
    so did the online services' levels in dvc.csv. Whole-number columns are written as whole numbers, blanks
    stay blank, and money keeps its decimal."""
    summary, paths, _ = exported
    projects = read(paths["projects.csv"])
    years = [p["nam_bat_dau"] for p in projects]
    assert years and all(re.fullmatch(r"20\d\d|", y) for y in years), years[:5]
    assert [int(y) for y in years if y] == [int(v) for v in summary.projects["nam_bat_dau"].dropna()]
    frame = pd.DataFrame({"muc_2008": [1.0, None, 3.0], "kinh_phi": [1.5, 2.0, None]})
    whole = whole_numbers(frame, {"muc_2008", "kinh_phi"})  # a column with 1.5 in it is not whole: left alone
    assert csv_bytes(whole, set()).decode("utf-8-sig").split("\r\n")[1:4] == ["1,1.5", ",2.0", "3,"]


def test_manifest_says_whose_figures_they_are(exported, spec):
    """data/round.json: what `ictplan rollup` checks before adding a province (tests/report/test_rollup.py)."""
    summary, paths, _ = exported
    manifest = json.loads(paths["round.json"].read_text(encoding="utf-8"))
    assert manifest == {"form_id": spec.form_id, "form_version": spec.version, "round": spec.round,
                        "province": spec.form["province_vi"], "issuer": spec.form["issuer_vi"],
                        "generated_at": summary.generated_at.isoformat(), "agencies": 41, "reported": 39,
                        "spec_sha256": spec.sha256}
