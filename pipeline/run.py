"""One consolidation run: inbox → archive → read → validate → ledger → summary and exports.

The protocol that makes it impossible to lose or double-count a return (reliability notes §6.4):
1. take the run lock (one run per ledger); open the ledger (integrity check) — a busy or corrupt ledger
   stops the run before any output is touched;
2. for each inbox file: read its bytes once, hash them; bytes already recorded are a duplicate (nothing
   else changes); new bytes are archived under their SHA-256 (temp + fsync + replace) BEFORE parsing;
3. read and validate the new files in batches (one pandera call per batch); record each return in its own
   transaction; a bug while checking one return quarantines that return, the batch goes on;
4. rebuild the summary from the ledger alone (a pure function of it) and write it atomically.
Agencies' files in the inbox are never modified, moved or deleted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import socket
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.atomic import remove_stale_temps, write_atomic
from pipeline.issues import Issue, Severity, issue
from pipeline.ledger import Ledger, LedgerError
from pipeline.lock import Holder, RunLock
from pipeline.registry import Registry
from pipeline.spec import FormSpec
from pipeline.submission import Submission

BATCH_SIZE = 500
COUNT_KEYS = ("received", "accepted", "accepted_with_warnings", "rejected", "quarantined", "duplicate",
              "superseded", "skipped", "unchanged", "unreadable")
SKIP_CODES = {"FILE_OWNER_LOCK", "FILE_SKIPPED"}


class RunFailed(RuntimeError):
    """The run could not complete; what was recorded before the failure stays recorded."""


@dataclass
class FileResult:
    name: str
    sha256: str = ""
    agency: str | None = None
    status: str = ""  # one of COUNT_KEYS but 'received'
    issues: list[Issue] = field(default_factory=list)
    submission_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.name, "sha256": self.sha256, "agency": self.agency, "status": self.status,
                "submission_id": self.submission_id, "issues": [i.to_dict() for i in self.issues]}


@dataclass
class RunReport:
    files: list[FileResult] = field(default_factory=list)
    # New returns with problems, kept for their feedback workbooks (not serialised).
    to_feedback: list[tuple[Submission, list[Issue]]] = field(default_factory=list, repr=False)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    outputs: dict[str, str] = field(default_factory=dict)
    stale_lock: Holder | None = None
    dry_run: bool = False
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage, for the benchmark

    def timed(self, stage: str) -> _Timer:
        return _Timer(self.seconds, stage)

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "counts": self.counts, "outputs": self.outputs,
                "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
                "files": [f.to_dict() for f in self.files],
                "stale_lock": None if self.stale_lock is None else vars(self.stale_lock)}


class _Timer:
    """Adds the time spent inside a `with` block to a stage's total."""

    def __init__(self, totals: dict[str, float], stage: str) -> None:
        self.totals, self.stage = totals, stage

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.totals[self.stage] = self.totals.get(self.stage, 0.0) + time.perf_counter() - self.start


@dataclass
class Paths:
    inbox: Path
    out: Path
    db: Path

    @property
    def archive(self) -> Path:
        return self.db.parent / "archive"

    @property
    def lock(self) -> Path:
        return self.db.with_name(self.db.name + ".lock")


Progress = Callable[[str], None]


def summary_name(spec: FormSpec) -> str:
    return f"tong_hop_{spec.form_id}_{spec.round}.xlsx"


def consolidate(paths: Paths, spec: FormSpec, registry: Registry, *, dry_run: bool = False,
                progress: Progress | None = None) -> RunReport:
    """Run one consolidation; raises LockHeld, LedgerError or RunFailed when it cannot complete."""
    report = RunReport(dry_run=dry_run)
    lock = RunLock(paths.lock)
    if not dry_run:
        lock.acquire()
        report.stale_lock = lock.taken_over
    try:
        ledger = _open_ledger(paths.db, dry_run)
        try:
            _run(ledger, paths, spec, registry, report, progress or (lambda _: None))
        finally:
            ledger.close()
    finally:
        lock.release()
    return report


