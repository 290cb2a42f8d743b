"""Batch validation (pipeline/validation/validate.py): every spec rule, every check type, the mapping of stacked
failures back to files and cells, suppression of cells the reader already reported, both languages,
statuses, and the internal-error fallback. Expected messages are built from the catalogue and the spec.

Returns are built directly as Submissions from a complete, rule-satisfying base (tests/test_schemas.py).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_schemas import BASE_PROJECTS, BASE_VALUES, make_submission

from pipeline.form.layout import layout_for
from pipeline.form.spec import DEFAULT_SPEC, FormSpec, build_spec
from pipeline.intake.submission import Submission
from pipeline.issues import CATALOGUE, Issue, Severity, issue, unnested
from pipeline.validation import schemas
from pipeline.validation.validate import (
    ACCEPTED,
    ACCEPTED_WITH_WARNINGS,
    REJECTED,
    TYPE_FORMATS,
    Verdict,
    show_value,
    validate_batch,
)


def check_one(spec: FormSpec, **kwargs: Any) -> Verdict:
    [verdict] = validate_batch([make_submission(spec, **kwargs)], spec)
    return verdict


def with_code(verdict: Verdict, code: str, field_id: str | None = None) -> list[Issue]:
    return [i for i in verdict.issues if i.code == code and (field_id is None or i.field == field_id)]


def the_one(verdict: Verdict, code: str, field_id: str | None = None) -> Issue:
    found = with_code(verdict, code, field_id)
    assert len(found) == 1, [(i.code, i.field, i.value) for i in verdict.issues]
    return found[0]


def expected_message(item: Issue, lang: str, **params: Any) -> str:
    """The catalogue's message for the issue's code, formatted, after the issue's location."""
    detail = CATALOGUE[item.code]
    text = (detail.vi if lang == "vi" else detail.en).format(**params)
    return f"{item.where(lang)}: {text}"


def layout_cell(spec: FormSpec, field_id: str) -> tuple[str, str]:
    ref = layout_for(spec).cells[field_id]
    return ref.sheet, ref.a1


def test_the_base_return_is_accepted_without_issues(spec):
    verdict = check_one(spec)
    assert verdict.issues == []
    assert verdict.status == ACCEPTED


def test_an_empty_batch():
    assert validate_batch([], build_spec(yaml.safe_load(DEFAULT_SPEC.read_bytes()))) == []


# --- every rule of the spec: one failing and one passing case -----------------------------------------


@dataclass(frozen=True)
class Case:
    changes: dict[str, Any] = field(default_factory=dict)
    projects: dict[int, dict[str, Any]] = field(default_factory=dict)  # project index → column changes
    tables: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)  # the other tables' changes


NO_SITE = {"co_website": False, "dia_chi_website": None, "web_co_to_chuc": False, "web_co_van_ban": False,
           "web_co_tthc": False, "web_co_danh_ba_email": False, "web_co_du_an_dau_thau": False,
           "web_co_gop_y": False}

