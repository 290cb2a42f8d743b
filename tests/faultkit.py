"""Helpers for the fault-injection and property tests: returns on disk, the summary's data, the ledger invariant.

- `write_return` writes one agency return (pipeline.form.sample + template) with an explicit received time (mtime),
  so received_at never depends on when a test ran.
- `summary_data` is what "the same summary" means when two ledgers were filled at different wall-clock times:
  the CSV exports byte for byte (submissions.csv without its recorded_at column) and every cell value of the
  summary workbook, with wall-clock times (recorded_at, the generation time) masked. Received times are set
  to 2007 by these helpers, so any time from 2020 on is a wall-clock time.
- `ledger_invariant` / `complete_invariant` state, from the ledger schema, what "no return lost or counted
  twice" means (see their docstrings).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import openpyxl

from pipeline.atomic import TEMP_PREFIX
from pipeline.form.sample import SampleReturn, make_sample
from pipeline.form.template import build_workbook, template_file_name
from pipeline.run import Paths, list_inbox

RECEIVED = dt.datetime(2007, 9, 3, 8, 0, 0)
ACCEPTED = ("accepted", "accepted_with_warnings")
_CLOCK_TEXT = re.compile(r"\d{2}/\d{2}/20[2-9]\d \d{2}:\d{2}(:\d{2})?")


# --- returns on disk ----------------------------------------------------------------------------------


def set_received(path: Path, when: dt.datetime) -> None:
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))


def write_return(folder: Path, spec, agency, *, seed: int | str, mistakes: int = 0, name: str | None = None,
                 received: dt.datetime = RECEIVED, values: dict[str, Any] | None = None) -> tuple[Path, SampleReturn]:
    """One filled return for `agency` (deterministic in `seed`), written with mtime `received`."""
    sample = make_sample(spec, agency, random.Random(f"{seed}/{agency.code}"), mistakes=mistakes)
    sample.values.update(values or {})
    data = build_workbook(spec, agency=agency, values=sample.values, projects=sample.projects,
                          cell_text=sample.cell_text, tables=sample.tables)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or template_file_name(spec, agency.code))
    path.write_bytes(data)
    set_received(path, received)
    return path, sample


def owner_file() -> bytes:
    """Excel's `~$` owner file (skipped by the pipeline, recorded as a 'skipped' receipt)."""
    user = "Nguyen Van A"
    return (bytes([len(user)]) + user.encode("ascii").ljust(53, b" ")).ljust(165, b"\x00")


