"""Pandera schemas and the stacked frames they validate, both derived from the form spec.

Nothing here is written per field: every check comes from a Field's type, required flag, bounds, choices,
pattern/expect and min_length, and every cross-field check from a spec Rule. Editing the YAML changes
validation.

Frames (one pandera call per batch: its cost is per call and per column, not per row; see the design
notes, performance-notes.md §4):
- ``return_frame``: one row per readable submission, indexed by its position in the list given; one column
  per return-level field. dtypes: float64 for numbers and bools (True → 1.0), datetime64[s] for dates,
  object for text and choice codes. Blank is NaN / NaT / None.
- ``project_frame``: one row per project row of every readable submission, with ``_sub`` (position in the
  list) and ``_row`` (Excel row), then one column per table column, same dtype rules.

Check encoding: every check carries ``error=str(Tag)``, which pandera copies into
``failure_cases["check"]``. A Tag is ``CODE|severity|target|variant``:
- CODE is the code of the Issue the failure becomes: a code of ``issues.CATALOGUE`` (RULE_RANGE …), or for
  a spec rule its own id (R01a …), whose messages the Issue carries in its context;
- severity is the Issue's severity (RULE_MONEY_UNIT is an error above ``max`` and a warning above
  ``warn_max``, so the code alone does not fix it; a rule's comes from the spec);
- target is the field or table-column id the check is attached to, the rule id for a rule, or the table
  key column for RULE_DUPLICATE_ROW;
- variant is ``rule`` for a spec rule, and otherwise tells apart checks that share a code on one field
  (RULE_PATTERN: ``type`` for the phone/e-mail/URL format, ``spec`` for the field's own pattern).
``Tag.parse`` turns the string back; ``validate.failures_to_issues`` is the only reader of it.

Range-type checks on one field are built as disjoint bands (money: đồng > unit error > unit warning; below:
range > plausible), so a value fails at most one of them: the most specific. Text checks are layered the
same way (type format, then the spec pattern, then the expected form).

Spec rules (scope "return" → the return frame, scope = table id → the project frame) and the table-key
duplicate check are DataFrame-level checks. They report one failure case per failing row, on the column
of the rule's ``at`` field, instead of pandera's one case per column of the row (``_table_check``). A rule
applies to a row when `when` holds and none of the operands of check and when is blank (``rule_outcome``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrorReason

from pipeline.form.spec import NUMERIC_TYPES, TEXT_TYPES, Field, FormSpec, Rule, Table
from pipeline.intake.submission import Submission, TableRows
from pipeline.issues import Severity

# A money figure (triệu đồng) above this is almost surely typed in đồng (domain rule 22).
MONEY_DONG_LIMIT = 1e6
SUB, ROW = "_sub", "_row"  # project-frame columns: submission position, Excel row
RULE = "rule"  # the Tag variant of a spec rule's check

FLOAT, DATE, OBJECT = "float64", "datetime64[s]", "object"  # dates to the second: years 1–9999, any cell

# What a phone, e-mail or URL must look like: part of the type, not of any one field, so it lives here
# (the spec can add a stricter `pattern` per field). Texts fill RULE_PATTERN's {what}.
TYPE_FORMATS: dict[str, tuple[str, str]] = {
    "phone": ("số điện thoại (8–11 chữ số, gồm mã vùng, ví dụ 039.855123)",
              "phone number (8–11 digits with the area code, e.g. 039.855123)"),
    "email": ("địa chỉ thư điện tử (ví dụ cntt@hatinh.gov.vn)", "e-mail address (e.g. cntt@hatinh.gov.vn)"),
    "url": ("địa chỉ trang web (ví dụ www.hatinh.gov.vn)", "web address (e.g. www.hatinh.gov.vn)"),
}
_PHONE_NOISE = r"[\s.\-()]"
_PHONE_DIGITS = r"^\d{8,11}$"
_EMAIL = r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$"
_URL = r"(?i)^(?:https?://)?(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,}(?::\d+)?(?:[/?#]\S*)?$"


# --- check tags ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tag:
    """What a failed check means: travels through pandera as the check's ``error`` string."""

    code: str
    severity: Severity
    target: str
    variant: str = ""

    def __str__(self) -> str:
        parts = (self.code, self.severity.value, self.target, self.variant)
        return "|".join(p.replace("%", "%25").replace("|", "%7C") for p in parts)  # a rule id may hold '|'

    @classmethod
    def parse(cls, text: Any) -> Tag | None:
        """The Tag a check string encodes, or None for pandera's own checks (dtype, column presence …)."""
        parts = [p.replace("%7C", "|").replace("%25", "%") for p in str(text).split("|")]
        if len(parts) != 4:
            return None
        code, severity, target, variant = parts
        try:
            return cls(code, Severity(severity), target, variant)
        except ValueError:
            return None


