"""Read one returned workbook into a Submission: typed values with their cells, project rows and issues.

The order of work, each step trusting only what the previous ones established:

1. the bytes: sha256 and the preflight guard (no parser ever sees a file the guard rejected);
2. python-calamine opens the same bytes once; the hidden `_meta` sheet says which form, version, round
   and agency (without it, the form is recognised by its labels);
3. each spec sheet is found by name, else by its labels (renamed), else reported missing;
4. each value is read at its expected cell after checking the row's label; rows the agency inserted or
   deleted are followed by label, with one LAYOUT_MOVED warning per sheet;
5. values are typed the Vietnamese way (`pipeline.normalize`); every conversion or failure is an Issue at
   its cell;
6. computed fields and the project totals are recomputed from the inputs (cached formula values are only
   compared: a file saved by a non-calculating tool has none);
7. the agency is identified from the code cell, `_meta`, the file name and the name cell (domain rule 19);
8. the project table is read from its header row to its totals row, however many rows were inserted.

`read` never raises: anything unexpected becomes SYS_INTERNAL_ERROR naming only the exception's class.
Everything derivable from the spec (label keys, cells, parsers, choice maps, header keys) is computed once
per spec (`_plan_for`), so a return costs one calamine parse per needed sheet plus dict look-ups.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import math
import os
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache, cached_property
from pathlib import Path
from typing import Any, NoReturn

from python_calamine import CalamineSheet, CalamineWorkbook, SheetVisibleEnum

from pipeline.form import frame
from pipeline.form.layout import (
    COL_LABEL,
    INSTRUCTIONS_SHEET,
    LISTS_SHEET,
    META_SHEET,
    TableLayout,
    a1,
    col_letter,
    layout_for,
    parse_a1,
)
from pipeline.form.meta import Meta, parse_meta
from pipeline.form.registry import Registry, round_day
from pipeline.form.spec import TEXT_TYPES, Field, FormSpec
from pipeline.intake import markup, ole, preflight, spreadsheetml, xls_formats
from pipeline.intake.submission import ProjectRow, Submission, TableRows
from pipeline.issues import DISPLAY_MAX, issue
from pipeline.normalize import (
    Parsed,
    clean_text,
    is_blank,
    normalize_key,
    parse_bool,
    parse_date,
    parse_number,
    parse_year,
)

__all__ = ["read"]

log = logging.getLogger(__name__)

LABEL_MARGIN = 1000  # rows read below a label sheet's last template row: room for inserted rows
TABLE_MARGIN = 5000  # rows read below the table's template totals row: agencies add projects
HEADER_SEARCH_ROWS = 200  # how far down a moved project table's header row is looked for
META_HEAD_ROWS = 8  # `_meta` rows before the cell map: identity and the spec's sha256
MOVES_SHOWN = 3  # moved cells listed in the one LAYOUT_MOVED warning of a sheet
STRAY_SHOWN = 3  # LAYOUT_STRAY warnings per sheet
TOLERANCE = 0.01  # a cached formula value further than this from the recomputed one is stale
MIN_LABEL_SHARE = 0.5  # share of a sheet's labels (or header labels) that identifies it by content
TOTAL_WORDS = ("Tổng cộng", "Cộng", "Tổng số")  # totals-row labels agencies use (domain brief §4.1)
TOTAL_LABEL_MAX = 40  # longer texts in the first columns are project names, never a totals label
LEGACY_FORMATS = {"xls": ".xls (Excel 97–2003)", "ods": ".ods (OpenDocument)", "fods": ".fods (OpenDocument XML)",
                  "xml": ".xml (Excel 2003 XML)"}
EXCEL95_FORMAT = ".xls (Excel 5.0/95)"
ODF_FORMATS = ("ods", "fods")  # a flat ODF file is read as the .ods package it stands for (intake/odf.py)
OOXML_FORMATS = ("xlsx", "xlsm")
NOT_SHOWN = "—"  # stands for a value that is blank or cannot be computed, in messages
_NUMBER_OPTIONS = {"int": {"integer": True}, "dec": {}, "money": {}, "pct": {"percent": True}}


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def read(source: str | os.PathLike[str] | bytes, *, name: str | None = None, spec: FormSpec,
         registry: Registry) -> Submission:
    """Read one returned workbook, given as a path or as its bytes (then pass ``name``, the file name as
    received: it is part of the agency's identity). Never raises."""
    sub = Submission(file="")
    try:
        if isinstance(source, bytes | bytearray | memoryview):
            sub.file = _nfc(name or "")
            data = bytes(source)
        else:
            sub.path = os.fspath(source)
            sub.file = _nfc(name if name is not None else os.path.basename(sub.path))
            data = _read_bytes(sub.path, sub)
        if data is not None:
            _Reader(data, sub, spec, registry).run()
    except BaseException as exc:  # a bug or a parser failure on one file must not stop the batch
        if not isinstance(exc, Exception) and not _is_panic(exc):
            raise  # KeyboardInterrupt, SystemExit
        log.warning("read: unexpected failure on %r", sub.file, exc_info=True)
        _forget_values(sub)
        sub.issues.append(issue("SYS_INTERNAL_ERROR", file=sub.file, context={"reason": type(exc).__name__}))
    return sub


def _is_panic(exc: BaseException) -> bool:
    """A Rust panic inside python-calamine, raised as pyo3's PanicException (a BaseException)."""
    return type(exc).__name__ == "PanicException"


def _read_bytes(path: str, sub: Submission) -> bytes | None:
    """The file's bytes, read once. An oversize, vanished or locked file is classified by the preflight's
    own path check (which never reads an oversize file into memory), and None is returned."""
    try:
        if os.stat(path).st_size <= preflight.DEFAULT_LIMITS.max_file_bytes:
            return Path(path).read_bytes()
    except OSError:
        pass
    checked = preflight.check_path(path)
    sub.format = checked.format
    sub.issues.extend(replace(i, file=sub.file) for i in checked.issues)
    return None


def _forget_values(sub: Submission) -> None:
    """An unreadable submission carries its issues only: half-read values must not reach the validator."""
    sub.readable = False
    sub.values, sub.raw, sub.cells, sub.projects = {}, {}, {}, []
    sub.project_sheet, sub.project_columns = "", {}
    sub.bad_fields, sub.bad_project_cells = set(), set()
    sub.tables = {}


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# --------------------------------------------------------------------------------------------------
# The plan: everything derived from the spec, computed once per spec
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LabelRow:
    label: str  # the label as the template writes it (an exact match is the fast path)
    key: str  # normalize_key(label): the match that survives accents, case and TCVN3
    occurrence: int  # how many earlier rows of the sheet have the same key
    # (field, value type, 0-based column, A1 cell by the template); a target row: current value, then the years
    cells: tuple[tuple[Field, str, int, str], ...]
    inputs: int  # how many of them are inputs
    row: int  # where the template has it


@dataclass(frozen=True)
class _SheetPlan:
    id: str
    name: str
    rows: tuple[_LabelRow, ...]  # empty for the table sheet
    width: int  # columns the form uses
    last_row: int  # the last template row the reader needs
    is_table: bool

    @cached_property
    def keys(self) -> frozenset[str]:
        return frozenset(r.key for r in self.rows)


@dataclass(frozen=True)
class _TablePlan:
    id: str
    projects: bool  # the project table (its rows are the submission's `projects`)
    sheet_id: str
    layout: TableLayout
    columns: dict[str, tuple[Field, str]]  # column id → (its field, its value type)
    header_keys: dict[str, frozenset[str]]  # column id → keys of its header label
    total_key: str  # the template's totals label
    total_keys: frozenset[str]  # every totals spelling
    totals: tuple[tuple[str, Field], ...]  # (column id, return-level total field)


@dataclass(frozen=True)
class _Plan:
    sheets: tuple[_SheetPlan, ...]
    tables: tuple[_TablePlan, ...]
    cells: dict[str, tuple[int, int]]  # field id → (row, col) in the template
    meta_cells: dict[str, tuple[str, str]]  # the same, as `_meta` records it: field id → (sheet, A1)
    choices: dict[str, dict[str, str]]  # list name → key of a code or label → code
    choice_labels: dict[str, str]  # list name → "label; label; …" for VALUE_NOT_CHOICE
    computed: tuple[Field, ...]  # return-level computed fields (not totals), in spec order
    input_count: int  # return-level input fields: the denominator of "is this our form"


@cache
def _plan_for(spec: FormSpec) -> _Plan:
    layout = layout_for(spec)
    sheets = []
    for sheet in spec.sheets:
        if sheet.table is not None:
            total_row = layout.tables[sheet.table.id].total_row
            sheets.append(_SheetPlan(sheet.id, sheet.name, (), layout.width[sheet.id], total_row, True))
            continue
        rows, seen = [], {}
        for row in layout.rows[sheet.id]:
            if row.kind in ("field", "target", "grid"):
                key = normalize_key(row.label_vi)
                fields = tuple(spec.fields[f] for f in row.fields)
                cells = tuple((f, _kind(f), layout.cells[f.id].col, layout.cells[f.id].a1) for f in fields)
                rows.append(_LabelRow(row.label_vi, key, seen.get(key, 0), cells, sum(f.is_input for f in fields),
                                      layout.cells[fields[0].id].row))
                seen[key] = seen.get(key, 0) + 1
        last = max(layout.cells[c[0].id].row for r in rows for c in r.cells)
        sheets.append(_SheetPlan(sheet.id, sheet.name, tuple(rows), layout.width[sheet.id], last, False))
    tables = []
    for table in spec.tables:
        total_key = normalize_key(table.total_vi)
        tables.append(_TablePlan(
            table.id, table is spec.table, table.sheet, layout.tables[table.id],
            {c.id: (c, _kind(c)) for c in table.columns}, {c.id: _header_keys(c) for c in table.columns}, total_key,
            frozenset({total_key, *(normalize_key(w) for w in TOTAL_WORDS)}),
            tuple((column_id, spec.fields[field_id]) for column_id, field_id in table.totals.items()),
        ))
    choices: dict[str, dict[str, str]] = {}
    for list_name, items in spec.choices.items():
        keys = choices[list_name] = {}
        for text in ("en", "vi", "code"):  # later wins: an English label never shadows a code or label
            keys.update((normalize_key(getattr(c, text)), c.code) for c in items)
    return _Plan(
        sheets=tuple(sheets), tables=tuple(tables),
        cells={f: (ref.row, ref.col) for f, ref in layout.cells.items()},
        meta_cells={f: (ref.sheet, ref.a1) for f, ref in layout.cells.items()},
        choices=choices,
        choice_labels={name: "; ".join(c.vi for c in items) for name, items in spec.choices.items()},
        computed=tuple(f for f in spec.fields.values() if f.type == "computed" and f.kind != "total"),
        input_count=sum(1 for f in spec.fields.values() if f.is_input),
    )


def _kind(field: Field) -> str:
    """How a cell of the field is read: its value type, or "computed" (recomputed, never typed)."""
    return "computed" if field.type == "computed" else field.value_type


def _header_keys(column: Field) -> frozenset[str]:
    """A header cell shows the column label, with the unit in brackets when the label lacks it."""
    key = normalize_key(column.vi)
    return frozenset({key, f"{key} {normalize_key(column.unit)}".strip()})


# --------------------------------------------------------------------------------------------------
# Reading one workbook
# --------------------------------------------------------------------------------------------------


class _Stop(Exception):
    """The file is not (this version of) the form: what was found so far is the whole answer."""


@dataclass
class _Found:
    """A spec sheet located in the workbook."""

    plan: _SheetPlan
    name: str  # as in the file
    rows: list[list[Any]]


class _Reader:
    def __init__(self, data: bytes, sub: Submission, spec: FormSpec, registry: Registry) -> None:
        self.data = data
        self.sub = sub
        self.spec = spec
        self.registry = registry
        self.plan = _plan_for(spec)
        self.meta: Meta | None = None
        self.cells = self.plan.cells  # where each field should be: the template's, or `_meta`'s record
        self.book: CalamineWorkbook | spreadsheetml.Workbook | None = None
        self.unpacked = data  # what calamine reads: the preflight's uncompressed copy of the parts, if any
        self.sheets: dict[str, CalamineSheet] = {}
        self.rows: dict[str, tuple[list[list[Any]], int]] = {}  # sheet name → (its rows, the bound parsed to)
        self.found: dict[str, _Found] = {}  # spec sheet id → located sheet
        self.inputs_read: dict[str, list[tuple[int, int]]] = {}  # sheet name → (row, col) of values read
        self.located = 0  # return-level input fields whose label was found

    # -- the steps ----------------------------------------------------------------------------------

    def run(self) -> None:
        sub = self.sub
        sub.sha256 = hashlib.sha256(self.data).hexdigest()
        checked = preflight.check_file(self.data, sub.file)
        sub.format = checked.format
        sub.issues.extend(checked.issues)
        if checked.skip or not checked.ok:
            return
        if checked.format in LEGACY_FORMATS:
            self.add("FILE_LEGACY_FORMAT", format=EXCEL95_FORMAT if checked.excel95 else LEGACY_FORMATS[checked.format])
        try:
            self.unpacked = checked.unpacked or (xls_formats.for_parser(self.data) if checked.format == "xls" else self.data)
            self.book = self.open_book(checked.format)
        except spreadsheetml.Refused as refused:
            self.add(refused.code, **refused.context)
            return
        except Exception as exc:  # calamine's own errors (ZipError, XmlError, PasswordError…)
            self.add("FILE_CORRUPT", reason=type(exc).__name__)
            return
        try:
            self.read_meta()
            self.locate_sheets()
            sub.values = dict.fromkeys(self.spec.fields)
            self.read_fields()
            for table in self.plan.tables:
                self.read_table(table)
            self.check_recognised()
        except _Stop:
            _forget_values(sub)
            return
        if checked.uncached_formulas:
            self.read_uncached_formulas()
        self.recompute()
        self.identify_agency()
        self.check_merged()
        if checked.hidden_rows:
            self.check_hidden_rows()
        sub.readable = True

    def open_book(self, file_format: str | None) -> CalamineWorkbook | spreadsheetml.Workbook:
        """calamine's workbook; for an Excel 2003 XML Spreadsheet, which calamine does not read, one with the
        same interface (intake/spreadsheetml.py)."""
        if file_format == "xml":
            return spreadsheetml.Workbook(self.data, name=self.sub.file)
        return CalamineWorkbook.from_filelike(io.BytesIO(self.unpacked))

    def read_meta(self) -> None:
        spec, sub = self.spec, self.sub
        name = self.sheet_named(META_SHEET)
        sheet = self.book.get_sheet_by_name(name) if name else None
        meta = self.meta = parse_meta(self.cells_of(sheet, META_HEAD_ROWS) if sheet else [])
        if meta is None:
            self.add("FORM_META_MISSING")
            sub.form_id, sub.version, sub.round = spec.form_id, spec.version, spec.round
            return
        sub.form_id, sub.version, sub.round = meta.form_id, meta.version, meta.round
        if meta.form_id != spec.form_id and meta.form_id and meta.round and meta.round != spec.round:
            # another round's form (the 2008 report in the 2007 plans' inbox): its own round's, not this one's
            self.add("FORM_OTHER_ROUND", found=meta.round, expected=spec.round, found_form=meta.form_id,
                     expected_form=spec.form_id)
            self.stop(self.best_effort_agency())
        if meta.form_id != spec.form_id:
            self.stop_with("FORM_NOT_OURS", form_id=spec.form_id)
        if meta.version != spec.version:
            self.add("FORM_OLD_VERSION", found=meta.version or NOT_SHOWN, expected=spec.version)
        if meta.round != spec.round:
            self.add("FORM_OTHER_ROUND", found=meta.round or NOT_SHOWN, expected=spec.round, found_form=meta.form_id,
                     expected_form=spec.form_id)
        if meta.version != spec.version or meta.round != spec.round:
            self.stop(self.best_effort_agency())
        if meta.spec_sha256 != spec.sha256:
            # Written from another edit of the spec: trust its own cell map (the common case skips this).
            limit = META_HEAD_ROWS + len(self.plan.cells) + LABEL_MARGIN
            full = parse_meta(self.cells_of(sheet, limit))
            if full is not None and full.cells != self.plan.meta_cells:
                self.meta = full
                self.cells = self.cells_from_meta(full)

    def cells_from_meta(self, meta: Meta) -> dict[str, tuple[int, int]]:
        """Field id → (row, col) as `_meta` records them, where it names the field's own sheet."""
        cells = dict(self.plan.cells)
        for field_id, (sheet, ref) in meta.cells.items():
            field = self.spec.fields.get(field_id)
            if field is not None and sheet == self.spec.sheet_name(field.sheet):
                with contextlib.suppress(ValueError):
                    cells[field_id] = parse_a1(ref)
        return cells

    def locate_sheets(self) -> None:
        """Each spec sheet is the sheet of its name; failing that, the one other sheet holding its labels (or its
        table's header). Nothing is ever read from a sheet that is not the form's: when a spec sheet has no sheet
        of its name and several sheets hold its labels with different figures (a clerk kept last year's copy
        beside this year's and renamed both), which one is the return cannot be told, and none is read
        (LAYOUT_SHEET_AMBIGUOUS). Which sheet is the template's original would not tell either: a clerk may
        type this year's figures into the copy as well as into the original. A sheet of the form's name is the
        form's; another sheet holding its labels with other figures is reported, never read."""
        names = self.book.sheet_names
        by_key = {_sheet_key(n): n for n in names}
        named = {plan.id: by_key.get(_sheet_key(plan.name)) for plan in self.plan.sheets}
        spare = [n for n in names if n not in named.values() and not _is_service_sheet(n)]
        # beside a sheet of the form's name, only sheets an agency added are looked at: a normal return has none
        added = [n for n in spare if _sheet_key(n) != _sheet_key(INSTRUCTIONS_SHEET)]
        taken: set[str] = set()
        for plan in self.plan.sheets:
            name = named[plan.id]
            if name is not None:
                taken.add(name)
                self.found[plan.id] = _Found(plan, name, self.sheet_rows(name, plan))
                copies = [n for n in self.lookalikes(plan, added) if self.figures_differ(plan, name, n)]
                if copies:
                    self.add("LAYOUT_SHEET_COPY", sheet=name, expected=plan.name, others=_quoted(copies))
        for plan in self.plan.sheets:
            if named[plan.id] is not None:
                continue
            candidates = self.lookalikes(plan, [n for n in spare if n not in taken])
            if not candidates:
                self.add("LAYOUT_SHEET_MISSING", expected=plan.name)
                continue
            if any(self.figures_differ(plan, candidates[0], other) for other in candidates[1:]):
                self.add("LAYOUT_SHEET_AMBIGUOUS", expected=plan.name, found=_quoted(candidates))
                taken.update(candidates)
                continue
            best = candidates[0]  # the others hold the same figures: any of them gives the same return
            taken.add(best)
            self.found[plan.id] = _Found(plan, best, self.sheet_rows(best, plan))
            self.add("LAYOUT_SHEET_RENAMED", sheet=best, expected=plan.name, found=best)
        hidden = {m.name for m in self.book.sheets_metadata if m.visible != SheetVisibleEnum.Visible}
        for found in self.found.values():
            if found.name in hidden:
                self.add("LAYOUT_HIDDEN", sheet=found.name, what=f'"{found.name}"')

    def lookalikes(self, plan: _SheetPlan, names: list[str]) -> list[str]:
        """Those sheets holding enough of the spec sheet's labels (or table headers), the likeliest first."""
        shares = []
        for name in names:
            rows = self.sheet_rows(name, plan)
            share = self.header_share(plan.id, rows) if plan.is_table else _label_share(plan, rows)
            if share >= MIN_LABEL_SHARE:
                shares.append((share, name))
        return [name for _, name in sorted(shares, key=lambda item: -item[0])]

    def figures_differ(self, plan: _SheetPlan, first: str, second: str) -> bool:
        """Whether two sheets that both look like the spec sheet hold different inputs."""
        rows = self.sheet_rows(first, plan), self.sheet_rows(second, plan)
        if plan.is_table:
            return self.table_body(plan.id, rows[0]) != self.table_body(plan.id, rows[1])
        return _label_values(plan, rows[0]) != _label_values(plan, rows[1])

    def table_body(self, sheet_id: str, rows: list[list[Any]]) -> list[tuple[Any, ...]]:
        """The table's rows under the header, as the header's columns hold them (blank rows left out)."""
        table = next(t for t in self.plan.tables if t.sheet_id == sheet_id)
        located = self.find_header(table, rows, self.expected_header_row(table))
        if located is None:
            return []
        header_row, columns = located
        end = self.find_totals_row(table, rows, header_row + 1) or self.find_signatures(rows, header_row + 1)
        body = [tuple(values[col] if col < len(values) else "" for col in columns.values())
                for values in rows[header_row:end - 1]]
        return [values for values in body if not all(_blank(v) for v in values)]

    def header_share(self, sheet_id: str, rows: list[list[Any]]) -> float:
        table = next(t for t in self.plan.tables if t.sheet_id == sheet_id)
        found = self.find_header(table, rows)
        return 0.0 if found is None else len(found[1]) / len(table.columns)

    # -- label/value sheets --------------------------------------------------------------------------

    def read_fields(self) -> None:
        for plan in self.plan.sheets:
            if plan.is_table:
                continue
            found = self.found.get(plan.id)
            if found is None:
                self.sub.bad_fields.update(c[0].id for row in plan.rows for c in row.cells)
                continue
            self.read_label_sheet(found)
            self.check_stray(found)

    def read_label_sheet(self, found: _Found) -> None:
        rows, name, cells, sub = found.rows, found.name, self.cells, self.sub
        by_template = cells is self.plan.cells  # the common case: the label rows carry their cells
        index: dict[str, list[int]] | None = None  # built once, only when a label is not where expected
        moves: list[tuple[str, str]] = []
        read = self.inputs_read.setdefault(name, [])
        sub_cells, sub_raw, sub_values = sub.cells, sub.raw, sub.values
        for label_row in found.plan.rows:
            if by_template:
                expected, places = label_row.row, label_row.cells
            else:  # `_meta` has its own map
                expected = cells[label_row.cells[0][0].id][0]
                places = tuple((f, kind, cells[f.id][1], a1(expected, cells[f.id][1]))
                               for f, kind, _, _ in label_row.cells)
            row = expected
            if not _label_matches(rows, expected, label_row):
                index = index if index is not None else _label_index(rows)
                matches = index.get(label_row.key, ())
                if len(matches) <= label_row.occurrence:
                    self.add("LAYOUT_FIELD_NOT_FOUND", sheet=name, field=label_row.cells[0][0].id,
                             label=label_row.label)
                    sub.bad_fields.update(c[0].id for c in label_row.cells)
                    continue
                row = matches[label_row.occurrence]
            self.located += label_row.inputs
            values = rows[row - 1] if row <= len(rows) else ()
            for field, kind, col, cell in places:
                field_id = field.id
                if row != expected:
                    moves.append((cell, a1(row, col)))
                    cell = moves[-1][1]
                read.append((row, col))
                sub_cells[field_id] = (name, cell)
                raw = values[col] if col < len(values) else ""
                if _blank(raw):
                    continue
                sub_raw[field_id] = raw
                if kind == "computed":
                    continue  # recomputed from the inputs in `recompute`; the cached value is only compared
                plain = _plain_number(kind, raw)
                if plain is not None:
                    sub_values[field_id] = plain
                    continue
                sub_values[field_id], ok = self.typed(field, kind, raw, name, cell)
                if not ok:
                    sub.bad_fields.add(field_id)
        if moves:
            self.add("LAYOUT_MOVED", sheet=name, expected=_listed(m[0] for m in moves),
                     found=_listed(m[1] for m in moves), count=len(moves))

    def check_stray(self, found: _Found) -> None:
        """Content right of the form's columns is never consolidated: say so (the first few only)."""
        width, shown = found.plan.width, 0
        for number, values in enumerate(found.rows, start=1):
            for col in range(width, len(values)):
                if not _blank(values[col]):
                    self.add("LAYOUT_STRAY", sheet=found.name, ref=a1(number, col), value=_short(values[col]))
                    shown += 1
                    if shown == STRAY_SHOWN:
                        return

    # -- typing one cell -----------------------------------------------------------------------------

    def typed(self, field: Field, kind: str, raw: Any, sheet: str, cell: str,
              row: int | None = None) -> tuple[Any, bool]:
        """A non-empty cell's value typed by its field, with issues for failures and conversions."""
        parsed = self.parse(field, kind, raw)
        if parsed.ok and not parsed.notes:
            return parsed.value, True
        where = (sheet, cell, row)
        if not parsed.ok:
            self.add_value_error(field, kind, raw, parsed, where)
            return None, False
        value = parsed.value
        for note in parsed.notes:
            value = self.noted(field, raw, parsed, note, value, where)
        return value, True

    def parse(self, field: Field, kind: str, raw: Any) -> Parsed:
        options = _NUMBER_OPTIONS.get(kind)
        if options is not None:
            return parse_number(raw, **options)
        if kind == "bool":
            return parse_bool(raw)
        if kind == "choice":
            return self.parse_choice(field, raw)
        if kind == "year":
            return parse_year(raw)
        if kind == "date":
            # A serial number in a text-formatted date cell needs the workbook's date system.
            return parse_date(raw, epoch1904=isinstance(raw, int | float) and self.ooxml.date1904)
        parsed = clean_text(raw)
        if kind == "agency" and parsed.value is not None:
            return Parsed(str(parsed.value).upper(), True)
        return parsed

    def parse_choice(self, field: Field, raw: Any) -> Parsed:
        text = _as_text(raw)
        code = self.plan.choices[field.choices or ""].get(normalize_key(text))
        if code is not None:
            return Parsed(code, True)
        return Parsed(None, is_blank(text), ("not_a_choice",))

    def add_value_error(self, field: Field, kind: str, raw: Any, parsed: Parsed,
                        where: tuple[str, str, int | None]) -> None:
        context: dict[str, Any] = {}
        if kind == "bool":
            code = "VALUE_NOT_BOOL"
        elif kind == "date":
            code = "VALUE_NOT_DATE"
        elif kind == "choice":
            code = "VALUE_NOT_CHOICE"
            context["choices"] = self.plan.choice_labels[field.choices or ""]
        elif kind == "year" or "not_integer" in parsed.notes:
            code = "VALUE_NOT_INTEGER"
            context["unit_vi"], context["unit_en"] = (field.unit, field.unit_en) if field.unit else ("năm", "a year")
            if kind == "year" and isinstance(raw, int | float) and float(raw).is_integer():
                raw = str(int(raw))  # a year is written as it is, never "20.081"
        else:
            code = "VALUE_NOT_NUMBER"
        self.add_at(code, field, raw, where, **context)

    def noted(self, field: Field, raw: Any, parsed: Parsed, note: str, value: Any,
              where: tuple[str, str, int | None]) -> Any:
        """Report one normalize note; returns the value, rescaled when the note says so."""
        if note == "ambiguous":
            self.add_at("VALUE_AMBIGUOUS_NUMBER", field, raw, where, taken=value, other=int(parsed.detail),
                        other_plain=parsed.detail.lstrip("-"))  # the other reading, written per language
        elif note == "fraction_as_percent":
            self.add_at("VALUE_PERCENT_SCALE", field, raw, where, taken=value)
        elif note == "ambiguous_percent" and isinstance(raw, int | float):
            # Exactly 1 in a percent field: "100%" typed into the cell (Excel stores 1 with a % format) or 1 %.
            # An .xlsx tells which; other formats do not, so a person must look.
            if self.ooxml.is_percent_cell(where[0], where[1]):
                value = 100
                self.add_at("VALUE_PERCENT_SCALE", field, raw, where, taken=value)
            elif self.sub.format not in OOXML_FORMATS:
                self.add_at("VALUE_AMBIGUOUS_NUMBER", field, raw, where, taken=value, other="100%",
                            other_plain="100")
        elif note in ("tcvn3", "vni"):
            self.add_at("VALUE_LEGACY_TEXT", field, parsed.detail, where, encoding=note.upper(), converted=value)
        elif note == "control_chars":
            self.add_at("VALUE_CLEANED", field, raw, where)
        elif note == "grouped_thousands":
            # Both as they were written: the point is to show the dot, and a year is never grouped.
            self.add_at("VALUE_GROUPED_THOUSANDS", field, parsed.detail, where, taken=str(value))
        return value

    # -- the project table ---------------------------------------------------------------------------

    def read_table(self, table: _TablePlan) -> None:
        sub = self.sub
        found = self.found.get(table.sheet_id)
        located = self.find_header(table, found.rows, self.expected_header_row(table)) if found else None
        if located is None:
            if found is not None:
                self.add("LAYOUT_TABLE_NOT_FOUND", sheet=found.name)
            sub.bad_fields.update(total.id for _, total in table.totals)
            return
        header_row, columns = located
        rows, name = found.rows, found.name
        read_rows = sub.table(table.id, projects=table.projects)
        read_rows.columns.update({cid: col_letter(col) for cid, col in columns.items()})
        if table.projects:
            sub.project_sheet = name
        else:
            read_rows.sheet = name
        end = self.find_totals_row(table, rows, header_row + 1)
        template_last = self.template_body(table)[1] + header_row - self.expected_header_row(table)
        read = self.inputs_read.setdefault(name, [])
        beyond = False
        for number in range(header_row + 1, end or self.find_signatures(rows, header_row + 1)):
            values = rows[number - 1]
            if values.count("") == len(values):  # most body rows of a template are empty: skip them in C
                continue
            cells = [(cid, col, values[col] if col < len(values) else "") for cid, col in columns.items()]
            if _is_blank_row(cells) or _is_number_row(cells):
                continue
            read.extend((number, col) for _, col, _ in cells)
            read_rows.rows.append(self.project_row(table, read_rows, name, number, cells))
            beyond = beyond or number > template_last
        if beyond:
            self.add("LAYOUT_PROJECT_ROWS_ADDED", sheet=name, count=len(read_rows.rows))
        if end is not None:
            values = rows[end - 1]
            for column_id, total in table.totals:
                col = columns.get(column_id)
                if col is not None:
                    sub.cells[total.id] = (name, a1(end, col))
                    if col < len(values) and not _blank(values[col]):
                        sub.raw[total.id] = values[col]

    def expected_header_row(self, table: _TablePlan) -> int:
        layout = table.layout
        return self.template_body(table)[0] - (layout.first_row - layout.header_row)

    def template_body(self, table: _TablePlan) -> tuple[int, int]:
        """(first, last) body rows of the template, as `_meta` records them when it has its own map."""
        recorded = self.meta.tables.get(table.id) if self.meta is not None else None
        if recorded is not None:
            return recorded[2], recorded[3]
        return table.layout.first_row, table.layout.last_row

    def find_header(self, table: _TablePlan, rows: list[list[Any]],
                    expected: int | None = None) -> tuple[int, dict[str, int]] | None:
        """(Excel row, column id → 0-based column) of the table's header: the expected row when all its
        labels are in place, else the row with the most header labels (at least half of them)."""
        keys = table.header_keys
        if expected is not None:
            columns = _header_columns(rows, expected, keys)
            if len(columns) == len(keys):
                return expected, columns
        best: tuple[int, dict[str, int]] | None = None
        for number in range(1, min(len(rows), HEADER_SEARCH_ROWS) + 1):
            columns = _header_columns(rows, number, keys)
            if len(columns) >= MIN_LABEL_SHARE * len(keys) and (best is None or len(columns) > len(best[1])):
                best = (number, columns)
        return best

    def find_totals_row(self, table: _TablePlan, rows: list[list[Any]], start: int) -> int | None:
        """The table's totals row. The template's label ("Tổng cộng") wins over the other spellings
        ("Cộng", "Tổng số"), which may label sub-totals an agency added inside the table."""
        first_other = None
        for number in range(start, len(rows) + 1):
            for value in rows[number - 1][:3]:  # the label sits in one of the first columns
                if value.__class__ is str and 0 < len(value) <= TOTAL_LABEL_MAX:
                    key = normalize_key(value)
                    if key == table.total_key:
                        return number
                    if first_other is None and key in table.total_keys:
                        first_other = number
        return first_other

    def find_signatures(self, rows: list[list[Any]], start: int) -> int:
        """Where a table without its totals row ends: at the frame's place-and-date line or signature blocks
        under it (an agency deleted the totals row), else after the last row read."""
        keys = self.frame_keys
        for number in range(start, len(rows) + 1):
            for value in rows[number - 1]:
                if value.__class__ is str and value and normalize_key(value).startswith(keys):
                    return number
        return len(rows) + 1

    @cached_property
    def frame_keys(self) -> tuple[str, ...]:
        """The first words of the frame's lines under a table: "Hà Tĩnh, ngày", "NGƯỜI LẬP BIỂU", …"""
        return tuple(normalize_key(text) for text in (f"{frame.place(self.spec)}, ngày", frame.PREPARER, frame.HEAD))

    def project_row(self, table: _TablePlan, read_rows: TableRows, sheet: str, row: int,
                    cells: list[tuple[str, int, Any]]) -> ProjectRow:
        columns = table.columns
        values: dict[str, Any] = dict.fromkeys(columns)
        raw: dict[str, Any] = {}
        for column_id, col, value in cells:
            if _blank(value):
                continue
            raw[column_id] = value
            field, kind = columns[column_id]
            plain = _plain_number(kind, value)
            if plain is not None:
                values[column_id] = plain
                continue
            typed, ok = self.typed(field, kind, value, sheet, a1(row, col), row)
            values[column_id] = typed
            if not ok:
                read_rows.bad_cells.add((row, column_id))
        return ProjectRow(row, values, raw)

    # -- formulas without a value ----------------------------------------------------------------------

    def read_uncached_formulas(self) -> None:
        """Formulas typed into input cells of a file saved by a program that does not calculate: calamine
        reads such a cell as empty, which it is not. Where a text is asked, the formula's text is kept, as
        plain text (the outputs write text as text: never a formula or a link), with a warning; any other
        field has no value to read, and says so."""
        sub, formulas = self.sub, {}
        for field_id, (sheet, cell) in sub.cells.items():
            field = self.spec.fields.get(field_id)
            if field is None or not field.is_input or sub.values.get(field_id) is not None:
                continue
            formula = self.formula_at(formulas, sheet, cell)
            if formula is not None:
                typed, ok = self.typed_formula(field, formula, (sheet, cell, None))
                sub.values[field_id], sub.raw[field_id] = typed, formula
                if not ok:
                    sub.bad_fields.add(field_id)
        for project in sub.projects:
            for column_id, letter in sub.project_columns.items():
                cell = f"{letter}{project.row}"
                formula = self.formula_at(formulas, sub.project_sheet, cell)
                if formula is None or project.values.get(column_id) is not None:
                    continue
                field = self.plan.table.columns[column_id][0]
                typed, ok = self.typed_formula(field, formula, (sub.project_sheet, cell, project.row))
                project.values[column_id], project.raw[column_id] = typed, formula
                if not ok:
                    sub.bad_project_cells.add((project.row, column_id))

    def formula_at(self, formulas: dict[str, dict[str, str]], sheet: str, cell: str) -> str | None:
        if sheet not in formulas:
            formulas[sheet] = self.ooxml.uncached_formulas(sheet)
        return formulas[sheet].get(cell)

    def typed_formula(self, field: Field, formula: str, where: tuple[str, str, int | None]) -> tuple[Any, bool]:
        shown = _short(formula, DISPLAY_MAX)
        if field.type in TEXT_TYPES:
            self.add_at("VALUE_FORMULA_TEXT", field, formula, where, formula=shown)
            return formula, True
        self.add_at("VALUE_FORMULA_INPUT", field, formula, where, formula=shown)
        return None, False

    # -- after reading -------------------------------------------------------------------------------

    def check_recognised(self) -> None:
        """Without `_meta`, the labels are the only evidence that this is the form at all."""
        if self.meta is None and self.located < MIN_LABEL_SHARE * self.plan.input_count:
            self.sub.issues[:] = [i for i in self.sub.issues if i.code.startswith("FILE_")]
            self.stop_with("FORM_NOT_OURS", form_id=self.spec.form_id)

    def recompute(self) -> None:
        """Computed fields and totals take the value recomputed from the inputs; the cached value is only
        compared with it."""
        sub = self.sub
        for table in self.plan.tables:
            read_rows = sub.table(table.id, projects=table.projects)
            if not read_rows.sheet:
                continue  # not found: its totals are bad fields
            for column_id, total in table.totals:
                self.settle(total, _finite(_sum(_number(p.values[column_id]) for p in read_rows.rows)))
        for field in self.plan.computed:
            computed = _finite(field.formula.evaluate(sub.values))
            if field.formula.names & sub.bad_fields:  # an input already reported: the cached value is not news
                sub.values[field.id] = computed
                continue
            self.settle(field, computed)

    def settle(self, field: Field, computed: Any) -> None:
        sub = self.sub
        sub.values[field.id] = computed
        if field.id not in sub.cells:
            return
        where = (*sub.cells[field.id], None)
        raw = sub.raw.get(field.id)
        if raw is None:
            if computed:  # a blank where the formula gives a number (0 and blank look alike in Excel)
                self.add_at("VALUE_FORMULA_NOT_CALCULATED", field, computed, where)
            return
        cached = parse_number(raw).value  # the template's formula wrote it: no percent rescaling
        if computed is None and cached == 0:  # Excel counts a blank operand as 0; we keep it blank
            return
        if computed is None or not isinstance(cached, int | float) or abs(cached - computed) > TOLERANCE:
            self.add_at("VALUE_FORMULA_STALE", field, raw, where, computed=NOT_SHOWN if computed is None else computed)

    def identify_agency(self) -> None:
        """Domain rule 19: the code cell, `_meta` and the file name must agree; the name cell stands in for
        a blank code cell, and a name that belongs to another agency is a warning."""
        sub, registry = self.sub, self.registry
        code_at = self.place("ma_don_vi")
        name_at = self.place("ten_don_vi")
        name_text = sub.values.get("ten_don_vi")
        name_code = registry.resolve(name_text) if name_text else None
        code_cell = f"'{code_at['sheet']}'!{code_at['cell']}" if code_at["cell"] else "ma_don_vi"
        claims = [(where, code) for where, code in (
            (code_cell, sub.values.get("ma_don_vi")),
            (META_SHEET, self.meta_code),
            (sub.file, registry.code_in_filename(sub.file)),
        ) if code]
        codes = list(dict.fromkeys(code for _, code in claims))
        if len(codes) > 1:
            self.add("FORM_AGENCY_MISMATCH", **code_at, detail="; ".join(f"{w} = {c}" for w, c in claims))
        code = _likeliest(codes, [c for _, c in claims] + [name_code], registry)
        if code is None:
            if name_code is None:
                self.add("FORM_AGENCY_MISSING", **code_at)
            sub.agency_code = name_code
        elif registry.get(code) is None and name_code is None:
            self.add("FORM_AGENCY_UNKNOWN", **code_at, found=code)
            sub.agency_code = None
        else:
            if name_code is not None and name_code != code:
                self.add("FORM_AGENCY_NAME", **name_at, found=name_text, name_code=name_code, code=code)
            sub.agency_code = code if registry.get(code) else name_code
        self.check_in_round(code_at)

    def check_in_round(self, code_at: dict[str, Any]) -> None:
        """An agency of the registry that the round does not expect (Registry.of_round: it had ended by the
        round's deadline, or began after it) is refused, naming the agency that reports in its place."""
        sub, registry = self.sub, self.registry.whole
        agency = registry.get(sub.agency_code)
        day = round_day(self.spec)
        if agency is None or day is None or agency.exists_on(day):
            return
        shown = {"agency": agency.name_vi, "code": agency.code, "round": self.spec.round,
                 "deadline": f"{day:%d/%m/%Y}"}
        if agency.valid_from is not None and day < agency.valid_from:
            self.add("FORM_AGENCY_NOT_YET", **code_at, **shown, founded=f"{agency.valid_from:%d/%m/%Y}")
            return
        ended = f"{agency.ended:%d/%m/%Y}" if agency.ended else ""
        successor = registry.reporting_body(agency.code, day)
        if successor is None:
            self.add("FORM_AGENCY_ENDED", **code_at, **shown, ended=ended)
        else:
            self.add("FORM_AGENCY_SUCCEEDED", **code_at, **shown, ended=ended, successor=successor.name_vi,
                     successor_code=successor.code)

    @property
    def meta_code(self) -> str | None:
        """The agency code the template was made for (blank in the blank template)."""
        return (self.meta.agency_code.strip().upper() if self.meta else "") or None

    def best_effort_agency(self) -> str | None:
        """For a rejected form (old version, other round): whom the feedback should go to."""
        code = self.meta_code
        if code and self.registry.get(code):
            return code
        return self.registry.code_in_filename(self.sub.file)

    def place(self, field_id: str) -> dict[str, Any]:
        sheet, cell = self.sub.cells.get(field_id, (None, None))
        return {"sheet": sheet, "cell": cell, "field": field_id}

    def check_merged(self) -> None:
        """Merged ranges that swallow an input cell: only the first cell's value survives."""
        for name, cells in self.inputs_read.items():
            ranges = self.merged_ranges(name) if cells else ()
            inputs = set(cells) if ranges else set()
            for (r0, c0), (r1, c1) in ranges:
                covered = ((row, col) for row in range(r0 + 1, r1 + 2) for col in range(c0, c1 + 1))
                if (r1 - r0 + 1) * (c1 - c0 + 1) > len(inputs):  # a huge range: look at the inputs instead
                    covered = (cell for cell in inputs if r0 < cell[0] <= r1 + 1 and c0 <= cell[1] <= c1)
                if not inputs.isdisjoint(covered):
                    ref = f"{a1(r0 + 1, c0)}:{a1(r1 + 1, c1)}"
                    self.add("LAYOUT_MERGED", sheet=name, cell=a1(r0 + 1, c0), ref=ref)

    def check_hidden_rows(self) -> None:
        """Hidden rows that hold inputs: their figures are read, but the agency may not see them."""
        for name, cells in self.inputs_read.items():
            hidden = self.hidden_rows(name, {row for row, _ in cells})
            if hidden:
                rows = ", ".join(map(str, sorted(hidden)[:STRAY_SHOWN]))
                more = " …" if len(hidden) > STRAY_SHOWN else ""
                self.add("LAYOUT_HIDDEN", sheet=name, what_vi=f"Hàng {rows}{more}",
                         what_en=f"{'Row' if len(hidden) == 1 else 'Rows'} {rows}{more}")

    # -- workbook access -----------------------------------------------------------------------------

    def sheet_named(self, name: str) -> str | None:
        key = _sheet_key(name)
        return next((n for n in self.book.sheet_names if _sheet_key(n) == key), None)

    def sheet_rows(self, name: str, plan: _SheetPlan) -> list[list[Any]]:
        """A sheet's cells from A1, parsed once per file and bounded by the template's rows plus a margin
        (the preflight already refused oversize sheets). A sheet looked at for one spec sheet and then needed
        for another (the table's margin is larger) is parsed again, to the larger bound."""
        limit = plan.last_row + (TABLE_MARGIN if plan.is_table else LABEL_MARGIN)
        rows, parsed_to = self.rows.get(name, (None, 0))
        if rows is None or (parsed_to < limit and len(rows) >= parsed_to):
            sheet = self.sheets[name] = self.book.get_sheet_by_name(name)
            rows = self.cells_of(sheet, limit)
            self.rows[name] = (rows, limit)
        return rows

    def cells_of(self, sheet: CalamineSheet, nrows: int) -> list[list[Any]]:
        """A sheet's cells from A1. calamine panics on a few values (a date-formatted cell holding a huge
        negative number); its PanicException is a BaseException, so it is caught here, by name, and the sheet
        is reported: the agency can fix it, the batch goes on."""
        try:
            return sheet.to_python(skip_empty_area=False, nrows=nrows)
        except BaseException as exc:
            if not _is_panic(exc):
                raise
            self.add("LAYOUT_SHEET_UNREADABLE", sheet=sheet.name)
            self.stop(self.best_effort_agency())

    def hidden_rows(self, sheet: str, rows: set[int]) -> set[int]:
        """Those of `rows` (Excel numbers) that the sheet hides."""
        if self.sub.format in OOXML_FORMATS:
            return self.ooxml.hidden_rows(sheet) & rows
        if self.sub.format in ODF_FORMATS:
            ranges = markup.ods_hidden_rows(self.ods_content, sheet)
            return {row for row in rows if any(first <= row <= last for first, last in ranges)}
        if self.sub.format == "xls":
            return ole.xls_hidden_rows(self.xls_stream, sheet) & rows
        if isinstance(self.book, spreadsheetml.Workbook):
            return self.book.hidden_rows(sheet, rows)
        return set()

    def merged_ranges(self, sheet: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """((first row, first col), (last row, last col)), 0-based, of the sheet's merged ranges. calamine
        gives them for .xlsx and .xls, not for .ods; intake/spreadsheetml.py for .xml."""
        if self.sub.format in ODF_FORMATS:
            return markup.ods_merged_ranges(self.ods_content, sheet)
        return self.sheets[sheet].merged_cell_ranges or []

    @cached_property
    def xls_stream(self) -> bytes:
        """An .xls return's BIFF Workbook stream, read once for all its sheets."""
        return ole.xls_workbook_stream(self.data)

    @cached_property
    def ods_content(self) -> str:
        """An .ods return's content.xml (a flat ODF file's whole document), read once."""
        try:
            return zipfile.ZipFile(io.BytesIO(self.unpacked)).read("content.xml").decode("utf-8", "replace")
        except (KeyError, zipfile.BadZipFile):
            return ""

    @cached_property
    def ooxml(self) -> markup.Ooxml:
        return markup.Ooxml(self.unpacked if self.sub.format in OOXML_FORMATS else None)

    # -- issues --------------------------------------------------------------------------------------

    def add(self, code: str, /, *, sheet: str | None = None, cell: str | None = None, field: str | None = None,
            **context: Any) -> None:
        """An issue; ``context`` fills the message's placeholders (one may itself be called "code"), and the
        sheet is one of them too ("Row … was not found on sheet {sheet}")."""
        if sheet is not None:
            context = {"sheet": sheet, **context}
        self.sub.issues.append(issue(code, file=self.sub.file, sheet=sheet, cell=cell, field=field, context=context))

    def add_at(self, code: str, field: Field, value: Any, where: tuple[str, str, int | None], /,
               **context: Any) -> None:
        """An issue at a field's cell (sheet, cell, Excel row of a project), labelled with the field's labels."""
        sheet, cell, row = where
        self.sub.issues.append(issue(
            code, file=self.sub.file, sheet=sheet, cell=cell, row=row, field=field.id, value=value,
            context={"label_vi": field.vi, "label_en": field.en, **context}))

    def stop_with(self, code: str, **context: Any) -> NoReturn:
        self.add(code, **context)
        self.stop(None)

    def stop(self, agency: str | None) -> NoReturn:
        self.sub.agency_code = agency
        raise _Stop


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------


def _sheet_key(name: str) -> str:
    """Sheet names compare NFC, case- and whitespace-insensitively."""
    return " ".join(_nfc(name).casefold().split())


def _is_service_sheet(name: str) -> bool:
    return _sheet_key(name) in (META_SHEET, LISTS_SHEET)


def _blank(value: Any) -> bool:
    return value == "" or value is None or (value.__class__ is str and is_blank(value))


def _label_matches(rows: list[list[Any]], row: int, label_row: _LabelRow) -> bool:
    if not 0 < row <= len(rows) or len(rows[row - 1]) <= COL_LABEL:
        return False
    text = rows[row - 1][COL_LABEL]
    if text == label_row.label:
        return True
    return text.__class__ is str and text != "" and normalize_key(text) == label_row.key


def _label_index(rows: list[list[Any]]) -> dict[str, list[int]]:
    """normalize_key(column-B text) → the Excel rows holding it; built once per sheet when a label moved."""
    index: dict[str, list[int]] = {}
    for number, values in enumerate(rows, start=1):
        text = values[COL_LABEL] if len(values) > COL_LABEL else ""
        if text.__class__ is str and text:
            index.setdefault(normalize_key(text), []).append(number)
    return index


def _label_values(plan: _SheetPlan, rows: list[list[Any]]) -> list[tuple[Any, ...]]:
    """The inputs of a label sheet as its labels place them (the template's columns), row after row: what
    tells two copies of one sheet apart. A label not found gives an empty tuple."""
    index: dict[str, list[int]] | None = None
    values = []
    for label_row in plan.rows:
        row = label_row.row
        if not _label_matches(rows, row, label_row):
            index = index if index is not None else _label_index(rows)
            matches = index.get(label_row.key, ())
            row = matches[label_row.occurrence] if len(matches) > label_row.occurrence else 0
        cells = rows[row - 1] if 0 < row <= len(rows) else ()
        values.append(tuple(cells[col] if col < len(cells) else "" for field, _, col, _ in label_row.cells
                            if field.is_input))
    return values


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _label_share(plan: _SheetPlan, rows: list[list[Any]]) -> float:
    return len(plan.keys & _label_index(rows).keys()) / max(len(plan.keys), 1)


def _header_columns(rows: list[list[Any]], row: int, header_keys: dict[str, frozenset[str]]) -> dict[str, int]:
    """Column id → 0-based column, for the header labels found on one row."""
    if not 0 < row <= len(rows):
        return {}
    where: dict[str, int] = {}
    for col, value in enumerate(rows[row - 1]):
        if value.__class__ is str and value:
            where.setdefault(normalize_key(value), col)
    found = {}
    for column_id, keys in header_keys.items():
        col = next((where[k] for k in keys if k in where), None)
        if col is not None:
            found[column_id] = col
    return found


def _plain_number(kind: str, raw: Any) -> float | int | None:
    """The typed value of a finite float in a number field when typing it raises nothing (most cells of a
    return): what `self.typed` would give, without its calls; None sends the cell the long way."""
    if raw.__class__ is not float or raw - raw != 0.0:  # not a float, or NaN/inf
        return None
    if kind == "dec" or kind == "money" or (kind == "pct" and not 0 < raw <= 1):
        return raw
    if (kind == "int" or (kind == "year" and 1000 <= raw <= 9999)) and raw.is_integer():
        return int(raw)
    return None


def _is_blank_row(cells: Iterable[tuple[str, int, Any]]) -> bool:
    return all(_blank(value) for _, _, value in cells)


def _is_number_row(cells: list[tuple[str, int, Any]]) -> bool:
    """The template's row of column numbers under the header: "(1)", "(2)"… (or plain 1, 2…)."""
    return all(_as_text(value).strip().strip("()") == str(position)
               for position, (_, _, value) in enumerate(cells, start=1))


def _as_text(raw: Any) -> str:
    """A cell as text for label matching: a code typed as a number ("1" priority) is 1.0 in an .xlsx."""
    if raw.__class__ is float and raw.is_integer():
        return str(int(raw))
    return raw if raw.__class__ is str else str(raw)


def _number(value: Any) -> float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _sum(values: Iterable[float]) -> float:
    """The exact sum (fsum); past the largest float it is infinite, where fsum raises."""
    try:
        return math.fsum(values)
    except OverflowError:
        return math.inf


def _finite(value: Any) -> Any:
    """An expression's result: NaN (a blank operand or a zero divisor) means no value."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _listed(items: Iterable[str]) -> str:
    items = list(items)
    return ", ".join(items[:MOVES_SHOWN]) + (", …" if len(items) > MOVES_SHOWN else "")


def _short(value: Any, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _likeliest(codes: list[str], votes: list[str | None], registry: Registry) -> str | None:
    """The code most sources name, preferring registered codes; a tie goes to the earlier source (the
    code cell, then `_meta`, then the file name)."""
    if not codes:
        return None
    known = [c for c in codes if registry.get(c)] or codes
    return max(known, key=lambda c: (votes.count(c), -codes.index(c)))
