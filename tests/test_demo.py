"""`ictplan demo` is `make demo` without make (Windows has none), and what it writes colleagues can open."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.run import report_name, summary_name

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_regression_demo_outputs_were_readable_by_their_owner_alone(umask, mode, tmp_path, spec):
    """The demo as a user runs it (a real process, into a folder with a Vietnamese name and spaces): templates,
    sample returns and manifest, archive copies, ledger, summary, CSV exports and feedback all get the mode any
    program's files get (0666 less the umask), never 0600, so colleagues on a shared folder can open them."""
    out = tmp_path / "Thử nghiệm ictplan" / "bản chạy thử"
    done = subprocess.run([sys.executable, "-m", "pipeline", "demo", "--out", str(out)], capture_output=True,
                          text=True, cwd=tmp_path, umask=umask, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "Đã tạo 42 tệp mẫu" in done.stdout and "Đã tạo 41 báo cáo mẫu" in done.stdout  # the steps' own lines
    assert "Tóm tắt lần nhập" in done.stdout and f"Bản chạy thử nằm trong thư mục {out}" in done.stdout
    kinds = {
        "templates": list((out / "templates").glob("*.xlsx")),
        "returns": [*(out / "inbox").glob("*.xls*"), out / "inbox" / "manifest.json"],
        "archive": list((out / "archive").iterdir()),  # every file received, the manifest too
        "ledger": [out / "ledger.sqlite"],
        "summary": [out / summary_name(spec)],
        "report": [out / report_name(spec)],
        "exports": list((out / "data").glob("*.csv")),
        "feedback": list((out / "feedback").glob("phan_hoi_*.xlsx")),
        # the second round, in the same ledger: the 2008 reports on those plans (issue 19)
        "2008 templates": list((out / "2008" / "templates").glob("*.xlsx")),
        "2008 returns": [*(out / "2008" / "inbox").glob("*.xls*"), out / "2008" / "inbox" / "manifest.json"],
        "2008 summary": [out / "2008" / "tong_hop_BM-BCTH-2008_2008.xlsx"],
        "2008 exports": list((out / "2008" / "data").glob("*.csv")),  # with plan_targets and plan_money
        "2008 feedback": list((out / "2008" / "feedback").glob("phan_hoi_*.xlsx")),
    }
    wrong_2008 = sum(1 for f in json.loads((out / "2008" / "inbox" / "manifest.json").read_text(encoding="utf-8"))[
        "files"] if any(m["severity"] == "error" for m in f["mistakes"]))
    assert {k: len(v) for k, v in kinds.items()} == {
        "templates": 42, "returns": 42, "archive": 78, "ledger": 1, "summary": 1, "report": 1, "exports": 6,
        # 2008: the 35 agencies after the reorganisation (registry's valid_from/valid_to), and the blank form
        "feedback": 4, "2008 templates": 36, "2008 returns": 36, "2008 summary": 1, "2008 exports": 8,
        "2008 feedback": wrong_2008}
    modes = {oct(path.stat().st_mode & 0o777) for paths in kinds.values() for path in paths}
    assert modes == {oct(mode)}
    every_file = [p for p in out.rglob("*") if p.is_file()]
    assert {oct(p.stat().st_mode & 0o777) for p in every_file} == {oct(mode)}  # nothing else, either
    assert {oct(p.stat().st_mode & 0o777) for p in out.rglob("*") if p.is_dir()} == {oct(0o777 & ~umask)}


def test_make_demo_is_ictplan_demo():
    """The two stay one: `make demo` only calls the command a Windows user runs."""
    recipe = subprocess.run(["make", "-n", "demo"], capture_output=True, text=True, cwd=ROOT)
    assert recipe.returncode == 0, recipe.stderr
    steps = [line for line in recipe.stdout.splitlines() if "-m pipeline" in line]
    assert steps == [".venv/bin/python -m pipeline demo --out outputs/demo"]
