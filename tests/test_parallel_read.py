"""Reading new returns in a pool of forked workers changes nothing but the time (pipeline.run._Readers).

The same mixed inbox (clean returns, returns with mistakes, a resubmission, duplicates under other names,
a skipped file, a corrupt file, a file no agency owns) is consolidated twice, once in this process and
once through the pool, with small chunks and batches so that chunk edges, batch flushes and in-run
duplicates across chunks are all exercised. The reports and the ledgers must be identical but for
timestamps and the output folder. The same holds for the other work done by forked processes: feedback
workbooks, the CSV exports written beside the summary, a batch validated beside its encoding for the ledger
(pipeline.parallel), including when such a process is killed.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import random
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from pipeline import parallel, run
from pipeline.form.sample import make_sample, write_samples
from pipeline.form.template import build_workbook
from pipeline.report import summary as summary_writer
from pipeline.run import Paths, consolidate

TIMES = {"received_at", "recorded_at", "first_seen", "started_at", "finished_at", "applied_at"}


@pytest.fixture(scope="module")
def mixed_inbox(tmp_path_factory, spec, registry) -> Path:
    folder = tmp_path_factory.mktemp("mixed") / "inbox"
    written = write_samples(spec, registry, folder, count=30, seed=5, error_rate=0.3)
    (folder / "manifest.json").rename(folder.parent / "manifest.json")
    for i, (path, _) in enumerate(written[:8]):  # the same bytes again under another name
        shutil.copy(path, folder / f"zz_copy_{i}_{path.name}")
    agency = registry.agencies[3]  # a resubmission: other figures, the same agency
    sample = make_sample(spec, agency, random.Random(99))
    (folder / f"z_resent_{agency.code}.xlsx").write_bytes(
        build_workbook(spec, agency=agency, values=sample.values, projects=sample.projects,
                       tables=sample.tables))
    (folder / "~$owner.xlsx").write_bytes(b"\x05someone" + b" " * 150)  # skipped: an Excel owner file
    (folder / "broken.xlsx").write_bytes(written[0][0].read_bytes()[:5000])  # truncated
    (folder / "notes.txt").write_text("not a return", encoding="utf-8")
    return folder


def _run(inbox: Path, out: Path, spec, registry) -> tuple[dict, dict]:
    paths = Paths(inbox, out, out / "ledger.sqlite")
    report = consolidate(paths, spec, registry).to_dict()
    again = consolidate(paths, spec, registry).to_dict()  # nothing new: every file unchanged
    for timings in (report, again):
        timings.pop("seconds"), timings.pop("cpu_seconds"), timings.pop("outputs")
    db = sqlite3.connect(paths.db)
    db.row_factory = sqlite3.Row
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    content = {}
    for table in tables:
        rows = [{k: v for k, v in dict(r).items() if k not in TIMES} for r in db.execute(f"SELECT * FROM {table}")]
        content[table] = rows
    db.close()
    # Every new file archived once, whole, under its hash, by whichever process read it.
    content["archive"] = sorted(p.name for p in paths.archive.iterdir())
    assert all(hashlib.sha256(p.read_bytes()).hexdigest() == p.stem for p in paths.archive.iterdir())
    # Times differ between the two runs, also inside messages ("received at …"): compare without them.
    text = json.dumps([{"first": report, "again": again}, content], ensure_ascii=False, default=str)
    text = text.replace(json.dumps(str(out))[1:-1], "<out>")
    return tuple(json.loads(re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", "<time>", text)))


def test_pool_gives_the_same_reports_and_ledger(tmp_path, mixed_inbox, spec, registry, monkeypatch):
    monkeypatch.setattr(run, "BATCH_SIZE", 7)
    monkeypatch.setattr(run, "POOL_MIN_FILES", 10**9)
    inline = _run(mixed_inbox, tmp_path / "inline", spec, registry)
    monkeypatch.setattr(run, "POOL_MIN_FILES", 3)
    started: list[object] = []
    real_start = run._start_pool

    def start(*args):
        pool = real_start(*args)
        started.append(pool)
        return pool

    monkeypatch.setattr(run, "_start_pool", start)
    pooled = _run(mixed_inbox, tmp_path / "pooled", spec, registry)
    assert started and started[0] is not None  # the pool did read
    _first_difference(pooled[0], inline[0])
    assert pooled[0] == inline[0]
    _first_difference(pooled[1], inline[1])
    assert inline[0]["first"]["counts"]["duplicate"] == 8 and inline[0]["first"]["counts"]["skipped"] >= 1
    assert inline[0]["again"]["counts"]["unchanged"] == len(list(mixed_inbox.iterdir()))


def test_without_fork_as_on_windows_everything_is_done_here_with_the_same_result(tmp_path, mixed_inbox, spec,
                                                                                   registry, monkeypatch, request):
    """Windows has no fork: every pool and every task beside is done in this process instead, with the same
    reports, ledger and archive as the forked run (and the POSIX features taken away: see windows_like)."""
    monkeypatch.setattr(run, "BATCH_SIZE", 7)
    monkeypatch.setattr(run, "POOL_MIN_FILES", 3)
    monkeypatch.setattr(run, "FEEDBACK_POOL_MIN", 2)
    forked = _run(mixed_inbox, tmp_path / "forked", spec, registry)
    pools: list[tuple[str, object]] = []
    real_fork_pool = parallel.fork_pool
    for module in (parallel, run):  # the tasks beside, and the readers' and the feedback's pools
        monkeypatch.setattr(module, "fork_pool", lambda workers, m=module.__name__: pools.append(
            (m, real_fork_pool(workers))) or pools[-1][1])
    renames = request.getfixturevalue("windows_like")
    here = _run(mixed_inbox, tmp_path / "windows", spec, registry)
    assert {m for m, _ in pools} == {"pipeline.parallel", "pipeline.run"}  # every pool was asked for …
    assert not any(pool for _, pool in pools)  # … and none could be forked
    assert any("archive" in str(name) for name in renames)  # the run did write, through the Windows branches
    _first_difference(here, forked)


@pytest.mark.parametrize("when", ["submitting", "collecting"])
def test_a_broken_pool_falls_back_to_reading_here(when, tmp_path, mixed_inbox, spec, registry, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    class Task:
        def __init__(self, function, work, first):
            self.function, self.work, self.first = function, work, first

        def result(self):
            if self.first:
                return self.function(self.work)
            raise BrokenProcessPool("a worker was killed")

    class Broken:
        tasks = 0

        def submit(self, function, work):
            if when == "submitting":
                raise BrokenProcessPool("the pool is broken")
            self.tasks += 1
            return Task(function, work, first=self.tasks == 1)

        def shutdown(self, **kwargs):
            pass

    monkeypatch.setattr(run, "BATCH_SIZE", 7)
    monkeypatch.setattr(run, "POOL_MIN_FILES", 3)
    run._worker_context = (spec, registry)
    monkeypatch.setattr(run, "_start_pool", lambda *args: Broken())
    broken = _run(mixed_inbox, tmp_path / "broken", spec, registry)
    monkeypatch.setattr(run, "POOL_MIN_FILES", 10**9)
    _first_difference(broken, _run(mixed_inbox, tmp_path / "inline", spec, registry))


def test_a_submission_is_small_to_send_back(mixed_inbox, spec, registry):
    """Workers send back whole Submissions: they must stay small (the notes' 'small record')."""
    from pipeline.validation.check import read_one

    path = sorted(mixed_inbox.glob("BM-*.xlsx"))[0]
    submission = read_one(path, spec, registry)
    assert submission.readable
    assert len(pickle.dumps(submission)) < 64 * 1024
    assert len(pickle.dumps(submission)) < path.stat().st_size


def _first_difference(a, b, where="") -> None:
    """Fail naming the first place two nested values differ (pytest's diff of these is unreadable)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), (where, a.keys() ^ b.keys())
        for key in a:
            _first_difference(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), (where, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _first_difference(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


@pytest.mark.parametrize("worker", ["alive", "killed"])
def test_feedback_made_by_the_pool_is_the_feedback_made_here(worker, tmp_path, mixed_inbox, spec, registry,
                                                             monkeypatch):
    """From FEEDBACK_POOL_MIN problem returns on, their feedback workbooks are made by forked workers while
    this process writes the summary: the same files, sheets and cells as made one by one in this process, and
    made here all the same if a worker is killed."""
    import openpyxl

    def feedback(out: Path) -> dict[str, list]:
        report = consolidate(Paths(mixed_inbox, out, out / "ledger.sqlite"), spec, registry)
        files = {}
        for key, name in report.outputs.items():
            if key.startswith("feedback:"):
                book = openpyxl.load_workbook(name)
                files[Path(name).name] = [[c.value for c in row] for ws in book.worksheets for row in ws.iter_rows()]
        return files

    monkeypatch.setattr(run, "FEEDBACK_POOL_MIN", 10**9)
    here = feedback(tmp_path / "here")
    started: list[object] = []
    events: list[str] = []
    real_start, real_summary = run._start_pool, summary_writer.write_summary
    monkeypatch.setattr(run, "_start_pool", lambda *a: events.append("pool") or started.append(real_start(*a))
                        or started[-1])
    monkeypatch.setattr(summary_writer, "write_summary", lambda *a: events.append("summary") or real_summary(*a))
    monkeypatch.setattr(run, "FEEDBACK_POOL_MIN", 2)
    monkeypatch.setattr(run, "POOL_MIN_FILES", 10**9)  # only the feedback goes to the pool
    if worker == "killed":
        monkeypatch.setattr(run, "_feedback_in_worker", _killed)
    pooled = feedback(tmp_path / worker)
    assert len(started) == 1 and started[0] is not None
    assert events == ["pool", "summary"]  # the workers are at work while the summary is written
    assert len(here) >= 2 and pooled == here


def test_a_forked_process_never_walks_what_it_inherited():
    """A forked process sets what it inherited aside from its garbage collector (gc.freeze): a collection that
    walked those objects would copy every page holding one into the worker. This process still collects its own."""
    import gc

    pool = parallel.fork_pool(1)
    if pool is None:
        pytest.skip("no fork, or a single core: nothing is forked")
    try:
        frozen = pool.submit(gc.get_freeze_count).result()
    finally:
        pool.shutdown()
    assert frozen > len(gc.get_objects()) // 2
    assert gc.get_freeze_count() == 0


def _killed(*args: object) -> None:
    os._exit(1)  # as if the process were killed


def _exports(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "data").iterdir())}


@pytest.mark.parametrize("writer", ["here", "killed"])
def test_exports_written_beside_the_summary_are_the_exports_written_here(writer, tmp_path, mixed_inbox, spec,
                                                                          registry, monkeypatch):
    """The CSV exports are written by a forked process while this one writes the summary: the same bytes as
    written here, and written here all the same if that process is killed."""
    consolidate(Paths(mixed_inbox, tmp_path / "beside", tmp_path / "beside" / "ledger.sqlite"), spec, registry)
    if writer == "here":
        monkeypatch.setattr(run, "beside", lambda *a: None)
    else:
        monkeypatch.setattr(parallel, "_run_beside", _killed)
    consolidate(Paths(mixed_inbox, tmp_path / writer, tmp_path / writer / "ledger.sqlite"), spec, registry)
    beside = _exports(tmp_path / "beside")
    assert set(beside) == {"indicators.csv", "projects.csv", "issues.csv", "submissions.csv", "round.json",
                           "kh_2008.csv", "dvc.csv"}
    # Only the times differ (recorded_at, received_at columns), so compare without them.
    times = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
    assert {k: times.sub(b"", v) for k, v in _exports(tmp_path / writer).items()} == \
        {k: times.sub(b"", v) for k, v in beside.items()}


@pytest.mark.parametrize("validator", ["here", "killed"])
def test_validation_beside_gives_the_ledger_of_validation_here(validator, tmp_path, mixed_inbox, spec, registry,
                                                                monkeypatch):
    """Once nothing is being read, a batch is validated by a forked process while this one encodes the
    returns for the ledger: the same reports and ledger as validating here, also if that process is killed."""
    monkeypatch.setattr(run, "POOL_MIN_FILES", 3)
    tasks: list[str] = []
    real = run.beside
    monkeypatch.setattr(run, "beside", lambda task, *a: tasks.append(task.__name__) or real(task, *a))
    beside = _run(mixed_inbox, tmp_path / "beside", spec, registry)
    assert tasks.count("_validate") == 1  # the last batch, after the last chunk was read
    if validator == "here":
        monkeypatch.setattr(run, "beside", lambda task, *a: None)
    else:
        monkeypatch.setattr(run, "_validate", _killed)
    other = _run(mixed_inbox, tmp_path / validator, spec, registry)
    _first_difference(other[0], beside[0])
    assert other == beside
