"""The docs stay true: every CLI command is in the README and has help; the rulebook matches the spec."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.form.rulebook import render_rulebook

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_is_documented_and_has_help(command):
    assert f"ictplan {command}" in (ROOT / "README.md").read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output and "--lang" in result.output


def test_rulebook_is_up_to_date(spec):
    """docs/rulebook.md is generated: regenerate with `ictplan rulebook --out docs/rulebook.md`."""
    assert (ROOT / "docs" / "rulebook.md").read_text(encoding="utf-8") == render_rulebook(spec)


def test_quick_start_is_the_two_make_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
