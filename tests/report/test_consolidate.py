"""Consolidation: figures checked against plain-Python sums of the generated returns, never against the
code under test; statuses, coverage, superseding, projects and determinism."""

from __future__ import annotations

import dataclasses
import math
import random
import re

import pandas as pd
import pytest
from summary_factory import (
    GENERATED_AT,
    fill_computed,
    full_ledger,
    make_return,
    record,
    summary_from,
)

from pipeline.form.spec import load_spec
from pipeline.issues import Issue, Severity
from pipeline.record.ledger import Ledger
from pipeline.report import consolidate as C
from pipeline.report.consolidate import build_summary

MISSING_CODE = "H-KYANH"  # never sends anything
REJECTED_CODE = "SYT"  # only a rejected file
QUARANTINED_CODE = "STP"  # only a quarantined file
RESENT_CODE = "STC"  # accepted, then a corrected resend
LATER_REJECTED_CODE = "SNV"  # accepted, then a broken resend
WARNED_CODE = "SXD"  # accepted with warnings
NO_STAFF_CODE = "SGTVT"  # left the staff count blank


@pytest.fixture(scope="module")
def world(tmp_path_factory, spec, registry):
    """A realistic round: 41 agencies, one missing, two without a valid return, a resend, a blank."""
    path = tmp_path_factory.mktemp("ledger") / "l.sqlite"
    ledger, data = full_ledger(path, spec, registry, skip=[MISSING_CODE, REJECTED_CODE, QUARANTINED_CODE, RESENT_CODE,
                                                          NO_STAFF_CODE, WARNED_CODE])
    rng_values = make_return(spec, registry.by_code[REJECTED_CODE], 1)
    record(ledger, spec, REJECTED_CODE, *rng_values, status="rejected", received_at="2007-09-21T09:00:00",
           issues=[Issue("RULE_REQUIRED", Severity.ERROR, field="tong_so_cbccvc")])
    record(ledger, spec, QUARANTINED_CODE, *make_return(spec, registry.by_code[QUARANTINED_CODE], 2),
           status="quarantined", received_at="2007-09-22T09:00:00")
    # A resend: the first return counted, then a corrected one replaced it.
    first, projects = make_return(spec, registry.by_code[RESENT_CODE], 3, projects=2)
    record(ledger, spec, RESENT_CODE, first, projects, received_at="2007-09-15T08:00:00")
    second = dict(first, tong_so_may_tinh=first["tong_so_may_tinh"] + 7, co_website=not first["co_website"],
                  dg_ket_qua="Đã hoàn thành mạng LAN và cổng thông tin điện tử của Sở trong năm 2007.")
    second = fill_computed(spec, second, projects)
    record(ledger, spec, RESENT_CODE, second, projects, received_at="2007-09-28T08:00:00", salt="v2")
    data[RESENT_CODE] = (second, projects)
    # Accepted, then a broken resend that was rejected: the first still counts.
    record(ledger, spec, LATER_REJECTED_CODE, *make_return(spec, registry.by_code[LATER_REJECTED_CODE], 9),
           status="rejected", received_at="2007-09-29T08:00:00", salt="broken")
    # Accepted with warnings, with its issues.
    warned, warned_projects = make_return(spec, registry.by_code[WARNED_CODE], 4, projects=3)
    warnings = [Issue("RULE_PLAUSIBLE", Severity.WARNING, sheet="Hiện trạng", cell="D10", field="so_may_chu", value=12,
                      context={"min": 0, "max": 10, "unit": "chiếc"}),
                Issue("VALUE_CLEANED", Severity.INFO, sheet="Kế hoạch", cell="D7", field="kh_quan_diem", value="x")]
    record(ledger, spec, WARNED_CODE, warned, warned_projects, status="accepted_with_warnings",
           received_at="2007-09-23T08:00:00", issues=warnings)
    data[WARNED_CODE] = (warned, warned_projects)
    # Staff left blank: excluded from staff totals and from every per-staff ratio.
    blank, blank_projects = make_return(spec, registry.by_code[NO_STAFF_CODE], 5)
    blank = fill_computed(spec, dict(blank, tong_so_cbccvc=None), blank_projects)
    record(ledger, spec, NO_STAFF_CODE, blank, blank_projects, received_at="2007-09-24T08:00:00")
    data[NO_STAFF_CODE] = (blank, blank_projects)
    summary = summary_from(ledger, spec, registry)
    yield ledger, data, summary
    ledger.close()


