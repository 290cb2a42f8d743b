"""Schemas and frames derived from the form spec (pipeline/validation/schemas.py).

Also holds the test factory for complete, rule-satisfying returns (``make_submission``), shared with
tests/test_validate.py. Its figures follow the domain brief §2.3 (a sở office of 60 staff, 35 PCs …).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline.form.layout import col_letter, layout_for
from pipeline.form.spec import DEFAULT_SPEC, FormSpec, build_spec
from pipeline.intake.submission import ProjectRow, Submission, TableRows
from pipeline.issues import CATALOGUE, Severity
from pipeline.validation import schemas
from pipeline.validation.schemas import Tag

NARRATIVE = "Đã trang bị máy tính và mạng nội bộ cho các phòng, ban; cần tiếp tục đầu tư."

BASE_VALUES: dict[str, Any] = {
    # A. Thông tin chung
    "ma_don_vi": "STC", "ten_don_vi": "Sở Tài chính", "loai_don_vi": "SO_BAN_NGANH",
    "pham_vi_so_lieu": "CO_QUAN", "ngay_so_lieu": dt.date(2007, 6, 30), "ngay_lap": dt.date(2007, 9, 20),
    "so_hieu_van_ban": "125/STC-VP", "nguoi_lap": "Nguyễn Văn An", "dien_thoai": "039.855123",
    "email_lien_he": "cntt@stc.hatinh.gov.vn", "lanh_dao_phu_trach_cntt": "Trần Văn Bình",
    "co_ban_chi_dao_cntt": True, "co_ke_hoach_cntt_duoc_duyet": False,
    # B. Hạ tầng
    "tong_so_cbccvc": 60, "so_cbcc_su_dung_may_tinh": 45, "tong_so_may_tinh": 35, "so_may_xach_tay": 5,
    "so_may_chu": 2, "co_mang_lan": True, "so_may_ket_noi_lan": 30, "so_may_ket_noi_internet": 20,
    "so_may_internet_bang_rong": 18, "kn_quay_so": False, "kn_adsl": True, "kn_kenh_thue_rieng": False,
    "kn_cap_quang": False, "kn_khac": False, "bang_thong_kbps": 2048, "ket_noi_mang_dien_rong": False,
    "so_may_co_diet_virus": 30, "co_tuong_lua": True, "co_sao_luu_du_lieu": True,
    "phan_mem_van_phong": "MS_OFFICE", "bang_ma_chu_viet": "UNICODE",
    # C. Chỉ đạo, điều hành
    "co_thu_dien_tu_cong_vu": True, "ten_mien_thu": "hatinh.gov.vn", "so_cbcc_co_hop_thu": 40,
    "so_cbcc_dung_thu_thuong_xuyen": 30, "ty_le_van_ban_qua_mang": 20.0, "co_quy_che_cntt": True,
    "qlvb_muc_do": "TREN_MANG", "qlvb_ten": "Quản lý văn bản và hồ sơ công việc", "pm_ke_toan": True,
    "pm_quan_ly_can_bo": True, "pm_quan_ly_tai_san": False, "so_ung_dung_chuyen_nganh": 2,
    "so_csdl_chuyen_nganh": 1, "ds_csdl_ung_dung": "Phần mềm kế toán IMAS; CSDL cán bộ",
    "co_hop_truc_tuyen": False,
    # D. Phục vụ người dân
    "co_website": True, "dia_chi_website": "www.stc.hatinh.gov.vn", "nam_khai_truong_website": 2005,
    "tan_suat_cap_nhat": "HANG_TUAN", "web_co_to_chuc": True, "web_co_van_ban": True, "web_co_tthc": True,
    "web_co_danh_ba_email": False, "web_co_du_an_dau_thau": False, "web_co_gop_y": True,
    "so_tthc": 40, "so_dvc_muc_1": 20, "so_dvc_muc_2": 5, "so_dvc_muc_3": 0, "so_dvc_muc_4": 0,
    "co_bo_phan_mot_cua": True, "mot_cua_co_phan_mem": True,
    # E. Nhân lực
    "co_don_vi_chuyen_trach": True, "so_cb_chuyen_trach": 2, "so_cb_ct_dai_hoc": 1, "so_cb_ct_cao_dang": 1,
    "so_cb_ct_trung_cap": 0, "so_cb_kiem_nhiem": 1, "so_cbcc_chung_chi_tin_hoc": 30,
    "so_luot_dao_tao_2007": 25,
    # F. Kinh phí
    "kp_cntt_2006": 300.0, "kp_cntt_2007": 450.0, "kp2007_nstw": 0.0, "kp2007_nsdp": 450.0, "kp2007_khac": 0.0,
    # G. Đánh giá
    "dg_ket_qua": NARRATIVE, "dg_ton_tai": NARRATIVE, "dg_kho_khan": NARRATIVE, "dg_nguyen_nhan": NARRATIVE,
    "dg_de_xuat": NARRATIVE,
    # H. Kế hoạch
    "kh_quan_diem": NARRATIVE, "kh_muc_tieu_tong_quat": NARRATIVE, "kh_nd_ha_tang": NARRATIVE,
    "kh_nd_chi_dao_dieu_hanh": NARRATIVE, "kh_nd_phuc_vu_dan_dn": NARRATIVE, "kh_nd_nhan_luc": NARRATIVE,
    "kh_giai_phap": NARRATIVE, "kh_nd_an_toan": None, "kh_lo_trinh": NARRATIVE, "kh_dieu_kien": NARRATIVE,
    "kh_to_chuc_thuc_hien": NARRATIVE, "kh_hieu_qua": NARRATIVE,
    # B1. Cấp xã (UBND huyện only)
    "so_xa_phuong": None, "so_xa_co_may_tinh": None, "so_xa_ket_noi_internet": None,
    "mt_may_tinh_tren_cbcc_2008": 0.7, "mt_may_tinh_tren_cbcc_2010": 1.0,
    "mt_pct_may_internet_2008": 70.0, "mt_pct_may_internet_2010": 100.0,
    "mt_pct_cbcc_dung_email_2008": 60.0, "mt_pct_cbcc_dung_email_2010": 80.0,
    "mt_pct_van_ban_qua_mang_2008": 30.0, "mt_pct_van_ban_qua_mang_2010": 60.0,
    "mt_so_dvc_muc_2_2008": 8, "mt_so_dvc_muc_2_2010": 15, "mt_so_dvc_muc_3_2008": 0, "mt_so_dvc_muc_3_2010": 2,
    "mt_so_cb_chuyen_trach_2008": 2, "mt_so_cb_chuyen_trach_2010": 3,
    "mt_so_luot_dao_tao_2008": 30, "mt_so_luot_dao_tao_2010": 60,
    # Funding by kind × source × year: 500, 600, 700 (the 2008 column is the annual plan's total).
    **{f"kh_{kind}_{source}_{year}": None for kind in ("dtpt", "sn") for source in ("nstw", "tinh", "huyen", "oda",
                                                                                  "khac") for year in (2008, 2009, 2010)},
    "kh_dtpt_tinh_2008": 350.0, "kh_sn_tinh_2008": 150.0,
    "kh_dtpt_tinh_2009": 250.0, "kh_sn_nstw_2009": 100.0, "kh_sn_tinh_2009": 250.0,
    "kh_dtpt_tinh_2010": 150.0, "kh_sn_tinh_2010": 550.0, "kh_dtpt_nstw_2010": 0.0,
}

BASE_PROJECTS: list[dict[str, Any]] = [
    {"stt": "1", "ten_du_an": "Nâng cấp mạng LAN và kết nối Internet", "nhom_noi_dung": "HA_TANG",
     "loai_hinh": "DU_AN_DAU_TU", "muc_tieu": "Mạng nội bộ ổn định", "quy_mo_noi_dung": "30 điểm mạng, 1 máy chủ",
     "don_vi_chu_tri": None, "don_vi_phoi_hop": None, "nam_bat_dau": 2008, "nam_ket_thuc": 2009,
     "tong_kinh_phi": 300.0, "von_nstw": None, "von_nsdp": 300.0, "von_khac": None,
     "kp_2008": 200.0, "kp_2009": 100.0, "kp_2010": 0.0, "tinh_chat": "MOI", "phe_duyet": "DA_PHE_DUYET",
     "so_qd_phe_duyet": "1234/QĐ-UBND", "ngay_qd_phe_duyet": dt.date(2007, 12, 5), "cap_phe_duyet": "UBND_TINH",
     "von_da_bo_tri_2007": None, "uu_tien": "1", "ghi_chu": None},
    {"stt": "2", "ten_du_an": "Triển khai phần mềm quản lý văn bản", "nhom_noi_dung": "CHI_DAO_DIEU_HANH",
     "loai_hinh": "DU_AN_DAU_TU", "muc_tieu": "Văn bản trao đổi qua mạng", "quy_mo_noi_dung": "Toàn cơ quan",
     "don_vi_chu_tri": None, "don_vi_phoi_hop": "Sở Bưu chính, Viễn thông", "nam_bat_dau": 2008,
     "nam_ket_thuc": 2010, "tong_kinh_phi": 450.0, "von_nstw": 150.0, "von_nsdp": 300.0, "von_khac": None,
     "kp_2008": 150.0, "kp_2009": 150.0, "kp_2010": 150.0, "tinh_chat": "MOI", "phe_duyet": "CHUA_PHE_DUYET",
     "so_qd_phe_duyet": None, "ngay_qd_phe_duyet": None, "cap_phe_duyet": None, "von_da_bo_tri_2007": None,
     "uu_tien": "1", "ghi_chu": None},
    {"stt": "3", "ten_du_an": "Đào tạo tin học cho cán bộ, công chức", "nhom_noi_dung": "NHAN_LUC",
     "loai_hinh": "NHIEM_VU_THUONG_XUYEN", "muc_tieu": "Cán bộ sử dụng thành thạo máy tính",
     "quy_mo_noi_dung": "3 lớp mỗi năm", "don_vi_chu_tri": None, "don_vi_phoi_hop": None, "nam_bat_dau": 2008,
     "nam_ket_thuc": 2010, "tong_kinh_phi": 90.0, "von_nstw": None, "von_nsdp": 90.0, "von_khac": None,
     "kp_2008": 30.0, "kp_2009": 30.0, "kp_2010": 30.0, "tinh_chat": "MOI", "phe_duyet": "CHUA_PHE_DUYET",
     "so_qd_phe_duyet": None, "ngay_qd_phe_duyet": None, "cap_phe_duyet": None, "von_da_bo_tri_2007": None,
     "uu_tien": "2", "ghi_chu": None},
]

# The other tables: the 2008 annual plan (its tasks add up to the 2008 funding, 500) and online services.
_PLAN_ROW = {"stt": None, "ten_nhiem_vu": None, "nhom_noi_dung": None, "don_vi_chu_tri": "Văn phòng",
             "thoi_gian": "Quý I–IV/2008", "kinh_phi": None, "nguon_nstw": None, "nguon_tinh": None,
             "nguon_huyen": None, "nguon_oda": None, "nguon_khac": None, "du_toan": "DA_CO_DU_TOAN", "ghi_chu": None}
BASE_TABLES: dict[str, list[dict[str, Any]]] = {
    "kh_2008": [
        {**_PLAN_ROW, "stt": "1", "ten_nhiem_vu": "Nâng cấp mạng LAN và kết nối Internet", "nhom_noi_dung": "HA_TANG",
         "kinh_phi": 200.0, "nguon_tinh": 200.0, "du_toan": "DE_NGHI_BO_SUNG"},
        {**_PLAN_ROW, "stt": "2", "ten_nhiem_vu": "Triển khai phần mềm quản lý văn bản",
         "nhom_noi_dung": "CHI_DAO_DIEU_HANH", "kinh_phi": 150.0, "nguon_nstw": 50.0, "nguon_tinh": 100.0},
        {**_PLAN_ROW, "stt": "3", "ten_nhiem_vu": "Đào tạo tin học cho cán bộ, công chức", "nhom_noi_dung": "NHAN_LUC",
         "kinh_phi": 30.0, "nguon_tinh": 30.0},
        {**_PLAN_ROW, "stt": "4", "ten_nhiem_vu": "Duy trì đường truyền Internet, thư điện tử",
         "nhom_noi_dung": "HA_TANG", "kinh_phi": 120.0},
    ],
    "dvc": [
        {"stt": "1", "ten_thu_tuc": "Thẩm định dự toán ngân sách", "linh_vuc": "Ngân sách", "muc_hien_tai": 1,
         "muc_2008": 2, "muc_2009": 2, "muc_2010": 3, "ghi_chu": None},
        {"stt": "2", "ten_thu_tuc": "Cấp mã số đơn vị có quan hệ với ngân sách", "linh_vuc": "Ngân sách",
         "muc_hien_tai": 0, "muc_2008": 1, "muc_2009": 2, "muc_2010": 2, "ghi_chu": None},
    ],
}


def computed_values(spec: FormSpec, values: dict[str, Any], projects: list[dict[str, Any]],
                    tables: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """What the reader fills in for computed fields and the tables' totals rows."""
    out = dict(values)
    for table in spec.other_tables:
        for column_id, total_id in table.totals.items():
            out[total_id] = float(sum(r.get(column_id) or 0 for r in (tables or {}).get(table.id, [])))
    for _ in range(3):  # a computed field may use another computed field
        for f in spec.fields.values():
            if f.formula is not None:
                result = f.formula.evaluate(out)
                out[f.id] = None if result is None or (isinstance(result, float) and math.isnan(result)) else result
    if spec.table is not None:
        for column_id, total_id in spec.table.totals.items():
            out[total_id] = float(sum(p.get(column_id) or 0 for p in projects))
    return out


