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
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

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
        os.replace(temp, target)
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
    """`data` in a new temporary file beside `target` (or at `temp`), fsynced unless `durable` is False."""
    if temp is None:
        handle, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=target.suffix, dir=target.parent)
        temp = Path(name)
    else:
        handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if callable(data):
            os.close(handle)
            data(temp)
            if durable:
                with open(temp, "rb+") as written:
                    os.fsync(written.fileno())
        else:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                if durable:
                    out.flush()
                    os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return temp


def _replace(temp: Path, target: Path, fallback: bool) -> Path:
    try:
        os.replace(temp, target)
    except PermissionError:
        if not fallback:
            raise
        stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
        target = target.with_name(f"{target.stem}_{stamp}{target.suffix}")
        os.replace(temp, target)
    _fsync_dir(target.parent)
    return target


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
