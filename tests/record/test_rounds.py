"""Several forms and rounds in one ledger (issue 19): each return is recorded under its own round; a return of
another round dropped in the wrong inbox is refused, naming both rounds, and recorded nowhere, so its own round
takes it in later; nothing of one round is counted in another; old ledgers' rows are the 2007-2010 round's."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.form.sample import write_samples
from pipeline.form.sample_results import write_results
from pipeline.form.spec import bundled, load_spec, round_specs, spec_for_round
from pipeline.record.ledger import LEGACY_ROUND, MIGRATIONS, Ledger
from pipeline.report.status import round_status
from pipeline.run import Paths, consolidate

COUNT = 4


@pytest.fixture(scope="module")
def report_spec():
    return load_spec(bundled("report_2008_spec.yaml"))


@pytest.fixture(scope="module")
def inboxes(tmp_path_factory, spec, registry, report_spec):
    """Four agencies' plans (2007-2010) and their 2008 reports, each in its inbox; one report also in the plans'
    inbox and one plan in the reports' inbox, as happens."""
    root = tmp_path_factory.mktemp("rounds")
    plans = write_samples(spec, registry, root / "inbox07", count=COUNT, seed=2007)
    results = write_results(report_spec, registry, root / "inbox08", count=COUNT, seed=2008, plan_seed=2007)
    (root / "inbox07" / "manifest.json").unlink()
    (root / "inbox08" / "manifest.json").unlink()
    stray_report, stray_plan = results[0][0], plans[1][0]
    shutil.copy2(stray_report, root / "inbox07" / stray_report.name)
    shutil.copy2(stray_plan, root / "inbox08" / stray_plan.name)
    # a plan the plans' round has not seen, sent straight into the reports' inbox
    (late,) = write_samples(spec, registry, root / "late", count=COUNT + 1, seed=2007)[COUNT:]
    shutil.copy2(late[0], root / "inbox08" / late[0].name)
    return root, stray_report.name, stray_plan.name, late[0].name


def _run(root: Path, inbox: str, spec, registry):
    return consolidate(Paths(root / inbox, root / f"out_{inbox}", root / "ledger.sqlite"), spec, registry)


def test_two_rounds_in_one_ledger_each_counts_only_its_own(inboxes, spec, registry, report_spec):
    root, stray_report, stray_plan, late_plan = inboxes
    first = _run(root, "inbox07", spec, registry)
    refused = [f for f in first.files if f.status == "other_round"]
    assert [f.name for f in refused] == [stray_report] and first.counts["other_round"] == 1
    assert first.counts["accepted"] + first.counts["accepted_with_warnings"] == COUNT
    (issue,) = [i for i in refused[0].issues if i.code == "FORM_OTHER_ROUND"]
    assert issue.context == {"found": "2008", "expected": "2007-2010", "found_form": "BM-BCTH-2008",
                             "expected_form": "BM-UDCNTT-2007"}
    for lang in ("vi", "en"):  # the message names both rounds, in each language
        text = issue.message(lang)
        assert "2008" in text and "2007-2010" in text and "BM-BCTH-2008" in text
    with Ledger(root / "ledger.sqlite") as ledger:
        assert {r["round"] for r in ledger.submissions()} == {"2007-2010"}  # the stray report is recorded nowhere

    second = _run(root, "inbox08", report_spec, registry)
    assert [f.name for f in second.files if f.status == "other_round"] == [late_plan]
    assert second.counts["unchanged"] == 1  # the stray plan: recorded already, in its own round
    # the report refused by the plans' run is taken in now, in its own round
    assert stray_report in {f.name for f in second.files if f.status.startswith("accepted")}
    with Ledger(root / "ledger.sqlite") as ledger:
        rounds = {r["round"]: r for r in ledger.rounds()}
        assert set(rounds) == {"2007-2010", "2008"}
        assert {k: (rounds[k]["form_id"], rounds[k]["counted"]) for k in rounds} == {
            "2007-2010": ("BM-UDCNTT-2007", COUNT), "2008": ("BM-BCTH-2008", COUNT)}
        plans, reports = round_status(ledger, spec, registry), round_status(ledger, report_spec, registry)
        assert plans.counts()["received"] == reports.counts()["received"] == COUNT
        assert {r.file for a in plans.agencies for r in a.returns} == {
            p.name for p in (root / "inbox07").iterdir()} - {stray_report}
        assert stray_plan not in {r.file for a in reports.agencies for r in a.returns}
        assert [r["round"] for r in plans.to_dict()["rounds"]] == ["2007-2010", "2008"]
        runs = ledger.runs()
        assert [r["round"] for r in runs] == ["2007-2010", "2008"]
        assert ledger.previous_run(runs[1]["id"]) is None  # the run before it was another round's
    # each round's summary holds its own returns only
    indicators = {name: (root / f"out_{name}" / "data" / "indicators.csv").read_text(encoding="utf-8")
                  for name in ("inbox07", "inbox08")}
    assert "kh_kp_2008" in indicators["inbox07"].splitlines()[0]
    assert "kp_cntt_2008" in indicators["inbox08"].splitlines()[0] and "kh_kp_2008" not in indicators["inbox08"]
    manifests = {name: json.loads((root / f"out_{name}" / "data" / "round.json").read_text(encoding="utf-8"))
                 for name in ("inbox07", "inbox08")}
    assert (manifests["inbox07"]["round"], manifests["inbox08"]["round"]) == ("2007-2010", "2008")