def members(registry, group=None):
    """The agencies of the 2007 round (in registry order), or of one of its groups."""
    return [a.code for a in registry.of_round(load_spec()).agencies if group is None or a.group == group]


def plain_total(data, codes, field_id):
    """(Σ, n) over the agencies' generated values: the independent expectation."""
    numbers = [data[c][0][field_id] for c in codes if c in data and data[c][0].get(field_id) is not None]
    return math.fsum(float(v) for v in numbers), len(numbers)


# --------------------------------------------------------------------------------------------------------


def test_every_registry_agency_has_a_status(world, registry):
    _, _, s = world
    assert list(s.agencies.index) == members(registry)
    status = s.agencies["status"]
    assert status[MISSING_CODE] == "missing"
    assert status[REJECTED_CODE] == "rejected"
    assert status[QUARANTINED_CODE] == "rejected"
    assert status[WARNED_CODE] == "accepted_with_warnings"
    assert status[RESENT_CODE] == "accepted"
    assert status[LATER_REJECTED_CODE] == "accepted"
    assert s.agencies.at[LATER_REJECTED_CODE, "later_unsuccessful"] == 1
    assert s.status_counts() == {"expected": 41, "received": 40, "accepted": 37, "accepted_with_warnings": 1,
                                 "rejected": 2, "missing": 1}


def test_counted_return_lineage(world):
    ledger, _, s = world
    counted = {r["agency_code"]: r for r in ledger.submissions(load_spec().round) if r["counted"]}
    for code, row in counted.items():
        assert s.agencies.at[code, "sha256"] == row["sha256"]
        assert s.agencies.at[code, "file"] == row["file_name"]
        assert s.agencies.at[code, "submission_id"] == row["id"]
    assert pd.isna(s.agencies.at[MISSING_CODE, "file"])
    assert len(s.submissions) == len(ledger.submissions(load_spec().round))


@pytest.mark.parametrize("field_id", ["tong_so_cbccvc", "tong_so_may_tinh", "so_may_ket_noi_internet",
                                      "so_dvc_muc_1", "so_cb_chuyen_trach", "kp_cntt_2007", "kh_kp_2009", "kh_kp_tinh"])
def test_group_and_province_totals_are_plain_sums(world, registry, field_id):
    _, data, s = world
    for level, codes in [(g, members(registry, g)) for g, _, _ in registry.groups] + [(C.PROVINCE, members(registry))]:
        expected, n = plain_total(data, codes, field_id)
        assert s.totals.at[level, field_id] == pytest.approx(expected, rel=1e-12)
        assert s.coverage.at[level, field_id] == n
        assert s.members(level) == len(codes)


def test_every_summable_field_is_totalled(world, spec, registry):
    _, data, s = world
    summable = [f.id for f in spec.fields.values() if f.type in ("int", "money") and f.kind == "field"]
    assert len(summable) > 30
    districts = {a.code for a in registry.agencies if a.loai_don_vi == "UBND_HUYEN"}
    communes = {"so_xa_phuong", "so_xa_co_may_tinh", "so_xa_ket_noi_internet"}  # the districts' question only
    for field_id in summable:
        codes = [c for c in members(registry) if field_id not in communes or c in districts]
        expected, n = plain_total(data, codes, field_id)
        assert s.totals.at[C.PROVINCE, field_id] == pytest.approx(expected, rel=1e-12), field_id
        assert s.coverage.at[C.PROVINCE, field_id] == n
    assert plain_total(data, members(registry, "so"), "so_xa_phuong")[1] > 0  # departments gave figures…
    assert s.coverage.at["so", "so_xa_phuong"] == 0  # … which are not counted


