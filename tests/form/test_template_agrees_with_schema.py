"""The template's own data validation and the schema agree: whatever Excel lets an agency type passes the
schema's type and range checks; and every deliberate mistake the sample generator injects, in every
agency's file, is found at its cell with its code while clean returns have no error."""

from __future__ import annotations

import datetime as dt
import io
import random

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.form.layout import layout_for
from pipeline.form.sample import make_sample
from pipeline.form.template import build_workbook
from pipeline.intake.read import read
from pipeline.intake.submission import Submission
from pipeline.validation.validate import validate_batch

FIELD_LEVEL = {"RULE_REQUIRED", "RULE_RANGE", "RULE_MONEY_DONG", "RULE_MONEY_UNIT", "VALUE_NOT_CHOICE",
               "RULE_PATTERN", "RULE_TEXT_SHORT"}
EXCEL_EPOCH = dt.date(1899, 12, 30)


def _template_rules(spec) -> dict[str, tuple[str, str | None, str | None]]:
    """field id → (validation type, formula1, formula2) as written into the blank template."""
    book = openpyxl.load_workbook(io.BytesIO(build_workbook(spec)))
    cells = layout_for(spec).cells
    by_place = {(ref.sheet, ref.a1): field_id for field_id, ref in cells.items()}
    rules = {}
    for sheet in book.worksheets:
        for dv in sheet.data_validations.dataValidation:
            if dv.type is None:  # an input prompt only (text fields): it constrains nothing
                continue
            for cell_range in dv.sqref.ranges:
                field_id = by_place.get((sheet.title, cell_range.coord.split(":")[0]))
                if field_id:
                    rules[field_id] = (dv.type, dv.formula1, dv.formula2)
    return rules


def _list_values(spec, formula: str) -> list[str]:
    """The labels a dropdown offers: DS_<list> names a column of the hidden _lists sheet."""
    if formula == "DS_co_khong":
        return ["Có", "Không"]
    name = formula.removeprefix("DS_")
    return [c.vi for c in spec.choices[name]]


def _strategy(spec, kind: str, low: str | None, high: str | None) -> st.SearchStrategy:
    if kind == "whole":
        return st.integers(int(float(low)), int(float(high)))
    if kind == "decimal":
        return st.decimals(float(low), float(high), places=1, allow_nan=False).map(float)
    if kind == "date":
        first, last = (EXCEL_EPOCH + dt.timedelta(days=int(float(v))) for v in (low, high))
        return st.dates(first, last)
    return st.sampled_from(_list_values(spec, low))


@pytest.fixture(scope="module")
def template_rules(spec):
    rules = _template_rules(spec)
    assert len(rules) > 60, "the template should validate every typed input"
    return rules


def test_every_typed_input_has_a_template_validation(spec, template_rules):
    typed = {f.id for f in spec.fields.values()
             if f.is_input and f.type in {"int", "dec", "money", "pct", "year", "date", "bool", "choice"}}
    assert typed <= set(template_rules), sorted(typed - set(template_rules))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_whatever_excel_accepts_passes_the_schema_field_checks(spec, registry, template_rules, data):
    agency = registry.get("STC")
    base = make_sample(spec, agency, random.Random(1))
    values = dict(base.values)
    cell_text = {}
    for field_id, (kind, low, high) in template_rules.items():
        drawn = data.draw(_strategy(spec, kind, low, high), label=field_id)
        if kind == "list":
            cell_text[field_id] = drawn  # the dropdown label, exactly as Excel stores the choice
            values.pop(field_id, None)
        else:
            values[field_id] = drawn
    workbook = build_workbook(spec, agency=agency, values=values, projects=base.projects, cell_text=cell_text,
                              tables=base.tables)
    submission = read(workbook, name="STC.xlsx", spec=spec, registry=registry)
    verdict = validate_batch([submission], spec)[0]
    # Plausibility warnings may fire (a legal 10,001 triệu đồng is unusual); type and range errors may not.
    field_level = [i for i in verdict.issues if i.severity == "error"
                   and (i.code in FIELD_LEVEL or i.code.startswith("VALUE_NOT"))]
    assert field_level == [], [i.message("en") for i in field_level]


def test_each_injected_mistake_is_found_at_its_cell_in_every_agency(spec, registry):
    submissions: list[Submission] = []
    expected = []
    for index, agency in enumerate(registry.of_round(spec).agencies):
        for mistakes in (0, 1 + index % 2):
            sample = make_sample(spec, agency, random.Random(f"{index}/{mistakes}"), mistakes=mistakes)
            data = build_workbook(spec, agency=agency, values=sample.values, projects=sample.projects,
                                  cell_text=sample.cell_text, tables=sample.tables)
            submissions.append(read(data, name=f"{agency.code}-{mistakes}.xlsx", spec=spec, registry=registry))
            expected.append(sample.mistakes)
    for verdict, mistakes in zip(validate_batch(submissions, spec), expected, strict=True):
        found = {(i.code, i.cell) for i in verdict.issues}
        assert {(m.code, m.cell) for m in mistakes} <= found, verdict.submission.file
        if not mistakes:
            assert not [i for i in verdict.issues if i.severity == "error"], verdict.submission.file
        if any(m.severity == "error" for m in mistakes):
            assert verdict.status == "rejected"
