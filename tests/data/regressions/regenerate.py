"""Regenerate the fixtures of returns that clerks edited or that other programs saved (issue 14, reading).

    .venv/bin/python tests/data/regressions/regenerate.py [FILE...]   (LibreOffice, python3-uno, gnumeric)

Each fixture starts as a clean sample return of its own agency (so that one consolidation can take them all),
written by the template, then goes through the real program named in its file name: LibreOffice driven through
python3-uno (lo_edit.py, run by the system python3, which has the uno module), openpyxl, or gnumeric's
ssconvert. expected.json records, for each file, the agency, the program and edit, and the truth: the sample's
values and projects (what indicators.csv and projects.csv must hold if the return is accepted).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

import openpyxl  # noqa: E402

from pipeline.form.layout import layout_for  # noqa: E402
from pipeline.form.registry import load_registry  # noqa: E402
from pipeline.form.spec import load_spec  # noqa: E402
from pipeline.form.template import build_workbook  # noqa: E402


def _returned() -> Any:
    """The sibling script of the converted fixtures: the same samples, the same JSON for their values."""
    found = importlib.util.spec_from_file_location("returned_regenerate", HERE.parent / "returned" / "regenerate.py")
    assert found is not None and found.loader is not None
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


_RETURNED = _returned()
sample_for, to_json = _RETURNED.sample_for, _RETURNED.to_json
SHEET, TABLE = "Hiện trạng", "Dự án"
OLD, NEW = "Hiện trạng (cũ)", "Hiện trạng 2007"
# Last year's figures, as a clerk keeps them on the old copy: each of these counts a little lower (kept
# consistent with one another, so that only the sheet they come from can tell them apart)
OLD_COUNTS = {"tong_so_cbccvc": 3, "so_cbcc_su_dung_may_tinh": 5, "tong_so_may_tinh": 5, "so_may_xach_tay": 0,
              "so_may_ket_noi_lan": 5, "so_may_ket_noi_internet": 5, "so_may_internet_bang_rong": 5,
              "so_may_co_diet_virus": 5}

# (file name, agency code, program, edit, arguments)
FIXTURES: tuple[tuple[str, str, str, str, dict[str, Any]], ...] = (
    ("gnumeric-biff8-number-formats-SKHDT.xls", "SKHDT", "gnumeric", "biff8", {}),
    ("gnumeric-excel95-cp1258-SNV.xls", "SNV", "gnumeric", "biff7", {"language": "vi"}),
    ("gnumeric-excel95-cp1252-STP.xls", "STP", "gnumeric", "biff7", {}),
    ("libreoffice-deleted-table-row-SCN.xlsx", "SCN", "libreoffice", "delete_row", {"sheet": TABLE, "row": 30}),
    ("libreoffice-deleted-spacer-row-STMDL.xlsx", "STMDL", "libreoffice", "delete_row", {"sheet": SHEET, "row": 4}),
    ("libreoffice-duplicate-sheet-renamed-SNNPTNT.xlsx", "SNNPTNT", "libreoffice", "duplicate_sheet",
     {"copy": OLD, "copy_cells": "old", "rename": NEW}),
    ("libreoffice-duplicate-sheet-renamed-STS.xls", "STS", "libreoffice", "duplicate_sheet",
     {"copy": OLD, "copy_cells": "old", "rename": NEW}),
    ("libreoffice-duplicate-sheet-renamed-SGTVT.ods", "SGTVT", "libreoffice", "duplicate_sheet",
     {"copy": OLD, "copy_cells": "old", "rename": NEW}),
    ("openpyxl-duplicate-sheet-renamed-SXD.xlsx", "SXD", "openpyxl", "duplicate_sheet",
     {"copy": OLD, "copy_cells": "old", "rename": NEW}),
    # the other way round: the original renamed as the old copy, this year's figures typed into the copy
    ("libreoffice-duplicate-sheet-copy-holds-new-SGDDT.xlsx", "SGDDT", "libreoffice", "duplicate_sheet",
     {"copy": NEW, "rename": OLD, "original_cells": "old"}),
    ("libreoffice-duplicate-sheet-kept-name-STNMT.xlsx", "STNMT", "libreoffice", "duplicate_sheet",
     {"copy": OLD, "copy_cells": "old"}),
    ("openpyxl-duplicate-sheet-kept-name-SKHCN.xlsx", "SKHCN", "openpyxl", "duplicate_sheet",
     {"copy": OLD, "copy_cells": "old"}),
    ("libreoffice-duplicate-table-renamed-SLDTBXH.xlsx", "SLDTBXH", "libreoffice", "duplicate_sheet",
     {"sheet": TABLE, "copy": "Dự án (cũ)", "copy_cells": "old_project", "rename": "Dự án 2007"}),
)


def old_cells(spec: Any, values: dict[str, Any], which: str) -> dict[str, Any]:
    """A1 → value of last year's figures on the old copy."""
    layout = layout_for(spec)
    if which == "old_project":  # last year's list: its first project was another one
        table = layout.table
        return {table.cell(table.first_row, "ten_du_an"): "Dự án năm trước"}
    return {layout.cells[f].a1: max(0, values[f] - less) for f, less in OLD_COUNTS.items()
            if isinstance(values.get(f), int)}


