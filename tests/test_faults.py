"""Fault injection: the ledger and the outputs survive what an office PC does to a consolidation.

Reliability notes §5 (F1–F15). Each test breaks one thing — a full disk, a kill -9, a second run, a summary
open in Excel, a file that vanishes, a corrupt or busy ledger, a bug in a rule — and then checks the
ledger invariant (tests/faultkit.py: `ledger_invariant`, `complete_invariant`), that the previous outputs
are untouched where the run could not finish, and that a plain re-run produces the same summary data as a
run that was never interrupted.

Crashes are real: the command runs as a subprocess (`python -m pipeline consolidate`) and is killed with
SIGKILL, or dies through os._exit(137) at a chosen point installed by a small driver (`_DRIVER`, test code
only — the pipeline has no fault hooks). Full disks are a monkeypatched ENOSPC in process, and a real
RLIMIT_FSIZE (SIGXFSZ ignored, so writes fail with EFBIG) in a child process.

The kill loop runs ICTPLAN_KILL_LOOPS times (default 8, seed ICTPLAN_KILL_SEED, default 2007); the slow
variant (ICTPLAN_SLOW=1) runs 50 more with another seed.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from faultkit import (
    RECEIVED,
    cli_command,
    complete_invariant,
    connect,
    diff_keys,
    ledger_invariant,
    owner_file,
    run_cli,
    runs,
    set_received,
    sha,
    snapshot,
    summary_data,
    temps,
    write_return,
)

from pipeline import atomic
from pipeline.cli import cli
from pipeline.form.template import template_file_name
from pipeline.record.ledger import Ledger
from pipeline.record.lock import LockHeld, RunLock
from pipeline.run import Paths, RunFailed, consolidate, summary_name
from pipeline.validation import schemas

DAY, HOUR = dt.timedelta(days=1), dt.timedelta(hours=1)
SLOW = os.environ.get("ICTPLAN_SLOW") == "1"

# A crash point, installed in a child process before the command runs; os._exit(137) is what SIGKILL
# looks like to everything after it (no finally, no atexit, no flush).
_DRIVER = r"""
import os, sys, time
from pathlib import Path
point, args = sys.argv[1], sys.argv[2:]

def die(*_a, **_k):
    os._exit(137)

if point == "after_ledger_commit":            # every return committed, no output written yet
    import pipeline.run as run
    run._write_outputs = die
elif point.startswith("mid_submission:"):     # inside the Nth return's transaction, before COMMIT
    from pipeline.record.ledger import Ledger
    nth, calls, record = int(point.split(":")[1]), [0], Ledger.record

    class Conn:
        def __init__(self, db):
            self._db = db
        def execute(self, sql, *a):
            if sql == "COMMIT":
                die()
            return self._db.execute(sql, *a)
        def __getattr__(self, name):
            return getattr(self._db, name)

    def recording(self, **kw):
        calls[0] += 1
        if calls[0] == nth:
            self.db = Conn(self.db)
        return record(self, **kw)
    Ledger.record = recording
elif point in ("before_replace:summary", "before_replace:archive"):   # temp file written, not renamed
    which, real = point.split(":")[1], os.replace

    def replace(src, dst, **kw):
        dst = Path(dst)
        if (dst.name.startswith("tong_hop_") if which == "summary" else dst.parent.name == "archive"):
            die()
        return real(src, dst, **kw)
    os.replace = replace
elif point.startswith("slow:"):              # a long run: holds the lock while "validating"
    import pipeline.validation.validate as validate
    pause, batch = float(point.split(":")[1]), validate.validate_batch

    def slow(*a, **k):
        time.sleep(pause)
        return batch(*a, **k)
    validate.validate_batch = slow

