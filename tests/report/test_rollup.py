"""Province to nation (`ictplan rollup`): 63 generated provinces, each in its own output folder. Every
seventh is a real consolidation (a ledger of a few agencies, build_summary, write_exports: 0.6 s each on
this machine); the others' exports are written here directly in the same format (20 ms each), so the suite
stays fast. The national totals are checked against sums computed here from the provinces' CSV files alone,
the coverage "n/m tỉnh" against what was generated, and three provinces go end to end (sample workbooks →
`consolidate` → rollup)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import shutil

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from summary_factory import make_return, record, summary_from

from pipeline.cli import cli
from pipeline.form.sample import write_samples
from pipeline.record.ledger import Ledger
from pipeline.report import consolidate as C
from pipeline.report.exports import MANIFEST, write_csv, write_exports
from pipeline.report.rollup import NATION, build_rollup, rollup_name, write_rollup
from pipeline.run import Paths, consolidate

PROVINCES = 63
AGENCIES = 3  # per province: the rollup's cost is in the number of provinces, not of agencies
REAL_EVERY = 7  # provinces 7, 14, … 63 are real consolidations
BLANK_PROVINCE = 14  # a real one: every agency of this province leaves one measure blank
SHORT_PROVINCE = 9  # one of its agencies never reported


def province_spec(spec, i, **changes):
    return dataclasses.replace(spec, form={**spec.form, "province_vi": f"Tỉnh thử số {i:02d}"}, **changes)


def blank_measure(spec):
    """An additive input field no formula reads: blanking it changes that measure only (derived from the spec)."""
    read = {n for f in spec.fields.values() if f.formula is not None for n in f.formula.names}
    read |= {n for m in C.RATIOS.values() for n in C.expr.parse(m[0]).names}
    return next(f.id for f in spec.fields.values()
                if f.type == "int" and f.is_input and f.kind == "field" and f.id not in read)


def province_returns(spec, registry, i, skip=(), blank=None):
    """The province's few agencies and each one's return (values, projects)."""
    start = (i * AGENCIES) % (len(registry.of_round(spec).agencies) - AGENCIES)
    small = dataclasses.replace(registry, agencies=registry.of_round(spec).agencies[start:start + AGENCIES])
    returns = {}
    for k, agency in enumerate(small.agencies):
        if agency.code not in skip:
            values, projects = make_return(spec, agency, i * 100 + k)
            returns[agency.code] = (dict(values, **{blank: None}) if blank else values), projects
    return small, returns


def make_province(root, spec, registry, i, *, skip=(), blank=None, **changes):
    """One province's real consolidation (ledger → Summary → exports) into root/p<i>; returns the Summary."""
    spec_i = province_spec(spec, i, **changes)
    small, returns = province_returns(spec_i, registry, i, skip, blank)
    with Ledger(root / f"p{i}.sqlite") as ledger:
        for k, (code, (values, projects)) in enumerate(returns.items()):
            record(ledger, spec_i, code, values, projects, received_at=f"2007-09-{10 + k:02d}T08:00:00")
        summary = summary_from(ledger, spec_i, small)
    write_exports(summary, spec_i, root / f"p{i}")
    return summary


def write_province_exports(root, spec, registry, i, *, skip=(), blank=None):
    """The exports a consolidation of province i would write (manifest, indicators, projects), written here."""
    small, returns = province_returns(spec, registry, i, skip, blank)
    data = root / f"p{i}" / "data"
    data.mkdir(parents=True)
    group = {a.code: a.group for a in small.agencies}
    indicators = [{"agency": code, "group": group[code], **{f: values.get(f) for f in spec.fields}}
                  for code, (values, _) in returns.items()]
    columns = [c.id for c in spec.table.columns]
    projects = [{"project_id": f"{code}-{j}", "agency": code, "group": group[code], "submission_id": 1, "row": 7 + j,
                 "area": p["nhom_noi_dung"], **{c: p.get(c) for c in columns}, "duplicate_of": "", "duplicate_count": 0}
                for code, (_, rows_) in returns.items() for j, p in enumerate(rows_)]
    write_csv(pd.DataFrame(indicators, columns=["agency", "group", *spec.fields]), set(), data / "indicators.csv")
    write_csv(pd.DataFrame(projects, columns=["project_id", "agency", "group", "submission_id", "row", "area", *columns,
                                              "duplicate_of", "duplicate_count"]), set(), data / "projects.csv")
    manifest = {"form_id": spec.form_id, "form_version": spec.version, "round": spec.round,
                "province": f"Tỉnh thử số {i:02d}", "generated_at": "2007-10-15T09:30:00",
                "agencies": len(small.agencies), "reported": len(returns)}
    (data / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="module")
