"""A consolidation run end to end: inbox → ledger → summary, re-runs, duplicates, resubmissions, dry runs."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path

import pytest

from pipeline.form.sample import make_sample, write_samples
from pipeline.form.template import build_workbook
from pipeline.record.ledger import Ledger
from pipeline.record.lock import LockHeld, RunLock
from pipeline.run import Paths, consolidate, summary_name


def hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def inbox(tmp_path: Path, spec, registry) -> Path:
    folder = tmp_path / "inbox"
    write_samples(spec, registry, folder, count=12, seed=11, error_rate=0.35)
    (folder / "manifest.json").rename(tmp_path / "manifest.json")  # the manifest is not a return
    return folder


@pytest.fixture
def paths(tmp_path: Path, inbox: Path) -> Paths:
    return Paths(inbox, tmp_path / "out", tmp_path / "out" / "ledger.sqlite")


def test_first_run_records_every_file_and_writes_outputs(paths, spec, registry, tmp_path):
    before = hashes(paths.inbox)
    report = consolidate(paths, spec, registry)
    counts = report.counts
    assert counts["received"] == 12
    assert counts["accepted"] + counts["accepted_with_warnings"] + counts["rejected"] + counts["quarantined"] == 12
    assert Path(report.outputs["summary"]).name == summary_name(spec)
    assert (paths.out / "data" / "indicators.csv").exists()
    assert hashes(paths.inbox) == before  # agencies' files are never modified
    archived = {p.name.split(".")[0] for p in paths.archive.iterdir()}
    assert archived == set(before.values())  # every input archived under its hash


def test_deliberate_mistakes_reject_or_warn_the_right_agencies(paths, spec, registry, tmp_path):
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    report = consolidate(paths, spec, registry)
    by_file = {f.name: f for f in report.files}
    entries = manifest["files"]
    assert any(e["mistakes"] for e in entries)
    for entry in entries:
        result = by_file[entry["file"]]
        assert result.agency == entry["agency_code"]
        expected = {(m["code"], m["cell"]) for m in entry["mistakes"]}
        found = {(i.code, i.cell) for i in result.issues}
        assert expected <= found, (entry["file"], expected - found)
        if any(m["severity"] == "error" for m in entry["mistakes"]):
            assert result.status == "rejected"
        elif not entry["mistakes"]:
            assert result.status in ("accepted", "accepted_with_warnings")
            assert not [i for i in result.issues if i.severity == "error"]


def test_rerun_changes_nothing(paths, spec, registry):
    consolidate(paths, spec, registry)
    summary = Path(paths.out / summary_name(spec)).read_bytes()
    with Ledger(paths.db) as ledger:
        before = len(ledger.submissions())
    again = consolidate(paths, spec, registry)
    assert again.counts["unchanged"] == 12 and again.counts["received"] == 0
    with Ledger(paths.db) as ledger:
        assert len(ledger.submissions()) == before
    assert (paths.out / summary_name(spec)).read_bytes() == summary


def test_summary_is_a_pure_function_of_the_ledger(paths, spec, registry):
    consolidate(paths, spec, registry)
    first = (paths.out / summary_name(spec)).read_bytes()
    (paths.out / summary_name(spec)).unlink()
    consolidate(paths, spec, registry)  # nothing new: rebuilt from the ledger alone
    assert (paths.out / summary_name(spec)).read_bytes() == first


def test_same_bytes_under_another_name_is_a_duplicate(paths, spec, registry):
    consolidate(paths, spec, registry)
    first = sorted(paths.inbox.iterdir())[0]
    shutil.copy(first, paths.inbox / ("copy of " + first.name))
    report = consolidate(paths, spec, registry)
    assert report.counts["duplicate"] == 1 and report.counts["received"] == 1
    assert [f.status for f in report.files] == ["duplicate"]


def test_corrected_resend_supersedes_with_history(paths, spec, registry):
    consolidate(paths, spec, registry)
    agency = registry.get("VP-UBND")
    sample = make_sample(spec, agency, random.Random(99))
    sample.values["tong_so_may_tinh"] = sample.values["tong_so_may_tinh"]  # a fresh, valid return
    resend = paths.inbox / "VP-UBND gui lai.xlsx"
    resend.write_bytes(build_workbook(spec, agency=agency, values=sample.values, projects=sample.projects,
                                     tables=sample.tables))
    later = (paths.inbox / sorted(os.listdir(paths.inbox))[0]).stat().st_mtime + 3600
    os.utime(resend, (later, later))
    report = consolidate(paths, spec, registry)
    assert report.counts["received"] == 1
    with Ledger(paths.db) as ledger:
        rows = [r for r in ledger.submissions() if r["agency_code"] == "VP-UBND"]
    counted = [r for r in rows if r["counted"]]
    assert len(counted) == 1 and counted[0]["file_name"] == "VP-UBND gui lai.xlsx"
    if len(rows) > 1 and any(r["status"].startswith("accepted") for r in rows[:-1]):
        assert report.counts["superseded"] == 1
        assert counted[0]["supersedes"] is not None


def test_dry_run_records_and_writes_nothing(paths, spec, registry):
    report = consolidate(paths, spec, registry, dry_run=True)
    assert report.counts["received"] == 12
    assert not paths.db.exists()
    assert not (paths.out / summary_name(spec)).exists()


def test_dry_run_after_a_real_run_sees_the_ledger(paths, spec, registry):
    consolidate(paths, spec, registry)
    size = paths.db.stat().st_size
    report = consolidate(paths, spec, registry, dry_run=True)
    assert report.counts["unchanged"] == 12
    assert paths.db.stat().st_size == size


def test_a_held_lock_stops_a_second_run(paths, spec, registry):
    with RunLock(paths.lock), pytest.raises(LockHeld):
        consolidate(paths, spec, registry)
    assert not paths.db.exists()


def test_a_run_without_feedback_to_write_does_not_load_openpyxl(tmp_path, spec, registry):
    """openpyxl is only for feedback workbooks (0.2 s to import): a round of clean returns never loads it."""
    import subprocess
    import sys

    write_samples(spec, registry, tmp_path / "inbox", count=3, seed=4)
    (tmp_path / "inbox" / "manifest.json").unlink()
    code = ("import sys; from pipeline.form.registry import load_registry; from pipeline.form.spec import load_spec; "
            "from pipeline.run import Paths, consolidate; from pathlib import Path; out = Path(sys.argv[1]); "
            "r = consolidate(Paths(out.parent / 'inbox', out, out / 'ledger.sqlite'), load_spec(), load_registry()); "
            "print(r.counts['accepted'], r.to_feedback == [], 'openpyxl' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["3", "True", "False"]
