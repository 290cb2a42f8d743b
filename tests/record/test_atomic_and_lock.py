"""Outputs are replaced atomically; one run at a time per ledger."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import atomic
from pipeline.atomic import (
    TEMP_PREFIX,
    commit_pending,
    pending_path,
    remove_stale_temps,
    write_atomic,
    write_pending,
)
from pipeline.record.lock import LockHeld, RunLock


def test_write_replaces_the_file(tmp_path: Path):
    target = tmp_path / "out" / "summary.xlsx"
    assert write_atomic(target, b"one") == target
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert not list(target.parent.glob(f"{TEMP_PREFIX}*"))


def test_failure_mid_write_keeps_the_previous_file(tmp_path: Path):
    target = tmp_path / "summary.xlsx"
    target.write_bytes(b"previous good summary")

    def writer(path: Path) -> None:
        path.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        write_atomic(target, writer)
    assert target.read_bytes() == b"previous good summary"
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_locked_target_gets_a_timestamped_name(tmp_path: Path, monkeypatch):
    target = tmp_path / "tong_hop.xlsx"
    target.write_bytes(b"open in Excel")
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst) == target:
            raise PermissionError(13, "Permission denied")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    written = write_atomic(target, b"new", fallback=True)
    assert written != target and written.name.startswith("tong_hop_") and written.read_bytes() == b"new"
    assert target.read_bytes() == b"open in Excel"


@pytest.mark.parametrize("flush", ["syncfs", "fsync each file"])
def test_pending_writes_appear_only_once_committed(flush, tmp_path: Path, monkeypatch):
    """A batch (the archive copies of a chunk of returns): nothing is at its name until the whole batch is
    committed, then every file is, whole; a file already in place is left alone."""
    if flush != "syncfs":
        monkeypatch.setattr(atomic, "_syncfs", lambda folder: False)
    folder = tmp_path / "archive"
    kept = folder / "kept.xlsx"
    folder.mkdir()
    kept.write_bytes(b"archived by an earlier run")
    targets = [folder / f"{i}.xlsx" for i in range(3)]
    for i, target in enumerate(targets):
        write_pending(target, b"return %d" % i)
    assert not any(t.exists() for t in targets)
    assert sorted(p.name for p in folder.iterdir()) == sorted([kept.name] + [pending_path(t).name for t in targets])
    commit_pending([*targets, kept])
    assert [t.read_bytes() for t in targets] == [b"return 0", b"return 1", b"return 2"]
    assert kept.read_bytes() == b"archived by an earlier run"
    assert not list(folder.glob(f"{TEMP_PREFIX}*"))


def test_stale_temps_are_cleaned(tmp_path: Path):
    (tmp_path / f"{TEMP_PREFIX}abc.xlsx").write_bytes(b"x")
    assert remove_stale_temps(tmp_path) == 1


def test_regression_stale_temps_in_export_and_feedback_folders_are_cleaned(tmp_path: Path):
    """A run killed while writing a CSV export or a feedback workbook left its temporary file in out/data
    or out/feedback, and the next run cleaned only out/ itself (found by the kill loop)."""
    for folder in ("data", "feedback"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{TEMP_PREFIX}abc.csv").write_bytes(b"x")
    (tmp_path / "data" / "indicators.csv").write_bytes(b"kept")
    assert remove_stale_temps(tmp_path) == 2
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["indicators.csv"]


def test_second_lock_names_the_holder(tmp_path: Path):
    path = tmp_path / "ledger.sqlite.lock"
    with RunLock(path):
        with pytest.raises(LockHeld) as caught:
            RunLock(path).acquire()
        assert caught.value.holder.pid == os.getpid()
    assert not path.exists()


def test_lock_of_a_dead_process_is_taken_over(tmp_path: Path):
    path = tmp_path / "ledger.sqlite.lock"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    path.write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(),
                                "since": "2007-09-01T08:00:00"}), encoding="utf-8")
    lock = RunLock(path).acquire()
    assert lock.taken_over is not None and lock.taken_over.pid == int(dead.stdout)
    lock.release()


def test_half_written_lock_is_stale(tmp_path: Path):
    path = tmp_path / "ledger.sqlite.lock"
    path.write_text("{", encoding="utf-8")
    lock = RunLock(path).acquire()
    assert lock.taken_over is not None
    lock.release()


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_regression_outputs_were_readable_by_their_owner_alone(umask, mode, tmp_path: Path):
    """Outputs were created by tempfile.mkstemp (0600) and renamed: on a shared department folder nobody but
    their owner could open the summary. Every way of writing gives the usual mode: 0666 less the umask."""
    before = os.umask(umask)
    try:
        written = [write_atomic(tmp_path / "bytes.xlsx", b"x"),
                   write_atomic(tmp_path / "by_writer.xlsx", lambda path: path.write_bytes(b"x"))]
        write_pending(tmp_path / "archive" / "copy.xlsx", b"x")
        commit_pending([tmp_path / "archive" / "copy.xlsx"])
        written.append(tmp_path / "archive" / "copy.xlsx")
    finally:
        os.umask(before)
    assert {path.name: oct(path.stat().st_mode & 0o777) for path in written} == dict.fromkeys(
        ("bytes.xlsx", "by_writer.xlsx", "copy.xlsx"), oct(mode))


@pytest.fixture
def windows_renames(monkeypatch):
    """sys.platform is "win32" and os.replace refuses `refused[target]` times (-1: always) a rename onto target;
    returns (refused, tries per target name)."""
    refused: dict[Path, int] = {}
    tries: dict[str, int] = {}
    real = os.replace

    def replace(src, dst):
        tries[Path(dst).name] = tries.get(Path(dst).name, 0) + 1
        left = refused.get(Path(dst), 0)
        if left:
            refused[Path(dst)] = left - 1
            raise PermissionError(13, "The process cannot access the file because it is being used")
        return real(src, dst)

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(atomic, "WINDOWS_RETRIES", (0, 0, 0, 0))
    return refused, tries


def test_on_windows_a_rename_refused_for_a_moment_is_tried_again(tmp_path: Path, windows_renames):
    """A virus scanner holding the new file for a moment must not cost the run its summary, nor put it under
    another name."""
    refused, tries = windows_renames
    target = tmp_path / "tong_hop.xlsx"
    refused[target] = 2
    assert write_atomic(target, b"new", fallback=True) == target and target.read_bytes() == b"new"
    assert tries == {"tong_hop.xlsx": 3}


def test_on_windows_a_file_open_in_excel_gets_a_timestamped_sibling_after_the_tries(tmp_path: Path,
                                                                                 windows_renames):
    refused, tries = windows_renames
    target = tmp_path / "tong_hop.xlsx"
    target.write_bytes(b"open in Excel")
    refused[target] = -1
    written = write_atomic(target, b"new", fallback=True)
    assert written.name.startswith("tong_hop_") and written.read_bytes() == b"new"
    assert tries["tong_hop.xlsx"] == 5 and target.read_bytes() == b"open in Excel"


def test_elsewhere_a_refused_rename_is_not_tried_again(tmp_path: Path, monkeypatch):
    tries = []

    def replace(src, dst):
        tries.append(dst)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(PermissionError):
        write_atomic(tmp_path / "a.xlsx", b"x")
    assert len(tries) == 1


def test_a_timestamped_sibling_stays_within_what_excel_opens(tmp_path: Path, monkeypatch):
    from pipeline.filenames import EXCEL_PATH_LIMIT

    name = "tong_hop_BM-UDCNTT-2007_2008-2010.xlsx"
    room = EXCEL_PATH_LIMIT - len(str(tmp_path)) - len(name) - 2  # the target fits, with a character to spare
    target = tmp_path / ("Sở Thông tin và Truyền thông " * 8)[:room].strip() / name
    assert EXCEL_PATH_LIMIT - 5 < len(str(target)) <= EXCEL_PATH_LIMIT
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (_ for _ in ()).throw(PermissionError(13, "locked"))
                        if Path(dst) == target else real(src, dst))
    written = write_atomic(target, b"x", fallback=True)
    assert written != target and len(str(written)) <= EXCEL_PATH_LIMIT and written.suffix == ".xlsx"


def test_pending_writes_on_windows_without_syncfs_or_folders_to_open(tmp_path: Path, monkeypatch):
    """Windows has no syncfs and cannot open a folder (os.open raises PermissionError): each file is fsynced
    instead and the folder's fsync is skipped."""
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delattr(os, "uname")  # not on Windows: the Linux kernel's version must not be asked
    real_open, synced = os.open, []

    def open_(path, flags, *args, **kwargs):
        if os.path.isdir(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    real_fsync = os.fsync
    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    targets = [tmp_path / "archive" / f"{i}.xlsx" for i in range(3)]
    for target in targets:
        write_pending(target, b"return")
    commit_pending(targets)
    assert [t.read_bytes() for t in targets] == [b"return"] * 3 and len(synced) == 3
