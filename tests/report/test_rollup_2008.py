"""Province to nation on the 2008 implementation report (`ictplan rollup --round 2008`): 63 generated provinces.
Provinces 21, 42 and 63 are real: four agencies' 2007 plans and their 2008 reports generated as workbooks, both
rounds consolidated into one ledger (the province's "Thực hiện so với kế hoạch" and its exports); the others'
exports are written here in the same format. The national indicators and the national plan against result
are checked against sums computed here from the provinces' CSV files alone (for the real provinces, from
their two rounds' indicators.csv, not from their comparison), the coverage "n/m tỉnh" against what was
generated; a 2007 province among 2008 ones, or the reverse, is refused naming both forms and rounds."""

from __future__ import annotations

import dataclasses
import json
import math
import random

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from test_rollup import independent_sums, number, rows

from pipeline.cli import cli
from pipeline.form.sample import write_samples
from pipeline.form.sample_results import write_results
from pipeline.report import plan_vs_result as P
from pipeline.report.exports import MANIFEST, PLAN_MONEY, PLAN_TARGETS, write_csv
from pipeline.report.rollup import NATION, build_rollup, summed_results, write_rollup
from pipeline.run import Paths, consolidate

PROVINCES = 63
AGENCIES = 4
REAL = (21, 42, 63)
NO_PLAN = 10  # its ledger holds no 2007 plans: its 2008 figures count, it compares nothing
NOT_COMPARED = 2  # per written province: its second agency has no plan to compare with


def name_of(i: int) -> str:
    return f"Tỉnh thử số {i:02d}"


def real_province(root, spec, report_spec, registry, i):
    """Plans and 2008 reports of four agencies, as workbooks, consolidated into one ledger: (plans, reports) out."""
    start = (i * AGENCIES) % (len(registry.agencies) - AGENCIES)
    small = dataclasses.replace(registry, agencies=registry.agencies[start:start + AGENCIES])
    plan_i = dataclasses.replace(spec, form={**spec.form, "province_vi": name_of(i)})
    report_i = dataclasses.replace(report_spec, form={**report_spec.form, "province_vi": name_of(i)})
    write_samples(plan_i, small, root / f"in07_{i}", seed=2007 + i)
    write_results(report_i, small, root / f"in08_{i}", seed=2008 + i, plan_seed=2007 + i)
    db = root / f"p{i}.sqlite"
    plans = Paths(root / f"in07_{i}", root / f"plans{i}", db)
    reports = Paths(root / f"in08_{i}", root / f"p{i}", db)
    consolidate(plans, plan_i, small)
    consolidate(reports, report_i, small)
    return plans.out, reports.out


