"""One consolidation run: inbox → archive → read → validate → ledger → summary and exports.

The protocol that makes it impossible to lose or double-count a return (reliability notes §6.4):
1. take the run lock (one run per ledger); open the ledger (integrity check) — a busy or corrupt ledger
   stops the run before any output is touched;
2. for each inbox file: read its bytes once, hash them; bytes already recorded are a duplicate (nothing
   else changes); new bytes are written to a temporary file in the archive by the reader (a worker process,
   or this one) that then parses them; once a whole chunk is read, its copies are flushed to disk together
   and renamed to their SHA-256, BEFORE anything of the chunk is recorded (a failed chunk leaves none);
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
import pickle
import socket
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.atomic import commit_pending, remove_stale_temps, write_pending
from pipeline.form.registry import Registry, round_day
from pipeline.form.spec import FormSpec
from pipeline.intake.submission import Submission
from pipeline.issues import Issue, Severity, issue
from pipeline.parallel import beside, fork_pool, outcome
from pipeline.record.ledger import Ledger, LedgerError, decode_values
from pipeline.record.lock import Holder, RunLock
from pipeline.report.status import FEEDBACK_KEY, ReturnKey, current_ids

BATCH_SIZE = 1000  # returns per validation call (its fixed cost is ~0.3 s) and files per reading chunk
COUNT_KEYS = ("received", "accepted", "accepted_with_warnings", "rejected", "quarantined", "duplicate",
              "superseded", "skipped", "unchanged", "unreadable", "other_round")
SKIP_CODES = {"FILE_OWNER_LOCK", "FILE_SKIPPED"}
LARGE_ROUND = 2000  # returns in a round from which memory is handed back between stages (it costs ~0.1 s)
# Registries up to this size get the draft report with every consolidation (a province has 40–60 agencies; a
# draft gathering a thousand agencies' words is no draft, and python-docx takes ~25 ms an agency):
# `ictplan report` writes it for any round.
REPORT_MAX_AGENCIES = 500


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
    # Duplicates of files still waiting in this run's batch: their receipts are written once the original is
    # recorded, so the ledger never says "duplicate of" a return it does not hold (e.g. after a crash).
    pending_receipts: list[tuple[str, str]] = field(default_factory=list, repr=False)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    outputs: dict[str, str] = field(default_factory=dict)
    stale_lock: Holder | None = None
    ledger_on_network_share: bool = False  # opened in rollback-journal mode (pipeline/record/network.py)
    dry_run: bool = False
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage, for the benchmark
    # CPU time per stage, whichever process did its work (this one's main thread, or a forked one's), for the
    # benchmark: on two cores, a stage of a large round shares them with the readers, and its wall time grows
    # with that sharing, not only with its own work.
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    def timed(self, stage: str) -> _Timer:
        return _Timer(self.seconds, self.cpu_seconds, stage)

    def add_cpu(self, stage: str, seconds: float) -> None:
        """CPU time another process spent on a stage's work (`_with_cpu`)."""
        self.cpu_seconds[stage] = self.cpu_seconds.get(stage, 0.0) + seconds

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "counts": self.counts, "outputs": self.outputs,
                "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
                "cpu_seconds": {k: round(v, 4) for k, v in self.cpu_seconds.items()},
                "files": [f.to_dict() for f in self.files],
                "stale_lock": None if self.stale_lock is None else vars(self.stale_lock),
                "ledger_on_network_share": self.ledger_on_network_share}


