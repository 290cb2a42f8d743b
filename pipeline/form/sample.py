"""Plausible filled returns for tests and demos, with optional injected mistakes that the validator must find.

A clean sample looks like the return of one particular Hà Tĩnh agency in 2007, drawn through its
:class:`~pipeline.form.plausible.Profile` (size class, creation date, whether it is the focal Sở Bưu chính,
Viễn thông): staff within its size class's band, 0.3–1 PC per person, ADSL at 512–8192 kbps, official e-mail
and a website only in a few agencies (none launched before the agency existed), a few IT staff (more at the
focal department), IT spending mostly 50–400 triệu đồng a year with no year before the agency existed, a
2008 plan mostly above the 2007 spending, projects and online services named after the agency's sector, a
funding grid (year × source × kind) that is the sum of the projects' allocations and the recurrent tasks,
the 2008 annual plan's tasks adding up to its 2008 column source by source, and commune IT for districts
only. It satisfies every rule, range, required field and choice list of the spec; :func:`audit` checks that
(and the tests run it over many seeds). A required field the generator does not know (a field added to the
spec) is filled by :func:`pipeline.form.plausible.draw`, from the spec alone.

A sample with mistakes records each one as a :class:`Mistake`: the field, the sheet and cell it shows at,
and the issue code the validator must raise there. Every mistake is verified with :func:`audit` when it is
injected, so it raises exactly its code (plus the extra findings named in its note) and nothing else.

Everything is deterministic: a sample depends only on the rng passed in, and :func:`write_samples` derives
one rng per agency from the seed and the agency code, so file N does not change when the count changes.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import os
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.atomic import write_atomic
from pipeline.form.layout import layout_for
from pipeline.form.plausible import Profile, draw, slug
from pipeline.form.registry import Agency, Registry
from pipeline.form.spec import NUMERIC_TYPES, Field, FormSpec, Rule
from pipeline.form.template import (
    build_workbook,
    evaluate_computed,
    project_cell,
    template_file_name,
)
from pipeline.normalize import parse_number

MANIFEST = "manifest.json"
MONEY_UNIT_LOW, MONEY_UNIT_HIGH = 1e4, 1e6  # domain rule 22: 1e4 < v ≤ 1e6 "check the unit"; above: in đồng
PLAN_YEARS = (2008, 2009, 2010)
_SOURCES = ("nstw", "tinh", "huyen", "oda", "khac")  # the funding grid's sources, in its row order
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_URL = re.compile(r"^(https?://)?[A-Za-z0-9.-]+\.[A-Za-z]{2,}(/\S*)?$")


@dataclass(frozen=True)
class Mistake:
    kind: str  # rule | required | text_in_number | unit_slip
    field: str  # field id, or column id for a project cell
    sheet: str
    cell: str
    code: str  # the issue code the validator must raise at this cell
    severity: str
    row: int | None = None  # Excel row of the project, for project-table mistakes
    note: str = ""


@dataclass
class SampleReturn:
    agency: Agency
    values: dict[str, Any]  # typed values by field id, computed fields included
    projects: list[dict[str, Any]]
    cell_text: dict[str, str]
    mistakes: list[Mistake]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # the other tables' rows, by id


@dataclass(frozen=True)
class Finding:
    """One problem :func:`audit` sees: an issue code (or rule id) at a field, or at a project's column."""

    code: str
    field: str
    severity: str
    project: int | None = None  # 0-based row index in a table
    table: str = ""  # the table of that row, when not the project table


# --------------------------------------------------------------------------------------------------------
# Public API


def make_sample(spec: FormSpec, agency: Agency, rng: random.Random, *, mistakes: int = 0) -> SampleReturn:
    """A clean, plausible return for ``agency``, then ``mistakes`` injected mistakes (each verified)."""
    values, projects, tables = _Generator(spec, agency, rng).run()
    sample = SampleReturn(agency, values, projects, {}, [], tables)
    _refresh_computed(spec, sample)
    for _ in range(mistakes):
        _inject_one(spec, sample, rng)
    return sample


def write_samples(spec: FormSpec, registry: Registry, out_dir: str | Path, *, count: int | None = None,
                  seed: int = 2007, error_rate: float = 0.0) -> list[tuple[Path, SampleReturn]]:
    """Filled returns for the first ``count`` agencies (default all), written atomically with a manifest.

    A share ``error_rate`` of the returns (chosen per agency from the seed) gets 1–2 mistakes.
    """
    return write_returns(spec, registry, out_dir,
                         lambda agency, rng, mistakes: make_sample(spec, agency, rng, mistakes=mistakes),
                         count=count, seed=seed, error_rate=error_rate)


