"""What the desk does, as calls into the library: no HTML here, and nothing the CLI does not do the same way.

- An upload is saved into the inbox (`uploads.save_into_inbox`) and recorded by `run.consolidate`, the call
  `ictplan consolidate` makes: the same run lock (a CLI run and the desk never record at once), the same
  ledger, summary, exports and feedback. Within this process one consolidation runs at a time; one held by
  another process is waited for a while, then the files stay in the inbox for the next run.
- A self-check is `check.check_files` on a private copy, outside the inbox and the outputs: nothing recorded.
  Its feedback workbook (a copy of the file with every issue marked: several times the check's own cost) is
  written when it is first downloaded, not while the agency waits for the check's answer.
- The board is the report stage's per-agency state of the round; a return's page reads the ledger.
- Every round the ledger holds has its own desk (`Desk.for_round`): that round's spec (the bundled spec of
  the round, or one beside the served spec), its own inbox and output folder, the same ledger. The served
  round (`serve --round`) keeps the folders it was given; another round has the folders `ictplan demo`
  writes for it, ``<out>/<round>/inbox`` and ``<out>/<round>``. A round is taken only if it is the served one
  or one the ledger holds, and only if its name is a plain round name (ROUND_NAME): nothing else is ever
  joined to a path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.web.uploads import safe_name, save_into_inbox

LOCK_WAIT = 30.0  # seconds an upload waits for a consolidation another process runs
DOWNLOADABLE = {".xlsx", ".csv", ".docx", ".pdf"}  # what leaves the output folder (never the ledger or archive)
PRIVATE_FOLDERS = {"archive"}  # the agencies' files as received: staff open them from disk, not over the LAN
SELF_CHECKS_KEPT = 200  # self-check results kept for their feedback download (oldest dropped first)
JOBS_KEPT = 50  # consolidations whose page can still be opened
ROUND_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,31}")  # "2007-2010", "2008": a round's name, never a path
OUTPUT_FOLDERS = {"data", "feedback"}  # the output folder's subfolders whose files can be downloaded


class UnknownRound(LookupError):
    """A round asked for that the desk does not serve: not the served round nor one the ledger holds, not a
    round's name at all, or one whose form spec is nowhere to be found. `known`: the rounds it serves."""

    def __init__(self, asked: str, known: list[str], *, no_spec: bool = False) -> None:
        super().__init__(asked)
        self.asked, self.known, self.no_spec = asked, known, no_spec


@dataclass
class Upload:
    """One file sent by a browser: the name it gave and the bytes."""

    name: str
    data: bytes


@dataclass
class Job:
    """A consolidation started from the desk, followed by its page."""

    id: str
    total: int
    done: int = 0
    current: str = ""
    report: Any = None  # run.RunReport once finished
    error: str | None = None
    held_by: Any = None  # lock.Holder when another process holds the run lock
    finished: bool = False
    started: float = field(default_factory=time.monotonic)

    def advance(self, name: str) -> None:
        self.done += 1
        self.current = name


@dataclass
class Checked:
    """A self-check of one file: its verdict and, when it has something to fix, where its feedback workbook
    is written on first download (``feedback_folder``; None: nothing to fix, no workbook)."""

    name: str
    verdict: Any
    feedback_folder: Path | None = None
    written: Path | None = None  # the feedback workbook, once written
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def feedback(self) -> bool:
        """Whether there is a feedback workbook to download."""
        return self.feedback_folder is not None


