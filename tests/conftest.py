"""Shared fixtures: the bundled spec and registry, loaded once per session."""

from __future__ import annotations

import pytest

from pipeline.form.registry import load_registry
from pipeline.form.spec import load_spec


@pytest.fixture(scope="session")
def spec():
    return load_spec()


@pytest.fixture(scope="session")
def registry():
    return load_registry()