sys.argv = ["ictplan", *args]
from pipeline.cli import main
main()
"""


def driver(point: str, paths: Paths, *extra: str, **kwargs) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", _DRIVER, point, *cli_command(paths, "--json", *extra)[3:]]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=paths.out.parent, **kwargs)


# --- the corpus: two batches of returns, and the summary of an uninterrupted run -----------------------


def first_batch(inbox: Path, spec, registry) -> None:
    """Five agencies, one with a deliberate mistake."""
    for i, agency in enumerate(registry.agencies[:5]):
        write_return(inbox, spec, agency, seed="faults-1", mistakes=1 if i == 3 else 0, received=RECEIVED + i * HOUR)


def second_batch(inbox: Path, spec, registry) -> None:
    """What arrives later: two new agencies, a corrected resend of the first agency (newer: it supersedes),
    a copy of an existing return under another name (duplicate), a 300 KB scanned letter instead of the form
    (rejected) and two byte-identical Excel owner files (both skipped)."""
    agencies = registry.agencies
    for i, agency in enumerate(agencies[5:7]):
        write_return(inbox, spec, agency, seed="faults-2", received=RECEIVED + DAY + i * HOUR)
    first = agencies[0]
    write_return(inbox, spec, first, seed="faults-resend", received=RECEIVED + 2 * DAY, name=resend_name(spec, first))
    original = inbox / template_file_name(spec, agencies[5].code)
    shutil.copy2(original, inbox / original.name.replace(".xlsx", " - Copy.xlsx"))
    scan = inbox / SCAN
    scan.write_bytes(b"%PDF-1.4\n" + random.Random(SCAN).randbytes(300 * 1024))
    set_received(scan, RECEIVED + DAY)
    for name in (original.name, template_file_name(spec, agencies[6].code)):
        (inbox / f"~${name}").write_bytes(owner_file())


SCAN = "cong_van_scan.pdf"


def resend_name(spec, agency) -> str:
    return template_file_name(spec, agency.code).replace(".xlsx", " (gui lai).xlsx")


def layout(root: Path) -> Paths:
    return Paths(root / "inbox", root / "out", root / "state" / "ledger.sqlite")


def summary_of(paths: Paths, spec, *, by_content: bool = False) -> dict:
    return summary_data(paths.out / summary_name(spec), paths.out / "data", by_content=by_content)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, spec, registry):
    """`after_first`: a ledger and outputs after the first batch (copied into each test);
    `first`, `final`: the summary data after the first batch and after both, run without interruption."""
    root = tmp_path_factory.mktemp("corpus")
    paths = layout(root / "after_first")
    first_batch(paths.inbox, spec, registry)
    consolidate(paths, spec, registry)
    first = summary_of(paths, spec)
    later = root / "later"
    second_batch(later, spec, registry)
    baseline = layout(root / "baseline")
    shutil.copytree(root / "after_first", root / "baseline")
    for p in later.iterdir():
        shutil.copy2(p, baseline.inbox / p.name)
    consolidate(baseline, spec, registry)
    final = summary_of(baseline, spec)
    assert first != final
    return {"after_first": root / "after_first", "later": later, "first": first, "final": final,
            "final_by_content": summary_of(baseline, spec, by_content=True),
            "final_kinds": complete_invariant(baseline)}


@pytest.fixture
def paths(tmp_path, corpus) -> Paths:
    """The state after the first batch, with the second batch just arrived in the inbox."""
    shutil.copytree(corpus["after_first"], tmp_path / "run")
    paths = layout(tmp_path / "run")
    for p in corpus["later"].iterdir():
        shutil.copy2(p, paths.inbox / p.name)
    return paths


def assert_same_summary(paths: Paths, spec, expected: dict) -> None:
    got = summary_of(paths, spec)
    assert got == expected, f"summary data differs from an uninterrupted run in {diff_keys(got, expected)}"


def rerun_completes(paths: Paths, spec, registry, corpus, *, by_content: bool = False) -> None:
    """A plain re-run completes; every file is in exactly one state; the summary is the uninterrupted one
    (`by_content`: up to submission ids, when the returns were recorded in another order)."""
    consolidate(paths, spec, registry)
    assert complete_invariant(paths) == corpus["final_kinds"]
    if by_content:
        got = summary_of(paths, spec, by_content=True)
        assert got == corpus["final_by_content"], f"differs in {diff_keys(got, corpus['final_by_content'])}"
    else:
        assert_same_summary(paths, spec, corpus["final"])


def invoke(paths: Paths, *extra: str):
    return CliRunner().invoke(cli, ["consolidate", "--inbox", str(paths.inbox), "--out", str(paths.out),
                                    "--db", str(paths.db), "--lang", "en", *extra])


def stderr_of(result) -> str:
    return result.stderr if hasattr(result, "stderr") else result.output


def sha_recorded(paths: Paths, digest: str) -> dict[str, int]:
    con = connect(paths.db)
    try:
        sub = con.execute("SELECT id FROM submissions WHERE sha256 = ?", (digest,)).fetchone()
        sid = sub[0] if sub else -1
        return {"submissions": int(sub is not None),
                "receipts": con.execute("SELECT COUNT(*) FROM receipts WHERE sha256 = ?", (digest,)).fetchone()[0],
                "projects": con.execute("SELECT COUNT(*) FROM projects WHERE submission_id = ?", (sid,)).fetchone()[0],
                "issues": con.execute("SELECT COUNT(*) FROM issues WHERE submission_id = ?", (sid,)).fetchone()[0]}
    finally:
        con.close()


def new_files(paths: Paths, corpus) -> list[Path]:
    """The second batch's files in the order the run lists them."""
    return sorted((paths.inbox / p.name for p in corpus["later"].iterdir()), key=lambda p: p.name)


