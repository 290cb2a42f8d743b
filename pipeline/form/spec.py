"""The form spec: load `workbook_templates/form_spec.yaml` into frozen dataclasses, checking every entry.

Everything else — the template workbook, the cell map, the schemas, the rulebook, the summary layout — is
derived from the FormSpec this module returns. A spec with a mistake fails to load with a SpecError that
names the place ("sheets[1].sections[0].fields[3] (so_may_xach_tay): unknown type 'integer'").

Derived here, once, so that no later stage re-derives it differently:
- target rows expand into one computed field (current value) and one input field per target year;
- the project table's totals row becomes return-level fields (``da_kp_2008`` …) usable in rules;
- monotone targets become warning rules (R13-<target>).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.filenames import name_problem
from pipeline.form import expr
from pipeline.form.bundled import bundled

# The safe loader, in C when PyYAML has libyaml (10× faster: every command loads the spec at start).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEFAULT_SPEC = bundled("form_spec.yaml")

INPUT_TYPES = {"str", "text", "int", "dec", "money", "pct", "bool", "choice", "date", "year", "phone", "email",
               "url", "agency"}
FIELD_TYPES = INPUT_TYPES | {"computed"}
NUMERIC_TYPES = {"int", "dec", "money", "pct", "year", "computed"}
TEXT_TYPES = {"str", "text", "phone", "email", "url"}
COMPUTED_FORMATS = {"int", "dec", "money", "pct", "ratio"}
SEVERITIES = {"error", "warning"}
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

_FIELD_KEYS = {"id", "vi", "en", "type", "unit", "required", "prefilled", "min", "max", "warn_min", "warn_max",
               "choices", "formula", "format", "pattern", "pattern_vi", "pattern_en", "expect", "expect_vi",
               "expect_en", "min_length", "help_vi", "help_en", "width", "plan_field"}
_TARGET_KEYS = {"id", "vi", "en", "type", "unit", "min", "max", "current"}
_GRID_KEYS = {"type", "unit", "min", "max", "warn_max", "columns", "column_vi", "rows", "head_vi"}
_GRID_ROW_KEYS = {"id", "vi", "en", "sum"}
_RULE_KEYS = {"id", "severity", "scope", "when", "check", "at", "vi", "en"}
_DEFAULT_UNITS = {"money": "triệu đồng", "pct": "%"}


class SpecError(ValueError):
    """The spec file has a mistake; the message says where and what."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what


@dataclass(frozen=True)
class Choice:
    code: str
    vi: str
    en: str


@dataclass(frozen=True)
class Field:
    id: str
    vi: str
    en: str
    type: str
    sheet: str  # sheet id
    section: str  # section id
    kind: str = "field"  # field | current | target | grid | total | column
    unit: str = ""
    unit_en: str = ""  # the unit in English, from the spec's `units` table
    required: bool = False
    prefilled: bool = False
    min: Any = None
    max: Any = None
    warn_min: Any = None
    warn_max: Any = None
    choices: str | None = None
    formula: expr.Expr | None = None
    format: str | None = None  # for computed fields: how to show the value
    pattern: str | None = None
    pattern_vi: str = ""
    pattern_en: str = ""
    expect: str | None = None
    expect_vi: str = ""
    expect_en: str = ""
    min_length: int | None = None
    help_vi: str = ""
    help_en: str = ""
    width: float | None = None
    target_of: str | None = None  # base id of a target row
    year: int | None = None  # target year, or the current year for a 'current' field
    plan_field: str | None = None  # a report form's result: the field of the plan round's return it is held against

    @property
    def is_input(self) -> bool:
        return self.type != "computed" and self.kind != "total"

    @property
    def value_type(self) -> str:
        """The type of the value: computed fields take their display format's type."""
        if self.type == "computed":
            return {"ratio": "dec"}.get(self.format or "dec", self.format or "dec")
        return self.type

    def label(self, lang: str) -> str:
        return self.vi if lang == "vi" else self.en

    def unit_in(self, lang: str) -> str:
        return self.unit if lang == "vi" else self.unit_en


@dataclass(frozen=True)
class Section:
    id: str
    vi: str
    en: str
    fields: tuple[str, ...]  # field ids, in form order (targets: current, then years, per row)
    targets: tuple[str, ...] = ()  # base ids of target rows
    target_years: tuple[int, ...] = ()
    current_vi: str = ""
    grid: tuple[str, ...] = ()  # base ids of grid rows (a grid section: one field per row and column)
    grid_columns: tuple[str, ...] = ()  # the grid's column keys (years): field id = <row id>_<column key>
    grid_head_vi: tuple[str, ...] = ()  # header labels: the rows' heading, then one per column
    grid_labels: tuple[str, ...] = ()  # each grid row's label, as the sheet shows it
    answered_by: tuple[str, ...] = ()  # agency types (loai_don_vi codes) the section is for; () = every agency


