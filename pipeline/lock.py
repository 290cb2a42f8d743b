"""One consolidation at a time per ledger: a separate lock file, never the ledger itself.

The lock file (`<ledger>.lock`) is created with O_CREAT|O_EXCL and holds who took it (pid, host, time).
A lock left by a process that no longer runs on this host, or older than STALE_AFTER, is taken over with
a warning; any other lock makes the second run stop at once with a message naming the holder.
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

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._read_holder()
                if holder is not None and not _is_stale(holder):
                    raise LockHeld(holder) from None
                self.taken_over = holder or Holder(0, "?", "?")
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"pid": os.getpid(), "host": socket.gethostname(),
                           "since": dt.datetime.now().isoformat(timespec="seconds")}, out)
                out.flush()
                os.fsync(out.fileno())
            self._held = True
            return self
        raise LockHeld(self._read_holder() or Holder(0, "?", "?"))

    def release(self) -> None:
        if self._held:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self._held = False

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _read_holder(self) -> Holder | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return Holder(int(data["pid"]), str(data["host"]), str(data["since"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # unreadable or half-written: treated as stale


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