# --- F1/F2: disk full or I/O error (monkeypatched ENOSPC, in process) ----------------------------------


def _enospc_in_temp(monkeypatch, wanted, *, skip: int = 0) -> list[Path]:
    """Make the temp-file write of targets that `wanted(target)` accepts fail half-way with ENOSPC, after
    `skip` of them were written normally; returns the targets seen."""
    real, seen = atomic._write_temp, []

    def write_temp(target: Path, data, **kw):
        if not wanted(target):
            return real(target, data, **kw)
        seen.append(target)
        if len(seen) <= skip:
            return real(target, data, **kw)
        payload = data if isinstance(data, bytes) else b"x" * 4096

        def half(path: Path) -> None:
            path.write_bytes(payload[: len(payload) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

        return real(target, half, **kw)

    monkeypatch.setattr(atomic, "_write_temp", write_temp)
    return seen


def test_disk_full_while_archiving_an_input(paths, spec, registry, corpus, monkeypatch):
    outputs = snapshot(paths.out)
    hit = _enospc_in_temp(monkeypatch, lambda t: t.parent == paths.archive, skip=1)
    result = invoke(paths, "--json")
    assert result.exit_code == 1
    assert "could not complete" in stderr_of(result) and "No space left on device" in stderr_of(result)
    assert len(hit) == 2  # the first new input archived, the second failed
    assert snapshot(paths.out) == outputs  # the previous summary and exports are byte-identical
    assert not temps(paths.archive, paths.out)
    assert runs(paths.db)[-1]["status"] == "failed" and "No space left" in runs(paths.db)[-1]["error"]
    ledger_invariant(paths)
    for p in new_files(paths, corpus):  # nothing of the batch counts as processed: all retried next run
        assert sha_recorded(paths, sha(p))["submissions"] == 0, p.name
    monkeypatch.undo()
    rerun_completes(paths, spec, registry, corpus)


def test_io_error_while_writing_the_ledger(paths, spec, registry, corpus, monkeypatch):
    """SQLite reports the disk full at the second return's COMMIT: that transaction rolls back whole."""
    outputs = snapshot(paths.out)
    calls, record = [0], Ledger.record

    class FullDisk:
        def __init__(self, db):
            self._db = db

        def execute(self, sql, *args):
            if sql == "COMMIT":
                raise sqlite3.OperationalError("database or disk is full")
            return self._db.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self._db, name)

    def recording(self, **kw):
        calls[0] += 1
        if calls[0] == 2:
            real, self.db = self.db, FullDisk(self.db)
            try:
                return record(self, **kw)
            finally:
                self.db = real
        return record(self, **kw)

    monkeypatch.setattr(Ledger, "record", recording)
    with pytest.raises(RunFailed, match="disk is full"):
        consolidate(paths, spec, registry)
    assert snapshot(paths.out) == outputs
    assert runs(paths.db)[-1]["status"] == "failed"
    ledger_invariant(paths)
    returns = sorted({sha(p) for p in new_files(paths, corpus) if not p.name.startswith("~$")})
    states = {digest: sha_recorded(paths, digest) for digest in returns}
    assert sum(s["submissions"] for s in states.values()) == 1  # the first new return is committed...
    assert all(s == {"submissions": 0, "receipts": 0, "projects": 0, "issues": 0}
               for s in states.values() if not s["submissions"])  # ...the second (and later) left nothing
    monkeypatch.undo()
    rerun_completes(paths, spec, registry, corpus)


def test_disk_full_while_writing_the_summary(paths, spec, registry, corpus, monkeypatch):
    target = paths.out / summary_name(spec)
    before = target.read_bytes()
    _enospc_in_temp(monkeypatch, lambda t: t == target)
    result = invoke(paths, "--json")
    assert result.exit_code == 1 and "No space left on device" in stderr_of(result)
    assert target.read_bytes() == before  # the previous summary is byte-identical
    assert not temps(paths.out)
    assert runs(paths.db)[-1]["status"] == "failed"
    ledger_invariant(paths)  # the returns themselves are recorded: the summary is rebuilt from them
    monkeypatch.undo()
    rerun_completes(paths, spec, registry, corpus)  # ...by the next run, although nothing new arrived


# --- F1/F2 with a real limit: a child process with RLIMIT_FSIZE (writes past it fail with EFBIG) -------


def _file_size_limit(limit: int):
    def set_limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return set_limit


def test_real_file_size_limit_while_archiving(paths, spec, registry, corpus):
    """Under a limit smaller than the 300 KB scanned letter (but larger than every workbook and than the
    ledger's writes so far) its archive copy fails with EFBIG: the run stops before recording or archiving
    anything of the batch, the previous outputs survive, the command exits 1 naming the error, a re-run completes."""
    scan = (paths.inbox / SCAN).stat().st_size
    outputs, archived = snapshot(paths.out), snapshot(paths.archive)
    done = run_cli(paths, preexec_fn=_file_size_limit(scan // 2))
    assert done.returncode == 1, done.stderr
    assert "could not complete" in done.stderr and "File too large" in done.stderr
    assert snapshot(paths.out) == outputs
    assert not temps(paths.out, paths.archive)
    assert snapshot(paths.archive) == archived  # nothing of the failed batch is in the archive, not even half
    ledger_invariant(paths)
    rerun_completes(paths, spec, registry, corpus)


def test_real_file_size_limit_while_writing_the_summary(paths, spec, registry, corpus):
    """Power cut after the returns were recorded, then the disk is full on the re-run: the summary (the
    largest file written) fails with EFBIG, the previous one survives byte for byte, exit 1; the next run
    writes it although nothing new arrived."""
    target = paths.out / summary_name(spec)
    before = target.read_bytes()
    assert driver("after_ledger_commit", paths).returncode == 137
    assert CliRunner().invoke(cli, ["status", "--db", str(paths.db)]).exit_code == 0  # the operator looks
    limit = len(before) - 8 * 1024
    assert limit > 40 * 1024  # above SQLite's 32 KB WAL index and this run's small ledger writes
    done = run_cli(paths, preexec_fn=_file_size_limit(limit))
    assert done.returncode == 1, done.stderr
    assert "could not complete" in done.stderr and "File too large" in done.stderr
    assert target.read_bytes() == before
    assert not temps(paths.out)
    assert runs(paths.db)[-1]["status"] == "failed"
    ledger_invariant(paths)
    rerun_completes(paths, spec, registry, corpus)


def test_real_file_size_limit_while_writing_the_ledger(tmp_path, spec, registry, corpus):
    """The ledger cannot grow (its WAL hits the limit) in the middle of recording: the returns recorded so
    far are whole, the failing one left nothing, the integrity check passes, exit 1 with no summary
    written; an unlimited re-run records the rest and gives the summary of a run that never failed."""
    paths = layout(tmp_path / "fresh")
    shutil.copytree(corpus["after_first"] / "inbox", paths.inbox)
    for p in corpus["later"].iterdir():
        shutil.copy2(p, paths.inbox / p.name)
    done = run_cli(paths, preexec_fn=_file_size_limit((paths.inbox / SCAN).stat().st_size + 48 * 1024))
    assert done.returncode == 1, done.stdout
    assert "could not complete" in done.stderr and "disk I/O error" in done.stderr
    assert not (paths.out / summary_name(spec)).exists()
    ledger_invariant(paths)
    con = connect(paths.db)
    recorded = con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    con.close()
    consolidate(paths, spec, registry)
    kinds = complete_invariant(paths)
    assert 0 < recorded < kinds["new"]  # it did fail in the middle of recording
    clean = layout(tmp_path / "clean")  # the reference: the same inbox, one uninterrupted run
    shutil.copytree(paths.inbox, clean.inbox)
    consolidate(clean, spec, registry)
    assert summary_of(paths, spec) == summary_of(clean, spec)


# --- F3–F6: killed mid-run --------------------------------------------------------------------------------


@pytest.mark.parametrize("point", ["after_ledger_commit", "mid_submission:1", "mid_submission:3",
                                   "before_replace:summary", "before_replace:archive"])
def test_crash_at_a_chosen_point(point, paths, spec, registry, corpus):
    """os._exit(137) at a chosen point; then a plain re-run. The previous summary is never damaged, a
    half-done return leaves nothing behind, stray temp files are cleaned, the summary equals the
    uninterrupted run's."""
    target = paths.out / summary_name(spec)
    before = target.read_bytes()
    done = driver(point, paths)
    assert done.returncode == 137, done.stderr
    assert target.read_bytes() == before
    ledger_invariant(paths)
    if point.startswith("before_replace"):
        assert temps(paths.out if point.endswith("summary") else paths.archive)  # the stray temp file...
    rerun_completes(paths, spec, registry, corpus)  # ...is gone after the re-run (complete_invariant)


def _kill_loop(tmp_path: Path, spec, registry, loops: int, seed: int) -> None:
    rng = random.Random(seed)
    corpus = tmp_path / "corpus"
    first_batch(corpus, spec, registry)
    second_batch(corpus, spec, registry)
    files = sorted(corpus.iterdir(), key=lambda p: p.name)
    # An uninterrupted run over the whole inbox: the reference, and its duration bounds the kill delays.
    baseline = layout(tmp_path / "baseline")
    shutil.copytree(corpus, baseline.inbox)
    started = time.monotonic()
    done = run_cli(baseline)
    duration = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    expected, expected_kinds = summary_of(baseline, spec), complete_invariant(baseline)

    # Returns keep arriving (contiguous chunks in the order the run lists them, so ids match the baseline);
    # every run is killed after a random delay up to three quarters of its expected length (under load a run
    # may well be quicker than the last one: the margin keeps most of them killed); the ledger invariant is
    # checked after every kill. Where the kill landed is classified from what it left behind.
    paths = layout(tmp_path / "killed")
    paths.inbox.mkdir(parents=True)
    per_chunk = -(-len(files) // loops)
    expected_length = duration
    outcomes: dict[str, int] = {}
    for i in range(loops):
        for p in files[i * per_chunk:(i + 1) * per_chunk]:
            shutil.copy2(p, paths.inbox / p.name)
        before = _progress(paths, spec)
        started = time.monotonic()
        process = subprocess.Popen(cli_command(paths, "--json"), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, cwd=tmp_path)
        try:
            process.wait(timeout=rng.uniform(0.05, 0.75) * expected_length)
            expected_length = time.monotonic() - started
            outcome = "finished" if process.returncode == 0 else f"exit {process.returncode}"
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            outcome = "killed " + _where(before, _progress(paths, spec))
        error = process.stderr.read().decode() if process.stderr else ""
        process.stderr.close()
        assert not outcome.startswith("exit"), error
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if paths.db.exists():
            ledger_invariant(paths)
    for p in files:  # whatever has not arrived yet arrives now
        if not (paths.inbox / p.name).exists():
            shutil.copy2(p, paths.inbox / p.name)
    done = run_cli(paths)
    assert done.returncode == 0, done.stderr
    assert complete_invariant(paths) == expected_kinds
    got = summary_of(paths, spec)
    assert got == expected, f"after {outcomes}: summary data differs in {diff_keys(got, expected)}"
    again = run_cli(paths)
    assert again.returncode == 0 and json.loads(again.stdout)["counts"]["unchanged"] == len(files)
    assert summary_of(paths, spec) == expected
    assert sum(n for k, n in outcomes.items() if k.startswith("killed")) >= loops // 2, outcomes
    print(f"kill loop: {loops} runs, {outcomes}")


def _progress(paths: Paths, spec) -> tuple[int, int, int, float]:
    """(runs, submissions, receipts, summary mtime) as far as they exist."""
    counts = [0, 0, 0]
    if paths.db.exists():
        con = connect(paths.db)
        try:
            counts = [con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("runs", "submissions", "receipts")]
        except sqlite3.OperationalError:
            pass  # killed before the schema existed
        finally:
            con.close()
    summary = paths.out / summary_name(spec)
    return (*counts, summary.stat().st_mtime if summary.exists() else 0.0)


def _where(before: tuple, after: tuple) -> str:
    if after[0] == before[0]:
        return "before the run was recorded"
    if after[3] != before[3]:
        return "after the summary was written"
    if after[1:3] != before[1:3]:
        return "after recording, before the summary"
    return "while reading"


def test_kill_minus_nine_loop(tmp_path, spec, registry):
    """F6: SIGKILL at random (seeded) moments, ICTPLAN_KILL_LOOPS times (default 8), then a re-run."""
    _kill_loop(tmp_path, spec, registry, int(os.environ.get("ICTPLAN_KILL_LOOPS", "8")),
               int(os.environ.get("ICTPLAN_KILL_SEED", "2007")))


@pytest.mark.slow
@pytest.mark.skipif(not SLOW, reason="long kill loop: set ICTPLAN_SLOW=1")
def test_kill_minus_nine_loop_long(tmp_path, spec, registry):
    _kill_loop(tmp_path, spec, registry, 50, 1986)


# --- F7: two runs at once; a stale lock ---------------------------------------------------------------


def test_two_runs_started_together(tmp_path, paths, spec, registry, corpus):
    """Both start at once on the same ledger: one runs, the other stops at once naming the holder."""
    command = [sys.executable, "-c", _DRIVER, "slow:4", *cli_command(paths, "--json")[3:]]
    started = time.monotonic()
    logs = [(tmp_path / f"out{i}.txt", tmp_path / f"err{i}.txt") for i in range(2)]
    procs = []
    for out, err in logs:
        with out.open("w") as stdout, err.open("w") as stderr:
            procs.append(subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=paths.out.parent))
    finished: dict[int, float] = {}
    while len(finished) < 2:
        for p in procs:
            if p.pid not in finished and p.poll() is not None:
                finished[p.pid] = time.monotonic() - started
        assert time.monotonic() - started < 120
        time.sleep(0.02)
    results = [(p.returncode, finished[p.pid], err.read_text(), p.pid) for p, (_, err) in zip(procs, logs, strict=True)]
    assert sorted(r[0] for r in results) == [0, 1], results
    (_, won_at, _, winner), (_, lost_at, message, _) = sorted(results)
    assert f"pid {winner}" in message and f"host {socket.gethostname()}" in message, message
    assert "Another consolidation is running on this ledger" in message
    assert lost_at < won_at - 2  # it did not wait for the other run
    assert len(runs(paths.db)) == len(runs(corpus["after_first"] / "state" / "ledger.sqlite")) + 1
    assert complete_invariant(paths) == corpus["final_kinds"]
    assert_same_summary(paths, spec, corpus["final"])


def test_stale_lock_is_taken_over_with_a_warning(paths, spec, registry, corpus):
    pid = _dead_pid()
    paths.lock.write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "since": "2007-10-15T09:30:00"}),
                          encoding="utf-8")
    result = invoke(paths)
    assert result.exit_code == 0, result.output
    assert f"stale lock left by a dead process (pid {pid}" in result.output
    assert not paths.lock.exists()
    assert complete_invariant(paths) == corpus["final_kinds"]


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_two_runs_taking_over_the_same_stale_lock(tmp_path, monkeypatch):
    """After a crash two colleagues start at once and both find the dead run's lock. Forced interleaving:
    the second has judged the lock stale, then the first takes it over before the second acts. The second
    must not remove the first's fresh lock: it stops, naming the first."""
    path = tmp_path / "ledger.sqlite.lock"
    path.write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname(), "since": "2007-10-15T09:30:00"}),
                    encoding="utf-8")
    first, second = RunLock(path), RunLock(path)
    real = RunLock._read

    def read(self):
        seen = real(self)
        if self is second and not first._held:
            first.acquire()  # the other run wins the takeover right now
        return seen

    monkeypatch.setattr(RunLock, "_read", read)
    with pytest.raises(LockHeld) as caught:
        second.acquire()
    assert caught.value.holder.pid == os.getpid() and first.taken_over is not None
    assert json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid()  # the first's lock is in place
    first.release()
    assert not path.exists()