def make_submission(spec: FormSpec, *, file: str = "STC_2007.xlsx", changes: dict[str, Any] | None = None,
                    projects: list[dict[str, Any]] | None = None, first_row: int | None = None,
                    project_changes: dict[int, dict[str, Any]] | None = None,
                    table_changes: dict[str, dict[int, dict[str, Any]]] | None = None,
                    recompute: bool = True) -> Submission:
    """A readable return as the reader would produce it: the base values with ``changes`` applied, the
    computed fields recomputed, cells from the layout, project rows from ``first_row`` down, the other
    tables' rows (BASE_TABLES, with ``table_changes``: table id → row index → column changes)."""
    values = {**BASE_VALUES, **(changes or {})}
    rows = copy.deepcopy(BASE_PROJECTS if projects is None else projects)
    for i, row_changes in (project_changes or {}).items():
        rows[i].update(row_changes)
    tables = copy.deepcopy(BASE_TABLES)
    for table_id, by_row in (table_changes or {}).items():
        for i, row_changes in by_row.items():
            tables[table_id][i].update(row_changes)
    if recompute:
        values = computed_values(spec, values, rows, tables)
        for key, value in (changes or {}).items():  # a change to a computed field wins
            if spec.fields.get(key) is not None and spec.fields[key].formula is not None:
                values[key] = value
    layout = layout_for(spec)
    table = layout.table
    assert table is not None
    start = first_row if first_row is not None else table.first_row
    return Submission(
        file=file, readable=True, agency_code=values.get("ma_don_vi"),
        values=values, cells={fid: (ref.sheet, ref.a1) for fid, ref in layout.cells.items()},
        projects=[ProjectRow(start + i, row) for i, row in enumerate(rows)],
        project_sheet=table.sheet,
        project_columns={cid: col_letter(col) for cid, col in table.columns.items()},
        tables={t.id: TableRows(layout.tables[t.id].sheet,
                                {cid: col_letter(col) for cid, col in layout.tables[t.id].columns.items()},
                                [ProjectRow(layout.tables[t.id].first_row + i, row)
                                 for i, row in enumerate(tables.get(t.id, []))])
                for t in spec.other_tables},
    )