def _with_cpu(task: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """`task(*args)` and the CPU time its thread took: what a forked process sends back with its result."""
    started = time.thread_time()
    result = task(*args)
    return result, time.thread_time() - started


class _Timer:
    """Adds the wall time and this thread's CPU time spent inside a `with` block to a stage's totals."""

    def __init__(self, totals: dict[str, float], cpu_totals: dict[str, float], stage: str) -> None:
        self.totals, self.cpu_totals, self.stage = totals, cpu_totals, stage

    def __enter__(self) -> None:
        self.start, self.cpu_start = time.perf_counter(), time.thread_time()

    def __exit__(self, *exc: object) -> None:
        self.totals[self.stage] = self.totals.get(self.stage, 0.0) + time.perf_counter() - self.start
        self.cpu_totals[self.stage] = self.cpu_totals.get(self.stage, 0.0) + time.thread_time() - self.cpu_start


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


def report_name(spec: FormSpec) -> str:
    """The draft provincial report, beside the summary workbook."""
    return f"bao_cao_tong_hop_{spec.form_id}_{spec.round}.docx"


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
        report.ledger_on_network_share = not dry_run and ledger.on_network_share
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
            # as_uri: a folder named "Báo cáo #2" or "50%" would otherwise end the path or be decoded
            source = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True)
            source.backup(ledger.db)
            source.close()
        except sqlite3.DatabaseError as err:
            raise LedgerError(f"{db}: {err}") from None
    return ledger


def _run(ledger: Ledger, paths: Paths, spec: FormSpec, registry: Registry, report: RunReport,
         progress: Progress) -> None:
    try:
        run_id = ledger.start_run(socket.gethostname(), os.getpid(), spec.round)
    except sqlite3.OperationalError as err:  # busy: another program holds the ledger
        raise LedgerError(f"{paths.db}: {err}") from None
    try:
        if not report.dry_run:
            remove_stale_temps(paths.out)
            remove_stale_temps(paths.archive)
        changed = _ingest(ledger, paths, spec, registry, report, run_id, progress)
        if not report.dry_run:
            _add_pending_receipts(ledger, report, run_id)
            # The feedback workbooks are made by forked workers while this process writes the summary.
            with _Feedback(report.to_feedback, spec, registry, paths.out / "feedback") as feedback:
                report.outputs = _write_outputs(ledger, paths, spec, registry, report, changed, run_id)
                with report.timed("feedback"):  # or the wait for the workers
                    report.outputs.update(feedback.written())
                report.add_cpu("feedback", feedback.worker_cpu)
    except Exception as err:
        if not report.dry_run:
            remove_stale_temps(paths.archive)  # a failed chunk's copies: the readers are stopped by now
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
    """Record every new inbox file; returns whether the ledger changed.

    The inbox is taken in chunks of BATCH_SIZE files, so at most two chunks' bytes and one batch of
    Submissions are held at once. For each chunk: (1) in inbox order, every file is loaded, hashed and
    sorted into unreadable / unchanged / duplicate / new; a new file is handed to the readers — a pool of
    forked workers when there are enough new files (`_Readers`) — which archive and read it while this
    process takes in the next files, then applies the previous chunk; nothing is written to the ledger or
    the report here; (2) once the chunk is read (so archived), in inbox order, each file's outcome is
    applied exactly as when files are taken one at a time: the same Submissions, ledger writes and report,
    in the same order. (Sorting a file in (1) only reads the ledger, and nothing the previous chunk writes
    can change how a later file is sorted: its bytes are either in `seen_this_run` already or were never
    recorded.)"""
    known = ledger.known_receipts()
    seen_this_run: set[str] = set()  # the same bytes twice in one inbox: the second is a duplicate
    state = _Batch()
    inbox = list_inbox(paths.inbox)
    with _Readers(spec, registry) as readers:
        previous: tuple[list[_Incoming], list[_Incoming], _Reading] | None = None
        for first in range(0, len(inbox), BATCH_SIZE):
            reading = readers.start()
            incoming, new = [], []
            with report.timed("take_in"):
                for path in inbox[first:first + BATCH_SIZE]:
                    item = _take_in(path, paths, ledger, known, seen_this_run, report.dry_run)
                    incoming.append(item)
                    if item.data is not None:
                        new.append(item)
                        # archived and read by the workers while this process takes in the next files
                        reading.add(_Work(item.path, item.data, item.archived))
            if readers.pool is not None:
                with report.timed("imports"):  # pandera's import and first-use cost (0.7 s), while the workers read
                    from pipeline.validation.validate import warm_up

                    warm_up()
            if previous is not None:
                _apply_chunk(*previous, ledger, spec, report, run_id, progress, state)
            previous = (incoming, new, reading)
        if previous is not None:
            # Nothing is being read any more, so a core is free: from here on, a batch is validated beside
            # (not in a large round: the fork would hold a second copy of this process's memory as it works).
            state.free_core = len(inbox) < LARGE_ROUND
            _apply_chunk(*previous, ledger, spec, report, run_id, progress, state)
    if state.batch:
        state.changed |= _record_batch(ledger, state.batch, spec, report, run_id, state.free_core)
    return state.changed


