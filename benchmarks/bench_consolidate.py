"""`ictplan consolidate` end to end against a hand-written pandas/pandera pipeline and the unzip floor.

    .venv/bin/python benchmarks/bench_consolidate.py [--n 1000] [--seed 2007] [--naive-files K] [--no-naive] [--json]
    .venv/bin/python benchmarks/bench_consolidate.py --n 1000 --n 10000      (or --compare): how it scales

(`make bench` runs it with --n 1000.) Generates N clean sample returns for a synthetic registry of N
agencies (A0001…, both groups), cached under benchmarks/.cache/ (see benchmarks/common.py), then times, in
one run:

- ours: `python -m pipeline consolidate --inbox … --out … --registry … --json` on a fresh ledger, as a
  separate process, like a user runs it (interpreter start included). Per-stage seconds come from the
  `seconds` field of its JSON report; peak RSS is the child's own `ru_maxrss` (os.wait4: that child and
  its descendants, the largest single process);
- incremental: the same command again over the same inbox: nothing new;
- naive: what a competent analyst writes by hand, in this process: per file
  `pandas.read_excel(sheet_name=None, engine="openpyxl")`; the values picked from the template's cells
  (yes/no and choice labels mapped to codes, the rest as read); a one-row frame of the same columns and
  dtypes as ours (`pipeline.validation.schemas.return_frame`) validated with our own schema,
  `pipeline.validation.schemas.return_schema(spec).validate(frame, lazy=True)`; then `pd.concat` of the rows and
  `to_excel`. For N ≥ 2000 it is timed on the first 1,000 files and
  extrapolated linearly (the output says so);
- floor: decompressing every file's ZIP members with zipfile, and nothing else.

Prints a table, then the same figures as one JSON object on the last line (`--json` prints only that). Given
two sizes, it times both one after the other (their returns generated first) and then prints each stage's
time at the larger size over its time at the smaller, against the limits (for 10× the returns: each stage
≤ 12×, the whole run ≤ 10×).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from common import ROOT, peak_rss_mb, reference_seconds, sample_inbox

STAGES = ("take_in", "read", "imports", "validate", "ledger", "summary", "exports", "feedback")
STAGE_LABELS = {"take_in": "list, load, hash", "read": "archive + read (wait for workers)",
                "imports": "import pandera (while workers read)", "validate": "and encode the ledger's JSON",
                "exports": "(the wait, when written beside)"}
NAIVE_SUBSET = 1000  # files the naive pipeline is timed on when N ≥ 2000


def run_child(args: list[str]) -> dict[str, Any]:
    """Run `python -m pipeline <args>`; wall seconds, the child's peak RSS and its parsed JSON output."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "pipeline", *args], cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=err)
        assert child.stdout is not None
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not every child's so far
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        child.stdout.close()
        if child.returncode not in (0, 1):
            err.seek(0)
            raise SystemExit(f"{' '.join(args[:1])} failed ({child.returncode}): {err.read().decode()[-2000:]}")
    report = json.loads(out) if out.strip().startswith((b"{", b"[")) else None
    return {"wall_s": wall, "peak_rss_mb": peak_rss_mb(usage.ru_maxrss), "report": report,
            "exit": child.returncode}


def time_ours(inbox: Path, registry: Path, out: Path) -> dict[str, Any]:
    args = ["consolidate", "--inbox", str(inbox), "--out", str(out), "--registry", str(registry), "--json"]
    result = run_child(args)
    report = result.pop("report")
    result["seconds"] = {stage: report["seconds"].get(stage, 0.0) for stage in STAGES}
    result["cpu_seconds"] = {stage: report["cpu_seconds"].get(stage, 0.0) for stage in STAGES}
    result["counts"] = report["counts"]
    return result


def time_floor(paths: list[Path]) -> float:
    """Decompress every member of every file: the least any reader must do."""
    started = time.perf_counter()
    for path in paths:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                archive.read(info)
    return time.perf_counter() - started


def time_naive(paths: list[Path], out: Path) -> tuple[float, int]:
    """The hand-written pipeline over `paths`; (seconds, returns with failure cases)."""
    import pandas as pd
    import pandera.pandas as pa

    from pipeline.form.layout import layout_for
    from pipeline.form.spec import load_spec
    from pipeline.intake.submission import Submission
    from pipeline.validation.schemas import return_frame, return_schema

    spec = load_spec()
    cells = layout_for(spec).cells
    schema = return_schema(spec)
    choices = {name: {key: c.code for c in items for key in (c.code, c.vi)} for name, items in spec.choices.items()}
    started = time.perf_counter()
    rows, failed = [], 0
    for path in paths:
        sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl", header=None)
        values: dict[str, Any] = {}
        for field_id, ref in cells.items():
            frame = sheets.get(ref.sheet)
            ok = frame is not None and ref.row - 1 < frame.shape[0] and ref.col < frame.shape[1]
            values[field_id] = _naive_value(spec.fields[field_id], frame.iat[ref.row - 1, ref.col] if ok else None,
                                            choices)
        one = return_frame([Submission(path.name, values=values, readable=True)], spec)
        try:
            schema.validate(one, lazy=True)
        except pa.errors.SchemaErrors:
            failed += 1
        rows.append(one.assign(file=path.name))
    pd.concat(rows, ignore_index=True).to_excel(out / "naive.xlsx", index=False)
    return time.perf_counter() - started, failed