def test_coverage_counts_only_agencies_with_the_value(world, registry):
    _, _, s = world
    so = members(registry, "so")
    # so group: 29 agencies; missing/rejected/quarantined are not in it? SYT, STP, SGTVT are; H-KYANH is not.
    reported = [c for c in so if c not in (REJECTED_CODE, QUARANTINED_CODE)]
    assert s.coverage.at["so", "tong_so_may_tinh"] == len(reported) == 27
    assert s.coverage.at["so", "tong_so_cbccvc"] == 26  # SGTVT left it blank
    assert s.coverage.at["huyen", "tong_so_cbccvc"] == 11  # H-KYANH never reported
    assert C.coverage_text(s.coverage.at["so", "tong_so_cbccvc"], s.members("so")) == "26/29"


def test_ratios_are_recomputed_from_totals_not_averaged(world, registry):
    _, data, s = world
    both = [c for c in members(registry) if c in data and data[c][0]["tong_so_cbccvc"] and
            data[c][0]["tong_so_may_tinh"] is not None]
    pcs = math.fsum(data[c][0]["tong_so_may_tinh"] for c in both)
    staff = math.fsum(data[c][0]["tong_so_cbccvc"] for c in both)
    ratio = s.totals.at[C.PROVINCE, "tl_may_tren_cbcc"]
    assert ratio == pytest.approx(pcs / staff, rel=1e-12)
    average = sum(data[c][0]["tong_so_may_tinh"] / data[c][0]["tong_so_cbccvc"] for c in both) / len(both)
    assert abs(ratio - average) > 1e-5  # the data make the two differ: the test can tell them apart
    assert s.coverage.at[C.PROVINCE, "tl_may_tren_cbcc"] == len(both) == 37
    # an agency with a blank staff count has no ratio, and its PCs stay in the PC total
    assert pd.isna(s.table.at[NO_STAFF_CODE, "tl_may_tren_cbcc"])
    assert s.coverage.at[C.PROVINCE, "tong_so_may_tinh"] == 38


@pytest.mark.parametrize(("ratio_id", "numerator", "denominator"), [
    ("tl_may_lan", "so_may_ket_noi_lan", "tong_so_may_tinh"),
    ("tl_may_internet", "so_may_ket_noi_internet", "tong_so_may_tinh"),
    ("tl_cbcc_dung_email", "so_cbcc_dung_thu_thuong_xuyen", "tong_so_cbccvc"),
    ("tl_cb_chuyen_trach", "so_cb_chuyen_trach", "tong_so_cbccvc"),
])
def test_percentages_from_totals(world, registry, ratio_id, numerator, denominator):
    _, data, s = world
    for level, codes in [(g, members(registry, g)) for g, _, _ in registry.groups] + [(C.PROVINCE, members(registry))]:
        both = [c for c in codes if c in data and data[c][0].get(numerator) is not None and data[c][0].get(denominator)]
        expected = 100 * math.fsum(data[c][0][numerator] for c in both) / math.fsum(data[c][0][denominator] for c in both)
        assert s.totals.at[level, ratio_id] == pytest.approx(expected, rel=1e-12)
        assert s.coverage.at[level, ratio_id] == len(both)


def test_yes_no_totals_count_the_yes_answers(world, registry):
    _, data, s = world
    codes = [c for c in members(registry) if c in data]
    assert s.totals.at[C.PROVINCE, "co_website"] == sum(bool(data[c][0]["co_website"]) for c in codes)
    assert s.coverage.at[C.PROVINCE, "co_website"] == len(codes)