def nation(tmp_path_factory, spec, registry):
    root = tmp_path_factory.mktemp("provinces")
    blank = blank_measure(spec)
    summaries = {}
    for i in range(1, PROVINCES + 1):
        first = registry.of_round(spec).agencies[(i * AGENCIES) % (len(registry.of_round(spec).agencies) - AGENCIES)].code
        options = {"blank": blank if i == BLANK_PROVINCE else None, "skip": (first,) if i == SHORT_PROVINCE else ()}
        if i % REAL_EVERY == 0:
            summaries[i] = make_province(root, spec, registry, i, **options)
        else:
            write_province_exports(root, spec, registry, i, **options)
    folders = [root / f"p{i}" for i in range(1, PROVINCES + 1)]
    return {"root": root, "folders": folders, "summaries": summaries, "blank": blank,
            "rollup": build_rollup(spec, folders)}


def rows(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw[3:].decode("utf-8"))))


def number(text):
    return float(text) if text not in ("", None) else None


def independent_sums(spec, folders):
    """Σ over every agency row of every province's indicators.csv (and Σ projects.csv for the table totals),
    with the count of rows holding a value: no code under test involved."""
    assert spec.table is not None
    table_totals = {total: column for column, total in spec.table.totals.items()}
    sums, counts = {}, {}
    for folder in folders:
        indicators = rows(folder / "data" / "indicators.csv")
        projects = rows(folder / "data" / "projects.csv")
        for f in spec.fields.values():
            if f.id in table_totals:
                column = table_totals[f.id]
                found = [number(p[column]) or 0.0 for p in projects]
                sums[f.id] = sums.get(f.id, 0.0) + math.fsum(found)
                counts[f.id] = counts.get(f.id, 0) + len(indicators)
                continue
            if f.type == "bool":
                found = [1.0 if r[f.id] == "True" else 0.0 for r in indicators if r[f.id] != ""]
            elif f.type in ("int", "money"):
                found = [number(r[f.id]) for r in indicators if r[f.id] != ""]
            else:
                continue
            sums[f.id] = sums.get(f.id, 0.0) + math.fsum(found)
            counts[f.id] = counts.get(f.id, 0) + len(found)
        sums[C.PROJECT_COUNT] = sums.get(C.PROJECT_COUNT, 0) + len(projects)
    return sums, counts


def test_national_totals_equal_the_sums_of_the_provinces_csvs(nation, spec):
    rollup = nation["rollup"]
    sums, counts = independent_sums(spec, nation["folders"])
    checked = [m for m in rollup.aggregated if m.id in sums]
    assert len(checked) > 40  # every count, money and yes/no field of the spec, not a handful
    for m in checked:
        assert rollup.totals.at[NATION, m.id] == pytest.approx(sums[m.id], rel=1e-9), m.id
        if m.id in counts:
            assert rollup.coverage.at[NATION, m.id] == counts[m.id], m.id


def test_each_province_row_is_that_provinces_own_summary_total(nation):
    rollup = nation["rollup"]
    assert len(nation["summaries"]) == PROVINCES // REAL_EVERY
    for p in rollup.provinces:
        own = nation["summaries"].get(int(p.folder.name[1:]))
        if own is None:
            continue
        for m in rollup.aggregated:
            mine, theirs = rollup.totals.at[p.key, m.id], own.totals.at[C.PROVINCE, m.id]
            assert (math.isnan(mine) and math.isnan(theirs)) or mine == pytest.approx(theirs, rel=1e-9), (p.name, m.id)
            assert rollup.coverage.at[p.key, m.id] == own.coverage.at[C.PROVINCE, m.id]


def test_ratios_are_recomputed_from_national_totals_not_averaged(nation, spec):
    rollup = nation["rollup"]
    pcs = staff = 0.0
    for folder in nation["folders"]:
        for r in rows(folder / "data" / "indicators.csv"):
            if r[C.PCS] and r[C.STAFF]:
                pcs, staff = pcs + float(r[C.PCS]), staff + float(r[C.STAFF])
    assert rollup.totals.at[NATION, "tl_may_tren_cbcc"] == pytest.approx(pcs / staff, rel=1e-12)
    mean = rollup.totals.loc[[p.key for p in rollup.provinces], "tl_may_tren_cbcc"].mean()
    assert abs(mean - pcs / staff) > 1e-6  # the average of the provinces' ratios is another figure