@dataclass(frozen=True)
class Table:
    id: str
    vi: str
    en: str
    rows: int
    total_vi: str
    key: str | None
    columns: tuple[Field, ...]
    totals: dict[str, str]  # column id -> return-level field id
    sheet: str = ""  # the id of the sheet it fills
    items_vi: str = "dòng"  # what one row is ("dự án", "nhiệm vụ", "thủ tục")
    items_en: str = "rows"

    def column(self, column_id: str) -> Field:
        return next(c for c in self.columns if c.id == column_id)


@dataclass(frozen=True)
class Sheet:
    id: str
    name: str
    sections: tuple[Section, ...] = ()
    table: Table | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    scope: str  # "return" or the table id
    check: expr.Expr
    when: expr.Expr | None
    at: str
    vi: str
    en: str

    @property
    def names(self) -> frozenset[str]:
        return self.check.names | (self.when.names if self.when else frozenset())


@dataclass(frozen=True, eq=False)  # identity hash: one loaded spec, cached derivations (layout)
class FormSpec:
    form_id: str
    version: str
    round: str
    form: dict[str, Any]
    instructions: tuple[str, ...]
    choices: dict[str, tuple[Choice, ...]]
    sheets: tuple[Sheet, ...]
    fields: dict[str, Field]  # every return-level field (inputs, computed, targets, table totals)
    rules: tuple[Rule, ...]
    sha256: str
    path: str = ""
    table: Table | None = field(default=None)  # the project table (form.project_table, or the first table)
    tables: tuple[Table, ...] = ()  # every table of the form, in sheet order (the project table among them)

    def sheet(self, sheet_id: str) -> Sheet:
        return next(s for s in self.sheets if s.id == sheet_id)

    def sheet_name(self, sheet_id: str) -> str:
        return self.sheet(sheet_id).name

    def choice_label(self, list_name: str, code: str, lang: str = "vi") -> str:
        for choice in self.choices.get(list_name, ()):
            if choice.code == code:
                return choice.vi if lang == "vi" else choice.en
        return code

    def rules_for(self, scope: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.scope == scope)

    def table_named(self, table_id: str) -> Table:
        return next(t for t in self.tables if t.id == table_id)

    @property
    def other_tables(self) -> tuple[Table, ...]:
        """The tables besides the project table (annual plan, online services): read, checked and
        recorded the same way, without project ids or content-area totals."""
        return tuple(t for t in self.tables if t is not self.table)

    def to_json(self) -> dict[str, Any]:
        """The spec as plain JSON data (`ictplan spec --json`): what other tools build on."""
        def field_json(f: Field) -> dict[str, Any]:
            out: dict[str, Any] = {
                "id": f.id, "vi": f.vi, "en": f.en, "type": f.type, "kind": f.kind, "sheet": f.sheet,
                "section": f.section, "unit": f.unit, "unit_en": f.unit_en, "required": f.required,
            }
            for key in ("min", "max", "warn_min", "warn_max", "choices", "format", "pattern", "expect",
                        "min_length", "target_of", "year", "plan_field"):
                value = getattr(f, key)
                if value is not None:
                    out[key] = value.isoformat() if isinstance(value, dt.date) else value
            if f.formula is not None:
                out["formula"] = f.formula.source
            return out

        return {
            "form": {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.form.items()
                     if not isinstance(v, list)}
                    | {"collection_window": [d.isoformat() for d in self.form.get("collection_window", [])]},
            "sha256": self.sha256,
            "instructions": list(self.instructions),
            "choices": {k: [{"code": c.code, "vi": c.vi, "en": c.en} for c in v] for k, v in self.choices.items()},
            "sheets": [
                {"id": s.id, "name": s.name,
                 "sections": [{"id": x.id, "vi": x.vi, "en": x.en, "fields": list(x.fields)}
                              | ({"grid": {"rows": list(x.grid), "columns": list(x.grid_columns)}} if x.grid else {})
                              | ({"answered_by": list(x.answered_by)} if x.answered_by else {})
                              for x in s.sections],
                 "table": None if s.table is None else {
                     "id": s.table.id, "vi": s.table.vi, "en": s.table.en, "rows": s.table.rows,
                     "key": s.table.key, "totals": s.table.totals, "projects": s.table is self.table,
                     "columns": [field_json(c) for c in s.table.columns]}}
                for s in self.sheets
            ],
            "fields": [field_json(f) for f in self.fields.values()],
            "rules": [
                {"id": r.id, "severity": r.severity, "scope": r.scope, "check": r.check.source,
                 "when": r.when.source if r.when else None, "at": r.at, "vi": r.vi, "en": r.en}
                for r in self.rules
            ],
        }


