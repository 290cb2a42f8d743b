"""Province to nation: the provinces' consolidation exports → one national roll-up, one level up.

Input: each province's output folder, as `ictplan consolidate` writes it — ``data/round.json`` (which form,
version, round and province; agencies n/m), ``data/indicators.csv`` (one row per counted return) and
``data/projects.csv``. The tidy exports are the contract, not the summary workbook, whose layout changes.

- A folder is refused, with a catalogue issue (vi/en), when its exports are missing or unreadable, when it
  consolidates another form id, version or round than the spec being rolled up, or when it is a folder or a
  province already taken: nothing is counted twice.
- The figures are the province summary's own (consolidate.figures, with the provinces as the groups): sums
  of what the spec says is additive, counts of "Có", ratios recomputed from the national totals (never an
  average of the provinces' ratios), typed ratios as staff-weighted means over every agency.
- Coverage "n/m tỉnh": n provinces with at least one agency reporting the measure, m the provinces expected
  (by default those rolled up); beside it, the agencies n/m over all the provinces.
- A report round on a plan (the 2008 report, `--round 2008`): its "Thực hiện so với kế hoạch" too, from each
  province's ``data/plan_targets.csv`` and ``data/plan_money.csv`` (its own comparison, province level): for
  every result whose levels are sums (counts, money: plan_vs_result.summed) the nation's target and result
  are the sums of the provinces', over the agencies compared; gap, % and Đạt/Chưa đạt from those sums; the
  projects' money planned, allocated and disbursed likewise. "n/m tỉnh": provinces that compared the
  figure (a province whose ledger holds no plan round compares nothing); agencies compared n/m.

Output (written atomically): the national workbook ``tong_hop_toan_quoc_<form>_<round>.xlsx`` (Vietnamese:
a row per province with its totals, the national total, its coverage) and the tidy CSVs
``data/rollup_totals.csv`` (long: one row per province or nation and measure) and ``data/rollup_provinces.csv``
(every folder given: taken or refused, and why); for a report round on a plan, ``data/rollup_plan_targets.csv``
and ``data/rollup_plan_money.csv`` (one row per province or nation, and result).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from pipeline.atomic import write_atomic
from pipeline.form.spec import Field, FormSpec
from pipeline.issues import Issue, issue
from pipeline.report import consolidate as C
from pipeline.report import plan_vs_result as P
from pipeline.report.exports import MANIFEST, PLAN_MONEY, PLAN_TARGETS, write_csv
from pipeline.report.frame import Frame
from pipeline.report.xlsx import FORMULA_CHARS, WORKBOOK_OPTIONS, Col, Styles, header_height, safe_text

NATION = "__toan_quoc__"
INDICATORS, PROJECTS = "indicators.csv", "projects.csv"
NUMERIC_TYPES = ("int", "dec", "money", "pct", "year", "computed")
CELL_KINDS = {"count": "count", "money": "money", "ratio": "ratio", "pct": "pct", "bool": "count"}  # measure fmt
MANIFEST_KEYS = ("form_id", "form_version", "round", "province", "generated_at", "agencies", "reported")


@dataclass(frozen=True)
class Province:
    """One province taken into the roll-up: who, from which folder, as at when, agencies n/m."""

    key: str  # P01, P02 … in the order given
    name: str
    folder: Path
    generated_at: str
    agencies: int
    reported: int


@dataclass(frozen=True, eq=False)
class Rollup:
    """The national figures. totals/coverage: index the province keys then NATION, one column per measure;
    coverage counts agencies. provinces_reporting: per measure, the provinces with at least one agency
    reporting it. refused: one issue per folder not taken."""

    form_id: str
    form_version: str
    round: str
    title_vi: str
    generated_at: dt.datetime
    provinces: tuple[Province, ...]
    expected: int  # m of "n/m tỉnh"
    measures: dict[str, C.Measure]
    totals: pd.DataFrame
    coverage: pd.DataFrame
    provinces_reporting: pd.Series
    refused: tuple[Issue, ...]
    plan: PlanRollup | None = None  # a report round on a plan: its "Thực hiện so với kế hoạch"
    frame: Frame | None = None  # the national documents' frame (report.national.national_frame)

    @property
    def aggregated(self) -> list[C.Measure]:
        """The measures that have a total (choices and years are shown per agency only)."""
        return [m for m in self.measures.values() if m.how != "none"]

    def agencies(self) -> tuple[int, int]:
        """Agencies counted and agencies expected, over every province taken."""
        return sum(p.reported for p in self.provinces), sum(p.agencies for p in self.provinces)


@dataclass(frozen=True, eq=False)
class PlanRollup:
    """A report round's plan against its result, nation-wide, for the results whose levels are sums.

    targets  key (province key or NATION), field, target, result, gap, pct, reached, n, m (agencies compared /
             agencies of the province, or of every province)
    money    key, planned, allocated, disbursed, allocated_pct, disbursed_pct, projects
    compared per field: the provinces that compared it (n of "n/m tỉnh"); `money_compared` for the money."""

    plan_round: str
    fields: tuple[Field, ...]
    targets: pd.DataFrame
    money: pd.DataFrame
    compared: dict[str, int]
    money_compared: int

    def at(self, key: str, field_id: str) -> dict[str, Any]:
        rows = self.targets[(self.targets["key"] == key) & (self.targets["field"] == field_id)]
        return rows.iloc[0].to_dict()


# One province's comparison as rollup reads it: its province-level rows of plan_targets.csv (field → target,
# result, n, m) and of plan_money.csv (planned, allocated, disbursed, projects); None: it compared nothing.
_Comparison = tuple[dict[str, dict[str, float | None]], dict[str, float]] | None


class _Refused(Exception):
    def __init__(self, found: Issue) -> None:
        super().__init__(found.code)
        self.issue = found


# --------------------------------------------------------------------------------------------------------
# Entry point


def build_rollup(spec: FormSpec, folders: Sequence[Path], *, expected: int | None = None,
                 generated_at: dt.datetime | None = None) -> Rollup:
    """Roll the provinces' exports in `folders` up to the nation. Pure but for reading the folders; the
    same folders give the same Rollup (generated_at defaults to the latest province's)."""
    taken: list[tuple[Province, pd.DataFrame, pd.DataFrame]] = []
    compared: dict[str, _Comparison] = {}
    refused: list[Issue] = []
    seen_folders: dict[Path, Path] = {}
    seen_names: dict[str, Path] = {}
    for folder in folders:
        folder = Path(folder)
        try:
            manifest = _manifest(folder)
            name = str(manifest["province"])
            _same_form(spec, folder, manifest)
            first = seen_folders.get(folder.resolve()) or seen_names.get(_name_key(name))
            if first is not None:
                raise _Refused(issue("ROLLUP_DUPLICATE", file=str(folder), context={
                    "folder": str(folder), "province": name, "first": str(first)}))
            key = f"P{len(taken) + 1:02d}"
            values, projects = _read_exports(spec, folder, key, manifest)
            compared[key] = _read_comparison(spec, folder, manifest)
        except _Refused as err:
            refused.append(err.issue)
            continue
        seen_folders[folder.resolve()] = seen_names[_name_key(name)] = folder
        province = Province(key, name, folder, str(manifest["generated_at"]), int(manifest["agencies"]),
                            int(manifest["reported"]))
        taken.append((province, values, projects))
    rollup = _roll_up(spec, taken, refused, expected, generated_at)
    if not spec.form.get("plan_round"):
        return rollup
    return dataclasses.replace(rollup, plan=_plan_rollup(spec, rollup.provinces, compared))


def _roll_up(spec: FormSpec, taken: list[tuple[Province, pd.DataFrame, pd.DataFrame]], refused: list[Issue],
             expected: int | None, generated_at: dt.datetime | None) -> Rollup:
    provinces = tuple(p for p, _, _ in taken)
    keys = [p.key for p in provinces]
    empty_values = pd.DataFrame(columns=list(spec.fields), dtype=object)
    values = pd.concat([v for _, v, _ in taken] or [empty_values])
    projects = pd.concat([p for _, _, p in taken] or [_typed_projects(spec, pd.DataFrame(columns=["agency"]))],
                         ignore_index=True)
    group_of = pd.Series([k.split("/", 1)[0] for k in values.index], index=values.index, dtype=object)
    measures, _, totals, coverage = C.figures(spec, values, projects, group_of, keys)
    totals, coverage = (frame.rename(index={C.PROVINCE: NATION}) for frame in (totals, coverage))
    reporting = (coverage.loc[keys] > 0).sum(axis=0).astype(int) if keys else coverage.loc[NATION] * 0
    latest = max((p.generated_at for p in provinces), default="")
    from pipeline.report.national import national_frame

    return Rollup(
        frame=national_frame(spec), form_id=spec.form_id, form_version=spec.version, round=spec.round,
        title_vi=str(spec.form.get("title_vi", spec.form_id)),
        generated_at=generated_at or (dt.datetime.fromisoformat(latest) if latest else dt.datetime(2007, 8, 17)),
        provinces=provinces, expected=len(provinces) if expected is None else expected, measures=measures,
        totals=totals, coverage=coverage, provinces_reporting=reporting, refused=tuple(refused))


# --------------------------------------------------------------------------------------------------------
# Reading one province's exports


def _manifest(folder: Path) -> dict[str, Any]:
    data = folder / "data"
    missing = [name for name in (MANIFEST, INDICATORS, PROJECTS) if not (data / name).is_file()]
    if missing:
        raise _Refused(issue("ROLLUP_NO_EXPORTS", file=str(folder), context={
            "folder": str(folder), "missing": ", ".join(f"data/{name}" for name in missing)}))
    try:
        manifest = json.loads((data / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise _bad(folder, f"data/{MANIFEST}: {err}") from None
    absent = [key for key in MANIFEST_KEYS if not isinstance(manifest, dict) or key not in manifest]
    if absent:
        raise _bad(folder, f"data/{MANIFEST} thiếu / lacks {', '.join(absent)}")
    return manifest


def _bad(folder: Path, reason: str) -> _Refused:
    return _Refused(issue("ROLLUP_BAD_EXPORTS", file=str(folder), context={"folder": str(folder), "reason": reason}))


def _same_form(spec: FormSpec, folder: Path, manifest: dict[str, Any]) -> None:
    found = (str(manifest["form_id"]), str(manifest["form_version"]), str(manifest["round"]))
    wanted = (spec.form_id, spec.version, spec.round)
    if found != wanted:
        raise _Refused(issue("ROLLUP_OTHER_FORM", file=str(folder), context={
            "folder": str(folder), "province": manifest["province"], "found_round": found[2],
            "found_vi": _form_text(*found, "vi"), "found_en": _form_text(*found, "en"),
            "expected_vi": _form_text(*wanted, "vi"), "expected_en": _form_text(*wanted, "en")}))


def _form_text(form_id: str, version: str, round_: str, lang: str) -> str:
    return f"{form_id} phiên bản {version}, kỳ {round_}" if lang == "vi" else f"{form_id} version {version}, round {round_}"


def _name_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def _read_exports(spec: FormSpec, folder: Path, key: str, manifest: dict[str, Any]
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The province's counted returns (typed, indexed "<key>/<agency>") and projects (same agency keys)."""
    indicators = _csv(folder, INDICATORS)
    missing = [c for c in ("agency", *spec.fields) if c not in indicators.columns]
    if missing:
        raise _bad(folder, f"data/{INDICATORS} thiếu cột / lacks columns {', '.join(missing[:5])}")
    codes = indicators["agency"]
    if codes.duplicated().any() or (codes == "").any():
        raise _bad(folder, f"data/{INDICATORS}: mã đơn vị trống hoặc lặp lại / blank or repeated agency codes")
    if len(indicators) != int(manifest["reported"]):
        raise _bad(folder, f"data/{INDICATORS} có {len(indicators)} dòng, data/{MANIFEST} ghi {manifest['reported']}"
                           f" / {len(indicators)} rows against {manifest['reported']}")
    values = _typed_values(spec, folder, indicators)
    values.index = pd.Index([f"{key}/{code}" for code in codes], name="code")
    projects = _csv(folder, PROJECTS)
    assert spec.table is not None
    lacking = [c for c in ("agency", *(c.id for c in spec.table.columns)) if c not in projects.columns]
    if lacking:
        raise _bad(folder, f"data/{PROJECTS} thiếu cột / lacks columns {', '.join(lacking[:5])}")
    strangers = set(projects["agency"]) - set(codes)
    if strangers:  # a project of an agency not counted: exports of two different runs
        raise _bad(folder, f"data/{PROJECTS}: dự án của đơn vị không có trong data/{INDICATORS} / projects of agencies"
                           f" not in data/{INDICATORS}: {', '.join(sorted(strangers)[:5])}")
    projects = _typed_projects(spec, projects, folder)
    projects["agency"] = key + "/" + projects["agency"].astype(str)
    return values, projects


def summed_results(spec: FormSpec) -> tuple[Field, ...]:
    """The results of a report form held against a plan figure whose levels are sums (plan_vs_result.summed)."""
    return tuple(f for f in P.results_of(spec) if P.summed(f))


def _read_comparison(spec: FormSpec, folder: Path, manifest: dict[str, Any]) -> _Comparison:
    """The province's own "Thực hiện so với kế hoạch", province level; None when it compared nothing (its
    ledger holds no plan round: round.json names no plan_round)."""
    if not spec.form.get("plan_round") or not manifest.get("plan_round"):
        return None
    if str(manifest["plan_round"]) != str(spec.form["plan_round"]):
        raise _bad(folder, f"data/{MANIFEST}: plan_round {manifest['plan_round']} ≠ {spec.form['plan_round']}")
    missing = [name for name in (PLAN_TARGETS, PLAN_MONEY) if not (folder / "data" / name).is_file()]
    if missing:
        raise _Refused(issue("ROLLUP_NO_EXPORTS", file=str(folder), context={
            "folder": str(folder), "missing": ", ".join(f"data/{name}" for name in missing)}))
    targets, money = _csv(folder, PLAN_TARGETS), _csv(folder, PLAN_MONEY)
    for name, frame, columns in ((PLAN_TARGETS, targets, ("level", "code", "field", "target", "result", "n", "m")),
                                 (PLAN_MONEY, money, ("level", "code", "planned", "allocated", "disbursed",
                                                      "projects"))):
        lacking = [c for c in columns if c not in frame.columns]
        if lacking:
            raise _bad(folder, f"data/{name} thiếu cột / lacks columns {', '.join(lacking)}")
    own = targets[targets["level"] == P.PROVINCE_LEVEL].set_index("field")
    found: dict[str, dict[str, float | None]] = {}
    for f in summed_results(spec):
        if f.id not in own.index:
            raise _bad(folder, f"data/{PLAN_TARGETS}: không có chỉ tiêu / no row of {f.id}")
        found[f.id] = {k: _figure(folder, PLAN_TARGETS, k, own.at[f.id, k]) for k in ("target", "result", "n", "m")}
    province = money[money["level"] == P.PROVINCE_LEVEL]
    if len(province) != 1:
        raise _bad(folder, f"data/{PLAN_MONEY}: không có dòng toàn tỉnh / no province row")
    sums = {k: _figure(folder, PLAN_MONEY, k, province.iloc[0][k]) or 0.0
            for k in ("planned", "allocated", "disbursed", "projects")}
    return found, sums


def _figure(folder: Path, name: str, column: str, text: str) -> float | None:
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise _bad(folder, f"data/{name}, cột / column {column}: {text!r}") from None
    if not math.isfinite(value):
        raise _bad(folder, f"data/{name}, cột / column {column}: {text!r}")
    return value


def _plan_rollup(spec: FormSpec, provinces: tuple[Province, ...], compared: dict[str, _Comparison]) -> PlanRollup:
    """The nation's plan against result: sums of the provinces' (see the module's docstring)."""
    fields = summed_results(spec)
    rows, money_rows = [], []
    national = {f.id: {"target": 0.0, "result": 0.0, "n": 0, "m": 0} for f in fields}
    counted = dict.fromkeys((f.id for f in fields), 0)
    money = dict.fromkeys(("planned", "allocated", "disbursed", "projects"), 0.0)
    for p in provinces:
        found, sums = compared.get(p.key) or ({}, None)
        for f in fields:
            own = found.get(f.id) or {"target": None, "result": None, "n": 0, "m": p.agencies}
            n, m = int(own["n"] or 0), int(own["m"] if own["m"] is not None else p.agencies)
            target, result = (own["target"], own["result"]) if n else (None, None)
            rows.append({"key": p.key, "field": f.id, "target": target, "result": result,
                         **P.judged(target, result), "n": n, "m": m})
            national[f.id]["m"] += m
            if n and target is not None and result is not None:
                counted[f.id] += 1
                for k, v in (("target", target), ("result", result), ("n", n)):
                    national[f.id][k] += v
        money_rows.append({"key": p.key, **_money(sums)})
        for k in money:
            money[k] += (sums or {}).get(k, 0.0)
    for f in fields:
        total = national[f.id]
        target, result = (total["target"], total["result"]) if total["n"] else (None, None)
        rows.append({"key": NATION, "field": f.id, "target": target, "result": result, **P.judged(target, result),
                     "n": int(total["n"]), "m": int(total["m"])})
    money_compared = sum(1 for p in provinces if compared.get(p.key) is not None)
    money_rows.append({"key": NATION, **_money(money if money_compared else None)})
    return PlanRollup(str(spec.form["plan_round"]), fields,
                      pd.DataFrame(rows, columns=["key", "field", "target", "result", "gap", "pct", "reached", "n",
                                                  "m"]),
                      pd.DataFrame(money_rows, columns=["key", "planned", "allocated", "disbursed", "allocated_pct",
                                                        "disbursed_pct", "projects"]),
                      counted, money_compared)


def _money(sums: dict[str, float] | None) -> dict[str, Any]:
    if sums is None:
        return {"planned": None, "allocated": None, "disbursed": None, "allocated_pct": None, "disbursed_pct": None,
                "projects": 0}
    planned, allocated, disbursed = sums["planned"], sums["allocated"], sums["disbursed"]
    return {"planned": planned, "allocated": allocated, "disbursed": disbursed,
            "allocated_pct": 100.0 * allocated / planned if planned else None,
            "disbursed_pct": 100.0 * disbursed / allocated if allocated else None, "projects": int(sums["projects"])}


def _csv(folder: Path, name: str) -> pd.DataFrame:
    try:
        return pd.read_csv(folder / "data" / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as err:
        raise _bad(folder, f"data/{name}: {err}") from None


def _typed_values(spec: FormSpec, folder: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """indicators.csv's text back to the ledger's types, for the fields that are figures; the rest stay text."""
    out = pd.DataFrame(index=frame.index, columns=list(spec.fields), dtype=object)
    for f in spec.fields.values():
        column = frame[f.id]
        if f.type == "bool":
            bad = ~column.isin(["True", "False", ""])
            typed = column.map({"True": True, "False": False, "": None})
        elif f.type in NUMERIC_TYPES:
            typed = pd.to_numeric(column.replace("", np.nan), errors="coerce")
            bad = typed.isna() & (column != "")
            typed = typed.astype(object).where(typed.notna(), None)
        else:
            bad, typed = column != column, column.where(column != "", None)
        if bad.any():
            raise _bad(folder, f"data/{INDICATORS}, cột / column {f.id}: {column[bad].iloc[0]!r}")
        out[f.id] = typed.astype(object).to_numpy()
    return out


def _typed_projects(spec: FormSpec, frame: pd.DataFrame, folder: Path | None = None) -> pd.DataFrame:
    assert spec.table is not None
    frame = frame.reindex(columns=["agency", *(c.id for c in spec.table.columns)])
    for c in spec.table.columns:
        if c.type in NUMERIC_TYPES:
            text = frame[c.id].fillna("")
            typed = pd.to_numeric(text.replace("", np.nan), errors="coerce")
            bad = typed.isna() & (text != "")
            if bad.any() and folder is not None:
                raise _bad(folder, f"data/{PROJECTS}, cột / column {c.id}: {text[bad].iloc[0]!r}")
            frame[c.id] = typed.astype(float)
    return frame


# --------------------------------------------------------------------------------------------------------
# Output: the national workbook and the tidy CSVs


def rollup_name(rollup: Rollup) -> str:
    return f"tong_hop_toan_quoc_{rollup.form_id}_{rollup.round}.xlsx"


def write_rollup(rollup: Rollup, out_dir: Path) -> list[Path]:
    """The workbook and the two CSVs, each written atomically; returns the paths written."""
    out = Path(out_dir)
    data = out / "data"
    written = [
        write_atomic(out / rollup_name(rollup), lambda temp: _write_workbook(rollup, str(temp)), fallback=True),
        write_atomic(data / "rollup_totals.csv", lambda temp: write_csv(totals_frame(rollup), {"province"}, temp),
                     fallback=True),
        write_atomic(data / "rollup_provinces.csv",
                     lambda temp: write_csv(provinces_frame(rollup), {"province", "folder"}, temp), fallback=True),
    ]
    if rollup.plan is not None:
        targets, money = plan_frames(rollup)
        written += [write_atomic(data / "rollup_plan_targets.csv", lambda temp: write_csv(targets, {"province"}, temp),
                                 fallback=True),
                    write_atomic(data / "rollup_plan_money.csv", lambda temp: write_csv(money, {"province"}, temp),
                                 fallback=True)]
    return written


def plan_frames(rollup: Rollup) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The plan against result, long: one row per province or nation (and result), with its coverage."""
    plan = rollup.plan
    assert plan is not None
    names = {p.key: p.name for p in rollup.provinces} | {NATION: "Toàn quốc"}
    levels = {NATION: "nation"}
    labels = {f.id: f.vi for f in plan.fields}
    targets = plan.targets.assign(
        level=plan.targets["key"].map(lambda k: levels.get(k, "province")), province=plan.targets["key"].map(names),
        label_vi=plan.targets["field"].map(labels),
        provinces_compared=[plan.compared[f] if k == NATION else None
                            for k, f in zip(plan.targets["key"], plan.targets["field"], strict=True)],
        provinces_expected=[rollup.expected if k == NATION else None for k in plan.targets["key"]])
    money = plan.money.assign(level=plan.money["key"].map(lambda k: levels.get(k, "province")),
                              province=plan.money["key"].map(names))
    return (targets[["level", "province", "field", "label_vi", "target", "result", "gap", "pct", "reached", "n", "m",
                     "provinces_compared", "provinces_expected"]].astype(
                {"provinces_compared": "Int64", "provinces_expected": "Int64"}),
            money[["level", "province", "planned", "allocated", "disbursed", "allocated_pct", "disbursed_pct",
                   "projects"]])


def totals_frame(rollup: Rollup) -> pd.DataFrame:
    """Long: one row per (province or nation, measure) with its total and coverage."""
    rows = []
    m_agencies = {p.key: p.agencies for p in rollup.provinces}
    levels = [(p.key, "province", p.name) for p in rollup.provinces] + [(NATION, "nation", "Toàn quốc")]
    for key, level, name in levels:
        for m in rollup.aggregated:
            total = rollup.totals.at[key, m.id]
            rows.append({
                "level": level, "province": name, "measure": m.id, "label_vi": m.vi, "unit": m.unit, "how": m.how,
                "value": None if pd.isna(total) else float(total),
                "agencies_reported": int(rollup.coverage.at[key, m.id]),
                "agencies_expected": m_agencies.get(key, rollup.agencies()[1]),
                "provinces_reported": int(rollup.provinces_reporting[m.id]) if key == NATION else None,
                "provinces_expected": rollup.expected if key == NATION else None,
            })
    frame = pd.DataFrame(rows, columns=["level", "province", "measure", "label_vi", "unit", "how", "value",
                                       "agencies_reported", "agencies_expected", "provinces_reported",
                                       "provinces_expected"])
    return frame.astype({c: "Int64" for c in ("agencies_reported", "agencies_expected", "provinces_reported",
                                              "provinces_expected")})


def provinces_frame(rollup: Rollup) -> pd.DataFrame:
    """Every folder given: the provinces taken, then the folders refused with their issue."""
    taken = [{"province": p.name, "folder": str(p.folder), "status": "taken", "code": None, "generated_at":
              p.generated_at, "agencies": p.agencies, "reported": p.reported, "message_vi": None, "message_en": None}
             for p in rollup.provinces]
    refused = [{"province": i.context.get("province"), "folder": i.file, "status": "refused", "code": i.code,
                "generated_at": None, "agencies": None, "reported": None, "message_vi": i.message("vi"),
                "message_en": i.message("en")} for i in rollup.refused]
    frame = pd.DataFrame(taken + refused, columns=["province", "folder", "status", "code", "generated_at", "agencies",
                                                   "reported", "message_vi", "message_en"])
    return frame.astype({"agencies": "Int64", "reported": "Int64"})


def coverage_text(n: int, m: int, unit: str = "tỉnh") -> str:
    return f"{C.coverage_text(n, m)} {unit}"


class _Book:
    """The national workbook: Vietnamese, no formula, nothing from a province's files ever a formula."""

    def __init__(self, rollup: Rollup, book: xlsxwriter.Workbook) -> None:
        self.r = rollup
        self.book = book
        self.st = Styles(book)

    def text(self, ws: Worksheet, row: int, col: int, value: str, kind: str = "text", style: str = "body") -> None:
        ws.write_string(row, col, safe_text(value), self.st.get(kind, style, value.startswith(FORMULA_CHARS)))

    def number(self, ws: Worksheet, row: int, col: int, value: Any, kind: str, style: str = "body") -> None:
        if value is None or pd.isna(value) or not math.isfinite(float(value)):
            ws.write_blank(row, col, None, self.st.get(kind, style))
        else:
            ws.write_number(row, col, float(value), self.st.get(kind, style))

    def sheet(self, name: str) -> Worksheet:
        ws = self.book.add_worksheet(name)
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        return ws

    def heading(self, ws: Worksheet, title: str) -> int:
        n, m = len(self.r.provinces), self.r.expected
        agencies_n, agencies_m = self.r.agencies()
        self.text(ws, 0, 0, title, "title")
        self.text(ws, 1, 0, f"{self.r.title_vi} — mẫu {self.r.form_id} phiên bản {self.r.form_version}, "
                            f"kỳ {self.r.round}", "subtitle")
        self.text(ws, 2, 0, f"Số liệu của {coverage_text(n, m)}, {coverage_text(agencies_n, agencies_m, 'đơn vị')}"
                            f" báo cáo; tổng hợp đến ngày {self.r.generated_at:%d/%m/%Y}.", "subtitle")
        return 4

    def header(self, ws: Worksheet, row: int, cols: Iterable[Col]) -> None:
        cols = list(cols)
        ws.set_row(row, header_height(cols))
        for c, col in enumerate(cols):
            self.text(ws, row, c, col.header, "header")
            ws.set_column(c, c, col.width)

    def measures_sheet(self, name: str, title: str, measures: list[C.Measure]) -> None:
        ws = self.sheet(name)
        top = self.heading(ws, title)
        lead = [Col("STT", 5, "center"), Col("Tỉnh, thành phố", 22), Col("Đơn vị báo cáo", 10, "center")]
        cols = lead + [Col(f"{m.vi} ({m.unit})" if m.unit else m.vi, 13, CELL_KINDS.get(m.fmt, "count"))
                       for m in measures]
        self.header(ws, top, cols)
        row = top + 1
        for i, p in enumerate(self.r.provinces, start=1):
            self.number(ws, row, 0, i, "int")
            self.text(ws, row, 1, p.name)
            self.text(ws, row, 2, C.coverage_text(p.reported, p.agencies), "center")
            for c, m in enumerate(measures, start=len(lead)):
                self.number(ws, row, c, self.r.totals.at[p.key, m.id], cols[c].kind)
            row += 1
        agencies_n, agencies_m = self.r.agencies()
        ws.merge_range(row, 0, row, 1, "", self.st.get("text", "total"))
        self.text(ws, row, 0, "Toàn quốc", style="total")
        self.text(ws, row, 2, C.coverage_text(agencies_n, agencies_m), "center", "total")
        for c, m in enumerate(measures, start=len(lead)):
            self.number(ws, row, c, self.r.totals.at[NATION, m.id], cols[c].kind, "total")
        for label, texts in (
                ("Số tỉnh có số liệu", [coverage_text(int(self.r.provinces_reporting[m.id]), self.r.expected)
                                        for m in measures]),
                ("Số đơn vị có số liệu", [coverage_text(int(self.r.coverage.at[NATION, m.id]), agencies_m, "đơn vị")
                                          for m in measures])):
            row += 1
            ws.merge_range(row, 0, row, 2, "", self.st.get("text", "coverage"))
            self.text(ws, row, 0, label, style="coverage")
            for c, value in enumerate(texts, start=len(lead)):
                self.text(ws, row, c, value, style="coverage")
        ws.freeze_panes(top + 1, len(lead))
        ws.repeat_rows(top)

    def provinces_sheet(self) -> None:
        ws = self.sheet("Thư mục các tỉnh")
        top = self.heading(ws, "THƯ MỤC SỐ LIỆU CỦA CÁC TỈNH, THÀNH PHỐ")
        cols = [Col("STT", 5, "center"), Col("Tỉnh, thành phố", 22), Col("Thư mục", 40),
                Col("Số liệu đến ngày", 14, "center"), Col("Đơn vị báo cáo", 12, "center"), Col("Ghi chú", 70, "wrap")]
        self.header(ws, top, cols)
        row = top + 1
        for i, p in enumerate(self.r.provinces, start=1):
            self.number(ws, row, 0, i, "int")
            for c, value in enumerate((p.name, str(p.folder), date_text(p.generated_at),
                                       C.coverage_text(p.reported, p.agencies), "Đã cộng vào số liệu toàn quốc"),
                                      start=1):
                self.text(ws, row, c, value, cols[c].kind)
            row += 1
        for i in self.r.refused:
            self.text(ws, row, 1, str(i.context.get("province") or ""), style="rejected")
            self.text(ws, row, 2, i.file or "", style="rejected")
            self.text(ws, row, 5, i.message("vi"), "wrap", "rejected")
            ws.set_row(row, 40)
            row += 1

    def method_sheet(self) -> None:
        ws = self.sheet("Cách tính")
        self.text(ws, 0, 0, "CÁCH TÍNH SỐ LIỆU TOÀN QUỐC", "title")
        ws.set_column(0, 0, 120)
        notes = (
            "Số liệu lấy từ tệp xuất (thư mục data/) của lần tổng hợp gần nhất của từng tỉnh: round.json, "
            "indicators.csv, projects.csv. Mỗi tỉnh chỉ được cộng một lần.",
            "Tổng toàn quốc là tổng các chỉ tiêu cộng được (số lượng, kinh phí) của mọi đơn vị đã báo cáo; "
            "chỉ tiêu Có/Không tính số đơn vị trả lời \"Có\".",
            "Tỷ lệ được tính lại từ các tổng toàn quốc (ví dụ tổng số máy tính / tổng số CBCCVC), "
            "không lấy bình quân tỷ lệ của các tỉnh. Tỷ lệ do đơn vị tự nhập là bình quân gia quyền theo số CBCCVC.",
            "\"n/m tỉnh\": n tỉnh có ít nhất một đơn vị báo cáo chỉ tiêu, m tỉnh phải báo cáo. "
            "\"n/m đơn vị\": n đơn vị có số liệu của chỉ tiêu trên tổng số đơn vị của các tỉnh đã cộng.",
            "Không cộng thư mục của mẫu, phiên bản hoặc kỳ báo cáo khác, thư mục thiếu tệp xuất "
            "và thư mục đã cộng (xem trang \"Các tỉnh\").",
        )
        for row, note in enumerate(notes, start=2):
            self.text(ws, row, 0, note, "para")

    def write(self) -> None:
        """The print set first (report.national: the biểu in the official frame), then the working sheets,
        left out of printing."""
        from pipeline.report.national import national_bieu
        from pipeline.report.print_set import exclude_from_printing, write_print_set

        assert self.r.frame is not None  # build_rollup gives every Rollup its frame
        printed = write_print_set(self.book, national_bieu(self.r), self.r.frame, self.r.generated_at.year)
        self.measures_sheet("Tất cả chỉ tiêu", "TỔNG HỢP TOÀN QUỐC — TẤT CẢ CHỈ TIÊU", self.r.aggregated)
        self.provinces_sheet()
        self.method_sheet()
        for ws in self.book.worksheets()[len(printed):]:
            exclude_from_printing(ws)


def date_text(iso: str) -> str:
    try:
        return f"{dt.datetime.fromisoformat(iso):%d/%m/%Y}"
    except ValueError:
        return iso


def _write_workbook(rollup: Rollup, target: str) -> None:
    book = xlsxwriter.Workbook(target, {"in_memory": False, **WORKBOOK_OPTIONS})
    book.set_properties({"title": f"Tổng hợp toàn quốc {rollup.form_id} {rollup.round}",
                         "created": rollup.generated_at})
    _Book(rollup, book).write()
    book.close()