def test_a_lock_being_written_is_not_taken_for_an_abandoned_one(tmp_path, monkeypatch):
    """Forced interleaving: the second run looks at the lock at the very moment the first creates it. It
    must see a complete lock (or none), never an empty file it would remove as 'half-written'."""
    path = tmp_path / "ledger.sqlite.lock"
    first, second = RunLock(path), RunLock(path)
    real_link, outcome = os.link, {}

    def link(src, dst, **kw):
        real_link(src, dst, **kw)
        if Path(dst) == path and not outcome:
            try:
                second.acquire()
                outcome["second"] = "acquired"
            except LockHeld as held:
                outcome["second"] = held.holder.pid

    monkeypatch.setattr(os, "link", link)
    first.acquire()
    assert outcome == {"second": os.getpid()} and first.taken_over is None and second.taken_over is None
    first.release()


def test_a_run_does_not_remove_a_lock_that_is_no_longer_its_own(tmp_path):
    """A run declared stale (older than 12 h) and taken over must not delete the new holder's lock."""
    path = tmp_path / "ledger.sqlite.lock"
    old = RunLock(path).acquire()
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, "since": "2007-10-15T09:30:00"}), encoding="utf-8")  # 12 h passed
    new = RunLock(path).acquire()
    assert new.taken_over is not None
    old.release()
    assert path.exists() and json.loads(path.read_text(encoding="utf-8"))["since"] != "2007-10-15T09:30:00"
    new.release()
    assert not path.exists()