def written_province(root, spec, i):
    """A province's 2008 exports as a consolidation writes them, with random figures: indicators, projects,
    its plan against result (agency rows and their sums), round.json."""
    rng = random.Random(i)
    data = root / f"p{i}" / "data"
    data.mkdir(parents=True)
    codes = [f"DV{i:02d}{k}" for k in range(AGENCIES)]
    indicators = []
    for code in codes:
        row = {"agency": code, "group": "so"}
        for f in spec.fields.values():
            row[f.id] = (rng.randint(0, 60) if f.type == "int" else round(rng.uniform(0, 900), 1)
                         if f.type in ("money", "dec", "pct", "computed") else rng.random() < 0.5
                         if f.type == "bool" else None)
        indicators.append(row)
    write_csv(pd.DataFrame(indicators, columns=["agency", "group", *spec.fields]), set(), data / "indicators.csv")
    columns = [c.id for c in spec.table.columns]
    projects = [{"project_id": f"{code}-{j}", "agency": code, "group": "so", "submission_id": 1, "row": 8 + j,
                 "area": "HA_TANG", **{c.id: round(rng.uniform(0, 300), 1) if c.type == "money" else None
                                       for c in spec.table.columns}}
                for code in codes for j in range(rng.randint(0, 3))]
    write_csv(pd.DataFrame(projects, columns=["project_id", "agency", "group", "submission_id", "row", "area",
                                              *columns]), set(), data / "projects.csv")
    manifest = {"form_id": spec.form_id, "form_version": spec.version, "round": spec.round, "province": name_of(i),
                "generated_at": "2009-02-10T09:30:00", "agencies": AGENCIES, "reported": AGENCIES}
    if i != NO_PLAN:
        manifest["plan_round"] = spec.form["plan_round"]
        targets, money = [], []
        for f in P.results_of(spec):
            pairs = []
            for k, code in enumerate(codes):
                compared = k != NOT_COMPARED - 1
                target, result = (float(rng.randint(0, 80)), float(rng.randint(0, 80))) if compared else (None, None)
                targets.append({"level": "agency", "code": code, "field": f.id, "target": target, "result": result,
                                "n": int(compared), "m": 1})
                pairs += [(target, result)] if compared else []
            targets.append({"level": "province", "code": "__tinh__", "field": f.id,
                            "target": math.fsum(t for t, _ in pairs), "result": math.fsum(r for _, r in pairs),
                            "n": len(pairs), "m": AGENCIES})
        for code in codes:
            planned = round(rng.uniform(0, 500), 1)
            allocated = round(planned * rng.uniform(0.3, 1.1), 1)
            money.append({"level": "agency", "code": code, "planned": planned, "allocated": allocated,
                          "disbursed": round(allocated * rng.uniform(0.2, 1.0), 1), "projects": rng.randint(0, 4)})
        money.append({"level": "province", "code": "__tinh__",
                      **{k: math.fsum(m[k] for m in money) for k in ("planned", "allocated", "disbursed", "projects")}})
        write_csv(pd.DataFrame(targets), set(), data / PLAN_TARGETS)
        write_csv(pd.DataFrame(money), set(), data / PLAN_MONEY)
    (data / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="module")
def nation(tmp_path_factory, spec, report_spec, registry):
    root = tmp_path_factory.mktemp("provinces_2008")
    plans = {}
    for i in range(1, PROVINCES + 1):
        if i in REAL:
            plans[i], _ = real_province(root, spec, report_spec, registry, i)
        else:
            written_province(root, report_spec, i)
    folders = [root / f"p{i}" for i in range(1, PROVINCES + 1)]
    return {"root": root, "folders": folders, "plans": plans, "rollup": build_rollup(report_spec, folders)}


def expected_agencies(folder) -> int:
    """The agencies the province's round expects (its round.json: after the 2008 reorganisation, fewer)."""
    return int(json.loads((folder / "data" / MANIFEST).read_text(encoding="utf-8"))["agencies"])


def agency_pairs(report_spec, nation) -> dict[str, list[tuple[float, float]]]:
    """Per summed result, every agency's (target, result) compared, from the CSV files alone: a written
    province's plan_targets.csv agency rows; a real province's plan (its plans' indicators.csv) and report
    (its indicators.csv), agency by agency."""
    pairs: dict[str, list[tuple[float, float]]] = {f.id: [] for f in summed_results(report_spec)}
    for i, folder in enumerate(nation["folders"], start=1):
        if i in REAL:
            plan = {r["agency"]: r for r in rows(nation["plans"][i] / "data" / "indicators.csv")}
            for r in rows(folder / "data" / "indicators.csv"):
                for f in summed_results(report_spec):
                    target = number(plan.get(r["agency"], {}).get(f.plan_field))
                    if target is not None and number(r[f.id]) is not None:
                        pairs[f.id].append((target, number(r[f.id])))
        elif (folder / "data" / PLAN_TARGETS).exists():
            for r in rows(folder / "data" / PLAN_TARGETS):
                if r["level"] == "agency" and r["field"] in pairs and r["n"] == "1":
                    pairs[r["field"]].append((float(r["target"]), float(r["result"])))
    return pairs


def test_2008_national_indicators_equal_the_sums_of_the_provinces_csvs(nation, report_spec):
    rollup = nation["rollup"]
    assert len(rollup.provinces) == PROVINCES and not rollup.refused
    sums, counts = independent_sums(report_spec, nation["folders"])
    checked = [m for m in rollup.aggregated if m.id in sums]
    assert len(checked) > 30
    for m in checked:
        assert rollup.totals.at[NATION, m.id] == pytest.approx(sums[m.id], rel=1e-9), m.id
        if m.id in counts:
            assert rollup.coverage.at[NATION, m.id] == counts[m.id], m.id


