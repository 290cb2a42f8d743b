"""The spec's expression language: one parse evaluated on scalars, on frames, and rendered to Excel."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pipeline.form import expr


def test_names_and_operands_separate_blank_tolerant_arguments():
    e = expr.parse("total(a, b) <= c and not filled(d)")
    assert e.names == {"a", "b", "c", "d"}
    assert e.operands == {"c"}


@pytest.mark.parametrize(("source", "values", "expected"), [
    ("a <= b", {"a": 1, "b": 2}, True),
    ("a <= b", {"a": 3, "b": 2}, False),
    ("a <= b <= c", {"a": 1, "b": 2, "c": 2}, True),
    ("a <= b <= c", {"a": 1, "b": 3, "c": 2}, False),
    ("total(a, b, c)", {"a": 1, "b": None, "c": 2.5}, 3.5),
    ("zero(a) == 0", {"a": None}, True),
    ("abs(a - b) <= 0.5", {"a": 10.2, "b": 10}, True),
    ("k in (\"A\", \"B\")", {"k": "B"}, True),
    ("k not in (\"A\", \"B\")", {"k": "B"}, False),
    ("not flag", {"flag": False}, True),
    ("blank(s)", {"s": ""}, True),
    ("filled(s)", {"s": "x"}, True),
    ("a / b", {"a": 1, "b": 4}, 0.25),
])
def test_scalar_evaluation(source, values, expected):
    assert expr.parse(source).evaluate(values) == expected


def test_division_by_zero_or_blank_is_blank():
    assert math.isnan(expr.parse("a / b").evaluate({"a": 1, "b": 0}))
    assert math.isnan(expr.parse("a / b").evaluate({"a": 1, "b": None}))


def test_vectorised_evaluation_matches_scalar():
    e = expr.parse("total(a, b) <= c and not d")
    frame = pd.DataFrame({"a": [1, None, 3], "b": [1, 2, None], "c": [2, 1, 2], "d": [0.0, 1.0, 0.0]})
    vector = e.evaluate(frame).tolist()
    scalar = [e.evaluate({k: (None if pd.isna(v) else v) for k, v in row.items()})
              for row in frame.to_dict("records")]
    assert vector == scalar == [True, False, False]


def test_excel_rendering_guards_divisors_and_sums_blanks():
    cell = {"x": "$D$7", "y": "$D$9"}.__getitem__
    assert expr.parse("x / y * 100").to_excel(cell) == '=IF(OR(N($D$9)=0),"",(($D$7/$D$9)*100))'
    assert expr.parse("total(x, y)").to_excel(cell) == "=SUM($D$7,$D$9)"


@pytest.mark.parametrize("source", [
    "__import__('os')", "a.b", "a[0]", "lambda: 1", "a ** 2", "f(a)", "a in b", "[a]", "a if b else c",
])
def test_disallowed_syntax_is_rejected(source):
    with pytest.raises(expr.ExprError):
        expr.parse(source)
