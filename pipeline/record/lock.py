"""One consolidation at a time per ledger: a separate lock file, never the ledger itself.

The lock file (`<ledger>.lock`) holds who took it (pid, host, time). It appears complete or not at all:
the content is written to a private temp file first and hard-linked to the lock name, which fails if the
lock exists (O_CREAT|O_EXCL, then writing, is the fallback where hard links are not supported). So a
second run never mistakes a lock being written for a half-written, abandoned one.

A lock left by a process that no longer runs on this host, or older than STALE_AFTER, is taken over with
a warning; any other lock makes the second run stop at once with a message naming the holder. Taking
over is race-free: the stale file is renamed away (only one contender can), and if what was renamed is
not the stale lock that was judged (another run had just taken it over), it is put back and this run stops.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

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
                with contextlib.suppress(FileNotFoundError):
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
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as out:
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
            with contextlib.suppress(OSError):
                os.link(aside, self.path)
            with contextlib.suppress(OSError):
                aside.unlink()
            raise LockHeld(_holder(moved) or Holder(0, "?", "?"))
        with contextlib.suppress(OSError):
            aside.unlink()

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
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
