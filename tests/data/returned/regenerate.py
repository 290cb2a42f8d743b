"""Regenerate the committed fixtures of returns as other spreadsheet programs save them.

    .venv/bin/python tests/data/returned/regenerate.py      (needs LibreOffice: soffice on the PATH)

Each fixture is a clean sample return (pipeline.form.sample) written by the template (xlsxwriter), then converted
once by LibreOffice the way an agency's program would save it: Excel 97–2003 .xls, OpenOffice .ods, and an
.xlsx re-saved by LibreOffice. Next to each file, a JSON file holds the values of the same sample, so the
tests compare without LibreOffice. The file names carry the agency code, as agencies' files do.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from pipeline.form.layout import layout_for  # noqa: E402
from pipeline.form.registry import load_registry  # noqa: E402
from pipeline.form.sample import make_sample  # noqa: E402
from pipeline.form.spec import load_spec  # noqa: E402
from pipeline.form.template import build_workbook  # noqa: E402

SEED = 2007
HIDDEN_FIELD = "tong_so_may_tinh"  # excel2003-hidden-row-STC.xls: the .xls fixture with this input's row hidden
MIN_PROJECTS = 3  # enough project rows to see the table survive the conversion
# (file name prefix, agency code, LibreOffice target format)
FIXTURES = (
    ("excel2003", "STC", "xls"),
    ("openoffice", "H-CANLOC", "ods"),
    ("libreoffice-resaved", "SYT", "xlsx"),
)


def to_json(value: Any) -> Any:
    """Dates become {"date": "yyyy-mm-dd"}: JSON has no date type."""
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    return value


def write_expected(target: Path, code: str, sample: Any) -> None:
    """Beside the fixture, the values it was made from: what reading it must give."""
    expected = {
        "file": target.name,
        "agency_code": code,
        "values": {k: to_json(v) for k, v in sample.values.items()},
        "projects": [{k: to_json(v) for k, v in p.items()} for p in sample.projects],
        "tables": {t: [{k: to_json(v) for k, v in r.items()} for r in rows] for t, rows in sample.tables.items()},
    }
    text = json.dumps(expected, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    target.with_suffix(".json").write_text(text, encoding="utf-8")


def sample_for(spec: Any, agency: Any) -> Any:
    """The first sample of this agency (by seed) with a few projects."""
    for attempt in range(100):
        sample = make_sample(spec, agency, random.Random(f"{SEED}/{agency.code}/{attempt}"))
        if len(sample.projects) >= MIN_PROJECTS:
            return sample
    raise RuntimeError(f"no sample with {MIN_PROJECTS} projects for {agency.code}")


def convert(source: Path, fmt: str, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["soffice", "--headless", "--convert-to", fmt, "--outdir", str(out_dir), str(source)],
                   check=True, capture_output=True, timeout=120)
    return out_dir / f"{source.stem}.{fmt}"


def main() -> None:
    if shutil.which("soffice") is None:
        sys.exit("soffice (LibreOffice) is needed: apt-get install -y libreoffice-calc-nogui")
    spec, registry = load_spec(), load_registry()
    with tempfile.TemporaryDirectory() as tmp:
        for prefix, code, fmt in FIXTURES:
            agency = registry.get(code)
            sample = sample_for(spec, agency)
            source = Path(tmp) / f"{prefix}-{code}.xlsx"
            source.write_bytes(build_workbook(spec, agency=agency, values=sample.values, projects=sample.projects,
                                              tables=sample.tables))
            target = HERE / f"{prefix}-{code}.{fmt}"
            shutil.copyfile(convert(source, fmt, Path(tmp) / fmt), target)
            write_expected(target, code, sample)
            print(f"{target.name}: {target.stat().st_size} bytes, {len(sample.projects)} projects")
            if fmt == "xls":
                source.write_bytes(with_hidden_row(source.read_bytes(), spec))
                hidden = HERE / f"{prefix}-hidden-row-{code}.{fmt}"
                shutil.copyfile(convert(source, fmt, Path(tmp) / "hidden"), hidden)
                print(f"{hidden.name}: {hidden.stat().st_size} bytes, the row of {HIDDEN_FIELD} hidden")


def with_hidden_row(data: bytes, spec: Any) -> bytes:
    """The workbook with the row of HIDDEN_FIELD hidden, as Excel's Format > Row > Hide leaves it."""
    row = layout_for(spec).cells[HIDDEN_FIELD].row
    return edit_sheet(data, spec, HIDDEN_FIELD, lambda xml: xml.replace(f'<row r="{row}" ', f'<row r="{row}" hidden="1" ', 1))


def edit_sheet(data: bytes, spec: Any, field_id: str, edit: Callable[[str], str]) -> bytes:
    """The workbook with the XML of the sheet that holds `field_id` changed by `edit`."""
    part = f"xl/worksheets/sheet{[s.id for s in spec.sheets].index(spec.fields[field_id].sheet) + 2}.xml"
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            target.writestr(info, edit(body.decode()).encode() if info.filename == part else body)
    return out.getvalue()


if __name__ == "__main__":
    main()
