"""ictplan: one form spec → templates; inbox → read → validate → ledger → consolidate → summary.

The public API. Functions named like a submodule are imported from it (`pipeline.intake.read.read`,
`pipeline.run.consolidate`): the package attribute of that name is the submodule. Heavy modules (pandas, pandera) load only when their function is first used, so the CLI
starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "build_workbook", "check_files", "load_registry", "load_spec", "validate_batch", "write_templates",
]

_HOMES = {
    "load_spec": "pipeline.form.spec",
    "load_registry": "pipeline.form.registry",
    "build_workbook": "pipeline.form.template",
    "write_templates": "pipeline.form.template",
    "validate_batch": "pipeline.validation.validate",
    "check_files": "pipeline.validation.check",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
