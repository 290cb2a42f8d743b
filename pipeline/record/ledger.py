"""The submission ledger: SQLite, embedded, the record of every file ever received.

- The schema is created and upgraded by named migrations recorded in the database, each in a transaction
  (sqlite-utils' migrations pattern).
- Every return is recorded in ONE transaction (`BEGIN IMMEDIATE`): its submission row, values with their
  source cells, project rows and issues — all or nothing, so a crash never leaves half a return.
- The same bytes are one submission (sha256 is unique); seeing them again adds a receipt, nothing else.
- Per agency and round exactly one accepted return counts. A newer accepted return supersedes it, keeping
  the chain (supersedes / superseded_by). "Newer" is decided by the file's received time (its mtime in
  the inbox) and then the hash — never by the order files happen to be processed in, so the summary does
  not depend on processing order.
- `PRAGMA integrity_check` runs when the ledger is opened; a corrupt or busy ledger raises LedgerError
  before any output is touched.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from pipeline.issues import Issue, Severity, display_value, is_number
from pipeline.record.network import is_network_path

ACCEPTED = ("accepted", "accepted_with_warnings")
STATUSES = ("accepted", "accepted_with_warnings", "rejected", "quarantined")

# The one round ledgers held before they held several (form 1.0/1.1 of the 2007 plans): what migration 0004
# gives the rows that had none.
LEGACY_FORM, LEGACY_ROUND = "BM-UDCNTT-2007", "2007-2010"

MIGRATIONS: list[tuple[str, str]] = [
    ("0001_initial", """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,          -- running | completed | failed | interrupted
            host TEXT, pid INTEGER,
            counts_json TEXT, outputs_json TEXT, error TEXT
        );
        CREATE TABLE submissions (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            file_name TEXT NOT NULL,       -- as the agency named it, NFC
            archive_path TEXT,
            received_at TEXT NOT NULL,     -- the file's time in the inbox (ISO), decides which return is newer
            recorded_at TEXT NOT NULL,
            run_id INTEGER REFERENCES runs(id),
            format TEXT,
            form_id TEXT, form_version TEXT, round TEXT,
            agency_code TEXT,
            status TEXT NOT NULL CHECK (status IN ('accepted','accepted_with_warnings','rejected','quarantined')),
            errors INTEGER NOT NULL DEFAULT 0,
            warnings INTEGER NOT NULL DEFAULT 0,
            infos INTEGER NOT NULL DEFAULT 0,
            counted INTEGER NOT NULL DEFAULT 0,
            supersedes INTEGER REFERENCES submissions(id),
            superseded_by INTEGER REFERENCES submissions(id),
            values_json TEXT,              -- field id -> typed value (dates ISO)
            raw_json TEXT,                 -- field id -> what the cell held
            cells_json TEXT,               -- field id -> [sheet, cell]
            project_sheet TEXT,
            project_columns_json TEXT
        );
        CREATE UNIQUE INDEX one_counted_return ON submissions(agency_code, round) WHERE counted = 1;
        CREATE INDEX submissions_agency ON submissions(agency_code, round);
        CREATE TABLE projects (
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            row INTEGER NOT NULL,          -- Excel row in the return
            seq INTEGER NOT NULL,          -- 1.. within the return
            data_json TEXT NOT NULL,
            PRIMARY KEY (submission_id, row)
        );
        CREATE TABLE issues (
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            seq INTEGER NOT NULL,
            code TEXT NOT NULL, severity TEXT NOT NULL,
            sheet TEXT, cell TEXT, field TEXT, row INTEGER, value TEXT,
            context_json TEXT,
            PRIMARY KEY (submission_id, seq)
        );
        CREATE TABLE receipts (            -- every time a file was seen in the inbox
            sha256 TEXT NOT NULL,
            file_name TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            run_id INTEGER REFERENCES runs(id),
            kind TEXT NOT NULL,            -- new | duplicate
            PRIMARY KEY (sha256, file_name)
        );
    """),
    # A number found in a cell is kept as a number, so that each language's message writes it its own way
    # (1.388,8 / 1,388.8); `value` keeps the text form for people querying the ledger.
    ("0002_issue_value_json", """
        ALTER TABLE issues ADD COLUMN value_json TEXT;
    """),
    # Form 1.1 has tables besides the projects (the 2008 annual plan, online services): their rows.
    ("0003_table_rows", """
        CREATE TABLE table_rows (
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            table_id TEXT NOT NULL,
            row INTEGER NOT NULL,          -- Excel row in the return
            seq INTEGER NOT NULL,          -- 1.. within the table of the return
            data_json TEXT NOT NULL,
            PRIMARY KEY (submission_id, table_id, row)
        );
    """),
    # Several rounds in one ledger (issue 19): every submission and every run belongs to one round. Before,
    # the ledger knew one round: rows without one (files that could not be read) are the 2007-2010 round's,
    # and so is every earlier run.
    ("0004_rounds", f"""
        UPDATE submissions SET form_id = COALESCE(form_id, '{LEGACY_FORM}'), round = '{LEGACY_ROUND}'
            WHERE round IS NULL OR round = '';
        ALTER TABLE runs ADD COLUMN round TEXT;
        UPDATE runs SET round = '{LEGACY_ROUND}';
        CREATE INDEX submissions_round ON submissions(round, received_at);
    """),
]


class LedgerError(RuntimeError):
    """The ledger cannot be used (corrupt, busy, unreadable); nothing was written."""


@dataclass(frozen=True)
class Recorded:
    submission_id: int
    status: str
    counted: bool
    superseded_id: int | None  # the previously counted return this one replaced
    older_than_counted: bool  # accepted, but an equally valid newer return already counts


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=_default, separators=(",", ":"))


class Documents(NamedTuple):
    """A return's documents as the ledger stores them (JSON): most of the cost of recording it."""

    values: str
    raw: str
    cells: str
    project_columns: str
    projects: list[str]  # each project row's values
    table_rows: tuple[tuple[str, int, int, str], ...] = ()  # the other tables': (table id, Excel row, seq, values)