# rule id → (a change that breaks it, a nearby change that keeps it: a boundary or "not applicable")
RULE_CASES: dict[str, tuple[Case, Case]] = {
    "R01a": (Case({"so_may_ket_noi_lan": 36}), Case({"so_may_ket_noi_lan": 35})),
    "R01b": (Case({"so_may_ket_noi_internet": 36}), Case({"so_may_ket_noi_internet": 35})),
    "R01c": (Case({"so_may_internet_bang_rong": 21}), Case({"so_may_internet_bang_rong": 20})),
    "R01d": (Case({"so_may_xach_tay": 36}), Case({"so_may_xach_tay": 35})),
    "R01e": (Case({"so_may_co_diet_virus": 38}), Case({"so_may_chu": None, "so_may_co_diet_virus": 35})),
    "R02a": (Case({"co_mang_lan": False}), Case({"co_mang_lan": False, "so_may_ket_noi_lan": 0})),
    "R03a": (Case({"tong_so_cbccvc": 400}), Case({"tong_so_cbccvc": 350})),  # 35/350 = 0.1 exactly
    "R03b": (Case({"tong_so_may_tinh": 190}), Case({"tong_so_may_tinh": 180})),
    "R04a": (Case({"so_cbcc_su_dung_may_tinh": 61}), Case({"so_cbcc_su_dung_may_tinh": 60})),
    "R04b": (Case({"so_cbcc_co_hop_thu": 61}), Case({"so_cbcc_co_hop_thu": 60})),
    "R04c": (Case({"so_cbcc_dung_thu_thuong_xuyen": 61}), Case({"so_cbcc_dung_thu_thuong_xuyen": 60})),
    "R04d": (Case({"tong_so_cbccvc": 1, "so_cb_chuyen_trach": 2}),
             Case({"tong_so_cbccvc": 2, "so_cb_chuyen_trach": 2})),
    "R04e": (Case({"so_cbcc_chung_chi_tin_hoc": 61}), Case({"so_cbcc_chung_chi_tin_hoc": 60})),
    "R04f": (Case({"so_cbcc_dung_thu_thuong_xuyen": 41}), Case({"so_cbcc_dung_thu_thuong_xuyen": 40})),
    "R05a": (Case({"kn_adsl": False}),
             Case({"kn_adsl": False, "so_may_ket_noi_internet": 0, "so_may_internet_bang_rong": 0})),
    "R05b": (Case({"bang_thong_kbps": 0}), Case({"bang_thong_kbps": 1})),
    "R06a": (Case({"co_thu_dien_tu_cong_vu": False}),
             Case({"co_thu_dien_tu_cong_vu": False, "so_cbcc_co_hop_thu": 0, "so_cbcc_dung_thu_thuong_xuyen": 0})),
    "R07a": (Case({"co_website": False}), Case(NO_SITE)),
    "R07b": (Case({"dia_chi_website": None}), Case(NO_SITE)),
    "R07c": (Case(NO_SITE), Case({**NO_SITE, "so_dvc_muc_1": 0, "so_dvc_muc_2": 0})),
    "R08a": (Case({"so_tthc": 24}), Case({"so_tthc": 25})),
    "R09b": (Case({"co_bo_phan_mot_cua": False}), Case({"co_bo_phan_mot_cua": False, "mot_cua_co_phan_mem": False})),
    "R09c": (Case({"qlvb_ten": None}), Case({"qlvb_muc_do": "KHONG", "qlvb_ten": None})),
    "R10a": (Case({"so_cb_ct_trung_cap": 1}), Case({"so_cb_ct_dai_hoc": 2, "so_cb_ct_cao_dang": 0})),
    "R10b": (Case({"so_cb_chuyen_trach": 0, "so_cb_ct_dai_hoc": 0, "so_cb_ct_cao_dang": 0}),
             Case({"co_don_vi_chuyen_trach": False, "so_cb_chuyen_trach": 0, "so_cb_ct_dai_hoc": 0,
                   "so_cb_ct_cao_dang": 0})),
    "R10c": (Case({"so_luot_dao_tao_2007": 181}), Case({"so_luot_dao_tao_2007": 180})),
    "R11a": (Case({"kp2007_nsdp": 449.0}), Case({"kp2007_nsdp": 449.5})),
    "R13b": (Case({"mt_pct_cbcc_dung_email_2010": 59.0}),
             Case({"loai_don_vi": "NGANH_DOC", "mt_pct_cbcc_dung_email_2008": 55.0,
                   "mt_pct_cbcc_dung_email_2010": 59.0})),
    # The projects' allocations per year are 380, 280, 180 (the funding grid: 500, 600, 700).
    "R17a": (Case({"kh_sn_tinh_2008": 29.0}), Case({"kh_sn_tinh_2008": 29.5})),
    "R17b": (Case({"kh_dtpt_tinh_2009": 0.0, "kh_sn_nstw_2009": 0.0, "kh_sn_tinh_2009": 279.0}),
             Case({"kh_dtpt_tinh_2009": 0.0, "kh_sn_nstw_2009": 0.0, "kh_sn_tinh_2009": 279.5})),
    "R17c": (Case({"kh_dtpt_tinh_2010": 0.0, "kh_sn_tinh_2010": 179.0}),
             Case({"kh_dtpt_tinh_2010": 0.0, "kh_sn_tinh_2010": 179.5})),
    "R21a": (Case({"loai_don_vi": "UBND_HUYEN"}), Case({"loai_don_vi": "UBND_HUYEN", "so_xa_phuong": 20})),
    "R21b": (Case({"so_xa_phuong": 20, "so_xa_co_may_tinh": 21}), Case({"so_xa_phuong": 20, "so_xa_co_may_tinh": 20})),
    "R21c": (Case({"so_xa_phuong": 20, "so_xa_co_may_tinh": 10, "so_xa_ket_noi_internet": 11}),
             Case({"so_xa_phuong": 20, "so_xa_co_may_tinh": 10, "so_xa_ket_noi_internet": 10})),
    "R21d": (Case({"loai_don_vi": "SO_BAN_NGANH", "so_xa_phuong": 20}),
             Case({"loai_don_vi": "SO_BAN_NGANH", "so_xa_phuong": None, "so_xa_co_may_tinh": None,
                   "so_xa_ket_noi_internet": None})),
    # The annual plan's tasks add up to 500, the 2008 funding.
    "R22b": (Case({"kh_sn_tinh_2008": 149.0}), Case({"kh_sn_tinh_2008": 149.5})),
    "R22a": (Case(tables={"kh_2008": {0: {"nguon_tinh": 199.0}}}), Case(tables={"kh_2008": {0: {"nguon_tinh": 199.5}}})),
    "R23a": (Case(tables={"dvc": {0: {"muc_2009": 1}}}), Case(tables={"dvc": {0: {"muc_2008": 1, "muc_2009": 1}}})),
    "R20a": (Case({"ngay_so_lieu": dt.date(2007, 9, 21)}), Case({"ngay_so_lieu": dt.date(2007, 9, 20)})),
    # Targets must not go down (rules generated by the spec from the target rows).
    "R13-mt_may_tinh_tren_cbcc": (Case({"mt_may_tinh_tren_cbcc_2010": 0.6}),
                                  Case({"mt_may_tinh_tren_cbcc_2010": 0.7})),
    "R13-mt_pct_may_internet": (Case({"mt_pct_may_internet_2008": 50.0}),
                                Case({"mt_pct_may_internet_2008": 100.0})),
    "R13-mt_pct_cbcc_dung_email": (Case({"mt_pct_cbcc_dung_email_2008": 40.0}),
                                   Case({"mt_pct_cbcc_dung_email_2008": 50.0})),
    "R13-mt_pct_van_ban_qua_mang": (Case({"mt_pct_van_ban_qua_mang_2008": 19.0}),
                                    Case({"mt_pct_van_ban_qua_mang_2008": 20.0})),
    "R13-mt_so_dvc_muc_2": (Case({"mt_so_dvc_muc_2_2010": 7}), Case({"mt_so_dvc_muc_2_2010": 8})),
    "R13-mt_so_dvc_muc_3": (Case({"so_dvc_muc_3": 1}), Case({"mt_so_dvc_muc_3_2008": 2})),
    "R13-mt_so_cb_chuyen_trach": (Case({"mt_so_cb_chuyen_trach_2010": 1}),
                                  Case({"mt_so_cb_chuyen_trach_2008": 3})),
    "R13-mt_so_luot_dao_tao": (Case({"mt_so_luot_dao_tao_2008": 24}), Case({"mt_so_luot_dao_tao_2008": 25})),
    # Project rows (project 0: 2008–2009, 300 = NSĐP 300 = 200 + 100 + 0).
    "R14a": (Case(projects={0: {"nam_bat_dau": 2009, "nam_ket_thuc": 2008}}),
             Case(projects={0: {"nam_ket_thuc": 2008, "kp_2008": 300.0, "kp_2009": 0.0}})),
    "R14b": (Case(projects={0: {"nam_bat_dau": 2009}}),
             Case(projects={0: {"nam_bat_dau": 2009, "kp_2008": 0.0, "kp_2009": 300.0}})),
    "R14c": (Case(projects={0: {"nam_ket_thuc": 2008}}),
             Case(projects={0: {"nam_ket_thuc": 2008, "kp_2008": 300.0, "kp_2009": 0.0}})),
    "R14d": (Case(projects={0: {"kp_2010": 10.0, "tong_kinh_phi": 310.0, "von_nsdp": 310.0}}),
             Case(projects={0: {"nam_ket_thuc": 2010, "kp_2010": 10.0, "tong_kinh_phi": 310.0,
                                "von_nsdp": 310.0}})),
    "R15a": (Case(projects={0: {"von_nsdp": 299.0}}), Case(projects={0: {"von_nsdp": 299.5}})),
    "R16a": (Case(projects={0: {"nam_ket_thuc": 2015, "kp_2009": 101.0}}),
             Case(projects={0: {"nam_ket_thuc": 2015, "kp_2009": 50.0}})),
    "R16b": (Case(projects={0: {"kp_2009": 99.0}}), Case(projects={0: {"kp_2009": 99.5}})),
    # Project 0 is new and approved (decision 1234/QĐ-UBND), the others new and not approved.
    "R24a": (Case(projects={0: {"so_qd_phe_duyet": None}}),
             Case(projects={0: {"phe_duyet": "CHUA_PHE_DUYET", "so_qd_phe_duyet": None}})),
    "R24b": (Case(projects={0: {"von_da_bo_tri_2007": 10.0}}), Case(projects={0: {"von_da_bo_tri_2007": 0.0}})),
    "R24c": (Case(projects={0: {"tinh_chat": "CHUYEN_TIEP"}}),
             Case(projects={0: {"tinh_chat": "CHUYEN_TIEP", "nam_bat_dau": 2007}})),
    "R24d": (Case(projects={0: {"nam_bat_dau": 2007}}), Case(projects={0: {"nam_bat_dau": 2008}})),
}