def sha(path: Path) -> str:
    with open(path, "rb") as f:  # not Path.read_bytes: the unreadable-file test patches that
        return hashlib.sha256(f.read()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path → sha256 of every file under `folder` (to prove nothing was touched)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def temps(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.is_dir() for p in folder.rglob(f"{TEMP_PREFIX}*")]


# --- running the command ------------------------------------------------------------------------------


def cli_command(paths: Paths, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", "consolidate", "--inbox", str(paths.inbox), "--out", str(paths.out),
            "--db", str(paths.db), "--lang", "en", *extra]


def run_cli(paths: Paths, *extra: str, timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(cli_command(paths, "--json", *extra), capture_output=True, text=True, timeout=timeout,
                          cwd=paths.out.parent, **kwargs)


# --- the summary's data ------------------------------------------------------------------------------


def _csv_without(data: bytes, column: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    if not rows:
        return rows
    drop = rows[0].index(column) if column in rows[0] else None
    return [[v for i, v in enumerate(row) if i != drop] for row in rows]


def _mask(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.year >= 2020:
        return "<clock>"
    if isinstance(value, str):
        return _CLOCK_TEXT.sub("<clock>", value)
    return value


def workbook_data(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet's cell values, wall-clock times masked."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(_mask(v) for v in row) for row in ws.iter_rows(values_only=True)]
                for ws in book.worksheets}
    finally:
        book.close()


ID_COLUMNS = {"id", "submission_id", "supersedes", "superseded_by"}
ID_HEADERS = {"Mã lần nộp", "Thay cho lần nộp", "Bị thay bởi lần nộp"}  # the workbook's submission-id columns


def summary_data(summary: Path, data_dir: Path, *, by_content: bool = False) -> dict[str, Any]:
    """The data of a summary and its exports: CSV bytes (recorded_at dropped), workbook values (clock masked).

    Submission ids are the ledger's sequence numbers, so they follow the order returns were recorded in.
    With `by_content` every id is replaced by its return's SHA-256 and the tables listed in id order are
    sorted, for comparing ledgers that recorded the same returns in a different order.
    """
    out: dict[str, Any] = {}
    for name in ("indicators.csv", "projects.csv", "issues.csv"):
        out[name] = (data_dir / name).read_bytes()
    out["submissions.csv"] = _csv_without((data_dir / "submissions.csv").read_bytes(), "recorded_at")
    out["workbook"] = workbook_data(summary)
    if by_content:
        subs = out["submissions.csv"]
        ids = {_id(row[0]): row[1] for row in subs[1:]}
        for name in ("projects.csv", "issues.csv"):
            out[name] = _csv_without(out[name], "")
        for name in ("submissions.csv", "projects.csv", "issues.csv"):
            header, *rows = out[name]
            cols = [i for i, h in enumerate(header) if h in ID_COLUMNS]
            rows = [[ids.get(_id(v), v) if i in cols else v for i, v in enumerate(r)] for r in rows]
            out[name] = [header, *sorted(rows)]
        out["workbook"] = {title: _content_ids(rows, ids) for title, rows in out["workbook"].items()}
    return out


def _id(value: Any) -> Any:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return value


def _content_ids(rows: list[tuple[Any, ...]], ids: dict[Any, str]) -> list[tuple[Any, ...]]:
    header = next((i for i, r in enumerate(rows) if ID_HEADERS & {str(v) for v in r}), None)
    if header is None:
        return rows
    cols = {j for j, v in enumerate(rows[header]) if v in ID_HEADERS}
    body = [tuple(ids.get(_id(v), v) if j in cols else v for j, v in enumerate(r)) for r in rows[header + 1:]]
    return [*rows[: header + 1], *sorted(body, key=repr)]


def diff_keys(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Which parts differ (for assertion messages), down to the sheet."""
    keys = []
    for key in sorted(set(a) | set(b)):
        if key == "workbook" and key in a and key in b:
            keys += [f"workbook/{s}" for s in sorted(set(a[key]) | set(b[key])) if a[key].get(s) != b[key].get(s)]
        elif a.get(key) != b.get(key):
            keys.append(key)
    return keys


# --- the ledger invariant ----------------------------------------------------------------------------


def connect(db: Path) -> sqlite3.Connection:
    con = sqlite3.connect(db, isolation_level=None)
    con.row_factory = sqlite3.Row
    return con


def inbox_files(inbox: Path) -> dict[tuple[str, str], Path]:
    """(sha256, NFC name) of every file the pipeline lists in the inbox."""
    return {(sha(p), unicodedata.normalize("NFC", p.name)): p for p in list_inbox(inbox)}


def ledger_invariant(paths: Paths, *, inbox_stable: bool = True) -> dict[str, int]:
    """What must hold after ANY interruption (kill -9, power cut, full disk), checked from the ledger alone.

    1. `PRAGMA integrity_check` is ok and no foreign key dangles.
    2. One submission per content: sha256 is unique.
    3. Receipts and submissions agree. A receipt (sha256, file name) is one state of one inbox file:
       - 'new'       ⇔ a submission row with that sha256 AND that file name exists (one each way);
       - 'duplicate' ⇒ a submission with that sha256 exists, under another name (a duplicate never points
                       at a return the ledger does not hold);
       - 'skipped'   ⇒ no submission with that sha256.
       and every receipt is a file that is in the inbox with those bytes (the inbox is never modified by
       the pipeline; `inbox_stable=False` when a test changed a file itself).
    4. Counting: per (agency, round) at most one counted row; it is accepted; when any accepted return
       exists exactly one counts, and it is the newest by (received_at, sha256) — the supersede rule —
       and the accepted returns form one chain in that order (supersedes / superseded_by), whatever
       order they were recorded in.
    5. Every submission's archived copy exists under its sha256 and has exactly those bytes.
    Returns counts per receipt kind.
    """
    inbox = inbox_files(paths.inbox)
    con = connect(paths.db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        subs = [dict(r) for r in con.execute("SELECT * FROM submissions")]
        receipts = [dict(r) for r in con.execute("SELECT * FROM receipts")]
    finally:
        con.close()
    by_sha = {s["sha256"]: s for s in subs}
    assert len(by_sha) == len(subs), "the same bytes recorded twice"
    kinds: dict[str, int] = {}
    new_receipts = set()
    for r in receipts:
        key = (r["sha256"], r["file_name"])
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        assert key in inbox or not inbox_stable, f"receipt for a file that is not in the inbox: {key}"
        sub = by_sha.get(r["sha256"])
        if r["kind"] == "new":
            assert sub is not None and sub["file_name"] == r["file_name"], f"'new' receipt without its return: {key}"
            new_receipts.add(key)
        elif r["kind"] == "duplicate":
            assert sub is not None, f"duplicate of a return the ledger does not hold: {key}"
            assert sub["file_name"] != r["file_name"], key
        elif r["kind"] == "skipped":
            assert sub is None, key
        else:
            raise AssertionError(f"unknown receipt kind {r['kind']!r}")
    for s in subs:
        assert (s["sha256"], s["file_name"]) in new_receipts, f"return without its receipt: {s['file_name']}"
        archived = paths.archive / Path(s["archive_path"]).name
        assert archived.name.startswith(s["sha256"]) and archived.exists(), s["file_name"]
        assert sha(archived) == s["sha256"], f"archive copy of {s['file_name']} is not the received bytes"
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for s in subs:
        if s["agency_code"]:
            groups.setdefault((s["agency_code"], s["round"]), []).append(s)
    for key, rows in groups.items():
        counted = [r for r in rows if r["counted"]]
        accepted = [r for r in rows if r["status"] in ACCEPTED]
        assert len(counted) <= 1, f"{key} counted twice"
        assert all(r["status"] in ACCEPTED for r in counted), key
        if accepted:
            chain = sorted(accepted, key=lambda r: (r["received_at"], r["sha256"]))
            assert [r["id"] for r in counted] == [chain[-1]["id"]], f"{key}: not the newest accepted return counts"
            ids = [None, *(r["id"] for r in chain), None]
            assert [(r["supersedes"], r["superseded_by"]) for r in chain] == list(zip(ids[:-2], ids[2:], strict=True)), \
                f"{key}: the supersede chain is not in received order"
        else:
            assert not counted, key
    return kinds


def complete_invariant(paths: Paths) -> dict[str, int]:
    """After a run that completed: `ledger_invariant`, and every inbox file is in exactly one recorded state
    (its receipt: 'new' = a submission row, 'duplicate' or 'skipped'), the last run is 'completed', and no
    temporary file is left behind."""
    kinds = ledger_invariant(paths)
    con = connect(paths.db)
    try:
        receipts = {(r[0], r[1]): r[2] for r in con.execute("SELECT sha256, file_name, kind FROM receipts")}
        last = con.execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]
    finally:
        con.close()
    missing = set(inbox_files(paths.inbox)) - set(receipts)
    assert not missing, f"inbox files in no recorded state: {sorted(n for _, n in missing)}"
    assert last == "completed"
    assert not temps(paths.out, paths.archive), temps(paths.out, paths.archive)
    return kinds


def runs(db: Path) -> list[dict[str, Any]]:
    con = connect(db)
    try:
        rows = [dict(r) for r in con.execute("SELECT * FROM runs ORDER BY id")]
    finally:
        con.close()
    for r in rows:
        r["outputs"] = json.loads(r["outputs_json"] or "{}")
    return rows