def test_the_nations_plan_against_result_is_the_sum_of_the_agencies_compared(nation, report_spec):
    plan = nation["rollup"].plan
    fields = summed_results(report_spec)
    assert {f.id for f in fields} == {"so_dvc_muc_2", "so_dvc_muc_3", "so_cb_chuyen_trach", "so_luot_dao_tao_2008",
                                      "kp_cntt_2008"}  # the ratios and percentages are not sums: not rolled up
    pairs = agency_pairs(report_spec, nation)
    for f in fields:
        target, result = math.fsum(t for t, _ in pairs[f.id]), math.fsum(r for _, r in pairs[f.id])
        national = plan.at(NATION, f.id)
        assert national["target"] == pytest.approx(target, rel=1e-9), f.id
        assert national["result"] == pytest.approx(result, rel=1e-9), f.id
        assert national["gap"] == pytest.approx(result - target, rel=1e-9, abs=1e-9), f.id
        assert national["pct"] == pytest.approx(100 * result / target, rel=1e-9), f.id
        assert national["reached"] is (result >= target)
        assert national["n"] == len(pairs[f.id]) and national["m"] == sum(map(expected_agencies, nation["folders"]))
        assert plan.compared[f.id] == PROVINCES - 1  # the province without plans compared nothing


def test_each_real_provinces_row_is_its_own_comparison(nation, report_spec):
    plan, rollup = nation["rollup"].plan, nation["rollup"]
    keys = {int(p.folder.name[1:]): p.key for p in rollup.provinces}
    for i in REAL:
        own = {r["field"]: r for r in rows(nation["folders"][i - 1] / "data" / PLAN_TARGETS) if r["level"] == "province"}
        for f in plan.fields:
            mine = plan.at(keys[i], f.id)
            assert mine["target"] == pytest.approx(float(own[f.id]["target"])), (i, f.id)
            assert mine["result"] == pytest.approx(float(own[f.id]["result"])), (i, f.id)
            assert (mine["n"], mine["m"]) == (int(own[f.id]["n"]), expected_agencies(nation["folders"][i - 1]))
    no_plan = plan.at(keys[NO_PLAN], "kp_cntt_2008")
    assert pd.isna(no_plan["target"]) and (no_plan["n"], no_plan["m"]) == (0, AGENCIES)
    assert rollup.totals.at[keys[NO_PLAN], "kp_cntt_2008"] > 0  # its 2008 figures themselves count


def test_the_projects_money_is_the_sum_of_the_provinces(nation):
    plan = nation["rollup"].plan
    sums = dict.fromkeys(("planned", "allocated", "disbursed", "projects"), 0.0)
    for folder in nation["folders"]:
        if (folder / "data" / PLAN_MONEY).exists():
            for r in rows(folder / "data" / PLAN_MONEY):
                if r["level"] == "agency":
                    for k in sums:
                        sums[k] += float(r[k])
    national = plan.money.set_index("key").loc[NATION]
    for k in sums:
        assert national[k] == pytest.approx(sums[k], rel=1e-9), k
    assert national["allocated_pct"] == pytest.approx(100 * sums["allocated"] / sums["planned"])
    assert plan.money_compared == PROVINCES - 1