def test_every_spec_rule_has_test_cases(spec):
    """A rule added to the spec without a failing and a passing case here fails this test."""
    assert {r.id for r in spec.rules} == set(RULE_CASES)


@pytest.fixture(scope="module")
def rule_verdicts(spec) -> dict[tuple[str, bool], Verdict]:
    """Every case of RULE_CASES as one return, all validated in ONE batch (which also shows that the
    returns of a batch do not leak into each other): (rule id, breaks?) → verdict."""
    keys = [(rule_id, breaks) for rule_id in RULE_CASES for breaks in (True, False)]
    subs = []
    for rule_id, breaks in keys:
        case = RULE_CASES[rule_id][0 if breaks else 1]
        subs.append(make_submission(spec, file=f"{rule_id}-{breaks}.xlsx", changes=case.changes,
                                    project_changes=case.projects, table_changes=case.tables))
    return dict(zip(keys, validate_batch(subs, spec), strict=True))


@pytest.mark.parametrize("rule_id", sorted(RULE_CASES))
def test_rule_fails_on_the_breaking_change(spec, rule_verdicts, rule_id):
    rule = next(r for r in spec.rules if r.id == rule_id)
    verdict = rule_verdicts[rule_id, True]
    assert verdict.submission.file == f"{rule_id}-True.xlsx"
    found = the_one(verdict, rule_id)
    assert found.severity == Severity(rule.severity)
    assert found.field == rule.at
    if rule.scope == "return":
        assert (found.sheet, found.cell) == layout_cell(spec, rule.at)
        assert found.row is None
    else:
        table = layout_for(spec).tables[rule.scope]
        assert found.sheet == table.sheet and found.row == table.first_row  # row 0
        assert found.cell == table.cell(table.first_row, rule.at)
    for lang, template in (("vi", rule.vi), ("en", rule.en)):
        # the rule's own text, each {field} filled with some value
        pattern = re.escape(f"{found.where(lang)}: ") + "".join(
            ".+?" if i % 2 else re.escape(part) for i, part in enumerate(re.split(r"\{(\w+)\}", template)))
        assert re.fullmatch(pattern, found.message(lang)), found.message(lang)
        assert "{" not in found.message(lang)
    if rule.severity == "error":
        assert verdict.status == REJECTED


@pytest.mark.parametrize("rule_id", sorted(RULE_CASES))
def test_rule_holds_on_the_nearby_change(rule_verdicts, rule_id):
    assert with_code(rule_verdicts[rule_id, False], rule_id) == []


def test_rule_message_shows_the_values(spec):
    found = the_one(check_one(spec, changes={"so_may_ket_noi_lan": 36}), "R01a")
    rule = next(r for r in spec.rules if r.id == "R01a")
    for lang, template in (("vi", rule.vi), ("en", rule.en)):
        text = template.replace("{so_may_ket_noi_lan}", "36").replace("{tong_so_may_tinh}", "35")
        assert found.message(lang) == f"{found.where(lang)}: {text}"
    assert str(found.value) == "36"


def test_rule_message_shows_dates_as_day_month_year(spec):
    found = the_one(check_one(spec, changes={"ngay_so_lieu": dt.date(2007, 9, 21)}), "R20a")
    assert "(21/09/2007)" in found.message("vi") and "(20/09/2007)" in found.message("en")


def test_rule_with_a_blank_operand_does_not_apply(spec):
    verdict = check_one(spec, changes={"tong_so_may_tinh": None, "so_may_ket_noi_lan": 99})
    assert the_one(verdict, "RULE_REQUIRED", "tong_so_may_tinh")
    assert with_code(verdict, "R01a") == []  # blanks are the required check's business


# --- check types --------------------------------------------------------------------------------------