def test_targets_counts_summed_ratios_staff_weighted(world, registry, spec):
    _, data, s = world
    codes = [c for c in members(registry) if c in data]
    assert s.totals.at[C.PROVINCE, "mt_so_cb_chuyen_trach_2010"] == pytest.approx(
        math.fsum(data[c][0]["mt_so_cb_chuyen_trach_2010"] for c in codes))
    weighted = [c for c in codes if data[c][0]["tong_so_cbccvc"]]
    expected = (math.fsum(data[c][0]["mt_pct_cbcc_dung_email_2010"] * data[c][0]["tong_so_cbccvc"] for c in weighted)
                / math.fsum(data[c][0]["tong_so_cbccvc"] for c in weighted))
    assert s.totals.at[C.PROVINCE, "mt_pct_cbcc_dung_email_2010"] == pytest.approx(expected, rel=1e-12)
    # the current value of a ratio target is recomputed from totals, like every ratio
    assert s.totals.at[C.PROVINCE, "mt_may_tinh_tren_cbcc_current"] == pytest.approx(
        s.totals.at[C.PROVINCE, "tl_may_tren_cbcc"], rel=1e-12)
    bases = [b.base for b in s.targets]
    assert bases == [t for sheet in spec.sheets for sec in sheet.sections for t in sec.targets]
    assert all(len(b.columns) == 3 for b in s.targets)


def test_a_resend_replaces_the_earlier_return_and_lists_the_changes(world, registry):
    ledger, data, s = world
    rows = [r for r in ledger.submissions(load_spec().round) if r["agency_code"] == RESENT_CODE]
    first, second = sorted(rows, key=lambda r: r["received_at"])
    assert s.agencies.at[RESENT_CODE, "submission_id"] == second["id"]
    assert s.agencies.at[RESENT_CODE, "supersedes"] == first["id"]
    assert s.values.at[RESENT_CODE, "tong_so_may_tinh"] == data[RESENT_CODE][0]["tong_so_may_tinh"]
    changes = s.changes[s.changes["code"] == RESENT_CODE].set_index("field")
    assert set(changes.index) == {"tong_so_may_tinh", "co_website", "dg_ket_qua"}
    assert changes.at["tong_so_may_tinh", "new"] == changes.at["tong_so_may_tinh", "old"] + 7
    assert changes.at["co_website", "new"] is (not changes.at["co_website", "old"])
    assert s.agencies.at[RESENT_CODE, "changes"] == 3
    assert (s.changes["code"] == RESENT_CODE).all()  # nobody else resent an accepted return


def test_projects_of_counted_returns_only(world, registry, spec):
    _, data, s = world
    expected = sum(len(data[c][1]) for c in data)
    assert len(s.projects) == expected
    assert s.projects["project_id"].is_unique
    assert all(re.fullmatch(rf"{re.escape(a)}-\d{{4}}-\d{{2}}", pid) for a, pid in zip(s.projects["agency"],
                                                                                       s.projects["project_id"], strict=True))
    assert set(s.projects["agency"]) <= set(data)
    # ordered by content area (spec order), then registry order
    areas = [c.code for c in spec.choices["nhom_noi_dung"]]
    rank = s.projects["area"].map(areas.index)
    assert rank.is_monotonic_increasing
    for code, (_, projects) in data.items():
        assert s.table.at[code, C.PROJECT_COUNT] == len(projects)
        assert s.table.at[code, "da_kp_2009"] == pytest.approx(math.fsum(p["kp_2009"] for p in projects))


def test_funding_by_area_and_year(world, spec):
    _, data, s = world
    fund = s.funding_by_area
    all_projects = [p for _, projects in data.values() for p in projects]
    for area in [c.code for c in spec.choices["nhom_noi_dung"]]:
        mine = [p for p in all_projects if p["nhom_noi_dung"] == area]
        for year in (2008, 2009, 2010):
            assert fund.at[area, f"kp_{year}"] == pytest.approx(math.fsum(p[f"kp_{year}"] for p in mine))
        assert fund.at[area, "projects"] == len(mine)
        assert fund.at[area, "tong_kinh_phi"] == pytest.approx(math.fsum(p["tong_kinh_phi"] for p in mine))
    assert fund.at[C.TOTAL, "projects"] == len(all_projects)
    assert fund.at[C.TOTAL, "plan_total"] == pytest.approx(
        math.fsum(p[f"kp_{y}"] for p in all_projects for y in (2008, 2009, 2010)))


