"""Whether the ledger lies on a network share: SQLite's WAL mode needs shared memory between the processes
using the file, which a network file system does not give (sqlite.org/wal.html, "WAL does not work over a
network filesystem"). A department often keeps its files on a shared drive (\\\\server\\CNTT, a mapped Z:),
so the ledger opens there in rollback-journal mode instead, and the run says so.

Windows: a UNC path, or a drive Windows reports as remote (GetDriveTypeW). Linux: the file system of the
longest mount point above the path in /proc/mounts. Elsewhere (macOS): not detected.
"""

from __future__ import annotations

import os
from pathlib import Path

# Linux file-system types that are reached over a network (as /proc/mounts names them).
NETWORK_FS = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "ceph", "glusterfs",
                        "lustre", "davfs", "fuse.sshfs", "fuse.davfs2", "fuse.glusterfs", "fuse.rclone"})
DRIVE_REMOTE = 4  # GetDriveTypeW's answer for a network drive


def is_network_path(path: str | os.PathLike[str], *, system: str = os.name, mounts: str | None = None) -> bool:
    """Whether `path` (a file that may not exist yet) is on a network share. ``system`` and ``mounts`` (the
    text of /proc/mounts) are for tests; by default this machine's."""
    text = os.fspath(path)
    if text == ":memory:":
        return False
    if system == "nt":
        return _windows_remote(text)
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    return _mount_type(os.path.abspath(text), mounts) in NETWORK_FS


def _windows_remote(text: str) -> bool:
    if text.startswith(("\\\\", "//")) and not text.startswith(("\\\\?\\", "\\\\.\\")):
        return True  # \\server\share\…
    drive = os.path.splitdrive(os.path.abspath(text))[0]
    if not drive or len(drive) != 2:
        return drive.startswith("\\\\")
    try:
        import ctypes

        return ctypes.windll.kernel32.GetDriveTypeW(drive + "\\") == DRIVE_REMOTE  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return False


def _mount_type(path: str, mounts: str) -> str:
    """The file-system type of the longest mount point that contains `path`."""
    best, kind = "", ""
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")  # /proc/mounts writes a space in a mount point as \040
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, parts[2]
    return kind
