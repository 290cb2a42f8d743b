"""Check returns without recording anything: read every file, validate them all in one batch.

This is what `ictplan check` runs for an agency before it sends its file, and what the consolidation runs
on every new file of the inbox. Nothing here writes: the agency's file is only read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from pipeline.form.registry import Registry
from pipeline.form.spec import FormSpec
from pipeline.intake.submission import Submission
from pipeline.issues import issue


def read_one(path: Path, spec: FormSpec, registry: Registry, *, data: bytes | None = None) -> Submission:
    """Read one file into a Submission; an unreadable file becomes a Submission with FILE_UNREADABLE."""
    from pipeline.intake.read import read

    if data is None:
        try:
            data = path.read_bytes()
        except OSError as err:
            return Submission(file=path.name, path=str(path), issues=[issue(
                "FILE_UNREADABLE", file=path.name, context={"reason": err.strerror or type(err).__name__})])
    submission = read(data, name=path.name, spec=spec, registry=registry)
    submission.path = str(path)
    return submission


def check_files(paths: Iterable[str | os.PathLike[str]], spec: FormSpec, registry: Registry) -> list:
    """Read and validate files; returns one Verdict per file, in the given order."""
    from pipeline.validation.validate import validate_batch

    submissions = [read_one(Path(p), spec, registry) for p in paths]
    return validate_batch(submissions, spec)
