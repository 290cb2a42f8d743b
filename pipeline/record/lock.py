"""One consolidation at a time per ledger: a separate lock file, never the ledger itself.

The lock file (`<ledger>.lock`) holds who took it (pid, host, time). It appears complete or not at all:
the content is written to a private temp file first and hard-linked to the lock name, which fails if the
lock exists (O_CREAT|O_EXCL, then writing, is the fallback where hard links are not supported). So a
second run never mistakes a lock being written for a half-written, abandoned one.

A lock left by a process that no longer runs on this host, or older than STALE_AFTER, is taken over with
a warning (whether it runs is asked without signalling it: on Windows `os.kill` would terminate it, see
_pid_alive); any other lock makes the second run stop at once with a message naming the holder. Taking
over is race-free: the stale file is renamed away (only one contender can), and if what was renamed is
not the stale lock that was judged (another run had just taken it over), it is put back and this run stops.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STALE_AFTER = dt.timedelta(hours=12)


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    since: str


class LockHeld(RuntimeError):
    """Another live run holds the lock."""

    def __init__(self, holder: Holder) -> None:
        super().__init__(f"locked by pid {holder.pid} on {holder.host} since {holder.since}")
        self.holder = holder


class RunLock:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.taken_over: Holder | None = None  # set when a stale lock was replaced
        self._held = False
        self._content: bytes | None = None

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        content = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                              "since": dt.datetime.now().isoformat(timespec="seconds"),
                              "token": os.urandom(8).hex()}).encode("utf-8")  # this acquisition, uniquely
        for _ in range(3):
            if self._create(content):
                self._held, self._content = True, content
                return self
            seen = self._read()
            if seen is None:  # released (or unreadable) meanwhile: try again
                continue
            holder = _holder(seen)
            if holder is not None and not _is_stale(holder):
                raise LockHeld(holder)
            self._take_over(seen)
            self.taken_over = holder or Holder(0, "?", "?")
        raise LockHeld(self._read_holder() or Holder(0, "?", "?"))

    def release(self) -> None:
        if self._held:
            if self._read() == self._content:  # still ours (not taken over as stale meanwhile)
                # OSError: on Windows a file another program is reading cannot be deleted; the lock left
                # behind names this process, which has ended by the next run: taken over as stale.
                with contextlib.suppress(OSError):
                    self.path.unlink()
            self._held = False

    def _create(self, content: bytes) -> bool:
        """Create the lock file with its whole content; False if it exists."""
        temp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            with open(temp, "xb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temp, self.path)
                return True
            except FileExistsError:
                return False
            except OSError:  # no hard links here (FAT, some shares): create exclusively, then write
                return self._create_exclusive(content)
        finally:
            with contextlib.suppress(OSError):
                temp.unlink()

    def _create_exclusive(self, content: bytes) -> bool:
        try:
            out = open(self.path, "xb")  # noqa: SIM115 - closed just below; "x" fails if the file exists
        except FileExistsError:
            return False
        with out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        return True

    def _take_over(self, judged: bytes) -> None:
        """Remove the stale lock whose content was `judged`; stop if another run replaced it meanwhile."""
        aside = self.path.with_name(f"{self.path.name}.{os.getpid()}.{os.urandom(4).hex()}.stale")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return  # another run removed it first: compete for a fresh lock
        moved = aside.read_bytes()
        if moved != judged:
            # Not the stale lock: a live one another run created after we looked. Put it back.
            self._put_back(aside, moved)
            with contextlib.suppress(OSError):
                aside.unlink()
            raise LockHeld(_holder(moved) or Holder(0, "?", "?"))
        with contextlib.suppress(OSError):
            aside.unlink()

    def _put_back(self, aside: Path, content: bytes) -> None:
        """The live lock renamed away by mistake, back at its name, unless a new lock is there by now."""
        try:
            os.link(aside, self.path)
        except FileExistsError:
            pass
        except OSError:  # no hard links here: the same content, created exclusively
            with contextlib.suppress(OSError):
                self._create_exclusive(content)

    def _read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except OSError:
            return None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _read_holder(self) -> Holder | None:
        return _holder(self._read())


def _holder(content: bytes | None) -> Holder | None:
    try:
        data = json.loads(content or b"")
        return Holder(int(data["pid"]), str(data["host"]), str(data["since"]))
    except (ValueError, KeyError, TypeError):
        return None  # unreadable or damaged (a power cut while it was written): treated as stale


def _is_stale(holder: Holder) -> bool:
    try:
        since = dt.datetime.fromisoformat(holder.since)
    except ValueError:
        return True
    if dt.datetime.now() - since > STALE_AFTER:
        return True
    if holder.host != socket.gethostname():
        return False  # another machine's process: we cannot tell whether it runs
    return not _pid_alive(holder.pid)


def _pid_alive(pid: int) -> bool:
    """Whether process `pid` of this host still runs, asked without sending it anything. Never `os.kill(pid, 0)`:
    on Windows os.kill with any other signal than CTRL_C_EVENT/CTRL_BREAK_EVENT terminates the process, so a
    second run (or anything that looked at the lock) would kill the run holding it, mid-write. Where the
    answer is unsure, the process is taken to run: a live run's lock must never be taken over."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_pid_alive(pid, _WinApi())
    if os.path.isdir("/proc/self"):  # Linux
        return _proc_pid_alive(pid)
    return _posix_pid_alive(pid)


def _proc_pid_alive(pid: int) -> bool:
    """Linux: the process has a /proc entry and is not a zombie (exited, not yet reaped by its parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    state = stat[stat.rfind(b")") + 2:][:1]  # the field after the command name, which may hold ") "
    return state not in (b"Z", b"X")


def _posix_pid_alive(pid: int) -> bool:
    """Other POSIX systems (macOS, BSD), without /proc: kill with signal 0, which sends no signal there (POSIX:
    "error checking is performed but no signal is actually sent"). Never reached on Windows."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


PROCESS_QUERY_LIMITED_INFORMATION = 0x1000  # enough for GetExitCodeProcess, granted for other users' processes
STILL_ACTIVE = 259
ERROR_ACCESS_DENIED = 5


class _WinApi:
    """The three kernel32 functions _windows_pid_alive needs, with their C types (a HANDLE is pointer-sized:
    without restype ctypes would cut it to an int), and the thread's last error. Windows only."""

    def __init__(self) -> None:
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        self.OpenProcess = kernel32.OpenProcess
        self.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
        self.OpenProcess.restype = wintypes.HANDLE
        self.GetExitCodeProcess = kernel32.GetExitCodeProcess
        self.GetExitCodeProcess.argtypes = (wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD))
        self.GetExitCodeProcess.restype = wintypes.BOOL
        self.CloseHandle = kernel32.CloseHandle
        self.CloseHandle.argtypes = (wintypes.HANDLE,)
        self.CloseHandle.restype = wintypes.BOOL
        self.last_error = ctypes.get_last_error  # type: ignore[attr-defined]


def _windows_pid_alive(pid: int, api: Any) -> bool:
    """Windows: open the process for query only and read its exit code (STILL_ACTIVE while it runs). No such
    process: OpenProcess fails with ERROR_INVALID_PARAMETER; access denied means it exists (another user's, or
    a protected one). A process that ended with exit code 259 looks alive: its lock then waits for
    STALE_AFTER, the safe side."""
    import ctypes
    from ctypes import wintypes

    handle = api.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        return api.last_error() == ERROR_ACCESS_DENIED
    try:
        code = wintypes.DWORD()
        if not api.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True  # cannot tell: never take a live run's lock
        return code.value == STILL_ACTIVE
    finally:
        api.CloseHandle(handle)
