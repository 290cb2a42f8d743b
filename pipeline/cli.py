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
        """The spec of --spec, or of --round (the bundled spec of that round), or the bundled form spec."""
        if self._spec is None:
            from pipeline.form.spec import SpecError, load_spec, spec_for_round

            round_ = chosen_round()
            try:
                path = self.spec_path or (spec_for_round(round_) if round_ else None)
                self._spec = load_spec(path)
            except SpecError as err:
                raise click.UsageError(t("spec.error", self.lang, error=err)) from None
            if round_ and self._spec.round != round_:
                raise click.UsageError(t("round.other_spec", self.lang, spec=path, found=self._spec.round,
                                         round=round_))
        return self._spec

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from pipeline.form.registry import RegistryError, load_registry

            try:
                self._registry = load_registry(self.registry_path)
            except RegistryError as err:
                raise click.UsageError(t("registry.error", self.lang, error=err)) from None
        return self._registry


ROUND_KEY = "ictplan.round"


def chosen_round() -> str | None:
    """The --round of the command being run, if one was given."""
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.meta.get(ROUND_KEY):
            return str(ctx.meta[ROUND_KEY])
        ctx = ctx.parent
    return None


def _remember_round(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.meta[ROUND_KEY] = value


def common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--lang, --round, --spec and --registry on every command, after the command name."""
    command = click.option("--round", "round_", expose_value=False, callback=_remember_round,
                           help="The reporting round (its bundled spec, e.g. 2007-2010 or 2008; default: the "
                                "spec's round).")(command)
    command = click.option("--registry", "registry_path", type=click.Path(dir_okay=False),
                           help="Agency registry CSV (default: workbook_templates/agencies.csv).")(command)
    command = click.option("--spec", "spec_path", type=click.Path(dir_okay=False),
                           help="Form spec YAML (default: workbook_templates/form_spec.yaml).")(command)
    command = click.option("--lang", type=click.Choice(LANGS), default=default_lang, show_default="vi",
                           help="Language of messages (or set ICTPLAN_LANG).")(command)
    return command


def round_folders(command: Callable[..., Any]) -> Callable[..., Any]:
    """--inbox, --out and --db: the folders of a round, for the commands that take in and record returns."""
    command = click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None,
                           help="Ledger file (default: <out>/ledger.sqlite).")(command)
    command = click.option("--out", "out_dir", type=click.Path(file_okay=False), default=str(OUTPUTS),
                           show_default=True)(command)
    return click.option("--inbox", "inbox_dir", type=click.Path(file_okay=False), default="inbox",
                        show_default=True)(command)


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
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None,
              help="A report on a plan (--round 2008): the ledger whose accepted plan returns pre-fill each "
                   "agency's copy (default: outputs/ledger.sqlite when it exists).")
@common_options
def template(out_dir: str, db_path: str | None, lang: str, spec_path: str | None, registry_path: str | None) -> None:
    """Write the blank template and one pre-filled copy per agency, ready to e-mail. A report on a plan
    (--round 2008) pre-fills each agency's copy from its accepted plan return, marked for checking.

    Example: ictplan template --out outputs/templates
    """
    from pipeline.form.template import write_templates

    s = Settings(lang, spec_path, registry_path)
    db = Path(db_path) if db_path else OUTPUTS / "ledger.sqlite"
    if s.spec.form.get("plan_round") and (db_path or db.exists()):
        from pipeline.form.carry_forward import write_carried_templates
        from pipeline.form.spec import plan_spec_of
        from pipeline.record.ledger import LedgerError
        from pipeline.run import previous_returns

        if not db.exists():
            raise click.BadParameter(t("file.missing", lang, path=str(db)), param_hint="--db")
        plan = plan_spec_of(s.spec)
        try:
            previous = previous_returns(db, plan, s.registry)
        except LedgerError as err:
            click.echo(t("consolidate.failed", lang, error=err), err=True)
            sys.exit(1)
        paths, filled = write_carried_templates(s.spec, plan, s.registry, Path(out_dir), previous)
        click.echo(t("template.done", lang, count=len(paths), out=out_dir, agencies=len(paths) - 1))
        click.echo(t("template.carried", lang, n=len(filled), round=plan.round))
        return
    paths = write_templates(s.spec, s.registry, Path(out_dir))
    click.echo(t("template.done", lang, count=len(paths), out=out_dir, agencies=len(paths) - 1))


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Folder to write into.")
@click.option("--count", type=click.IntRange(min=1), default=None, help="First N agencies (default: all).")
@click.option("--seed", type=int, default=2007, show_default=True, help="Random seed (same seed, same files).")
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of returns that carry deliberate mistakes (recorded in manifest.json).")
@click.option("--plan-seed", type=int, default=2007, show_default=True,
              help="A report on a plan (--round 2008): the seed of the plan round's samples it reports on.")
@common_options
def sample(out_dir: str, count: int | None, seed: int, error_rate: float, plan_seed: int, lang: str,
           spec_path: str | None, registry_path: str | None) -> None:
    """Fill the agency templates with plausible figures, as agencies would: the 2007 plans, or (--round 2008)
    the 2008 reports on the plans the same --plan-seed made, some targets reached and some not.

    Example: ictplan sample --out inbox --count 41 --error-rate 0.2
    """
    from pipeline.form.sample import write_samples
    from pipeline.form.sample_results import write_results

    s = Settings(lang, spec_path, registry_path)
    expected = len(s.registry.of_round(s.spec).agencies)
    if count is not None and count > expected:
        raise click.BadParameter(f"round {s.spec.round} expects {expected} agencies", param_hint="--count")
    if s.spec.form.get("plan_round"):
        written = write_results(s.spec, s.registry, Path(out_dir), count=count, seed=seed, plan_seed=plan_seed,
                                error_rate=error_rate)
    else:
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
    from pipeline.form.rulebook import render_rulebook

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
    click.echo(t("codes.heading", lang))
    for code, detail in CATALOGUE.items():
        click.echo(f"{code:32} {detail.severity:8} {detail.vi if lang == 'vi' else detail.en}")


def _rows_of_issues(issues: list, lang: str, limit: int = 3) -> str:
    shown = [i.message(lang) for i in issues if i.severity != "info"][:limit]
    more = sum(1 for i in issues if i.severity != "info") - len(shown)
    return "\n".join(shown + ([f"(+{more})"] if more > 0 else []))


def _status_word(status: str, lang: str) -> str:
    return t(f"status.{status}", lang)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print every issue as JSON.")
@click.option("--feedback", "feedback_dir", type=click.Path(file_okay=False), default=None,
              help="Write a feedback workbook for each file with issues into this folder.")
@common_options
def check(files: tuple[str, ...], as_json: bool, feedback_dir: str | None, lang: str, spec_path: str | None,
          registry_path: str | None) -> None:
    """Check returns without recording anything; exit 1 if any is rejected.

    Example: ictplan check inbox/*.xlsx --feedback outputs/feedback
    """
    from pipeline.validation.check import check_files

    s = Settings(lang, spec_path, registry_path)
    for name in files:
        if not Path(name).exists():
            raise click.BadParameter(t("file.missing", lang, path=name), param_hint="FILES")
    verdicts = check_files(files, s.spec, s.registry)
    written = _check_feedback(verdicts, s, Path(feedback_dir)) if feedback_dir else {}
    if as_json:
        echo_json([{"file": v.submission.file, "agency": v.submission.agency_code, "status": v.status,
                    "errors": _count(v.issues, "error"), "warnings": _count(v.issues, "warning"),
                    "feedback": written.get(v.submission.file),
                    "issues": [i.to_dict() for i in v.issues]} for v in verdicts])
    else:
        from rich.console import Console

        console = Console()
        if console.width >= WIDE_TABLE:
            console.print(_check_table(verdicts, lang))
        else:
            _print_check_blocks(console, verdicts, lang)
        for path in written.values():
            console.print(t("feedback.written", lang, path=path), markup=False)
    sys.exit(1 if any(v.status == "rejected" for v in verdicts) else 0)


WIDE_TABLE = 120  # columns from which `check` prints a table; below, its issues column would hold a word a line


def _check_table(verdicts: list, lang: str) -> Any:
    from rich.table import Table

    table = Table(title=t("check.heading", lang), show_lines=True)
    for key in ("col.file", "col.agency", "col.status", "col.errors", "col.warnings", "col.first"):
        table.add_column(t(key, lang), overflow="fold")
    for v in verdicts:
        table.add_row(v.submission.file, v.submission.agency_code or "?", _status_word(v.status, lang),
                      str(_count(v.issues, "error")), str(_count(v.issues, "warning")),
                      _rows_of_issues(v.issues, lang))
    return table


def _print_check_blocks(console: Any, verdicts: list, lang: str) -> None:
    """One block a file, for a narrow terminal: its result on one line, then its first issues, indented."""
    console.print(t("check.heading", lang), style="bold", markup=False)
    for v in verdicts:
        console.print(t("check.block", lang, file=v.submission.file, agency=v.submission.agency_code or "?",
                        status=_status_word(v.status, lang), errors=_count(v.issues, "error"),
                        warnings=_count(v.issues, "warning")), markup=False)
        shown = _rows_of_issues(v.issues, lang)
        if shown:
            console.print("  " + shown.replace("\n", "\n  "), markup=False)


def _when(moment: Any) -> str:
    """A time as Vietnamese readers write it: 15/10/2007 09:30 ('' for none)."""
    return moment.strftime("%d/%m/%Y %H:%M") if moment else ""


def _count(issues: list, severity: str) -> int:
    return sum(1 for i in issues if i.severity == severity)


def _check_feedback(verdicts: list, s: Settings, folder: Path) -> dict[str, str]:
    from pipeline.report.feedback import feedback_for_file

    written = {}
    for v in verdicts:
        if v.submission.path and any(i.severity != "info" for i in v.issues):
            path = feedback_for_file(Path(v.submission.path), v.submission, v.issues, s.spec, folder,
                                     registry=s.registry)
            if path is not None:
                written[v.submission.file] = str(path)
    return written


@cli.command()
@round_folders
@click.option("--dry-run", is_flag=True, help="Check and report, record and write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole run as JSON.")
@common_options
def consolidate(inbox_dir: str, out_dir: str, db_path: str | None, dry_run: bool, as_json: bool, lang: str,
                spec_path: str | None, registry_path: str | None) -> None:
    """Record every new return in the inbox and rebuild the summary workbook and exports.

    Exit 0 when the run completed (even with rejected returns), 1 when it could not.
    Example: ictplan consolidate --inbox inbox --out outputs
    """
    from pipeline.record.ledger import LedgerError
    from pipeline.record.lock import LockHeld
    from pipeline.run import Paths, RunFailed, list_inbox, summary_name
    from pipeline.run import consolidate as run_consolidation

    s = Settings(lang, spec_path, registry_path)
    if not Path(inbox_dir).is_dir():
        raise click.BadParameter(t("folder.missing", lang, path=inbox_dir), param_hint="--inbox")
    paths = Paths(Path(inbox_dir), Path(out_dir), Path(db_path) if db_path else Path(out_dir) / "ledger.sqlite")
    spec_, registry_ = s.spec, s.registry
    try:
        if as_json:
            report = run_consolidation(paths, spec_, registry_, dry_run=dry_run)
        else:
            report = _with_progress(lambda progress: run_consolidation(
                paths, spec_, registry_, dry_run=dry_run, progress=progress), len(list_inbox(paths.inbox)), lang)
    except LockHeld as held:
        click.echo(t("consolidate.locked", lang, pid=str(held.holder.pid), host=held.holder.host,
                     since=held.holder.since), err=True)
        sys.exit(1)
    except (LedgerError, RunFailed) as err:
        click.echo(t("consolidate.failed", lang, error=err), err=True)
        sys.exit(1)
    if as_json:
        echo_json(report.to_dict())
        return
    _print_run(report, lang)
    written = report.outputs.get("summary")
    if written and Path(written).name != summary_name(spec_):
        click.echo(t("consolidate.fallback", lang, target=summary_name(spec_), path=written))


def _with_progress(job: Callable[[Callable[[str], None]], Any], total: int, lang: str) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(t("consolidate.progress", lang), total=total)
        return job(lambda _name: bar.advance(task))


def _print_run(report: Any, lang: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from pipeline.filenames import EXCEL_PATH_LIMIT, fits_excel

    console = Console()
    if report.stale_lock is not None:
        h = report.stale_lock
        console.print(t("consolidate.stale_lock", lang, pid=str(h.pid), host=h.host, since=h.since))
    if report.ledger_on_network_share:
        console.print(t("consolidate.network_share", lang))
    if report.dry_run:
        console.print(t("consolidate.dry_run", lang))
    table = Table(title=t("consolidate.summary", lang))
    table.add_column(t("col.status", lang))
    table.add_column(t("col.count", lang), justify="right")
    for key, value in report.counts.items():
        table.add_row(t("count.received", lang) if key == "received" else _status_word(key, lang), str(value))
    console.print(table)
    problems = [f for f in report.files if f.status in ("rejected", "quarantined", "unreadable", "other_round")]
    for result in problems:
        console.print(f"[bold]{result.name}[/bold] ({result.agency or '?'}): {_status_word(result.status, lang)}")
        console.print("  " + _rows_of_issues(result.issues, lang).replace("\n", "\n  "))
    if report.outputs:
        console.print(t("consolidate.outputs", lang) + ":")
        for path in report.outputs.values():
            console.print(f"  {path}")
            if Path(path).suffix in (".xlsx", ".xls", ".csv") and not fits_excel(Path(path)):  # what Excel opens
                console.print("  " + t("consolidate.too_long", lang, limit=EXCEL_PATH_LIMIT))


DEMO_SEED, DEMO_ERROR_RATE = 2007, 0.15  # 41 returns, 4 of them with the sample generator's deliberate mistakes


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=str(OUTPUTS / "demo"),
              show_default=True, help="Folder for the whole demo: templates/, inbox/, the ledger and the outputs.")
@common_options
@click.pass_context
def demo(ctx: click.Context, out_dir: str, lang: str, spec_path: str | None, registry_path: str | None) -> None:
    """What `make demo` does, without make (Windows has none): the templates, 41 sample returns (15% with
    deliberate mistakes, listed in inbox/manifest.json), then their consolidation, all in one folder; then
    PDF copies of the summary's print set and of the draft report where LibreOffice is installed; last, the
    next round in the same ledger: the 2008 reports on those plans (templates, samples with mistakes, their
    summary with the plan against the result), in the folder 2008/.

    Example: ictplan demo --out "D:\\Thử ictplan"
    """
    out, shared = Path(out_dir), {"lang": lang, "spec_path": spec_path, "registry_path": registry_path}
    ctx.invoke(template, out_dir=str(out / "templates"), **shared)
    ctx.invoke(sample, out_dir=str(out / "inbox"), seed=DEMO_SEED, error_rate=DEMO_ERROR_RATE, **shared)
    ctx.invoke(consolidate, inbox_dir=str(out / "inbox"), out_dir=str(out), db_path=str(out / "ledger.sqlite"),
               **shared)
    # the draft report again (consolidate wrote it) with PDF copies of it and of the print set, to look at
    ctx.invoke(report, out_dir=str(out), db_path=str(out / "ledger.sqlite"), as_pdf=True, **shared)
    # The next round in the same ledger: each report on this plan (the 2008 report), in a folder of its own.
    from pipeline.form.spec import reports_on

    plan = Settings(lang, spec_path, registry_path).spec
    for report_spec in reports_on(plan):
        folder, on = out / report_spec.round, {**shared, "spec_path": report_spec.path}
        ctx.invoke(template, out_dir=str(folder / "templates"), db_path=str(out / "ledger.sqlite"), **on)
        ctx.invoke(sample, out_dir=str(folder / "inbox"), seed=DEMO_SEED, plan_seed=DEMO_SEED,
                   error_rate=DEMO_ERROR_RATE, **on)
        ctx.invoke(consolidate, inbox_dir=str(folder / "inbox"), out_dir=str(folder),
                   db_path=str(out / "ledger.sqlite"), **on)
    click.echo(t("demo.done", lang, out=out.absolute()))


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=str(OUTPUTS), show_default=True)
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None,
              help="Ledger file (default: <out>/ledger.sqlite).")
@click.option("--pdf", "as_pdf", is_flag=True,
              help="Also convert the report and the summary workbook to PDF (needs LibreOffice).")
@common_options
def report(out_dir: str, db_path: str | None, as_pdf: bool, lang: str, spec_path: str | None,
           registry_path: str | None) -> None:
    """Write the draft provincial report (.docx) of a round already consolidated, from the ledger alone.

    Example: ictplan report --out outputs --pdf
    """
    from pipeline.record.ledger import LedgerError
    from pipeline.run import RunFailed, summary_name, write_draft_report

    s = Settings(lang, spec_path, registry_path)
    out = Path(out_dir)
    try:
        written = write_draft_report(Path(db_path) if db_path else out / "ledger.sqlite", out, s.spec, s.registry)
    except (LedgerError, RunFailed) as err:
        click.echo(t("report.failed", lang, error=err), err=True)
        sys.exit(1)
    click.echo(t("report.written", lang, path=written))
    if not as_pdf:
        return
    from pipeline.report.pdf import page_count, soffice, to_pdf

    if soffice() is None:
        click.echo(t("pdf.absent", lang))
        return
    for source in (out / summary_name(s.spec), written):
        pdf = to_pdf(source) if source.exists() else None
        if pdf is None:
            click.echo(t("pdf.failed", lang, path=source))
        else:
            click.echo(t("pdf.written", lang, path=pdf, pages=page_count(pdf)))


@cli.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=str(OUTPUTS / "rollup"), show_default=True)
@click.option("--expected", type=click.IntRange(min=1), default=None,
              help="Provinces that should report: the m of \"n/m tỉnh\" (default: the folders taken).")
@click.option("--json", "as_json", is_flag=True, help="Print the provinces taken and refused, and the files, as JSON.")
@common_options
def rollup(folders: tuple[str, ...], out_dir: str, expected: int | None, as_json: bool, lang: str,
           spec_path: str | None, registry_path: str | None) -> None:
    """Roll the provinces' consolidations up to the nation, from each province's output folder (its data/).

    Exit 0 when the national summary was written (refused folders are listed), 1 when no folder could be taken.
    Example: ictplan rollup tinh/*/ --out outputs/toan_quoc --expected 63
    """
    from pipeline.report.rollup import build_rollup, write_rollup

    s = Settings(lang, spec_path, registry_path)
    result = build_rollup(s.spec, [Path(f) for f in folders], expected=expected)
    written = write_rollup(result, Path(out_dir)) if result.provinces else []
    if as_json:
        echo_json({"provinces": [p.name for p in result.provinces], "expected": result.expected,
                   "refused": [i.to_dict() for i in result.refused], "outputs": [str(p) for p in written]})
    else:
        for refused in result.refused:
            click.echo(refused.message(lang), err=True)
        if written:
            click.echo(t("rollup.done", lang, n=len(result.provinces), m=result.expected,
                         refused=len(result.refused)))
            for path in written:
                click.echo(f"  {path}")
    if not written:
        click.echo(t("rollup.none", lang), err=True)
        rounds = {i.context.get("found_round") for i in result.refused if i.code == "ROLLUP_OTHER_FORM"}
        if len(rounds) == 1 and None not in rounds and rounds != {s.spec.round}:  # every one of another round
            click.echo(t("rollup.try_round", lang, round=rounds.pop()), err=True)
        sys.exit(1)


@cli.command()
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=str(OUTPUTS / "ledger.sqlite"),
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print every agency's state and returns as JSON.")
@click.option("--missing", is_flag=True,
              help="Only the agencies not received or not yet valid, each with a reminder ready to send.")
@common_options
def status(db_path: str, as_json: bool, missing: bool, lang: str, spec_path: str | None,
           registry_path: str | None) -> None:
    """Show every agency's state this round, its latest file and its issues, from the ledger.

    Example: ictplan status --db outputs/ledger.sqlite --missing
    """
    s = Settings(lang, spec_path, registry_path)
    if missing:
        _print_to_do(*_from_ledger(db_path, lang, _to_do_list(s, lang)), as_json, lang)
        return
    state = _from_ledger(db_path, lang, _round_status(s))
    if as_json:
        echo_json(state.to_dict())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=t("status.heading", lang, round=s.spec.round))
    for key in ("col.agency", "col.state", "col.file", "col.received", "col.errors", "col.warnings"):
        table.add_column(t(key, lang), overflow="fold")
    for a in state.agencies:
        latest = a.latest
        file = latest.file if latest else ""
        if latest and latest.feedback:
            file += "\n" + t("status.feedback", lang, path=latest.feedback)
        when = f"{_when(latest.received_at)}\n{t('status.recorded', lang, when=_when(latest.recorded_at))}" \
            if latest else ""
        table.add_row(f"{a.code} — {a.agency.name(lang)}", _state_text(a, lang), file, when,
                      str(latest.errors) if latest else "", str(latest.warnings) if latest else "",
                      style="red" if a.needs_action else None)
    console = Console()
    if len(state.rounds) > 1 or any(r["round"] != state.round for r in state.rounds):
        console.print(_rounds_table(state, lang))  # the ledger holds several rounds: each, and which is shown
    console.print(table)
    console.print(_totals_text(state, lang))


def _rounds_table(state: Any, lang: str) -> Any:
    from rich.table import Table

    rounds = Table(title=t("status.rounds", lang))
    for key in ("col.form", "col.round", "col.files", "col.counted"):
        rounds.add_column(t(key, lang))
    for r in state.rounds:
        rounds.add_row(str(r["form_id"] or ""), str(r["round"] or ""), str(r["files"]), str(r["counted"] or 0),
                       style="bold" if r["round"] == state.round else None)
    return rounds


def _round_status(s: Settings) -> Callable[[Any], Any]:
    from pipeline.report.status import round_status

    return lambda ledger: round_status(ledger, s.spec, s.registry)


def _to_do_list(s: Settings, lang: str) -> Callable[[Any], Any]:
    from pipeline.report.reminders import to_do_list

    return lambda ledger: to_do_list(ledger, s.spec, s.registry, lang=lang)


def _from_ledger(db_path: str, lang: str, query: Callable[[Any], Any]) -> Any:
    """`query(ledger)` on an existing ledger; a ledger that cannot be read ends the command (exit 1)."""
    from pipeline.record.ledger import Ledger, LedgerError

    if not Path(db_path).exists():  # opening it would create an empty ledger
        raise click.BadParameter(t("file.missing", lang, path=db_path), param_hint="--db")
    try:
        with Ledger(db_path) as ledger:
            return query(ledger)
    except LedgerError as err:
        click.echo(t("consolidate.failed", lang, error=err), err=True)
        sys.exit(1)


def _print_to_do(state: Any, reminders: list[Any], as_json: bool, lang: str) -> None:
    """One plain-text block per agency, ready to paste into a reminder (or all of it as JSON)."""
    if as_json:
        echo_json(state.to_dict() | {"agencies": [r.to_dict() for r in reminders]})
        return
    pending = sum(r.agency.pending is not None for r in reminders)
    counts = state.counts()
    click.echo(t("todo.heading", lang, n=len(reminders), missing=counts["missing"], not_valid=counts["not_valid"],
                 pending=pending, today=state.today.strftime("%d/%m/%Y")))
    for reminder in reminders:
        click.echo("\n" + "-" * 72 + f"\n{reminder.agency.code}\n" + "-" * 72)
        click.echo(reminder.text)
    if state.unattributed:  # the department's own work: find out who sent them
        click.echo("\n" + t("status.unattributed", lang, n=len(state.unattributed)))
        for r in state.unattributed:
            click.echo(f"  {r.file} ({_when(r.received_at)}): {_status_word(r.status, lang)}")


def _state_text(a: Any, lang: str) -> str:
    """The agency's state, and what is pending beyond it (a refused newer file, files it replaced)."""
    parts = [a.label(lang)]
    if a.pending is not None:
        parts.append(t("status.pending", lang, status=_status_word(a.pending.status, lang)))
    if a.superseded:
        parts.append(t("status.replaced", lang, n=a.superseded))
    return "; ".join(parts)


def _totals_text(state: Any, lang: str) -> str:
    counts = state.counts()
    text = t("status.totals", lang, **counts, valid_all=counts["valid"] + counts["valid_with_warnings"])
    if state.deadline_key is not None:
        text += " " + t(state.deadline_key, lang, deadline=state.deadline.strftime("%d/%m/%Y"),
                        days=abs(state.days_to_deadline))
    if state.unattributed:
        text += " " + t("status.unattributed", lang, n=len(state.unattributed))
    return text


@cli.command()
@round_folders
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on; any other than this PC's own needs the staff password.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--set-password", is_flag=True, help="Set the staff password (asked twice), then stop.")
@common_options
def serve(inbox_dir: str, out_dir: str, db_path: str | None, host: str, port: int, set_password: bool, lang: str,
          spec_path: str | None, registry_path: str | None) -> None:
    """Serve the department's desk in a browser: status board, upload, self-check, consolidation.

    Example: ictplan serve --inbox inbox --out outputs   (then open http://127.0.0.1:8000)
    """
    from pipeline.run import Paths
    from pipeline.web.messages import word
    from pipeline.web.server import ServeError, make_app, password_path, serve_app

    paths = Paths(Path(inbox_dir), Path(out_dir), Path(db_path) if db_path else Path(out_dir) / "ledger.sqlite")
    if set_password:
        from pipeline.web.security import PasswordError, store_password

        password = click.prompt(word("serve.password", lang), hide_input=True, confirmation_prompt=True)
        try:
            store_password(password_path(paths.db), password)
        except PasswordError as err:
            raise click.BadParameter(word("serve.password_short", lang, minimum=err.minimum)) from None
        click.echo(word("serve.password_set", lang, path=password_path(paths.db)))
        return
    s = Settings(lang, spec_path, registry_path)
    try:
        app = make_app(s.spec, s.registry, paths, host=host, lang=lang)
    except ServeError:
        raise click.UsageError(word("serve.needs_password", lang, host=host)) from None
    click.echo(word("serve.started", lang, url=f"http://{'[' + host + ']' if ':' in host else host}:{port}/",
                 inbox=paths.inbox, out=paths.out))
    serve_app(app, host, port)


def main() -> None:
    """The `ictplan` command. Once a command is done and its output flushed, the process ends without the
    interpreter's teardown: freeing every object and unloading pandas and numpy takes ~0.3 s after a large
    run (a tenth of a re-run), and nothing is left to do by then — the ledger is closed, every output was
    replaced atomically, the worker processes are gone. Click's own exit code is kept."""
    import os

    _utf8_output()
    try:
        cli(prog_name="ictplan")
        code = 0
    except SystemExit as done:
        code = _exit_code(done.code)
    except PermissionError as refused:  # a template or sample open in Excel (consolidate's outputs fall back)
        # os.replace names the temporary file first, the target second
        click.echo(t("file.locked", _lang_of_command_line(), path=refused.filename2 or refused.filename), err=True)
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # output into a closed pipe (`| head`): what is left cannot be shown anyway
        code = code or 1
    os._exit(code)


def _lang_of_command_line() -> str:
    """--lang's value, for a message given once the command has ended."""
    args = sys.argv[1:]
    given = args[args.index("--lang") + 1] if "--lang" in args[:-1] else None
    return given if given in LANGS else default_lang()


def _utf8_output() -> None:
    """On Windows, output sent to a file or a pipe (`ictplan consolidate > nhat_ky.txt`) is encoded in the ANSI
    code page, cp1252 or cp1258, which cannot encode most Vietnamese letters: the command would stop with
    UnicodeEncodeError at the first "Tóm tắt". Write UTF-8 there (the console itself is Unicode already)."""
    if sys.platform == "win32":
        for stream in (sys.stdout, sys.stderr):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None and (stream.encoding or "").lower().replace("-", "") != "utf8":
                reconfigure(encoding="utf-8")


def _exit_code(code: object) -> int:
    """sys.exit's rules: None is success, an int is itself, anything else is printed and means failure."""
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
