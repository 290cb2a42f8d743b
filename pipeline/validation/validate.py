"""Validate a batch of returns: one pandera call for all return-level values, one for all project rows.

Per-return validation would cost one pandera call (~30–60 ms) per return; stacking every readable return
into one frame costs about the same as a single return (performance-notes.md §4). The failure cases are
mapped back to the return and the Excel cell they came from in ``failures_to_issues``, the only place that
reads pandera's output.

A verdict's status follows the worst issue: an ERROR rejects the return, a WARNING accepts it with
warnings, INFO changes nothing.

A bug in a rule must not stop the batch. A check that raises is re-evaluated row by row inside the same
call (schemas.Crash), so only the returns whose rows make it raise get a SYS_INTERNAL_ERROR; every other
return gets its normal verdict. If the pandera call itself raises, or a check fails in a way no single row
explains, the batch is split in halves and validated again, down to single returns.

A batch of one return (the desk's self-check, `ictplan check FILE`) has nothing to share pandera's
per-call cost with: its frames are checked by the same checks called directly (validation/direct.py), with
the same failure cases, and through pandera whenever that path cannot vouch for giving the same.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from pipeline.form.layout import col_letter, layout_for
from pipeline.form.spec import NUMERIC_TYPES, Field, FormSpec, Rule
from pipeline.intake.submission import ProjectRow, Submission, TableRows
from pipeline.issues import (
    CATALOGUE,
    REQUIRED_ADVICE,
    Issue,
    Severity,
    display_value,
    is_number,
    issue,
    sort_key,
)
from pipeline.validation import direct
from pipeline.validation.schemas import (
    CHECK_CRASHES,
    ROW,
    RULE,
    SUB,
    TYPE_FORMATS,
    Crash,
    Tag,
    first_rows,
    project_frame,
    project_schema,
    return_frame,
    return_schema,
)

ACCEPTED, ACCEPTED_WITH_WARNINGS, REJECTED = "accepted", "accepted_with_warnings", "rejected"
RETURN = "return"
_BLANK = {"vi": "trống", "en": "blank"}
_YES_NO = {"vi": ("Có", "Không"), "en": ("yes", "no")}
_NO_BOUND = "…"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass
class Verdict:
    submission: Submission
    issues: list[Issue]  # read issues + validation issues, sorted by issues.sort_key
    status: str  # accepted | accepted_with_warnings | rejected

    @property
    def accepted(self) -> bool:
        return self.status != REJECTED


def status_of(issues: list[Issue]) -> str:
    severities = {i.severity for i in issues}
    if Severity.ERROR in severities:
        return REJECTED
    if Severity.WARNING in severities:
        return ACCEPTED_WITH_WARNINGS
    return ACCEPTED


def validate_batch(submissions: list[Submission], spec: FormSpec, *, direct: bool | None = None) -> list[Verdict]:
    """Validate every readable submission in one pandera call per frame (returns, each table's rows) and
    give each submission its verdict. Unreadable submissions are rejected with their read issues only.

    ``direct``: check the frames without pandera where direct.py can (default: when one submission is
    readable); False always goes through pandera (the tests compare the two)."""
    found: dict[int, list[Issue]] = defaultdict(list)
    crashed: dict[int, str] = {}
    readable = sum(1 for s in submissions if s.readable)
    if readable:
        fast = readable == 1 if direct is None else direct
        frame = return_frame(submissions, spec)
        _validate_frame(return_schema(spec), frame, frame.index.to_numpy(), RETURN, submissions, spec,
                        found, crashed, fast)
        for table in spec.tables:
            rows = project_frame(submissions, spec, table.id)
            if len(rows):
                _validate_frame(project_schema(spec, table.id), rows, rows[SUB].to_numpy(), table.id,
                                submissions, spec, found, crashed, fast)
    return [_verdict(s, found.get(i, []), crashed.get(i)) for i, s in enumerate(submissions)]


@cache
def warm_up() -> None:
    """Have pandera load what it loads on its first validation (its pandas backends, checks and error
    reports: ~0.2 s), so that a caller can pay for it while it waits for something else. Once a process:
    a run calls it for every chunk it reads, and after the first a call would still validate (~5 ms)."""
    with contextlib.suppress(pa.errors.SchemaErrors):
        pa.DataFrameSchema({"n": pa.Column(int, pa.Check.ge(0))}).validate(pd.DataFrame({"n": [-1]}), lazy=True)


def _verdict(submission: Submission, found: list[Issue], crash: str | None) -> Verdict:
    issues = [*submission.issues, *found]
    if crash is not None:
        issues.append(issue("SYS_INTERNAL_ERROR", file=submission.file, context={"reason": crash}))
    issues.sort(key=sort_key)
    status = status_of(issues) if submission.readable else REJECTED
    return Verdict(submission, issues, status)


def _validate_frame(schema: pa.DataFrameSchema, frame: pd.DataFrame, owners: np.ndarray, scope: str,
                    submissions: list[Submission], spec: FormSpec, found: dict[int, list[Issue]],
                    crashed: dict[int, str], fast: bool = False) -> None:
    cases, crashes = _failure_cases(schema, frame, owners, fast)
    for position, issues in failures_to_issues(cases, frame, submissions, spec, scope).items():
        found[position].extend(issues)
    for position, reason in crashes.items():
        crashed.setdefault(position, reason)


# --- running pandera ----------------------------------------------------------------------------------


class UnexpectedFailure(RuntimeError):
    """pandera reported a failure that none of our checks encodes (a dtype or column mismatch: a bug in
    building the frame), or a check crashed without our wrapper seeing it."""


def _failure_cases(schema: pa.DataFrameSchema, frame: pd.DataFrame, owners: np.ndarray,
                   fast: bool = False) -> tuple[pd.DataFrame, dict[int, str]]:
    """pandera's failure cases for the frame, and the submissions whose validation raised (→ reason).

    A check that raises on some rows only is contained inside the call (schemas.Crash): those rows'
    submissions get the crash, the rest their findings. Only when the call itself raises (or a check fails
    as a whole) is the frame split by submission, in halves, so one bad return among n costs about
    2·log2(n) more calls rather than n.
    """
    try:
        cases, crashed_rows = _run(schema, frame, fast)
    except Exception as exc:
        positions = np.unique(owners)
        if len(positions) <= 1:
            return _NO_FAILURES, {int(p): _reason(exc) for p in positions}
        inside = np.isin(owners, positions[: len(positions) // 2])
        first, first_crashes = _failure_cases(schema, frame[inside], owners[inside])
        second, second_crashes = _failure_cases(schema, frame[~inside], owners[~inside])
        return pd.concat([first, second], ignore_index=True), first_crashes | second_crashes
    owner_of = dict(zip(frame.index, owners.tolist(), strict=True))
    crashes: dict[int, str] = {}
    for label, error in crashed_rows.items():
        crashes.setdefault(int(owner_of[label]), _reason(error))
    return cases, crashes


_NO_FAILURES = pd.DataFrame({"check": pd.Series(dtype=object), "index": pd.Series(dtype=object)})


def _run(schema: pa.DataFrameSchema, frame: pd.DataFrame,
         fast: bool = False) -> tuple[pd.DataFrame, dict[Any, BaseException]]:
    """One lazy validate call → (failure cases, frame rows whose evaluation raised → exception).
    Raises when the call itself fails, or a check fails in a way no single row explains.
    ``fast``: the checks called directly (direct.py) unless that path gives up."""
    if fast:
        crashes: list[Crash] = []
        token = CHECK_CRASHES.set(crashes)
        try:
            cases = direct.failure_cases(schema, frame)
        finally:
            CHECK_CRASHES.reset(token)
        if cases is not None:
            return (_NO_FAILURES if cases.empty else cases), _crashed_rows(crashes)
    crashes = []
    token = CHECK_CRASHES.set(crashes)
    try:
        try:
            schema.validate(frame, lazy=True)
            cases = _NO_FAILURES
        except pa.errors.SchemaErrors as err:
            cases = err.failure_cases
            ours = cases["check"].map({c: Tag.parse(c) is not None for c in cases["check"].unique()})
            foreign = cases[~ours.astype(bool) | cases["index"].isna()]
            whole = [c for c in crashes if not c.rows]
            if whole:
                raise whole[0].error from None
            if len(foreign):
                first = foreign.iloc[0]
                raise UnexpectedFailure(f"{first['check']} on {first['column']}: {first['failure_case']}") from None
    finally:
        CHECK_CRASHES.reset(token)
    return cases, _crashed_rows(crashes)


def _crashed_rows(crashes: list[Crash]) -> dict[Any, BaseException]:
    rows: dict[Any, BaseException] = {}
    for crash in crashes:
        for label, error in crash.rows.items():
            rows.setdefault(label, error)
    return rows


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# --- failure cases → issues ---------------------------------------------------------------------------


def failures_to_issues(failure_cases: pd.DataFrame, frame: pd.DataFrame, submissions: list[Submission],
                       spec: FormSpec, scope: str = RETURN) -> dict[int, list[Issue]]:
    """Turn pandera failure cases into Issues, by submission position.

    ``frame`` is the frame that was validated (``return_frame`` when scope is "return", ``project_frame``
    when scope is the table id); ``failure_cases["index"]`` is its index and ``failure_cases["check"]``
    the check's Tag (see pipeline/validation/schemas.py). Cases are reduced to one per (check, row), then the loop
    runs over the failures only. Nothing is reported on a cell the reader could not type (bad_fields,
    bad_project_cells), nor by a rule that reads one.
    """
    if failure_cases is None or failure_cases.empty:
        return {}
    cases = failure_cases[["check", "index"]].drop_duplicates()
    tags = {text: Tag.parse(text) for text in cases["check"].unique()}
    mapper = _Mapper(spec, frame, submissions, scope)
    out: dict[int, list[Issue]] = defaultdict(list)
    for text, index in cases.itertuples(index=False, name=None):
        tag = tags[text]
        if tag is None or index is None:
            continue
        located = mapper.locate(int(index))
        found = mapper.rule_issue(tag, located) if tag.variant == RULE else mapper.field_issue(tag, located)
        if found is not None:
            out[located.position].append(found)
    return dict(out)


@dataclass
class _Place:
    position: int  # in the submissions list
    submission: Submission
    values: dict[str, Any]  # typed values of the return, or of the project row
    row: int | None  # Excel row of a project row
    index: int  # frame index


class _Mapper:
    """Locates failures (return or project row, sheet, cell) and builds their Issues."""

    def __init__(self, spec: FormSpec, frame: pd.DataFrame, submissions: list[Submission], scope: str) -> None:
        self.spec, self.frame, self.submissions, self.scope = spec, frame, submissions, scope
        self.layout = layout_for(spec)
        self.table = spec.table_named(scope) if scope != RETURN else None
        self.fields: dict[str, Field] = (
            spec.fields if self.table is None else {c.id: c for c in self.table.columns})
        self.rules: dict[str, Rule] = {r.id: r for r in spec.rules_for(scope)}
        self._first_rows: pd.Series | None = None

    # where -------------------------------------------------------------------------------------------
    def locate(self, index: int) -> _Place:
        if self.table is None:
            sub = self.submissions[index]
            return _Place(index, sub, sub.values, None, index)
        position = int(self.frame.at[index, SUB])
        row = int(self.frame.at[index, ROW])
        sub = self.submissions[position]
        project = next((p for p in self.rows_of(sub).rows if p.row == row), ProjectRow(row, {}))
        return _Place(position, sub, project.values, row, index)

    def rows_of(self, sub: Submission) -> TableRows:
        assert self.table is not None
        return sub.table(self.table.id, projects=self.table is self.spec.table)

    def cell(self, place: _Place, field_id: str) -> tuple[str | None, str | None]:
        if self.table is None:
            if field_id in place.submission.cells:
                return place.submission.cells[field_id]
            ref = self.layout.cells.get(field_id)
            return (ref.sheet, ref.a1) if ref else (None, None)
        table_layout = self.layout.tables[self.table.id]
        read_rows = self.rows_of(place.submission)
        sheet = read_rows.sheet or table_layout.sheet
        letter = read_rows.columns.get(field_id)
        if letter is None and field_id in table_layout.columns:
            letter = col_letter(table_layout.columns[field_id])
        return sheet, (f"{letter}{place.row}" if letter else None)

    def is_bad(self, place: _Place, field_id: str) -> bool:
        """The reader could not type this cell and has reported it: say nothing more about it."""
        if self.table is None:
            return field_id in place.submission.bad_fields
        return (place.row, field_id) in self.rows_of(place.submission).bad_cells

    # what --------------------------------------------------------------------------------------------
    def field_issue(self, tag: Tag, place: _Place) -> Issue | None:
        f = self.fields.get(tag.target)
        if f is None or self.is_bad(place, f.id):
            return None
        value = place.values.get(f.id)
        context = {"label_vi": f.vi, "label_en": f.en, **self.field_context(tag, f, value, place)}
        return self._issue(tag.code, tag.severity, place, f.id, value, context)

    def rule_issue(self, tag: Tag, place: _Place) -> Issue | None:
        rule = self.rules.get(tag.target)
        if rule is None or any(self.is_bad(place, name) for name in rule.names | {rule.at}):
            return None  # a rule reading a cell the reader could not type would double-report it
        at = self.fields[rule.at]
        context = {
            "label_vi": at.vi, "label_en": at.en,
            "msg_vi": _escape(self.render(rule.vi, place.values, "vi")),
            "msg_en": _escape(self.render(rule.en, place.values, "en")),
        }
        # The Issue's code is the rule id; its messages, already filled in, travel in the context.
        return self._issue(rule.id, tag.severity, place, at.id, place.values.get(at.id), context)

    def _issue(self, code: str, severity: Severity, place: _Place, field_id: str, value: Any,
               context: dict[str, Any]) -> Issue:
        sheet, cell = self.cell(place, field_id)
        return issue(code, severity=severity, file=place.submission.file, sheet=sheet, cell=cell,
                     field=field_id, row=place.row, value=shown(value, self.fields.get(field_id)), context=context)

    def field_context(self, tag: Tag, f: Field, value: Any, place: _Place) -> dict[str, Any]:
        """The placeholders the catalogue message of this code needs."""
        code = tag.code
        units = {"unit_vi": f.unit, "unit_en": f.unit_en}
        if code == "RULE_RANGE":
            return {"min": show_bound(f.min, f), "max": show_bound(f.max, f), **units}
        if code == "RULE_PLAUSIBLE":
            low = f.warn_min if f.warn_min is not None else f.min
            high = f.warn_max if f.warn_max is not None else f.max
            return {"min": show_bound(low, f), "max": show_bound(high, f), **units}
        if code in ("RULE_MONEY_DONG", "RULE_MONEY_UNIT"):
            return {"max": show_bound(f.max, f), **units}
        if code == "RULE_REQUIRED":
            return required_advice(f)
        if code == "RULE_TEXT_SHORT":
            return {"length": len(str(value)), "min": f.min_length}
        if code == "VALUE_NOT_CHOICE":
            return {"choices": ", ".join(c.code for c in self.spec.choices.get(f.choices or "", ()))}
        if code == "RULE_PATTERN":
            if tag.variant == "type":
                return localised(code, what=TYPE_FORMATS[f.value_type])
            return localised(code, what=(f.pattern_vi or str(f.pattern), f.pattern_en or str(f.pattern)))
        if code == "RULE_EXPECTED":
            return localised(code, what=(f.expect_vi or str(f.expect), f.expect_en or str(f.expect)))
        if code == "RULE_DUPLICATE_ROW":
            row = self.first_row(place)
            return {"other_row": None if row is None else str(row)}  # a row number, never "1.234"
        return {}

    def first_row(self, place: _Place) -> int | None:
        if self.table is None or not self.table.key:
            return None
        if self._first_rows is None:  # computed once, only when there are duplicates
            self._first_rows = first_rows(self.frame, self.table.key)
        return int(self._first_rows.at[place.index])

    def render(self, template: str, values: dict[str, Any], lang: str) -> str:
        """A rule's message with {field_id} replaced by the values, written for people."""
        def show(match: re.Match[str]) -> str:
            name = match.group(1)
            return show_value(values.get(name), self.fields.get(name), self.spec, lang)
        return _PLACEHOLDER.sub(show, template)


# --- showing values -----------------------------------------------------------------------------------


def show_bound(value: Any, f: Field | None = None) -> Any:
    """A range bound for a message: "…" when there is none, else as `shown`."""
    if value is None:
        return _NO_BOUND
    return shown(value, f)


def shown(value: Any, f: Field | None) -> Any:
    """A value for an Issue: numbers stay numbers, so that each language's message writes them its own way
    (1.388,8 / 1,388.8); a year is an identifier, written as it is ("2008", never "2.008"); dates as
    dd/mm/yyyy; text as found."""
    if f is not None and f.value_type == "year" and is_number(value) and float(value).is_integer():
        return str(int(value))
    return value if is_number(value) else display_value(value)


def _is_blank(value: Any) -> bool:
    return (value is None or (isinstance(value, float) and math.isnan(value))
            or (isinstance(value, str) and not value.strip()))


def show_value(value: Any, f: Field | None, spec: FormSpec, lang: str) -> str:
    """One value in a rule message: blank, yes/no, choice label, dd/mm/yyyy, a number in the language's
    convention, or a year as it is."""
    if _is_blank(value):
        return _BLANK[lang]
    value_type = f.value_type if f is not None else ""
    if isinstance(value, bool) or value_type == "bool":
        yes, no = _YES_NO[lang]
        return yes if value else no
    if value_type == "choice" and f is not None and f.choices:
        return spec.choice_label(f.choices, str(value), lang)
    return str(display_value(shown(value, f), lang))


def required_advice(f: Field) -> dict[str, str]:
    """How to fill a required cell left empty, by what the field asks for: only a number may be "0" and only
    a yes/no field "Không" (a narrative is written, a date or a year given, a choice picked)."""
    kind = ANSWER_KINDS.get(f.value_type, "text")
    advice_vi, advice_en = REQUIRED_ADVICE[kind]
    return {"advice_vi": advice_vi, "advice_en": advice_en}


ANSWER_KINDS = {**dict.fromkeys(NUMERIC_TYPES - {"year"}, "number"), "bool": "bool", "choice": "choice",
                "date": "date", "year": "year"}  # any other type (text, str, phone, e-mail, a new one) is written


def _escape(text: str) -> str:
    """Issue.message formats msg_vi/msg_en once more: braces in values must come out literally."""
    return text.replace("{", "{{").replace("}", "}}")


def localised(code: str, **per_language: tuple[str, str]) -> dict[str, Any]:
    """Context for a catalogue message whose placeholder differs by language ({what}): the catalogue's own
    templates with that placeholder filled, as msg_vi/msg_en, so both languages render from one Issue."""
    detail = CATALOGUE[code]
    msg_vi, msg_en = detail.vi, detail.en
    context: dict[str, Any] = {}
    for name, (text_vi, text_en) in per_language.items():
        msg_vi = msg_vi.replace("{" + name + "}", _escape(text_vi))
        msg_en = msg_en.replace("{" + name + "}", _escape(text_en))
        context[f"{name}_vi"], context[f"{name}_en"] = text_vi, text_en
    return {**context, "msg_vi": msg_vi, "msg_en": msg_en}