def test_a_ledger_of_one_round_becomes_the_2007_2010_rounds(tmp_path):
    """Migration 0004: rows without a round (files that could not be read) and earlier runs are the
    2007-2010 round's; nothing else changes."""
    db = tmp_path / "old.sqlite"
    raw = sqlite3.connect(db)
    raw.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, sql in MIGRATIONS[:3]:
        raw.executescript(sql)
        raw.execute("INSERT INTO migrations VALUES (?, 'x')", (name,))
    raw.execute("INSERT INTO runs (started_at, status) VALUES ('2007-10-01', 'completed')")
    raw.execute("INSERT INTO submissions (sha256, file_name, received_at, recorded_at, status) "
                "VALUES ('a', 'unreadable.xlsx', '2007-10-01', '2007-10-01', 'quarantined')")
    raw.execute("INSERT INTO submissions (sha256, file_name, received_at, recorded_at, form_id, round, agency_code, "
                "status, counted) VALUES ('b', 'stc.xlsx', '2007-10-02', '2007-10-02', 'BM-UDCNTT-2007', '2007-2010', "
                "'STC', 'accepted', 1)")
    raw.commit()
    raw.close()
    with Ledger(db) as ledger:
        assert "0004_rounds" in ledger.applied_migrations()
        assert [(r["file_name"], r["form_id"], r["round"]) for r in ledger.submissions()] == [
            ("unreadable.xlsx", "BM-UDCNTT-2007", LEGACY_ROUND), ("stc.xlsx", "BM-UDCNTT-2007", LEGACY_ROUND)]
        assert [r["round"] for r in ledger.runs()] == [LEGACY_ROUND]
        assert ledger.rounds()[0] | {} == {"form_id": "BM-UDCNTT-2007", "round": "2007-2010", "files": 2,
                                           "agencies": 1, "counted": 1, "first_received": "2007-10-01",
                                           "last_received": "2007-10-02"}


def test_every_command_takes_the_round(tmp_path):
    assert round_specs() == {"2007-2010": bundled("form_spec.yaml"), "2008": bundled("report_2008_spec.yaml")}
    assert spec_for_round("2008") == bundled("report_2008_spec.yaml")
    runner = CliRunner()
    assert "BM-BCTH-2008" in runner.invoke(cli, ["spec", "--round", "2008"]).output
    assert "BM-UDCNTT-2007" in runner.invoke(cli, ["spec"]).output  # default: the form spec's round
    unknown = runner.invoke(cli, ["spec", "--round", "2099", "--lang", "en"])
    assert unknown.exit_code == 2 and "2007-2010, 2008" in unknown.output
    clash = runner.invoke(cli, ["spec", "--round", "2008", "--spec", str(bundled("form_spec.yaml")), "--lang", "en"])
    assert clash.exit_code == 2 and "is of round 2007-2010, not 2008" in clash.output
    out = tmp_path / "templates"
    assert runner.invoke(cli, ["template", "--round", "2008", "--out", str(out)]).exit_code == 0
    assert (out / "BM-BCTH-2008_v1.0_STC.xlsx").exists()