def load_spec(path: str | Path | None = None) -> FormSpec:
    """Load and check a spec file (default: the bundled form spec). A spec with `form.base_spec` takes
    that spec's units and choices, and its fields, table columns and rules where it says `same: <id>`."""
    path = Path(path) if path else DEFAULT_SPEC
    raw_bytes, data = _read_yaml(path)
    digest = hashlib.sha256(raw_bytes)
    base_name = data.get("form", {}).get("base_spec") if isinstance(data, dict) and isinstance(
        data.get("form"), dict) else None
    if base_name:
        base_path = path.parent / str(base_name)
        base_bytes, base = _read_yaml(base_path)
        if isinstance(base, dict) and isinstance(base.get("form"), dict) and base["form"].get("base_spec"):
            raise SpecError("form.base_spec", f"{base_name} has a base_spec itself: one level only")
        data = _on_base(data, base, str(base_name))
        digest.update(base_bytes)  # a change to the base changes this form too
    spec = build_spec(data)
    return _with(spec, sha256=digest.hexdigest(), path=str(path))


def round_specs(*folders: Path) -> dict[str, Path]:
    """Round → its spec file, for every spec (`*spec.yaml`) in `folders` (default: the bundled folder, where
    form_spec.yaml and report_2008_spec.yaml are). Files that are not specs are passed over."""
    found: dict[str, Path] = {}
    for folder in folders or (DEFAULT_SPEC.parent,):
        for path in sorted(folder.glob("*spec.yaml")):
            try:
                form = yaml.load(path.read_bytes(), Loader=_YAML_LOADER).get("form") or {}
            except (OSError, yaml.YAMLError, AttributeError):
                continue
            if isinstance(form, dict) and form.get("round"):
                found.setdefault(str(form["round"]), path)
    return found


def plan_spec_of(spec: FormSpec) -> FormSpec:
    """The spec of the round whose plan `spec` reports on (its `base_spec`, of round `plan_round`)."""
    base, wanted = spec.form.get("base_spec"), spec.form.get("plan_round")
    if not base or not wanted:
        raise SpecError("form.plan_round", f"{spec.form_id} reports on no plan (no base_spec and plan_round)")
    plan = load_spec(Path(spec.path).parent / str(base) if spec.path else DEFAULT_SPEC.parent / str(base))
    if plan.round != str(wanted):
        raise SpecError("form.plan_round", f"{base} is round {plan.round}, not the plan round {wanted}")
    return plan


def reports_on(plan: FormSpec) -> list[FormSpec]:
    """The report forms beside `plan`'s file whose `plan_round` is its round (the 2008 report on the 2007
    plans), in round order."""
    folder = Path(plan.path).parent if plan.path else DEFAULT_SPEC.parent
    found = []
    for round_, path in sorted(round_specs(folder).items()):
        if round_ != plan.round and path != Path(plan.path):
            candidate = load_spec(path)
            if str(candidate.form.get("plan_round", "")) == plan.round:
                found.append(candidate)
    return found


def spec_for_round(round_: str, *folders: Path) -> Path:
    """The spec file of round `round_` (see `round_specs`); SpecError naming the rounds there are."""
    known = round_specs(*folders)
    if round_ not in known:
        raise SpecError("--round", f"no form spec of round {round_!r} (rounds with a spec: {', '.join(known)})")
    return known[round_]


def _read_yaml(path: Path) -> tuple[bytes, Any]:
    try:
        raw_bytes = path.read_bytes()
    except OSError as err:
        raise SpecError(str(path), f"cannot read the spec file ({err.strerror})") from None
    try:
        return raw_bytes, yaml.load(raw_bytes, Loader=_YAML_LOADER)  # a safe loader (libyaml's when present)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path.name} line {mark.line + 1}" if mark else path.name
        raise SpecError(where, f"not valid YAML ({getattr(err, 'problem', err)})") from None