@dataclass
class _Batch:
    """The returns read but not yet validated and recorded, and whether the ledger changed."""

    batch: list[tuple[Submission, str]] = field(default_factory=list)
    changed: bool = False
    free_core: bool = False  # whether a batch may be validated by a forked process (see _record_batch)


def _apply_chunk(incoming: list[_Incoming], new: list[_Incoming], reading: _Reading, ledger: Ledger,
                 spec: FormSpec, report: RunReport, run_id: int, progress: Progress, state: _Batch) -> None:
    """Each file's outcome, in inbox order, as if the files were taken one at a time."""
    with report.timed("read"):  # reading, or waiting for the readers
        submissions = reading.result()
        commit_pending(item.archived for item in new if item.archived)
    report.add_cpu("read", reading.worker_cpu)
    for item, submission in zip(new, submissions, strict=True):
        item.submission, item.data = submission, None
    for item in incoming:
        progress(item.path.name)
        if item.failure is not None:  # could not be loaded: as _load reported it
            report.files += item.failure.files
            for key, count in item.failure.counts.items():
                report.counts[key] += count
            continue
        if item.submission is None and not item.duplicate:
            report.counts["unchanged"] += 1
            continue
        report.counts["received"] += 1
        if item.duplicate:
            _duplicate(ledger, report, item.sha, item.name, run_id)
            continue
        submission = item.submission
        assert submission is not None
        submission.file, submission.path = item.name, item.archived
        if _skipped(submission):
            report.counts["skipped"] += 1
            report.files.append(FileResult(item.name, item.sha, None, "skipped", submission.issues))
            ledger.add_receipt(item.sha, item.name, run_id, "skipped")
            continue
        if _of_another_round(submission, spec):
            # Another round's return in this round's inbox: recorded nowhere (so its own round takes it in when
            # it reaches its inbox, and nothing of it is counted here); reported at every run while it stays.
            report.counts["other_round"] += 1
            report.files.append(FileResult(item.name, item.sha, submission.agency_code, "other_round",
                                           submission.issues))
            continue
        if not submission.round:  # unreadable, or no _meta: a file of the round being consolidated
            submission.form_id, submission.round = submission.form_id or spec.form_id, spec.round
        state.batch.append((submission, item.received_at))
        if len(state.batch) >= BATCH_SIZE:
            state.changed |= _record_batch(ledger, state.batch, spec, report, run_id, state.free_core)
            state.batch = []


@dataclass
class _Incoming:
    """One inbox file between loading it and applying its outcome."""

    path: Path
    name: str = ""  # NFC
    sha: str = ""
    received_at: str = ""
    failure: RunReport | None = None  # what _load reported, for a file that could not be loaded
    duplicate: bool = False
    data: bytes | None = None  # a new file's bytes, until it is read
    archived: str | None = None
    submission: Submission | None = None  # a new file, read


def _take_in(path: Path, paths: Paths, ledger: Ledger, known: set[tuple[str, str]], seen_this_run: set[str],
             dry_run: bool) -> _Incoming:
    """Load, hash and sort one file; a new file gets its archive path (the reader writes the copy). Writes
    nothing to the ledger or the report: the outcome is applied later, in inbox order."""
    item = _Incoming(path)
    scratch = RunReport()
    loaded = _load(path, scratch)
    if loaded is None:
        item.failure = scratch
        return item
    data, item.received_at = loaded
    item.sha = hashlib.sha256(data).hexdigest()
    item.name = _nfc(path.name)
    if (item.sha, item.name) in known:
        return item  # unchanged
    if item.sha in seen_this_run or ledger.receipt_kind(item.sha, item.name) == "duplicate":
        item.duplicate = True
        return item
    seen_this_run.add(item.sha)
    item.data = data
    item.archived = None if dry_run else str(paths.archive / archive_name(item.sha, path))
    return item


