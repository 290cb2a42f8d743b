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
import os
import tempfile
from collections.abc import Callable
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


def _write_temp(target: Path, data: bytes | Callable[[Path], None]) -> Path:
    handle, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=target.suffix, dir=target.parent)
    temp = Path(name)
    try:
        if callable(data):
            os.close(handle)
            data(temp)
            with open(temp, "rb+") as written:
                os.fsync(written.fileno())
        else:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
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