def _on_base(data: dict[str, Any], base: Any, base_name: str) -> dict[str, Any]:
    """`data` with what it takes from its base spec: the base's units and choices under its own (its own
    win), and every `{same: id, …}` entry replaced by the base's entry of that id with the keys given beside
    `same` over it (a key given as null is dropped). Fields are named by id, table columns by
    `<table id>.<column id>`, rules by rule id."""
    if not isinstance(base, dict):
        raise SpecError("form.base_spec", f"{base_name} is not a spec")
    entries: dict[str, dict[str, Any]] = {}
    rules: dict[str, dict[str, Any]] = {}
    for sheet in base.get("sheets") or ():
        for section in sheet.get("sections") or ():
            for item in section.get("fields") or ():
                entries[str(item.get("id"))] = item
        table = sheet.get("table")
        if isinstance(table, dict):
            for column in table.get("columns") or ():
                entries[f"{table.get('id')}.{column.get('id')}"] = column
    for rule in base.get("rules") or ():
        rules[str(rule.get("id"))] = rule

    def resolve(item: Any, known: dict[str, dict[str, Any]], where: str) -> Any:
        if not isinstance(item, dict) or "same" not in item:
            return item
        name = str(item["same"])
        if name not in known:
            raise SpecError(where, f"same: '{name}' is not in {base_name}")
        merged = {**known[name], **{k: v for k, v in item.items() if k != "same"}}
        if "." in name and "id" not in item:
            merged["id"] = name.split(".", 1)[1]
        return {k: v for k, v in merged.items() if v is not None}

    out = dict(data)
    out["units"] = {**(base.get("units") or {}), **(data.get("units") or {})}
    out["choices"] = {**(base.get("choices") or {}), **(data.get("choices") or {})}
    sheets = []
    for i, sheet in enumerate(data.get("sheets") or ()):
        sheet = dict(sheet)
        if "sections" in sheet:
            sheet["sections"] = [
                {**section, "fields": [resolve(f, entries, f"sheets[{i}].sections[{j}].fields[{k}]")
                                       for k, f in enumerate(section.get("fields") or ())]}
                if "fields" in section else section
                for j, section in enumerate(sheet["sections"])]
        if isinstance(sheet.get("table"), dict):
            table = dict(sheet["table"])
            table["columns"] = [resolve(c, entries, f"sheets[{i}].table.columns[{k}]")
                                for k, c in enumerate(table.get("columns") or ())]
            sheet["table"] = table
        sheets.append(sheet)
    out["sheets"] = sheets
    out["rules"] = [resolve(r, rules, f"rules[{k}]") for k, r in enumerate(data.get("rules") or ())]
    return out


def _plan_field(data: dict[str, Any], where: str) -> str | None:
    value = data.get("plan_field")
    if value is not None and (not isinstance(value, str) or not ID_PATTERN.match(value)):
        raise SpecError(where, "plan_field must be a field id of the plan round's form")
    return value


def _with(spec: FormSpec, **changes: Any) -> FormSpec:
    from dataclasses import replace

    return replace(spec, **changes)


def build_spec(data: Any) -> FormSpec:
    """Build a FormSpec from parsed YAML data (also used by tests with inline specs)."""
    if not isinstance(data, dict):
        raise SpecError("spec", "the top level must be a mapping with form, choices, sheets and rules")
    form = _require_mapping(data, "form", "spec")
    for key in ("id", "version", "round"):
        if not form.get(key):
            raise SpecError("form", f"missing '{key}'")
        if problem := name_problem(str(form[key])):  # the templates' and the summary's names are made of them
            raise SpecError(f"form.{key}", f"{form[key]!r} is part of file names: {problem}")
    choices = _load_choices(data.get("choices") or {})
    builder = _Builder(choices, _load_units(data.get("units") or {}))
    sheets = tuple(builder.sheet(s, f"sheets[{i}]") for i, s in enumerate(_require_list(data, "sheets", "spec")))
    _check_unique((s.name for s in sheets), "sheets", "sheet name")
    _check_unique((s.id for s in sheets), "sheets", "sheet id")
    rules = [builder.rule(r, f"rules[{i}]") for i, r in enumerate(data.get("rules") or [])]
    rules += builder.target_rules()
    _check_unique((r.id for r in rules), "rules", "rule id")
    builder.check_references(rules)
    tables = tuple(s.table for s in sheets if s.table is not None)
    table = _project_table(form, tables)
    return FormSpec(
        form_id=str(form["id"]), version=str(form["version"]), round=str(form["round"]), form=dict(form),
        instructions=tuple(str(x) for x in data.get("instructions") or ()), choices=choices, sheets=sheets,
        fields=builder.fields, rules=tuple(rules), sha256="", table=table, tables=tables,
    )


def _project_table(form: dict[str, Any], tables: tuple[Table, ...]) -> Table | None:
    """The table of projects (form.project_table; default the first table): the one the summary lists
    with project ids, content areas and duplicates."""
    wanted = form.get("project_table")
    if wanted is None:
        return tables[0] if tables else None
    found = next((t for t in tables if t.id == wanted), None)
    if found is None:
        raise SpecError("form", f"project_table '{wanted}' is not the id of a table")
    return found


