"""ictplan: one form spec → templates; inbox → read → validate → ledger → consolidate → summary.

The public API. Heavy modules (pandas, pandera) load only when their function is first used, so the CLI
starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "build_workbook", "check_files", "consolidate", "load_registry", "load_spec", "read", "validate_batch",
    "write_templates",
]

_HOMES = {
    "load_spec": "pipeline.spec",
    "load_registry": "pipeline.registry",
    "build_workbook": "pipeline.template",
    "write_templates": "pipeline.template",
    "read": "pipeline.read",
    "validate_batch": "pipeline.validate",
    "check_files": "pipeline.check",
    "consolidate": "pipeline.run",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
