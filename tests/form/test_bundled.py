"""A plain install finds the spec and the registry (pip install ., pipx install .: how a Windows PC gets the
`ictplan` command without make; issue 21). It put the package in site-packages, away from
workbook_templates/, so `ictplan` stopped at once: "cannot read the spec file"."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from pipeline.form import bundled

ROOT = Path(__file__).resolve().parents[2]


def test_regression_a_plain_install_finds_the_files_it_carries(tmp_path, monkeypatch):
    installed = tmp_path / "venv" / bundled.INSTALLED
    installed.mkdir(parents=True)
    (installed / "form_spec.yaml").write_text("form: {}", encoding="utf-8")
    monkeypatch.setattr(bundled, "SOURCE", tmp_path / "site-packages" / "workbook_templates")  # not there
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    assert bundled.bundled("form_spec.yaml") == installed / "form_spec.yaml"
    # Nowhere: the path looked for first, which the error message then names.
    assert bundled.bundled("agencies.csv") == tmp_path / "site-packages" / "workbook_templates" / "agencies.csv"


def test_a_checkout_reads_its_own_files():
    assert bundled.bundled("form_spec.yaml") == ROOT / "workbook_templates" / "form_spec.yaml"


def test_the_wheel_carries_every_file_of_workbook_templates(tmp_path):
    """Built as pip builds it for `pip install .` (from a copy of the project: no build/ left in the checkout)."""
    project = tmp_path / "ictplan"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    for name in ("pipeline", "workbook_templates"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["data-files"]
    assert sorted(f for files in declared.values() for f in files) == sorted(
        f"workbook_templates/{p.name}" for p in (ROOT / "workbook_templates").iterdir() if p.is_file())
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--disable-pip-version-check",
                            "-w", str(tmp_path / "wheel"), str(project)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    members = zipfile.ZipFile(next((tmp_path / "wheel").glob("ictplan-*.whl"))).namelist()
    data = {m.split("/data/", 1)[1] for m in members if ".data/data/" in m}
    assert data == {f"{bundled.INSTALLED.as_posix()}/{p.name}" for p in (ROOT / "workbook_templates").iterdir()
                    if p.is_file()}
