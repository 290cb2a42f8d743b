"""The department's to-do list end to end: a real round (returns made as agencies make them, consolidated once)
with valid, valid-with-warnings, invalid, superseded and missing agencies, and a refused correction after a
valid return. Each list staff work from is checked against the ledger: issues.csv, the summary's sheet
"Lỗi và cảnh báo" read back, `ictplan status` as text and JSON, and `ictplan status --missing`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import random
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.form.sample import make_sample
from pipeline.form.template import build_workbook
from pipeline.record.ledger import Ledger
from pipeline.run import Paths, consolidate, summary_name

T0 = dt.datetime(2007, 9, 20, 8, 0)
# file → (agency, hours after T0 it reached the inbox, changes to a plausible return)
FILES = {
    "stc.xlsx": ("STC", 0, {}),
    "snv.xlsx": ("SNV", 1, {"ngay_lap": dt.date(2007, 8, 10)}),  # before the round opened: a warning
    "syt.xlsx": ("SYT", 2, {"tong_so_may_tinh": "chưa thống kê"}),  # text in a number cell: an error
    "skhdt.xlsx": ("SKHDT", 3, {}),
    "skhdt gui lai.xlsx": ("SKHDT", 30, {}),  # a valid resend (other figures) replaces it
    "sgtvt.xlsx": ("SGTVT", 4, {"tong_so_cbccvc": "khoảng 80"}),  # refused…
    "sgtvt sua.xlsx": ("SGTVT", 28, {}),  # …then corrected
    "sxd.xlsx": ("SXD", 5, {}),  # valid…
    "sxd gui lai.xlsx": ("SXD", 50, {"so_may_ket_noi_lan": "chưa rõ"}),  # …then a refused correction
}
CURRENT = ["stc.xlsx", "snv.xlsx", "skhdt gui lai.xlsx", "sgtvt sua.xlsx", "sxd.xlsx", "sxd gui lai.xlsx",
           "syt.xlsx"]  # registry order (STC, SNV, SKHDT, SGTVT, SXD, SYT), oldest first per agency
SUPERSEDED = ["skhdt.xlsx", "sgtvt.xlsx"]
RECEIVED = {"STC", "SNV", "SYT", "SKHDT", "SGTVT", "SXD"}


@pytest.fixture(scope="module")
def round_(tmp_path_factory, spec, registry):
    root = tmp_path_factory.mktemp("todo")
    paths = Paths(root / "inbox", root / "out", root / "out" / "ledger.sqlite")
    paths.inbox.mkdir()
    for n, (name, (code, hours, changes)) in enumerate(FILES.items()):
        agency = registry.get(code)
        sample = make_sample(spec, agency, random.Random(n))
        sample.values.update(changes)
        path = paths.inbox / name
        path.write_bytes(build_workbook(spec, agency=agency, values=sample.values, projects=sample.projects,
                                        cell_text=sample.cell_text, tables=sample.tables))
        moment = (T0 + dt.timedelta(hours=hours)).timestamp()
        os.utime(path, (moment, moment))
    report = consolidate(paths, spec, registry)
    with Ledger(paths.db) as ledger:
        rows = {r["file_name"]: r for r in ledger.submissions(spec.round)}
        issues = ledger.issues([r["id"] for r in rows.values()])
    return paths, report, rows, {name: issues[r["id"]] for name, r in rows.items()}


def run(*args: str, lang: str = "vi") -> str:
    result = CliRunner(env={"COLUMNS": "250"}).invoke(cli, [*args, "--lang", lang])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_round_is_what_the_ledger_holds(round_):
    _, _, rows, issues = round_
    assert {name: r["status"] for name, r in rows.items()} == {
        "stc.xlsx": "accepted", "snv.xlsx": "accepted_with_warnings", "syt.xlsx": "rejected",
        "skhdt.xlsx": "accepted", "skhdt gui lai.xlsx": "accepted", "sgtvt.xlsx": "rejected",
        "sgtvt sua.xlsx": "accepted", "sxd.xlsx": "accepted", "sxd gui lai.xlsx": "rejected"}
    assert {name for name, r in rows.items() if r["counted"]} == {
        "stc.xlsx", "snv.xlsx", "skhdt gui lai.xlsx", "sgtvt sua.xlsx", "sxd.xlsx"}
    assert issues["sgtvt.xlsx"] and issues["syt.xlsx"] and issues["sxd gui lai.xlsx"]  # something to list


def expected_issue_rows(rows, issues):
    """What the to-do list must hold, from the ledger: every issue of the current returns, in order."""
    return [{"agency": rows[name]["agency_code"], "submission_id": str(rows[name]["id"]), "status": rows[name]["status"],
             "counted": str(bool(rows[name]["counted"])), "code": i.code, "severity": str(i.severity), "file": name,
             "sheet": i.sheet or "", "cell": i.cell or "", "message_vi": i.message("vi"), "message_en": i.message("en")}
            for name in CURRENT for i in issues[name]]


def test_issues_csv_lists_every_current_return_and_no_superseded_one(round_):
    paths, _, rows, issues = round_
    raw = (paths.out / "data" / "issues.csv").read_bytes().decode("utf-8-sig")
    found = list(csv.DictReader(io.StringIO(raw)))
    keys = ["agency", "submission_id", "status", "counted", "code", "severity", "file", "sheet", "cell", "message_vi",
            "message_en"]
    assert [{k: r[k] for k in keys} for r in found] == expected_issue_rows(rows, issues)
    assert not {r["file"] for r in found} & set(SUPERSEDED)
    assert {r["file"] for r in found if r["severity"] == "error"} == {"syt.xlsx", "sxd gui lai.xlsx"}


def test_the_summary_sheet_reads_back_as_the_same_list(round_, spec):
    paths, _, rows, issues = round_
    book = openpyxl.load_workbook(paths.out / summary_name(spec), read_only=True)
    table = [r for r in book["Lỗi và cảnh báo"].iter_rows(values_only=True) if isinstance(r[0], int)]
    status = {"accepted": "Hợp lệ", "accepted_with_warnings": "Hợp lệ, có cảnh báo", "rejected": "Chưa hợp lệ"}
    severity = {"error": "lỗi", "warning": "cảnh báo", "info": "thông tin"}
    names = {"STC": "Sở Tài chính", "SNV": "Sở Nội vụ", "SKHDT": "Sở Kế hoạch và Đầu tư", "SGTVT": "Sở Giao thông vận tải",
             "SXD": "Sở Xây dựng", "SYT": "Sở Y tế"}
    expected = [(n, names[e["agency"]], e["file"], status[e["status"]], "Có" if e["counted"] == "True" else "Không",
                 severity[e["severity"]], e["sheet"] or None, e["cell"] or None, e["message_vi"])
                for n, e in enumerate(expected_issue_rows(rows, issues), start=1)]
    assert [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[10]) for r in table] == expected


def test_status_json_gives_each_agency_from_the_ledger(round_):
    paths, report, rows, _ = round_
    data = json.loads(run("status", "--db", str(paths.db), "--json"))
    by_code = {a["code"]: a for a in data["agencies"]}
    assert data["counts"] == {"expected": 41, "received": 6, "missing": 35, "valid": 4, "valid_with_warnings": 1,
                              "not_valid": 1}
    states = {code: by_code[code]["state"] for code in RECEIVED}
    assert states == {"STC": "valid", "SNV": "valid_with_warnings", "SYT": "not_valid", "SKHDT": "valid",
                      "SGTVT": "valid", "SXD": "valid"}
    latest = {"STC": "stc.xlsx", "SNV": "snv.xlsx", "SYT": "syt.xlsx", "SKHDT": "skhdt gui lai.xlsx",
              "SGTVT": "sgtvt sua.xlsx", "SXD": "sxd gui lai.xlsx"}
    for code, name in latest.items():
        a, row = by_code[code], rows[name]
        assert (a["file"], a["status"], a["errors"], a["warnings"]) == (name, row["status"], row["errors"],
                                                                         row["warnings"])
        mtime = dt.datetime.fromtimestamp((paths.inbox / name).stat().st_mtime).isoformat(timespec="seconds")
        assert a["received_at"] == mtime == row["received_at"]  # the time the file reached the inbox
        assert a["recorded_at"] == row["recorded_at"]
        assert a["feedback"] == report.outputs.get(f"feedback:{name}")
        if a["errors"] or a["warnings"]:
            assert Path(a["feedback"]).exists()
    states_of = {r["file"]: r["state"] for a in data["agencies"] for r in a["returns"]}
    assert [states_of[name] for name in SUPERSEDED] == ["superseded", "superseded"]
    assert by_code["SXD"]["counted_file"] == "sxd.xlsx" and by_code["SXD"]["needs_action"]
    assert by_code["H-KYANH"]["state"] == "missing" and by_code["H-KYANH"]["file"] is None


def test_status_text_names_every_agency_and_the_totals(round_):
    paths, *_ = round_
    text = run("status", "--db", str(paths.db))
    assert "6/41 đơn vị đã nộp; 5 hợp lệ (1 có cảnh báo); 1 chưa hợp lệ; 35 chưa nộp." in text
    assert "Hợp lệ; tệp gửi sau: Chưa hợp lệ" in text  # SXD: valid, its correction refused
    assert "Hợp lệ; 1 tệp cũ đã được thay thế" in text
    english = run("status", "--db", str(paths.db), lang="en")
    assert "6/41 agencies returned; 5 valid (1 with warnings); 1 not yet valid; 35 not received." in english


def test_missing_lists_the_agencies_to_chase_with_a_reminder_each(spec, round_, registry):
    paths, _, rows, issues = round_
    text = run("status", "--db", str(paths.db), "--missing")
    blocks = text.split("-" * 72 + "\n")[1:]
    codes = [block.split("\n")[0] for block in blocks[0::2]]
    to_chase = [a.code for a in registry.of_round(spec).agencies if a.code not in RECEIVED or a.code in ("SYT", "SXD")]
    assert codes == to_chase and len(codes) == 37
    reminders = dict(zip(codes, blocks[1::2], strict=True))
    syt = reminders["SYT"]
    assert syt.startswith("Kính gửi: Sở Y tế\n")
    values = json.loads(rows["syt.xlsx"]["values_json"])
    assert values["dien_thoai"] in syt and values["nguoi_lap"] in syt  # the return's own contact
    assert registry.get("SYT").phone in syt  # and the office's
    assert all(i.message("vi") in syt for i in issues["syt.xlsx"])
    assert "syt.xlsx" in syt and "Đề nghị đơn vị sửa các lỗi nêu trên và gửi lại báo cáo." in syt
    sxd = reminders["SXD"]
    assert all(i.message("vi") in sxd for i in issues["sxd gui lai.xlsx"]) and "\"sxd.xlsx\"" in sxd
    kyanh = reminders["H-KYANH"]
    assert registry.get("H-KYANH").phone in kyanh and registry.get("H-KYANH").email in kyanh
    assert "chưa nhận được báo cáo của đơn vị" in kyanh and "Hạn gửi báo cáo là ngày 30/09/2007" in kyanh
    assert "Vui lòng" not in kyanh
    english = run("status", "--db", str(paths.db), "--missing", lang="en")
    assert "To: Department of Health\n" in english and all(i.message("en") in english for i in issues["syt.xlsx"])


def test_missing_json_carries_each_reminder_and_its_issues(round_):
    paths, _, _, issues = round_
    data = json.loads(run("status", "--db", str(paths.db), "--missing", "--json"))
    by_code = {a["code"]: a for a in data["agencies"]}
    assert len(by_code) == 37 and {"STC", "SNV", "SKHDT", "SGTVT"}.isdisjoint(by_code)
    assert by_code["SYT"]["issues"] == [i.to_dict() for i in issues["syt.xlsx"]]
    assert by_code["SXD"]["issues"] == [i.to_dict() for i in issues["sxd gui lai.xlsx"]]
    assert by_code["H-KYANH"]["issues"] == [] and by_code["H-KYANH"]["reminder"].startswith("Kính gửi: UBND huyện Kỳ Anh")