def _open_ledger(db: Path, dry_run: bool) -> Ledger:
    """The ledger; for a dry run, an in-memory copy, so the run behaves the same and records nothing."""
    if not dry_run:
        return Ledger(db)
    ledger = Ledger(":memory:")
    if db.exists():
        try:
            source = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            source.backup(ledger.db)
            source.close()
        except sqlite3.DatabaseError as err:
            raise LedgerError(f"{db}: {err}") from None
    return ledger


def _run(ledger: Ledger, paths: Paths, spec: FormSpec, registry: Registry, report: RunReport,
         progress: Progress) -> None:
    try:
        run_id = ledger.start_run(socket.gethostname(), os.getpid())
    except sqlite3.OperationalError as err:  # busy: another program holds the ledger
        raise LedgerError(f"{paths.db}: {err}") from None
    try:
        if not report.dry_run:
            remove_stale_temps(paths.out)
            remove_stale_temps(paths.archive)
        changed = _ingest(ledger, paths, spec, registry, report, run_id, progress)
        if not report.dry_run:
            report.outputs = _write_outputs(ledger, paths, spec, registry, report, changed)
    except Exception as err:
        _finish(ledger, run_id, "failed", report, error=f"{type(err).__name__}: {err}")
        raise RunFailed(f"{type(err).__name__}: {err}") from err
    _finish(ledger, run_id, "completed", report)


def _finish(ledger: Ledger, run_id: int, status: str, report: RunReport, error: str | None = None) -> None:
    with contextlib.suppress(sqlite3.Error):  # the run's bookkeeping must not hide the real outcome
        ledger.finish_run(run_id, status, report.counts, report.outputs, error)


def list_inbox(inbox: Path) -> list[Path]:
    """Every regular file directly in the inbox (sorted: reports are stable), READMEs excluded."""
    if not inbox.is_dir():
        return []
    return sorted((p for p in inbox.iterdir() if p.is_file() and p.name.lower() != "readme.md"),
                  key=lambda p: p.name)


def _ingest(ledger: Ledger, paths: Paths, spec: FormSpec, registry: Registry, report: RunReport, run_id: int,
            progress: Progress) -> bool:
    """Record every new inbox file; returns whether the ledger changed."""
    from pipeline.check import read_one

    known = ledger.known_receipts()
    seen_this_run: set[str] = set()  # the same bytes twice in one inbox: the second is a duplicate
    batch: list[tuple[Submission, str]] = []
    changed = False
    for path in list_inbox(paths.inbox):
        progress(path.name)
        loaded = _load(path, report)
        if loaded is None:
            continue
        data, received_at = loaded
        sha = hashlib.sha256(data).hexdigest()
        name = _nfc(path.name)
        if (sha, name) in known:
            report.counts["unchanged"] += 1
            continue
        report.counts["received"] += 1
        if sha in seen_this_run or ledger.receipt_kind(sha, name) == "duplicate":
            _duplicate(ledger, report, sha, name, run_id)
            continue
        seen_this_run.add(sha)
        with report.timed("archive"):
            archived = None if report.dry_run else _archive(paths.archive, sha, path.suffix, data)
        with report.timed("read"):
            submission = read_one(path, spec, registry, data=data)
        submission.file, submission.path = name, archived
        if _skipped(submission):
            report.counts["skipped"] += 1
            report.files.append(FileResult(name, sha, None, "skipped", submission.issues))
            ledger.add_receipt(sha, name, run_id, "skipped")
            continue
        batch.append((submission, received_at))
        if len(batch) >= BATCH_SIZE:
            changed |= _record_batch(ledger, batch, spec, report, run_id)
            batch = []
    if batch:
        changed |= _record_batch(ledger, batch, spec, report, run_id)
    return changed


def _load(path: Path, report: RunReport) -> tuple[bytes, str] | None:
    """The file's bytes and received time, or None (reported) when it vanished or cannot be read."""
    try:
        stat = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        report.files.append(FileResult(path.name, status="unreadable", issues=[
            issue("FILE_VANISHED", file=path.name, context={"name": path.name})]))
        report.counts["unreadable"] += 1
        return None
    except OSError as err:
        report.files.append(FileResult(path.name, status="unreadable", issues=[
            issue("FILE_UNREADABLE", file=path.name, context={"reason": err.strerror or type(err).__name__})]))
        report.counts["unreadable"] += 1
        return None
    received = dt.datetime.fromtimestamp(stat.st_mtime).isoformat(timespec="seconds")
    return data, received


