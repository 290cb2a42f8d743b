"""The department's PCs run Windows (issue 21). Windows is not at hand here: these tests run on Linux what a
Windows PC would, by taking the POSIX features away (the `windows_like` fixture: sys.platform "win32", no
fork, no hard links, no folders to open), with paths as the department's staff name their folders
(Vietnamese, spaces, "#", "%"), outputs held open by Excel, and output sent through a Windows code page."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.filenames import EXCEL_PATH_LIMIT
from pipeline.form.sample import make_sample, write_samples
from pipeline.form.template import build_workbook, template_file_name
from pipeline.record.ledger import Ledger
from pipeline.run import Paths, archive_name, consolidate, summary_name

ROOT = Path(__file__).resolve().parent.parent


def test_outputs_held_open_in_excel_get_timestamped_siblings_on_windows(tmp_path, spec, registry, windows_like,
                                                                      monkeypatch):
    """Last run's summary, one CSV export and one agency's feedback are open in Excel: Windows refuses to
    replace them (PermissionError, however often it is tried). The run completes; each is written under a
    timestamped name beside it, the one open is left as it is, and the ledger knows which summary is current."""
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    write_samples(spec, registry, inbox, count=6, seed=21, error_rate=1.0)
    (inbox / "manifest.json").unlink()
    paths = Paths(inbox, out, out / "ledger.sqlite")
    first = consolidate(paths, spec, registry)
    agency = registry.agencies[0]
    feedback = Path(next(v for k, v in first.outputs.items() if k.startswith("feedback:") and agency.code in v))
    held = {out / summary_name(spec), out / "data" / "indicators.csv", feedback}
    before = {path: path.read_bytes() for path in held}
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst) in held:
            raise PermissionError(13, "The process cannot access the file because it is being used")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    # The agency sends a corrected return under the same name (still with a mistake): everything is rebuilt.
    resent = make_sample(spec, agency, random.Random(7), mistakes=1)
    (inbox / template_file_name(spec, agency.code)).write_bytes(
        build_workbook(spec, agency=agency, values=resent.values, projects=resent.projects))
    report = consolidate(paths, spec, registry)
    assert report.counts["received"] == 1 and report.to_feedback
    written = {Path(p) for p in report.outputs.values()}
    for path in held:
        assert path.read_bytes() == before[path] and path not in written
        sibling = next(p for p in written if p.parent == path.parent and p.name.startswith(path.stem + "_2"))
        assert sibling.suffix == path.suffix and sibling.stat().st_size > 0
    assert openpyxl.load_workbook(next(p for p in written if p.name.startswith("tong_hop_"))).sheetnames
    with Ledger(paths.db) as ledger:
        outputs = json.loads(ledger.previous_run(10**9)["outputs_json"])
    assert Path(outputs["summary"]).name.startswith(Path(summary_name(spec)).stem + "_2")


@pytest.fixture
def department_folders(tmp_path) -> tuple[Path, Path]:
    """Folders as the department names them: Vietnamese, spaces, and characters a URI would misread."""
    root = tmp_path / "Sở Thông tin và Truyền thông" / "Kế hoạch CNTT 2008–2010 #2 (50% đã nộp)"
    return root / "Hộp thư đến", root / "Kết quả tổng hợp"


def test_consolidation_in_folders_with_vietnamese_names_and_spaces(department_folders, spec, registry):
    inbox, out = department_folders
    write_samples(spec, registry, inbox, count=5, seed=8, error_rate=0.4)
    (inbox / "manifest.json").unlink()
    (inbox / "Báo cáo Sở Tài chính (bản cuối).xlsx").write_bytes((inbox / os.listdir(inbox)[0]).read_bytes())
    runner = CliRunner()
    result = runner.invoke(cli, ["consolidate", "--inbox", str(inbox), "--out", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert (out / summary_name(spec)).exists() and (out / "ledger.sqlite").exists()
    assert len(list((out / "archive").iterdir())) == 5
    assert "Received" in result.output and "Duplicate" in result.output
    # A dry run reads the ledger through a URI: "#" and "%" in the folder must not cut or change its path.
    again = runner.invoke(cli, ["consolidate", "--inbox", str(inbox), "--out", str(out), "--dry-run", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["counts"]["unchanged"] == 6


@pytest.mark.parametrize(("name", "expected"), [
    ("BM-UDCNTT-2007_v1.0_STC.xlsx", ".xlsx"), ("BAO CAO.XLS", ".xls"), ("ke hoach.ods", ".ods"),
    ("bao cao.xls ", ".xls"),  # a trailing space, which Windows would drop from the archive's name
    ("bao cao.xl:s", ".xls"), ("bao cao.x*lsx", ".xlsx"), ("không có đuôi", ""), ("bao cao.tệp", ".tp"),
])
def test_archive_names_are_ones_windows_keeps(name, expected):
    sha = "ab" * 32
    assert archive_name(sha, Path(name)) == sha + expected


def test_output_sent_to_a_file_through_a_windows_code_page_is_utf8(tmp_path):
    """`ictplan codes > codes.txt` on Windows: the ANSI code page cannot encode Vietnamese, so the command would
    stop at the first "ế". The platform is switched once the CLI (and click, which looks at it on import) is
    loaded, as on Windows."""
    script = "import sys; from pipeline.cli import main; sys.platform = 'win32'; sys.argv = ['ictplan', 'codes']; main()"
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert "Danh mục mã lỗi" in done.stdout.decode("utf-8")
    elsewhere = subprocess.run([sys.executable, "-c", script.replace("sys.platform = 'win32'; ", "")],
                               capture_output=True, env=env, cwd=ROOT)
    assert elsewhere.returncode != 0 and b"UnicodeEncodeError" in elsewhere.stderr  # what it fixes



def test_a_template_open_in_excel_is_named_not_a_traceback(tmp_path, spec):
    """`ictplan template` (or `demo`) while last round's copy is open in Excel: Windows refuses to replace it.
    The command names the file and says what to do, in the language asked for; no traceback."""
    script = """if True:
        import os, sys
        from pipeline.cli import main
        real = os.replace
        def replace(src, dst):
            if str(dst).endswith("_STC.xlsx"):  # as Windows says it: the temporary file, then the target
                raise PermissionError(13, "Access is denied", str(src), 5, str(dst))
            return real(src, dst)
        os.replace = replace
        sys.argv = ["ictplan", "template", "--out", sys.argv[1], "--lang", "en"]
        main()
    """
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "mẫu")], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    target = tmp_path / "mẫu" / template_file_name(spec, "STC")
    assert done.stderr.strip() == (f"Cannot write {target}: the file is open in another program (Excel?) or may "
                                   "not be written. Close it and run again.")


def test_an_output_excel_cannot_open_is_pointed_out(tmp_path, spec, registry):
    """An output folder so deep that the summary's full path is over 218 characters: the feedback names are
    shortened to fit, the summary's fixed name cannot be, so the run says which output Excel will refuse (the
    draft report's longer name is for Word, which opens it)."""
    inbox = tmp_path / "inbox"
    write_samples(spec, registry, inbox, count=3, seed=4, error_rate=1.0)
    room = EXCEL_PATH_LIMIT - len(str(tmp_path)) - len(summary_name(spec)) + 5  # 3 characters too long
    out = tmp_path / ("Kết quả tổng hợp " * 20)[:room].strip()
    result = CliRunner().invoke(cli, ["consolidate", "--inbox", str(inbox), "--out", str(out), "--lang", "en"],
                                env={"COLUMNS": "400"})  # rich would fold the long paths
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    warned = [lines[i - 1].strip() for i, line in enumerate(lines) if "Excel cannot open" in line]
    assert warned == [str(out / summary_name(spec))]
    # listed under feedback/: a name shortened this far keeps only the start of "phan_hoi_…" and its digest
    feedback = [Path(line.strip()) for line in lines if str(out / "feedback") in line]
    assert len(feedback) == 3 and all(len(str(p)) <= EXCEL_PATH_LIMIT for p in feedback)