E, W = Severity.ERROR, Severity.WARNING


@dataclass
class Crash:
    """A check that raised during one validate call (recorded while CHECK_CRASHES holds a list)."""

    tag: Tag
    error: BaseException
    rows: dict[Any, BaseException]  # frame index → what that row alone raised; empty: not one row's fault


# The crashes of the current validate call. pandera (lazy) would turn an exception in a check into one
# CHECK_ERROR failure case for the whole frame, losing every return's findings for that check and the
# exception itself; the validator sets a list here and isolates the returns that make a check raise.
CHECK_CRASHES: ContextVar[list[Crash] | None] = ContextVar("CHECK_CRASHES", default=None)


def _robust(holds: Callable[[Any], pd.Series], obj: Any, tag: Tag) -> pd.Series:
    """``holds(obj)``; if it raises while the validator listens, evaluate row by row, record the rows that
    raise and let them pass here, so one bad return costs one return (and a rule that raises on every row
    costs n cheap evaluations, not n pandera calls). Re-raise when no single row is to blame."""
    try:
        return holds(obj)
    except Exception as error:
        crashes = CHECK_CRASHES.get()
        if crashes is None:
            raise
        ok = np.ones(len(obj), dtype=bool)
        rows: dict[Any, BaseException] = {}
        for i in range(len(obj)):
            try:
                ok[i] = bool(np.asarray(holds(obj.iloc[i:i + 1]))[0])
            except Exception as row_error:
                rows[obj.index[i]] = row_error
        crashes.append(Crash(tag, error, rows))
        if not rows:
            raise
        return pd.Series(ok, index=obj.index)


def _check(holds: Callable[[pd.Series], pd.Series], tag: Tag, *, ignore_na: bool = True) -> pa.Check:
    """A column check: ``holds`` maps the column to True where the value passes."""
    return pa.Check(lambda s: _robust(holds, s, tag), error=str(tag), name=str(tag), ignore_na=ignore_na)


def _table_check(holds: Callable[[pd.DataFrame], pd.Series], tag: Tag, at: str) -> pa.Check:
    """A DataFrame-level check reporting one failure case per failing row, on column ``at``.

    Left to itself, pandera reports a failing row of a DataFrame-level check once per column (about 170
    cases per row of the return frame) and then formats every one into its message: with one warning on
    each of 1,000 returns that alone costs ~0.3 s. A custom check may instead raise SchemaError with its own
    failure cases, which pandera's container backend collects as this check's failure (lazy or not).
    """
    def run(frame: pd.DataFrame) -> bool:
        ok = _robust(holds, frame, tag).to_numpy()
        if ok.all():
            return True
        failing = frame.index[~ok]
        cases = pd.DataFrame({"index": failing, "failure_case": frame[at].to_numpy()[~ok], "column": at})
        raise SchemaError(None, frame, f"{tag}: {len(failing)} rows", failure_cases=cases,
                          reason_code=SchemaErrorReason.DATAFRAME_CHECK)

    return pa.Check(run, error=str(tag), name=str(tag), ignore_na=False)


# --- frames -------------------------------------------------------------------------------------------