def test_the_national_workbook_and_csvs_carry_the_plan_against_result(nation, tmp_path):
    rollup = nation["rollup"]
    written = write_rollup(rollup, tmp_path)
    assert [p.name for p in written][3:] == ["rollup_plan_targets.csv", "rollup_plan_money.csv"]
    book = openpyxl.load_workbook(written[0])
    assert book.sheetnames[:4] == ["Chỉ tiêu chính", "Thực hiện so với kế hoạch", "Thực hiện theo tỉnh", "Các tỉnh"]
    ws = book["Thực hiện so với kế hoạch"]
    lines = {r[1]: r for r in ws.iter_rows(values_only=True) if r[1] and isinstance(r[0], int)}
    for f in rollup.plan.fields:
        national = rollup.plan.at(NATION, f.id)
        line = lines[f.vi]
        assert line[3] == pytest.approx(national["target"]) and line[4] == pytest.approx(national["result"])
        assert line[7] == ("Đạt" if national["reached"] else "Chưa đạt")
        assert line[8] == f"{PROVINCES - 1}/{PROVINCES} tỉnh" and line[9] == f"{national['n']}/{national['m']}"
    texts = [c for r in ws.iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert f"2. Vốn các dự án năm 2008 (số tỉnh có số liệu: {PROVINCES - 1}/{PROVINCES} tỉnh)" in texts
    money = next(r for r in ws.iter_rows(values_only=True) if r[1] == "Toàn quốc")
    national = rollup.plan.money.set_index("key").loc[NATION]
    assert money[2:5] == pytest.approx((national["projects"], national["planned"], national["allocated"]))
    csv_rows = rows(written[3])
    national = {r["field"]: r for r in csv_rows if r["level"] == "nation"}
    assert float(national["kp_cntt_2008"]["target"]) == pytest.approx(rollup.plan.at(NATION, "kp_cntt_2008")["target"])
    assert national["kp_cntt_2008"]["provinces_compared"] == str(PROVINCES - 1)
    assert len(csv_rows) == (PROVINCES + 1) * len(rollup.plan.fields)


def test_a_2007_province_among_2008_ones_is_refused_naming_both(nation, spec, report_spec):
    plans = nation["plans"][REAL[0]]  # the real province's own 2007 consolidation
    rollup = build_rollup(report_spec, [*nation["folders"][:3], plans])
    assert len(rollup.provinces) == 3 and [i.code for i in rollup.refused] == ["ROLLUP_OTHER_FORM"]
    for lang, words in (("vi", ("BM-UDCNTT-2007 phiên bản 1.1, kỳ 2007-2010", "BM-BCTH-2008 phiên bản 1.0, kỳ 2008")),
                        ("en", ("BM-UDCNTT-2007 version 1.1, round 2007-2010", "BM-BCTH-2008 version 1.0, round 2008"))):
        assert all(w in rollup.refused[0].message(lang) for w in words), rollup.refused[0].message(lang)
    reverse = build_rollup(spec, [plans, nation["folders"][REAL[0] - 1]])
    assert len(reverse.provinces) == 1 and [i.code for i in reverse.refused] == ["ROLLUP_OTHER_FORM"]
    assert "kỳ 2008" in reverse.refused[0].message("vi") and "kỳ 2007-2010" in reverse.refused[0].message("vi")
    assert reverse.plan is None  # a plan round has no plan against result


def test_a_provinces_plan_exports_missing_or_broken_refuse_it(nation, report_spec, tmp_path):
    import shutil

    for name, broken in ((PLAN_TARGETS, None), (PLAN_MONEY, b"level,code\r\nprovince,__tinh__\r\n")):
        folder = tmp_path / name
        shutil.copytree(nation["folders"][0], folder)
        if broken is None:
            (folder / "data" / name).unlink()
        else:
            (folder / "data" / name).write_bytes(broken)
        refused = build_rollup(report_spec, [folder]).refused
        assert len(refused) == 1 and f"data/{name}" in refused[0].message("vi"), name


def test_cli_rollup_round_2008(nation, tmp_path):
    folders = [str(f) for f in nation["folders"]]
    result = CliRunner().invoke(cli, ["rollup", "--round", "2008", *folders, str(nation["plans"][REAL[0]]),
                                      "--out", str(tmp_path / "n"), "--expected", "63"])
    assert result.exit_code == 0, result.output
    assert "63/63 tỉnh" in result.output and "kỳ 2007-2010" in result.output and "kỳ 2008" in result.output
    assert (tmp_path / "n" / "tong_hop_toan_quoc_BM-BCTH-2008_2008.xlsx").exists()
    assert (tmp_path / "n" / "data" / "rollup_plan_targets.csv").exists()


def test_cli_rollup_of_2008_folders_without_the_round_says_which_round_to_ask_for(nation, tmp_path):
    result = CliRunner().invoke(cli, ["rollup", *map(str, nation["folders"][:2]), "--out", str(tmp_path / "n")])
    assert result.exit_code == 1 and not (tmp_path / "n").exists()
    assert "kỳ 2008, không phải mẫu BM-UDCNTT-2007" in result.output
    assert "đề nghị chạy lại với --round 2008" in result.output
