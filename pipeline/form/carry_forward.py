"""Carry-forward templates (issue 19): each agency's copy of a report form pre-filled from its last accepted
return of the round the form reports on, where the new form asks the same thing, and marked as pre-filled
(`template.Carried`: a fill colour and a note), so the agency checks rather than retypes.

What is carried (`form.carry_forward` of the new spec): every input field of the same id in both forms,
except narratives (a text field: last year's words are not this year's) and dates; and for each table named
there, every row of its `from` table (those whose `when` column is not 0), with the columns of the same id
(but remarks) and the columns mapped (`columns: {new column: plan column}`). The ledger is read by the
caller (a later stage): here, plain values in, workbooks out.

Copies are made for the agencies the new round expects (Registry.of_round). One founded since the plan round
that took over a single agency of it (Sở Thông tin và Truyền thông after Sở Bưu chính, Viễn thông) is
pre-filled from that agency's return, and the note says whose; one formed from several (Sở Công Thương) is not
pre-filled: no one return holds its figures. An agency that absorbed another (Sở Nông nghiệp và PTNT, Sở Thủy
sản) is pre-filled from its own return only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.atomic import write_atomic
from pipeline.form.registry import Registry, round_day
from pipeline.form.spec import FormSpec, SpecError
from pipeline.form.template import Carried, build_workbook, template_file_name

NOT_CARRIED_TYPES = {"text", "date"}


@dataclass(frozen=True)
class Previous:
    """An agency's accepted return of the plan round, as the ledger holds it."""

    values: Mapping[str, Any]
    tables: Mapping[str, Sequence[Mapping[str, Any]]]  # table id → rows (the project table's among them)
    file: str
    received_at: str
    agency: str = ""  # the agency whose return it is (its name, for the note), when not the copy's own


def carried_fields(spec: FormSpec, plan: FormSpec) -> list[str]:
    """The new form's inputs asked as in the plan's form (same id), narratives and dates left out."""
    return [f.id for f in spec.fields.values() if f.is_input and not f.prefilled and f.kind == "field"
            and f.type not in NOT_CARRIED_TYPES and f.id in plan.fields and plan.fields[f.id].is_input]


def table_rules(spec: FormSpec, plan: FormSpec) -> dict[str, tuple[str, str | None, dict[str, str]]]:
    """New table id → (plan table id, its `when` column, new column → plan column), checked against both."""
    config = spec.form.get("carry_forward") or {}
    out: dict[str, tuple[str, str | None, dict[str, str]]] = {}
    for table_id, rule in (config.get("tables") or {}).items():
        where = f"form.carry_forward.tables.{table_id}"
        if table_id not in {t.id for t in spec.tables} or not isinstance(rule, dict):
            raise SpecError(where, "not a table of this form")
        source = str(rule.get("from", ""))
        if source not in {t.id for t in plan.tables}:
            raise SpecError(where, f"from: {source!r} is not a table of {plan.form_id}")
        ours, theirs = spec.table_named(table_id), plan.table_named(source)
        mapping = {c.id: c.id for c in ours.columns if c.type not in NOT_CARRIED_TYPES
                   and c.id in {x.id for x in theirs.columns}}
        mapping.update({str(k): str(v) for k, v in (rule.get("columns") or {}).items()})
        for new, old in mapping.items():
            if new not in {c.id for c in ours.columns} or old not in {c.id for c in theirs.columns}:
                raise SpecError(where, f"column {new}: {old} is not a column of both tables")
        when = rule.get("when")
        if when is not None and str(when) not in {c.id for c in theirs.columns}:
            raise SpecError(where, f"when: {when!r} is not a column of {source}")
        out[table_id] = (source, None if when is None else str(when), mapping)
    return out


def note(plan: FormSpec, previous: Previous) -> str:
    day = previous.received_at[:10]
    try:
        shown = dt.date.fromisoformat(day).strftime("%d/%m/%Y")
    except ValueError:
        shown = day
    whose = f"{previous.agency} (đơn vị tiền thân)" if previous.agency else "đơn vị"
    return (f"Ghi sẵn từ báo cáo kỳ {plan.round} của {whose} (tệp {previous.file}, nhận ngày {shown}). "
            "Đề nghị đơn vị kiểm tra, sửa nếu số liệu đã thay đổi.")


def carry(spec: FormSpec, plan: FormSpec, previous: Previous) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]],
                                                                      Carried]:
    """The values and table rows a copy is pre-filled with, and which cells they are."""
    fields = [f for f in carried_fields(spec, plan) if previous.values.get(f) not in (None, "")]
    values = {f: previous.values[f] for f in fields}
    tables: dict[str, list[dict[str, Any]]] = {}
    marks: dict[str, dict[int, frozenset[str]]] = {}
    for table_id, (source, when, mapping) in table_rules(spec, plan).items():
        capacity = spec.table_named(table_id).rows
        rows = [r for r in previous.tables.get(source, ()) if when is None or (r.get(when) or 0)][:capacity]
        tables[table_id] = []
        for index, row in enumerate(rows):
            new = {col: row[old] for col, old in mapping.items() if row.get(old) not in (None, "")}
            if "stt" in {c.id for c in spec.table_named(table_id).columns}:
                new["stt"] = str(index + 1)
            tables[table_id].append(new)
            marks.setdefault(table_id, {})[index] = frozenset(new)
    return values, tables, Carried(frozenset(fields), marks, note(plan, previous))


def write_carried_templates(spec: FormSpec, plan: FormSpec, registry: Registry, out_dir: str | Path,
                            previous: Mapping[str, Previous]) -> tuple[list[Path], list[str]]:
    """The blank template and one copy per agency of the round, pre-filled from `previous` (plan-round agency
    code → its return) where the agency has one, or its one predecessor has; returns the paths and the codes of
    the agencies whose copy was pre-filled."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_atomic(out / template_file_name(spec, None), build_workbook(spec))]
    filled = []
    day, planned = round_day(spec), registry.of_round(plan)
    for agency in registry.of_round(spec).agencies:
        before = previous.get(agency.code)
        if before is None and day is not None and planned.get(agency.code) is None:  # new since the plan round
            taken = registry.predecessors(agency.code, day)
            if len(taken) == 1 and taken[0].code in previous:
                before = replace(previous[taken[0].code], agency=taken[0].name_vi)
        if before is None:
            data = build_workbook(spec, agency=agency)
        else:
            values, tables, marks = carry(spec, plan, before)
            project_rows = tables.pop(spec.table.id, []) if spec.table is not None else []
            data = build_workbook(spec, agency=agency, values=values, projects=project_rows, tables=tables,
                                  carried=marks)
            filled.append(agency.code)
        paths.append(write_atomic(out / template_file_name(spec, agency.code), data))
    return paths, filled