def test_narratives_issues_and_history(world, spec):
    _ledger, data, s = world
    texts = [f.id for f in spec.fields.values() if f.type == "text"]
    assert len(s.narratives) == sum(1 for c in data for f in texts if data[c][0].get(f))
    resent = s.narratives[(s.narratives["code"] == RESENT_CODE) & (s.narratives["field"] == "dg_ket_qua")]
    assert resent["text"].tolist() == [data[RESENT_CODE][0]["dg_ket_qua"]]
    # issues: of each agency's current returns (the counted one, the newest when not valid), registry order
    assert list(s.issues["agency"]) == [WARNED_CODE, WARNED_CODE, REJECTED_CODE]
    assert list(s.issues["severity"]) == ["warning", "info", "error"]
    assert list(s.issues["status"]) == ["accepted_with_warnings", "accepted_with_warnings", "rejected"]
    assert list(s.issues["counted"]) == [True, True, False]
    assert s.issues["message_vi"].iloc[0].startswith("Trang 'Hiện trạng', ô D10")
    assert list(s.submissions["id"]) == sorted(s.submissions["id"], key=lambda i: (
        s.submissions.set_index("id").at[i, "received_at"], i))


def test_probable_duplicates_across_agencies_only(tmp_path, spec, registry):
    ledger = Ledger(tmp_path / "l.sqlite")
    base = make_return(spec, registry.by_code["STC"], 1, projects=1)[1][0]
    named = {"STC": ["Xây dựng  Website", "Đào tạo tin học"], "SYT": ["xây dựng website", "Mua máy chủ"],
             "SNV": ["Mua máy chủ", "Mua máy chủ"]}
    for code, names in named.items():
        values, _ = make_return(spec, registry.by_code[code], 2, projects=0)
        projects = [dict(base, ten_du_an=name) for name in names]
        record(ledger, spec, code, fill_computed(spec, values, projects), projects)
    s = summary_from(ledger, spec, registry)
    assert s.duplicates["key"].tolist() == ["mua máy chủ", "xây dựng website"]
    website = s.duplicates.set_index("key").loc["xây dựng website"]
    assert website["agencies"] == "STC, SYT" and website["count"] == 2
    assert s.duplicates.set_index("key").at["mua máy chủ", "count"] == 3  # SNV twice, SYT once
    assert "Đào tạo tin học" not in s.duplicates["name"].tolist()
    stc = s.projects.set_index("ten_du_an").at["Xây dựng  Website", "duplicate_of"]
    assert stc.startswith("SYT-")


def test_same_ledger_same_summary_whatever_the_row_order(world, spec, registry):
    ledger, _, s = world
    rows = ledger.submissions(load_spec().round)
    ids = [r["id"] for r in rows]
    projects, issues = ledger.projects(ids), ledger.issues(ids)
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    again = build_summary(spec, registry, shuffled, projects, issues, generated_at=GENERATED_AT)
    for name in ("agencies", "values", "table", "totals", "coverage", "projects", "funding_by_area", "narratives",
                 "submissions", "changes", "issues", "duplicates"):
        pd.testing.assert_frame_equal(getattr(s, name), getattr(again, name), check_exact=True, obj=name)


def test_an_empty_round(spec, registry):
    s = build_summary(spec, registry, [], {}, {}, generated_at=GENERATED_AT)
    assert (s.agencies["status"] == "missing").all()
    assert s.totals.loc[C.PROVINCE, "tong_so_cbccvc"] != s.totals.loc[C.PROVINCE, "tong_so_cbccvc"]  # NaN
    assert int(s.coverage.to_numpy().sum()) == 0
    assert s.projects.empty and s.duplicates.empty and s.changes.empty
    assert s.funding_by_area.at[C.TOTAL, "projects"] == 0


def test_files_of_unknown_agencies_are_not_consolidated(tmp_path, spec, registry):
    ledger = Ledger(tmp_path / "l.sqlite")
    values, projects = make_return(spec, registry.by_code["STC"], 1)
    record(ledger, spec, "STC", values, projects)
    record(ledger, spec, "XYZ", values, projects, salt="x")  # not in the registry
    s = summary_from(ledger, spec, registry)
    assert s.unattributed == 1
    assert list(s.values.index) == ["STC"]
    assert s.totals.at[C.PROVINCE, "tong_so_cbccvc"] == values["tong_so_cbccvc"]