def archive_name(sha: str, path: Path) -> str:
    """``<sha256>.<ext>``: the extension of the received name, lower-case, only its letters and digits (at most
    5), so that no received name (``bao cao.xls `` with a trailing space, ``x.xl:s`` written on Linux) gives
    an archive name Windows refuses or silently changes."""
    extension = "".join(ch for ch in path.suffix.lower() if ch.isascii() and ch.isalnum())[:5]
    return f"{sha}.{extension}" if extension else sha


POOL_MIN_FILES = 50  # new files in a chunk from which reading goes to the pool: below, starting it costs more
POOL_WORKERS = 2
_POOL_CHUNK = 10  # files per task sent to a worker
_worker_context: tuple[FormSpec, Registry] | None = None  # spec and registry: inherited by the workers


@dataclass(frozen=True)
class _Work:
    """A new file for a reader: its bytes, and where its archive copy goes (None: a dry run)."""

    path: Path
    data: bytes
    archive: str | None


def _archive_and_read(work: _Work, spec: FormSpec, registry: Registry) -> Submission:
    """Write the archive copy (put in place with the rest of its chunk: commit_pending), then read the
    bytes. A failing copy (a full disk) raises: the run stops before recording anything of the chunk."""
    from pipeline.validation.check import read_one

    if work.archive is not None and not os.path.exists(work.archive):
        write_pending(Path(work.archive), work.data)
    return read_one(work.path, spec, registry, data=work.data)


class _Readers:
    """Archives and reads new files into Submissions, in order: in this process, or (from POOL_MIN_FILES
    new files in a chunk on, where fork exists) in POOL_WORKERS forked processes, each doing the archive
    copy, the whole preflight and the read of a file and sending back only its Submission (performance
    notes §2: a pool pays off when workers do the expensive work and return a small record). Files go to
    the workers as they are taken in, so this overlaps hashing the next ones. The pool changes nothing
    but the time: the same copy and read() of the same bytes. Should it break (a worker killed), the
    files are archived (unless already) and read here instead."""

    def __init__(self, spec: FormSpec, registry: Registry) -> None:
        self.spec, self.registry = spec, registry
        self.pool: Any = None
        self.started = False

    def __enter__(self) -> _Readers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> _Reading:
        """A new chunk's reading: add() its files, then take their Submissions from result()."""
        return _Reading(self)

    def start_pool(self) -> None:
        if not self.started:
            self.started = True
            self.pool = _start_pool(self.spec, self.registry)

    def read_here(self, work: list[_Work]) -> list[Submission]:
        return [_archive_and_read(item, self.spec, self.registry) for item in work]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None


class _Reading:
    """One chunk's files being read: sent to the pool _POOL_CHUNK at a time once it runs, else read in
    result()."""

    def __init__(self, readers: _Readers) -> None:
        self.readers = readers
        self.work: list[_Work] = []
        self.sent = 0  # work[:sent] is in the pool's tasks
        self.tasks: list[Any] = []  # futures, in order
        self.worker_cpu = 0.0  # CPU time the workers spent on the chunk's files

    def add(self, work: _Work) -> None:
        self.work.append(work)
        if self.readers.pool is None and len(self.work) >= POOL_MIN_FILES:
            self.readers.start_pool()
        if len(self.work) - self.sent >= _POOL_CHUNK:
            self._send()

    def _send(self) -> None:
        pool = self.readers.pool
        if pool is None or self.sent == len(self.work):
            return
        from concurrent.futures.process import BrokenProcessPool

        try:
            while self.sent < len(self.work):
                task = self.work[self.sent:self.sent + _POOL_CHUNK]
                self.tasks.append(pool.submit(_read_in_worker, task))
                self.sent += len(task)
        except BrokenProcessPool:
            self.readers.close()

    def result(self) -> list[Submission]:
        self._send()
        if self.readers.pool is not None and self.sent == len(self.work):
            from concurrent.futures.process import BrokenProcessPool

            try:
                submissions = []
                for task in self.tasks:
                    read, cpu = pickle.loads(task.result())
                    submissions += read
                    self.worker_cpu += cpu
                self.work, self.tasks = [], []  # the bytes are no longer needed
                return submissions
            except BrokenProcessPool:
                self.readers.close()
        return self.readers.read_here(self.work)