# --- F8: the summary is open in Excel -----------------------------------------------------------------


def test_locked_summary_is_written_under_a_timestamped_name(paths, spec, registry, corpus, monkeypatch):
    target = paths.out / summary_name(spec)
    before = target.read_bytes()
    real = os.replace

    def replace(src, dst, **kw):
        if Path(dst) == target:
            raise PermissionError(13, "Permission denied")  # Windows: the file is open in Excel
        return real(src, dst, **kw)

    monkeypatch.setattr(os, "replace", replace)
    result = invoke(paths)
    assert result.exit_code == 0, result.output
    fallback = next(p for p in paths.out.glob("tong_hop_*.xlsx") if p != target)
    assert fallback.name.startswith(target.stem + "_")
    assert str(fallback) in result.output and "open or locked" in result.output  # reported to the operator
    assert runs(paths.db)[-1]["outputs"]["summary"] == str(fallback)  # the ledger knows which file is current
    assert target.read_bytes() == before
    assert summary_data(fallback, paths.out / "data") == corpus["final"]
    monkeypatch.undo()
    # Excel closed: the next run (nothing new) brings the usual name up to date.
    consolidate(paths, spec, registry)
    assert_same_summary(paths, spec, corpus["final"])


# --- F9/F10: an inbox file vanishes, changes or cannot be read ----------------------------------------


