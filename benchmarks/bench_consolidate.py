"""Time build_summary + summary_bytes for N agencies (~5 projects each): `make bench` (N = 1000).

The ledger is built first (not timed); the timed part is what the orchestrator does after reading it.
Prints the median of --repeat runs for each step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from summary_factory import GENERATED_AT, big_registry, make_return, record

from pipeline.consolidate import build_summary
from pipeline.ledger import Ledger
from pipeline.registry import load_registry
from pipeline.spec import load_spec
from pipeline.summary_writer import summary_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000, help="agencies (41 = the real registry)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    spec = load_spec()
    registry = load_registry() if args.n == 41 else big_registry(args.n)
    with tempfile.TemporaryDirectory() as folder:
        ledger = Ledger(Path(folder) / "bench.sqlite")
        for i, agency in enumerate(registry.agencies):
            values, projects = make_return(spec, agency, i, projects=5)
            record(ledger, spec, agency.code, values, projects, received_at=f"2007-09-20T08:{i % 60:02d}:00")
        rows = ledger.submissions(spec.round)
        ids = [r["id"] for r in rows]
        projects, issues = ledger.projects(ids), ledger.issues(ids)
        build, write, cpu, size = [], [], [], 0
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            summary = build_summary(spec, registry, rows, projects, issues, generated_at=GENERATED_AT)
            middle = time.perf_counter()
            size = len(summary_bytes(summary, spec))
            build.append(middle - start)
            write.append(time.perf_counter() - middle)
            cpu.append(time.process_time() - start_cpu)  # CPU time: less sensitive to a busy machine
        ledger.close()
    print(f"{args.n} agencies, {len(summary.projects)} projects: build_summary {statistics.median(build):.3f} s, "
          f"summary_bytes {statistics.median(write):.3f} s, total {statistics.median(build) + statistics.median(write):.3f} s "
          f"(CPU {statistics.median(cpu):.3f} s), {size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
