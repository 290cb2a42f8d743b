"""Consolidation: every counted return of a round → one `Summary`, the data behind the leaders' workbook.

Pure: no file, clock or ledger access. The orchestrator reads the ledger and passes its rows in; the same
rows and the same ``generated_at`` always give the same Summary (every table is sorted by registry order,
spec order, Excel row or ledger id — never by dict or processing order), so the workbook is reproducible.

How the figures are made (also printed, in Vietnamese, on the workbook's lineage sheet):
- One return counts per agency: the ledger's ``counted`` row (the newest accepted one). Older accepted
  returns are history; the fields that changed are listed.
- Group and province totals are sums over the agencies whose counted return has the value, and every total
  carries its coverage n/m (n agencies reported it, m agencies are in the group).
- Ratios are recomputed from totals, never averaged: PCs per staff = Σ PCs / Σ staff over the agencies that
  reported both. A spec formula over summable fields is evaluated on the sums; a ratio or percentage an
  agency typed itself (and its ratio targets) is combined as a staff-weighted mean, and labelled as such.
- Yes/no fields total to the number of agencies answering "Có".
- Money is in triệu đồng, as on the form.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
import pandas as pd

from pipeline.form import expr
from pipeline.form.layout import layout_for
from pipeline.form.registry import Registry
from pipeline.form.spec import Field, FormSpec, Table
from pipeline.issues import Issue
from pipeline.record.ledger import ACCEPTED, decode_values
from pipeline.report.status import ReturnKey, current_ids

# --------------------------------------------------------------------------------------------------------
# Field ids the summary names. Everything else (labels, units, which fields are summed, which are text) is
# derived from the spec. These few are named because the summary computes figures from them; `check_spec`
# verifies each exists with a fitting type, so a renamed field makes build_summary fail loudly (tested)
# instead of leaving a silently blank column.
STAFF = "tong_so_cbccvc"  # weight of staff-weighted means; denominator of per-staff ratios
PCS = "tong_so_may_tinh"
PCS_LAN = "so_may_ket_noi_lan"
PCS_INTERNET = "so_may_ket_noi_internet"
STAFF_EMAIL = "so_cbcc_dung_thu_thuong_xuyen"
IT_STAFF = "so_cb_chuyen_trach"
WEBSITE = "co_website"
SERVICE_LEVELS = ("so_dvc_muc_1", "so_dvc_muc_2", "so_dvc_muc_3", "so_dvc_muc_4")
SPEND_2007 = "kp_cntt_2007"
PLAN_YEARS = {2008: "kh_kp_2008", 2009: "kh_kp_2009", 2010: "kh_kp_2010"}  # planned funding per year
PLAN_TOTAL = "kh_kp_tong"
PLAN_SOURCES = ("kh_kp_nstw", "kh_kp_tinh", "kh_kp_huyen", "kh_kp_oda", "kh_kp_khac")  # funding 2008–2010 by source
# Project-table columns.
PROJECT_NAME = "ten_du_an"
PROJECT_AREA = "nhom_noi_dung"  # content area: the rows of "funding by year × content area"
PROJECT_START = "nam_bat_dau"  # part of the generated project id
PROJECT_COST = "tong_kinh_phi"
PROJECT_YEARS = {2008: "kp_2008", 2009: "kp_2009", 2010: "kp_2010"}  # yearly allocations

# The summary's own ratios (ids that are not spec fields): expression over spec fields, labels, format.
# id: (expression, Vietnamese label, English label, unit, format)
RATIOS: dict[str, tuple[str, str, str, str, str]] = {
    "tl_may_tren_cbcc": (f"{PCS} / {STAFF}", "Số máy tính bình quân trên một CBCCVC", "PCs per staff member",
                         "máy/người", "ratio"),
    "tl_may_lan": (f"{PCS_LAN} / {PCS} * 100", "Tỷ lệ máy tính kết nối mạng LAN", "Share of PCs on the LAN",
                   "%", "pct"),
    "tl_may_internet": (f"{PCS_INTERNET} / {PCS} * 100", "Tỷ lệ máy tính kết nối Internet",
                        "Share of PCs with Internet", "%", "pct"),
    "tl_cbcc_dung_email": (f"{STAFF_EMAIL} / {STAFF} * 100", "Tỷ lệ CBCCVC thường xuyên dùng thư điện tử",
                           "Share of staff using e-mail for work", "%", "pct"),
    "tl_cb_chuyen_trach": (f"{IT_STAFF} / {STAFF} * 100", "Tỷ lệ cán bộ chuyên trách CNTT trên tổng số CBCCVC",
                           "Dedicated IT staff as a share of all staff", "%", "pct"),
}
PROJECT_COUNT = "so_du_an"  # measure: number of projects in the counted return

# The indicators leaders see first (overview and "Chỉ tiêu theo đơn vị"), in order.
KEY_MEASURES = (STAFF, PCS, "tl_may_tren_cbcc", "tl_may_lan", "tl_may_internet", STAFF_EMAIL, "tl_cbcc_dung_email",
                WEBSITE, *SERVICE_LEVELS, IT_STAFF, "tl_cb_chuyen_trach", SPEND_2007, PLAN_TOTAL)
OVERVIEW_MEASURES = (STAFF, PCS, "tl_may_tren_cbcc", "tl_may_lan", "tl_may_internet", "tl_cbcc_dung_email",
                     WEBSITE, *SERVICE_LEVELS, IT_STAFF, "tl_cb_chuyen_trach", SPEND_2007, *PLAN_YEARS.values(),
                     PLAN_TOTAL)

_EXPECTED_TYPES: dict[str, set[str]] = {
    **{f: {"int"} for f in (STAFF, PCS, PCS_LAN, PCS_INTERNET, STAFF_EMAIL, IT_STAFF, *SERVICE_LEVELS)},
    WEBSITE: {"bool"}, SPEND_2007: {"money"}, **{f: {"money"} for f in (*PLAN_YEARS.values(), *PLAN_SOURCES)},
    PLAN_TOTAL: {"computed", "money"},
}
_EXPECTED_COLUMNS: dict[str, set[str]] = {
    PROJECT_NAME: {"str", "text"}, PROJECT_AREA: {"choice"}, PROJECT_START: {"year", "int"},
    PROJECT_COST: {"money"}, **{c: {"money"} for c in PROJECT_YEARS.values()},
}

PROVINCE = "__tinh__"  # index of the province row in totals/coverage
TOTAL = "__tong__"  # index of a grand-total row (funding by content area)
UNCLASSIFIED = "__khac__"  # projects whose content area is blank or unknown

ISSUE_COLUMNS = ["agency", "submission_id", "status", "counted", "code", "severity", "file", "sheet", "cell", "field",
                 "row", "value", "message_vi", "message_en"]
SHOWN_VALUES = ["value_vi", "value_en"]  # the value as each language writes it (1.388,8 / 1,388.8), for the summary

# Agency statuses (codes; labels come from pipeline.i18n "status.<code>").
MISSING, REJECTED = "missing", "rejected"
STATUS_ORDER = ("accepted", "accepted_with_warnings", REJECTED, MISSING)
_UNSUCCESSFUL = ("rejected", "quarantined")


class SummarySpecError(ValueError):
    """The spec lacks a field the summary names (see the constant block at the top of consolidate.py)."""


@dataclass(frozen=True)
class Measure:
    """One aggregated column: a spec field or one of the summary's own ratios.

    how: "sum" (counts, money), "count_true" (yes/no → number of "Có"), "formula" (a ratio recomputed
    from the sums of its operands), "weighted" (a typed ratio/percentage: staff-weighted mean), "none"
    (shown per agency, not totalled: choices, years).
    fmt: "count", "money", "ratio", "pct", "bool", "choice", "year" — how the writer shows it.
    """

    id: str
    vi: str
    en: str
    unit: str
    fmt: str
    how: str
    section: str = ""  # spec section id (column-group headers)
    formula: expr.Expr | None = None
    choices: str | None = None  # choice list of a "choice" measure

    def label(self, lang: str = "vi") -> str:
        return self.vi if lang == "vi" else self.en


@dataclass(frozen=True)
class TargetBlock:
    """One target row of the form: its current value and one target per year (measure ids)."""

    base: str
    vi: str
    en: str
    unit: str
    current_vi: str
    columns: tuple[tuple[str, str], ...]  # (column label, measure id): current first, then years


@dataclass(frozen=True, eq=False)
class Summary:
    """Everything the summary workbook and the CSV exports show; DataFrames indexed as documented.

    agencies      index: agency code, registry order (every agency the round expects:
                  Registry.of_round). Columns: name_vi, name_en,
                  group, status (accepted | accepted_with_warnings | rejected | missing), submission_id,
                  file, sha256, received_at, recorded_at, form_version, errors, warnings, infos (of the
                  counted return), returns (files received), unsuccessful (rejected/quarantined files),
                  later_unsuccessful (received after the counted one), last_status, supersedes, changes.
    groups        index: group code, registry order. Columns: label_vi, label_en, members (m).
    values        index: agency code (counted returns, registry order); one column per spec field id in
                  spec order, exactly as recorded in the ledger (typed).
    measures      measure id → Measure: every aggregated column (see `Measure`).
    table         index: every registry agency; one float column per measure (choice measures: codes);
                  NaN where the agency has no counted return or left the value blank.
    totals        index: group codes then PROVINCE; one column per measure (NaN for "none" measures).
    coverage      same shape as totals: n, the number of agencies whose counted return has the value.
    detail_measures, key_measures, overview_measures, plan_measures, agency_funding_measures: measure ids
                  in display order; targets: the target blocks.
    projects      one row per project of the counted returns, ordered by content area (spec order), agency
                  (registry order), Excel row. Columns: project_id (``{code}-{start year}-{nn}``), agency,
                  group, submission_id, row, area (code or UNCLASSIFIED), every table column id,
                  duplicate_of (ids of same-named projects of OTHER agencies: the first five, "; "-separated,
                  then "… (+k)"), duplicate_count (how many such projects).
    funding_by_area  index: content-area codes (spec order, then UNCLASSIFIED if used), TOTAL last.
                  Columns: Σ of every money column of the project table (by column id: tong_kinh_phi,
                  von_*, kp_2008…), "plan_total" (Σ of the yearly allocations), "projects" (count),
                  "agencies" (agencies with a project in the area).
    narratives    code, section, field, text: every non-blank narrative ("text" field) of counted returns.
    submissions   every ledger row of the round: id, sha256, file, agency, received_at, recorded_at,
                  status, counted, supersedes, superseded_by, errors, warnings, infos, form_version.
    changes       code, submission_id, previous_id, field, old, new: what a counted return changed
                  against the accepted return it superseded (raw typed values).
    issues        ISSUE_COLUMNS: agency (code; '' if unknown), submission_id, status (the return's, as recorded),
                  counted (the return is in the totals), then Issue.to_dict() columns: every issue of each
                  agency's current returns (report.status.current_ids: the one that counts, and a newer one not
                  yet valid; every file of an unknown agency). Registry agencies in registry order, then the
                  others; each agency's returns oldest first. Superseded returns' issues stay in the ledger.
    duplicates    key, name, agencies, project_ids, count, cost: same normalised project name in ≥ 2
                  agencies (domain rule 18).
    moved_cells   code, field, sheet, cell, template_cell: values read from another cell than the
                  template's (the agency inserted rows) — lineage down to the cell.
    unattributed  files in the round whose agency is unknown, not in the registry, or not one the round
                  expects (an agency that had ended by the round's deadline: refused, naming its successor).
    """

    generated_at: dt.datetime
    form_id: str
    form_version: str
    round: str
    spec_sha256: str
    title_vi: str
    issuer_vi: str
    agencies: pd.DataFrame
    groups: pd.DataFrame
    values: pd.DataFrame
    measures: dict[str, Measure]
    table: pd.DataFrame
    totals: pd.DataFrame
    coverage: pd.DataFrame
    detail_measures: tuple[str, ...]
    key_measures: tuple[str, ...]
    overview_measures: tuple[str, ...]
    plan_measures: tuple[str, ...]
    agency_funding_measures: tuple[str, ...]
    targets: tuple[TargetBlock, ...]
    projects: pd.DataFrame
    funding_by_area: pd.DataFrame
    narratives: pd.DataFrame
    submissions: pd.DataFrame
    changes: pd.DataFrame
    issues: pd.DataFrame
    duplicates: pd.DataFrame
    moved_cells: pd.DataFrame
    unattributed: int
    # The form's tables besides the projects (kh_2008: the 2008 annual plan; dvc: online services), by table
    # id: one row per table row of the counted returns, agency (registry order) then Excel row. Columns:
    # agency, group, submission_id, row, then every column id of the table (numbers as floats).
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    # A report round's result against its plan round (report.plan_vs_result.PlanVsResult), when the ledger
    # holds the plan round: the "Thực hiện so với kế hoạch" sheets.
    comparison: Any = None

    def members(self, level: str) -> int:
        """m of "n/m": agencies in a group, or in the province."""
        return len(self.agencies) if level == PROVINCE else int(self.groups.at[level, "members"])

    def answering(self, level: str, types: Sequence[str]) -> int:
        """m of "n/m" for a section only some agency types answer (the spec's `answered_by`): those agencies of
        a group, or of the province."""
        agencies = self.agencies if level == PROVINCE else self.agencies[self.agencies["group"] == level]
        return int(agencies["type"].isin(types).sum())

    def status_counts(self) -> dict[str, int]:
        """expected, received, accepted, accepted_with_warnings, rejected, missing (agencies, not files)."""
        status = self.agencies["status"]
        counts = {s: int((status == s).sum()) for s in STATUS_ORDER}
        return {"expected": len(self.agencies), "received": len(self.agencies) - counts[MISSING], **counts}


def coverage_text(n: int, m: int) -> str:
    return f"{n}/{m}"


# --------------------------------------------------------------------------------------------------------
# Entry point


def build_summary(spec: FormSpec, registry: Registry, submissions: Iterable[dict[str, Any]],
                  projects: Mapping[int, list[dict[str, Any]]], issues: Mapping[int, list[Issue]], *,
                  generated_at: dt.datetime,
                  table_rows: Mapping[str, Mapping[int, list[dict[str, Any]]]] | None = None) -> Summary:
    """Consolidate the round's ledger rows (all history, LEDGER_COLUMNS at least) into a Summary. Pure and
    deterministic. `submissions` is read once, row by row (a ledger cursor will do: each row's stored JSON
    is decoded and dropped as it comes); `projects` and `table_rows` (the other tables', by table id:
    Ledger.table_rows) need only the counted returns', `issues` only the current returns'
    (report.status.current_ids)."""
    check_spec(spec)
    registry = registry.of_round(spec)  # the agencies this round expects: n/m counts them, and only them
    codes = [a.code for a in registry.agencies]
    history = _history(spec, submissions)
    counted = history[history["counted"] & history["agency"].isin(codes)]
    values = _only_asked(spec, _values(spec, counted, codes), registry)
    measures = _measures(spec)
    project_frame = _projects(spec, registry, counted, projects)
    table = _table(spec, measures, values, codes, project_frame)
    group_of = pd.Series({a.code: a.group for a in registry.agencies})
    totals, coverage = _aggregate(table, measures, group_of, [g[0] for g in registry.groups])
    agencies = _agencies(registry, history)
    changes = _changes(spec, history, counted, codes)
    agencies["changes"] = changes.groupby("code").size().reindex(agencies.index).fillna(0).astype(int)
    ordered = _in_order(project_frame, spec)
    return Summary(
        generated_at=generated_at, form_id=spec.form_id, form_version=spec.version, round=spec.round,
        spec_sha256=spec.sha256, title_vi=str(spec.form.get("title_vi", spec.form_id)),
        issuer_vi=str(spec.form.get("issuer_vi", "")), agencies=agencies,
        groups=pd.DataFrame([{"code": g, "label_vi": vi, "label_en": en,
                              "members": int((group_of == g).sum())} for g, vi, en in registry.groups]
                            ).set_index("code"),
        values=values, measures=measures, table=table, totals=totals, coverage=coverage,
        detail_measures=tuple(m.id for m in measures.values() if _is_detail(spec, m)),
        key_measures=_present(KEY_MEASURES, measures), overview_measures=_present(OVERVIEW_MEASURES, measures),
        plan_measures=_present((*PLAN_YEARS.values(), PLAN_TOTAL, *PLAN_SOURCES), measures),
        agency_funding_measures=_present((*PLAN_YEARS.values(), PLAN_TOTAL, *PLAN_SOURCES, PROJECT_COUNT,
                                          *(spec.table.totals.get(c, "") for c in PROJECT_YEARS.values()),
                                          spec.table.totals.get(PROJECT_COST, "")), measures)
        if not reports_on_plan(spec) else (),
        targets=_target_blocks(spec), projects=_with_duplicates(ordered),
        funding_by_area=_funding_by_area(spec, ordered), narratives=_narratives(spec, values),
        submissions=history.drop(columns=["values", "moved"]).reset_index(drop=True),
        changes=changes, issues=_issues(history, counted, codes, issues), duplicates=_duplicates(ordered),
        moved_cells=_moved_cells(counted), unattributed=int((~history["agency"].isin(codes)).sum()),
        tables={t.id: _table_rows(t, registry, counted, (table_rows or {}).get(t.id, {})) for t in spec.other_tables},
    )


def _present(ids: Iterable[str], measures: Mapping[str, Measure]) -> tuple[str, ...]:
    """The measures of `ids` the spec has (a report form has none of the plan's)."""
    return tuple(i for i in ids if i in measures)


def figures(spec: FormSpec, values: pd.DataFrame, projects: pd.DataFrame, group_of: pd.Series,
            groups: list[str]) -> tuple[dict[str, Measure], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The measures, the per-agency table, the group and overall totals, and their coverage n, for any set of
    agencies: the same sums, counts of "Có" and ratios from totals as a province's summary. `values` is
    indexed by agency (one column per spec field, typed), `projects` has an "agency" column and the table's
    columns, `group_of` maps each agency to one of `groups`. The overall row is indexed PROVINCE. The
    national roll-up (pipeline.report.rollup) calls this with the provinces as the groups."""
    check_spec(spec)
    measures = _measures(spec)
    table = _table(spec, measures, values, list(values.index), projects)
    totals, coverage = _aggregate(table, measures, group_of, groups)
    return measures, table, totals, coverage


def reports_on_plan(spec: FormSpec) -> bool:
    """A report form (`form.plan_round`: the 2008 report on the 2007 plan) asks no plan of its own: the summary
    leaves out the plan's figures (funding 2008–2010, project periods) it does not have."""
    return bool(spec.form.get("plan_round"))


def check_spec(spec: FormSpec) -> None:
    """Raise SummarySpecError naming every field the summary needs but the spec lacks or types otherwise."""
    problems = []
    report_form = reports_on_plan(spec)
    plan_only = {SPEND_2007, *PLAN_YEARS.values(), PLAN_TOTAL, *PLAN_SOURCES, PROJECT_START, PROJECT_COST,
                 *PROJECT_YEARS.values()}
    for field_id, types in _EXPECTED_TYPES.items():
        if report_form and field_id in plan_only:
            continue
        f = spec.fields.get(field_id)
        if f is None or not ({f.type, f.format} & types):
            problems.append(f"{field_id} ({'/'.join(sorted(types))})")
    columns = {c.id: c for c in spec.table.columns} if spec.table else {}
    for column_id, types in _EXPECTED_COLUMNS.items():
        if report_form and column_id in plan_only:
            continue
        c = columns.get(column_id)
        if c is None or c.type not in types:
            problems.append(f"{spec.table.id if spec.table else 'table'}.{column_id} ({'/'.join(sorted(types))})")
    for column_id in (PROJECT_COST, *PROJECT_YEARS.values()):
        if spec.table is not None and column_id not in spec.table.totals and not report_form:
            problems.append(f"totals row for column {column_id}")
    clash = sorted((set(RATIOS) | {PROJECT_COUNT}) & set(spec.fields))
    if clash:
        problems.append(f"summary ids clash with spec fields: {', '.join(clash)}")
    if problems:
        raise SummarySpecError("the summary needs these fields, missing or of another type in the spec: "
                               + "; ".join(problems))


# --------------------------------------------------------------------------------------------------------
# Ledger rows → frames


# The ledger columns build_summary reads (Ledger.submissions(columns=...)).
LEDGER_COLUMNS = ("id", "sha256", "file_name", "agency_code", "received_at", "recorded_at", "status", "counted",
                  "supersedes", "superseded_by", "errors", "warnings", "infos", "form_version", "round",
                  "values_json", "cells_json")


def _history(spec: FormSpec, submissions: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Every submission of the round, ordered by received time then id (the ledger's own order), with its
    typed values (a list in spec field order: a third of a dict's memory) and the cells it was read from
    other than the template's."""
    columns = ["id", "sha256", "file", "agency", "received_at", "recorded_at", "status", "counted", "supersedes",
               "superseded_by", "errors", "warnings", "infos", "form_version", "values", "moved"]
    dates = {f.id for f in spec.fields.values() if f.type == "date"}
    template = {field_id: [ref.sheet, ref.a1] for field_id, ref in layout_for(spec).cells.items()}
    fields, round_ = list(spec.fields), spec.round
    moved = functools.lru_cache(maxsize=64)(functools.partial(_moved, template))  # most returns: one same map
    rows = [{
        "id": int(s["id"]), "sha256": s.get("sha256") or "", "file": s.get("file_name") or "",
        "agency": s.get("agency_code") or "", "received_at": _timestamp(s.get("received_at")),
        "recorded_at": _timestamp(s.get("recorded_at")), "status": s.get("status") or "",
        "counted": bool(s.get("counted")), "supersedes": s.get("supersedes"), "superseded_by": s.get("superseded_by"),
        "errors": int(s.get("errors") or 0), "warnings": int(s.get("warnings") or 0),
        "infos": int(s.get("infos") or 0), "form_version": s.get("form_version") or "",
        "values": _in_field_order(fields, decode_values(s.get("values_json"), dates)),
        "moved": moved(s.get("cells_json")),
    } for s in submissions if s.get("round") in (None, round_)]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("supersedes", "superseded_by"):
        frame[column] = frame[column].astype("Int64")
    frame["counted"] = frame["counted"].astype(bool)
    return frame.sort_values(["received_at", "id"], kind="stable").reset_index(drop=True)


def _timestamp(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _values(spec: FormSpec, counted: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    """The counted returns' typed values: index agency code (registry order), one column per spec field.
    Object dtype keeps the ledger's Python types (an int stays an int, blank stays None)."""
    records = {row.agency: row.values for row in counted.itertuples()}
    order = [c for c in codes if c in records]
    return pd.DataFrame([records[c] for c in order], index=pd.Index(order, name="code"), columns=list(spec.fields),
                        dtype=object)


def _only_asked(spec: FormSpec, values: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """Figures of a section only some agency types are asked (communes: the districts) are counted from those
    agencies alone (their type in the registry): a department's commune figures are not the province's
    (rule R21d tells the department so)."""
    types = pd.Series({a.code: a.loai_don_vi for a in registry.agencies}).reindex(values.index)
    for section in (s for sheet in spec.sheets for s in sheet.sections if s.answered_by):
        values.loc[~types.isin(section.answered_by).to_numpy(), list(section.fields)] = None
    return values


def _in_field_order(fields: list[str], values: dict[str, Any]) -> list[Any]:
    return [values.get(f) for f in fields]


# --------------------------------------------------------------------------------------------------------
# Measures: what is aggregated, and how


def _additive(f: Field | None) -> bool:
    """Summing this field over agencies means something (counts, money)."""
    if f is None:
        return False
    if f.type == "computed":
        return f.format in ("int", "money") or f.kind == "total"
    return f.type in ("int", "money")


def _measure_for(spec: FormSpec, f: Field) -> Measure | None:
    unit = f.unit
    common = {"id": f.id, "vi": f.vi, "en": f.en, "unit": unit, "section": f.section}
    if f.type == "bool":
        return Measure(fmt="bool", how="count_true", **common)
    if f.type == "choice":
        return Measure(fmt="choice", how="none", choices=f.choices, **common)
    if f.type == "year":
        return Measure(fmt="year", how="none", **common)
    if f.type in ("int", "money") or (f.type == "computed" and _additive(f)):
        money = "money" in (f.type, f.format)
        return Measure(fmt="money" if money else "count", how="sum", **common)
    if f.type in ("pct", "dec") or f.type == "computed":
        fmt = "pct" if "pct" in (f.type, f.format) else "ratio"
        formula = f.formula
        if formula is not None and formula.names and all(_additive(spec.fields.get(n)) for n in formula.names):
            return Measure(fmt=fmt, how="formula", formula=formula, **common)
        return Measure(fmt=fmt, how="weighted", formula=formula, **common)
    return None  # text, date, agency, phone…: not a figure


def _measures(spec: FormSpec) -> dict[str, Measure]:
    out: dict[str, Measure] = {}
    for f in spec.fields.values():
        m = _measure_for(spec, f)
        if m is not None:
            out[f.id] = m
    for ratio_id, (source, vi, en, unit, fmt) in RATIOS.items():
        out[ratio_id] = Measure(ratio_id, vi, en, unit, fmt, "formula", formula=expr.parse(source))
    if spec.table is not None:
        out[PROJECT_COUNT] = Measure(PROJECT_COUNT, "Số dự án, nhiệm vụ", "Projects and tasks", "",
                                     "count", "sum", section=spec.table.id)
    return out


def _is_detail(spec: FormSpec, m: Measure) -> bool:
    """The detail sheet: every figure of the return's label/value sheets except targets."""
    f = spec.fields.get(m.id)
    return f is not None and f.kind == "field"


def _target_blocks(spec: FormSpec) -> tuple[TargetBlock, ...]:
    blocks = []
    for sheet in spec.sheets:
        for section in sheet.sections:
            for base in section.targets:
                current = spec.fields[f"{base}_current"]
                columns = ((section.current_vi, current.id),
                           *((str(year), f"{base}_{year}") for year in section.target_years))
                blocks.append(TargetBlock(base, current.vi, current.en, current.unit, section.current_vi, columns))
    return tuple(blocks)


# --------------------------------------------------------------------------------------------------------
# Per-agency table and roll-up


def _numeric(series: pd.Series) -> pd.Series:
    """Typed ledger values → float (True → 1, False → 0, blank → NaN; text → NaN), vectorised."""
    return pd.Series(_floats(series.to_numpy(dtype=object)), index=series.index)


def _floats(block: np.ndarray) -> np.ndarray:
    """An object array of typed values as floats; the fast path is one numpy cast (None → NaN)."""
    try:
        return block.astype(float)
    except (TypeError, ValueError):  # text where a number belongs (never from the reader): NaN, not a crash
        return np.vectorize(lambda v: float(v) if isinstance(v, bool | int | float) else np.nan,
                            otypes=[float])(block)


def _table(spec: FormSpec, measures: dict[str, Measure], values: pd.DataFrame, codes: list[str],
           projects: pd.DataFrame) -> pd.DataFrame:
    """One row per registry agency, one column per measure; agency ratios use the same formula as totals.

    Agencies without a counted return are NaN throughout (so they never count in a coverage n)."""
    inputs = values
    reported = list(values.index)
    plain = [m.id for m in measures.values() if m.formula is None and m.fmt != "choice" and m.id in inputs]
    env = pd.DataFrame(_floats(inputs[plain].to_numpy(dtype=object)) if plain else None,
                       index=reported, columns=plain, dtype=float)
    # Project counts and sums are recomputed from the project rows, not read from the return's totals row.
    by_agency = projects.groupby("agency")
    extra = {PROJECT_COUNT: by_agency.size().reindex(reported).astype(float).fillna(0.0)}
    assert spec.table is not None
    for column_id, total_id in spec.table.totals.items():
        if total_id in measures and column_id in projects:
            extra[total_id] = by_agency[column_id].sum().reindex(reported).astype(float).fillna(0.0)
    env = pd.concat([env.drop(columns=[c for c in extra if c in env]), pd.DataFrame(extra, index=reported)], axis=1)
    computed: dict[str, pd.Series] = {}
    pending = [m for m in measures.values() if m.formula is not None]
    while pending:  # computed fields may name other computed fields: evaluate each once its inputs exist
        ready = [m for m in pending if not any(n in measures and measures[n].formula is not None
                                               and n not in computed for n in m.formula.names)]  # type: ignore[union-attr]
        if not ready:
            raise SummarySpecError(f"computed fields refer to each other: {[m.id for m in pending]}")
        for m in ready:
            computed[m.id] = _evaluate(m.formula, env.assign(**computed) if computed else env)  # type: ignore[arg-type]
        pending = [m for m in pending if m not in ready]
    choices = {m.id: inputs[m.id].astype(object) for m in measures.values() if m.fmt == "choice"}
    table = pd.concat([env, pd.DataFrame(computed, index=reported), pd.DataFrame(choices, index=reported)], axis=1)
    return table.reindex(index=codes, columns=list(measures))  # agencies without a return: NaN rows


def _evaluate(formula: expr.Expr, env: pd.DataFrame) -> pd.Series:
    """A spec expression over columns of `env` (one row per agency or per group), as floats."""
    names = {n: env[n].astype(float) if n in env else pd.Series(np.nan, index=env.index) for n in formula.names}
    result = formula.evaluate(names)
    if not isinstance(result, pd.Series):
        result = pd.Series(result, index=env.index, dtype=float)
    return result.astype(float).replace([np.inf, -np.inf], np.nan)


def _aggregate(table: pd.DataFrame, measures: dict[str, Measure], group_of: pd.Series,
               groups: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Group subtotals and the province total of every measure, with coverage n.

    The province is aggregated like one more group (every agency), so its figures come from the agency
    rows — never from adding up group subtotals of ratios. Sums are numpy bincounts: vectorised, and
    sequential, so the same table always gives the same bits.
    """
    order = [*groups, PROVINCE]
    gidx = pd.Categorical(group_of.reindex(table.index), categories=groups).codes
    numeric = [m.id for m in measures.values() if m.fmt != "choice"]
    x = table[numeric].to_numpy(dtype=float)
    present = ~np.isnan(x)
    column = {mid: j for j, mid in enumerate(numeric)}

    def sums(block: np.ndarray) -> np.ndarray:  # rows: groups then the province
        out = np.empty((len(order), block.shape[1]))
        for j in range(block.shape[1]):
            out[:-1, j] = np.bincount(gidx, weights=block[:, j], minlength=len(groups))[:len(groups)]
        out[-1] = block.sum(axis=0)
        return out

    total = np.full((len(order), len(measures)), np.nan)
    count = sums(present.astype(float))
    n = np.zeros((len(order), len(measures)))
    value_sums = sums(np.where(present, x, 0.0))
    weight = x[:, column[STAFF]]
    for k, m in enumerate(measures.values()):
        j = column.get(m.id)
        if m.how in ("sum", "count_true"):
            total[:, k] = np.where(count[:, j] > 0, value_sums[:, j], np.nan)
            n[:, k] = count[:, j]
        elif m.how == "formula":
            assert m.formula is not None
            names = sorted(m.formula.names)
            cols = [column[name] for name in names]
            mask = present[:, cols].all(axis=1)
            n[:, k] = sums(mask[:, None].astype(float))[:, 0]
            grouped = pd.DataFrame(sums(np.where(mask[:, None], x[:, cols], 0.0)), index=order, columns=names)
            total[:, k] = np.where(n[:, k] > 0, _evaluate(m.formula, grouped).to_numpy(), np.nan)
        elif m.how == "weighted":
            mask = present[:, j] & (weight > 0)
            weights = np.where(mask, weight, 0.0)
            pair = sums(np.column_stack([np.where(mask, x[:, j], 0.0) * weights, weights]))
            n[:, k] = sums(mask[:, None].astype(float))[:, 0]
            with np.errstate(invalid="ignore", divide="ignore"):
                total[:, k] = np.where(pair[:, 1] > 0, pair[:, 0] / pair[:, 1], np.nan)
        else:
            n[:, k] = count[:, j] if j is not None else sums(table[[m.id]].notna().to_numpy(dtype=float))[:, 0]
    total[~np.isfinite(total)] = np.nan
    ids = list(measures)
    return (pd.DataFrame(total, index=order, columns=ids),
            pd.DataFrame(n.astype(int), index=order, columns=ids))


# --------------------------------------------------------------------------------------------------------
# Agencies: status and lineage


def _agencies(registry: Registry, history: pd.DataFrame) -> pd.DataFrame:
    """Status and lineage per registry agency (plain dicts: a pandas filter per agency would be slow)."""
    by_agency: dict[str, list[dict[str, Any]]] = {}
    for record in history.drop(columns=["values", "moved"]).to_dict("records"):
        by_agency.setdefault(record["agency"], []).append(record)  # already in received order
    rows = []
    for a in registry.agencies:
        part = by_agency.get(a.code, [])
        counted = next((r for r in part if r["counted"]), None)
        row: dict[str, Any] = {
            "code": a.code, "name_vi": a.name_vi, "name_en": a.name_en, "group": a.group, "type": a.loai_don_vi,
            "status": counted["status"] if counted else REJECTED if part else MISSING,
            "submission_id": None, "file": None, "sha256": None, "received_at": None, "recorded_at": None,
            "form_version": None, "errors": None, "warnings": None, "infos": None, "supersedes": None,
            "returns": len(part), "unsuccessful": sum(r["status"] in _UNSUCCESSFUL for r in part),
            "later_unsuccessful": 0, "last_status": part[-1]["status"] if part else None,
        }
        if counted:
            row.update({key: counted[source] for key, source in (
                ("submission_id", "id"), ("file", "file"), ("sha256", "sha256"), ("received_at", "received_at"),
                ("recorded_at", "recorded_at"), ("form_version", "form_version"), ("errors", "errors"),
                ("warnings", "warnings"), ("infos", "infos"), ("supersedes", "supersedes"))})
            row["later_unsuccessful"] = sum(
                r["status"] in _UNSUCCESSFUL and _after(r["received_at"], counted["received_at"]) for r in part)
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("code")
    for column in ("submission_id", "errors", "warnings", "infos", "supersedes"):
        frame[column] = frame[column].astype("Int64")
    for column in ("received_at", "recorded_at"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def _after(a: Any, b: Any) -> bool:
    return not (pd.isna(a) or pd.isna(b)) and a > b


def _changes(spec: FormSpec, history: pd.DataFrame, counted: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    """Fields a counted return changed against the accepted return it superseded (typed old/new)."""
    columns = ["code", "submission_id", "previous_id", "field", "old", "new"]
    by_id = history.set_index("id")
    compared = [f.id for f in spec.fields.values() if f.is_input or f.kind == "total"]
    fields = list(spec.fields)
    rows = []
    order = {c: i for i, c in enumerate(codes)}
    for row in sorted(counted.itertuples(), key=lambda r: order[r.agency]):
        if pd.isna(row.supersedes) or int(row.supersedes) not in by_id.index:
            continue
        previous = by_id.loc[int(row.supersedes)]
        if previous["status"] not in ACCEPTED:
            continue
        old, new = dict(zip(fields, previous["values"], strict=True)), dict(zip(fields, row.values, strict=True))
        rows += [{"code": row.agency, "submission_id": int(row.id), "previous_id": int(row.supersedes),
                  "field": f, "old": old.get(f), "new": new.get(f)}
                 for f in compared if not _same(old.get(f), new.get(f))]
    return pd.DataFrame(rows, columns=columns)


def _blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _same(a: Any, b: Any) -> bool:
    if _blank(a) or _blank(b):
        return _blank(a) and _blank(b)
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))
    if numbers:
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-9)
    return bool(a == b)


def _issues(history: pd.DataFrame, counted: pd.DataFrame, codes: list[str],
            issues: Mapping[int, list[Issue]]) -> pd.DataFrame:
    """The department's to-do list of problems: the issues of every current return (see Summary.issues)."""
    keys = [ReturnKey(int(r.id), r.agency, r.status, bool(r.counted), r.received_at, r.sha256)
            for r in history.itertuples()]
    current = current_ids(keys)
    in_totals = set(counted["id"].tolist())
    rank = {code: i for i, code in enumerate(codes)}
    listed = sorted((k for k in keys if k.id in current), key=lambda k: (rank.get(k.agency, len(rank)), k.newness))
    rows = [{"agency": k.agency, "submission_id": k.id, "status": k.status, "counted": k.id in in_totals,
             **i.to_dict()} for k in listed for i in issues.get(k.id, [])]
    frame = pd.DataFrame(rows, columns=[*ISSUE_COLUMNS, *SHOWN_VALUES])
    frame["row"] = frame["row"].astype("Int64")  # an Excel row, or none: not 9.0
    return frame


def _moved(template: dict[str, list[str]], cells_json: str | None) -> tuple[tuple[str, str, str, str], ...]:
    """(field, sheet, cell, template cell) of the values a return held elsewhere than the template says."""
    moved = []
    for field_id, place in json.loads(cells_json or "{}").items():
        ref = template.get(field_id)
        if ref is not None and place != ref and isinstance(place, list) and len(place) == 2:
            moved.append((field_id, place[0], place[1], f"{ref[0]}!{ref[1]}"))
    return tuple(moved)


def _moved_cells(counted: pd.DataFrame) -> pd.DataFrame:
    """Values read from another cell than the template's: the lineage a leader's question may need."""
    rows = [{"code": row.agency, "field": field_id, "sheet": sheet, "cell": cell, "template_cell": template_cell}
            for row in counted.itertuples() for field_id, sheet, cell, template_cell in row.moved]
    return pd.DataFrame(rows, columns=["code", "field", "sheet", "cell", "template_cell"])


def _narratives(spec: FormSpec, values: pd.DataFrame) -> pd.DataFrame:
    """Every non-blank narrative, agency by agency (registry order), fields in spec order."""
    parts = []
    for order, f in enumerate(f for f in spec.fields.values() if f.type == "text"):
        column = values[f.id]
        keep = column.map(lambda v: isinstance(v, str) and bool(v.strip()))
        parts.append(pd.DataFrame({"code": column.index[keep.to_numpy(dtype=bool)], "section": f.section, "field": f.id,
                                   "text": column[keep].astype(str).to_numpy(), "_field": order}))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["code", "section", "field", "text"])
    if "_field" in frame:
        rank = {code: i for i, code in enumerate(values.index)}
        frame = (frame.assign(_agency=frame["code"].map(rank)).sort_values(["_agency", "_field"], kind="stable")
                 .drop(columns=["_agency", "_field"]))
    return frame.reset_index(drop=True)[["code", "section", "field", "text"]]


# --------------------------------------------------------------------------------------------------------
# Projects and funding


def _projects(spec: FormSpec, registry: Registry, counted: pd.DataFrame,
              projects: Mapping[int, list[dict[str, Any]]]) -> pd.DataFrame:
    """Every project of the counted returns with its agency, group and generated id."""
    assert spec.table is not None
    columns = [c.id for c in spec.table.columns]
    group = {a.code: a.group for a in registry.agencies}
    data: dict[str, list[Any]] = {c: [] for c in ["agency", "group", "submission_id", "row", *columns]}
    for row in counted.itertuples():  # column by column: at 10,000 returns a dict per project is 40 MB more
        for seq, p in enumerate(projects.get(int(row.id), []), start=1):
            for key, value in (("agency", row.agency), ("group", group[row.agency]), ("submission_id", int(row.id)),
                               ("row", int(p.get("_row", seq)))):
                data[key].append(value)
            for c in columns:
                data[c].append(p.get(c))
    frame = pd.DataFrame(data) if data["agency"] else pd.DataFrame(columns=list(data))
    numeric = [c.id for c in spec.table.columns if c.type in ("int", "dec", "money", "pct", "year")]
    for column_id in numeric:
        frame[column_id] = _numeric(frame[column_id]) if len(frame) else frame[column_id].astype(float)
    areas = {c.code for c in spec.choices.get(spec.table.column(PROJECT_AREA).choices or "", ())}
    frame["area"] = frame[PROJECT_AREA].where(frame[PROJECT_AREA].isin(areas), UNCLASSIFIED)
    order = {c: i for i, c in enumerate(a.code for a in registry.agencies)}
    frame = frame.assign(_o=frame["agency"].map(order)).sort_values(["_o", "row"], kind="stable").drop(columns="_o")
    # a report form's projects have no start year: the report's year (its round) stands in the id
    start = (frame[PROJECT_START].map(lambda y: "0000" if pd.isna(y) else str(int(y))) if PROJECT_START in frame
             else pd.Series(spec.round[:4] if spec.round[:4].isdigit() else "0000", index=frame.index))
    seq = frame.groupby([frame["agency"], start], sort=False).cumcount() + 1
    frame.insert(0, "project_id", frame["agency"] + "-" + start + "-" + seq.map("{:02d}".format))
    return frame.reset_index(drop=True)


def _table_rows(table: Table, registry: Registry, counted: pd.DataFrame,
                rows: Mapping[int, list[dict[str, Any]]]) -> pd.DataFrame:
    """Every row of one of the other tables of the counted returns, with its agency and group."""
    columns = [c.id for c in table.columns]
    group = {a.code: a.group for a in registry.agencies}
    order = {a.code: i for i, a in enumerate(registry.agencies)}
    records = [{"agency": r.agency, "group": group[r.agency], "submission_id": int(r.id),
                "row": int(p.get("_row", seq)), **{c: p.get(c) for c in columns}}
               for r in sorted(counted.itertuples(), key=lambda r: order[r.agency])
               for seq, p in enumerate(rows.get(int(r.id), []), start=1)]
    frame = pd.DataFrame(records, columns=["agency", "group", "submission_id", "row", *columns])
    for c in table.columns:
        if c.type in ("int", "dec", "money", "pct", "year"):
            frame[c.id] = _numeric(frame[c.id]) if len(frame) else frame[c.id].astype(float)
    return frame.reset_index(drop=True)


def _area_order(spec: FormSpec) -> list[str]:
    assert spec.table is not None
    return [c.code for c in spec.choices.get(spec.table.column(PROJECT_AREA).choices or "", ())]


def _in_order(frame: pd.DataFrame, spec: FormSpec) -> pd.DataFrame:
    """Content area (spec order; unclassified last), then agency (registry order, already), then row."""
    rank = {code: i for i, code in enumerate([*_area_order(spec), UNCLASSIFIED])}
    ordered = frame.assign(_a=frame["area"].map(rank)).sort_values("_a", kind="stable").drop(columns="_a")
    return ordered.reset_index(drop=True)


def _funding_by_area(spec: FormSpec, projects: pd.DataFrame) -> pd.DataFrame:
    """Σ of every money column of the project table per content area, plus Σ of the yearly allocations
    ("plan_total"), the number of projects and of agencies; the TOTAL row last."""
    assert spec.table is not None
    money = [c.id for c in spec.table.columns if c.type == "money"]
    areas = _area_order(spec) + ([UNCLASSIFIED] if (projects["area"] == UNCLASSIFIED).any() else [])
    grouped = projects.groupby("area")
    frame = grouped[money].sum().reindex(areas).fillna(0.0)
    frame["plan_total"] = frame[[c for c in PROJECT_YEARS.values() if c in frame]].sum(axis=1)
    frame["projects"] = grouped.size().reindex(areas).fillna(0).astype(int)
    frame["agencies"] = grouped["agency"].nunique().reindex(areas).fillna(0).astype(int)
    total = frame.sum()
    total["agencies"] = projects["agency"].nunique()  # an agency with projects in two areas counts once
    frame.loc[TOTAL] = total
    frame[["projects", "agencies"]] = frame[["projects", "agencies"]].astype(int)
    return frame


def name_key(name: Any) -> str:
    """Domain rule 18: NFC, casefold, whitespace collapsed — two spellings of one project name match."""
    if not isinstance(name, str):
        return ""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def _duplicates(projects: pd.DataFrame) -> pd.DataFrame:
    """Same normalised project name in two or more agencies, ordered by name key."""
    found: dict[str, dict[str, Any]] = {}
    costs = projects[PROJECT_COST] if PROJECT_COST in projects else pd.Series(0.0, index=projects.index)
    for name, agency, pid, cost in zip(projects[PROJECT_NAME], projects["agency"], projects["project_id"],
                                       costs, strict=True):
        key = name_key(name)
        if key:
            entry = found.setdefault(key, {"key": key, "name": name, "agencies": {}, "ids": [], "cost": 0.0})
            entry["agencies"][agency] = None
            entry["ids"].append(pid)
            entry["cost"] += 0.0 if pd.isna(cost) else float(cost)
    rows = [{"key": key, "name": e["name"], "agencies": ", ".join(e["agencies"]), "project_ids": "; ".join(e["ids"]),
             "count": len(e["ids"]), "cost": e["cost"]}
            for key, e in sorted(found.items()) if len(e["agencies"]) >= 2]
    return pd.DataFrame(rows, columns=["key", "name", "agencies", "project_ids", "count", "cost"])


def _with_duplicates(projects: pd.DataFrame, shown: int = 5) -> pd.DataFrame:
    """Add duplicate_of: ids of same-named projects of OTHER agencies — the first `shown`, then "… (+k)".
    Linear in the number of projects even when hundreds share one name."""
    keys = projects[PROJECT_NAME].map(name_key).tolist()
    agencies, ids = projects["agency"].tolist(), projects["project_id"].tolist()
    by_key: dict[str, list[tuple[str, str]]] = {}
    for key, agency, pid in zip(keys, agencies, ids, strict=True):
        if key:
            by_key.setdefault(key, []).append((agency, pid))
    own = Counter(zip(keys, agencies, strict=True))
    cache: dict[tuple[str, str], tuple[str, int]] = {}
    out, counts = [], []
    for key, agency in zip(keys, agencies, strict=True):
        if not key:
            out.append("")
            counts.append(0)
            continue
        if (key, agency) not in cache:
            others = len(by_key[key]) - own[(key, agency)]
            first = list(islice((pid for a, pid in by_key[key] if a != agency), shown))
            cache[(key, agency)] = ("; ".join(first) + (f"; … (+{others - shown})" if others > shown else ""), others)
        text, others = cache[(key, agency)]
        out.append(text)
        counts.append(others)
    return projects.assign(duplicate_of=out, duplicate_count=counts)
