"""Shared fixtures: the bundled specs (the plans' form, the 2008 report's) and registry, loaded once per session."""

from __future__ import annotations

import pytest

from pipeline.form.registry import load_registry
from pipeline.form.spec import bundled, load_spec


@pytest.fixture(scope="session")
def spec():
    return load_spec()


@pytest.fixture(scope="session")
def report_spec():
    """The 2008 implementation report's form (BM-BCTH-2008), on the 2007 plans."""
    return load_spec(bundled("report_2008_spec.yaml"))


@pytest.fixture(scope="session")
def registry():
    return load_registry()


@pytest.fixture
def windows_like(monkeypatch):
    """What a Windows PC runs, on Linux: the POSIX features the code uses taken away (issue 21). sys.platform is
    "win32" (so multiprocessing offers no fork, and the code's own Windows branches run), os.fork and os.uname
    are gone, hard links fail (as on FAT or a share), a folder cannot be opened (so not fsynced), and a
    refused rename is tried again without waiting. Returns the renames os.replace was asked for. The libraries
    that read the platform when imported (pandas' build configuration, multiprocessing) are imported first, as
    they would be on Windows."""
    import concurrent.futures.process
    import errno
    import multiprocessing
    import os
    import sys

    import pipeline.report.consolidate
    import pipeline.report.exports
    import pipeline.report.feedback
    import pipeline.report.summary
    import pipeline.validation.validate
    from pipeline import atomic

    assert multiprocessing and concurrent.futures.process and pipeline  # imported for their side effect
    real_open, real_replace, renames = os.open, os.replace, []

    def no_link(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    def open_(path, flags, *args, **kwargs):
        if os.path.isdir(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    def replace(src, dst):
        renames.append(dst)
        return real_replace(src, dst)

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delattr(os, "fork")
    monkeypatch.delattr(os, "uname")
    monkeypatch.setattr(os, "link", no_link)
    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(atomic, "WINDOWS_RETRIES", (0, 0, 0, 0))
    return renames