def test_required_return_field(spec):
    verdict = check_one(spec, changes={"nguoi_lap": None})
    found = the_one(verdict, "RULE_REQUIRED", "nguoi_lap")
    assert (found.sheet, found.cell) == layout_cell(spec, "nguoi_lap")
    assert found.message("vi") == ("Trang 'Thông tin chung', ô D14 (Người lập biểu): chưa điền. Đây là chỉ tiêu bắt "
                                   "buộc: đề nghị đơn vị ghi nội dung vào ô này.")
    assert found.message("en") == ("Sheet 'Thông tin chung', cell D14 (Prepared by): is empty. This item is required: "
                                   "please write it in this cell.")
    assert verdict.status == REJECTED


@pytest.mark.parametrize(("field_id", "advice_vi", "advice_en"), [
    ("dg_ket_qua", "đề nghị đơn vị ghi nội dung vào ô này", "please write it in this cell"),  # a narrative
    ("tong_so_cbccvc", "nếu không có, đề nghị đơn vị ghi 0", "if there is none, enter 0"),  # int
    ("kp_cntt_2007", "nếu không có, đề nghị đơn vị ghi 0", "if there is none, enter 0"),  # money
    ("co_mang_lan", 'đề nghị đơn vị chọn "Có" hoặc "Không"', 'choose "Có" (yes) or "Không" (no)'),
    ("loai_don_vi", "đề nghị đơn vị chọn một mục trong danh sách thả xuống", "pick one item from the dropdown list"),
    ("ngay_lap", "đề nghị đơn vị ghi ngày theo dạng ngày/tháng/năm, ví dụ 15/10/2007",
     "enter the date as day/month/year, e.g. 15/10/2007"),
    ("dien_thoai", "đề nghị đơn vị ghi nội dung vào ô này", "please write it in this cell"),
])
def test_a_required_field_is_advised_by_what_it_asks_for(spec, field_id, advice_vi, advice_en):
    """Only a number may be "0", only a yes/no field "Không": the advice comes from the field's type."""
    found = the_one(check_one(spec, changes={field_id: None}), "RULE_REQUIRED", field_id)
    assert found.message("vi").endswith(f": chưa điền. Đây là chỉ tiêu bắt buộc: {advice_vi}.")
    assert found.message("en").endswith(f": is empty. This item is required: {advice_en}.")


def test_a_required_project_year_is_advised_as_a_year(spec):
    found = the_one(check_one(spec, project_changes={0: {"nam_bat_dau": None}}), "RULE_REQUIRED", "nam_bat_dau")
    assert found.message("vi").endswith(": chưa điền. Đây là chỉ tiêu bắt buộc: đề nghị đơn vị ghi năm bằng bốn "
                                        "chữ số, ví dụ 2008.")


def test_required_text_of_spaces_is_blank(spec):
    assert the_one(check_one(spec, changes={"nguoi_lap": "   "}), "RULE_REQUIRED", "nguoi_lap")


def test_optional_blank_fields_are_fine(spec):
    optional = {fid: None for fid, f in spec.fields.items() if f.is_input and not f.required}
    verdict = check_one(spec, changes=optional)
    # only cross-field rules may object (no connection type ticked, no website address …)
    assert {i.code for i in verdict.issues} <= {r.id for r in spec.rules}


def test_required_project_column(spec):
    verdict = check_one(spec, project_changes={1: {"ten_du_an": None}})
    found = the_one(verdict, "RULE_REQUIRED", "ten_du_an")
    table = layout_for(spec).table
    assert (found.sheet, found.cell, found.row) == (table.sheet, f"B{table.first_row + 1}", table.first_row + 1)


def test_range(spec):
    found = the_one(check_one(spec, changes={"tong_so_cbccvc": 6000}), "RULE_RANGE", "tong_so_cbccvc")
    assert found.severity is Severity.ERROR and str(found.value) == "6000"
    assert found.message("vi") == expected_message(found, "vi", value="6.000", min="1", max="5.000", unit="người")
    assert found.message("en") == expected_message(found, "en", value="6,000", min="1", max="5,000", unit="people")


def test_a_year_out_of_range_is_written_as_a_year(spec):
    found = the_one(check_one(spec, changes={"nam_khai_truong_website": 1990}), "RULE_RANGE", "nam_khai_truong_website")
    assert found.message("vi") == expected_message(found, "vi", value="1990", min="1997", max="2008", unit="")
    assert found.message("en") == expected_message(found, "en", value="1990", min="1997", max="2008", unit="")


def test_plausible_is_a_warning(spec):
    verdict = check_one(spec, changes={"tong_so_cbccvc": 301})
    found = the_one(verdict, "RULE_PLAUSIBLE", "tong_so_cbccvc")
    assert found.message("en") == expected_message(found, "en", value="301", min="1", max="300", unit="people")
    assert verdict.issues == [found]
    assert verdict.status == ACCEPTED_WITH_WARNINGS


RANGE_FAMILY = {"RULE_RANGE", "RULE_PLAUSIBLE", "RULE_MONEY_DONG", "RULE_MONEY_UNIT"}


def _range_issues(verdict: Verdict, field_id: str) -> list[tuple[str, Severity]]:
    return [(i.code, i.severity) for i in verdict.issues if i.field == field_id and i.code in RANGE_FAMILY]


@pytest.mark.parametrize(("value", "expected"), [
    (450_000_000.0, ("RULE_MONEY_DONG", Severity.ERROR)),  # entered in đồng
    (300_000.0, ("RULE_MONEY_UNIT", Severity.ERROR)),  # ×1000 and above the hard maximum
    (30_000.0, ("RULE_MONEY_UNIT", Severity.WARNING)),  # likely ×1000, still possible
    (0.5, ("RULE_PLAUSIBLE", Severity.WARNING)),  # below warn_min 1
    (-5.0, ("RULE_RANGE", Severity.ERROR)),
])
def test_project_money_gets_exactly_one_range_type_issue(spec, value, expected):
    verdict = check_one(spec, project_changes={0: {"tong_kinh_phi": value}})
    assert _range_issues(verdict, "tong_kinh_phi") == [expected]


