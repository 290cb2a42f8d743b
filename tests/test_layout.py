"""The package's layout is its architecture (docs/architecture.md): foundations, then the stages in the order
data flows through them. A module may import its own stage and those before it, never a later one, so a
change to the summary can never break the reader, and the folder listing tells where a change belongs."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"

# Rank of each top-level name under pipeline/: a module (or a stage's package) sits at one rank.
RANKS = {
    "issues": 0, "i18n": 0, "filenames": 0, "atomic": 0, "parallel": 0, "normalize": 0,  # foundations
    "form": 1, "intake": 2, "validation": 3, "record": 4, "report": 5,
    "run": 6, "cli": 7, "web": 7, "__main__": 7,
}


def _top(module: str) -> str:
    """pipeline.report.summary → report; pipeline.run → run."""
    return module.split(".")[1]


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every pipeline module the file imports, at the top or inside a function."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("pipeline.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "pipeline":  # from pipeline import run, atomic
                found += [(node.lineno, f"pipeline.{a.name}") for a in node.names]
            elif node.module.startswith("pipeline."):
                found.append((node.lineno, node.module))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_every_module_has_a_stage():
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in _modules()}
    assert tops <= set(RANKS), f"place these in a stage (docs/architecture.md): {sorted(tops - set(RANKS))}"


def test_no_module_imports_a_later_stage():
    upward = []
    for path in _modules():
        own = RANKS[path.relative_to(PACKAGE).parts[0].removesuffix(".py")]
        for line, module in _imports(path):
            if RANKS[_top(module)] > own:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
    assert not upward, "imports must point down the stages:\n" + "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path):
    """The walk finds lazy imports inside functions too (the reader importing the summary would be caught)."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from pipeline.report.summary import write_summary\n", encoding="utf-8")
    assert _imports(probe) == [(2, "pipeline.report.summary")]
