"""What the benchmarks share: a synthetic registry of N agencies and N clean sample returns, cached.

The cache (benchmarks/.cache/, git-ignored; ICTPLAN_BENCH_CACHE names another folder) is keyed by N, the seed and a fingerprint of everything that
decides the files' bytes: the form spec and the source of the template, `_meta`, layout and sample
modules. A change to any of them (a new field, a new `_meta` layout) makes a new cache instead of timing
yesterday's files, which would follow a different (slower or faster) path through the reader.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipeline.form.registry import COLUMNS, Registry, load_registry  # noqa: E402
from pipeline.form.spec import FormSpec, load_spec  # noqa: E402

CACHE = Path(os.environ.get("ICTPLAN_BENCH_CACHE") or Path(__file__).resolve().parent / ".cache")
DONE = "complete"  # written last: a cache interrupted half-way is rebuilt
GENERATOR_SOURCES = ("form/template.py", "form/meta.py", "form/layout.py", "form/sample.py", "form/plausible.py",
                     "form/spec.py")  # what writes the bytes
CHUNK = 250  # agencies per generation task


def fingerprint(spec: FormSpec) -> str:
    """12 hex digits that change whenever the generated workbooks could change."""
    digest = hashlib.sha256(spec.sha256.encode())
    for name in GENERATOR_SOURCES:
        digest.update((ROOT / "pipeline" / name).read_bytes())
    return digest.hexdigest()[:12]


def agency_code(i: int) -> str:
    return f"A{i:04d}"


def write_registry(n: int, path: Path) -> Path:
    """N agencies A0001…, with the columns of workbook_templates/agencies.csv; the groups alternate."""
    groups = (("so", "Khối sở, ban, ngành", "Departments and boards", "SO_BAN_NGANH"),
              ("huyen", "Khối UBND huyện, thị xã, thành phố", "Districts and towns", "UBND_HUYEN"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(1, n + 1):
            group, group_vi, group_en, kind = groups[i % 2]
            writer.writerow([agency_code(i), f"Đơn vị thử nghiệm số {i}", f"Test agency {i}", group, group_vi,
                             group_en, kind, ""])
    return path


def _generate_chunk(registry_path: str, first: int, last: int, seed: int, out: str) -> int:
    """Write the returns of agencies [first, last) into `out` (run in a worker process)."""
    from pipeline.form.sample import MANIFEST, write_samples

    spec, full = load_spec(), load_registry(registry_path)
    chunk = Registry(full.agencies[first:last], registry_path)
    with tempfile.TemporaryDirectory(dir=out) as scratch:
        written = write_samples(spec, chunk, scratch, count=len(chunk.agencies), seed=seed, error_rate=0.0)
        (Path(scratch) / MANIFEST).unlink()  # not a return: kept out of the inbox
        for path, _ in written:
            os.replace(path, Path(out) / path.name)
    return len(written)


def sample_inbox(n: int, seed: int = 2007, *, quiet: bool = False) -> tuple[Path, Path]:
    """(inbox folder holding N clean returns, the registry CSV of their N agencies), generated once.

    `pipeline.form.sample.write_samples` derives each return from the seed and the agency code alone, so
    generating the agencies in chunks on 2 processes gives the same files as one call."""
    spec = load_spec()
    key = f"n{n}-seed{seed}"
    folder = CACHE / f"consolidate-{key}-{fingerprint(spec)}"
    inbox, registry = folder / "inbox", folder / "agencies.csv"
    if (folder / DONE).exists():
        return inbox, registry
    for stale in CACHE.glob(f"consolidate-{key}-*"):  # another fingerprint: out of date
        shutil.rmtree(stale, ignore_errors=True)
    inbox.mkdir(parents=True, exist_ok=True)
    write_registry(n, registry)
    started = time.perf_counter()
    bounds = [(first, min(first + CHUNK, n)) for first in range(0, n, CHUNK)]
    with ProcessPoolExecutor(max_workers=min(2, len(bounds)) or 1) as pool:
        done = sum(pool.map(_generate_chunk, *zip(*[(str(registry), a, b, seed, str(inbox)) for a, b in bounds],
                                                  strict=True)))
    assert done == n == len(list(inbox.glob("*.xlsx"))), (done, n)
    (folder / DONE).write_text(f"{n} returns\n")
    if not quiet:
        print(f"generated {n} returns in {time.perf_counter() - started:.1f} s → {inbox}", file=sys.stderr)
    return inbox, registry


def reference_seconds() -> float:
    """How fast this machine is right now: a fixed pure-Python loop (5 million additions), best of 3. Its
    speed drifts by up to 1.6× within minutes (other tenants), so a figure is read with this one beside it,
    taken before and after the run; ratios measured in one run need no such care."""
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(5_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best


def peak_rss_mb(kilobytes: int) -> float:
    """ru_maxrss is in kilobytes on Linux (bytes on macOS)."""
    return kilobytes / (1024 * 1024 if sys.platform == "darwin" else 1024)


def _mixed_chunk(folder: str, first: int, last: int, seed: int, error_rate: float) -> int:
    """Write returns [first, last) of `mixed_returns` (run in a worker process)."""
    import random

    from pipeline.form.sample import make_sample
    from pipeline.form.template import build_workbook, template_file_name

    spec, registry = load_spec(), load_registry()
    agencies = registry.agencies
    for i in range(first, last):
        agency = agencies[i % len(agencies)]
        mistakes = 1 if random.Random(f"{seed}/{i}/mistakes").random() < error_rate else 0
        sample = make_sample(spec, agency, random.Random(f"{seed}/{i}"), mistakes=mistakes)
        data = build_workbook(spec, agency=agency, values=sample.values, projects=sample.projects,
                              cell_text=sample.cell_text, tables=sample.tables)
        # The agency's code stays a separate token of the name, as in the files sent to agencies.
        (Path(folder) / f"{i:05d}_{template_file_name(spec, agency.code)}").write_bytes(data)
    return last - first


def mixed_returns(n: int, seed: int = 2007, error_rate: float = 0.1, *, quiet: bool = False) -> list[Path]:
    """N sample returns round-robin over the real registry's 41 agencies, a share `error_rate` of them with
    one injected mistake (for the reader and validator benchmarks), generated once."""
    spec = load_spec()
    key = f"returns-seed{seed}-n{n}-err{error_rate:g}"
    folder = CACHE / f"{key}-{fingerprint(spec)}"
    if not (folder / DONE).exists():
        for stale in CACHE.glob(f"{key}*"):
            shutil.rmtree(stale, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        bounds = [(first, min(first + CHUNK, n)) for first in range(0, n, CHUNK)]
        with ProcessPoolExecutor(max_workers=min(2, len(bounds)) or 1) as pool:
            list(pool.map(_mixed_chunk, *zip(*[(str(folder), a, b, seed, error_rate) for a, b in bounds], strict=True)))
        (folder / DONE).write_text(f"{n} files\n")
        if not quiet:
            print(f"generated {n} returns in {time.perf_counter() - started:.1f} s → {folder}", file=sys.stderr)
    return sorted(folder.glob("*.xlsx"))