def test_money_in_dong_on_a_return_field(spec):
    verdict = check_one(spec, changes={"kp_cntt_2007": 450_000_000.0, "kp2007_nsdp": 450_000_000.0})
    found = the_one(verdict, "RULE_MONEY_DONG", "kp_cntt_2007")
    assert found.message("vi") == expected_message(found, "vi", value="450.000.000")
    assert found.message("en") == expected_message(found, "en", value="450,000,000")
    assert _range_issues(verdict, "kp_cntt_2007") == [("RULE_MONEY_DONG", Severity.ERROR)]


def test_money_unit_warning_on_a_return_field(spec):
    verdict = check_one(spec, changes={"kh_dtpt_tinh_2009": 25_000.0})
    assert _range_issues(verdict, "kh_dtpt_tinh_2009") == [("RULE_MONEY_UNIT", Severity.WARNING)]
    assert verdict.status == ACCEPTED_WITH_WARNINGS


def test_date_range(spec):
    found = the_one(check_one(spec, changes={"ngay_so_lieu": dt.date(2006, 12, 31)}), "RULE_RANGE", "ngay_so_lieu")
    assert found.value == "31/12/2006"
    assert found.message("vi") == expected_message(found, "vi", value="31/12/2006", min="01/01/2007",
                                                   max="30/06/2008", unit="")


def test_date_plausible(spec):
    verdict = check_one(spec, changes={"ngay_lap": dt.date(2008, 6, 1)})
    found = the_one(verdict, "RULE_PLAUSIBLE", "ngay_lap")
    assert found.message("en") == expected_message(found, "en", value="01/06/2008", min="17/08/2007",
                                                   max="31/03/2008", unit="")
    assert _range_issues(verdict, "ngay_lap") == [("RULE_PLAUSIBLE", Severity.WARNING)]


def test_choice(spec):
    found = the_one(check_one(spec, changes={"loai_don_vi": "BO_NGANH"}), "VALUE_NOT_CHOICE", "loai_don_vi")
    codes = ", ".join(c.code for c in spec.choices["loai_don_vi"])
    assert found.message("vi") == expected_message(found, "vi", value="BO_NGANH", choices=codes)


def test_choice_in_a_project_row(spec):
    assert the_one(check_one(spec, project_changes={2: {"uu_tien": "4"}}), "VALUE_NOT_CHOICE", "uu_tien")


def test_min_length(spec):
    found = the_one(check_one(spec, changes={"dg_ket_qua": "Tốt"}), "RULE_TEXT_SHORT", "dg_ket_qua")
    assert found.message("en") == expected_message(found, "en", length=3, min=30)


def test_spec_pattern_in_both_languages(spec):
    f = spec.fields["ten_mien_thu"]
    found = the_one(check_one(spec, changes={"ten_mien_thu": "hatinh"}), "RULE_PATTERN", "ten_mien_thu")
    assert found.severity is Severity.ERROR
    assert found.message("vi") == expected_message(found, "vi", value="hatinh", what=f.pattern_vi)
    assert found.message("en") == expected_message(found, "en", value="hatinh", what=f.pattern_en)


@pytest.mark.parametrize(("field_id", "value"), [
    ("email_lien_he", "cntt@yahoo.com"), ("dia_chi_website", "www.sotaichinh.com.vn")])
def test_expect_is_a_warning(spec, field_id, value):
    f = spec.fields[field_id]
    verdict = check_one(spec, changes={field_id: value})
    found = the_one(verdict, "RULE_EXPECTED", field_id)
    assert found.severity is Severity.WARNING
    assert found.message("vi") == expected_message(found, "vi", value=value, what=f.expect_vi)
    assert found.message("en") == expected_message(found, "en", value=value, what=f.expect_en)
    assert verdict.status == ACCEPTED_WITH_WARNINGS


@pytest.mark.parametrize(("field_id", "value"), [
    ("dien_thoai", "3855"), ("dien_thoai", "039 3855 123 máy lẻ 5"), ("email_lien_he", "cntt@"),
    ("email_lien_he", "cntt.hatinh.gov.vn"), ("dia_chi_website", "sotaichinh"),
])
def test_type_formats(spec, field_id, value):
    verdict = check_one(spec, changes={field_id: value})
    found = the_one(verdict, "RULE_PATTERN", field_id)
    what_vi, what_en = TYPE_FORMATS[spec.fields[field_id].type]
    assert found.message("vi") == expected_message(found, "vi", value=value, what=what_vi)
    assert found.message("en") == expected_message(found, "en", value=value, what=what_en)
    assert with_code(verdict, "RULE_EXPECTED", field_id) == []  # one format issue per value


@pytest.mark.parametrize("phone", ["039.3855123", "(039) 3855 123", "+84 39 3855123", "0913-456-789"])
def test_phone_spellings_that_are_fine(spec, phone):
    assert check_one(spec, changes={"dien_thoai": phone}).issues == []


def test_duplicate_project_names(spec):
    again = unicodedata.normalize("NFD", "  nâng cấp  MẠNG LAN và kết nối internet")
    verdict = check_one(spec, project_changes={2: {"ten_du_an": again}}, first_row=10)
    found = the_one(verdict, "RULE_DUPLICATE_ROW", "ten_du_an")
    assert (found.row, found.cell, found.severity) == (12, "B12", Severity.WARNING)
    assert found.context["other_row"] == "10"  # a row number, written as it is
    assert found.message("vi") == expected_message(found, "vi", value=again, other_row=10)
    assert verdict.status == ACCEPTED_WITH_WARNINGS


def test_same_project_name_in_two_returns_is_not_a_duplicate(spec):
    verdicts = validate_batch([make_submission(spec), make_submission(spec, file="other.xlsx")], spec)
    assert [v.issues for v in verdicts] == [[], []]


# --- mapping stacked failures back to files and cells -------------------------------------------------