def write_returns(spec: FormSpec, registry: Registry, out_dir: str | Path,
                  make: Callable[[Agency, random.Random, int], SampleReturn], *, count: int | None, seed: int,
                  error_rate: float, stream: str = "",
                  manifest: Mapping[str, Any] | None = None) -> list[tuple[Path, SampleReturn]]:
    """The returns `make` makes (agency, its random stream, its number of mistakes), one per agency of the first
    ``count``, written atomically as received files, with a manifest (its header extended by ``manifest``).
    ``stream`` sets one form's random streams apart from another's for the same seed and agency."""
    agencies = list(registry.of_round(spec).agencies)
    count = len(agencies) if count is None else count
    if not 0 <= count <= len(agencies):
        raise ValueError(f"count must be between 0 and {len(agencies)} (the round's agencies), not {count}")
    if not 0.0 <= error_rate <= 1.0:
        raise ValueError(f"error_rate must be between 0 and 1, not {error_rate}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, SampleReturn]] = []
    entries = []
    for agency in agencies[:count]:
        key = f"{seed}/{agency.code}{stream}"
        # Separate streams: whether a return gets mistakes never changes its clean figures.
        pick = random.Random(f"{key}/mistakes")
        n_mistakes = pick.choice((1, 2)) if pick.random() < error_rate else 0
        sample = make(agency, random.Random(key), n_mistakes)
        data = build_workbook(spec, agency=agency, values=sample.values, projects=sample.projects,
                              cell_text=sample.cell_text, tables=sample.tables)
        path = write_atomic(out / template_file_name(spec, agency.code), data)
        _as_received(path, sample.values.get("ngay_lap"), random.Random(f"{seed}/{agency.code}/received"))
        written.append((path, sample))
        entries.append({"file": path.name, "agency_code": agency.code, "sha256": hashlib.sha256(data).hexdigest(),
                        "mistakes": [asdict(m) for m in sample.mistakes]})
    header = {"form_id": spec.form_id, "version": spec.version, **(manifest or {}), "seed": seed,
              "error_rate": error_rate}
    text = json.dumps({**header, "files": entries}, ensure_ascii=False, indent=2) + "\n"
    write_atomic(out / MANIFEST, text.encode("utf-8"))
    return written


def _as_received(path: Path, report_date: Any, rng: random.Random) -> None:
    """Give the file the time it would have reached the Department: 1–4 days after the agency dated its
    report, in office hours (the consolidation takes a file's modification time as its received time)."""
    if not isinstance(report_date, dt.date):
        return
    day = report_date + dt.timedelta(days=rng.randint(1, 4))
    when = dt.datetime(day.year, day.month, day.day, rng.randint(7, 16), rng.randint(0, 59))
    os.utime(path, (when.timestamp(), when.timestamp()))


def audit(spec: FormSpec, values: Mapping[str, Any], projects: Sequence[Mapping[str, Any]] = (),
          cell_text: Mapping[str, str] | None = None,
          tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> list[Finding]:
    """Every problem a validator should report for these typed values, as this module understands the spec.

    Used to verify injected mistakes and, in the tests, that clean samples are clean: field types, choice
    lists, required fields, ranges (hard and warning), text length and patterns, money magnitude, and every
    spec rule (a rule is skipped while one of its operands is blank; blanks are the 'required' check's).
    Codes are the issue catalogue's (or the rule id), except two the catalogue does not need: RULE_EXPECT
    (a text that does not look as expected, e.g. an e-mail outside .gov.vn) and VALUE_WRONG_TYPE.
    """
    cell_text = dict(cell_text or {})
    env = dict(values)
    findings: list[Finding] = []
    for field_id, text in cell_text.items():
        f = spec.fields[field_id]
        if f.type in NUMERIC_TYPES:
            parsed = parse_number(text, integer=f.type in {"int", "year"}, percent=f.type == "pct")
            env[field_id] = parsed.value if parsed.ok else None
            if not parsed.ok:
                findings.append(Finding("VALUE_NOT_NUMBER", field_id, "error"))
        else:
            env[field_id] = text
    env.update(evaluate_computed(spec, env, projects, tables))
    for f in spec.fields.values():
        if f.is_input:
            findings += _field_findings(spec, f, env.get(f.id), bad=f.id in cell_text and env.get(f.id) is None)
    findings += _rule_findings(spec.rules_for("return"), env)
    for table in spec.tables:
        rows = projects if table is spec.table else (tables or {}).get(table.id, ())
        for index, row in enumerate(rows):
            for column in table.columns:
                findings += [Finding(x.code, x.field, x.severity, index, _table_tag(spec, table.id))
                             for x in _field_findings(spec, column, row.get(column.id))]
            findings += [Finding(x.code, x.field, x.severity, index, _table_tag(spec, table.id))
                         for x in _rule_findings(spec.rules_for(table.id), row)]
        if table.key:
            names = [str(row.get(table.key) or "").casefold().strip() for row in rows]
            findings += [Finding("RULE_DUPLICATE_ROW", table.key, "warning", i, _table_tag(spec, table.id))
                         for i, name in enumerate(names) if name and name in names[:i]]
    return findings


def _table_tag(spec: FormSpec, table_id: str) -> str:
    """A finding's table: blank for the project table (its findings keep their earlier form)."""
    return "" if spec.table is not None and table_id == spec.table.id else table_id


# --------------------------------------------------------------------------------------------------------
# Audit pieces


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and math.isnan(value))


def _field_findings(spec: FormSpec, f: Field, value: Any, *, bad: bool = False) -> list[Finding]:
    if _blank(value):
        return [Finding("RULE_REQUIRED", f.id, "error")] if f.required and not bad and f.is_input else []
    kind = f.type
    type_ok = {
        "bool": isinstance(value, bool),
        "choice": isinstance(value, str) and value in {c.code for c in spec.choices.get(f.choices or "", ())},
        "date": isinstance(value, dt.date),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "year": isinstance(value, int) and not isinstance(value, bool),
    }.get(kind, isinstance(value, int | float) and not isinstance(value, bool) if kind in NUMERIC_TYPES
          else isinstance(value, str))
    if not type_ok:
        code = {"bool": "VALUE_NOT_BOOL", "choice": "VALUE_NOT_CHOICE", "date": "VALUE_NOT_DATE"}.get(
            kind, "VALUE_NOT_NUMBER" if kind in NUMERIC_TYPES else "VALUE_WRONG_TYPE")
        return [Finding(code, f.id, "error")]
    out = []
    if (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
        out.append(Finding("RULE_RANGE", f.id, "error"))
    elif (f.warn_min is not None and value < f.warn_min) or (f.warn_max is not None and value > f.warn_max):
        out.append(Finding("RULE_PLAUSIBLE", f.id, "warning"))
    if kind == "money" and value > MONEY_UNIT_HIGH:
        out.append(Finding("RULE_MONEY_DONG", f.id, "error"))
    elif kind == "money" and value > MONEY_UNIT_LOW:
        out.append(Finding("RULE_MONEY_UNIT", f.id, "warning"))
    if isinstance(value, str):
        out += _text_findings(f, value)
    return out


def _text_findings(f: Field, value: str) -> list[Finding]:
    out = []
    if f.min_length and len(value.strip()) < f.min_length:
        out.append(Finding("RULE_TEXT_SHORT", f.id, "error"))
    builtin = {"email": _EMAIL, "url": _URL}.get(f.type)
    if (f.pattern and not re.search(f.pattern, value)) or (builtin and not builtin.search(value)):
        out.append(Finding("RULE_PATTERN", f.id, "error"))
    if f.type == "phone" and not 8 <= len(re.sub(r"\D", "", value)) <= 11:
        out.append(Finding("RULE_PATTERN", f.id, "error"))
    if f.expect and not re.search(f.expect, value):
        out.append(Finding("RULE_EXPECT", f.id, "warning"))
    return out


def _rule_findings(rules: Iterable[Rule], env: Mapping[str, Any]) -> list[Finding]:
    out = []
    for rule in rules:
        operands = rule.check.operands | (rule.when.operands if rule.when else frozenset())
        if any(_blank(env.get(name)) for name in operands):
            continue
        if rule.when is not None and not rule.when.evaluate(env):
            continue
        if not rule.check.evaluate(env):
            out.append(Finding(rule.id, rule.at, rule.severity))
    return out


# --------------------------------------------------------------------------------------------------------
# The generator


_SURNAMES = ("Nguyễn", "Trần", "Lê", "Phan", "Hoàng", "Võ", "Đặng", "Bùi", "Hồ", "Ngô", "Dương", "Đinh", "Thái")
_MIDDLE = ("Văn", "Thị", "Đức", "Hữu", "Minh", "Thanh", "Quốc", "Xuân", "Đình")
_GIVEN = ("An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hòa", "Hùng", "Hương", "Lan", "Long", "Mai", "Nam",
          "Nga", "Phương", "Quang", "Sơn", "Tâm", "Thắng", "Thủy", "Trung", "Tuấn", "Vinh", "Yến", "Khánh")
_QLVB_NAMES = ("NetOffice", "eDocMan", "Văn phòng điện tử VPĐT 2.0", "Lotus Notes/Domino", "Quản lý văn bản VNPT")
_APPS = ("phần mềm kế toán IMAS", "phần mềm quản lý cán bộ, công chức, viên chức", "phần mềm quản lý tài sản",
         "phần mềm quản lý hồ sơ một cửa", "cơ sở dữ liệu văn bản pháp quy", "cơ sở dữ liệu thống kê của ngành",
         "phần mềm quản lý đề tài khoa học", "cơ sở dữ liệu đất đai", "phần mềm quản lý hộ tịch")

# (name, content area, kind, objective, scope)
_PROJECTS = (
    ("Nâng cấp mạng LAN và đường truyền Internet", "HA_TANG", "DU_AN_DAU_TU",
     "Bảo đảm kết nối ổn định cho toàn bộ máy tính của cơ quan.",
     "Thay thiết bị chuyển mạch, đi lại cáp mạng, nâng băng thông ADSL."),
    ("Trang bị bổ sung máy tính và thiết bị ngoại vi", "HA_TANG", "DU_AN_DAU_TU",
     "Mỗi cán bộ, công chức, viên chức có một máy tính làm việc.",
     "Mua sắm máy tính để bàn, máy in, máy quét cho các phòng."),
    ("Xây dựng phòng máy chủ và hệ thống sao lưu dữ liệu", "HA_TANG", "DU_AN_DAU_TU",
     "Bảo đảm an toàn, an ninh thông tin và dữ liệu của cơ quan.",
     "Trang bị máy chủ, thiết bị lưu trữ, tường lửa và phần mềm sao lưu."),
    ("Thuê đường truyền kết nối mạng diện rộng của tỉnh", "HA_TANG", "THUE_DICH_VU",
     "Kết nối với mạng diện rộng của các cơ quan nhà nước tỉnh Hà Tĩnh.",
     "Thuê kênh truyền số liệu, bảo trì thiết bị đầu cuối."),
    ("Triển khai phần mềm quản lý văn bản và điều hành", "CHI_DAO_DIEU_HANH", "DU_AN_DAU_TU",
     "Trao đổi văn bản, điều hành công việc trên mạng.",
     "Cài đặt phần mềm dùng chung, đào tạo sử dụng cho các phòng, ban."),
    ("Triển khai thư điện tử công vụ cho cán bộ, công chức, viên chức", "CHI_DAO_DIEU_HANH", "NHIEM_VU_THUONG_XUYEN",
     "Cán bộ, công chức dùng thư điện tử @hatinh.gov.vn trong công việc.",
     "Cấp hộp thư, ban hành quy chế sử dụng, hướng dẫn cán bộ."),
    ("Xây dựng {database}", "CHI_DAO_DIEU_HANH", "DU_AN_DAU_TU",
     "Quản lý thống nhất số liệu chuyên ngành, phục vụ chỉ đạo, điều hành.",
     "Khảo sát, thiết kế cơ sở dữ liệu, nhập dữ liệu và khai thác trên mạng."),
    ("Nâng cấp trang thông tin điện tử", "PHUC_VU_DAN_DN", "DU_AN_DAU_TU",
     "Công khai thông tin, thủ tục hành chính theo Luật Công nghệ thông tin.",
     "Nâng cấp giao diện, bổ sung chuyên mục thủ tục hành chính, hỏi đáp."),
    ("Cung cấp dịch vụ công trực tuyến mức 2", "PHUC_VU_DAN_DN", "DU_AN_DAU_TU",
     "Người dân, doanh nghiệp tải được biểu mẫu thủ tục hành chính trên mạng.",
     "Số hóa biểu mẫu, đưa lên trang thông tin điện tử của đơn vị."),
    ("Ứng dụng phần mềm tại bộ phận một cửa", "PHUC_VU_DAN_DN", "DU_AN_DAU_TU",
     "Tiếp nhận, theo dõi và trả kết quả hồ sơ nhanh chóng, minh bạch.",
     "Cài đặt phần mềm một cửa, trang bị máy tính, máy in cho bộ phận một cửa."),
    ("Đào tạo tin học cho cán bộ, công chức, viên chức", "NHAN_LUC", "NHIEM_VU_THUONG_XUYEN",
     "Cán bộ, công chức sử dụng thành thạo máy tính trong công việc.",
     "Mở các lớp tin học văn phòng, sử dụng Internet và thư điện tử."),
    ("Đào tạo quản trị mạng cho cán bộ chuyên trách CNTT", "NHAN_LUC", "NHIEM_VU_THUONG_XUYEN",
     "Có cán bộ đủ năng lực quản trị mạng LAN và máy chủ.",
     "Cử cán bộ tham gia khóa đào tạo quản trị mạng, an toàn thông tin."),
    # Licences are bought (a recurrent task, kinh phí sự nghiệp), not rented.
    ("Mua bản quyền phần mềm diệt virus", "AN_TOAN_THONG_TIN", "NHIEM_VU_THUONG_XUYEN",
     "Bảo vệ máy tính của cơ quan trước virus và mã độc.",
     "Mua bản quyền phần mềm diệt virus hằng năm cho toàn bộ máy tính."),
    ("Trang bị tường lửa và giải pháp an toàn thông tin cho mạng nội bộ", "AN_TOAN_THONG_TIN", "DU_AN_DAU_TU",
     "Bảo đảm an toàn, an ninh thông tin cho mạng nội bộ và dữ liệu của cơ quan.",
     "Lắp đặt tường lửa, phần mềm phòng chống mã độc, ban hành quy định an toàn thông tin."),
)
# An agency without a website builds one instead of upgrading it: (name, scope).
_NEW_WEBSITE = {"Nâng cấp trang thông tin điện tử": (
    "Xây dựng trang thông tin điện tử", "Thiết kế trang, đăng ký tên miền .hatinh.gov.vn, chuyên mục thủ tục "
    "hành chính, hỏi đáp; đào tạo cán bộ cập nhật tin.")}
_INVESTMENT_SHARE = (0.8, 4.0)  # an investment project's cost, in years of the agency's IT spending
_RECURRENT_SHARE = (0.15, 0.8)  # a recurrent task's or a rental's cost, likewise

# What an agency of each sector computerises and which of its procedures it puts online first (2007):
# code → (its specialised database or application, its administrative procedures as (name, field)).
_SECTORS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "VP-UBND": ("cơ sở dữ liệu văn bản quy phạm pháp luật của tỉnh", (
        ("Tiếp nhận, xử lý kiến nghị của công dân gửi UBND tỉnh", "Tiếp công dân"),
        ("Cấp bản sao văn bản của UBND tỉnh", "Hành chính"))),
    "SKHDT": ("cơ sở dữ liệu đăng ký kinh doanh", (
        ("Đăng ký kinh doanh doanh nghiệp", "Đăng ký kinh doanh"),
        ("Đăng ký thay đổi nội dung đăng ký kinh doanh", "Đăng ký kinh doanh"),
        ("Cấp giấy chứng nhận đầu tư", "Đầu tư"), ("Thẩm định dự án đầu tư", "Đầu tư"))),
    "STC": ("cơ sở dữ liệu quản lý ngân sách", (
        ("Thẩm tra quyết toán vốn đầu tư dự án hoàn thành", "Tài chính đầu tư"),
        ("Cấp mã số đơn vị có quan hệ với ngân sách", "Ngân sách"), ("Thẩm định giá tài sản mua sắm", "Giá"))),
    "SNV": ("cơ sở dữ liệu cán bộ, công chức", (
        ("Thi tuyển, xét tuyển công chức", "Công chức"), ("Cho phép thành lập hội", "Tổ chức hội"),
        ("Nâng bậc lương trước thời hạn", "Tiền lương"))),
    "STP": ("cơ sở dữ liệu hộ tịch", (
        ("Cấp phiếu lý lịch tư pháp", "Lý lịch tư pháp"), ("Đăng ký kết hôn có yếu tố nước ngoài", "Hộ tịch"),
        ("Chứng thực bản sao giấy tờ bằng tiếng nước ngoài", "Chứng thực"))),
    "SCN": ("cơ sở dữ liệu doanh nghiệp công nghiệp", (
        ("Cấp giấy phép hoạt động điện lực", "Điện lực"),
        ("Cấp giấy phép sử dụng vật liệu nổ công nghiệp", "Vật liệu nổ công nghiệp"))),
    "STMDL": ("cơ sở dữ liệu du lịch", (
        ("Cấp giấy phép kinh doanh lữ hành nội địa", "Du lịch"), ("Xếp hạng cơ sở lưu trú du lịch", "Du lịch"),
        ("Cấp giấy chứng nhận đủ điều kiện kinh doanh xăng dầu", "Thương mại"))),
    "SNNPTNT": ("cơ sở dữ liệu nông nghiệp, nông thôn", (
        ("Cấp giấy chứng nhận kiểm dịch động vật vận chuyển ra khỏi tỉnh", "Thú y"),
        ("Cấp phép khai thác gỗ rừng tự nhiên", "Lâm nghiệp"))),
    "STS": ("cơ sở dữ liệu tàu cá", (
        ("Đăng ký tàu cá", "Khai thác thủy sản"), ("Cấp giấy phép khai thác thủy sản", "Khai thác thủy sản"))),
    "SGTVT": ("cơ sở dữ liệu giấy phép lái xe", (
        ("Cấp, đổi giấy phép lái xe", "Đường bộ"), ("Cấp giấy phép lưu hành xe quá tải trọng", "Đường bộ"),
        ("Đăng ký phương tiện thủy nội địa", "Đường thủy nội địa"))),
    "SXD": ("cơ sở dữ liệu quy hoạch xây dựng", (
        ("Cấp giấy phép xây dựng công trình", "Xây dựng"), ("Thẩm định thiết kế cơ sở", "Xây dựng"),
        ("Cấp chứng chỉ hành nghề kiến trúc sư", "Hành nghề xây dựng"))),
    "STNMT": ("cơ sở dữ liệu đất đai", (
        ("Giao đất, cho thuê đất cho tổ chức", "Đất đai"),
        ("Cấp giấy chứng nhận quyền sử dụng đất cho tổ chức", "Đất đai"),
        ("Thẩm định báo cáo đánh giá tác động môi trường", "Môi trường"))),
    "SKHCN": ("cơ sở dữ liệu đề tài khoa học và công nghệ", (
        ("Đăng ký hoạt động khoa học và công nghệ", "Khoa học và công nghệ"),
        ("Cấp giấy phép sử dụng thiết bị X-quang y tế", "An toàn bức xạ"))),
    "SGDDT": ("cơ sở dữ liệu ngành giáo dục", (
        ("Cấp bản sao văn bằng, chứng chỉ", "Văn bằng, chứng chỉ"),
        ("Cho phép thành lập trường tư thục", "Giáo dục"), ("Công nhận trường đạt chuẩn quốc gia", "Giáo dục"))),
    "SYT": ("phần mềm quản lý bệnh viện", (
        ("Cấp chứng chỉ hành nghề y tư nhân", "Hành nghề y"), ("Cấp chứng chỉ hành nghề dược", "Dược"),
        ("Cấp giấy chứng nhận đủ điều kiện kinh doanh thuốc", "Dược"))),
    "SLDTBXH": ("cơ sở dữ liệu người có công", (
        ("Giải quyết chế độ trợ cấp người có công", "Người có công"),
        ("Đăng ký nội quy lao động", "Lao động"), ("Đăng ký hoạt động dạy nghề", "Dạy nghề"))),
    "SVHTT": ("cơ sở dữ liệu di tích lịch sử, văn hóa", (
        ("Cấp giấy phép xuất bản bản tin", "Báo chí, xuất bản"),
        ("Cấp giấy phép biểu diễn nghệ thuật", "Nghệ thuật biểu diễn"),
        ("Cấp giấy phép kinh doanh karaoke", "Văn hóa"))),
    "STDTT": ("cơ sở dữ liệu vận động viên", (
        ("Cấp giấy chứng nhận đủ điều kiện kinh doanh hoạt động thể thao", "Thể dục, thể thao"),)),
    "SBCVT": ("cơ sở dữ liệu bưu chính, viễn thông", (
        ("Thỏa thuận vị trí trạm thu phát sóng thông tin di động", "Viễn thông"),
        ("Thẩm định thiết kế dự án ứng dụng công nghệ thông tin", "Công nghệ thông tin"),
        ("Xác nhận đăng ký đại lý dịch vụ Internet", "Internet"))),
    "SNGV": ("cơ sở dữ liệu đoàn ra, đoàn vào", (
        ("Cho phép tổ chức hội nghị, hội thảo quốc tế", "Hợp tác quốc tế"),
        ("Tiếp nhận hồ sơ đề nghị cấp hộ chiếu công vụ", "Lãnh sự"))),
    "TTT": ("cơ sở dữ liệu khiếu nại, tố cáo", (
        ("Tiếp nhận, giải quyết đơn khiếu nại", "Khiếu nại"), ("Tiếp nhận, giải quyết đơn tố cáo", "Tố cáo"))),
    "UBDSGDTE": ("cơ sở dữ liệu dân số, gia đình và trẻ em", (
        ("Cấp giấy phép thành lập cơ sở trợ giúp trẻ em", "Trẻ em"),)),
    "BTG": ("cơ sở dữ liệu cơ sở tôn giáo", (
        ("Đăng ký sinh hoạt tôn giáo tập trung", "Tôn giáo"),
        ("Chấp thuận tổ chức cuộc lễ tôn giáo ngoài cơ sở", "Tôn giáo"))),
    "BTDKT": ("cơ sở dữ liệu thi đua, khen thưởng", (
        ("Đề nghị khen thưởng thành tích", "Thi đua, khen thưởng"),)),
    "BQL-KKTVA": ("cơ sở dữ liệu dự án đầu tư trong khu kinh tế", (
        ("Cấp giấy chứng nhận đầu tư trong Khu kinh tế Vũng Áng", "Đầu tư"),
        ("Cấp giấy phép xây dựng trong khu kinh tế", "Xây dựng"))),
    "BQL-KKTCT": ("cơ sở dữ liệu hàng hóa, phương tiện qua cửa khẩu", (
        ("Cấp giấy chứng nhận đầu tư trong Khu kinh tế cửa khẩu Cầu Treo", "Đầu tư"),
        ("Cấp giấy phép lao động cho người nước ngoài", "Lao động"))),
    "BQL-KCN": ("cơ sở dữ liệu doanh nghiệp trong khu công nghiệp", (
        ("Cấp giấy chứng nhận đầu tư trong khu công nghiệp", "Đầu tư"),
        ("Cấp giấy phép xây dựng trong khu công nghiệp", "Xây dựng"))),
    "VP-DBQH-HDND": ("cơ sở dữ liệu kiến nghị cử tri", (
        ("Tiếp nhận, chuyển kiến nghị của cử tri", "Dân nguyện"),)),
    "DPTTH": ("hệ thống lưu trữ chương trình phát thanh, truyền hình", (
        ("Đăng ký phát quảng cáo trên sóng phát thanh, truyền hình", "Quảng cáo"),)),
}
_DISTRICT_DATABASE = "cơ sở dữ liệu địa chính"
_OTHER_DATABASE = "cơ sở dữ liệu chuyên ngành"

# Communes, wards and townships of each district unit in 2007 (approximate; [K] in the domain brief).
_COMMUNES = {"TP-HATINH": 16, "TX-HONGLINH": 6, "H-NGHIXUAN": 19, "H-DUCTHO": 28, "H-HUONGSON": 32,
             "H-VUQUANG": 12, "H-HUONGKHE": 22, "H-CANLOC": 23, "H-LOCHA": 13, "H-THACHHA": 31, "H-CAMXUYEN": 27,
             "H-KYANH": 33}

# Recurrent tasks of an annual plan besides the projects: (name, content area).
_RECURRENT_TASKS = (
    ("Duy trì đường truyền Internet, thư điện tử", "HA_TANG"),
    ("Bảo trì, sửa chữa máy tính và mạng LAN", "HA_TANG"),
    ("Cập nhật thông tin lên trang thông tin điện tử", "PHUC_VU_DAN_DN"),
    ("Bồi dưỡng tin học cho cán bộ, công chức, viên chức", "NHAN_LUC"),
    ("Mua bản quyền phần mềm diệt virus năm 2008", "AN_TOAN_THONG_TIN"),
)
_QUARTERS = ("Quý I–IV/2008", "Quý I–II/2008", "Quý II–III/2008", "Quý III–IV/2008", "Cả năm 2008")

# Administrative procedures every department handles besides its sector's (online-services roadmap).
_PROCEDURES_SO = (
    ("Giải quyết khiếu nại lần đầu thuộc thẩm quyền", "Khiếu nại, tố cáo"),
    ("Cấp bản sao văn bản, hồ sơ lưu trữ", "Hành chính"),
    ("Tiếp nhận hồ sơ thi đua, khen thưởng của ngành", "Thi đua, khen thưởng"),
)
_PROCEDURES_HUYEN = (
    ("Cấp giấy chứng nhận quyền sử dụng đất", "Đất đai"), ("Cấp giấy phép xây dựng nhà ở", "Xây dựng"),
    ("Đăng ký kinh doanh hộ cá thể", "Kinh doanh"), ("Chứng thực bản sao", "Tư pháp"),
    ("Đăng ký hộ tịch", "Tư pháp"), ("Giải quyết chế độ chính sách người có công", "Lao động – Xã hội"),
    ("Cấp giấy phép khai thác tài nguyên", "Tài nguyên"), ("Thẩm định dự án đầu tư cấp huyện", "Đầu tư"),
)

_NARRATIVES: dict[str, tuple[str, ...]] = {
    "dg_ket_qua": (
        "{internet_text}",
        "Văn bản, báo cáo được soạn thảo hoàn toàn trên máy tính, từng bước trao đổi qua thư điện tử.",
        "Phần mềm kế toán và phần mềm quản lý cán bộ được sử dụng thường xuyên.",
        "Năm 2007 đã cử {trained} lượt cán bộ tham gia các lớp đào tạo tin học.",
        "{website_text}",
    ),
    "dg_ton_tai": (
        "Hạ tầng mạng chưa đồng bộ, nhiều máy tính đã cũ, cấu hình thấp.",
        "Ứng dụng CNTT trong chỉ đạo, điều hành còn hạn chế, chủ yếu dùng để soạn thảo văn bản.",
        "Tỷ lệ cán bộ sử dụng thư điện tử trong công việc còn thấp.",
        "Chưa có phần mềm quản lý văn bản dùng chung trên mạng.",
        "Cơ sở dữ liệu chuyên ngành chưa được xây dựng hoặc còn rời rạc.",
        "Việc sử dụng bảng mã Unicode chưa thống nhất, vẫn còn văn bản dùng phông TCVN3.",
    ),
    "dg_kho_khan": (
        "Kinh phí dành cho ứng dụng CNTT hằng năm còn ít, chưa đáp ứng nhu cầu.",
        "Thiếu cán bộ chuyên trách CNTT; cán bộ kiêm nhiệm chưa được đào tạo bài bản.",
        "Đường truyền Internet chậm, hay bị gián đoạn, nhất là vào mùa mưa bão.",
        "Trình độ tin học của một bộ phận cán bộ, công chức, viên chức còn hạn chế.",
        "Chưa có cơ chế, chính sách đãi ngộ cho cán bộ làm công tác CNTT.",
    ),
    "dg_nguyen_nhan": (
        "Nhận thức của một số cán bộ về vai trò của CNTT chưa đầy đủ.",
        "Nguồn kinh phí chủ yếu từ ngân sách địa phương, còn hạn hẹp.",
        "Chưa có kế hoạch ứng dụng CNTT dài hạn được phê duyệt.",
        "Công tác đào tạo, bồi dưỡng tin học chưa được tổ chức thường xuyên.",
        "Trang thiết bị được đầu tư qua nhiều năm, không đồng bộ.",
    ),
    "dg_de_xuat": (
        "Đề nghị UBND tỉnh bố trí kinh phí để nâng cấp mạng LAN và đường truyền Internet.",
        "Đề nghị Sở Bưu chính, Viễn thông tổ chức các lớp đào tạo tin học cho cán bộ, công chức, viên chức.",
        "Triển khai phần mềm quản lý văn bản và điều hành dùng chung trên mạng của tỉnh.",
        "Sớm ban hành quy chế sử dụng thư điện tử trong các cơ quan nhà nước của tỉnh.",
        "Có chế độ hỗ trợ cho cán bộ chuyên trách CNTT.",
    ),
    "kh_quan_diem": (
        "Ứng dụng CNTT là nhiệm vụ quan trọng, gắn với cải cách hành chính và nâng cao hiệu quả hoạt động của {name}.",
        "Đầu tư có trọng tâm, trọng điểm, tránh dàn trải; ưu tiên các ứng dụng phục vụ người dân và doanh nghiệp.",
        "Phát triển nguồn nhân lực CNTT đi đôi với đầu tư hạ tầng kỹ thuật.",
        "Thực hiện theo Nghị định 64/2007/NĐ-CP và quy hoạch phát triển CNTT của tỉnh Hà Tĩnh đến năm 2010.",
    ),
    "kh_muc_tieu_tong_quat": (
        "Đến năm 2010, hầu hết cán bộ, công chức, viên chức sử dụng thành thạo máy tính và thư điện tử trong công việc.",
        "Xây dựng hạ tầng kỹ thuật đồng bộ, kết nối mạng diện rộng của tỉnh.",
        "Từng bước cung cấp dịch vụ công trực tuyến mức 2, mức 3 cho người dân và doanh nghiệp.",
        "Nâng cao năng lực chỉ đạo, điều hành thông qua trao đổi văn bản điện tử.",
    ),
    "kh_nd_ha_tang": (
        "Mua sắm bổ sung {more_pcs} máy tính, nâng cấp mạng LAN và đường truyền Internet lên {bw_target} kbps.",
        "Trang bị máy chủ, thiết bị lưu trữ và tường lửa để bảo đảm an toàn dữ liệu.",
        "Kết nối mạng diện rộng của tỉnh trong năm 2008.",
    ),
    "kh_nd_chi_dao_dieu_hanh": (
        "Triển khai phần mềm quản lý văn bản và điều hành trên mạng.",
        "Cấp hộp thư điện tử @hatinh.gov.vn cho toàn bộ cán bộ, công chức, viên chức và quy định sử dụng trong công việc.",
        "Xây dựng cơ sở dữ liệu chuyên ngành phục vụ công tác quản lý.",
    ),
    "kh_nd_phuc_vu_dan_dn": (
        "Nâng cấp trang thông tin điện tử, công khai đầy đủ thủ tục hành chính.",
        "Cung cấp biểu mẫu thủ tục hành chính trên mạng (dịch vụ công trực tuyến mức 2).",
        "Ứng dụng phần mềm tại bộ phận tiếp nhận và trả kết quả theo cơ chế một cửa.",
    ),
    "kh_nd_nhan_luc": (
        "Cử {it_more} cán bộ tham gia đào tạo chuyên sâu về quản trị mạng.",
        "Tổ chức các lớp đào tạo tin học cơ bản, sử dụng thư điện tử cho cán bộ, công chức, viên chức.",
        "Bố trí ít nhất một cán bộ chuyên trách CNTT.",
    ),
    "kh_giai_phap": (
        "Tăng cường sự chỉ đạo của lãnh đạo đơn vị; phân công một lãnh đạo phụ trách CNTT.",
        "Bố trí kinh phí hằng năm cho ứng dụng CNTT, lồng ghép với các chương trình, dự án.",
        "Ban hành quy chế sử dụng thư điện tử và trao đổi văn bản điện tử trong cơ quan.",
        "Phối hợp chặt chẽ với Sở Bưu chính, Viễn thông trong việc triển khai các dự án.",
    ),
    "kh_nd_an_toan": (
        "Trang bị phần mềm diệt virus có bản quyền, tường lửa cho mạng nội bộ.",
        "Sao lưu dữ liệu định kỳ, ban hành quy định bảo đảm an toàn thông tin trong cơ quan.",
    ),
    "kh_lo_trinh": (
        "Năm 2008: hoàn thiện hạ tầng mạng, triển khai thư điện tử công vụ.",
        "Năm 2009: triển khai phần mềm quản lý văn bản, xây dựng cơ sở dữ liệu chuyên ngành.",
        "Năm 2010: cung cấp dịch vụ công trực tuyến mức 2 cho các thủ tục chủ yếu.",
    ),
    "kh_dieu_kien": (
        "Bố trí cán bộ chuyên trách CNTT và lãnh đạo phụ trách CNTT.",
        "Kinh phí được bố trí trong dự toán ngân sách hằng năm của đơn vị.",
        "Ban hành quy chế sử dụng thư điện tử và trao đổi văn bản điện tử.",
    ),
    "kh_to_chuc_thuc_hien": (
        "Văn phòng chủ trì, phối hợp với các phòng, ban triển khai kế hoạch.",
        "Lãnh đạo đơn vị trực tiếp chỉ đạo; định kỳ sáu tháng báo cáo kết quả về Sở Bưu chính, Viễn thông.",
        "Phối hợp với Sở Bưu chính, Viễn thông và Sở Tài chính trong thẩm định, bố trí kinh phí.",
    ),
    "kh_hieu_qua": (
        "Giảm thời gian và chi phí xử lý công việc; tăng tính công khai, minh bạch.",
        "Nâng cao chất lượng phục vụ người dân và doanh nghiệp, góp phần cải cách hành chính.",
        "Lãnh đạo nắm bắt thông tin kịp thời, chỉ đạo, điều hành nhanh chóng hơn.",
    ),
}
_OPTIONAL_NARRATIVES = {"kh_nd_an_toan": 0.6}
# Narratives that open with a sentence about the agency itself, so no two agencies write the same text.
_OPENERS = {
    "dg_ket_qua": "{name} đã trang bị {pcs} máy tính cho {staff} cán bộ, công chức, viên chức; {lan_text}.",
}


def _tenths(rng: random.Random, low: float, high: float) -> int:
    """A money amount in tenths of a triệu đồng (integers add up exactly)."""
    return rng.randint(round(low * 10), round(high * 10))


def _split(rng: random.Random, total: int, weights: Sequence[float]) -> list[int]:
    """Split an integer amount into parts proportional to random-ish weights; the parts add up exactly."""
    raw = [total * w / sum(weights) for w in weights] if sum(weights) else [0.0] * len(weights)
    parts = [math.floor(x) for x in raw]
    weighted = [i for i, w in enumerate(weights) if w > 0] or list(range(len(parts)))
    parts[rng.choice(weighted) if total else 0] += total - sum(parts)  # never to a source of weight 0
    return parts


def _money(tenths: int) -> float:
    return tenths / 10


def _ceil_to(value: float, step: float) -> float:
    """The smallest multiple of ``step`` (as shown, e.g. 0.01) that is ≥ value, guarding float error."""
    candidate = round(math.ceil(value / step - 1e-9) * step, 10)
    return candidate if candidate >= value else round(candidate + step, 10)


class _Generator:
    """Builds one clean return, section by section; later sections use the figures of earlier ones."""

    def __init__(self, spec: FormSpec, agency: Agency, rng: random.Random) -> None:
        self.spec = spec
        self.agency = agency
        self.rng = rng
        self.profile = Profile.of(spec, agency)
        self.v: dict[str, Any] = {}
        self.projects: list[dict[str, Any]] = []
        self.tables: dict[str, list[dict[str, Any]]] = {t.id: [] for t in spec.other_tables}
        self.huyen = self.profile.district
        self.focal = self.profile.focal
        self.slug = slug(agency)
        self.base = self.profile.spending_base(rng)  # the agency's usual yearly IT spending, triệu đồng
        database, procedures = _SECTORS.get(agency.code, (_DISTRICT_DATABASE if self.huyen else _OTHER_DATABASE,
                                                          ()))
        self.database = database
        self.procedures = procedures + (_PROCEDURES_HUYEN if self.huyen else _PROCEDURES_SO)

    def run(self) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        for step in (self.general, self.infrastructure, self.communes, self.direction, self.services, self.people,
                     self.spending, self.project_list, self.plan_funding, self.online_services, self.targets,
                     self.narratives, self.unknown_required):
            step()
        unknown = set(self.v) - set(self.spec.fields)
        assert not unknown, f"generator writes fields the spec does not have: {sorted(unknown)}"
        return self.v, self.projects, self.tables

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def person(self) -> str:
        return " ".join((self.rng.choice(_SURNAMES), self.rng.choice(_MIDDLE), self.rng.choice(_GIVEN)))

    def unknown_required(self) -> None:
        """Required fields and columns no step above knows (a field the spec gained): a value from the spec."""
        staff = self.v.get("tong_so_cbccvc")
        for f in self.spec.fields.values():
            if f.required and f.is_input and _blank(self.v.get(f.id)):
                self.v[f.id] = draw(self.spec, f, self.rng, self.profile, staff=staff)
        for table in self.spec.tables:
            rows = self.projects if table is self.spec.table else self.tables.get(table.id, [])
            for row in rows:
                for column in table.columns:
                    if column.required and _blank(row.get(column.id)):
                        row[column.id] = draw(self.spec, column, self.rng, self.profile, staff=staff)

    # --- A. general information ----------------------------------------------------------------------------

    def general(self) -> None:
        v, rng, a = self.v, self.rng, self.agency
        v["ma_don_vi"], v["ten_don_vi"] = a.code, a.name_vi
        v["loai_don_vi"] = a.loai_don_vi or "KHAC"
        v["pham_vi_so_lieu"] = "CO_QUAN"  # the staff band is the office's; a whole sector's figures are not drawn
        v["ngay_so_lieu"] = rng.choice((dt.date(2007, 6, 30), dt.date(2007, 7, 31)))
        window_start, window_end = self.spec.form["collection_window"]
        first = max(window_start, v["ngay_so_lieu"] + dt.timedelta(days=1))
        last = min(window_end, dt.date(2007, 10, 15))  # most returns come around the deadline
        v["ngay_lap"] = first + dt.timedelta(days=rng.randint(0, (last - first).days))
        if self.chance(0.8):
            v["so_hieu_van_ban"] = f"{rng.randint(40, 480)}/{'UBND' if self.huyen else a.code}-VP"
        v["nguoi_lap"] = self.person()
        v["dien_thoai"] = f"039.{rng.choice((855, 856, 857, 858))}{rng.randint(100, 999)}"  # 2007: 6-digit local numbers
        if self.chance(0.85) or self.focal:
            title = "Phó Chủ tịch UBND" if self.huyen else "Phó Giám đốc"
            v["lanh_dao_phu_trach_cntt"] = f"{title} {self.person()}"
        v["co_ban_chi_dao_cntt"] = self.focal or self.chance(0.3)
        v["co_ke_hoach_cntt_duoc_duyet"] = self.chance(0.5 if self.focal else 0.15)

    # --- B. infrastructure ---------------------------------------------------------------------------------

    def infrastructure(self) -> None:
        v, rng = self.v, self.rng
        staff = self.profile.staff(rng)
        pcs = max(1, round(staff * rng.uniform(0.6 if self.focal else 0.3, 1.0)))
        v["tong_so_cbccvc"] = staff
        v["so_cbcc_su_dung_may_tinh"] = min(staff, round(staff * rng.uniform(0.55, 0.95)))
        v["tong_so_may_tinh"] = pcs
        v["so_may_xach_tay"] = rng.randint(0, min(6, pcs // 5))
        v["so_may_chu"] = rng.randint(1, 3) if self.focal else rng.choice((0, 0, 0, 1, 1, 2))
        v["co_mang_lan"] = has_lan = self.focal or self.chance(0.8)
        v["so_may_ket_noi_lan"] = round(pcs * rng.uniform(0.6, 1.0)) if has_lan else 0
        online = 0 if self.chance(0.04) and not self.focal else max(
            1, round(pcs * rng.uniform(0.3, 0.9)) if has_lan else rng.randint(1, min(3, pcs)))
        v["so_may_ket_noi_internet"] = online
        leased, fibre = self.chance(0.4 if self.focal else 0.08), self.chance(0.03)
        dial_up = self.chance(0.15)
        for key, on in (("kn_quay_so", dial_up), ("kn_adsl", not (leased or fibre) or self.chance(0.5)),
                        ("kn_kenh_thue_rieng", leased), ("kn_cap_quang", fibre), ("kn_khac", False)):
            v[key] = bool(online) and on  # no PC online: no connection type (rule R05a)
        dial_up_pcs = min(online, rng.randint(1, 2)) if v["kn_quay_so"] and online > 2 else 0
        v["so_may_internet_bang_rong"] = online - dial_up_pcs
        if online:
            v["bang_thong_kbps"] = rng.choice((512, 1024, 2048, 2048, 3072, 4096, 6144, 8192))
        v["ket_noi_mang_dien_rong"] = self.focal or self.chance(0.2)
        v["so_may_co_diet_virus"] = round(pcs * rng.uniform(0.1, 0.9))
        v["co_tuong_lua"] = self.focal or self.chance(0.2)
        v["co_sao_luu_du_lieu"] = self.focal or self.chance(0.4)
        v["phan_mem_van_phong"] = rng.choices(("MS_OFFICE", "CA_HAI", "OPENOFFICE", "KHAC"), (80, 10, 6, 4))[0]
        v["bang_ma_chu_viet"] = rng.choices(("UNICODE", "HON_HOP", "TCVN3", "VNI"), (55, 30, 12, 3))[0]

    def communes(self) -> None:
        """District units report their communes' IT; departments leave the section blank (rule R21a asks it
        of districts only)."""
        if not self.huyen:
            return
        v, rng = self.v, self.rng
        v["so_xa_phuong"] = total = _COMMUNES.get(self.agency.code, rng.randint(12, 30))
        v["so_xa_co_may_tinh"] = with_pcs = round(total * rng.uniform(0.5, 1.0))
        v["so_xa_ket_noi_internet"] = round(with_pcs * rng.uniform(0.1, 0.6))

    # --- C. direction and administration -------------------------------------------------------------------

    def direction(self) -> None:
        """Official e-mail was rare in 2007: the focal department and about one agency in five had it."""
        v, rng = self.v, self.rng
        staff = v["tong_so_cbccvc"]
        v["co_thu_dien_tu_cong_vu"] = has_mail = self.focal or self.chance(0.2)
        if has_mail:
            v["ten_mien_thu"] = "hatinh.gov.vn"
        if has_mail or self.chance(0.5):  # without a system of its own, the office's one box on the province's
            v["email_lien_he"] = self.agency.email or f"vanphong.{self.slug}@hatinh.gov.vn"
        mailboxes = round(staff * rng.uniform(0.6 if self.focal else 0.2, 0.9)) if has_mail else 0
        v["so_cbcc_co_hop_thu"] = mailboxes
        v["so_cbcc_dung_thu_thuong_xuyen"] = round(mailboxes * rng.uniform(0.4, 1.0))
        if self.chance(0.85):
            v["ty_le_van_ban_qua_mang"] = rng.randint(5, 30) if has_mail else rng.randint(0, 5)
        v["co_quy_che_cntt"] = has_mail and self.chance(0.5)
        v["qlvb_muc_do"] = "TREN_MANG" if self.focal else rng.choices(("KHONG", "CAI_DAT_CUC_BO", "TREN_MANG"),
                                                                      (55, 30, 15))[0]
        if v["qlvb_muc_do"] != "KHONG":
            v["qlvb_ten"] = rng.choice(_QLVB_NAMES)
        v["pm_ke_toan"] = self.chance(0.9)
        v["pm_quan_ly_can_bo"] = self.chance(0.5)
        v["pm_quan_ly_tai_san"] = self.chance(0.3)
        v["so_ung_dung_chuyen_nganh"] = apps = rng.randint(0, 4)
        v["so_csdl_chuyen_nganh"] = databases = rng.randint(0, 2)
        if apps + databases:
            chosen = rng.sample(_APPS, min(len(_APPS), max(2, apps + databases) - (1 if databases else 0)))
            chosen += [self.database] if databases else []
            v["ds_csdl_ung_dung"] = "Đang sử dụng: " + "; ".join(chosen) + "."
        v["co_hop_truc_tuyen"] = False

    # --- D. services to citizens and businesses ------------------------------------------------------------

    def services(self) -> None:
        """Websites were rare in 2007 (a quarter of the departments, fewer districts, the focal department),
        most of them new; an agency created this year has none yet, and none is older than its agency."""
        v, rng, profile = self.v, self.rng, self.profile
        chance = 0.0 if profile.new_in() else 0.9 if self.focal else 0.2 if self.huyen else 0.28
        v["co_website"] = has_site = self.chance(chance)
        if has_site:
            v["dia_chi_website"] = f"http://{self.slug}.hatinh.gov.vn"
            years = [y for y in (2004, 2005, 2006, 2007) if profile.existed_in(y)]
            v["nam_khai_truong_website"] = rng.choices(years, [y - 2003 for y in years])[0]
            v["tan_suat_cap_nhat"] = rng.choice(("HANG_TUAN", "HANG_TUAN", "HANG_THANG", "HANG_THANG", "IT_HON"))
            for key, p in (("web_co_to_chuc", 0.95), ("web_co_van_ban", 0.8), ("web_co_tthc", 0.6),
                           ("web_co_danh_ba_email", 0.4), ("web_co_du_an_dau_thau", 0.3), ("web_co_gop_y", 0.5)):
                v[key] = self.chance(p)
        procedures = rng.randint(120, 300) if self.huyen else rng.randint(*{"S": (10, 50), "M": (30, 120)}.get(
            self.profile.size_class, (50, 150)))
        level_1 = rng.randint(0, procedures // 2) if has_site else 0
        level_2 = rng.randint(1, max(1, (procedures - level_1) // 10)) if has_site and self.chance(0.4) else 0
        v["so_tthc"] = procedures
        v["so_dvc_muc_1"], v["so_dvc_muc_2"], v["so_dvc_muc_3"], v["so_dvc_muc_4"] = level_1, level_2, 0, 0
        v["co_bo_phan_mot_cua"] = one_stop = self.huyen or self.chance(0.7)
        v["mot_cua_co_phan_mem"] = one_stop and self.chance(0.3)

    # --- E. people -----------------------------------------------------------------------------------------

    def people(self) -> None:
        """A few IT staff at most; the focal department has its IT unit (Phòng Công nghệ thông tin)."""
        v, rng = self.v, self.rng
        staff = v["tong_so_cbccvc"]
        v["co_don_vi_chuyen_trach"] = has_unit = self.focal or self.chance(0.4 if self.huyen else 0.2)
        it_staff = rng.randint(3, min(8, staff)) if self.focal else rng.randint(1, 3) if has_unit else \
            rng.randint(0, 1)
        v["so_cb_chuyen_trach"] = it_staff
        university = rng.randint(max(1, it_staff - 2), it_staff) if self.focal else rng.randint(0, it_staff)
        college = rng.randint(0, it_staff - university)
        v["so_cb_ct_dai_hoc"] = university
        v["so_cb_ct_cao_dang"] = college
        v["so_cb_ct_trung_cap"] = rng.randint(0, it_staff - university - college)
        v["so_cb_kiem_nhiem"] = rng.randint(0, 2)
        v["so_cbcc_chung_chi_tin_hoc"] = round(staff * rng.uniform(0.3, 0.8))
        if self.chance(0.9):
            v["so_luot_dao_tao_2007"] = rng.randint(0, staff)

    # --- F. spending ---------------------------------------------------------------------------------------

    def spending(self) -> None:
        """2006 and 2007 drift around the agency's usual spending, rising a little; no 2006 figure for an
        agency that did not exist then."""
        v, rng = self.v, self.rng
        if self.profile.existed_in(2006) and self.chance(0.9):
            v["kp_cntt_2006"] = _money(max(10, round(self.base * rng.uniform(0.8, 1.0) * 10)))
        total = max(10, round(self.base * rng.uniform(1.0, 1.25) * 10))
        v["kp_cntt_2007"] = _money(total)
        if self.chance(0.85):
            weights = (rng.choice((0, 0, rng.uniform(0, 0.2))), rng.uniform(0.7, 1.0), rng.choice((0, rng.uniform(0, 0.1))))
            for key, part in zip(("kp2007_nstw", "kp2007_nsdp", "kp2007_khac"), _split(rng, total, weights),
                                 strict=True):
                v[key] = _money(part)

    # --- I. projects, then H. plan funding -----------------------------------------------------------------

    def project_list(self) -> None:
        """0–6 projects (more for a larger agency), each costing a share of the agency's yearly spending
        (investment projects a few years' worth, recurrent tasks less); none began before the agency existed."""
        rng = self.rng
        weights = {"S": (20, 30, 25, 15, 7, 3, 0), "M": (10, 20, 28, 22, 12, 6, 2)}.get(
            self.profile.size_class, (5, 12, 22, 25, 18, 12, 6))
        count = rng.choices(range(7), weights)[0]
        budget = round(self.base * 12 * 10)  # tenths: all of one agency's projects, about twelve years' spending
        first = max(2007, self.profile.first_year or 2007)
        starts = [y for y in (2007, 2008, 2009, 2010) if y >= first]
        for number, (name, area, kind, goal, scope) in enumerate(rng.sample(_PROJECTS, count), start=1):
            start = rng.choices(starts, [{2007: 15, 2008: 50, 2009: 25, 2010: 10}[y] for y in starts])[0]
            end = min(start + rng.choices((0, 1, 2, 3), (35, 35, 20, 10))[0], 2012)
            end = max(end, 2008)  # a 2007 project still running in the plan period
            low, high = _INVESTMENT_SHARE if kind == "DU_AN_DAU_TU" else _RECURRENT_SHARE
            total = min(round(self.base * rng.uniform(low, high) * 10), budget)
            if total < 100:
                break
            budget -= total
            if not self.v.get("co_website") and name in _NEW_WEBSITE:  # without a website: build one
                name, scope = _NEW_WEBSITE[name]
            self.projects.append(self._project(number, name.format(database=self.database), area, kind, goal,
                                               scope, start, end, total))

    def _project(self, number: int, name: str, area: str, kind: str, goal: str, scope: str, start: int, end: int,
                 total: int) -> dict[str, Any]:
        rng = self.rng
        window = [y for y in PLAN_YEARS if start <= y <= end]
        # Within 2008–2010 the allocations are the whole cost; otherwise only part of it falls in the period.
        planned = total if start >= 2008 and end <= 2010 else round(total * rng.uniform(0.5, 0.9))
        allocation = dict(zip(window, _split(rng, planned, [rng.uniform(0.5, 1.5) for _ in window]), strict=True))
        sources = _split(rng, total, (rng.choice((0, 0, rng.uniform(0, 0.3))), rng.uniform(0.6, 1.0),
                                      rng.choice((0, 0, rng.uniform(0, 0.2)))))
        carried = start <= 2007
        project: dict[str, Any] = {
            "stt": str(number), "ten_du_an": name, "nhom_noi_dung": area, "loai_hinh": kind,
            "tinh_chat": "CHUYEN_TIEP" if carried else "MOI",
            "phe_duyet": "DA_PHE_DUYET" if carried or self.chance(0.25) else "CHUA_PHE_DUYET",
            "muc_tieu": goal, "quy_mo_noi_dung": scope,
            "nam_bat_dau": start, "nam_ket_thuc": end, "tong_kinh_phi": _money(total),
            "von_nstw": _money(sources[0]), "von_nsdp": _money(sources[1]), "von_khac": _money(sources[2]),
            **{f"kp_{y}": _money(allocation.get(y, 0)) for y in PLAN_YEARS},
        }
        if carried:  # part of what falls before the plan period was allocated in 2007
            project["von_da_bo_tri_2007"] = _money(round((total - planned) * rng.uniform(0.5, 1.0)))
        if project["phe_duyet"] == "DA_PHE_DUYET":
            level = rng.choice(("UBND_TINH", "UBND_TINH", "SO_NGANH")) if not self.huyen else "UBND_HUYEN"
            project["cap_phe_duyet"] = level
            signer = {"UBND_TINH": "QĐ-UBND", "SO_NGANH": f"QĐ-{self.agency.code}", "UBND_HUYEN": "QĐ-UBND"}[level]
            project["so_qd_phe_duyet"] = f"{rng.randint(100, 3500)}/{signer}"
            # a carried-over project was approved before it began; a new one this year, before the report
            earliest = max(dt.date(2006 if carried else 2007, 1, 1), self.profile.founded or dt.date(2006, 1, 1))
            latest = max(earliest, dt.date(2007, 6, 30) if carried else self.v["ngay_lap"])
            project["ngay_qd_phe_duyet"] = earliest + dt.timedelta(days=rng.randint(0, (latest - earliest).days))
        if self.chance(0.7):
            project["uu_tien"] = rng.choice(("1", "2", "3"))
        if self.chance(0.2) and not self.focal:
            project["don_vi_phoi_hop"] = self.spec.form.get("issuer_short_vi", "Sở Bưu chính, Viễn thông")
        if self.chance(0.15):
            project["ghi_chu"] = "Đã có chủ trương của UBND tỉnh." if start == 2007 else "Đề nghị hỗ trợ kinh phí."
        return project

    def plan_funding(self) -> None:
        """The funding grid (year × kind × source) is the sum of what is planned: the projects' allocations
        (investment projects as development investment, the rest as recurrent funds) split by their own
        sources, plus recurrent tasks besides them (so rules R17a–c hold). A plan asks for more than was
        spent: in most agencies the 2008 total is 1.1–2 times the 2007 spending. The 2008 column is the
        2008 annual plan, task by task and source by source (rule R22b, and each task's sources add up: R22a)."""
        v, rng = self.v, self.rng
        spent = round(v["kp_cntt_2007"] * 10)
        grid = {(kind, source, year): 0 for kind in ("dtpt", "sn") for source in _SOURCES for year in PLAN_YEARS}
        plan_2008 = self.tables.setdefault("kh_2008", [])
        for year in PLAN_YEARS:
            from_projects = sum(round(p[f"kp_{year}"] * 10) for p in self.projects)
            goal = round(spent * (rng.uniform(1.1, 2.0) if self.chance(0.88) else rng.uniform(0.75, 1.0)))
            if year > 2008:
                goal = round(goal * rng.uniform(1.0, 1.3))
            rest = max(goal - from_projects, _tenths(rng, 10, 40))  # recurrent spending besides the projects
            recurrent = [t for t in _RECURRENT_TASKS if v.get("co_website") or "trang thông tin" not in t[0]]
            tasks = rng.sample(recurrent, rng.randint(1, 3) if rest >= 300 else 1)
            amounts = _split(rng, rest, [rng.uniform(0.5, 1.5) for _ in tasks])
            for p in self.projects:
                amount = round(p[f"kp_{year}"] * 10)
                if not amount:
                    continue
                kind = "dtpt" if p["loai_hinh"] == "DU_AN_DAU_TU" else "sn"
                parts = _split(rng, amount, self.project_weights(p))
                for source, part in zip(_SOURCES, parts, strict=True):
                    grid[kind, source, year] += part
                if year == 2008:
                    budget = "DE_NGHI_BO_SUNG" if p["tinh_chat"] == "MOI" and p["phe_duyet"] == "CHUA_PHE_DUYET" \
                        else "DA_CO_DU_TOAN"
                    plan_2008.append(self.plan_task(p["ten_du_an"], p["nhom_noi_dung"], amount, parts, budget))
            weights = self.source_weights()
            for (name, area), amount in zip(tasks, amounts, strict=True):
                if amount <= 0:
                    continue
                parts = _split(rng, amount, weights)
                for source, part in zip(_SOURCES, parts, strict=True):
                    grid["sn", source, year] += part
                if year == 2008:
                    plan_2008.append(self.plan_task(name, area, amount, parts, "DA_CO_DU_TOAN"))
        for (kind, source, year), amount in grid.items():
            if amount or self.chance(0.5):  # an agency writes 0 in some cells and leaves others blank
                v[f"kh_{kind}_{source}_{year}"] = _money(amount)
        for number, task in enumerate(plan_2008, start=1):
            task["stt"] = str(number)

    def project_weights(self, p: Mapping[str, Any]) -> tuple[float, ...]:
        """A project's sources (central, local, other) spread over the grid's five: local budget is the
        province's for a department, the district's and the province's for a district unit."""
        central, local, other = p["von_nstw"], p["von_nsdp"], p["von_khac"]
        district = local * self.rng.uniform(0.5, 0.9) if self.huyen else 0
        return central, local - district, district, 0, other

    def source_weights(self) -> tuple[float, ...]:
        """Weights of the five sources (central, provincial, district, ODA, other) of recurrent spending: a
        district unit spends mostly its own and the province's budget, a department the province's."""
        rng = self.rng
        central = rng.choice((0, 0, rng.uniform(0, 0.2)))
        if self.huyen:
            return central, rng.uniform(0.2, 0.5), rng.uniform(0.4, 0.8), 0, rng.choice((0, rng.uniform(0, 0.1)))
        return central, rng.uniform(0.7, 1.0), 0, rng.choice((0, 0, 0, rng.uniform(0, 0.1))), \
            rng.choice((0, rng.uniform(0, 0.1)))

    def plan_task(self, name: str, area: str, amount: int, parts: Sequence[int], budget: str) -> dict[str, Any]:
        rng = self.rng
        lead = "Văn phòng" if self.chance(0.7) else rng.choice(
            ("Phòng Tổ chức – Hành chính", "Phòng Kế hoạch – Tài chính") if not self.focal else
            ("Phòng Công nghệ thông tin", "Trung tâm Công nghệ thông tin"))
        task: dict[str, Any] = {"ten_nhiem_vu": name, "nhom_noi_dung": area, "don_vi_chu_tri": lead,
                                "thoi_gian": rng.choice(_QUARTERS), "kinh_phi": _money(amount), "du_toan": budget}
        for source, part in zip(_SOURCES, parts, strict=True):
            if part or self.chance(0.3):
                task[f"nguon_{source}"] = _money(part)
        return task

    def online_services(self) -> None:
        """The roadmap of online services: a few of the agency's own procedures, its sector's first, at
        level 0 now (1, rarely 2, where the website lists them), rising to 2–3 by 2010."""
        v, rng = self.v, self.rng
        rows = self.tables.setdefault("dvc", [])
        common = _PROCEDURES_HUYEN if self.huyen else _PROCEDURES_SO
        sector = [p for p in self.procedures if p not in common]
        count = min(rng.randint(2, 6), len(self.procedures))
        own = rng.sample(sector, min(len(sector), count))
        chosen = own + rng.sample(common, count - len(own))
        for number, (name, area) in enumerate(chosen, start=1):
            now = rng.choice((0, 1, 1, 1, 2)) if v.get("co_website") else 0
            y2008 = max(now, rng.choice((1, 1, 2)))
            y2009 = max(y2008, rng.choice((1, 2, 2)))
            y2010 = max(y2009, rng.choice((2, 2, 3)))
            rows.append({"stt": str(number), "ten_thu_tuc": name, "linh_vuc": area, "muc_hien_tai": now,
                         "muc_2008": y2008, "muc_2009": y2009, "muc_2010": y2010})

    # --- H. targets (after the figures they start from) ----------------------------------------------------

    def targets(self) -> None:
        current = evaluate_computed(self.spec, self.v, self.projects, self.tables)
        for section in (s for sheet in self.spec.sheets for s in sheet.sections if s.targets):
            for base in section.targets:
                now = current.get(f"{base}_current")
                first = self.spec.fields[f"{base}_{section.target_years[0]}"]
                for year, value in zip(section.target_years, self._rising(first, now, len(section.target_years)),
                                       strict=True):
                    self.v[f"{base}_{year}"] = value

    def _rising(self, f: Field, now: float | None, count: int) -> list[Any]:
        """Targets that never go down from the current value, within the field's range."""
        rng = self.rng
        high = f.max if f.max is not None else math.inf
        if f.type == "dec":
            step, grow = 0.01, lambda: rng.uniform(0, 0.2)
        elif f.type == "pct":
            step, grow = 1, lambda: rng.randint(0, 20)
        else:
            step, grow = 1, lambda: rng.randint(0, max(2, round((now or 0) * 0.5)))
        value = _ceil_to(now or 0, step)
        out = []
        for i in range(count):
            value = min(high, _ceil_to(value + grow(), step))
            if f.id.startswith("mt_pct_cbcc_dung_email") and i == count - 1:
                value = max(value, rng.randint(60, 80))  # the provincial 2010 target (rule R13b)
            out.append(round(value, 2) if f.type == "dec" else int(value))
        return out

    # --- G/H. narratives -----------------------------------------------------------------------------------

    def narratives(self) -> None:
        v, rng = self.v, self.rng
        facts = {
            "pcs": v["tong_so_may_tinh"], "staff": v["tong_so_cbccvc"], "name": self.agency.name_vi,
            "lan_text": (f"mạng LAN kết nối {v['so_may_ket_noi_lan']} máy" if v["co_mang_lan"]
                         else "chưa có mạng LAN nội bộ"),
            "internet_text": (f"{v['so_may_ket_noi_internet']} máy tính được kết nối Internet qua ADSL."
                              if v["so_may_ket_noi_internet"] else "Cơ quan chưa kết nối Internet."),
            "trained": v.get("so_luot_dao_tao_2007") or 0,
            "website_text": (f"Trang thông tin điện tử {v['dia_chi_website']} hoạt động từ năm "
                             f"{v['nam_khai_truong_website']}." if v["co_website"]
                             else "Đơn vị chưa có trang thông tin điện tử riêng."),
            "more_pcs": rng.randint(5, 30), "bw_target": rng.choice((4096, 8192)), "it_more": rng.randint(1, 2),
        }
        issuer = self.spec.form.get("issuer_short_vi", "")
        for field_id, sentences in _NARRATIVES.items():
            if field_id in _OPTIONAL_NARRATIVES and not self.chance(_OPTIONAL_NARRATIVES[field_id]):
                continue
            if self.focal and issuer:  # the issuing department does not write of reporting to itself
                sentences = tuple(s for s in sentences if issuer not in s) or sentences
            chosen = rng.sample(sentences, min(len(sentences), rng.randint(2, 3)))
            opener = [_OPENERS[field_id]] if field_id in _OPENERS else []
            v[field_id] = " ".join(s.format(**facts) for s in opener + chosen)


# --------------------------------------------------------------------------------------------------------
# Mistakes


def _refresh_computed(spec: FormSpec, sample: SampleReturn) -> None:
    inputs = {k: v for k, v in sample.values.items() if spec.fields[k].is_input}
    sample.values = inputs | evaluate_computed(spec, inputs, sample.projects, sample.tables)


def _field_mistake(spec: FormSpec, kind: str, field_id: str, code: str, severity: str, note: str = "") -> Mistake:
    ref = layout_for(spec).cells[field_id]
    return Mistake(kind, field_id, ref.sheet, ref.a1, code, severity, None, note)


def _project_mistake(spec: FormSpec, index: int, column_id: str, code: str, severity: str) -> Mistake:
    sheet, row, cell = project_cell(spec, index, column_id)
    return Mistake("rule", column_id, sheet, cell, code, severity, row)


def _rule(spec: FormSpec, rule_id: str) -> Rule:
    return next(r for r in spec.rules if r.id == rule_id)


# Each injector changes the sample (or returns None when it does not apply to it) and returns the Mistake and
# the findings the change must add: exactly these, or the candidate is dropped.
_Injected = tuple[Mistake, set[Finding]] | None


def _lan_over_total(spec: FormSpec, s: SampleReturn, rng: random.Random) -> _Injected:
    """More PCs on the LAN than PCs in total (R01a). Only with a LAN: without one R02a would fire too."""
    v = s.values
    if not v.get("co_mang_lan") or not v.get("tong_so_may_tinh"):
        return None
    v["so_may_ket_noi_lan"] = v["tong_so_may_tinh"] + rng.randint(1, 12)
    rule = _rule(spec, "R01a")
    return _field_mistake(spec, "rule", rule.at, rule.id, rule.severity), {Finding(rule.id, rule.at, rule.severity)}


def _services_over_procedures(spec: FormSpec, s: SampleReturn, rng: random.Random) -> _Injected:
    """More online services than procedures (R08a). Only with a website: without one R07c would warn too."""
    v = s.values
    counts = [v.get(k) for k in ("so_tthc", "so_dvc_muc_2", "so_dvc_muc_3", "so_dvc_muc_4")]
    if not v.get("co_website") or any(c is None for c in counts):
        return None
    level_1 = counts[0] - sum(counts[1:]) + rng.randint(1, 15)
    if not 0 <= level_1 <= spec.fields["so_dvc_muc_1"].max:
        return None
    v["so_dvc_muc_1"] = level_1
    rule = _rule(spec, "R08a")
    return _field_mistake(spec, "rule", rule.at, rule.id, rule.severity), {Finding(rule.id, rule.at, rule.severity)}


def _swapped_years(spec: FormSpec, s: SampleReturn, rng: random.Random) -> _Injected:
    """Start and end year swapped on one project (R14a)."""
    candidates = [i for i, p in enumerate(s.projects) if p["nam_bat_dau"] < p["nam_ket_thuc"] <= 2010]
    if not candidates:
        return None
    i = rng.choice(candidates)
    p = s.projects[i]
    p["nam_bat_dau"], p["nam_ket_thuc"] = p["nam_ket_thuc"], p["nam_bat_dau"]
    rule = _rule(spec, "R14a")
    return (_project_mistake(spec, i, rule.at, rule.id, rule.severity),
            {Finding(rule.id, rule.at, rule.severity, i)})


def _sources_off(spec: FormSpec, s: SampleReturn, rng: random.Random) -> _Injected:
    """A project's funding sources do not add up to its total cost (R15a)."""
    if not s.projects:
        return None
    i = rng.randrange(len(s.projects))
    p = s.projects[i]
    p["von_nsdp"] = _money(round(p["von_nsdp"] * 10) + _tenths(rng, 5, max(5, p["tong_kinh_phi"] * 0.3)))
    rule = _rule(spec, "R15a")
    return (_project_mistake(spec, i, rule.at, rule.id, rule.severity),
            {Finding(rule.id, rule.at, rule.severity, i)})


def _unused_fields(spec: FormSpec) -> set[str]:
    """Fields no rule and no formula looks at: blanking or garbling them has no side effect."""
    used = {name for rule in spec.rules for name in rule.names | {rule.at}}
    used |= {name for f in spec.fields.values() if f.formula is not None for name in f.formula.names}
    return set(spec.fields) - used


def _blank_required(spec: FormSpec, s: SampleReturn, rng: random.Random) -> _Injected:
    """A required item left empty (RULE_REQUIRED)."""
    candidates = sorted(f.id for f in spec.fields.values() if f.required and f.is_input and not f.prefilled
                        and f.id in _unused_fields(spec) and not _blank(s.values.get(f.id)))
    if not candidates:
        return None
    field_id = rng.choice(candidates)
    s.values[field_id] = None
    return (_field_mistake(spec, "required", field_id, "RULE_REQUIRED", "error"),
            {Finding("RULE_REQUIRED", field_id, "error")})


def _text_in_number(spec: FormSpec, s: SampleReturn, rng: random.Random) -> _Injected:
    """Words typed into a required numeric cell ("khoảng 50", "chưa thống kê"): VALUE_NOT_NUMBER."""
    candidates = sorted(f.id for f in spec.fields.values() if f.required and f.is_input and f.kind == "field"
                        and f.type in {"int", "dec", "money", "pct"} and s.values.get(f.id) is not None
                        and f.id not in s.cell_text)
    if not candidates:
        return None
    field_id = rng.choice(candidates)
    value = s.values[field_id]
    s.cell_text[field_id] = f"khoảng {value:g}" if value and rng.random() < 0.6 else "chưa thống kê"
    s.values[field_id] = None  # the cell holds no number: the typed value is unknown
    return (_field_mistake(spec, "text_in_number", field_id, "VALUE_NOT_NUMBER", "error"),
            {Finding("VALUE_NOT_NUMBER", field_id, "error")})


def _unit_slip(spec: FormSpec, s: SampleReturn, rng: random.Random) -> _Injected:
    """The 2006 spending typed in nghìn đồng, 1,000 times too big (RULE_MONEY_UNIT).

    kp_cntt_2006 has no sources and no rule, so nothing else changes. The slipped value stays below the
    field's hard maximum (100,000): a value of 10.5–99.9 triệu becomes 10,500–99,900. Any value above 10,000
    is also above its warning maximum, so RULE_PLAUSIBLE is raised at the same cell (see the note).
    """
    field_id = "kp_cntt_2006"
    f = spec.fields.get(field_id)
    if f is None or f.type != "money" or _blank(s.values.get(field_id)):
        return None  # an agency without a 2006 figure (Lộc Hà did not exist) cannot slip on it
    s.values[field_id] = _money(_tenths(rng, 10.5, 99.9) * 1000)
    extra = {Finding("RULE_PLAUSIBLE", field_id, "warning")} if f.warn_max is not None else set()
    note = ("Cũng vượt ngưỡng cảnh báo của ô (RULE_PLAUSIBLE, warn_max "
            f"{f.warn_max:g}) tại cùng ô." if extra else "")
    return (_field_mistake(spec, "unit_slip", field_id, "RULE_MONEY_UNIT", "warning", note),
            {Finding("RULE_MONEY_UNIT", field_id, "warning"), *extra})


_INJECTORS: tuple[Callable[[FormSpec, SampleReturn, random.Random], _Injected], ...] = (
    _lan_over_total, _services_over_procedures, _swapped_years, _sources_off, _blank_required, _text_in_number,
    _unit_slip,
)


def _inject_one(spec: FormSpec, sample: SampleReturn, rng: random.Random,
                injectors: Sequence[Callable[[FormSpec, SampleReturn, random.Random], _Injected]] = _INJECTORS) -> None:
    """Add one mistake that raises exactly what it records (one of `injectors`: a form's own); a candidate with
    side effects is dropped.

    Mistakes never share a field or a project row with earlier ones, so each stays visible on its own.
    """
    before = set(audit(spec, sample.values, sample.projects, sample.cell_text, sample.tables))
    taken = {(m.field, m.row) for m in sample.mistakes}
    for injector in rng.sample(list(injectors), len(injectors)):
        trial = copy.deepcopy(sample)
        injected = injector(spec, trial, rng)
        if injected is None:
            continue
        mistake, expected = injected
        _refresh_computed(spec, trial)
        after = set(audit(spec, trial.values, trial.projects, trial.cell_text, trial.tables))
        if after - before == expected and before <= after and (mistake.field, mistake.row) not in taken:
            trial.mistakes.append(mistake)
            sample.values, sample.projects, sample.cell_text = trial.values, trial.projects, trial.cell_text
            sample.tables = trial.tables
            sample.mistakes = trial.mistakes
            return
    raise RuntimeError(f"no mistake could be injected cleanly into the sample for {sample.agency.code}")

