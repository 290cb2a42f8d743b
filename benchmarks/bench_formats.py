"""What reading a return costs in each format other programs save, beside the same return as .xlsx.

    .venv/bin/python benchmarks/bench_formats.py [--reads 20] [--repeat 5] [--json]

The returns are the committed fixtures of tests/data/returned/ (each saved once by the program its name gives:
gnumeric's .ods, LibreOffice's .ods, .fods and Excel 2003 XML); the baseline for each is the same return (the
values of its JSON) written as .xlsx by the template, as agencies' copies are, and read in the same run.
Each figure is milliseconds per `read()`, the best of --repeat passes of --reads reads (slower passes
measure other work on the machine), with the preflight guard's share timed alone on the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import reference_seconds

from pipeline.form.registry import load_registry
from pipeline.form.spec import load_spec
from pipeline.form.template import build_workbook
from pipeline.intake import preflight
from pipeline.intake.read import read

RETURNED = Path(__file__).resolve().parent.parent / "tests" / "data" / "returned"
FIXTURES = (  # (label, fixture's JSON)
    ("ods, gnumeric ODF 1.2 extended", "gnumeric-odf-extended-was-corrupt-STP.json"),
    ("ods, gnumeric ODF 1.2 strict", "gnumeric-odf-strict-was-corrupt-SXD.json"),
    ("ods, OpenOffice/LibreOffice", "openoffice-H-CANLOC.json"),
    ("fods, LibreOffice", "libreoffice-fods-was-not-a-spreadsheet-SNV.json"),
    ("xml, Excel 2003 XML (LibreOffice)", "libreoffice-xml2003-was-not-a-spreadsheet-SGTVT.json"),
)


def typed(value: Any) -> Any:
    return dt.date.fromisoformat(value["date"]) if isinstance(value, dict) else value


def best_ms(work: Callable[[], object], reads: int, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(reads):
            work()
        runs.append((time.perf_counter() - started) * 1000 / reads)
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", type=int, default=20, help="reads of each file per pass (default 20)")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes (the best is taken)")
    parser.add_argument("--json", action="store_true", help="print only a JSON object")
    args = parser.parse_args()

    spec, registry = load_spec(), load_registry()
    reference_before = reference_seconds()
    rows = []
    for label, json_name in FIXTURES:
        expected = json.loads((RETURNED / json_name).read_text(encoding="utf-8"))
        data = (RETURNED / expected["file"]).read_bytes()
        xlsx = build_workbook(spec, agency=registry.get(expected["agency_code"]),
                              values={k: typed(v) for k, v in expected["values"].items()},
                              projects=[{k: typed(v) for k, v in p.items()} for p in expected["projects"]])
        xlsx_name = Path(expected["file"]).with_suffix(".xlsx").name
        for name, body in ((expected["file"], data), (xlsx_name, xlsx)):  # warm-up, and a sanity check
            sub = read(body, name=name, spec=spec, registry=registry)
            assert sub.readable and sub.agency_code == expected["agency_code"], (name, sub.issues)
        rows.append({
            "format": label, "file": expected["file"], "bytes": len(data), "xlsx_bytes": len(xlsx),
            "read_ms": best_ms(lambda d=data, n=expected["file"]: read(d, name=n, spec=spec, registry=registry),
                               args.reads, args.repeat),
            "preflight_ms": best_ms(lambda d=data, n=expected["file"]: preflight.check_file(d, n),
                                    args.reads, args.repeat),
            "xlsx_read_ms": best_ms(lambda d=xlsx, n=xlsx_name: read(d, name=n, spec=spec, registry=registry),
                                    args.reads, args.repeat),
        })
        rows[-1]["ratio"] = rows[-1]["read_ms"] / rows[-1]["xlsx_read_ms"]
    reference_after = reference_seconds()

    result = {"reads": args.reads, "repeat": args.repeat, "rows": rows,
              "reference_s_before": round(reference_before, 3), "reference_s_after": round(reference_after, 3)}
    if not args.json:
        print(f"machine speed: reference loop {reference_before:.2f} s before, {reference_after:.2f} s after "
              "(lower is faster)")
        print(f"ms per read(), best of {args.repeat} passes of {args.reads} reads of each file")
        print(f"{'format, saved by':36} {'KB':>6} {'read':>7} {'preflight':>10} {'same .xlsx':>11} {'ratio':>6}")
        for row in rows:
            print(f"{row['format']:36} {row['bytes'] / 1024:6.0f} {row['read_ms']:7.2f} {row['preflight_ms']:10.2f} "
                  f"{row['xlsx_read_ms']:11.2f} {row['ratio']:5.1f}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