def test_coverage_counts_provinces_and_agencies(nation, spec):
    rollup, blank = nation["rollup"], nation["blank"]
    assert len(rollup.provinces) == rollup.expected == PROVINCES
    assert rollup.agencies() == (PROVINCES * AGENCIES - 1, PROVINCES * AGENCIES)
    assert rollup.provinces_reporting[blank] == PROVINCES - 1  # the province that left it blank is not counted
    assert rollup.coverage.at[NATION, blank] == (PROVINCES - 1) * AGENCIES - 1
    assert rollup.provinces_reporting[C.STAFF] == PROVINCES
    assert rollup.coverage.at[NATION, C.STAFF] == PROVINCES * AGENCIES - 1
    assert build_rollup(spec, nation["folders"][:2], expected=PROVINCES).expected == PROVINCES


def test_workbook_and_csvs(nation, tmp_path):
    rollup = nation["rollup"]
    written = write_rollup(rollup, tmp_path)
    assert [p.name for p in written] == [rollup_name(rollup), "rollup_totals.csv", "rollup_provinces.csv"]
    book = openpyxl.load_workbook(written[0])
    assert book.sheetnames == ["Chỉ tiêu chính", "Các tỉnh", "Tất cả chỉ tiêu", "Thư mục các tỉnh", "Cách tính"]
    ws = book["Tất cả chỉ tiêu"]
    header = [c.value for c in ws[5]]
    lines = {row[1] or row[0]: row for row in ws.iter_rows(min_row=6, values_only=True) if row[1] or row[0]}
    blank = next(i for i, h in enumerate(header) if h and h.startswith(rollup.measures[nation["blank"]].vi))
    staff = next(i for i, h in enumerate(header) if h and h.startswith(rollup.measures[C.STAFF].vi))
    assert len([k for k in lines if k.startswith("Tỉnh thử")]) == PROVINCES
    assert lines["Toàn quốc"][staff] == pytest.approx(rollup.totals.at[NATION, C.STAFF])
    coverage = next(row for row in ws.iter_rows(values_only=True) if row[0] == "Số tỉnh có số liệu")
    assert coverage[blank] == f"{PROVINCES - 1}/{PROVINCES} tỉnh" and coverage[staff] == f"{PROVINCES}/{PROVINCES} tỉnh"
    assert not any(isinstance(c.value, str) and c.value.startswith("=") for s in book for r in s.iter_rows() for c in r)
    totals = rows(written[1])
    national = {r["measure"]: r for r in totals if r["level"] == "nation"}
    assert float(national[C.STAFF]["value"]) == pytest.approx(rollup.totals.at[NATION, C.STAFF])
    assert national[nation["blank"]]["provinces_reported"] == str(PROVINCES - 1)
    assert len(totals) == (PROVINCES + 1) * len(rollup.aggregated)
    assert [r["status"] for r in rows(written[2])] == ["taken"] * PROVINCES


def test_refused_folders_are_never_counted(nation, spec, registry, tmp_path):
    folders = nation["folders"][:3]
    make_province(tmp_path, spec, registry, 70, round="2009-2011")
    make_province(tmp_path, spec, registry, 71, version="0.9")
    make_province(tmp_path, spec, registry, 72)
    (tmp_path / "p72" / "data" / "projects.csv").unlink()
    shutil.copytree(folders[0], tmp_path / "copy_of_p1")  # the same province from another folder
    make_province(tmp_path, spec, registry, 73)
    indicators = tmp_path / "p73" / "data" / "indicators.csv"
    indicators.write_bytes(b"".join(indicators.read_bytes().splitlines(keepends=True)[:-1]))  # a row lost
    offered = [*folders, tmp_path / "p70", tmp_path / "p71", tmp_path / "p72", folders[1], tmp_path / "copy_of_p1",
               tmp_path / "p73", tmp_path / "nowhere"]
    rollup = build_rollup(spec, offered)
    assert [p.folder for p in rollup.provinces] == folders
    assert [i.code for i in rollup.refused] == ["ROLLUP_OTHER_FORM", "ROLLUP_OTHER_FORM", "ROLLUP_NO_EXPORTS",
                                                "ROLLUP_DUPLICATE", "ROLLUP_DUPLICATE", "ROLLUP_BAD_EXPORTS",
                                                "ROLLUP_NO_EXPORTS"]
    alone = build_rollup(spec, folders)
    assert rollup.totals.equals(alone.totals) and rollup.coverage.equals(alone.coverage)
    other_round = rollup.refused[0]
    assert "kỳ 2009-2011" in other_round.message("vi") and f"kỳ {spec.round}" in other_round.message("vi")
    assert "round 2009-2011" in other_round.message("en") and "version 0.9" in rollup.refused[1].message("en")
    assert "data/projects.csv" in rollup.refused[2].message("vi")
    assert "Tỉnh thử số 01" in rollup.refused[4].message("vi")


