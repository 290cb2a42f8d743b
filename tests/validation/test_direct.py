"""One return validated on the fast path (validation/direct.py: the checks called without pandera) gets
exactly the issues the batch path (pandera) gives it — codes, severities, sheets, cells, values, messages
and their order — over returns with deliberate mistakes (`ictplan sample`'s, listed in its manifest), a
form sent back blank, the files real programs wrote (tests/data) and hostile files; and the fast path
hands over to pandera whenever it cannot vouch for the same result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hostile
import pandas as pd
import pandera.pandas as pa
import pytest

from pipeline.form.sample import MANIFEST, write_samples
from pipeline.form.template import build_workbook
from pipeline.validation import direct, schemas
from pipeline.validation.check import read_one
from pipeline.validation.validate import REJECTED, Verdict, validate_batch

DATA = Path(__file__).resolve().parent.parent / "data"
WORKBOOKS = {".xlsx", ".xls", ".ods", ".fods", ".xml"}


def shown(verdict: Verdict) -> tuple[str, list[dict[str, Any]]]:
    return verdict.status, [{**i.to_dict(), "vi": i.message("vi"), "en": i.message("en")} for i in verdict.issues]


@pytest.fixture(scope="module")
def corpus(spec, registry, tmp_path_factory) -> tuple[list[Any], dict[str, Any]]:
    folder = tmp_path_factory.mktemp("corpus")
    write_samples(spec, registry, folder, seed=1811, error_rate=1.0)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    (folder / "sent-back-blank.xlsx").write_bytes(build_workbook(spec, agency=registry.agencies[0]))
    for name, data in (("html.xlsx", hostile.html_as_xlsx()), ("truncated.xlsx", hostile.truncated_xlsx()),
                       ("empty.xls", hostile.empty())):
        (folder / name).write_bytes(data)
    real = sorted(p for p in DATA.rglob("*") if p.suffix.lower() in WORKBOOKS)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in WORKBOOKS) + real
    return [read_one(p, spec, registry) for p in files], manifest


@pytest.fixture
def gave_up(monkeypatch) -> list[str]:
    """The frames the fast path handed over to pandera."""
    given: list[str] = []
    original = direct.failure_cases

    def spy(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame | None:
        cases = original(schema, frame)
        if cases is None:
            given.append(str(schema.name))
        return cases

    monkeypatch.setattr(direct, "failure_cases", spy)
    return given


def test_one_return_on_the_fast_path_gets_the_issues_the_batch_gives_it(spec, corpus, gave_up):
    submissions, manifest = corpus
    batch = validate_batch(submissions, spec)  # many readable returns: pandera, one call per frame
    assert not gave_up  # nothing asked of the fast path yet
    for submission, in_batch in zip(submissions, batch, strict=True):
        [alone] = validate_batch([submission], spec)
        assert shown(alone) == shown(in_batch), submission.file
    assert not gave_up  # every frame of every return was checked on the fast path

    # The corpus holds what it should: every sample return carries the mistakes its manifest lists, the
    # blank form its required cells, the hostile files their refusals, and the real programs' files read.
    by_file = {s.file: v for s, v in zip(submissions, batch, strict=True)}
    for entry in manifest["files"]:
        found = {(i.code, i.cell) for i in by_file[entry["file"]].issues}
        assert entry["mistakes"] and all((m["code"], m["cell"]) in found for m in entry["mistakes"]
                                         if m["code"] and m["cell"]), entry
    assert sum(i.code == "RULE_REQUIRED" for i in by_file["sent-back-blank.xlsx"].issues) > 20
    assert all(by_file[name].status == REJECTED for name in ("html.xlsx", "truncated.xlsx", "empty.xls"))
    assert sum(s.readable for s in submissions) >= len(manifest["files"]) + 10


def test_forcing_pandera_on_one_return_changes_nothing(spec, corpus):
    submissions, _ = corpus
    for submission in submissions[:12]:
        [fast] = validate_batch([submission], spec)
        [slow] = validate_batch([submission], spec, direct=False)
        assert shown(fast) == shown(slow), submission.file


@pytest.mark.parametrize("broken, handed_over", [
    (lambda rule, frame: 1 / 0, []),  # raises on the return's row: the crash is the fast path's own business
    (lambda rule, frame: [True] * len(frame), ["return"]),  # not a Series: the check breaks outside the rows
])
def test_a_broken_rule_is_reported_as_the_batch_path_reports_it(spec, corpus, gave_up, monkeypatch, broken,
                                                                handed_over):
    """SYS_INTERNAL_ERROR with the same reason, every other issue unchanged; the fast path hands the frame
    over to pandera when the failure is not one it can place on the return's row."""
    submission = next(s for s in corpus[0] if s.readable)
    first = spec.rules_for("return")[0].id
    original = schemas.rule_outcome
    monkeypatch.setattr(schemas, "rule_outcome",
                        lambda rule, frame: broken(rule, frame) if rule.id == first else original(rule, frame))
    [fast] = validate_batch([submission], spec)
    [slow] = validate_batch([submission], spec, direct=False)
    assert gave_up == handed_over
    assert shown(fast) == shown(slow)
    assert [i.code for i in fast.issues].count("SYS_INTERNAL_ERROR") == 1


def test_a_frame_not_as_the_schema_expects_is_left_to_pandera(spec, corpus, gave_up):
    """A column of another dtype (a bug in building the frame) is pandera's to report, not the fast path's."""
    submission = next(s for s in corpus[0] if s.readable)
    frame = schemas.return_frame([submission], spec)
    first_number = next(f.id for f in spec.fields.values() if schemas.dtype_of(f) == schemas.FLOAT)
    frame[first_number] = frame[first_number].astype(object)
    assert direct.failure_cases(schemas.return_schema(spec), frame) is None
    assert direct.failure_cases(schemas.return_schema(spec), frame.drop(columns=[first_number])) is None
    assert gave_up == ["return", "return"]
