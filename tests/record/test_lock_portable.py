"""The run lock on every platform (issue 21): whether a holder still runs is asked without signalling any
process (on Windows os.kill terminates the process it is given), and the lock works without hard links.

Windows is not at hand here: its path is run on Linux with sys.platform set to "win32" and a stand-in for
the three kernel32 functions that answers as the Windows documentation says they do."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.record import lock
from pipeline.record.lock import LockHeld, RunLock

FRESH = "2999-01-01T00:00:00"  # a lock this recent is stale only if its process is gone


@pytest.fixture
def no_signals(monkeypatch) -> list[tuple]:
    """Every attempt to send a signal, recorded and refused."""
    sent: list[tuple] = []

    def refuse(name: str):
        def send(*args):
            sent.append((name, *args))
            raise AssertionError(f"{name}{args}: a process was signalled")
        return send

    monkeypatch.setattr(os, "kill", refuse("os.kill"))
    monkeypatch.setattr(os, "killpg", refuse("os.killpg"))
    monkeypatch.setattr(signal, "pthread_kill", refuse("signal.pthread_kill"))
    return sent


def _lock_of(path: Path, pid: int, since: str = FRESH) -> None:
    path.write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "since": since}), encoding="utf-8")


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_regression_a_second_run_never_signals_the_holder(tmp_path, no_signals):
    """A live holder (another process, or this one) keeps its lock and is still running afterwards; a dead one
    and a zombie (exited, not yet reaped) lose theirs. No process is signalled to learn any of it."""
    path = tmp_path / "ledger.sqlite.lock"
    holder = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for pid in (holder.pid, os.getpid()):
            _lock_of(path, pid)
            with pytest.raises(LockHeld) as caught:
                RunLock(path).acquire()
            assert caught.value.holder.pid == pid
        assert holder.poll() is None  # alive: on Windows os.kill(pid, 0) would have ended it here

        deadline = time.monotonic() + 10
        while Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.01)
        for pid in (_dead_pid(), zombie.pid):
            _lock_of(path, pid)
            taken = RunLock(path).acquire()
            assert taken.taken_over is not None and taken.taken_over.pid == pid
            taken.release()
    finally:
        holder.communicate()  # its input closed, the holder ends: no signal, here either
        zombie.wait()
    assert no_signals == []


class FakeKernel32:
    """OpenProcess, GetExitCodeProcess and CloseHandle as documented for Windows, over a table of pids: an
    exit code (STILL_ACTIVE while running), or "denied" (another user's process); any other pid does not exist."""

    def __init__(self, processes: dict[int, int | str], *, exit_code_fails: bool = False) -> None:
        self.processes, self.exit_code_fails = processes, exit_code_fails
        self.error = 0
        self.open: dict[int, int] = {}  # handle → pid
        self.accesses: list[int] = []
        self.next_handle = 100

    def OpenProcess(self, access: int, inherit: bool, pid: int) -> int | None:
        self.accesses.append(access)
        state = self.processes.get(pid)
        if state is None:
            self.error = 87  # ERROR_INVALID_PARAMETER
            return None
        if state == "denied":
            self.error = 5  # ERROR_ACCESS_DENIED
            return None
        self.next_handle += 4
        self.open[self.next_handle] = pid
        return self.next_handle

    def GetExitCodeProcess(self, handle: int, code) -> int:
        if self.exit_code_fails:
            return 0
        ctypes.cast(code, ctypes.POINTER(ctypes.c_uint32)).contents.value = self.processes[self.open[handle]]
        return 1

    def CloseHandle(self, handle: int) -> int:
        del self.open[handle]
        return 1

    def last_error(self) -> int:
        return self.error


RUNNING, EXITED, OTHER_USER, GONE = 4242, 4243, 4244, 4245


@pytest.fixture
def windows(monkeypatch, no_signals) -> FakeKernel32:
    """sys.platform is "win32"; kernel32 is the stand-in; /proc and os.kill must not be used."""
    kernel32 = FakeKernel32({RUNNING: lock.STILL_ACTIVE, EXITED: 0, OTHER_USER: "denied"})
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(lock, "_WinApi", lambda: kernel32)
    monkeypatch.setattr(lock, "_proc_pid_alive", lambda pid: pytest.fail("/proc asked on Windows"))
    return kernel32


def test_on_windows_a_holder_is_asked_through_its_exit_code(windows):
    assert [lock._pid_alive(pid) for pid in (RUNNING, EXITED, OTHER_USER, GONE)] == [True, False, True, False]
    assert set(windows.accesses) == {lock.PROCESS_QUERY_LIMITED_INFORMATION}  # query only: never terminate
    assert windows.open == {}  # every handle opened is closed
    windows.exit_code_fails = True
    assert lock._pid_alive(RUNNING) is True  # cannot tell: the lock is kept, never taken from a live run
    assert windows.open == {}


def test_on_windows_a_dead_holders_lock_is_taken_over_and_a_live_ones_kept(tmp_path, windows, no_signals):
    path = tmp_path / "ledger.sqlite.lock"
    for pid in (RUNNING, OTHER_USER):
        _lock_of(path, pid)
        with pytest.raises(LockHeld):
            RunLock(path).acquire()
    for pid in (EXITED, GONE):
        _lock_of(path, pid)
        taken = RunLock(path).acquire()
        assert taken.taken_over is not None and taken.taken_over.pid == pid
        taken.release()
    assert not path.exists() and no_signals == []


def test_the_real_windows_api_is_declared_with_pointer_sized_handles():
    """The declarations themselves can only run on Windows; checked there, skipped here."""
    if sys.platform != "win32":
        pytest.skip("kernel32 exists only on Windows")
    api = lock._WinApi()  # pragma: no cover - Windows
    assert api.OpenProcess.restype is ctypes.c_void_p
    assert lock._pid_alive(os.getpid()) and not lock._pid_alive(_dead_pid())


@pytest.fixture
def no_hard_links(monkeypatch) -> None:
    """A FAT-formatted USB disk or a share without hard links: os.link fails."""
    def link(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", link)


def test_without_hard_links_one_run_at_a_time_still_holds(tmp_path, no_hard_links):
    path = tmp_path / "ledger.sqlite.lock"
    with RunLock(path):
        assert json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid()
        with pytest.raises(LockHeld):
            RunLock(path).acquire()
    assert not path.exists()
    _lock_of(path, _dead_pid())
    taken = RunLock(path).acquire()
    assert taken.taken_over is not None
    taken.release()
    assert not path.exists()


def test_without_hard_links_a_live_lock_renamed_away_by_mistake_is_put_back(tmp_path, no_hard_links, monkeypatch):
    """Two runs find a dead run's lock; the first takes it over while the second is about to. The second renames
    the first's fresh lock away, sees it is not the stale one, and must put it back (by exclusive creation,
    there being no hard link) before it stops."""
    path = tmp_path / "ledger.sqlite.lock"
    _lock_of(path, _dead_pid(), since="2007-10-15T09:30:00")
    first, second = RunLock(path), RunLock(path)
    real = RunLock._read

    def read(self):
        seen = real(self)
        if self is second and not first._held:
            first.acquire()
        return seen

    monkeypatch.setattr(RunLock, "_read", read)
    with pytest.raises(LockHeld):
        second.acquire()
    assert path.read_bytes() == first._content
    monkeypatch.undo()
    first.release()
    assert not path.exists()


def test_a_lock_that_cannot_be_deleted_does_not_fail_the_run(tmp_path, monkeypatch):
    """On Windows a file another program is reading cannot be deleted. The run still ends normally; the lock left
    names its process, which has ended by the next run, so that run takes it over."""
    path = tmp_path / "ledger.sqlite.lock"
    held = RunLock(path).acquire()
    real = Path.unlink

    def unlink(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "The process cannot access the file")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", unlink)
    held.release()
    monkeypatch.undo()
    assert json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid()
