"""How long validating a batch of returns takes: `pipeline.validation.validate.validate_batch` on N read returns.

    .venv/bin/python benchmarks/bench_validate.py [--n 1000] [--seed 2007] [--error-rate 0.1] [--repeat 3] [--json]

Reads the cached sample returns of benchmarks/bench_read.py (generated on first use; a share carry an
injected mistake, so failure cases are mapped back too) into Submissions once, then times one
`validate_batch` call over all of them, --repeat times, and one call over a single return (the fixed
cost of a call: two pandera validations of ~130 and ~20 columns with their checks).

The target: 1,000 returns in one batch in under 1 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter

from common import mixed_returns

from pipeline.form.registry import load_registry
from pipeline.form.spec import load_spec
from pipeline.intake.read import read
from pipeline.validation.validate import validate_batch


def timed(work, repeat: int) -> list[float]:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        runs.append(time.perf_counter() - started)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="returns in the batch (default 1000)")
    parser.add_argument("--seed", type=int, default=2007)
    parser.add_argument("--error-rate", type=float, default=0.1, help="share of returns with a mistake")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls (median shown)")
    parser.add_argument("--json", action="store_true", help="print only a JSON object")
    args = parser.parse_args()

    spec, registry = load_spec(), load_registry()
    submissions = [read(p, spec=spec, registry=registry) for p in mixed_returns(args.n, args.seed, args.error_rate,
                                                                               quiet=args.json)]
    verdicts = validate_batch(submissions, spec)  # warm-up: schemas built, pandas paths loaded
    statuses = Counter(v.status for v in verdicts)
    batch = timed(lambda: validate_batch(submissions, spec), args.repeat)
    single = timed(lambda: validate_batch(submissions[:1], spec), args.repeat)
    seconds, one = statistics.median(batch), statistics.median(single)
    result = {
        "returns": len(submissions), "statuses": dict(statuses),
        "issues": sum(len(v.issues) for v in verdicts),
        "batch_s": seconds, "batch_passes_s": batch, "per_return_ms": seconds * 1000 / len(submissions),
        "one_return_s": one, "target_s": 1.0, "target_met": seconds < 1.0 if len(submissions) >= 1000 else None,
    }
    if args.json:
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}))
        return
    print(f"{len(submissions)} returns read once; verdicts {dict(statuses)}; {result['issues']} issues")
    print(f"validate_batch, all in one call: {seconds * 1000:8.1f} ms  ({result['per_return_ms']:.3f} ms per return; "
          f"passes: {', '.join(f'{x * 1000:.0f}' for x in batch)})")
    print(f"validate_batch, one return:      {one * 1000:8.1f} ms  (the fixed cost of a call)")
    if len(submissions) >= 1000:
        print(f"target: 1,000 returns in one batch under 1 s: {'met' if seconds < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
