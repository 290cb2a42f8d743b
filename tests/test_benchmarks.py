"""The benchmarks keep working: each runs on a few returns in a subprocess and prints sane JSON.

No timing is asserted (machines differ); the figures must only be present, positive and consistent.
The sample returns are generated into a temporary cache, not benchmarks/.cache/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bench-cache")


def run_bench(script: str, cache: Path, *args: str) -> dict:
    env = {**os.environ, "ICTPLAN_BENCH_CACHE": str(cache)}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args, "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_bench_consolidate(cache):
    r = run_bench("bench_consolidate.py", cache, "--n", "30", "--naive-files", "6")
    assert r["n"] == r["files"] == 30
    ours, again, naive, floor = r["ours"], r["incremental"], r["naive"], r["floor"]
    assert ours["exit"] == 0 and ours["counts"]["received"] == 30 and ours["counts"]["accepted"] == 30
    assert again["counts"]["unchanged"] == 30 and again["counts"]["received"] == 0
    assert set(ours["seconds"]) == {"take_in", "read", "imports", "validate", "ledger", "summary", "exports", "feedback"}
    assert all(v >= 0 for v in ours["seconds"].values()) and ours["seconds"]["read"] > 0
    assert 0 < sum(ours["seconds"].values()) < ours["wall_s"]
    assert set(ours["cpu_seconds"]) == set(ours["seconds"]) and all(v >= 0 for v in ours["cpu_seconds"].values())
    assert ours["cpu_seconds"]["read"] > 0  # the readers' CPU time, sent back with what they read
    assert ours["peak_rss_mb"] > 20 and again["peak_rss_mb"] > 20
    assert naive["measured_files"] == 6 and naive["extrapolated"] is True and naive["returns_with_failures"] == 0
    assert naive["wall_s"] > naive["measured_s"] > 0
    assert floor["wall_s"] > 0 and r["startup_s"] > 0 and r["machine"]["cpus"] >= 1
    assert r["machine"]["reference_s_before"] > 0 and r["machine"]["reference_s_after"] > 0
    assert r["ratios"]["naive_over_ours"] == pytest.approx(naive["wall_s"] / ours["wall_s"], rel=1e-2)
    assert r["ratios"]["ours_over_floor"] == pytest.approx(ours["wall_s"] / floor["wall_s"], rel=1e-2)


def test_bench_consolidate_compares_two_sizes(cache):
    """Given two sizes, each stage's time at the larger over the smaller, with its limit scaled to the sizes."""
    r = run_bench("bench_consolidate.py", cache, "--n", "30", "--n", "12", "--no-naive")
    small, large = r["runs"]
    assert (small["n"], large["n"]) == (12, 30) and small["naive"] is None
    scale = r["scale"]
    assert set(scale) == {"take_in", "read", "imports", "validate", "ledger", "summary", "exports", "feedback",
                          "summary + exports", "whole run"}
    whole = scale["whole run"]
    assert (whole["small_s"], whole["large_s"]) == (small["ours"]["wall_s"], large["ours"]["wall_s"])
    assert whole["ratio"] == pytest.approx(whole["large_s"] / whole["small_s"], rel=1e-3)
    assert whole["limit"] == pytest.approx(10 * 2.5 / 10) and scale["ledger"]["limit"] == pytest.approx(12 * 2.5 / 10)
    assert scale["feedback"]["ratio"] is None and scale["feedback"]["within"] is None  # nothing to time: no ratio
    ledger = scale["ledger"]  # a stage is judged on its CPU time, the whole run on its wall time
    assert ledger["judged_on"] == "cpu" and whole["judged_on"] == "wall" and whole["cpu_ratio"] is None
    assert (ledger["cpu_small_s"], ledger["cpu_large_s"]) == (small["ours"]["cpu_seconds"]["ledger"],
                                                              large["ours"]["cpu_seconds"]["ledger"])


def test_bench_read(cache):
    r = run_bench("bench_read.py", cache, "--n", "12", "--repeat", "1", "--pandas-files", "2")
    assert r["files"] == 12 and r["unreadable"] == 0 and r["without_agency"] == 0
    assert r["read_ms"] > 0 and r["preflight_ms"] > 0 and r["calamine_ms"] > 0 and r["pandas_ms"] > 0
    assert r["pandas_files"] == 2 and isinstance(r["target_met"], bool)
    assert r["reference_s_before"] > 0 and r["reference_s_after"] > 0


def test_bench_validate(cache):
    r = run_bench("bench_validate.py", cache, "--n", "12", "--repeat", "1")
    assert r["returns"] == 12 and sum(r["statuses"].values()) == 12
    assert r["batch_s"] > 0 and r["one_return_s"] > 0 and r["per_return_ms"] > 0


def test_bench_serve(cache):
    r = run_bench("bench_serve.py", cache, "--files", "2", "--repeat", "1")
    assert r["files"] == 2 and len(r["warm_passes_s"]) == len(r["fresh_passes_s"]) == 2
    assert set(r["statuses"].values()) <= {"accepted", "accepted_with_warnings", "rejected"}
    assert r["warm_server_s"] > 0 and r["fresh_check_s"] > 0 and r["upload_recorded_s"] > 0
    assert r["ratio"] == pytest.approx(r["fresh_check_s"] / r["warm_server_s"], rel=1e-6)
    assert r["target_met"] == (r["ratio"] >= r["target"]) and r["machine"]["reference_s_before"] > 0


def test_bench_formats():
    r = run_bench("bench_formats.py", ROOT, "--reads", "1", "--repeat", "1")
    formats = [row["format"].split(",")[0] for row in r["rows"]]
    assert formats == ["ods", "ods", "ods", "fods", "xml"]
    for row in r["rows"]:
        assert row["read_ms"] > 0 and row["preflight_ms"] > 0 and row["xlsx_read_ms"] > 0 and row["bytes"] > 0
        assert row["ratio"] == pytest.approx(row["read_ms"] / row["xlsx_read_ms"])
    assert r["reference_s_before"] > 0 and r["reference_s_after"] > 0