def test_three_provinces_end_to_end(spec, registry, tmp_path):
    """Sample workbooks → the real consolidation (read, validate, ledger, exports) → rollup."""
    folders = []
    for i in range(3):
        spec_i = province_spec(spec, 80 + i)
        small = dataclasses.replace(registry, agencies=registry.of_round(spec).agencies[i * 4:i * 4 + AGENCIES])
        write_samples(spec_i, small, tmp_path / f"inbox{i}", seed=2007 + i)
        paths = Paths(tmp_path / f"inbox{i}", tmp_path / f"out{i}", tmp_path / f"out{i}" / "ledger.sqlite")
        consolidate(paths, spec_i, small)
        manifest = json.loads((paths.out / "data" / "round.json").read_text(encoding="utf-8"))
        assert manifest["province"] == f"Tỉnh thử số {80 + i:02d}" and manifest["agencies"] == AGENCIES
        folders.append(paths.out)
    rollup = build_rollup(spec, folders)
    assert len(rollup.provinces) == 3 and not rollup.refused
    sums, counts = independent_sums(spec, folders)
    for m in rollup.aggregated:
        if m.id in sums and counts.get(m.id, 1):
            assert rollup.totals.at[NATION, m.id] == pytest.approx(sums[m.id], rel=1e-9), m.id
        elif m.id in sums:  # no agency has the figure (commune IT of departments only): blank, not 0
            assert math.isnan(rollup.totals.at[NATION, m.id]), m.id


def test_cli_writes_the_rollup_and_lists_refusals(nation, tmp_path):
    folders = [str(f) for f in nation["folders"][:2]]
    result = CliRunner().invoke(cli, ["rollup", *folders, folders[0], "--out", str(tmp_path / "n"), "--expected", "63"])
    assert result.exit_code == 0, result.output
    assert "2/63 tỉnh" in result.output and "không cộng lần thứ hai" in result.output
    assert (tmp_path / "n" / "data" / "rollup_totals.csv").exists()
    result = CliRunner().invoke(cli, ["rollup", str(tmp_path / "nowhere"), "--lang", "en", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "holds no consolidation exports" in result.output
    assert not (tmp_path / "x").exists()


def test_a_province_name_or_value_that_is_no_figure(spec, registry, tmp_path):
    """A province name is text in the workbook, never a formula; a non-number where a figure belongs refuses
    the province, naming the file and column, instead of counting it as blank."""
    write_province_exports(tmp_path, spec, registry, 1)
    manifest = tmp_path / "p1" / "data" / MANIFEST
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("Tỉnh thử số 01", '=HYPERLINK(\\"http://x\\")'),
                        encoding="utf-8")
    rollup = build_rollup(spec, [tmp_path / "p1"])
    assert rollup.provinces[0].name == '=HYPERLINK("http://x")'
    book = openpyxl.load_workbook(write_rollup(rollup, tmp_path / "n")[0])
    cells = [c for ws in book for r in ws.iter_rows() for c in r if c.value == '=HYPERLINK("http://x")']
    assert cells and all(c.data_type == "s" for c in cells)
    write_province_exports(tmp_path, spec, registry, 2)
    indicators = tmp_path / "p2" / "data" / "indicators.csv"
    frame = pd.read_csv(indicators, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.loc[1, C.STAFF] = "chưa thống kê"
    write_csv(frame, set(), indicators)
    refused = build_rollup(spec, [tmp_path / "p2"]).refused
    assert [i.code for i in refused] == ["ROLLUP_BAD_EXPORTS"]
    assert f"cột / column {C.STAFF}: 'chưa thống kê'" in refused[0].message("vi")