def _start_pool(spec: FormSpec, registry: Registry) -> Any:
    """A pool of POOL_WORKERS forked processes that inherit spec, registry and loaded modules, or None."""
    import pipeline.intake.read  # noqa: F401 - imported once here, inherited by the workers

    global _worker_context
    _worker_context = (spec, registry)
    return fork_pool(POOL_WORKERS)


def _read_in_worker(work: list[_Work]) -> bytes:
    """The Submissions of `work`, pickled: this process unpickles them when it applies the chunk (`result`).
    Sent as objects, they would be unpickled by the pool's manager thread as they arrive, holding the GIL
    for the whole of each task's load (~15 ms) while this process records the previous chunk: the
    recording then ran at a fraction of its speed, and the ledger stage took 13.7 s at 10,000 returns
    against 0.4 s at 1,000 (where nothing is being read any more when it records)."""
    assert _worker_context is not None
    spec, registry = _worker_context
    return pickle.dumps(_with_cpu(lambda: [_archive_and_read(item, spec, registry) for item in work]),
                        pickle.HIGHEST_PROTOCOL)


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
    first = ledger.first_received(sha)
    report.counts["duplicate"] += 1
    report.files.append(FileResult(name, sha, None, "duplicate", [
        issue("SYS_DUPLICATE", file=name, context={"time": first or "?"})]))
    if report.dry_run:
        return
    if first is not None:  # the original is recorded: say so now
        ledger.add_receipt(sha, name, run_id, "duplicate")
    else:  # the original is still in this run's batch (or was skipped): after it
        report.pending_receipts.append((sha, name))


def _add_pending_receipts(ledger: Ledger, report: RunReport, run_id: int) -> None:
    """Receipts of in-run duplicates, now that their originals are recorded. The same bytes as a skipped
    file (two identical `~$` owner files) are skipped too, as a later run would find them."""
    for sha, name in report.pending_receipts:
        if ledger.first_received(sha) is not None:
            ledger.add_receipt(sha, name, run_id, "duplicate")
        elif "skipped" in ledger.receipt_kinds(sha):
            ledger.add_receipt(sha, name, run_id, "skipped")
            original = next(f for f in report.files if f.sha256 == sha and f.status == "skipped")
            result = next(f for f in report.files if f.sha256 == sha and f.name == name)
            result.status, result.issues = "skipped", [replace(i, file=name) for i in original.issues]
            report.counts["duplicate"] -= 1
            report.counts["skipped"] += 1
    report.pending_receipts.clear()


def _of_another_round(submission: Submission, spec: FormSpec) -> bool:
    """A return whose _meta names another round (FORM_OTHER_ROUND), of this form or another."""
    return bool(submission.round) and submission.round != spec.round and any(
        i.code == "FORM_OTHER_ROUND" for i in submission.issues)


def _skipped(submission: Submission) -> bool:
    return bool(submission.issues) and all(i.code in SKIP_CODES for i in submission.issues)


def _record_batch(ledger: Ledger, batch: list[tuple[Submission, str]], spec: FormSpec, report: RunReport,
                  run_id: int, free_core: bool = False) -> bool:
    """Validate the batch, then record each return in its own transaction. With `free_core` (nothing else runs) and
    from POOL_MIN_FILES returns on, a forked process validates the batch while this one encodes the returns'
    documents for the ledger (each about half the work)."""
    from pipeline.record.ledger import documents_of
    from pipeline.validation.validate import Verdict, validate_batch

    submissions = [s for s, _ in batch]
    with report.timed("validate"):  # or validate beside, encode here
        checking = beside(_validate, submissions, spec) if free_core and len(batch) >= POOL_MIN_FILES else None
        documents = [documents_of(s) for s in submissions] if checking is not None else [None] * len(batch)
        checked = outcome(checking)
        if checked is not None:  # the forked process's CPU time is the stage's too
            checked, cpu = checked
            report.add_cpu("validate", cpu)
        verdicts = validate_batch(submissions, spec) if checked is None else [
            Verdict(s, issues, status) for s, (issues, status) in zip(submissions, checked, strict=True)]
    for verdict, (submission, received_at), encoded in zip(verdicts, batch, documents, strict=True):
        status = ledger_status(verdict.status, submission, verdict.issues)
        if encoded is None:
            # One return's documents at a time (a large round holds no batch of them), counted where they are
            # counted when encoded beside the validation: the ledger stage is the recording alone, whatever
            # the round's size.
            with report.timed("validate"):
                encoded = documents_of(submission)
        with report.timed("ledger"):
            recorded = ledger.record(submission=submission, issues=verdict.issues, status=status,
                                     received_at=received_at, archive_path=submission.path, run_id=run_id,
                                     documents=encoded)
        report.counts[status] += 1
        if recorded.superseded_id is not None:
            report.counts["superseded"] += 1
        report.files.append(FileResult(submission.file, submission.sha256, submission.agency_code, status,
                                       verdict.issues, recorded.submission_id))
        if submission.path and any(i.severity is not Severity.INFO for i in verdict.issues):
            report.to_feedback.append((submission, verdict.issues))
    return True