def _require_mapping(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise SpecError(where, f"'{key}' must be a mapping")
    return value


def _require_list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise SpecError(where, f"'{key}' must be a non-empty list")
    return value


def _check_unique(values: Iterable[str], where: str, what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise SpecError(where, f"duplicate {what} '{value}'")
        seen.add(value)


def _load_units(data: Any) -> dict[str, str]:
    """The units' English names: Vietnamese unit → English unit (a message in English says "people", not
    "người")."""
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) and k and v
                                             for k, v in data.items()):
        raise SpecError("units", "must map each Vietnamese unit to its English name, e.g. người: people")
    return dict(data)


def _load_choices(data: dict[str, Any]) -> dict[str, tuple[Choice, ...]]:
    out: dict[str, tuple[Choice, ...]] = {}
    for name, items in data.items():
        where = f"choices.{name}"
        if not isinstance(items, list) or not items:
            raise SpecError(where, "must be a non-empty list of [code, Vietnamese label, English label]")
        entries = []
        for i, item in enumerate(items):
            if not (isinstance(item, list) and len(item) == 3 and all(isinstance(x, str) and x for x in item)):
                raise SpecError(f"{where}[{i}]", "must be [code, Vietnamese label, English label]")
            entries.append(Choice(*item))
        _check_unique((c.code for c in entries), where, "choice code")
        _check_unique((c.vi for c in entries), where, "Vietnamese label")
        out[name] = tuple(entries)
    return out