def test_failures_land_on_the_right_file_and_cell(spec):
    """Three returns; only the middle one is wrong, in a moved cell and in project row 23 (column P)."""
    middle = make_submission(spec, file="B.xlsx", changes={"tong_so_cbccvc": 6000}, first_row=21,
                             project_changes={2: {"tong_kinh_phi": 450_000_000.0, "von_nsdp": None}})
    middle.cells["tong_so_cbccvc"] = ("Hiện trạng", "D40")  # the agency inserted rows above it
    assert middle.project_columns["tong_kinh_phi"] == "P"
    verdicts = validate_batch([make_submission(spec, file="A.xlsx"), middle,
                               make_submission(spec, file="C.xlsx")], spec)
    assert [v.status for v in verdicts] == [ACCEPTED, REJECTED, ACCEPTED]
    assert verdicts[0].issues == [] and verdicts[2].issues == []
    staff = the_one(verdicts[1], "RULE_RANGE", "tong_so_cbccvc")
    assert (staff.file, staff.sheet, staff.cell, staff.row) == ("B.xlsx", "Hiện trạng", "D40", None)
    money = the_one(verdicts[1], "RULE_MONEY_DONG", "tong_kinh_phi")
    assert (money.file, money.sheet, money.cell, money.row) == ("B.xlsx", "Dự án", "P23", 23)
    assert money.message("en").startswith("Sheet 'Dự án', cell P23 (Total cost, million VND): 450,000,000 ")


def test_project_cells_follow_the_returns_own_column_letters(spec):
    sub = make_submission(spec, project_changes={0: {"tong_kinh_phi": -1.0}})
    sub.project_columns["tong_kinh_phi"] = "L"  # a column was inserted before it
    [verdict] = validate_batch([sub], spec)
    assert the_one(verdict, "RULE_RANGE", "tong_kinh_phi").cell == "L7"


def test_missing_cell_falls_back_to_the_layout(spec):
    sub = make_submission(spec, changes={"tong_so_cbccvc": 6000})
    del sub.cells["tong_so_cbccvc"]
    [verdict] = validate_batch([sub], spec)
    found = the_one(verdict, "RULE_RANGE", "tong_so_cbccvc")
    assert (found.sheet, found.cell) == layout_cell(spec, "tong_so_cbccvc")


def test_one_pandera_call_per_frame_for_the_whole_batch(spec, monkeypatch):
    calls = []
    for schema in (schemas.return_schema(spec), *(schemas.project_schema(spec, t.id) for t in spec.tables)):
        original = schema.validate

        def counting(frame, *args, _original=original, **kwargs):
            calls.append(len(frame))
            return _original(frame, *args, **kwargs)

        monkeypatch.setattr(schema, "validate", counting)
    subs = [make_submission(spec, file=f"{i}.xlsx", changes={"tong_so_cbccvc": 6000 if i % 2 else 60})
            for i in range(6)]
    validate_batch(subs, spec)
    assert calls == [6, 24, 18, 12]  # returns, then each table's rows: annual plan, projects, online services


# --- the reader's own findings ------------------------------------------------------------------------


def test_bad_fields_are_not_reported_again(spec):
    sub = make_submission(spec, changes={"tong_so_cbccvc": None, "dia_chi_website": None, "so_may_chu": 60})
    sub.bad_fields |= {"tong_so_cbccvc", "dia_chi_website"}
    sub.issues.append(issue("VALUE_NOT_NUMBER", sheet="Hiện trạng", cell="D7", field="tong_so_cbccvc",
                            value="sáu mươi"))
    [verdict] = validate_batch([sub], spec)
    assert with_code(verdict, "RULE_REQUIRED") == []
    assert with_code(verdict, "R07b") == []  # reads dia_chi_website, which the reader could not type
    assert the_one(verdict, "RULE_RANGE", "so_may_chu")  # a type problem does not hide other cells
    assert the_one(verdict, "VALUE_NOT_NUMBER")
    assert verdict.status == REJECTED


def test_bad_project_cells_are_not_reported_again(spec):
    table = layout_for(spec).table
    sub = make_submission(spec, project_changes={0: {"tong_kinh_phi": None, "kp_2010": None},
                                                 1: {"kp_2010": None}})
    sub.bad_project_cells |= {(table.first_row, "tong_kinh_phi"), (table.first_row, "kp_2010")}
    [verdict] = validate_batch([sub], spec)
    # row 7: its unreadable cells are the reader's; row 8: a genuine blank, and the sum it breaks
    assert {(i.code, i.row) for i in verdict.issues} == {("RULE_REQUIRED", table.first_row + 1),
                                                         ("R16b", table.first_row + 1)}


# --- languages ----------------------------------------------------------------------------------------


def test_messages_in_both_languages_name_the_field(spec):
    verdict = check_one(spec, changes={"tong_so_cbccvc": 6000, "nguoi_lap": None, "so_may_ket_noi_lan": 36})
    assert verdict.issues
    for found in verdict.issues:
        f = spec.fields[found.field]
        assert f"({unnested(f.vi)})" in found.message("vi") and f"({unnested(f.en)})" in found.message("en")
        assert found.message("vi") != found.message("en")


def _spec_with_rule(rule: dict[str, Any]) -> FormSpec:
    data = yaml.safe_load(DEFAULT_SPEC.read_bytes())
    data["rules"].append(rule)
    return build_spec(data)