class Desk:
    """The library, configured once for a server: spec, registry and the round's folders."""

    def __init__(self, spec: Any, registry: Any, paths: Any, *, scratch: Path | None = None,
                 home: Desk | None = None) -> None:
        self.spec, self.registry, self.paths = spec, registry, paths
        self.home = home or self  # the served round's desk: it keeps the other rounds' desks
        # one consolidation at a time in this process, whichever round (they share the ledger)
        self._recording: threading.Lock = home._recording if home else threading.Lock()
        self.jobs: dict[str, Job] = {}
        self.scratch = scratch or Path(tempfile.mkdtemp(prefix="ictplan-selfcheck-"))
        self.self_checks: dict[str, list[Checked]] = {}
        self._checks_lock = threading.Lock()
        self._rounds: dict[str, Desk] = {}
        self._rounds_lock = threading.Lock()

    # --- rounds ------------------------------------------------------------------------------------------
    @property
    def round(self) -> str:
        return str(self.spec.round)

    def rounds(self) -> list[dict[str, Any]]:
        """The rounds the desk serves: every round the ledger holds (Ledger.rounds: form, round, files,
        agencies, counted, first and last received), and the served round if the ledger has none of it yet."""
        from pipeline.record.ledger import Ledger

        home = self.home
        found = []
        if home.paths.db.exists():
            with Ledger(home.paths.db) as ledger:
                found = [r for r in ledger.rounds() if r["round"]]
        if home.round not in {str(r["round"]) for r in found}:
            found.insert(0, {"form_id": home.spec.form_id, "round": home.round, "files": 0, "agencies": 0,
                             "counted": 0, "first_received": None, "last_received": None})
        return found

    def for_round(self, round_: str | None) -> Desk:
        """The desk of round `round_` (None or "": the served round's); UnknownRound if it serves no such round."""
        home = self.home
        if not round_ or round_ == home.round:
            return home
        with home._rounds_lock:
            if round_ in home._rounds:
                return home._rounds[round_]
        known = [str(r["round"]) for r in home.rounds()]
        if not ROUND_NAME.fullmatch(round_) or round_ not in known:
            raise UnknownRound(round_, known)
        spec = home._spec_of(round_)
        if spec is None:
            raise UnknownRound(round_, known, no_spec=True)
        from pipeline.run import Paths

        out = home.paths.out / round_
        desk = Desk(spec, home.registry, Paths(out / "inbox", out, home.paths.db), scratch=home.scratch / f"round-{round_}",
                    home=home)
        with home._rounds_lock:
            return home._rounds.setdefault(round_, desk)

    def _spec_of(self, round_: str) -> Any:
        """The form spec of `round_`: one beside the served spec, else the bundled one; None if neither has it."""
        from pipeline.form.spec import DEFAULT_SPEC, SpecError, load_spec, round_specs

        folders = dict.fromkeys(p for p in (Path(self.spec.path).parent if self.spec.path else None,
                                            DEFAULT_SPEC.parent) if p is not None)
        for folder in folders:
            path = round_specs(folder).get(round_)
            if path is not None:
                with contextlib.suppress(SpecError):
                    return load_spec(path)
        return None

    # --- warming up --------------------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Import and exercise the reader and the validator once, so the first check is as fast as the next."""
        from pipeline.validation.check import read_one  # noqa: F401
        from pipeline.validation.schemas import project_schema, return_schema
        from pipeline.validation.validate import warm_up

        warm_up()
        return_schema(self.spec)  # built once per spec, then cached: not on the first agency's time
        for table in self.spec.tables:
            project_schema(self.spec, table.id)

    # --- board -------------------------------------------------------------------------------------------
    def board(self, today: dt.date | None = None) -> Any:
        """The round as the report stage tells it (`report.status.round_status`, as `ictplan status`)."""
        from pipeline.record.ledger import Ledger
        from pipeline.report.status import round_status

        with Ledger(self.paths.db) as ledger:
            return round_status(ledger, self.spec, self.registry, today=today)

    # --- upload and record -------------------------------------------------------------------------------
    def upload(self, files: list[Upload]) -> tuple[list[str], Any]:
        """Save each file into the inbox, then record the inbox; returns the saved names and the run's report,
        or the Holder of the run lock (another process kept it past LOCK_WAIT), or the error that stopped the
        run (a corrupt or busy ledger, a full disk): the files are in the inbox either way."""
        from pipeline.record.ledger import LedgerError
        from pipeline.run import RunFailed

        saved = [save_into_inbox(self.paths.inbox, f.name, f.data).name for f in files]
        try:
            return saved, self.record(wait=LOCK_WAIT)
        except (LedgerError, RunFailed) as err:
            return saved, err

    def record(self, *, wait: float = 0.0, progress: Callable[[str], None] | None = None) -> Any:
        from pipeline.record.lock import LockHeld
        from pipeline.run import consolidate

        give_up = time.monotonic() + wait
        with self._recording:
            while True:
                try:
                    return consolidate(self.paths, self.spec, self.registry, progress=progress)
                except LockHeld as held:
                    if time.monotonic() >= give_up:
                        return held.holder
                    time.sleep(0.25)

    def start_consolidation(self) -> Job:
        from pipeline.run import list_inbox

        job = Job(secrets.token_urlsafe(12), total=len(list_inbox(self.paths.inbox)))
        self.jobs[job.id] = job
        for old in [j for j in self.jobs.values() if j.finished][:max(0, len(self.jobs) - JOBS_KEPT)]:
            del self.jobs[old.id]
        threading.Thread(target=self._consolidate, args=(job,), name=f"consolidate-{job.id}", daemon=True).start()
        return job

    def _consolidate(self, job: Job) -> None:
        from pipeline.record.lock import Holder

        try:
            outcome = self.record(progress=job.advance)
            if isinstance(outcome, Holder):
                job.held_by = outcome
            else:
                job.report = outcome
        except Exception as err:  # LedgerError, RunFailed, or a bug: shown on the job's page, the server goes on
            job.error = f"{type(err).__name__}: {err}"
        finally:
            job.finished = True

    # --- self-check --------------------------------------------------------------------------------------
    def self_check(self, files: list[Upload]) -> tuple[str, list[Checked]]:
        """Check drafts as `ictplan check --feedback` does, on private copies; nothing is recorded."""
        from pipeline.validation.check import check_files

        token = secrets.token_urlsafe(16)
        folder = self.scratch / token
        paths = []
        for n, upload in enumerate(files):
            own = folder / str(n)
            own.mkdir(parents=True)
            path = own / safe_name(upload.name)
            path.write_bytes(upload.data)
            paths.append(path)
        verdicts = check_files(paths, self.spec, self.registry)
        results = [Checked(path.name, verdict, folder / "feedback" / str(n) if self._has_feedback(verdict) else None)
                   for n, (path, verdict) in enumerate(zip(paths, verdicts, strict=True))]
        self._keep(token, results)
        return token, results

    @staticmethod
    def _has_feedback(verdict: Any) -> bool:
        return bool(verdict.submission.path) and any(str(i.severity) != "info" for i in verdict.issues)

    def _feedback(self, checked: Checked) -> Path | None:
        """The self-check's feedback workbook, written on the first call (`ictplan check --feedback`'s)."""
        from pipeline.report.feedback import feedback_for_file

        if checked.feedback_folder is None:
            return None
        with checked.lock:  # two clicks on the link write it once
            if checked.written is None:
                submission = checked.verdict.submission
                checked.written = feedback_for_file(Path(submission.path), submission, checked.verdict.issues,
                                                    self.spec, checked.feedback_folder, registry=self.registry)
            return checked.written

    def _keep(self, token: str, results: list[Checked]) -> None:
        with self._checks_lock:
            self.self_checks[token] = results
            while len(self.self_checks) > SELF_CHECKS_KEPT:
                oldest = next(iter(self.self_checks))
                del self.self_checks[oldest]
                shutil.rmtree(self.scratch / oldest, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    # --- a return ----------------------------------------------------------------------------------------
    def submission(self, submission_id: int) -> dict[str, Any] | None:
        """A recorded return: its row, values with their cells, project rows, issues and its agency's history."""
        from pipeline.record.ledger import Ledger

        with Ledger(self.paths.db) as ledger:
            rows = ledger.rows("SELECT * FROM submissions WHERE id = ?", [submission_id])
            if not rows:
                return None
            row = rows[0]
            history = ledger.rows(
                "SELECT id, file_name, received_at, recorded_at, status, counted, errors, warnings, supersedes, "
                "superseded_by FROM submissions WHERE agency_code IS ? AND round IS ? AND "
                "(agency_code IS NOT NULL OR id = ?) ORDER BY received_at, id",
                [row["agency_code"], row["round"], submission_id])
            projects = ledger.projects([submission_id])[submission_id]
            issues = ledger.issues([submission_id])[submission_id]
        values = json.loads(row["values_json"] or "{}")
        raw = json.loads(row["raw_json"] or "{}")
        cells = json.loads(row["cells_json"] or "{}")
        columns = json.loads(row["project_columns_json"] or "{}")
        return {"row": row, "values": values, "raw": raw, "cells": cells, "projects": projects,
                "project_columns": columns, "issues": issues, "history": history,
                "feedback": self.feedback_of(row["file_name"], row["agency_code"])}

    def feedback_of(self, file_name: str, agency_code: str | None) -> str | None:
        """The output-relative path of a return's feedback workbook, if one was written."""
        from pipeline.intake.submission import Submission
        from pipeline.report.feedback import feedback_file_name

        name = feedback_file_name(Submission(file=file_name, agency_code=agency_code))
        return f"feedback/{name}" if (self.paths.out / "feedback" / name).is_file() else None

    # --- downloads ---------------------------------------------------------------------------------------
    def outputs(self) -> dict[str, list[str]]:
        """What can be downloaded, output-relative, by kind: summary and report, CSV exports, feedback."""
        out = self.paths.out
        kinds: dict[str, list[str]] = {"summary": [], "report": [], "exports": [], "feedback": []}
        if not out.is_dir():
            return kinds
        for path in sorted(out.iterdir()):
            if path.is_file() and self.downloadable(path.name):
                kinds["report" if path.suffix.lower() in (".docx", ".pdf") else "summary"].append(path.name)
        for sub, kind in (("data", "exports"), ("feedback", "feedback")):
            if (out / sub).is_dir():
                kinds[kind] = [f"{sub}/{p.name}" for p in sorted((out / sub).iterdir())
                               if p.is_file() and self.downloadable(p.name)]
        return kinds

    @staticmethod
    def downloadable(name: str) -> bool:
        return not name.startswith((".", "~$")) and Path(name).suffix.lower() in DOWNLOADABLE

    def output_file(self, relative: str) -> Path | None:
        """The file of the output folder at `relative`, or None: nothing outside it, nothing hidden or private,
        no other kind of file (the ledger, the password hash, the archived returns stay where they are)."""
        out = self.paths.out.resolve()
        parts = Path(relative).parts
        if not self.listed(parts):
            return None
        with contextlib.suppress(OSError, ValueError):
            path = (out / relative).resolve(strict=True)
            if path.is_relative_to(out) and path.is_file() and self.downloadable(path.name) \
                    and self.listed(path.relative_to(out).parts):
                return path
        return None

    def listed(self, parts: tuple[str, ...]) -> bool:
        """Whether an output-relative path is of a kind `outputs` lists: a file of the output folder itself, or
        of its data/ or feedback/. Never deeper: another round's folder, an inbox or the archive kept inside
        the output folder (`ictplan demo` keeps them there) hold the agencies' own files."""
        if not parts or any(p in ("..", "") or p.startswith(".") for p in parts) or parts[0] in PRIVATE_FOLDERS:
            return False
        return len(parts) == 1 or (len(parts) == 2 and parts[0] in OUTPUT_FOLDERS)

    def self_check_feedback(self, token: str, index: int) -> Path | None:
        with self._checks_lock:
            results = self.self_checks.get(token)
        if results is None or not 0 <= index < len(results):
            return None
        return self._feedback(results[index])