class _Builder:
    """Accumulates fields while walking the sheets, so references can be checked at the end."""

    def __init__(self, choices: dict[str, tuple[Choice, ...]], units: dict[str, str]) -> None:
        self.choices = choices
        self.units = units
        self.fields: dict[str, Field] = {}
        self.table_columns: dict[str, dict[str, Field]] = {}
        self.places: dict[str, str] = {}
        self._targets: list[tuple[str, str, tuple[int, ...], str]] = []

    def sheet(self, data: Any, where: str) -> Sheet:
        if not isinstance(data, dict):
            raise SpecError(where, "must be a mapping")
        sheet_id, name = data.get("id"), data.get("name")
        if not isinstance(sheet_id, str) or not ID_PATTERN.match(sheet_id):
            raise SpecError(where, "needs an 'id' of lower-case letters, digits and _")
        if not isinstance(name, str) or not name or len(name) > 31 or set(name) & set("[]:*?/\\"):
            raise SpecError(where, "needs a 'name' of at most 31 characters without []:*?/\\ (an Excel sheet name)")
        if "table" in data:
            return Sheet(sheet_id, name, table=self.table(data["table"], sheet_id, f"{where}.table"))
        sections = tuple(self.section(s, sheet_id, f"{where}.sections[{i}]")
                         for i, s in enumerate(_require_list(data, "sections", where)))
        return Sheet(sheet_id, name, sections=sections)

    def section(self, data: Any, sheet_id: str, where: str) -> Section:
        if not isinstance(data, dict) or not data.get("id") or not data.get("vi") or not data.get("en"):
            raise SpecError(where, "a section needs id, vi and en")
        section_id = str(data["id"])
        if "targets" in data:
            return self.targets_section(data, sheet_id, section_id, where)
        if "grid" in data:
            return self.grid_section(data, sheet_id, section_id, where)
        ids = []
        for i, item in enumerate(_require_list(data, "fields", where)):
            f = self.field(item, sheet_id, section_id, f"{where}.fields[{i}]")
            self.add(f, f"{where}.fields[{i}]")
            ids.append(f.id)
        return Section(section_id, str(data["vi"]), str(data["en"]), tuple(ids),
                       answered_by=self.answered_by(data, f"{where}.answered_by"))

    def answered_by(self, data: dict[str, Any], where: str) -> tuple[str, ...]:
        """The agency types a section is for (codes of the `loai_don_vi` list): the summary counts only those
        agencies as expected to answer it ("10/12" districts, not "10/41")."""
        codes = data.get("answered_by", [])
        known = {c.code for c in self.choices.get("loai_don_vi", ())}
        if not isinstance(codes, list) or not all(isinstance(c, str) and c in known for c in codes):
            raise SpecError(where, f"must be a list of agency types of the loai_don_vi list ({', '.join(sorted(known))})")
        return tuple(codes)

    def targets_section(self, data: dict[str, Any], sheet_id: str, section_id: str, where: str) -> Section:
        targets = data["targets"]
        if not isinstance(targets, dict):
            raise SpecError(f"{where}.targets", "must be a mapping with current_vi, years and rows")
        years = targets.get("years")
        if not (isinstance(years, list) and years and all(isinstance(y, int) for y in years)):
            raise SpecError(f"{where}.targets", "'years' must be a list of years")
        ids, bases = [], []
        for i, row in enumerate(_require_list(targets, "rows", f"{where}.targets")):
            place = f"{where}.targets.rows[{i}]"
            if not isinstance(row, dict):
                raise SpecError(place, "must be a mapping")
            unknown = set(row) - _TARGET_KEYS
            if unknown:
                raise SpecError(place, f"unknown keys {sorted(unknown)}")
            base = row.get("id")
            if not isinstance(base, str) or not ID_PATTERN.match(base):
                raise SpecError(place, "needs an 'id' of lower-case letters, digits and _")
            value_type = row.get("type", "dec")
            if value_type not in NUMERIC_TYPES - {"computed"}:
                raise SpecError(place, f"target type must be numeric, not '{value_type}'")
            unit = str(row.get("unit") or _DEFAULT_UNITS.get(value_type, ""))
            common = {"vi": _text(row, "vi", place), "en": _text(row, "en", place), "sheet": sheet_id,
                      "section": section_id, "unit": unit, "unit_en": self.unit_en(unit, place),
                      "target_of": base}
            current = Field(id=f"{base}_current", type="computed", kind="current",
                            formula=self.parse_expr(row.get("current"), f"{place}.current"),
                            format="ratio" if value_type == "dec" else value_type, **common)
            self.add(current, place)
            ids.append(current.id)
            for year in years:
                target = Field(id=f"{base}_{year}", type=value_type, kind="target", required=True, year=year,
                               min=row.get("min"), max=row.get("max"), **common)
                self.add(target, place)
                ids.append(target.id)
            bases.append(base)
            self._targets.append((base, common["vi"], tuple(years), place))
        return Section(section_id, str(data["vi"]), str(data["en"]), tuple(ids), targets=tuple(bases),
                       target_years=tuple(years), current_vi=str(targets.get("current_vi") or "Hiện trạng"))

    def grid_section(self, data: dict[str, Any], sheet_id: str, section_id: str, where: str) -> Section:
        """A grid: rows × columns of one numeric type (funding by source and kind × year). Each cell is a
        return-level field <row id>_<column>; a row with `sum` is computed, column by column, as the total of
        the rows it names."""
        grid, place = data["grid"], f"{where}.grid"
        if not isinstance(grid, dict):
            raise SpecError(place, "must be a mapping with type, columns and rows")
        unknown = set(grid) - _GRID_KEYS
        if unknown:
            raise SpecError(place, f"unknown keys {sorted(unknown)}")
        value_type = grid.get("type", "money")
        if value_type not in NUMERIC_TYPES - {"computed", "year"}:
            raise SpecError(place, f"grid type must be numeric, not '{value_type}'")
        columns = grid.get("columns")
        if not (isinstance(columns, list) and columns and all(isinstance(c, int | str) for c in columns)):
            raise SpecError(place, "'columns' must be a list of column keys (years)")
        keys = tuple(str(c) for c in columns)
        _check_unique(keys, place, "column")
        column_vi = str(grid.get("column_vi") or "{}")
        unit = str(grid.get("unit") or _DEFAULT_UNITS.get(value_type, ""))
        rows_data = _require_list(grid, "rows", place)
        bases: list[str] = []
        ids: list[str] = []
        labels: list[str] = []
        for i, row in enumerate(rows_data):
            row_place = f"{place}.rows[{i}]"
            if not isinstance(row, dict) or set(row) - _GRID_ROW_KEYS:
                raise SpecError(row_place, f"a grid row has only the keys {sorted(_GRID_ROW_KEYS)}")
            base = row.get("id")
            if not isinstance(base, str) or not ID_PATTERN.match(base):
                raise SpecError(row_place, "needs an 'id' of lower-case letters, digits and _")
            parts = row.get("sum")
            row_ids = {r.get("id") for r in rows_data if isinstance(r, dict)} - {base}
            if parts is not None and not (isinstance(parts, list) and parts and set(parts) <= row_ids):
                raise SpecError(row_place, "'sum' must list ids of other rows of the same grid")
            common = {"vi": _text(row, "vi", row_place), "en": _text(row, "en", row_place), "sheet": sheet_id,
                      "section": section_id, "unit": unit, "unit_en": self.unit_en(unit, row_place),
                      "target_of": base, "kind": "grid"}
            for key in keys:
                common_key = {**common, "vi": f"{common['vi']}, {column_vi.format(key).lower()}",
                              "en": f"{common['en']}, {key}"}
                if parts:
                    formula = expr.parse(f"total({', '.join(f'{p}_{key}' for p in parts)})")
                    f = Field(id=f"{base}_{key}", type="computed", format=value_type, formula=formula, **common_key)
                else:
                    f = Field(id=f"{base}_{key}", type=value_type, min=grid.get("min"), max=grid.get("max"),
                              warn_max=grid.get("warn_max"), **common_key)
                self.add(f, row_place)
                ids.append(f.id)
            bases.append(base)
            labels.append(common["vi"])
        head = grid.get("head_vi") or "Nội dung"
        return Section(section_id, str(data["vi"]), str(data["en"]), tuple(ids), grid=tuple(bases),
                       grid_columns=keys, grid_labels=tuple(labels), grid_head_vi=(str(head), *(column_vi.format(k) for k in keys)))

    def table(self, data: Any, sheet_id: str, where: str) -> Table:
        if not isinstance(data, dict):
            raise SpecError(where, "must be a mapping")
        table_id = data.get("id")
        if not isinstance(table_id, str) or not ID_PATTERN.match(table_id):
            raise SpecError(where, "needs an 'id' of lower-case letters, digits and _")
        columns = []
        for i, item in enumerate(_require_list(data, "columns", where)):
            column = self.field(item, sheet_id, table_id, f"{where}.columns[{i}]", kind="column")
            if column.type == "computed":
                raise SpecError(f"{where}.columns[{i}]", "table columns cannot be computed")
            columns.append(column)
        _check_unique((c.id for c in columns), where, "column id")
        by_id = {c.id: c for c in columns}
        self.table_columns[table_id] = by_id
        rows = data.get("rows", 50)
        if not isinstance(rows, int) or rows < 1:
            raise SpecError(where, "'rows' must be a positive number of rows")
        totals = data.get("totals") or {}
        items_vi, items_en = str(data.get("items_vi") or "dòng"), str(data.get("items_en") or "rows")
        for column_id, total_id in totals.items():
            if column_id not in by_id or by_id[column_id].type not in NUMERIC_TYPES:
                raise SpecError(f"{where}.totals", f"'{column_id}' is not a numeric column of the table")
            self.add(Field(id=str(total_id), vi=f"{by_id[column_id].vi} (tổng các {items_vi})",
                           en=f"{by_id[column_id].en} (all {items_en})", type="computed", kind="total",
                           format=by_id[column_id].type, sheet=sheet_id, section=table_id,
                           unit=by_id[column_id].unit, unit_en=by_id[column_id].unit_en), f"{where}.totals")
        key = data.get("key")
        if key is not None and key not in by_id:
            raise SpecError(where, f"key '{key}' is not a column of the table")
        return Table(table_id, _text(data, "vi", where), _text(data, "en", where), rows,
                     str(data.get("total_vi") or "Tổng cộng"), key, tuple(columns), dict(totals), sheet_id,
                     items_vi, items_en)

    def field(self, data: Any, sheet_id: str, section_id: str, where: str, kind: str = "field") -> Field:
        if not isinstance(data, dict):
            raise SpecError(where, "must be a mapping")
        field_id = data.get("id")
        if not isinstance(field_id, str) or not ID_PATTERN.match(field_id):
            raise SpecError(where, "needs an 'id' of lower-case letters, digits and _")
        where = f"{where} ({field_id})"
        unknown = set(data) - _FIELD_KEYS
        if unknown:
            raise SpecError(where, f"unknown keys {sorted(unknown)}")
        field_type = data.get("type")
        if field_type not in FIELD_TYPES:
            raise SpecError(where, f"unknown type {field_type!r}; known types: {sorted(FIELD_TYPES)}")
        choices = data.get("choices")
        if field_type == "choice" and choices not in self.choices:
            raise SpecError(where, f"choice list {choices!r} is not defined under 'choices'")
        formula = None
        if field_type == "computed":
            formula = self.parse_expr(data.get("formula"), f"{where}.formula")
            if data.get("format", "dec") not in COMPUTED_FORMATS:
                raise SpecError(where, f"format must be one of {sorted(COMPUTED_FORMATS)}")
        for key in ("pattern", "expect"):
            if data.get(key):
                try:
                    re.compile(data[key])
                except re.error as err:
                    raise SpecError(where, f"'{key}' is not a valid regular expression ({err})") from None
        low, high = data.get("min"), data.get("max")
        if low is not None and high is not None and low > high:
            raise SpecError(where, f"min {low} is greater than max {high}")
        # A computed field takes the default unit of what it shows (a money total is in triệu đồng).
        unit = str(data.get("unit") or _DEFAULT_UNITS.get(
            data.get("format", "dec") if field_type == "computed" else field_type, ""))
        return Field(
            id=field_id, vi=_text(data, "vi", where), en=_text(data, "en", where), type=field_type,
            sheet=sheet_id, section=section_id, kind=kind, unit=unit, unit_en=self.unit_en(unit, where),
            required=bool(data.get("required", False)), prefilled=bool(data.get("prefilled", False)),
            min=low, max=high, warn_min=data.get("warn_min"), warn_max=data.get("warn_max"), choices=choices,
            formula=formula, format=data.get("format", "dec") if field_type == "computed" else None,
            pattern=data.get("pattern"), pattern_vi=str(data.get("pattern_vi", "")),
            pattern_en=str(data.get("pattern_en", "")), expect=data.get("expect"),
            expect_vi=str(data.get("expect_vi", "")), expect_en=str(data.get("expect_en", "")),
            min_length=data.get("min_length"), help_vi=str(data.get("help_vi", "")),
            help_en=str(data.get("help_en", "")), width=data.get("width"),
            plan_field=_plan_field(data, where),
        )

    def unit_en(self, unit: str, where: str) -> str:
        if not unit:
            return ""
        if unit not in self.units:
            raise SpecError(where, f"unit '{unit}' has no English name: add it under 'units' (e.g. {unit}: …)")
        return self.units[unit]

    def parse_expr(self, source: Any, where: str) -> expr.Expr:
        if not isinstance(source, str) or not source.strip():
            raise SpecError(where, "needs an expression")
        try:
            return expr.parse(source)
        except expr.ExprError as err:
            raise SpecError(where, str(err)) from None

    def add(self, f: Field, where: str) -> None:
        if f.id in self.fields:
            raise SpecError(where, f"duplicate field id '{f.id}' (first defined at {self.places[f.id]})")
        self.fields[f.id] = f
        self.places[f.id] = where if f"({f.id})" in where else f"{where} ({f.id})"

    def rule(self, data: Any, where: str) -> Rule:
        if not isinstance(data, dict):
            raise SpecError(where, "must be a mapping")
        rule_id = data.get("id")
        if not isinstance(rule_id, str) or not rule_id:
            raise SpecError(where, "needs an 'id'")
        where = f"{where} ({rule_id})"
        unknown = set(data) - _RULE_KEYS
        if unknown:
            raise SpecError(where, f"unknown keys {sorted(unknown)}")
        if data.get("severity") not in SEVERITIES:
            raise SpecError(where, f"severity must be one of {sorted(SEVERITIES)}")
        check = self.parse_expr(data.get("check"), f"{where}.check")
        when = self.parse_expr(data["when"], f"{where}.when") if data.get("when") else None
        scope = str(data.get("scope", "return"))
        at = data.get("at") or _first_name(check.source, check.names)
        return Rule(rule_id, data["severity"], scope, check, when, str(at), _text(data, "vi", where),
                    _text(data, "en", where))

    def target_rules(self) -> list[Rule]:
        """Targets should not go down: current ≤ first target year ≤ … (a warning, domain rule 13)."""
        rules = []
        for base, label_vi, years, _ in self._targets:
            chain = [f"{base}_current", *(f"{base}_{y}" for y in years)]
            check = expr.parse(" <= ".join(chain))
            label_en = self.fields[chain[1]].en
            shown_vi = ", ".join(f"{y} {{{base}_{y}}}" for y in years)
            shown_en = ", ".join(f"{y} {{{base}_{y}}}" for y in years)
            rules.append(Rule(
                f"R13-{base}", "warning", "return", check, None, chain[-1],
                f"Mục tiêu \"{label_vi}\" không tăng dần: hiện trạng {{{base}_current}}, {shown_vi}. "
                "Đề nghị đơn vị kiểm tra lại (mục tiêu năm sau không thấp hơn năm trước).",
                f"Target \"{label_en}\" goes down: current {{{base}_current}}, {shown_en}. "
                "Please check (a later target should not be lower).",
            ))
        return rules

    def check_references(self, rules: list[Rule]) -> None:
        for f in self.fields.values():
            if f.formula is not None:
                self._check_names(f.formula.names, self.fields, self.places[f.id] + ".formula")
        for rule in rules:
            known = self.fields if rule.scope == "return" else self.table_columns.get(rule.scope)
            where = f"rule {rule.id}"
            if known is None:
                raise SpecError(where, f"scope '{rule.scope}' is neither 'return' nor a table id")
            self._check_names(rule.names | {rule.at}, known, where)
            for name in re.findall(r"\{(\w+)\}", rule.vi + rule.en):
                if name not in known:
                    raise SpecError(where, f"message placeholder '{{{name}}}' is not a field")

    @staticmethod
    def _check_names(names: Iterable[str], known: dict[str, Field], where: str) -> None:
        for name in sorted(names):
            if name not in known:
                raise SpecError(where, f"names unknown field '{name}'")


def _first_name(source: str, names: frozenset[str]) -> str:
    """The field named first in the expression's text: where a rule's problem is shown by default."""
    positions = {n: m.start() for n in names if (m := re.search(rf"\b{re.escape(n)}\b", source))}
    return min(positions, key=positions.__getitem__) if positions else ""


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SpecError(where, f"needs a non-empty '{key}' text")
    return value