def _after_listing(monkeypatch, action) -> None:
    import pipeline.run as run

    real = run.list_inbox

    def listing(inbox: Path) -> list[Path]:
        files = real(inbox)
        action(files)
        return files

    monkeypatch.setattr(run, "list_inbox", listing)


def test_file_vanishing_after_listing_is_reported_and_retried(paths, spec, registry, corpus, monkeypatch):
    victim = paths.inbox / resend_name(spec, registry.agencies[0])
    kept = victim.read_bytes()
    _after_listing(monkeypatch, lambda files: victim.unlink())
    report = consolidate(paths, spec, registry)
    vanished = [f for f in report.files if f.name == victim.name]
    assert [(f.status, [i.code for i in f.issues]) for f in vanished] == [("unreadable", ["FILE_VANISHED"])]
    assert report.counts["unreadable"] == 1 and report.counts["received"] == len(new_files(paths, corpus)) - 1
    assert sha_recorded(paths, hashlib.sha256(kept).hexdigest())["receipts"] == 0
    ledger_invariant(paths)
    monkeypatch.undo()
    victim.write_bytes(kept)  # the agency's file is back (or was only being moved)
    set_received(victim, RECEIVED + 2 * DAY)
    rerun_completes(paths, spec, registry, corpus, by_content=True)  # recorded after the others: new ids