def test_a_rule_added_to_the_spec_is_checked_and_rendered():
    edited = _spec_with_rule({
        "id": "RX1", "severity": "warning", "check": "tong_so_cbccvc < 50", "at": "tong_so_cbccvc",
        "vi": "Web {co_website}; loại {loai_don_vi}; số {so_hieu_van_ban}; {kh_nd_an_toan}; {ngay_lap}.",
        "en": "Site {co_website}; kind {loai_don_vi}; ref {so_hieu_van_ban}; {kh_nd_an_toan}; {ngay_lap}."})
    [verdict] = validate_batch([make_submission(edited, changes={"so_hieu_van_ban": "12/{STC}"})], edited)
    found = the_one(verdict, "RX1")
    assert found.severity is Severity.WARNING and verdict.status == ACCEPTED_WITH_WARNINGS
    label_vi = edited.choice_label("loai_don_vi", "SO_BAN_NGANH", "vi")
    label_en = edited.choice_label("loai_don_vi", "SO_BAN_NGANH", "en")
    assert found.message("vi").endswith(f"Web Có; loại {label_vi}; số 12/{{STC}}; trống; 20/09/2007.")
    assert found.message("en").endswith(f"Site yes; kind {label_en}; ref 12/{{STC}}; blank; 20/09/2007.")


@pytest.mark.parametrize(("value", "field_id", "lang", "shown"), [
    (None, "nguoi_lap", "vi", "trống"), (None, "nguoi_lap", "en", "blank"), (False, "co_website", "vi", "Không"),
    (1.0, "co_website", "en", "yes"), (40.0, "so_tthc", "vi", "40"), (12.25, "kp_cntt_2007", "en", "12.25"),
    (dt.date(2007, 6, 30), "ngay_so_lieu", "en", "30/06/2007"), ("CO_QUAN", "pham_vi_so_lieu", "en", "Own office only"),
])
def test_show_value(spec, value, field_id, lang, shown):
    assert show_value(value, spec.fields[field_id], spec, lang) == shown


# --- statuses -----------------------------------------------------------------------------------------


def test_statuses(spec):
    info_only = make_submission(spec, file="info.xlsx")
    info_only.issues.append(issue("VALUE_CLEANED", field="nguoi_lap", value="Nguyễn\x0bVăn An"))
    read_error = make_submission(spec, file="read-error.xlsx")
    read_error.issues.append(issue("VALUE_NOT_NUMBER", field="so_may_chu", value="hai"))
    unreadable = Submission(file="broken.xlsx", issues=[issue("FILE_CORRUPT", context={"reason": "CRC"})])
    subs = [make_submission(spec), make_submission(spec, changes={"tong_so_cbccvc": 301}),
            make_submission(spec, changes={"tong_so_cbccvc": 6000}), info_only, read_error, unreadable]
    verdicts = validate_batch(subs, spec)
    assert [v.status for v in verdicts] == [ACCEPTED, ACCEPTED_WITH_WARNINGS, REJECTED, ACCEPTED, REJECTED,
                                            REJECTED]
    assert [v.submission for v in verdicts] == subs
    assert [i.code for i in verdicts[5].issues] == ["FILE_CORRUPT"]


def test_unreadable_submission_is_rejected_even_without_errors(spec):
    [verdict] = validate_batch([Submission(file="odd.xlsx")], spec)
    assert verdict.status == REJECTED and verdict.issues == []


def test_issues_are_sorted_errors_first(spec):
    verdict = check_one(spec, changes={"tong_so_cbccvc": 301, "nguoi_lap": None, "so_may_ket_noi_lan": 36})
    severities = [i.severity for i in verdict.issues]
    assert severities == sorted(severities, key=[Severity.ERROR, Severity.WARNING, Severity.INFO].index)
    assert severities[0] is Severity.ERROR and severities[-1] is Severity.WARNING


# --- a bug in a rule must not stop the batch ----------------------------------------------------------


def _boom_on(marker_column: str, marker: Any, rule_id: str, monkeypatch) -> None:
    original = schemas.rule_outcome

    def outcome(rule, frame):
        if rule.id == rule_id and (frame[marker_column] == marker).any():
            raise ZeroDivisionError("boom")
        return original(rule, frame)

    monkeypatch.setattr(schemas, "rule_outcome", outcome)


def test_a_rule_raising_for_one_return_isolates_that_return(spec, monkeypatch):
    _boom_on("ten_don_vi", "BOOM", "R01a", monkeypatch)
    subs = [make_submission(spec, file=f"{i}.xlsx", changes={"ten_don_vi": "BOOM" if i == 3 else "Sở Tài chính",
                                                              "tong_so_cbccvc": 6000 if i == 5 else 60})
            for i in range(8)]
    verdicts = validate_batch(subs, spec)
    assert [v.status for v in verdicts] == [ACCEPTED] * 3 + [REJECTED, ACCEPTED, REJECTED, ACCEPTED, ACCEPTED]
    crash = the_one(verdicts[3], "SYS_INTERNAL_ERROR")
    assert crash.file == "3.xlsx" and crash.context["reason"] == "ZeroDivisionError: boom"
    assert "ZeroDivisionError: boom" in crash.message("en")
    assert "RULE_RANGE" in [i.code for i in verdicts[5].issues]  # the others keep their real findings
    assert all(i.code != "SYS_INTERNAL_ERROR" for v in verdicts[:3] + verdicts[4:] for i in v.issues)


def test_a_project_rule_raising_for_one_return(spec, monkeypatch):
    _boom_on("ten_du_an", "BOOM", "R16b", monkeypatch)
    subs = [make_submission(spec, file="a.xlsx"), make_submission(spec, file="b.xlsx", project_changes={
        1: {"ten_du_an": "BOOM"}}), make_submission(spec, file="c.xlsx")]
    verdicts = validate_batch(subs, spec)
    assert [v.status for v in verdicts] == [ACCEPTED, REJECTED, ACCEPTED]
    assert [i.code for i in verdicts[1].issues] == ["SYS_INTERNAL_ERROR"]