def _validate(submissions: list[Submission], spec: FormSpec) -> tuple[list[tuple[list[Issue], str]], float]:
    """validate_batch in a forked process: each verdict's issues and status (the returns stay there), and the CPU
    time it took."""
    from pipeline.validation.validate import validate_batch

    return _with_cpu(lambda: [(v.issues, v.status) for v in validate_batch(submissions, spec)])


def ledger_status(verdict_status: str, submission: Submission, issues: list[Issue]) -> str:
    """Quarantine what the department must look at itself: internal errors, returns no agency owns."""
    if any(i.code == "SYS_INTERNAL_ERROR" for i in issues):
        return "quarantined"
    if submission.readable and not submission.agency_code:
        return "quarantined"
    return verdict_status


def _write_outputs(ledger: Ledger, paths: Paths, spec: FormSpec, registry: Registry, report: RunReport,
                   changed: bool, run_id: int) -> dict[str, str]:
    target = paths.out / summary_name(spec)
    # the draft report is the plan's (a report form's summary holds its comparison with the plan instead)
    draft = paths.out / report_name(spec) if len(registry.of_round(spec).agencies) <= REPORT_MAX_AGENCIES and not spec.form.get(
        "plan_round") else None
    if not changed and target.exists() and _summary_current(ledger, run_id, target):
        # nothing new: the summary (and the draft report) on disk are already the ledger's
        return {"summary": str(target), **({"report": str(draft)} if draft is not None and draft.exists() else {})}
    # Imported only now: a re-run with nothing new should not pay for pandas (it is most of its time).
    from pipeline.report.summary import write_summary

    with report.timed("summary"):
        index = ledger.submissions(spec.round, INDEX_COLUMNS)
        large = len(index) >= LARGE_ROUND
        if large:
            _return_free_memory()  # what reading freed, before the summary (the peak of a large run)
        summary = _summary_of(ledger, spec, registry, index)
        if large:
            _return_free_memory()  # the ledger rows, decoded and dropped while building
        # The CSV exports and the draft report, written beside the summary workbook (all only read the
        # Summary). Not for a large round: the fork would hold a second copy of this process's memory as it
        # touches it, at the peak.
        others = None if large else beside(_with_cpu, _write_beside_summary, summary, spec, paths.out, draft)
        try:
            outputs = {"summary": str(write_summary(summary, spec, target))}
        except BaseException:
            with contextlib.suppress(Exception):  # the summary's error is the one to report
                outcome(others)  # nothing of a failed run goes on writing after it
            raise
    with report.timed("exports"):  # or, when written beside the summary, the wait for them
        written = outcome(others)
        if written is not None:
            written, cpu = written
            report.add_cpu("exports", cpu)
        outputs.update(written or _write_beside_summary(summary, spec, paths.out, draft))
    return outputs


# What the summary needs to know of every submission before it reads them: which count, which are current.
INDEX_COLUMNS = ("id", "recorded_at", "counted", "agency_code", "status", "received_at", "sha256")


