"""One return's frames validated without pandera's per-check machinery: the same checks, the same cases.

pandera's cost is per call, per column and per check (a dtype check, a result object, an error and its
formatted message for every one of some 500 checks), which a batch of returns shares but a single return
(the desk's self-check, `ictplan check FILE`) pays alone: about half of validating one return. For a
frame of one return, ``failure_cases`` runs the schema's own checks — the same ``pa.Check`` objects that
schemas.return_schema / project_schema build once per spec — as pandera's pandas backend applies them:

- a column check gets the column with its blanks dropped when the check ignores them (``ignore_na``), and
  fails on the rows where the boolean Series it returns is False; those rows are its failure cases, less
  blank ones when it ignores blanks;
- a DataFrame-level check gets the frame; it passes by returning True, and fails by raising SchemaError
  with its failure cases (schemas._table_check);
- the cases are listed in pandera's order (columns in schema order, then their checks, then the frame's
  checks), then sorted as pandera sorts them (by schema context), so that issues sharing a cell keep the
  order the batch gives them.

Whatever the batch path would treat differently it does not try to reproduce: a column missing or of a
dtype the schema does not accept, a blank in a column that allows none, a schema or check using a pandera
feature the spec's schemas do not (groups, element-wise checks, coercion …), a check that raises or
returns anything but a boolean Series over its input. Then it returns None and the caller validates
through pandera, so what is reported never depends on which path ran (tests/validation/test_direct.py
compares the two over sample returns with mistakes and the regression files).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.engines.pandas_engine import Engine
from pandera.errors import SchemaError

# pandera's schema_context of a failure case (the class of the schema that reported it)
COLUMN, FRAME = "Column", "DataFrameSchema"


class _GiveUp(Exception):
    """Something here would not be handled as pandera handles it: validate through pandera instead."""


def failure_cases(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The failure cases pandera's lazy validation would report (``check`` and ``index`` columns, in its
    order), or None when they must come from pandera itself. A check that raises on some rows only records
    them in schemas.CHECK_CRASHES as it does under pandera; the caller sets the list."""
    try:
        return _failure_cases(schema, frame)
    except _GiveUp:
        return None


def _failure_cases(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    _supported(schema)
    contexts: list[str] = []
    checks: list[Any] = []
    labels: list[Any] = []
    for name, column in schema.columns.items():
        if name not in frame.columns:
            raise _GiveUp
        series = frame[name]
        _accepts(column, series)
        for check in column.checks:
            _plain(check)
            subject = series.dropna() if check.ignore_na and series.hasnans else series
            failing = _column_failures(check, subject)
            contexts += [COLUMN] * len(failing)
            checks += [check.error] * len(failing)
            labels += failing
    for check in schema.checks:
        _plain(check)
        failing = _frame_failures(check, frame)
        contexts += [FRAME] * len(failing)
        checks += [check.error] * len(failing)
        labels += failing
    cases = pd.DataFrame({"schema_context": pd.Series(contexts, dtype=object),
                          "check": pd.Series(checks, dtype=object), "index": pd.Series(labels, dtype=object)})
    if cases.empty:
        return cases
    return cases.sort_values("schema_context", ascending=False)  # as pandera's consolidate_failure_cases


def _supported(schema: pa.DataFrameSchema) -> None:
    if (schema.strict or schema.ordered or schema.unique or schema.coerce or schema.dtype is not None
            or schema.index is not None or schema.parsers or schema.add_missing_columns):
        raise _GiveUp


def _accepts(column: pa.Column, series: pd.Series) -> None:
    """The checks pandera runs on a column before its own: name, nulls, uniqueness, dtype."""
    if (column.regex or column.unique or column.coerce or column.parsers or not column.required
            or (not column.nullable and series.hasnans)):
        raise _GiveUp
    try:
        accepted = column.dtype is None or _dtype_ok(column.dtype, series.dtype)
    except TypeError:  # a dtype that cannot be a cache key
        accepted = False
    if not accepted:
        raise _GiveUp


@cache
def _dtype_ok(expected: Any, found: Any) -> bool:
    """pandera's dtype check, once per (schema dtype, frame dtype): for the frames' dtypes (float64,
    datetime64[s], object, int64) it reads the dtype only, never the values."""
    return expected.check(Engine.dtype(found)) is True


def _plain(check: pa.Check) -> None:
    if (check.element_wise or check.groupby is not None or check.groups is not None or check.raise_warning
            or check.n_failure_cases is not None or check._check_kwargs or check.error is None):
        raise _GiveUp


def _column_failures(check: pa.Check, subject: pd.Series) -> list[Any]:
    try:
        passed = check._check_fn(subject)
    except Exception:
        raise _GiveUp from None
    if not isinstance(passed, pd.Series) or passed.dtype != bool or not passed.index.equals(subject.index):
        raise _GiveUp
    if passed.all():
        return []
    failing = subject[~passed]
    if check.ignore_na:
        failing = failing.dropna()  # pandera's reshape_failure_cases drops blank cases of such a check
    return failing.index.tolist()


def _frame_failures(check: pa.Check, frame: pd.DataFrame) -> list[Any]:
    try:
        passed = check._check_fn(frame)
    except SchemaError as error:  # a DataFrame-level check reporting its own cases (schemas._table_check)
        cases = error.failure_cases
        if not isinstance(cases, pd.DataFrame) or "index" not in cases:
            raise _GiveUp from None
        return cases["index"].tolist()
    except Exception:
        raise _GiveUp from None
    if passed is not True:
        raise _GiveUp
    return []
