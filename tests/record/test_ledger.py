"""The ledger: migrations, one transaction per return, dedup, superseding with history, integrity."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.intake.submission import ProjectRow, Submission, TableRows
from pipeline.issues import issue
from pipeline.record.ledger import MIGRATIONS, Ledger, LedgerError


def make_submission(sha: str, agency: str = "STC", value: float = 40.0, round_: str = "2008-2010") -> Submission:
    return Submission(file=f"{agency}-{sha}.xlsx", sha256=sha, agency_code=agency, round=round_, form_id="F",
                      version="1.0", format="xlsx", values={"tong_so_cbccvc": value},
                      cells={"tong_so_cbccvc": ("Hiện trạng", "D7")},
                      projects=[ProjectRow(row=7, values={"ten_du_an": "Mạng LAN", "kp_2008": 100.0})],
                      readable=True)


@pytest.fixture
def ledger(tmp_path: Path):
    with Ledger(tmp_path / "ledger.sqlite") as opened:
        yield opened


def record(ledger: Ledger, sub: Submission, status: str = "accepted", received: str = "2007-09-01T08:00:00"):
    return ledger.record(submission=sub, issues=[], status=status, received_at=received, archive_path=None,
                         run_id=None)


def test_migrations_are_recorded_once(tmp_path: Path):
    path = tmp_path / "l.sqlite"
    Ledger(path).close()
    with Ledger(path) as again:
        assert again.applied_migrations() == [name for name, _ in MIGRATIONS]


def test_a_return_is_stored_with_values_cells_projects_and_issues(ledger):
    sub = make_submission("a" * 64)
    problem = issue("RULE_PLAUSIBLE", sheet="Hiện trạng", cell="D7", field="tong_so_cbccvc", value=40.0,
                    context={"min": 1, "max": 300})
    result = ledger.record(submission=sub, issues=[problem], status="accepted_with_warnings",
                           received_at="2007-09-01T08:00:00", archive_path="archive/a.xlsx", run_id=None)
    row = ledger.submissions()[0]
    assert (row["status"], row["counted"], row["warnings"], row["agency_code"]) == (
        "accepted_with_warnings", 1, 1, "STC")
    assert ledger.projects([result.submission_id])[result.submission_id][0]["kp_2008"] == 100.0
    stored = ledger.issues([result.submission_id])[result.submission_id][0]
    assert stored.message("vi") == problem.message("vi") and stored.file == sub.file


def test_newer_accepted_return_supersedes_and_keeps_history(ledger):
    first = record(ledger, make_submission("1" * 64, value=40), received="2007-09-01T08:00:00")
    second = record(ledger, make_submission("2" * 64, value=45), received="2007-09-05T08:00:00")
    assert second.counted and second.superseded_id == first.submission_id
    rows = {r["id"]: r for r in ledger.submissions()}
    assert rows[first.submission_id]["counted"] == 0
    assert rows[first.submission_id]["superseded_by"] == second.submission_id
    assert rows[second.submission_id]["supersedes"] == first.submission_id


def test_supersede_order_is_by_received_time_not_processing_order(ledger):
    newer = record(ledger, make_submission("2" * 64, value=45), received="2007-09-05T08:00:00")
    older = record(ledger, make_submission("1" * 64, value=40), received="2007-09-01T08:00:00")
    assert not older.counted and older.older_than_counted
    counted = [r for r in ledger.submissions() if r["counted"]]
    assert [r["id"] for r in counted] == [newer.submission_id]


def test_rejected_return_never_replaces_the_counted_one(ledger):
    good = record(ledger, make_submission("1" * 64))
    bad = record(ledger, make_submission("2" * 64), status="rejected", received="2007-10-01T00:00:00")
    assert not bad.counted
    assert [r["id"] for r in ledger.submissions() if r["counted"]] == [good.submission_id]


def test_exactly_one_counted_return_per_agency_is_enforced_by_the_schema(ledger):
    record(ledger, make_submission("1" * 64))
    with pytest.raises(sqlite3.IntegrityError):
        ledger.db.execute("INSERT INTO submissions (sha256, file_name, received_at, recorded_at, agency_code, "
                          "round, status, counted) VALUES ('x', 'x', 'x', 'x', 'STC', '2008-2010', 'accepted', 1)")


def test_same_bytes_are_one_submission(ledger):
    record(ledger, make_submission("1" * 64))
    assert ledger.receipt_kind("1" * 64, "STC-" + "1" * 64 + ".xlsx") == "known"
    assert ledger.receipt_kind("1" * 64, "copy.xlsx") == "duplicate"
    assert ledger.receipt_kind("9" * 64, "new.xlsx") is None
    with pytest.raises(sqlite3.IntegrityError):
        record(ledger, make_submission("1" * 64))
    assert len(ledger.submissions()) == 1


def test_failed_transaction_leaves_nothing(ledger):
    sub = make_submission("1" * 64)
    sub.projects.append(ProjectRow(row=7, values={}))  # duplicate Excel row → primary-key violation mid-way
    with pytest.raises(sqlite3.IntegrityError):
        record(ledger, sub)
    assert ledger.submissions() == []
    assert ledger.db.execute("SELECT COUNT(*) FROM projects").fetchone()[0] == 0


def test_corrupt_ledger_is_refused(tmp_path: Path):
    path = tmp_path / "l.sqlite"
    with Ledger(path) as fresh:
        record(fresh, make_submission("1" * 64))
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    path.write_bytes(bytes(data))
    with pytest.raises(LedgerError):
        Ledger(path)


def test_busy_ledger_fails_cleanly(tmp_path: Path):
    path = tmp_path / "l.sqlite"
    Ledger(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with Ledger(path, busy_timeout=0.2) as busy, pytest.raises(sqlite3.OperationalError, match="locked"):
            busy.start_run("host", 1)
    except LedgerError:
        pass  # refused already at open: just as clean
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_run_left_running_is_marked_interrupted_by_the_next(ledger):
    """A run killed mid-way never finishes its row; the next run (which holds the lock) says so."""
    killed = ledger.start_run("host", 1)
    done = ledger.start_run("host", 2)
    ledger.finish_run(done, "completed", {}, {})
    third = ledger.start_run("host", 3)
    runs = {r["id"]: r for r in ledger.runs()}
    assert runs[killed]["status"] == "interrupted" and f"run {done}" in runs[killed]["error"]
    assert runs[done]["status"] == "completed" and runs[done]["error"] is None
    assert runs[third]["status"] == "running"


def test_rows_of_the_other_tables_are_recorded_and_read_back(ledger):
    """Form 1.1: the 2008 annual plan and the online services are recorded with the return (migration 0002)."""
    sub = make_submission("t1")
    sub.tables["kh_2008"] = TableRows("Kế hoạch năm 2008", {"kinh_phi": "F"},
                                      [ProjectRow(7, {"ten_nhiem_vu": "Duy trì Internet", "kinh_phi": 30.0}),
                                       ProjectRow(9, {"ten_nhiem_vu": "Đào tạo tin học", "kinh_phi": 20.5})])
    sub.tables["dvc"] = TableRows("Dịch vụ công trực tuyến", {}, [ProjectRow(7, {"ten_thu_tuc": "Cấp phép",
                                                                                  "muc_2010": 3})])
    recorded = record(ledger, sub)
    rows = ledger.table_rows([recorded.submission_id])
    assert rows["kh_2008"][recorded.submission_id] == [
        {"_row": 7, "ten_nhiem_vu": "Duy trì Internet", "kinh_phi": 30.0},
        {"_row": 9, "ten_nhiem_vu": "Đào tạo tin học", "kinh_phi": 20.5}]
    assert rows["dvc"][recorded.submission_id] == [{"_row": 7, "ten_thu_tuc": "Cấp phép", "muc_2010": 3}]
    assert ledger.table_rows([]) == {}