def test_a_spec_without_a_named_field_fails_loudly(spec, registry):
    fields = {k: v for k, v in spec.fields.items() if k != C.STAFF}
    broken = dataclasses.replace(spec, fields=fields)
    with pytest.raises(C.SummarySpecError, match=C.STAFF):
        build_summary(broken, registry, [], {}, {}, generated_at=GENERATED_AT)
    retyped = dataclasses.replace(spec, fields={**spec.fields, C.PCS: dataclasses.replace(spec.fields[C.PCS], type="text")})
    with pytest.raises(C.SummarySpecError, match=C.PCS):
        C.check_spec(retyped)


def test_labels_and_kinds_come_from_the_spec(world, spec):
    _, _, s = world
    for field_id in s.detail_measures:
        m, f = s.measures[field_id], spec.fields[field_id]
        assert (m.vi, m.en, m.section) == (f.vi, f.en, f.section)
    assert s.measures["kp_cntt_2007"].fmt == "money" and s.measures["tong_so_cbccvc"].fmt == "count"
    assert s.measures["ty_le_van_ban_qua_mang"].how == "weighted"
    assert s.measures["ty_le_may_tren_cbcc"].how == "formula"
    assert s.measures["co_website"].how == "count_true"
    assert not {f.id for f in spec.fields.values() if f.type in ("text", "str", "date")} & set(s.measures)


def test_with_the_sample_generator(tmp_path, spec, registry):
    """The team's realistic generator (when present): province totals are the plain sums of its values."""
    sample = pytest.importorskip("pipeline.form.sample")
    ledger = Ledger(tmp_path / "l.sqlite")
    returns = {}
    for i, agency in enumerate(registry.of_round(spec).agencies):
        made = sample.make_sample(spec, agency, random.Random(f"2007/{agency.code}"))
        values = fill_computed(spec, dict(made.values), made.projects)
        record(ledger, spec, agency.code, values, list(made.projects), received_at=f"2007-09-{1 + i % 28:02d}T08:00:00")
        returns[agency.code] = values
    s = summary_from(ledger, spec, registry)
    for field_id in ("tong_so_cbccvc", "tong_so_may_tinh", "kh_kp_2008", "so_dvc_muc_2", "kp_cntt_2007"):
        numbers = [v[field_id] for v in returns.values() if v.get(field_id) is not None]
        assert s.totals.at[C.PROVINCE, field_id] == pytest.approx(math.fsum(numbers), rel=1e-12)
        assert s.coverage.at[C.PROVINCE, field_id] == len(numbers)
    assert (s.agencies["status"] == "accepted").all()
    assert len(s.projects) == sum(len(sample.make_sample(spec, a, random.Random(f"2007/{a.code}")).projects)
                                  for a in registry.of_round(spec).agencies)


def test_moved_cells_are_listed_for_every_return_that_moved_them(tmp_path, spec, registry):
    """The lineage of values read elsewhere than the template's cell: per counted return, also when many
    returns carry the very same cell map (the common case, decoded once)."""
    from pipeline.form.layout import layout_for

    template = {field_id: (ref.sheet, ref.a1) for field_id, ref in layout_for(spec).cells.items()}
    moved = dict(template, tong_so_may_tinh=(template["tong_so_may_tinh"][0], "H40"))
    ledger = Ledger(tmp_path / "l.sqlite")
    codes = [a.code for a in registry.of_round(spec).agencies[:4]]
    for i, (code, cells) in enumerate(zip(codes, [moved, template, moved, moved], strict=True)):
        record(ledger, spec, code, *make_return(spec, registry.by_code[code], i), cells=cells)
    s = summary_from(ledger, spec, registry)
    rows = s.moved_cells.sort_values("code").to_dict("records")
    sheet, cell = template["tong_so_may_tinh"]
    assert rows == [{"code": code, "field": "tong_so_may_tinh", "sheet": sheet, "cell": "H40",
                     "template_cell": f"{sheet}!{cell}"} for code in sorted([codes[0], codes[2], codes[3]])]