def test_file_changing_after_listing_is_recorded_as_read(paths, spec, registry, corpus, monkeypatch):
    """The bytes read are the bytes hashed, archived and parsed: a file rewritten between listing and
    reading is recorded as what was read (here a half-copied file, rejected), never a mix."""
    victim = paths.inbox / template_file_name(spec, registry.agencies[6].code)
    full = victim.read_bytes()
    _after_listing(monkeypatch, lambda files: victim.write_bytes(full[: len(full) // 2]))
    report = consolidate(paths, spec, registry)
    result = next(f for f in report.files if f.name == victim.name)
    assert result.status == "rejected" and result.sha256 == sha(victim)
    assert sha(paths.archive / f"{result.sha256}.xlsx") == result.sha256
    ledger_invariant(paths, inbox_stable=False)
    monkeypatch.undo()
    victim.write_bytes(full)  # the copy finishes: new bytes, a new return
    set_received(victim, RECEIVED + 3 * DAY)
    report = consolidate(paths, spec, registry)
    assert [f.status for f in report.files if f.name == victim.name] == ["accepted"]
    ledger_invariant(paths, inbox_stable=False)


def test_unreadable_file_is_reported_not_recorded_and_retried(paths, spec, registry, corpus, monkeypatch):
    """We run as root, so chmod 000 would not stop the read: the read itself raises PermissionError."""
    victim = paths.inbox / template_file_name(spec, registry.agencies[6].code)
    digest, real = sha(victim), Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == victim:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    report = consolidate(paths, spec, registry)
    result = [f for f in report.files if f.name == victim.name]
    assert [(f.status, [i.code for i in f.issues]) for f in result] == [("unreadable", ["FILE_UNREADABLE"])]
    assert sha_recorded(paths, digest) == {"submissions": 0, "receipts": 0, "projects": 0, "issues": 0}
    assert report.counts["received"] == len(new_files(paths, corpus)) - 1  # the batch went on
    ledger_invariant(paths)
    monkeypatch.undo()
    rerun_completes(paths, spec, registry, corpus, by_content=True)


# --- F11/F12: the ledger is corrupt or busy -------------------------------------------------------------


def _garbage_pages(db: Path) -> None:
    data = bytearray(db.read_bytes())
    data[100:8192] = b"\xff" * (8192 - 100)
    db.write_bytes(bytes(data))


def _truncated(db: Path) -> None:
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 3])


def _not_a_database(db: Path) -> None:
    db.write_bytes(b"PK\x03\x04 someone saved a workbook over the ledger" * 100)


@pytest.mark.parametrize("damage", [_garbage_pages, _truncated, _not_a_database])
def test_corrupt_ledger_stops_before_any_output(damage, paths, spec, registry):
    damage(paths.db)
    before, archived, ledger_bytes = snapshot(paths.out), snapshot(paths.archive), paths.db.read_bytes()
    result = invoke(paths, "--json")
    assert result.exit_code == 1
    message = stderr_of(result)
    assert "could not complete" in message and str(paths.db) in message
    assert snapshot(paths.out) == before  # the summary and exports untouched
    assert paths.db.read_bytes() == ledger_bytes  # and the damaged ledger left for the operator
    assert snapshot(paths.archive) == archived  # nothing archived
    assert not paths.lock.exists()


def test_busy_ledger_stops_before_any_output(paths, spec, registry, corpus, monkeypatch):
    monkeypatch.setitem(Ledger.__init__.__kwdefaults__, "busy_timeout", 0.3)
    before = snapshot(paths.out)
    holder = sqlite3.connect(paths.db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program (a backup, a DB browser) writing
    try:
        started = time.monotonic()
        result = invoke(paths, "--json")
        assert time.monotonic() - started < 10
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert "could not complete" in stderr_of(result) and "locked" in stderr_of(result)
    assert snapshot(paths.out) == before
    assert not paths.lock.exists()
    monkeypatch.undo()
    rerun_completes(paths, spec, registry, corpus)


# --- F14: a bug in one return's validation -------------------------------------------------------------


def test_bug_in_a_rule_quarantines_only_that_return(paths, spec, registry, corpus, monkeypatch):
    victim = registry.agencies[5].code  # one of the second batch
    original = schemas.rule_outcome

    def outcome(rule, frame):
        if "ma_don_vi" in frame and (frame["ma_don_vi"] == victim).any():
            raise ZeroDivisionError("boom")
        return original(rule, frame)

    monkeypatch.setattr(schemas, "rule_outcome", outcome)
    report = consolidate(paths, spec, registry)
    by_agency = {f.agency: f for f in report.files if f.agency}
    hit = by_agency[victim]
    assert hit.status == "quarantined"
    assert [i.context.get("reason") for i in hit.issues if i.code == "SYS_INTERNAL_ERROR"] == ["ZeroDivisionError: boom"]
    assert sha(paths.archive / f"{hit.sha256}.xlsx") == hit.sha256  # the file is kept
    assert report.counts["quarantined"] == 1
    others = {a: f.status for a, f in by_agency.items() if a != victim}
    assert others and all(s in ("accepted", "accepted_with_warnings") for s in others.values()), others
    assert report.counts["rejected"] == 1  # the scanned letter, as without the bug
    ledger_invariant(paths)
    with Ledger(paths.db) as ledger:
        row = next(r for r in ledger.submissions() if r["agency_code"] == victim)
        assert (row["status"], row["counted"]) == ("quarantined", 0)
        assert [i.code for i in ledger.issues([row["id"]])[row["id"]]] == ["SYS_INTERNAL_ERROR"]


# --- F15: the output folder cannot be written ----------------------------------------------------------


def test_unusable_output_folder_fails_cleanly_and_the_next_run_writes(tmp_path, paths, spec, registry, corpus):
    out = paths.out
    shutil.move(out, tmp_path / "moved-away")
    out.write_bytes(b"a file where the output folder should be")
    moved = Paths(paths.inbox, out, paths.db)
    with pytest.raises(RunFailed):
        consolidate(moved, spec, registry)
    ledger_invariant(paths)
    out.unlink()
    rerun_completes(paths, spec, registry, corpus)