# --- frames -------------------------------------------------------------------------------------------


def test_base_values_cover_every_input_field(spec):
    inputs = {fid for fid, f in spec.fields.items() if f.is_input}
    assert inputs - set(BASE_VALUES) == set()
    assert set(BASE_VALUES) - set(spec.fields) == set()
    assert {c.id for c in spec.table.columns} == set(BASE_PROJECTS[0])


def test_return_frame_types_and_index(spec):
    subs = [make_submission(spec), Submission(file="broken.xlsx"), make_submission(spec, file="b.xlsx")]
    frame = schemas.return_frame(subs, spec)
    assert list(frame.index) == [0, 2]  # positions in the list; unreadable returns are left out
    assert list(frame.columns) == list(spec.fields)
    assert frame["tong_so_cbccvc"].dtype == np.float64
    assert frame["co_mang_lan"].tolist() == [1.0, 1.0]  # bool → 1.0
    assert frame["ngay_so_lieu"].dtype == schemas.DATE
    assert frame["ngay_so_lieu"].iloc[0] == pd.Timestamp(2007, 6, 30)
    assert frame["loai_don_vi"].dtype == object
    assert frame["kh_nd_an_toan"].isna().all()


def test_blank_and_untyped_values_become_missing(spec):
    sub = make_submission(spec, changes={"tong_so_cbccvc": None, "ngay_lap": None, "nguoi_lap": None})
    sub.values["so_may_chu"] = "abc"  # breaks the reader's contract: treated as blank, never raises
    frame = schemas.return_frame([sub], spec)
    assert math.isnan(frame.at[0, "tong_so_cbccvc"]) and math.isnan(frame.at[0, "so_may_chu"])
    assert pd.isna(frame.at[0, "ngay_lap"]) and frame.at[0, "nguoi_lap"] is None


