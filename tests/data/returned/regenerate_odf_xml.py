"""Regenerate the fixtures of issue 14's formats: .ods re-saved by gnumeric, flat ODF (.fods) and Excel 2003
XML Spreadsheet (.xml) saved by LibreOffice.

    .venv/bin/python tests/data/returned/regenerate_odf_xml.py   (needs ssconvert, soffice, /usr/bin/python3-uno)

Each fixture is a clean sample return written by the template (as regenerate.py makes them), then saved once
by the program its name gives:

- gnumeric `ssconvert` as ODF 1.2 extended and as ODF 1.2 strict (.ods): every one was FILE_CORRUPT;
- LibreOffice `soffice --convert-to fods` (.fods) and LibreOffice's "MS Excel 2003 XML" filter (.xml, through
  lo_export.py, which says why the filter needs a LibreOffice document rather than the .xlsx opened as is):
  both were refused as not a spreadsheet.

A JSON file beside each holds the sample's values (the same format as regenerate.py's), so the tests compare
without these programs. One more fixture per program has an input row hidden and an input cell merged with
the cell beside it (the "hidden-row-merged" ones), to see those still reported in each format.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
sys.path.insert(0, str(HERE))

from regenerate import HIDDEN_FIELD, edit_sheet, sample_for, with_hidden_row, write_expected  # noqa: E402

from pipeline.form.layout import layout_for  # noqa: E402
from pipeline.form.registry import load_registry  # noqa: E402
from pipeline.form.spec import load_spec  # noqa: E402
from pipeline.form.template import build_workbook  # noqa: E402

MERGED_FIELD = "so_may_chu"  # its cell merged with the notes cell beside it
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-uno


def gnumeric(kind: str):
    def save(source: Path, target: Path) -> None:
        subprocess.run(["ssconvert", "-T", f"Gnumeric_OpenCalc:{kind}", str(source), str(target)],
                       check=True, capture_output=True, timeout=120)
    return save


def libreoffice_fods(source: Path, target: Path) -> None:
    out = source.parent / "fods"  # beside the source, in the temporary folder
    subprocess.run(["soffice", "--headless", "--convert-to", "fods", "--outdir", str(out), str(source)],
                   check=True, capture_output=True, timeout=120)
    shutil.move(out / f"{source.stem}.fods", target)


def libreoffice_xml2003(source: Path, target: Path) -> None:
    done = subprocess.run([SYSTEM_PYTHON, str(HERE / "lo_export.py"), str(source), str(target), "MS Excel 2003 XML"],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        sys.exit(f"lo_export.py failed on {source.name}:\n{done.stderr}")


# (file name without the agency code, agency code, how it is saved, extension)
FIXTURES = (
    ("gnumeric-odf-extended-was-corrupt", "STP", gnumeric("odf"), "ods"),
    ("gnumeric-odf-strict-was-corrupt", "SXD", gnumeric("openoffice"), "ods"),
    ("libreoffice-fods-was-not-a-spreadsheet", "SNV", libreoffice_fods, "fods"),
    ("libreoffice-xml2003-was-not-a-spreadsheet", "SGTVT", libreoffice_xml2003, "xml"),
)
# the same programs on a return with a hidden input row and a merged input cell
EDITED = (
    ("gnumeric-odf-extended-hidden-row-merged", "STP", gnumeric("odf"), "ods"),
    ("libreoffice-fods-hidden-row-merged", "SNV", libreoffice_fods, "fods"),
    ("libreoffice-xml2003-hidden-row-merged", "SGTVT", libreoffice_xml2003, "xml"),
)


def with_hidden_row_and_merged_input(data: bytes, spec: Any) -> bytes:
    """The workbook with HIDDEN_FIELD's row hidden (Format > Row > Hide) and MERGED_FIELD's cell merged with
    the cell right of it (Merge Cells, keeping the first value), edited in the sheet's XML."""
    assert spec.fields[HIDDEN_FIELD].sheet == spec.fields[MERGED_FIELD].sheet
    cell = layout_for(spec).cells[MERGED_FIELD]
    merged = f"{cell.a1}:{chr(ord(cell.a1[0]) + 1)}{cell.row}"

    def merge(xml: str) -> str:
        count = re.search(r'<mergeCells count="(\d+)">', xml)
        assert count is not None
        return xml.replace(count.group(), f'<mergeCells count="{int(count.group(1)) + 1}"><mergeCell ref="{merged}"/>', 1)

    return edit_sheet(with_hidden_row(data, spec), spec, MERGED_FIELD, merge)


def main() -> None:
    for program in ("ssconvert", "soffice", SYSTEM_PYTHON):
        if shutil.which(program) is None:
            sys.exit(f"{program} is needed: apt-get install -y gnumeric libreoffice-calc-nogui python3-uno")
    spec, registry = load_spec(), load_registry()
    with tempfile.TemporaryDirectory() as tmp:
        for edited, fixtures in ((False, FIXTURES), (True, EDITED)):
            for prefix, code, save, extension in fixtures:
                agency = registry.get(code)
                sample = sample_for(spec, agency)
                data = build_workbook(spec, agency=agency, values=sample.values, projects=sample.projects,
                                      tables=sample.tables)
                if edited:
                    data = with_hidden_row_and_merged_input(data, spec)
                source = Path(tmp) / f"{prefix}-{code}.xlsx"
                source.write_bytes(data)
                target = HERE / f"{prefix}-{code}.{extension}"
                save(source, target)
                print(f"{target.name}: {target.stat().st_size} bytes, {len(sample.projects)} projects")
                if not edited:
                    write_expected(target, code, sample)


if __name__ == "__main__":
    main()