def _summary_of(ledger: Ledger, spec: FormSpec, registry: Registry, index: list[dict[str, Any]]) -> Any:
    """The round's Summary, from the ledger alone (`index`: its submissions' INDEX_COLUMNS)."""
    from pipeline.report.consolidate import LEDGER_COLUMNS, build_summary

    counted = [s["id"] for s in index if s["counted"]]
    current = current_ids(ReturnKey(s["id"], s["agency_code"], s["status"], bool(s["counted"]), s["received_at"],
                                    s["sha256"]) for s in index)
    latest = max((s["recorded_at"] for s in index), default=None)
    generated = dt.datetime.fromisoformat(latest) if latest else dt.datetime(2007, 8, 17)
    summary = build_summary(spec, registry, ledger.iter_submissions(spec.round, LEDGER_COLUMNS),
                            ledger.projects(counted), ledger.issues(current), generated_at=generated,
                            table_rows=ledger.table_rows(counted))
    if spec.form.get("plan_round"):
        summary = _with_plan(ledger, spec, registry, summary)
    return summary


def _with_plan(ledger: Ledger, spec: FormSpec, registry: Registry, summary: Any) -> Any:
    """A report round's Summary with its comparison against the plan round the same ledger holds (the
    "Thực hiện so với kế hoạch" sheets); as it is when the ledger holds no return of that round."""
    from dataclasses import replace as replaced

    from pipeline.form.spec import plan_spec_of
    from pipeline.report.plan_vs_result import compare

    plan_spec = plan_spec_of(spec)
    index = ledger.submissions(plan_spec.round, INDEX_COLUMNS)
    if not any(s["counted"] for s in index):
        return summary
    plan = _summary_of(ledger, plan_spec, registry, index)
    return replaced(summary, comparison=compare(summary, plan, spec, plan_spec,
                                                handovers=handovers_of(registry, plan_spec, spec)))


def previous_returns(db: Path, plan_spec: FormSpec, registry: Registry) -> dict[str, Any]:
    """Each registry agency's counted return of `plan_spec`'s round, for carry-forward templates
    (form.carry_forward.Previous), from the ledger alone (read only)."""
    from pipeline.form.carry_forward import Previous

    with Ledger(db) as ledger:
        rows = [r for r in ledger.iter_submissions(plan_spec.round, ("id", "agency_code", "counted", "file_name",
                                                                     "received_at", "values_json"))
                if r["counted"] and registry.get(r["agency_code"])]
        ids = [r["id"] for r in rows]
        projects, others = ledger.projects(ids), ledger.table_rows(ids)
        dates = {f.id for f in plan_spec.fields.values() if f.type == "date"}
        out = {}
        for r in rows:
            tables = {table_id: by_id.get(r["id"], []) for table_id, by_id in others.items()}
            if plan_spec.table is not None:
                tables[plan_spec.table.id] = projects[r["id"]]
            out[r["agency_code"]] = Previous(decode_values(r["values_json"], dates), tables, r["file_name"],
                                             r["received_at"])
    return out


def handovers_of(registry: Registry, plan_spec: FormSpec, spec: FormSpec) -> tuple[Any, ...]:
    """What became of each agency of `plan_spec`'s round that `spec`'s round no longer expects
    (report.plan_vs_result.Handover): who reports for it on the later round's day (through every successor),
    and the parts of its work that went to others."""
    from pipeline.report.plan_vs_result import Handover

    day = round_day(spec)
    if day is None:
        return ()
    later = registry.of_round(spec)
    out = []
    for a in registry.of_round(plan_spec).agencies:
        if later.get(a.code) is None and a.ended is not None:
            body = registry.reporting_body(a.code, day)
            out.append(Handover(a.code, a.ended, body.code if body else "",
                                tuple((code, part) for code, part in a.transfers if later.get(code))))
    return tuple(out)


def _write_beside_summary(summary: Any, spec: FormSpec, out: Path, draft: Path | None) -> dict[str, str]:
    """The CSV exports, then the draft report (when the round has one), as output name → path."""
    from pipeline.report.draft_report import write_report
    from pipeline.report.exports import write_exports

    outputs = {path.stem: str(path) for path in write_exports(summary, spec, out)}
    if draft is not None:
        outputs["report"] = str(write_report(summary, spec, draft))
    return outputs