def test_a_time_of_day_does_not_cross_a_date_bound(spec):
    sub = make_submission(spec, changes={"ngay_so_lieu": dt.datetime(2008, 6, 30, 15, 30)})  # max 2008-06-30
    frame = schemas.return_frame([sub], spec)
    assert frame.at[0, "ngay_so_lieu"] == pd.Timestamp(2008, 6, 30)
    bands = schemas.range_bands(spec.fields["ngay_so_lieu"])
    assert not any(bool(fails(frame["ngay_so_lieu"]).iloc[0]) for _, fails in bands)


def test_project_frame_rows(spec):
    subs = [make_submission(spec), Submission(file="x.xlsx"), make_submission(spec, first_row=20)]
    frame = schemas.project_frame(subs, spec)
    assert list(frame.columns[:2]) == ["_sub", "_row"]
    assert frame["_sub"].tolist() == [0, 0, 0, 2, 2, 2]
    assert frame["_row"].tolist()[3:] == [20, 21, 22]
    assert frame["tong_kinh_phi"].dtype == np.float64 and frame["ten_du_an"].dtype == object


def test_frames_of_an_empty_batch(spec):
    assert schemas.return_frame([], spec).shape == (0, len(spec.fields))
    assert schemas.project_frame([], spec).shape == (0, 2 + len(spec.table.columns))


