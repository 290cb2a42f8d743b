"""A round for the desk: sample returns made by the sample generator, a desk app on temporary folders."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pipeline.form.sample import write_samples
from pipeline.run import Paths, consolidate


@pytest.fixture(scope="session")
def returns(tmp_path_factory, spec, registry) -> dict[str, Path]:
    """Agency code → a clean return, and "<code>:bad" → the same agency's return with deliberate mistakes."""
    clean = tmp_path_factory.mktemp("clean")
    bad = tmp_path_factory.mktemp("bad")
    out = {}
    for path, sample in write_samples(spec, registry, clean, count=6, seed=2007):
        out[sample.agency.code] = path
    for path, sample in write_samples(spec, registry, bad, count=6, seed=2007, error_rate=1.0):
        out[f"{sample.agency.code}:bad"] = path
    return out


@pytest.fixture
def paths(tmp_path) -> Paths:
    return Paths(tmp_path / "inbox", tmp_path / "out", tmp_path / "out" / "ledger.sqlite")


@pytest.fixture
def recorded(paths, returns, spec, registry) -> Paths:
    """Two agencies' returns already recorded: the first two of the registry."""
    paths.inbox.mkdir(parents=True)
    for code in [a.code for a in registry.agencies[:2]]:
        shutil.copy(returns[code], paths.inbox)
    consolidate(paths, spec, registry)
    return paths


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]
