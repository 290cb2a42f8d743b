"""The CLI is a thin client: spec summary and JSON, languages, usage errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from pipeline.cli import cli


def test_spec_summary_in_both_languages():
    runner = CliRunner()
    vi = runner.invoke(cli, ["spec"])
    en = runner.invoke(cli, ["spec", "--lang", "en"])
    assert vi.exit_code == en.exit_code == 0
    assert "Mẫu BM-UDCNTT-2007 phiên bản 1.1" in vi.output
    assert "Form BM-UDCNTT-2007 version 1.1" in en.output


def test_spec_json_is_the_whole_spec(spec):
    result = CliRunner().invoke(cli, ["spec", "--json"])
    data = json.loads(result.output)
    assert data["form"]["id"] == spec.form_id
    assert {f["id"] for f in data["fields"]} == set(spec.fields)


def test_language_from_environment():
    result = CliRunner(env={"ICTPLAN_LANG": "en"}).invoke(cli, ["spec"])
    assert result.output.startswith("Form ")


def test_broken_spec_is_a_usage_error_with_its_place(tmp_path):
    bad = tmp_path / "spec.yaml"
    bad.write_text("form: {id: X, version: '1', round: r}\nsheets: []\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["spec", "--spec", str(bad)])
    assert result.exit_code == 2
    assert "'sheets' must be a non-empty list" in result.output


def test_codes_lists_the_catalogue():
    result = CliRunner().invoke(cli, ["codes", "--json"])
    codes = json.loads(result.output)
    assert codes["FILE_ENCRYPTED"]["severity"] == "error"
    assert "mật khẩu" in codes["FILE_ENCRYPTED"]["vi"]


def test_missing_inbox_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["consolidate", "--inbox", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "Không tìm thấy thư mục" in result.output
    assert not (tmp_path / "ledger.sqlite").exists()


def test_consolidate_reports_a_locked_summary_under_its_new_name(tmp_path, spec, registry, monkeypatch):
    import os

    from pipeline.form.sample import write_samples
    from pipeline.run import summary_name

    write_samples(spec, registry, tmp_path / "inbox", count=2, seed=3)
    out = tmp_path / "out"
    out.mkdir()
    (out / summary_name(spec)).write_bytes(b"open in Excel")
    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith(summary_name(spec)):
            raise PermissionError(13, "Permission denied")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    result = CliRunner().invoke(cli, ["consolidate", "--inbox", str(tmp_path / "inbox"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{summary_name(spec)} đang được mở hoặc bị khóa" in result.output
    assert (out / summary_name(spec)).read_bytes() == b"open in Excel"


def test_consolidate_says_when_the_ledger_is_on_a_network_share(tmp_path, spec, registry, monkeypatch):
    from pipeline.form.sample import write_samples
    from pipeline.record import ledger

    write_samples(spec, registry, tmp_path / "inbox", count=1, seed=3)
    monkeypatch.setattr(ledger, "is_network_path", lambda path: True)
    args = ["consolidate", "--inbox", str(tmp_path / "inbox"), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "Sổ cái nằm trên ổ mạng dùng chung" in " ".join(result.output.split())
    assert not (tmp_path / "out" / "ledger.sqlite-wal").exists()


def test_every_public_api_name_resolves():
    import pipeline

    for name in pipeline.__all__:
        assert callable(getattr(pipeline, name)), name


def test_the_command_ends_with_its_exit_code_and_all_its_output(tmp_path):
    """main() ends the process without the interpreter's teardown: the exit code and every byte written
    must survive it, for success, usage errors and a rejected return alike."""
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, timeout=60,
                              cwd=tmp_path)

    codes = run("codes", "--json")
    assert codes.returncode == 0
    assert "FILE_ENCRYPTED" in json.loads(codes.stdout)  # the whole JSON: a lost tail would not parse
    assert run("no-such-command").returncode == 2
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    checked = run("check", str(junk), "--lang", "en")
    assert checked.returncode == 1
    assert "junk.xlsx" in checked.stdout


def test_exit_codes_follow_sys_exit():
    from pipeline.cli import _exit_code

    assert [_exit_code(None), _exit_code(0), _exit_code(3)] == [0, 0, 3]
    assert _exit_code("a message") == 1


def test_status_prints_the_library_answer(tmp_path, spec, registry):
    from summary_factory import make_return, record

    from pipeline.record.ledger import Ledger
    from pipeline.report.status import round_status

    db = tmp_path / "ledger.sqlite"
    with Ledger(db) as ledger:
        record(ledger, spec, "STC", *make_return(spec, registry.by_code["STC"], 1))
        record(ledger, spec, "SYT", *make_return(spec, registry.by_code["SYT"], 2), status="rejected")
        expected = round_status(ledger, spec, registry).to_dict()
    runner = CliRunner(env={"COLUMNS": "200"})  # rich's width
    assert json.loads(runner.invoke(cli, ["status", "--db", str(db), "--json"]).output) == expected
    text = runner.invoke(cli, ["status", "--db", str(db)]).output
    assert "2/41 đơn vị đã nộp; 1 hợp lệ (0 có cảnh báo); 1 chưa hợp lệ; 39 chưa nộp." in text
    assert "SYT — Sở Y tế" in text and "chưa hợp lệ" in text
    english = runner.invoke(cli, ["status", "--db", str(db), "--lang", "en"]).output
    assert "2/41 agencies returned; 1 valid (0 with warnings); 1 not yet valid; 39 not received." in english


def test_status_of_a_ledger_that_does_not_exist_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["status", "--db", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 2 and not (tmp_path / "none.sqlite").exists()
