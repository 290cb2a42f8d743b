"""Regression (issue 14, "Scale"): recording a return costs the same however many the ledger already holds.

The benchmark (bench_consolidate --n 1000 --n 10000) times the ledger stage; here the cost is counted
without a clock, so the test holds on a loaded machine: the SQL statements a return takes, and the SQLite
virtual-machine instructions they run (a progress handler called every few instructions). A lookup without an
index, or a loop over the rows already recorded, makes the count grow with the ledger; an index makes it grow
like a logarithm, a few instructions per doubling.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.intake.submission import ProjectRow, Submission, TableRows
from pipeline.issues import issue
from pipeline.record.ledger import Ledger

STEP = 10  # VM instructions between two calls of the progress handler
GROWING = ("submissions", "receipts", "projects", "issues", "table_rows")


def _submission(i: int) -> Submission:
    return Submission(
        file=f"A{i:05d}.xlsx", sha256=f"{i:064x}", agency_code=f"A{i:05d}", round="2008-2010", form_id="F",
        version="1.0", format="xlsx", values={"tong_so_cbccvc": 40.0 + i % 7, "ten_don_vi": "Sở Thử nghiệm"},
        raw={"tong_so_cbccvc": 40 + i % 7}, cells={"tong_so_cbccvc": ("Hiện trạng", "D7")},
        projects=[ProjectRow(row=7 + k, values={"ten_du_an": f"Dự án {k}", "kp_2008": 100.0}) for k in range(3)],
        tables={"ke_hoach_2008": TableRows("Kế hoạch", {"noi_dung": "B"},
                                           [ProjectRow(row=5, values={"noi_dung": "Đào tạo"})])},
        readable=True)


class _Meter:
    """Statements and VM instructions the ledger's connection runs while one return is recorded."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db, self.statements, self.steps = db, [], 0
        db.set_trace_callback(self.statements.append)
        db.set_progress_handler(self._step, STEP)

    def _step(self) -> int:
        self.steps += 1
        return 0  # go on

    def reset(self) -> None:
        self.statements.clear()
        self.steps = 0


def _take_in_and_record(ledger: Ledger, i: int) -> None:
    """What a run asks the ledger for one new file: is it known, then record it (with one warning)."""
    sub = _submission(i)
    assert ledger.receipt_kind(sub.sha256, sub.file) is None and ledger.first_received(sub.sha256) is None
    warning = issue("RULE_PLAUSIBLE", sheet="Hiện trạng", cell="D7", field="tong_so_cbccvc", value=40.0,
                    context={"min": 1, "max": 300})
    ledger.record(submission=sub, issues=[warning], status="accepted_with_warnings",
                  received_at=f"2007-09-01T08:{i % 60:02d}:00", archive_path=f"archive/{sub.sha256}.xlsx", run_id=1)


@pytest.fixture
def ledger(tmp_path: Path):
    with Ledger(tmp_path / "ledger.sqlite") as opened:
        opened.start_run("host", 1)
        yield opened


def test_a_return_costs_the_same_statements_and_instructions_in_a_larger_ledger(ledger):
    meter = _Meter(ledger.db)
    costs = {}
    for i in range(1, 1601):
        meter.reset()
        _take_in_and_record(ledger, i)
        if i in (100, 1600):
            costs[i] = (list(meter.statements), meter.steps)
    (few_statements, few_steps), (many_statements, many_steps) = costs[100], costs[1600]
    assert len(many_statements) == len(few_statements)  # no statement per row already recorded
    # 16× the rows: a scan of any growing table would take ≥ 16× its instructions; four doublings of each
    # index searched add a few percent.
    assert many_steps < few_steps * 1.25, (few_steps, many_steps)


def test_what_recording_looks_up_is_found_through_an_index(ledger):
    """No statement of taking in and recording a return scans a table that grows with the round."""
    _take_in_and_record(ledger, 1)
    meter = _Meter(ledger.db)
    _take_in_and_record(ledger, 2)
    ledger.db.set_trace_callback(None)
    scans = []
    for sql in {s for s in meter.statements if s.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE"))}:
        for *_, detail in ledger.db.execute(f"EXPLAIN QUERY PLAN {sql}"):
            if detail.startswith("SCAN") and any(f" {table}" in f" {detail.split()[1]}" for table in GROWING):
                scans.append((sql, detail))
    assert not scans