def _naive_value(field: Any, raw: Any, choices: dict[str, dict[str, str]]) -> Any:
    """The conversions an analyst writes once: blanks, yes/no, choice labels to codes; the rest as read."""
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    if field.value_type == "bool":
        return {"Có": True, "Không": False}.get(raw, raw)
    if field.value_type == "choice" and field.choices:
        return choices[field.choices].get(raw, raw)
    return raw


def startup_seconds() -> float:
    """`python -m pipeline --help`: the interpreter and the CLI's imports."""
    return min(run_child(["--help"])["wall_s"] for _ in range(3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, action="append", default=None,
                        help="returns and agencies (default 1000); given twice (--n 1000 --n 10000), both sizes are "
                             "timed one after the other and each stage's ratio is printed")
    parser.add_argument("--compare", action="store_true", help="the same as --n 1000 --n 10000")
    parser.add_argument("--seed", type=int, default=2007)
    parser.add_argument("--naive-files", type=int, default=None,
                        help=f"time the naive pipeline on this many files (default: all, or {NAIVE_SUBSET} "
                             "when N ≥ 2000) and extrapolate linearly")
    parser.add_argument("--no-naive", action="store_true", help="do not time the naive pipeline (minutes)")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    sizes = sorted(set(args.n or ([1000, 10000] if args.compare else [1000])))
    inboxes = {n: sample_inbox(n, args.seed, quiet=args.json) for n in sizes}  # generated before any timing
    results = [measure(n, *inboxes[n], args) for n in sizes]
    if not args.json:
        for result in results:
            print_table(result)
            print()
    if len(results) == 1:
        print(json.dumps(_rounded(results[0]), ensure_ascii=False))
        return
    ratios = scale_ratios(results[0], results[-1])
    if not args.json:
        print_ratios(results[0], results[-1], ratios)
    print(json.dumps(_rounded({"runs": results, "scale": ratios}), ensure_ascii=False))


def measure(n: int, inbox: Path, registry: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One size: ours, incremental, startup, the floor and (unless --no-naive) the naive pipeline."""
    load_before = os.getloadavg()[0]  # this machine is shared: a busy one explains slow figures
    speed_before = reference_seconds()
    paths = sorted(inbox.glob("*.xlsx"))
    naive_n = 0 if args.no_naive else min(args.naive_files or (NAIVE_SUBSET if n >= 2000 else n), len(paths))
    with tempfile.TemporaryDirectory(prefix="ictplan-bench-") as work:
        out = Path(work) / "out"
        ours = time_ours(inbox, registry, out)
        again = time_ours(inbox, registry, out)
        startup = startup_seconds()
        floor = time_floor(paths)
        naive_measured, naive_failed = time_naive(paths[:naive_n], Path(work)) if naive_n else (0.0, 0)
    naive = naive_measured * len(paths) / naive_n if naive_n else None
    files = len(paths)
    return {
        "n": n, "seed": args.seed, "files": files,
        "ours": {**ours, "files_per_s": files / ours["wall_s"]},
        "incremental": {**again, "files_per_s": files / again["wall_s"]},
        "naive": None if naive is None else {
            "wall_s": naive, "measured_files": naive_n, "measured_s": naive_measured,
            "extrapolated": naive_n < files, "files_per_s": files / naive, "returns_with_failures": naive_failed,
            "schema": "pipeline.validation.schemas.return_schema(spec), one-row frame per return"},
        "floor": {"wall_s": floor, "files_per_s": files / floor},
        "startup_s": startup,
        "machine": {"cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()[0],
                    "reference_s_before": speed_before, "reference_s_after": reference_seconds()},
        "ratios": {"naive_over_ours": None if naive is None else naive / ours["wall_s"],
                   "ours_over_floor": ours["wall_s"] / floor},
    }


STAGE_LIMIT, WHOLE_LIMIT = 12.0, 10.0  # at 10× the returns: each stage at most 12× the time, the whole run 10×
MEASURABLE = 0.05  # seconds: below, a stage's ratio says nothing (its time is the timer's noise)


def scale_ratios(small: dict[str, Any], large: dict[str, Any]) -> dict[str, Any]:
    """Each stage's time at the larger size over its time at the smaller, wall and CPU, with its limit scaled to
    the sizes' ratio. A stage is judged on its CPU time, the whole run on its wall time.

    A stage's CPU time is its work, wherever it was done (this process, and the workers and forked processes that
    did part of it), counted alike at both sizes. Its wall time is not the same measure at both: below 2,000
    returns the readers have finished when the returns are validated and recorded, and the validation runs beside
    the encoding of the ledger's JSON, on the other core; in a larger round the two readers read the next chunk
    meanwhile, so the validation, the encoding and the recording share two cores with them, one after another
    (and on a shared machine, with everyone's processes). The whole run's wall time is what the user waits for:
    it includes all of that. The exports are also compared with the summary they are written beside below
    2,000 returns, as "summary + exports"."""
    scale = large["n"] / small["n"]
    a, b = small["ours"]["seconds"], large["ours"]["seconds"]
    ca, cb = small["ours"]["cpu_seconds"], large["ours"]["cpu_seconds"]
    rows = {stage: (a[stage], b[stage], ca[stage], cb[stage]) for stage in STAGES}
    rows["summary + exports"] = (a["summary"] + a["exports"], b["summary"] + b["exports"],
                                 ca["summary"] + ca["exports"], cb["summary"] + cb["exports"])
    rows["whole run"] = (small["ours"]["wall_s"], large["ours"]["wall_s"], None, None)
    out = {}
    for name, (first, second, cpu_first, cpu_second) in rows.items():
        whole = name == "whole run"
        limit = (WHOLE_LIMIT if whole else STAGE_LIMIT) * scale / 10
        ratio = second / first if first >= MEASURABLE else None
        cpu_ratio = cpu_second / cpu_first if not whole and cpu_first >= MEASURABLE else None
        judged = ratio if whole else cpu_ratio
        out[name] = {"small_s": first, "large_s": second, "ratio": ratio, "cpu_small_s": cpu_first,
                     "cpu_large_s": cpu_second, "cpu_ratio": cpu_ratio, "limit": limit,
                     "judged_on": "wall" if whole else "cpu", "within": None if judged is None else judged <= limit}
    return out


def print_ratios(small: dict[str, Any], large: dict[str, Any], ratios: dict[str, Any]) -> None:
    print(f"scale: {large['n']} returns against {small['n']} (the limits: each stage's CPU time ≤ {STAGE_LIMIT:g}×, "
          f"the whole run's wall time ≤ {WHOLE_LIMIT:g}× for 10× the returns)")
    print(f"{'':22}{'wall s':>9}{'wall s':>9}{'':9}{'CPU s':>9}{'CPU s':>9}")
    print(f"{'':22}{small['n']:>9}{large['n']:>9}{'ratio':>9}{small['n']:>9}{large['n']:>9}{'ratio':>9}{'limit':>8}")

    def times(first: float | None, second: float | None, ratio: float | None) -> str:
        if first is None or second is None:
            return f"{'':27}"
        return f"{first:9.2f}{second:9.2f}{'—' if ratio is None else format(ratio, '.1f') + 'x':>9}"

    for name, row in ratios.items():
        verdict = "" if row["within"] is None else ("  ok" if row["within"] else "  OVER")
        print(f"{'  ' + name:22}{times(row['small_s'], row['large_s'], row['ratio'])}"
              f"{times(row['cpu_small_s'], row['cpu_large_s'], row['cpu_ratio'])}{row['limit']:7.0f}x{verdict}")


def print_table(r: dict[str, Any]) -> None:
    ours, again, naive, floor = r["ours"], r["incremental"], r["naive"], r["floor"]
    s = ours["seconds"]
    m = r["machine"]
    print(f"{r['files']} clean returns, {r['n']} agencies (seed {r['seed']}); {m['cpus']} CPUs, load average "
          f"{m['load_before']:.2f} before, {m['load_after']:.2f} after")
    print(f"machine speed: reference loop {m['reference_s_before']:.2f} s before, {m['reference_s_after']:.2f} s after "
          "(lower is faster)")
    cpu = ours["cpu_seconds"]
    print(f"{'':46}{'seconds':>9}{'files/s':>10}{'peak RSS MB':>13}{'CPU s':>8}")
    print(f"{'ours: ictplan consolidate':46}{ours['wall_s']:9.2f}{ours['files_per_s']:10.0f}"
          f"{ours['peak_rss_mb']:13.0f}")
    for stage in STAGES:
        label = f"{stage}: {STAGE_LABELS[stage]}" if stage in STAGE_LABELS else stage
        print(f"{'  ' + label:46}{s[stage]:9.2f}{'':23}{cpu[stage]:8.2f}")
    other = ours["wall_s"] - sum(s.values())
    print(f"{'  start, imports, lock, other':46}{other:9.2f}")
    print(f"{'incremental (nothing new)':46}{again['wall_s']:9.2f}{again['files_per_s']:10.0f}"
          f"{again['peak_rss_mb']:13.0f}")
    if naive is not None:
        extrapolated = f"  (timed on {naive['measured_files']} files, extrapolated)" if naive["extrapolated"] else ""
        print(f"{'naive: pandas + pandera per file':46}{naive['wall_s']:9.2f}{naive['files_per_s']:10.0f}"
              f"{'':13}{extrapolated}")
    print(f"{'floor: unzip every member':46}{floor['wall_s']:9.2f}{floor['files_per_s']:10.0f}")
    print(f"{'startup: ictplan --help':46}{r['startup_s']:9.2f}")
    naive_ratio = f"naive / ours: {r['ratios']['naive_over_ours']:.1f}x    " if naive is not None else ""
    print(f"{naive_ratio}ours / floor: {r['ratios']['ours_over_floor']:.1f}x")


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


if __name__ == "__main__":
    main()