def libreoffice(source: Path, target: Path, edit: str, args: dict[str, Any]) -> None:
    subprocess.run(["/usr/bin/python3", str(HERE / "lo_edit.py"), str(source), str(target), target.suffix[1:],
                    edit, json.dumps(args, ensure_ascii=False)], check=True, timeout=300)


def with_openpyxl(source: Path, target: Path, args: dict[str, Any]) -> None:
    """openpyxl's copy_worksheet (the copy goes last), then the titles and figures set as a script would."""
    book = openpyxl.load_workbook(source)
    original = book[args["sheet"]]
    copy = book.copy_worksheet(original)
    copy.title = args["copy"]
    for target_sheet, key in ((copy, "copy_cells"), (original, "original_cells")):
        for ref, value in args.get(key, {}).items():
            target_sheet[ref] = value
    if args.get("rename"):
        original.title = args["rename"]
    book.save(target)


def gnumeric(source: Path, target: Path, edit: str, args: dict[str, Any]) -> None:
    """ssconvert's Excel 97 (BIFF8) or Excel 5.0/95 (BIFF7) writer. For BIFF7 it picks the code page from the
    Windows language it is told (WINDOWS_LANGUAGE): Vietnamese (1258), else Western (1252)."""
    env = dict(os.environ)
    if args.get("language"):
        env["WINDOWS_LANGUAGE"] = args["language"]
    exporter = {"biff8": "Gnumeric_Excel:excel_biff8", "biff7": "Gnumeric_Excel:excel_biff7"}[edit]
    subprocess.run(["ssconvert", "-T", exporter, str(source), str(target)], check=True, env=env,
                   capture_output=True, timeout=120)


def main(names: list[str]) -> None:
    """Rebuild the fixtures named (all of them by default) and their entries of expected.json."""
    for tool in ("soffice", "ssconvert", "/usr/bin/python3"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (apt-get install -y libreoffice-calc-nogui python3-uno gnumeric)")
    unknown = set(names) - {f[0] for f in FIXTURES}
    if unknown:
        sys.exit(f"no such fixture: {', '.join(sorted(unknown))}")
    spec, registry = load_spec(), load_registry()
    manifest_path = HERE / "expected.json"
    old = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else []
    entries = {entry["file"]: entry for entry in old}
    with tempfile.TemporaryDirectory() as tmp:
        for name, code, program, edit, args in FIXTURES:
            if names and name not in names:
                continue
            agency = registry.get(code)
            sample = sample_for(spec, agency)
            source = Path(tmp) / f"{code}.xlsx"
            source.write_bytes(build_workbook(spec, agency=agency, values=sample.values, projects=sample.projects,
                                              tables=sample.tables))
            args = {"sheet": SHEET, **args}
            for key in ("copy_cells", "original_cells"):
                if isinstance(args.get(key), str):
                    args[key] = old_cells(spec, sample.values, args[key])
            target = HERE / name
            if program == "libreoffice":
                libreoffice(source, target, edit, args)
            elif program == "openpyxl":
                with_openpyxl(source, target, args)
            else:
                gnumeric(source, target, edit, args)
            entries[name] = {
                "file": name, "agency_code": code, "program": program, "edit": edit, "args": args,
                "values": {k: to_json(v) for k, v in sample.values.items()},
                "projects": [{k: to_json(v) for k, v in p.items()} for p in sample.projects],
            }
            print(f"{name}: {target.stat().st_size} bytes")
    manifest = [entries[f[0]] for f in FIXTURES if f[0] in entries]
    text = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    manifest_path.write_text(text, encoding="utf-8")

if __name__ == "__main__":
    main(sys.argv[1:])
