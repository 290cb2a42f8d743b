"""The form spec: the bundled spec loads and covers the source article; every kind of mistake fails to load
with a message that says where and what."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from pipeline.form.layout import layout_for
from pipeline.form.spec import DEFAULT_SPEC, SpecError, build_spec, load_spec


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(DEFAULT_SPEC.read_text(encoding="utf-8"))


def test_bundled_spec_loads_with_identity(spec):
    assert (spec.form_id, spec.version, spec.round) == ("BM-UDCNTT-2007", "1.1", "2007-2010")
    assert len(spec.sha256) == 64


def test_spec_covers_the_articles_framework(spec):
    """Every item of the 2007 framework: status (results … solutions), viewpoints and objectives, targets,
    the plan by content area, funding by year and source, and the project table."""
    for field_id in ("dg_ket_qua", "dg_ton_tai", "dg_kho_khan", "dg_nguyen_nhan", "dg_de_xuat",
                     "kh_quan_diem", "kh_muc_tieu_tong_quat", "kh_nd_ha_tang", "kh_nd_chi_dao_dieu_hanh",
                     "kh_nd_phuc_vu_dan_dn", "kh_nd_nhan_luc", "kh_giai_phap",
                     "kh_kp_2008", "kh_kp_2009", "kh_kp_2010", "kh_kp_nstw", "kh_kp_tinh", "kh_kp_khac",
                     "mt_pct_cbcc_dung_email_2008", "mt_pct_cbcc_dung_email_2010"):
        assert field_id in spec.fields, field_id
    assert {c.code for c in spec.choices["nhom_noi_dung"]} >= {"HA_TANG", "CHI_DAO_DIEU_HANH", "PHUC_VU_DAN_DN",
                                                              "NHAN_LUC"}
    assert spec.table is not None and spec.table.rows >= 50


def test_domain_rules_are_all_present(spec):
    ids = {r.id for r in spec.rules}
    for rule_id in ("R01a", "R02a", "R04a", "R05a", "R07a", "R08a", "R10a", "R11a", "R14a", "R15a",
                    "R16a", "R17a", "R20a"):
        assert rule_id in ids
    monotone = [r for r in spec.rules if r.id.startswith("R13-")]
    assert len(monotone) == 8 and all(r.severity == "warning" for r in monotone)


def test_form_1_1_collects_what_decree_64_asks_for(spec):
    """Issue 16: the 2008 annual plan and the online services as tables, funding per year × source × kind,
    projects new/carried over and approved/not with the decision, the Decree 64 plan items, commune IT."""
    assert spec.form["period_vi"] == "giai đoạn 2007–2010 và năm 2008" and "2007–2010" in spec.form["subtitle_vi"]
    assert [t.id for t in spec.tables] == ["kh_2008", "du_an", "dvc"] and spec.table.id == "du_an"
    assert [t.id for t in spec.other_tables] == ["kh_2008", "dvc"]
    plan = spec.table_named("kh_2008")
    assert {"ten_nhiem_vu", "nhom_noi_dung", "don_vi_chu_tri", "thoi_gian", "kinh_phi", "nguon_nstw", "nguon_tinh",
            "nguon_huyen", "nguon_oda", "nguon_khac", "du_toan"} <= {c.id for c in plan.columns}
    assert [c.code for c in spec.choices["du_toan_2008"]] == ["DA_CO_DU_TOAN", "DE_NGHI_BO_SUNG"]
    services = spec.table_named("dvc")
    assert {c.id: (c.min, c.max) for c in services.columns if c.id.startswith("muc_")} == {
        "muc_hien_tai": (0, 4), "muc_2008": (0, 4), "muc_2009": (0, 4), "muc_2010": (0, 4)}
    for kind in ("dtpt", "sn"):
        for source in ("nstw", "tinh", "huyen", "oda", "khac"):
            for year in (2008, 2009, 2010):
                assert spec.fields[f"kh_{kind}_{source}_{year}"].type == "money"
    total = spec.fields["kh_kp_2008"]
    assert total.type == "computed" and total.formula.evaluate({"kh_dtpt_2008": 10, "kh_sn_2008": 5}) == 15
    projects = {c.id: c for c in spec.table.columns}
    assert {"tinh_chat", "phe_duyet", "so_qd_phe_duyet", "ngay_qd_phe_duyet", "cap_phe_duyet",
            "von_da_bo_tri_2007"} <= set(projects)
    assert "AN_TOAN_THONG_TIN" in {c.code for c in spec.choices["nhom_noi_dung"]}
    for field_id in ("kh_lo_trinh", "kh_dieu_kien", "kh_to_chuc_thuc_hien", "kh_hieu_qua"):
        assert spec.fields[field_id].required and spec.fields[field_id].type == "text"
    assert {"so_xa_phuong", "so_xa_co_may_tinh", "so_xa_ket_noi_internet"} <= set(spec.fields)
    ids = {r.id for r in spec.rules}
    assert {"R21a", "R22a", "R22b", "R23a", "R24a", "R24b"} <= ids
    as_json = spec.to_json()
    assert [t["table"]["id"] for t in as_json["sheets"] if t["table"]] == ["kh_2008", "du_an", "dvc"]


def test_targets_expand_into_current_and_years(spec):
    current = spec.fields["mt_may_tinh_tren_cbcc_current"]
    assert current.type == "computed" and current.formula is not None
    assert current.formula.evaluate({"tong_so_may_tinh": 30, "tong_so_cbccvc": 60}) == 0.5
    assert spec.fields["mt_may_tinh_tren_cbcc_2010"].kind == "target"


def test_table_totals_become_return_fields(spec):
    assert spec.fields["da_kp_2008"].kind == "total"
    assert layout_for(spec).cells["da_kp_2008"].row == layout_for(spec).table.total_row


def test_every_field_has_a_distinct_cell(spec):
    cells = layout_for(spec).cells
    assert set(cells) == set(spec.fields)
    places = [(c.sheet, c.row, c.col) for c in cells.values()]
    assert len(places) == len(set(places))


def test_json_round_trips_every_field(spec):
    data = spec.to_json()
    assert [f["id"] for f in data["fields"]] == list(spec.fields)
    assert len(data["rules"]) == len(spec.rules)


def _mutate(raw: dict, change) -> dict:
    data = copy.deepcopy(raw)
    change(data)
    return data


def _hien_trang_fields(data: dict) -> list[dict]:
    return data["sheets"][1]["sections"][0]["fields"]


MISTAKES = [
    ("unknown type", lambda d: _hien_trang_fields(d)[0].update(type="integer"),
     "(tong_so_cbccvc)", "unknown type 'integer'"),
    ("duplicate id", lambda d: _hien_trang_fields(d)[1].update(id="tong_so_cbccvc"),
     "sheets[1].sections[0].fields[1]", "duplicate field id 'tong_so_cbccvc'"),
    ("rule naming an unknown field", lambda d: d["rules"][0].update(check="so_may_ket_noi_lan <= tong_so_may"),
     "rule R01a", "unknown field 'tong_so_may'"),
    ("rule with forbidden syntax", lambda d: d["rules"][0].update(check="__import__('os')"),
     "rules[0] (R01a).check", "unknown function"),
    ("unknown choice list", lambda d: d["sheets"][0]["sections"][0]["fields"][2].update(choices="nope"),
     "(loai_don_vi)", "choice list 'nope'"),
    ("min above max", lambda d: _hien_trang_fields(d)[0].update(min=10, max=1),
     "(tong_so_cbccvc)", "min 10 is greater than max 1"),
    ("unknown key", lambda d: _hien_trang_fields(d)[0].update(maximum=3),
     "(tong_so_cbccvc)", "unknown keys ['maximum']"),
    ("bad severity", lambda d: d["rules"][0].update(severity="fatal"), "rules[0] (R01a)", "severity"),
    ("sheet name too long", lambda d: d["sheets"][1].update(name="x" * 32), "sheets[1]", "31 characters"),
    ("placeholder not a field", lambda d: d["rules"][0].update(vi="{khong_co}"), "rule R01a", "placeholder"),
    ("missing label", lambda d: _hien_trang_fields(d)[0].pop("vi"), "(tong_so_cbccvc)", "'vi'"),
    ("formula on unknown field", lambda d: _hien_trang_fields(d)[-1].update(formula="a / b"),
     "(ty_le_may_tren_cbcc)", "unknown field 'a'"),
    # the form's id, version and round make the templates' and the summary's file names (opened on Windows)
    ("round with a slash", lambda d: d["form"].update(round="2008/2010"), "form.round", "'/' is not allowed"),
    ("version ending in a dot", lambda d: d["form"].update(version="1."), "form.version", "trailing dot"),
    ("id a device name", lambda d: d["form"].update(id="CON"), "form.id", "device name"),
    ("unit without an English name", lambda d: _hien_trang_fields(d)[0].update(unit="biên chế"),
     "(tong_so_cbccvc)", "unit 'biên chế' has no English name"),
    ("units not a mapping", lambda d: d.update(units=["người"]), "units", "must map"),
]


def test_every_unit_has_its_english_name(spec):
    """English messages name units in English: derived from the spec's `units`, for every field."""
    fields = [*spec.fields.values(), *spec.table.columns]
    assert all(bool(f.unit) == bool(f.unit_en) for f in fields)
    assert (spec.fields["tong_so_cbccvc"].unit_in("en"), spec.fields["kp_cntt_2007"].unit_in("en")) == (
        "people", "million VND")
    assert spec.fields["da_tong_kinh_phi"].unit_en == "million VND"  # a table total takes its column's
    assert spec.fields["mt_so_cb_chuyen_trach_2010"].unit_en == "people"  # a target row's years too


@pytest.mark.parametrize(("what", "change", "where", "message"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_spec_mistakes_fail_with_place_and_reason(raw, what, change, where, message):
    with pytest.raises(SpecError) as caught:
        build_spec(_mutate(raw, change))
    assert where in caught.value.where
    assert message in str(caught.value)


def test_invalid_yaml_names_the_line(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("form:\n  id: [unclosed\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"bad\.yaml line \d+"):
        load_spec(path)


def test_missing_file_is_a_spec_error(tmp_path: Path):
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "nope.yaml")
