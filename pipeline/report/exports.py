"""CSV exports of a Summary, for other tools: ``out_dir/data/{indicators,projects,issues,submissions}.csv``,
one file per other table of the form, named by its id (``kh_2008.csv``, ``dvc.csv``),
and ``data/round.json``, the few facts that say whose figures they are (form id, version, round, province,
when, agencies n/m): what `ictplan rollup` checks before it adds a province's exports to the nation's.
A report round compared with its plan round (the 2008 report) adds ``data/plan_targets.csv`` and
``data/plan_money.csv``: the "Thực hiện so với kế hoạch" targets (PlanVsResult.targets) and the projects'
money planned, allocated and disbursed (PlanVsResult.project_totals), every level, and ``plan_round`` in
round.json.

- UTF-8 with a BOM (utf-8-sig): Excel opens Vietnamese text correctly only when the BOM is there.
- Written atomically (pipeline.atomic), CRLF line ends (RFC 4180).
- CSV injection (OWASP): a text cell that came from an agency (free-text fields, file names, issue values
  and messages) and starts with = + - @ tab or carriage return gets a leading apostrophe, so a spreadsheet
  never runs it as a formula. Only text is touched: a negative number stays a number.
- Values are the Summary's, unchanged: numbers as numbers, yes/no as True/False, dates ISO (yyyy-mm-dd),
  times ISO (yyyy-mm-ddThh:mm:ss), choices as their codes, blanks empty.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from pipeline.atomic import write_atomic
from pipeline.form.spec import TEXT_TYPES, Field, FormSpec
from pipeline.report import consolidate as C

FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r")
SUBMISSION_COLUMNS = ["id", "sha256", "file", "agency", "received_at", "recorded_at", "status", "counted",
                      "supersedes", "superseded_by", "errors", "warnings", "infos", "form_version"]


def write_exports(summary: C.Summary, spec: FormSpec, out_dir: Path) -> list[Path]:
    """Write the CSV files and the manifest; returns the paths written (a timestamped sibling when a file is locked).
    One table at a time, streamed to its file: at 10,000 agencies a table's CSV text is 100 MB."""
    folder = Path(out_dir) / "data"
    tables: dict[str, Callable[[], tuple[pd.DataFrame, set[str]]]] = {
        "indicators.csv": lambda: (indicators_frame(summary, spec), _text_fields(spec)),
        "projects.csv": lambda: (projects_frame(summary, spec), _text_columns(spec) | {"duplicate_of"}),
        "issues.csv": lambda: (summary.issues.reindex(columns=C.ISSUE_COLUMNS), {"file", "value", "message_vi", "message_en"}),
        "submissions.csv": lambda: (summary.submissions.reindex(columns=SUBMISSION_COLUMNS), {"file"}),
    }
    for table in spec.other_tables:
        text = {c.id for c in table.columns if c.type in TEXT_TYPES}
        tables[f"{table.id}.csv"] = lambda table=table, text=text: (whole_numbers(
            summary.tables.get(table.id, pd.DataFrame()).reindex(
                columns=["agency", "group", "submission_id", "row", *(c.id for c in table.columns)]),
            _whole_columns(table.columns)), text)
    comparison = summary.comparison
    if comparison is not None:
        tables[PLAN_TARGETS] = lambda: (comparison.targets, set())
        tables[PLAN_MONEY] = lambda: (comparison.project_totals, set())
    written = [write_atomic(folder / name, lambda path, table=table: write_csv(*table(), path), fallback=True)
               for name, table in tables.items()]
    return [*written, write_atomic(folder / MANIFEST, manifest_bytes(summary, spec), fallback=True)]


MANIFEST = "round.json"
PLAN_TARGETS, PLAN_MONEY = "plan_targets.csv", "plan_money.csv"  # a report round's plan against its result


def manifest_bytes(summary: C.Summary, spec: FormSpec) -> bytes:
    """The exports' identity: which form, version and round, which province, as at when, and how many of the
    registry's agencies are counted (n of m). Keys are stable: `ictplan rollup` reads them."""
    manifest = {"form_id": summary.form_id, "form_version": summary.form_version, "round": summary.round,
                "province": str(spec.form.get("province_vi", "")), "issuer": summary.issuer_vi,
                "generated_at": summary.generated_at.isoformat(), "agencies": len(summary.agencies),
                "reported": len(summary.values), "spec_sha256": summary.spec_sha256}
    if summary.comparison is not None:
        manifest["plan_round"] = summary.comparison.plan_round
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def indicators_frame(summary: C.Summary, spec: FormSpec) -> pd.DataFrame:
    """One row per counted return: agency code, group, then every spec field id in spec order."""
    values = summary.values.reindex(columns=list(spec.fields))
    groups = summary.agencies["group"].reindex(values.index)
    frame = values.copy()
    frame.insert(0, "group", groups.to_numpy())
    frame.insert(0, "agency", values.index.to_numpy())
    return frame.reset_index(drop=True)


def projects_frame(summary: C.Summary, spec: FormSpec) -> pd.DataFrame:
    assert spec.table is not None
    columns = ["project_id", "agency", "group", "submission_id", "row", "area",
               *(c.id for c in spec.table.columns), "duplicate_of", "duplicate_count"]
    return whole_numbers(summary.projects.reindex(columns=columns), _whole_columns(spec.table.columns))


def whole_numbers(frame: pd.DataFrame, columns: set[str]) -> pd.DataFrame:
    """Whole-number columns (years, counts, levels) written as 2008, not 2008.0: a blank among them made
    pandas hold them as floats. A column holding anything but whole numbers is left as it is."""
    whole = {}
    for column in columns & set(frame.columns):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        present = frame[column].notna()
        if (numbers.notna() == present).all() and (numbers.dropna() % 1 == 0).all():
            whole[column] = numbers.astype("Int64")
    return frame.assign(**whole) if whole else frame


def _whole_columns(columns: Iterable[Field]) -> set[str]:
    return {c.id for c in columns if c.type in ("int", "year")}


def csv_bytes(frame: pd.DataFrame, text_columns: set[str]) -> bytes:
    """The frame as CSV bytes (BOM, CRLF), agency text in `text_columns` defused."""
    buffer = io.BytesIO()
    write_csv(frame, text_columns, buffer)
    return buffer.getvalue()


def write_csv(frame: pd.DataFrame, text_columns: set[str], target: Path | BinaryIO) -> None:
    """Write the frame as CSV (BOM, CRLF), agency text in `text_columns` defused, a thousand rows at a time."""
    safe = frame.copy()
    for column in text_columns & set(safe.columns):
        safe[column] = safe[column].map(defuse)
    safe.to_csv(target, index=False, lineterminator="\r\n", date_format="%Y-%m-%dT%H:%M:%S", encoding="utf-8-sig",
                chunksize=1000)


def defuse(value: Any) -> Any:
    """OWASP CSV injection: text starting with a formula character gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_CHARS):
        return "'" + value
    return value


def _text_fields(spec: FormSpec) -> set[str]:
    return {f.id for f in spec.fields.values() if f.type in TEXT_TYPES}


def _text_columns(spec: FormSpec) -> set[str]:
    return {c.id for c in spec.table.columns if c.type in TEXT_TYPES} if spec.table else set()
