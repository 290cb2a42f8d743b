"""Writing files so that a failure never leaves a half-written file in place of a good one.

Every output goes to a temporary file in the target's folder, is flushed and fsynced, then renamed over the
target with os.replace (atomic on POSIX and Windows) and the folder fsynced, so the previous file survives
a full disk, a crash or a power cut (reliability notes §3, F1/F5). When the target is open in Excel on
Windows the rename fails with PermissionError: the file is then written under a timestamped name and the
caller reports it (F8).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from pipeline.filenames import EXCEL_PATH_LIMIT, fit_name

TEMP_PREFIX = ".ictplan-tmp-"


def write_atomic(target: Path, data: bytes | Callable[[Path], None], *, fallback: bool = False) -> Path:
    """Write `data` (bytes, or a function that writes a file at the path it is given) to `target` atomically.

    Returns the path written: `target`, or — when `fallback` is set and the target cannot be replaced
    (locked by another program) — a timestamped sibling such as ``tong_hop_20071015_093000.xlsx``.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _write_temp(target, data)
    try:
        return _replace(temp, target, fallback)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def write_pending(target: Path, data: bytes) -> None:
    """write_atomic's first half, for a batch of files: the bytes in the temporary file `pending_path(target)`,
    written but neither flushed to disk nor renamed. commit_pending then does both for the whole batch with one
    flush of the file system, where write_atomic flushes each file and its folder (two journal commits a file,
    most of the cost of archiving a return). Until then `target` does not exist: a crash leaves a temporary
    file, which remove_stale_temps deletes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_temp(target, data, temp=pending_path(target), durable=False)


def pending_path(target: Path) -> Path:
    return target.with_name(TEMP_PREFIX + target.name)


def commit_pending(targets: Iterable[Path]) -> None:
    """Put the pending writes of `targets` in place, durably: flushed (one syncfs per folder, else an fsync per
    file), then each renamed over its target, then each folder fsynced once. A target without a pending
    write (its copy was already in place) is left as it is. Call it only once every write is complete."""
    pending = [(temp, target) for target in map(Path, targets) if (temp := pending_path(target)).exists()]
    folders = {target.parent for _, target in pending}
    for folder in folders:
        if not _syncfs(folder):
            for temp, target in pending:
                if target.parent == folder:
                    with open(temp, "rb+") as written:
                        os.fsync(written.fileno())
    for temp, target in pending:
        replace(temp, target)
    for folder in folders:
        _fsync_dir(folder)


def _syncfs(folder: Path) -> bool:
    """Flush every written file of the file system holding `folder` (Linux syncfs; it reports write-back
    errors, such as a full disk, from kernel 5.8 on). False where it is not available: fsync each file."""
    if not sys.platform.startswith("linux") or _kernel_version() < (5, 8):
        return False
    import ctypes

    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            code = ctypes.get_errno()
            if code in (errno.ENOSYS, errno.EPERM):  # blocked (a seccomp filter): fsync instead
                return False
            raise OSError(code, os.strerror(code), str(folder))
    finally:
        os.close(fd)
    return True


def _kernel_version() -> tuple[int, ...]:
    numbers = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return (int(numbers[1]), int(numbers[2])) if numbers else (0, 0)


def _write_temp(target: Path, data: bytes | Callable[[Path], None], *, temp: Path | None = None,
                durable: bool = True) -> Path:
    """`data` in a new temporary file beside `target` (or at `temp`), fsynced unless `durable` is False.

    The file is created by open() (mode 0666 less the process umask, as any program's file), not by
    tempfile.mkstemp, whose 0600 would make every output readable by its owner alone once renamed: on a
    shared department folder colleagues could not open the summary. open() is binary on Windows too (a
    bare os.open there would translate newlines in what is written through it)."""
    out = _create_temp(target) if temp is None else open(temp, "wb")  # noqa: SIM115 - closed below
    temp = Path(out.name)
    try:
        with out:
            if not callable(data):
                out.write(data)
                if durable:
                    out.flush()
                    os.fsync(out.fileno())
        if callable(data):
            data(temp)
            if durable:
                with open(temp, "rb+") as written:
                    os.fsync(written.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return temp


def _create_temp(target: Path) -> BinaryIO:
    """A new file beside `target`, open for writing, under a name no other writer uses."""
    for _ in range(100):
        try:
            return open(target.with_name(f"{TEMP_PREFIX}{os.urandom(6).hex()}{target.suffix}"), "xb")
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target.parent))


def _replace(temp: Path, target: Path, fallback: bool) -> Path:
    try:
        replace(temp, target)
    except PermissionError:
        if not fallback:
            raise
        target = _timestamped(target)
        replace(temp, target)
    _fsync_dir(target.parent)
    return target


def _timestamped(target: Path) -> Path:
    """``tong_hop_20071015_093000.xlsx`` beside ``tong_hop.xlsx``, its path within what Excel opens (the stem is
    shortened, as filenames.fit_name does, where the folder's path is long)."""
    stamp = dt.datetime.now().strftime("_%Y%m%d_%H%M%S")
    short = Path(fit_name(target.parent, target.name, EXCEL_PATH_LIMIT - len(stamp)))
    return target.with_name(f"{short.stem}{stamp}{short.suffix}")


WINDOWS_RETRIES = (0.05, 0.1, 0.2, 0.4)  # seconds between tries of a rename refused on Windows


def replace(source: Path, target: Path) -> None:
    """os.replace; on Windows tried again a few times (0.75 s in all) when refused with PermissionError: a
    virus scanner or the search indexer holds a file it has just seen appear for a moment, and a rename
    refused then would fail the run. A target open in Excel stays refused: PermissionError, as before."""
    delays = WINDOWS_RETRIES if sys.platform == "win32" else ()
    for delay in delays:
        try:
            os.replace(source, target)
            return
        except PermissionError:
            time.sleep(delay)
    os.replace(source, target)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (a no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temps(folder: Path) -> int:
    """Delete temporary files left by a crash between write and rename, in the folder and below it (the
    exports' data/ and the feedback/ folders); returns how many."""
    removed = 0
    if not folder.is_dir():
        return 0
    for path in folder.rglob(f"{TEMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed
