"""The `ictplan` command line: a thin client of the library.

Each command parses its options, calls one library function, renders the result (a table, or JSON with
--json) and sets the exit code: 0 done, 1 a return was rejected (`check`) or the run could not complete,
2 usage or configuration errors. Heavy libraries (pandas, pandera, openpyxl) are imported inside the
commands that need them, so `ictplan --help` stays instant.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pipeline.i18n import LANGS, default_lang, t

OUTPUTS = Path("outputs")


class Settings:
    """What every command shares: language, spec and registry (loaded on first use)."""

    def __init__(self, lang: str, spec_path: str | None, registry_path: str | None) -> None:
        self.lang = lang
        self.spec_path = spec_path
        self.registry_path = registry_path
        self._spec: Any = None
        self._registry: Any = None

    @property
    def spec(self) -> Any:
        if self._spec is None:
            from pipeline.spec import SpecError, load_spec

            try:
                self._spec = load_spec(self.spec_path)
            except SpecError as err:
                raise click.UsageError(t("spec.error", self.lang, error=err)) from None
        return self._spec

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from pipeline.registry import RegistryError, load_registry

            try:
                self._registry = load_registry(self.registry_path)
            except RegistryError as err:
                raise click.UsageError(t("registry.error", self.lang, error=err)) from None
        return self._registry


def common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--lang, --spec and --registry on every command, after the command name."""
    command = click.option("--registry", "registry_path", type=click.Path(dir_okay=False),
                           help="Agency registry CSV (default: workbook_templates/agencies.csv).")(command)
    command = click.option("--spec", "spec_path", type=click.Path(dir_okay=False),
                           help="Form spec YAML (default: workbook_templates/form_spec.yaml).")(command)
    command = click.option("--lang", type=click.Choice(LANGS), default=default_lang, show_default="vi",
                           help="Language of messages (or set ICTPLAN_LANG).")(command)
    return command


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ictplan")
def cli() -> None:
    """ictplan: collect, check and consolidate the agencies' IT-application plan returns.

    The form is defined once (workbook_templates/form_spec.yaml); templates, checks and the summary are
    derived from it.
    """


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the whole spec as JSON.")
@common_options
def spec(as_json: bool, lang: str, spec_path: str | None, registry_path: str | None) -> None:
    """Check the form spec and print a summary (or the whole spec as JSON).

    Example: ictplan spec --json > form.json
    """
    s = Settings(lang, spec_path, registry_path).spec
    if as_json:
        echo_json(s.to_json())
        return
    click.echo(t("spec.summary", lang, form_id=s.form_id, version=s.version, round=s.round,
                 fields=sum(1 for f in s.fields.values() if f.is_input),
                 columns=len(s.table.columns) if s.table else 0, rules=len(s.rules)))


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=str(OUTPUTS / "templates"),
              show_default=True, help="Folder for the blank template and the agency copies.")
@common_options
def template(out_dir: str, lang: str, spec_path: str | None, registry_path: str | None) -> None:
    """Write the blank template and one pre-filled copy per agency, ready to e-mail.

    Example: ictplan template --out outputs/templates
    """
    from pipeline.template import write_templates

    s = Settings(lang, spec_path, registry_path)
    paths = write_templates(s.spec, s.registry, Path(out_dir))
    click.echo(t("template.done", lang, count=len(paths), out=out_dir, agencies=len(paths) - 1))


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Folder to write into.")
@click.option("--count", type=click.IntRange(min=1), default=None, help="First N agencies (default: all).")
@click.option("--seed", type=int, default=2007, show_default=True, help="Random seed (same seed, same files).")
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of returns that carry deliberate mistakes (recorded in manifest.json).")
@common_options
def sample(out_dir: str, count: int | None, seed: int, error_rate: float, lang: str, spec_path: str | None,
           registry_path: str | None) -> None:
    """Fill the agency templates with plausible 2007 figures, as agencies would.

    Example: ictplan sample --out inbox --count 41 --error-rate 0.2
    """
    from pipeline.sample import write_samples

    s = Settings(lang, spec_path, registry_path)
    if count is not None and count > len(s.registry.agencies):
        raise click.BadParameter(f"the registry has {len(s.registry.agencies)} agencies", param_hint="--count")
    written = write_samples(s.spec, s.registry, Path(out_dir), count=count, seed=seed, error_rate=error_rate)
    click.echo(t("sample.done", lang, count=len(written), out=out_dir,
                 mistakes=sum(1 for _, r in written if r.mistakes)))


@cli.command()
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of printing.")
@common_options
def rulebook(out_path: str | None, lang: str, spec_path: str | None, registry_path: str | None) -> None:
    """Print every field, rule and issue code as Markdown (the rulebook).

    Example: ictplan rulebook --out docs/rulebook.md
    """
    from pipeline.rulebook import render_rulebook

    text = render_rulebook(Settings(lang, spec_path, registry_path).spec)
    if out_path:
        Path(out_path).write_text(text, encoding="utf-8")
        click.echo(t("rulebook.done", lang, path=out_path))
    else:
        click.echo(text)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the codes as JSON.")
@common_options
def codes(as_json: bool, lang: str, spec_path: str | None, registry_path: str | None) -> None:
    """List every issue code with its severity and message."""
    from pipeline.issues import CATALOGUE

    if as_json:
        echo_json({code: {"severity": str(d.severity), "name": d.name, "vi": d.vi, "en": d.en}
                   for code, d in CATALOGUE.items()})
        return
    for code, detail in CATALOGUE.items():
        click.echo(f"{code:32} {detail.severity:8} {detail.vi if lang == 'vi' else detail.en}")


def main() -> None:
    cli(prog_name="ictplan")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