def dtype_of(f: Field) -> str:
    value_type = f.value_type
    if value_type in NUMERIC_TYPES or value_type == "bool":
        return FLOAT
    if value_type == "date":
        return DATE
    return OBJECT


def _to_float(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan  # not the reader's contract; such a value is treated as blank


def _column(values: list[Any], dtype: str) -> np.ndarray | pd.Series:
    """One frame column of the given dtype from typed values (positional: no index)."""
    if dtype == FLOAT:
        try:
            return np.array(values, dtype=float)  # None → NaN, True → 1.0
        except (TypeError, ValueError):
            return np.array([_to_float(v) for v in values], dtype=float)
    if dtype == DATE:
        dates = pd.to_datetime(pd.Series(values, dtype=object), errors="coerce")
        return dates.astype(DATE).dt.normalize().to_numpy()  # a stray time of day must not cross a bound
    # a Series, not an ndarray: DataFrame() would infer pandas 3's "str" dtype from an object array
    return pd.Series(values, dtype=object)


def return_frame(submissions: list[Submission], spec: FormSpec) -> pd.DataFrame:
    """One row per readable submission (index = its position in ``submissions``), one column per field."""
    positions = [i for i, s in enumerate(submissions) if s.readable]
    values = [submissions[i].values for i in positions]
    data = {fid: _column([v.get(fid) for v in values], dtype_of(f)) for fid, f in spec.fields.items()}
    frame = pd.DataFrame(data, columns=list(spec.fields))  # columns share a RangeIndex: set ours after
    frame.index = pd.Index(positions, dtype="int64")
    return frame


def project_frame(submissions: list[Submission], spec: FormSpec, table_id: str | None = None) -> pd.DataFrame:
    """One row per row of a table (default: the project table) of every readable submission: ``_sub``,
    ``_row``, then the table columns."""
    table = _table(spec, table_id)
    columns = table.columns if table else ()
    projects = table is spec.table
    rows = [(i, p) for i, s in enumerate(submissions) if s.readable
            for p in (s.projects if projects else s.tables.get(table.id, _NO_ROWS).rows)]
    data: dict[str, Any] = {
        SUB: np.array([i for i, _ in rows], dtype="int64"),
        ROW: np.array([p.row for _, p in rows], dtype="int64"),
    }
    for c in columns:
        data[c.id] = _column([p.values.get(c.id) for _, p in rows], dtype_of(c))
    return pd.DataFrame(data, index=pd.RangeIndex(len(rows)), columns=[SUB, ROW, *(c.id for c in columns)])


# --- schemas ------------------------------------------------------------------------------------------


@cache
def return_schema(spec: FormSpec) -> pa.DataFrameSchema:
    """Field checks for every return-level input, and one DataFrame-level check per 'return' rule."""
    columns = {fid: _column_schema(f, spec) for fid, f in spec.fields.items()}
    checks = [_rule_check(rule) for rule in spec.rules_for("return")]
    return pa.DataFrameSchema(columns, checks=checks, name="return", coerce=False)


def _table(spec: FormSpec, table_id: str | None) -> Table | None:
    return spec.table if table_id is None else spec.table_named(table_id)


_NO_ROWS = TableRows()


@cache
def project_schema(spec: FormSpec, table_id: str | None = None) -> pa.DataFrameSchema:
    """Column checks for a table (default: the project table), its rules, and the duplicate-name check on
    the table key."""
    columns: dict[str, pa.Column] = {SUB: pa.Column("int64"), ROW: pa.Column("int64")}
    checks: list[pa.Check] = []
    table = _table(spec, table_id)
    if table is not None:
        columns |= {c.id: _column_schema(c, spec) for c in table.columns}
        checks = [_rule_check(rule) for rule in spec.rules_for(table.id)]
        if table.key:
            checks.append(_duplicate_check(table))
    return pa.DataFrameSchema(columns, checks=checks, name=table.id if table else "table", coerce=False)


def _column_schema(f: Field, spec: FormSpec) -> pa.Column:
    # nullable: blanks are reported by the explicit 'filled' check, with their row, on one mapping path.
    return pa.Column(dtype_of(f), nullable=True, required=True, checks=field_checks(f, spec))


def field_checks(f: Field, spec: FormSpec) -> list[pa.Check]:
    """All checks of one field or table column, from its spec entry. Computed fields get none: their
    inputs are checked, and reporting the derived value again would double-report."""
    if not f.is_input:
        return []
    checks = []
    if f.required:
        checks.append(_check(Fails(_blank_values).passes, Tag("RULE_REQUIRED", E, f.id), ignore_na=False))
    value_type = f.value_type
    if value_type in NUMERIC_TYPES or value_type == "date":
        checks += [_check(fails.passes, tag) for tag, fails in range_bands(f)]
    if value_type == "choice" and f.choices:
        codes = [c.code for c in spec.choices[f.choices]]
        checks.append(_check(lambda s: s.isin(codes), Tag("VALUE_NOT_CHOICE", E, f.id)))
    if value_type in TEXT_TYPES:
        checks += [_check(fails.passes, tag) for tag, fails in text_bands(f)]
    return checks


Values = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Fails:
    """A failure predicate of a field's checks, on a column's values: computed with numpy on the values and
    made a Series once, since on the few rows of one return each pandas operation costs more than its
    arithmetic (a money field's bands take some ten of them). Called on a Series, a Series."""

    on: Values

    def __call__(self, s: pd.Series) -> pd.Series:
        return pd.Series(self.on(s.to_numpy()), index=s.index, dtype=bool)

    def passes(self, s: pd.Series) -> pd.Series:
        return pd.Series(~self.on(s.to_numpy()), index=s.index, dtype=bool)


def _below(v: np.ndarray, bound: Any) -> np.ndarray:
    return v < bound if bound is not None else np.zeros(len(v), dtype=bool)  # NaN, NaT: never below


def _above(v: np.ndarray, bound: Any) -> np.ndarray:
    return v > bound if bound is not None else np.zeros(len(v), dtype=bool)


def _bound(value: Any) -> Any:
    """Spec bounds as comparable to the frame: dates → Timestamp, numbers → float."""
    if value is None:
        return None
    if isinstance(value, dt.date):
        return pd.Timestamp(value)
    return float(value)


def range_bands(f: Field) -> list[tuple[Tag, Fails]]:
    """Disjoint failure bands of a number or date: each value falls in at most one (the most specific)."""
    low, high = _bound(f.min), _bound(f.max)
    warn_low, warn_high = _bound(f.warn_min), _bound(f.warn_max)
    bands: list[tuple[Tag, Fails]] = []
    if f.value_type == "money":
        def dong(v: np.ndarray) -> np.ndarray:
            return v > MONEY_DONG_LIMIT

        def over(v: np.ndarray) -> np.ndarray:
            return _above(v, high) & ~dong(v)

        bands.append((Tag("RULE_MONEY_DONG", E, f.id), Fails(dong)))
        if low is not None:
            bands.append((Tag("RULE_RANGE", E, f.id), Fails(lambda v: _below(v, low))))
        if high is not None:
            bands.append((Tag("RULE_MONEY_UNIT", E, f.id), Fails(over)))
        if warn_high is not None:
            bands.append((Tag("RULE_MONEY_UNIT", W, f.id),
                          Fails(lambda v: _above(v, warn_high) & ~over(v) & ~dong(v))))
        if warn_low is not None:
            bands.append((Tag("RULE_PLAUSIBLE", W, f.id),
                          Fails(lambda v: _below(v, warn_low) & ~_below(v, low))))
        return bands

    def outside(v: np.ndarray) -> np.ndarray:
        return _below(v, low) | _above(v, high)

    if low is not None or high is not None:
        bands.append((Tag("RULE_RANGE", E, f.id), Fails(outside)))
    if warn_low is not None or warn_high is not None:
        bands.append((Tag("RULE_PLAUSIBLE", W, f.id),
                      Fails(lambda v: ~outside(v) & (_below(v, warn_low) | _above(v, warn_high)))))
    return bands


def _each(test: Callable[[str], bool]) -> Values:
    """A test of one value's text (str(value), as Series.astype(str) writes it), over the values."""
    return lambda v: np.fromiter((test(str(x)) for x in v), dtype=bool, count=len(v))


def _no_match(pattern: str) -> Values:
    # re.search per value rather than str.contains, which warns about the spec's capturing groups
    search = re.compile(pattern).search
    return _each(lambda text: search(text) is None)


_NOISE, _COUNTRY, _DIGITS = re.compile(_PHONE_NOISE), re.compile(r"^\+84"), re.compile(_PHONE_DIGITS)


def _not_a_phone(text: str) -> bool:
    return _DIGITS.search(_COUNTRY.sub("", _NOISE.sub("", text))) is None


def type_format_fails(value_type: str) -> Fails | None:
    """The phone / e-mail / URL format check of a type, as a failure predicate (None: no format)."""
    if value_type == "phone":
        return Fails(_each(_not_a_phone))
    if value_type == "email":
        return Fails(_no_match(_EMAIL))
    if value_type == "url":
        return Fails(_no_match(_URL))
    return None


def text_bands(f: Field) -> list[tuple[Tag, Fails]]:
    """Text checks, layered so one value gets one format issue: type format, then pattern, then expect."""
    bands: list[tuple[Tag, Fails]] = []
    if f.min_length:
        length = f.min_length
        bands.append((Tag("RULE_TEXT_SHORT", E, f.id), Fails(_each(lambda text: len(text) < length))))
    earlier: list[Values] = []

    def layered(fails: Values, before: tuple[Values, ...]) -> Fails:
        def run(v: np.ndarray) -> np.ndarray:
            result = fails(v)
            for other in before:
                result &= ~other(v)
            return result
        return Fails(run)

    type_fails = type_format_fails(f.value_type)
    if type_fails is not None:
        bands.append((Tag("RULE_PATTERN", E, f.id, "type"), type_fails))
        earlier.append(type_fails.on)
    if f.pattern:
        spec_fails = _no_match(f.pattern)
        bands.append((Tag("RULE_PATTERN", E, f.id, "spec"), layered(spec_fails, tuple(earlier))))
        earlier.append(spec_fails)
    if f.expect:
        bands.append((Tag("RULE_EXPECTED", W, f.id), layered(_no_match(f.expect), tuple(earlier))))
    return bands


# --- rules --------------------------------------------------------------------------------------------


def blank(s: pd.Series) -> pd.Series:
    """Blank cells: NaN/NaT/None, or (text columns) only spaces."""
    return pd.Series(_blank_values(s.to_numpy()), index=s.index, dtype=bool)


def _blank_values(v: np.ndarray) -> np.ndarray:
    if v.dtype != object:
        return pd.isna(v)
    # one pass in Python beats isna + astype(str) + str.strip on short object columns
    return np.fromiter((x is None or x != x or (isinstance(x, str) and not x.strip()) for x in v), dtype=bool,
                       count=len(v))


def _truth(result: Any, index: pd.Index) -> np.ndarray:
    """An expression's result as booleans (blank → False)."""
    if isinstance(result, pd.Series):
        if result.dtype == bool:
            return result.to_numpy()
        return result.where(result.notna(), 0).astype(bool).to_numpy()
    return np.full(len(index), bool(result) and not (isinstance(result, float) and math.isnan(result)))


def _view(columns: Mapping[str, pd.Series], names: Iterable[str], mask: np.ndarray) -> Mapping[str, pd.Series]:
    if mask.all():  # every row in scope (one return's, as a rule): the columns as they are
        return {name: columns[name] for name in names}
    return {name: columns[name][mask] for name in names}


def rule_outcome(rule: Rule, frame: pd.DataFrame) -> pd.Series:
    """True where the rule holds or does not apply, False where it is broken.

    A row is in scope when none of the operands (names used outside blank-tolerant functions) of the check
    and of `when` is blank, and `when` holds; blanks are the 'required' check's business. The expressions
    are evaluated only on rows in scope, so comparisons never meet a blank or NaT.
    """
    operands = rule.check.operands | (rule.when.operands if rule.when else frozenset())
    columns = {name: frame[name] for name in rule.names}  # each taken once: a column of a wide frame costs
    mask = np.ones(len(frame), dtype=bool)
    for name in operands:
        mask &= ~_blank_values(columns[name].to_numpy())
    if rule.when is not None and mask.any():
        mask[mask] = _truth(rule.when.evaluate(_view(columns, rule.when.names, mask)), frame.index[mask])
    holds = np.ones(len(frame), dtype=bool)
    if mask.any():
        holds[mask] = _truth(rule.check.evaluate(_view(columns, rule.check.names, mask)), frame.index[mask])
    return pd.Series(holds, index=frame.index)


def _rule_check(rule: Rule) -> pa.Check:
    tag = Tag(rule.id, Severity(rule.severity), rule.id, RULE)
    # rule_outcome is looked up at call time, so a cached schema follows a patched evaluator (fault tests).
    return _table_check(lambda frame: rule_outcome(rule, frame), tag, rule.at)


# --- duplicate project names --------------------------------------------------------------------------


def normalise_key(s: pd.Series) -> pd.Series:
    """Key text compared for duplicates: NFC, casefold, whitespace collapsed; blank → None."""
    text = s.astype(object).where(~blank(s.astype(object)), None)
    norm = text.str.normalize("NFC").str.casefold().str.split().str.join(" ")
    return norm.where(norm.notna() & (norm != ""), None)


def first_rows(frame: pd.DataFrame, key: str) -> pd.Series:
    """For every project row, the Excel row of the first row with the same key in the same submission."""
    keyed = pd.DataFrame({SUB: frame[SUB], ROW: frame[ROW], "key": normalise_key(frame[key])}, index=frame.index)
    ordered = keyed.sort_values([SUB, ROW], kind="stable")
    return ordered.groupby([SUB, "key"], sort=False, dropna=False)[ROW].transform("first").reindex(frame.index)


def duplicate_rows(frame: pd.DataFrame, key: str) -> pd.Series:
    """True for a row whose key repeats an earlier row's key within the same submission."""
    if not _keys_may_repeat(frame, key):
        return pd.Series(False, index=frame.index, dtype=bool)
    keyed = pd.DataFrame({SUB: frame[SUB], ROW: frame[ROW], "key": normalise_key(frame[key])}, index=frame.index)
    ordered = keyed.sort_values([SUB, ROW], kind="stable")
    dup = ordered.duplicated([SUB, "key"], keep="first") & ordered["key"].notna()
    return dup.reindex(frame.index)


def _keys_may_repeat(frame: pd.DataFrame, key: str) -> bool:
    """False when no two rows of one submission share a key as normalise_key writes it: one pass in Python
    over a table's few rows, instead of normalising, sorting and grouping with pandas. A key that is not
    text leaves the answer to pandas (True)."""
    seen: set[tuple[Any, str]] = set()
    for sub, value in zip(frame[SUB].to_numpy().tolist(), frame[key].to_numpy().tolist(), strict=True):
        if value is None or value != value or (isinstance(value, str) and not value.strip()):
            continue  # blank: no key
        if not isinstance(value, str):
            return True
        norm = " ".join(unicodedata.normalize("NFC", value).casefold().split())
        if (sub, norm) in seen:
            return True
        seen.add((sub, norm))
    return False


def _duplicate_check(table: Table) -> pa.Check:
    key = table.key
    assert key is not None
    return _table_check(lambda frame: ~duplicate_rows(frame, key), Tag("RULE_DUPLICATE_ROW", W, key), key)