# --- schemas ------------------------------------------------------------------------------------------


def test_schemas_are_cached_per_spec(spec):
    assert schemas.return_schema(spec) is schemas.return_schema(spec)
    assert schemas.project_schema(spec) is schemas.project_schema(spec)


def test_schema_columns_and_rule_checks_come_from_the_spec(spec):
    schema = schemas.return_schema(spec)
    assert set(schema.columns) == set(spec.fields)
    rule_tags = {Tag.parse(c.error) for c in schema.checks}
    assert {t.target for t in rule_tags} == {r.id for r in spec.rules_for("return")}
    project = schemas.project_schema(spec)
    project_tags = {Tag.parse(c.error) for c in project.checks}
    assert {t.target for t in project_tags if t.variant == schemas.RULE} == {r.id for r in spec.rules_for("du_an")}
    assert Tag("RULE_DUPLICATE_ROW", Severity.WARNING, "ten_du_an") in project_tags


def test_every_check_is_tagged_with_a_catalogue_code_or_a_rule_id(spec):
    rule_ids = {r.id for r in spec.rules}
    for schema in (schemas.return_schema(spec), schemas.project_schema(spec)):
        checks = list(schema.checks) + [c for col in schema.columns.values() for c in col.checks]
        for check in checks:
            tag = Tag.parse(check.error)
            assert tag is not None, check.error
            if tag.variant == schemas.RULE:  # a spec rule's issue is coded by the rule id
                assert tag.code == tag.target and tag.code in rule_ids, check.error
            else:
                assert tag.code in CATALOGUE, check.error


def test_required_fields_get_a_filled_check(spec):
    schema = schemas.return_schema(spec)
    for fid, f in spec.fields.items():
        codes = {Tag.parse(c.error).code for c in schema.columns[fid].checks}
        assert ("RULE_REQUIRED" in codes) == (f.required and f.is_input), fid


def test_computed_fields_have_no_checks(spec):
    schema = schemas.return_schema(spec)
    assert all(not schema.columns[fid].checks for fid, f in spec.fields.items() if not f.is_input)


@pytest.mark.parametrize("text", ["RULE_RANGE|error|tong_so_cbccvc|", "RULE_PATTERN|error|dien_thoai|type",
                                  "R13-mt_so_dvc_muc_3|warning|R13-mt_so_dvc_muc_3|rule"])
def test_tag_round_trip(text):
    assert str(Tag.parse(text)) == text


def test_tag_with_separators_in_a_rule_id():
    tag = Tag("R|9%", Severity.WARNING, "R|9%", schemas.RULE)
    assert Tag.parse(str(tag)) == tag


@pytest.mark.parametrize("text", ["dtype('float64')", "column_in_dataframe", "X|nonsense|y|", None])
def test_pandera_own_checks_are_not_tags(text):
    assert Tag.parse(text) is None


# --- bands: one range-type issue per value ------------------------------------------------------------


def _band_codes(f, value) -> list[tuple[str, Severity]]:
    s = pd.Series([value], dtype=float)
    return [(t.code, t.severity) for t, fails in schemas.range_bands(f) if bool(fails(s).iloc[0])]


@pytest.mark.parametrize(("value", "expected"), [
    (-1.0, [("RULE_RANGE", Severity.ERROR)]),
    (0.05, [("RULE_RANGE", Severity.ERROR)]),  # below min 0.1
    (0.5, [("RULE_PLAUSIBLE", Severity.WARNING)]),  # below warn_min 1
    (1.0, []),
    (20000.0, []),
    (20000.5, [("RULE_MONEY_UNIT", Severity.WARNING)]),
    (200000.0, [("RULE_MONEY_UNIT", Severity.WARNING)]),
    (200000.1, [("RULE_MONEY_UNIT", Severity.ERROR)]),
    (1e6, [("RULE_MONEY_UNIT", Severity.ERROR)]),
    (1e6 + 1, [("RULE_MONEY_DONG", Severity.ERROR)]),
    (3.5e9, [("RULE_MONEY_DONG", Severity.ERROR)]),
])
def test_money_bands_are_disjoint(spec, value, expected):
    assert _band_codes(spec.table.column("tong_kinh_phi"), value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (0.0, [("RULE_RANGE", Severity.ERROR)]), (1.0, []), (300.0, []),
    (301.0, [("RULE_PLAUSIBLE", Severity.WARNING)]), (5000.0, [("RULE_PLAUSIBLE", Severity.WARNING)]),
    (5001.0, [("RULE_RANGE", Severity.ERROR)]),
])
def test_number_bands_are_disjoint(spec, value, expected):
    assert _band_codes(spec.fields["tong_so_cbccvc"], value) == expected


def test_text_checks_are_layered(spec):
    f = spec.fields["email_lien_he"]
    bands = schemas.text_bands(f)
    s = pd.Series(["not an address", "a@yahoo.com", "a@hatinh.gov.vn"], dtype=object)
    failing = {t.code: fails(s).tolist() for t, fails in bands}
    assert failing["RULE_PATTERN"] == [True, False, False]
    assert failing["RULE_EXPECTED"] == [False, True, False]  # no 'unusual' warning on a malformed value


@pytest.mark.parametrize(("kind", "value", "ok"), [
    ("phone", "039.3855123", True), ("phone", "(039) 385 5123", True), ("phone", "+84 39 3855123", True),
    ("phone", "0913-456-789", True), ("phone", "3855123", False), ("phone", "039 3855 123 ext 5", False),
    ("phone", "091234567890", False),
    ("email", "cntt@hatinh.gov.vn", True), ("email", "a.b-c@mail.yahoo.com", True), ("email", "cntt@", False),
    ("email", "cntt hatinh.gov.vn", False), ("email", "a@b", False),
    ("url", "www.hatinh.gov.vn", True), ("url", "http://hatinh.gov.vn/portal/", True),
    ("url", "https://stc.hatinh.gov.vn:8080/a?b=1", True), ("url", "hatinh", False),
    ("url", "http:/hatinh.gov.vn", False), ("url", "trang web của sở", False),
])
def test_type_formats(kind, value, ok):
    fails = schemas.type_format_fails(kind)
    assert bool(fails(pd.Series([value], dtype=object)).iloc[0]) is (not ok)


# --- rules --------------------------------------------------------------------------------------------


def test_rule_outcome_skips_rows_with_blank_operands(spec):
    rule = next(r for r in spec.rules if r.id == "R20a")  # ngay_so_lieu <= ngay_lap
    frame = pd.DataFrame({
        "ngay_so_lieu": pd.to_datetime(["2007-06-30", "2007-10-01", None, "2007-10-01"]).astype(schemas.DATE),
        "ngay_lap": pd.to_datetime(["2007-09-20", "2007-09-20", "2007-09-20", None]).astype(schemas.DATE),
    })
    assert schemas.rule_outcome(rule, frame).tolist() == [True, False, True, True]