def _nfc(name: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFC", name)


def _duplicate(ledger: Ledger, report: RunReport, sha: str, name: str, run_id: int) -> None:
    first = ledger.first_received(sha) or "?"
    report.counts["duplicate"] += 1
    report.files.append(FileResult(name, sha, None, "duplicate", [
        issue("SYS_DUPLICATE", file=name, context={"time": first})]))
    if not report.dry_run:
        ledger.add_receipt(sha, name, run_id, "duplicate")


def _archive(folder: Path, sha: str, suffix: str, data: bytes) -> str:
    target = folder / f"{sha}{suffix.lower()[:6]}"
    if not target.exists():
        write_atomic(target, data)
    return str(target)


def _skipped(submission: Submission) -> bool:
    return bool(submission.issues) and all(i.code in SKIP_CODES for i in submission.issues)


def _record_batch(ledger: Ledger, batch: list[tuple[Submission, str]], spec: FormSpec, report: RunReport,
                  run_id: int) -> bool:
    from pipeline.validate import validate_batch

    with report.timed("validate"):
        verdicts = validate_batch([s for s, _ in batch], spec)
    for verdict, (submission, received_at) in zip(verdicts, batch, strict=True):
        status = ledger_status(verdict.status, submission, verdict.issues)
        with report.timed("ledger"):
            recorded = ledger.record(submission=submission, issues=verdict.issues, status=status,
                                     received_at=received_at, archive_path=submission.path, run_id=run_id)
        report.counts[status] += 1
        if recorded.superseded_id is not None:
            report.counts["superseded"] += 1
        report.files.append(FileResult(submission.file, submission.sha256, submission.agency_code, status,
                                       verdict.issues, recorded.submission_id))
        if submission.path and any(i.severity is not Severity.INFO for i in verdict.issues):
            report.to_feedback.append((submission, verdict.issues))
    return True


def ledger_status(verdict_status: str, submission: Submission, issues: list[Issue]) -> str:
    """Quarantine what the department must look at itself: internal errors, returns no agency owns."""
    if any(i.code == "SYS_INTERNAL_ERROR" for i in issues):
        return "quarantined"
    if submission.readable and not submission.agency_code:
        return "quarantined"
    return verdict_status


def _write_outputs(ledger: Ledger, paths: Paths, spec: FormSpec, registry: Registry, report: RunReport,
                   changed: bool) -> dict[str, str]:
    from pipeline.consolidate import build_summary
    from pipeline.exports import write_exports
    from pipeline.summary_writer import write_summary

    target = paths.out / summary_name(spec)
    if not changed and target.exists():
        return {"summary": str(target)}  # nothing new: the summary on disk is already the ledger's
    with report.timed("summary"):
        submissions = ledger.submissions(spec.round)
        ids = [s["id"] for s in submissions]
        latest = max((s["recorded_at"] for s in submissions), default=None)
        generated = dt.datetime.fromisoformat(latest) if latest else dt.datetime(2007, 8, 17)
        summary = build_summary(spec, registry, submissions, ledger.projects(ids), ledger.issues(ids),
                                generated_at=generated)
        outputs = {"summary": str(write_summary(summary, spec, target))}
    with report.timed("exports"):
        for path in write_exports(summary, spec, paths.out):
            outputs[path.stem] = str(path)
    with report.timed("feedback"):
        outputs.update(_write_feedback(paths, spec, registry, report))
    return outputs


def _write_feedback(paths: Paths, spec: FormSpec, registry: Registry, report: RunReport) -> dict[str, str]:
    """A feedback workbook for each new return with problems, named after the agency."""
    from pipeline.feedback import feedback_for_file

    written = {}
    for submission, issues in report.to_feedback:
        path = feedback_for_file(Path(submission.path or ""), submission, issues, spec, paths.out / "feedback",
                                 registry=registry)
        if path is not None:
            written[f"feedback:{submission.file}"] = str(path)
    return written