def documents_of(submission: Any) -> Documents:
    tables = getattr(submission, "tables", {})
    rows = [(table_id, r.row, seq, _json(r.values)) for table_id, read in tables.items()
            for seq, r in enumerate(read.rows, start=1)]
    return Documents(_json(submission.values), _json(submission.raw), _json(submission.cells),
                     _json(submission.project_columns), [_json(p.values) for p in submission.projects], tuple(rows))


def _default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


class Ledger:
    """A connection to the ledger file, schema up to date and integrity checked."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.on_network_share = is_network_path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None)
            self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._check_integrity()
            if self.on_network_share:
                # WAL needs memory shared between the processes, which a network share cannot give: the
                # rollback journal, every commit synced.
                self.db.execute("PRAGMA journal_mode = DELETE")
                self.db.execute("PRAGMA synchronous = FULL")
            else:
                if str(path) != ":memory:":
                    self.db.execute("PRAGMA journal_mode = WAL")
                # WAL + NORMAL: every commit is atomic and consistent after a crash; the last commits before a
                # power cut may be lost, which is safe because the inbox file is still there for the next run.
                self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as err:
            raise LedgerError(f"{path}: {err}") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema ------------------------------------------------------------------------------------------
    def _check_integrity(self) -> None:
        result = self.db.execute("PRAGMA integrity_check").fetchone()
        if not result or result[0] != "ok":
            raise LedgerError(f"integrity check failed: {result[0] if result else 'no answer'}")

    def _migrate(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        applied = {row[0] for row in self.db.execute("SELECT name FROM migrations")}
        for name, sql in MIGRATIONS:
            if name in applied:
                continue
            with self.transaction():
                for statement in sql.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute("INSERT INTO migrations VALUES (?, ?)", (name, _now()))

    def applied_migrations(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT name FROM migrations ORDER BY name")]

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: take the write lock up front, so a busy ledger fails here, not mid-way."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            # Also when COMMIT itself fails (disk full, I/O error): SQLite may leave the transaction open,
            # and it must not linger into the next statement; if SQLite already rolled back, ROLLBACK fails.
            with suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise

    # --- runs -----------------------------------------------------------------------------------------
    def start_run(self, host: str, pid: int, round_: str | None = None) -> int:
        """Record a new run. Called under the run lock, so a run still marked 'running' was killed or crashed
        before it could finish: it is marked 'interrupted' (its recorded returns stay; the inbox files it did
        not record are taken by this run)."""
        with self.transaction() as db:
            run_id = int(db.execute("INSERT INTO runs (started_at, status, host, pid, round) "
                                    "VALUES (?, 'running', ?, ?, ?)", (_now(), host, pid, round_)).lastrowid)
            db.execute("UPDATE runs SET status = 'interrupted', error = ? WHERE status = 'running' AND id < ?",
                       (f"stopped before finishing (killed or crashed); found by run {run_id}", run_id))
            return run_id

    def previous_run(self, run_id: int) -> dict[str, Any] | None:
        """The run of the same round recorded just before `run_id` (of any round when there is no such run),
        if any."""
        this = self.db.execute("SELECT round FROM runs WHERE id = ?", (run_id,)).fetchone()
        same = "AND round IS ? " if this else ""
        rows = self.rows(f"SELECT * FROM runs WHERE id < ? {same}ORDER BY id DESC LIMIT 1",
                         [run_id, this[0]] if this else [run_id])
        return rows[0] if rows else None

    def rounds(self) -> list[dict[str, Any]]:
        """Every round the ledger holds, first received first: form, round, files, agencies, returns counted,
        first and last received."""
        return self.rows(
            "SELECT form_id, round, COUNT(*) AS files, COUNT(DISTINCT agency_code) AS agencies, "
            "SUM(counted) AS counted, MIN(received_at) AS first_received, MAX(received_at) AS last_received "
            "FROM submissions GROUP BY form_id, round ORDER BY MIN(received_at), round")

    def finish_run(self, run_id: int, status: str, counts: dict[str, int], outputs: dict[str, str],
                   error: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET finished_at = ?, status = ?, counts_json = ?, outputs_json = ?, error = ? "
                       "WHERE id = ?", (_now(), status, _json(counts), _json(outputs), error, run_id))

    # --- receipts and dedup ------------------------------------------------------------------------------
    def receipt_kind(self, sha256: str, file_name: str) -> str | None:
        """'known' if this very file (hash and name) was seen before; 'duplicate' if the same bytes were
        received under another name; None if the bytes are new."""
        if self.db.execute("SELECT 1 FROM receipts WHERE sha256 = ? AND file_name = ?",
                           (sha256, file_name)).fetchone():
            return "known"
        if self.db.execute("SELECT 1 FROM submissions WHERE sha256 = ?", (sha256,)).fetchone():
            return "duplicate"
        return None

    def receipt_kinds(self, sha256: str) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT kind FROM receipts WHERE sha256 = ?", (sha256,))}

    def known_receipts(self) -> set[tuple[str, str]]:
        return {(r[0], r[1]) for r in self.db.execute("SELECT sha256, file_name FROM receipts")}

    def add_receipt(self, sha256: str, file_name: str, run_id: int | None, kind: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO receipts VALUES (?, ?, ?, ?, ?)",
                       (sha256, file_name, _now(), run_id, kind))

    def first_received(self, sha256: str) -> str | None:
        row = self.db.execute("SELECT recorded_at FROM submissions WHERE sha256 = ?", (sha256,)).fetchone()
        return row[0] if row else None

    # --- recording a return ------------------------------------------------------------------------------
    def record(self, *, submission: Any, issues: list[Issue], status: str, received_at: str,
               archive_path: str | None, run_id: int | None, documents: Documents | None = None) -> Recorded:
        """Record one checked return in one transaction, applying the supersede rule. `documents` are its
        encoded documents if they were made beforehand (`documents_of`, while the return was validated)."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        counts = {level: sum(1 for i in issues if i.severity is level) for level in Severity}
        values_json, raw_json, cells_json, columns_json, projects_json, table_rows = documents or documents_of(submission)
        with self.transaction() as db:
            submission_id = int(db.execute(
                "INSERT INTO submissions (sha256, file_name, archive_path, received_at, recorded_at, run_id, "
                "format, form_id, form_version, round, agency_code, status, errors, warnings, infos, "
                "values_json, raw_json, cells_json, project_sheet, project_columns_json) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (submission.sha256, submission.file, archive_path, received_at, _now(), run_id,
                 submission.format, submission.form_id, submission.version, submission.round,
                 submission.agency_code, status, counts[Severity.ERROR], counts[Severity.WARNING],
                 counts[Severity.INFO], values_json, raw_json, cells_json, submission.project_sheet, columns_json),
            ).lastrowid)
            db.execute("INSERT OR IGNORE INTO receipts VALUES (?, ?, ?, ?, 'new')",
                       (submission.sha256, submission.file, _now(), run_id))
            db.executemany("INSERT INTO projects VALUES (?, ?, ?, ?)",
                           [(submission_id, p.row, seq, values)
                            for seq, (p, values) in enumerate(zip(submission.projects, projects_json, strict=True),
                                                              start=1)])
            db.executemany("INSERT INTO table_rows VALUES (?, ?, ?, ?, ?)",
                           [(submission_id, *row) for row in table_rows])
            db.executemany("INSERT INTO issues VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                           [(submission_id, seq, i.code, str(i.severity), i.sheet, i.cell, i.field, i.row,
                             None if i.value is None else str(display_value(i.value)), _json(i.context),
                             _json(i.value) if is_number(i.value) else None)
                            for seq, i in enumerate(issues, start=1)])
            if status in ACCEPTED and submission.agency_code:
                return self._count(db, submission_id, submission, received_at, status)
        return Recorded(submission_id, status, False, None, False)

    def _count(self, db: sqlite3.Connection, new_id: int, submission: Any, received_at: str,
               status: str) -> Recorded:
        """Place an accepted return in its agency's chain of accepted returns, ordered by (received_at,
        sha256) whatever the order they were recorded in: it supersedes the one just older and is
        superseded by the one just newer; the newest counts."""
        key = (received_at, submission.sha256)
        others = [(row[1], row[2], row[0], row[3]) for row in db.execute(
            "SELECT id, received_at, sha256, counted FROM submissions WHERE agency_code = ? AND round = ? "
            "AND status IN ('accepted', 'accepted_with_warnings') AND id != ?",
            (submission.agency_code, submission.round, new_id))]
        previous = max((o for o in others if o[:2] < key), default=None)
        following = min((o for o in others if o[:2] > key), default=None)
        db.execute("UPDATE submissions SET supersedes = ?, superseded_by = ? WHERE id = ?",
                   (previous[2] if previous else None, following[2] if following else None, new_id))
        if previous is not None:
            db.execute("UPDATE submissions SET superseded_by = ? WHERE id = ?", (new_id, previous[2]))
        if following is not None:
            # An equally valid return that is newer already counts: keep it, note the links.
            db.execute("UPDATE submissions SET supersedes = ? WHERE id = ?", (new_id, following[2]))
            return Recorded(new_id, status, False, None, True)
        current = next((o[2] for o in others if o[3]), None)
        if current is not None:
            db.execute("UPDATE submissions SET counted = 0 WHERE id = ?", (current,))
        db.execute("UPDATE submissions SET counted = 1 WHERE id = ?", (new_id,))
        return Recorded(new_id, status, True, current, False)

    # --- reading ---------------------------------------------------------------------------------------
    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.db.execute(sql, tuple(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def submissions(self, round_: str | None = None, columns: Iterable[str] = ("*",)) -> list[dict[str, Any]]:
        """The round's submissions (every round's without one), oldest first; only `columns` if given."""
        return list(self.iter_submissions(round_, columns))

    def iter_submissions(self, round_: str | None = None, columns: Iterable[str] = ("*",)) -> Iterator[dict[str, Any]]:
        """submissions(), one row at a time: at 10,000 returns their stored JSON takes several hundred MB
        when held all at once."""
        where, params = ("WHERE round = ?", (round_,)) if round_ else ("", ())
        cursor = self.db.execute(f"SELECT {', '.join(columns)} FROM submissions {where} ORDER BY received_at, id",
                                 params)
        names = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    def projects(self, submission_ids: Iterable[int]) -> Mapping[int, list[dict[str, Any]]]:
        """Each submission's project rows (its Excel row as "_row"), decoded when a submission's are asked
        for: held as stored JSON until then (at 10,000 returns, decoded rows take four times the memory)."""
        ids = list(submission_ids)
        stored: dict[int, list[tuple[int, str]]] = {i: [] for i in ids}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start:chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT submission_id, row, data_json FROM projects "
                                       f"WHERE submission_id IN ({marks}) ORDER BY submission_id, seq", chunk):
                stored[row[0]].append((row[1], row[2]))
        return _ProjectRows(stored)

    def table_rows(self, submission_ids: Iterable[int]) -> dict[str, dict[int, list[dict[str, Any]]]]:
        """The rows of the tables besides the projects: table id → submission id → its rows (Excel row as
        "_row"), in form order. Small tables (a few rows a return): decoded at once."""
        ids = list(submission_ids)
        out: dict[str, dict[int, list[dict[str, Any]]]] = {}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start:chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            for submission_id, table_id, row, data in self.db.execute(
                    f"SELECT submission_id, table_id, row, data_json FROM table_rows WHERE submission_id IN ({marks}) "
                    f"ORDER BY submission_id, table_id, seq", chunk):
                out.setdefault(table_id, {}).setdefault(submission_id, []).append({"_row": row, **json.loads(data)})
        return out

    def issues(self, submission_ids: Iterable[int]) -> dict[int, list[Issue]]:
        ids = list(submission_ids)
        out: dict[int, list[Issue]] = {i: [] for i in ids}
        files = {r["id"]: r["file_name"] for r in self.rows("SELECT id, file_name FROM submissions")}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start:chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.rows(f"SELECT * FROM issues WHERE submission_id IN ({marks}) "
                               f"ORDER BY submission_id, seq", chunk):
                out[r["submission_id"]].append(Issue(
                    code=r["code"], severity=Severity(r["severity"]), file=files.get(r["submission_id"]),
                    sheet=r["sheet"], cell=r["cell"], field=r["field"], row=r["row"],
                    value=r["value"] if r["value_json"] is None else json.loads(r["value_json"]),
                    context=json.loads(r["context_json"] or "{}")))
        return out

    def values_of(self, submission_ids: Iterable[int], fields: Iterable[str]) -> dict[int, dict[str, Any]]:
        """A few fields of each submission's recorded values (as stored: dates are ISO text), taken out of the
        JSON by SQLite, so the whole document of every return is not decoded for them."""
        fields, ids = list(fields), list(submission_ids)
        out: dict[int, dict[str, Any]] = {i: {} for i in ids}
        if not fields:
            return out
        extracts = ", ".join("json_extract(values_json, ?)" for _ in fields)
        paths = [f'$."{f}"' for f in fields]
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start:chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT id, {extracts} FROM submissions WHERE id IN ({marks})",
                                       [*paths, *chunk]):
                out[row[0]] = dict(zip(fields, row[1:], strict=True))
        return out

    def runs(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM runs ORDER BY id")


class _ProjectRows(Mapping[int, list[dict[str, Any]]]):
    def __init__(self, stored: dict[int, list[tuple[int, str]]]) -> None:
        self.stored = stored

    def __getitem__(self, submission_id: int) -> list[dict[str, Any]]:
        return [{"_row": row, **json.loads(data)} for row, data in self.stored[submission_id]]

    def __iter__(self) -> Iterator[int]:
        return iter(self.stored)

    def __len__(self) -> int:
        return len(self.stored)


def decode_values(values_json: str | None, date_fields: set[str]) -> dict[str, Any]:
    """Typed values back from the ledger: dates are stored as ISO text."""
    values = json.loads(values_json or "{}")
    for key in date_fields & values.keys():
        if isinstance(values[key], str):
            values[key] = dt.date.fromisoformat(values[key][:10])
    return values