def write_draft_report(db: Path, out: Path, spec: FormSpec, registry: Registry) -> Path:
    """`ictplan report`: the draft provincial report of a round already consolidated, from the ledger alone
    (read only: no run, no lock). Raises RunFailed when the ledger holds no return of the round."""
    from pipeline.report.draft_report import write_report

    if not db.exists():
        raise RunFailed(f"{db}: no ledger")
    with Ledger(db) as ledger:
        index = ledger.submissions(spec.round, INDEX_COLUMNS)
        if not index:
            raise RunFailed(f"{db}: no return of round {spec.round} in the ledger")
        summary = _summary_of(ledger, spec, registry, index)
    return write_report(summary, spec, out / report_name(spec))


def _return_free_memory() -> None:
    """Collect garbage and hand the C heap's free pages back to the system (glibc only; elsewhere a no-op):
    otherwise what reading 10,000 returns freed stays in this process's peak memory."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _summary_current(ledger: Ledger, run_id: int, target: Path) -> bool:
    """Whether `target` already shows the ledger: only if the run before this one completed and wrote (or
    confirmed) it. After a run that failed or was killed between recording and writing, or that had to write
    under a fallback name (the summary was open in Excel), the summary is rebuilt although nothing is new."""
    import json

    previous = ledger.previous_run(run_id)
    if previous is None or previous["status"] != "completed":
        return False
    return json.loads(previous["outputs_json"] or "{}").get("summary") == str(target)


FEEDBACK_POOL_MIN = 1  # problem returns from which their feedback is made by forked workers (test hook)


class _Feedback:
    """A feedback workbook for each new return with problems, named after the agency. openpyxl takes ~0.2 s a
    workbook (a round of 41 returns with 4 wrong spends more time here than anywhere else), so they are made
    by POOL_WORKERS forked processes, started before the summary is written, while this process writes it;
    where there is no fork, or should the pool break, here. If the run fails meanwhile, the returns not yet
    begun are left: nothing of a failed run goes on writing after it."""

    def __init__(self, work: list[tuple[Submission, list[Issue]]], spec: FormSpec, registry: Registry,
                 folder: Path) -> None:
        self.work, self.spec, self.registry, self.folder = work, spec, registry, folder
        self.pool: Any = None
        self.tasks: list[Any] = []
        self.worker_cpu = 0.0  # CPU time the workers spent on the workbooks
        if not work:
            return  # and openpyxl (0.2 s to import) is not needed
        import pipeline.report.feedback  # noqa: F401 - imported before forking: the workers inherit it

        if len(work) >= FEEDBACK_POOL_MIN:
            self.pool = _start_pool(spec, registry)
        if self.pool is not None:
            from concurrent.futures.process import BrokenProcessPool

            try:
                self.tasks = [self.pool.submit(_feedback_in_worker, (s, i, folder)) for s, i in work]
            except BrokenProcessPool:
                self.close()

    def __enter__(self) -> _Feedback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def written(self) -> dict[str, str]:
        """Output key → path of each workbook written, once all are."""
        return {f"{FEEDBACK_KEY}{submission.file}": str(path)
                for (submission, _), path in zip(self.work, self._paths(), strict=True) if path is not None}

    def _paths(self) -> list[Path | None]:
        if not self.work:
            return []
        if self.pool is not None:
            from concurrent.futures.process import BrokenProcessPool

            try:
                done = [task.result() for task in self.tasks]
                self.worker_cpu = sum(cpu for _, cpu in done)
                return [path for path, _ in done]
            except BrokenProcessPool:
                pass
            finally:
                self.close()
        from pipeline.report.feedback import feedback_for_file

        return [feedback_for_file(Path(s.path or ""), s, i, self.spec, self.folder, registry=self.registry)
                for s, i in self.work]


def _feedback_in_worker(item: tuple[Submission, list[Issue], Path]) -> tuple[Path | None, float]:
    """The feedback workbook of one return, and the CPU time it took."""
    from pipeline.report.feedback import feedback_for_file

    assert _worker_context is not None
    spec, registry = _worker_context
    submission, issues, folder = item
    return _with_cpu(lambda: feedback_for_file(Path(submission.path or ""), submission, issues, spec, folder,
                                               registry=registry))