def test_rule_outcome_honours_when(spec):
    rule = next(r for r in spec.rules if r.id == "R02a")  # when not co_mang_lan: so_may_ket_noi_lan == 0
    frame = pd.DataFrame({"co_mang_lan": [1.0, 0.0, 0.0, np.nan], "so_may_ket_noi_lan": [5.0, 5.0, 0.0, 5.0]})
    assert schemas.rule_outcome(rule, frame).tolist() == [True, False, True, True]


def test_rule_outcome_does_not_compare_blank_text(spec):
    rule = next(r for r in spec.rules if r.id == "R09c")  # qlvb_muc_do in (...) → filled(qlvb_ten)
    frame = pd.DataFrame({"qlvb_muc_do": pd.Series(["TREN_MANG", "KHONG", None, "TREN_MANG"], dtype=object),
                          "qlvb_ten": pd.Series([None, None, None, "  "], dtype=object)})
    assert schemas.rule_outcome(rule, frame).tolist() == [False, True, True, False]


def test_duplicate_rows_within_one_submission_only():
    frame = pd.DataFrame({
        "_sub": [0, 0, 0, 1, 0], "_row": [7, 8, 9, 7, 10],
        "ten_du_an": pd.Series(["Xây dựng  website", "xây dựng website", None, "Xây dựng website",
                                "Xa\u0302y dựng website"], dtype=object),  # last: decomposed (NFD) â
    })
    assert schemas.duplicate_rows(frame, "ten_du_an").tolist() == [False, True, False, False, True]
    assert schemas.first_rows(frame, "ten_du_an").tolist()[:2] == [7, 7]
    assert schemas.first_rows(frame, "ten_du_an").iloc[4] == 7


@pytest.mark.parametrize("keys", [
    ["Xây dựng website", "Xa\u0302y dựng website"],  # NFC and NFD: one key
    ["Phần mềm  Một cửa", " phần mềm một CỬA "],  # case and spaces: one key
    ["Cổng thông tin", "Cổng thông tin điện tử", "  ", None, float("nan")],  # distinct, blanks never repeat
    ["Mạng LAN", "Mạng LAN", "Mạng LAN"],
    ["Đào tạo", 2008, "Đào tạo"],  # a key that is not text: pandas decides, as before
])
def test_the_quick_pass_over_keys_agrees_with_pandas(keys):
    """duplicate_rows skips pandas when no key repeats (_keys_may_repeat); where it does not skip, and where
    it does, the answer is pandas' own (normalise_key, sort, duplicated)."""
    frame = pd.DataFrame({"_sub": [0] * len(keys), "_row": range(7, 7 + len(keys)),
                          "ten_du_an": pd.Series(keys, dtype=object)})
    keyed = pd.DataFrame({"_sub": frame["_sub"], "_row": frame["_row"], "key": schemas.normalise_key(frame["ten_du_an"])})
    by_pandas = (keyed.duplicated(["_sub", "key"], keep="first") & keyed["key"].notna()).tolist()
    assert schemas.duplicate_rows(frame, "ten_du_an").tolist() == by_pandas
    assert schemas._keys_may_repeat(frame, "ten_du_an") is (any(by_pandas) or any(isinstance(k, int) for k in keys))


# --- the spec drives everything -----------------------------------------------------------------------


def test_editing_the_spec_changes_the_checks():
    data = yaml.safe_load(DEFAULT_SPEC.read_bytes())
    fields = data["sheets"][1]["sections"][0]["fields"]
    staff = next(f for f in fields if f["id"] == "tong_so_cbccvc")
    staff["max"], staff["warn_max"] = 100, 80
    edited = build_spec(data)
    f = edited.fields["tong_so_cbccvc"]
    assert _band_codes(f, 90.0) == [("RULE_PLAUSIBLE", Severity.WARNING)]
    assert _band_codes(f, 101.0) == [("RULE_RANGE", Severity.ERROR)]
    schema = schemas.return_schema(edited)
    assert schema is not schemas.return_schema(build_spec(yaml.safe_load(DEFAULT_SPEC.read_bytes())))