def test_a_spec_rule_that_raises_on_every_return_costs_one_call(monkeypatch):
    """A rule comparing a choice code with a number raises TypeError on every row: each return gets the
    internal error, found in the one pandera call (no split into n calls)."""
    edited = _spec_with_rule({"id": "RX2", "severity": "error", "check": "loai_don_vi > 3",
                              "vi": "Sai loại đơn vị.", "en": "Wrong agency type."})
    schema = schemas.return_schema(edited)
    calls = []
    original = schema.validate
    monkeypatch.setattr(schema, "validate", lambda frame, **kw: calls.append(len(frame)) or original(frame, **kw))
    subs = [make_submission(edited, file=f"{i}.xlsx", changes={"tong_so_cbccvc": 6000 if i == 2 else 60})
            for i in range(5)]
    verdicts = validate_batch(subs, edited)
    assert calls == [5]
    for verdict in verdicts:
        crash = the_one(verdict, "SYS_INTERNAL_ERROR")
        assert crash.context["reason"].startswith("TypeError: ")
    assert the_one(verdicts[2], "RULE_RANGE", "tong_so_cbccvc")  # other checks still ran


def test_a_check_failing_only_on_the_whole_batch_is_retried_in_parts(spec, monkeypatch):
    original = schemas.rule_outcome

    def outcome(rule, frame):
        if rule.id == "R01a" and len(frame) > 2:
            raise MemoryError("too big")  # nobody's fault in particular: the batch is split
        return original(rule, frame)

    monkeypatch.setattr(schemas, "rule_outcome", outcome)
    subs = [make_submission(spec, file=f"{i}.xlsx", changes={"so_may_ket_noi_lan": 36 if i == 4 else 30})
            for i in range(6)]
    verdicts = validate_batch(subs, spec)
    assert [v.status for v in verdicts] == [ACCEPTED] * 4 + [REJECTED, ACCEPTED]
    assert [i.code for i in verdicts[4].issues] == ["R01a"]


def test_pandera_itself_raising_falls_back_per_submission(spec, monkeypatch):
    schema = schemas.return_schema(spec)
    original = schema.validate

    def validate(frame, *args, **kwargs):
        if (frame["ten_don_vi"] == "BOOM").any():
            raise RuntimeError("validator exploded")
        return original(frame, *args, **kwargs)

    monkeypatch.setattr(schema, "validate", validate)
    subs = [make_submission(spec, file="a.xlsx", changes={"ten_don_vi": "BOOM"}),
            make_submission(spec, file="b.xlsx", changes={"nguoi_lap": None})]
    verdicts = validate_batch(subs, spec)
    assert the_one(verdicts[0], "SYS_INTERNAL_ERROR").context["reason"] == "RuntimeError: validator exploded"
    assert [i.code for i in verdicts[1].issues] == ["RULE_REQUIRED"]


# --- property: values the template allows pass every field-level check --------------------------------

FIELD_LEVEL_ERRORS = {"RULE_RANGE", "RULE_REQUIRED", "VALUE_NOT_CHOICE", "RULE_MONEY_DONG", "RULE_MONEY_UNIT",
                      "SYS_INTERNAL_ERROR"}


def _value_strategy(spec: FormSpec, f) -> st.SearchStrategy[Any] | None:
    """What the template's data validation lets through for one field (None: keep the base value)."""
    value_type = f.value_type
    if value_type in ("int", "year"):
        low, high = int(f.min if f.min is not None else 0), int(f.max if f.max is not None else 10_000)
        strategy: st.SearchStrategy[Any] = st.integers(low, high)
    elif value_type in ("dec", "money", "pct"):
        low, high = float(f.min if f.min is not None else 0), float(f.max if f.max is not None else 10_000)
        tenths = st.integers(int(-(-low * 10 // 1)), int(high * 10 // 1))  # one decimal, within [min, max]
        strategy = tenths.map(lambda t: t / 10)
    elif value_type == "date":
        strategy = st.dates(f.min or dt.date(2007, 1, 1), f.max or dt.date(2008, 12, 31))
    elif value_type == "choice":
        strategy = st.sampled_from([c.code for c in spec.choices[f.choices]])
    elif value_type == "bool":
        strategy = st.booleans()
    else:
        return None
    return strategy if f.required else st.none() | strategy


def _return_strategy(spec: FormSpec) -> st.SearchStrategy[Submission]:
    field_values = {fid: s for fid, f in spec.fields.items() if f.is_input
                    and (s := _value_strategy(spec, f)) is not None}
    column_values = {c.id: s for c in spec.table.columns if (s := _value_strategy(spec, c)) is not None}
    rows = st.lists(st.fixed_dictionaries(column_values), min_size=len(BASE_PROJECTS), max_size=len(BASE_PROJECTS))
    return st.builds(lambda changes, projects: make_submission(
        spec, changes=changes, project_changes=dict(enumerate(projects))),
        st.fixed_dictionaries(field_values), rows)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_values_within_the_spec_pass_every_field_level_check(spec, data):
    subs = data.draw(st.lists(_return_strategy(spec), min_size=1, max_size=6))
    for verdict in validate_batch(subs, spec):
        field_errors = [(i.code, i.field, i.value) for i in verdict.issues if i.code in FIELD_LEVEL_ERRORS
                        and (i.code != "RULE_MONEY_UNIT" or i.severity is Severity.ERROR)]
        assert field_errors == []


def test_base_values_are_what_the_template_allows(spec):
    """The property test's starting point is itself inside every range."""
    for fid, value in BASE_VALUES.items():
        f = spec.fields[fid]
        if value is not None and f.min is not None:
            assert f.min <= value <= f.max, fid


@pytest.mark.parametrize("far", [dt.date(9999, 12, 31), dt.date(1, 1, 1)])
def test_a_date_past_the_nanosecond_range_is_out_of_range_regression(spec, far):
    """Defect: a date field holding 31/12/9999 (a cell any tool can write) made the batch's frame conversion
    raise OutOfBoundsDatetime, so every return of the batch got SYS_INTERNAL_ERROR. Frame dates are held to
    the second, which spans years 1–9999: the date is an ordinary value outside the field's range."""
    verdict = check_one(spec, changes={"ngay_so_lieu": far})
    assert "SYS_INTERNAL_ERROR" not in [i.code for i in verdict.issues]
    assert the_one(verdict, "RULE_RANGE", "ngay_so_lieu").severity is Severity.ERROR
