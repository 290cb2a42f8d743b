"""Regenerate the committed fixtures of returns as clerks edit them with LibreOffice.

    .venv/bin/python tests/data/clerks/regenerate.py      (needs LibreOffice and python3-uno)

A clean sample return of STC (pipeline.form.sample), opened in LibreOffice Calc (en-US locale), where a clerk
types Vietnamese-style numbers ("2.003" for 2003), which Calc takes as decimals; saved as .xlsx. The
tests know the cells from the spec and the values from the same sample, so they need neither program.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from pipeline.form.layout import layout_for  # noqa: E402
from pipeline.form.registry import load_registry  # noqa: E402
from pipeline.form.sample import make_sample  # noqa: E402
from pipeline.form.spec import load_spec  # noqa: E402
from pipeline.form.template import build_workbook  # noqa: E402

SEED = "2007/clerks"
CODE = "STC"
# field (or project column) → what the clerk types: a dot grouping thousands, as Vietnamese write it
TYPED_DOT_GROUPED = {"tong_so_cbccvc": "2.003", "nam_khai_truong_website": "2.003", "nam_bat_dau": "2.008"}
FIXTURE = f"libreoffice-dot-grouped-{CODE}.xlsx"


def main() -> None:
    spec, registry = load_spec(), load_registry()
    agency = registry.get(CODE)
    sample = make_sample(spec, agency, random.Random(SEED))
    layout = layout_for(spec)
    edits = []
    for field_id, text in TYPED_DOT_GROUPED.items():
        if field_id in layout.cells:
            ref = layout.cells[field_id]
            edits.append([ref.sheet, ref.a1, text])
        else:  # a project column: the first project's row
            edits.append([layout.table.sheet, layout.table.cell(layout.table.first_row, field_id), text])
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.xlsx"
        source.write_bytes(build_workbook(spec, agency=agency, values=sample.values, projects=sample.projects,
                                          tables=sample.tables))
        subprocess.run(["/usr/bin/python3", str(HERE / "lo_edit.py"), str(source), str(HERE / FIXTURE),
                        json.dumps(edits)], check=True, timeout=300)
    print(f"{FIXTURE}: {(HERE / FIXTURE).stat().st_size} bytes; typed {edits}")


if __name__ == "__main__":
    main()
