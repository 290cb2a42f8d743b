"""Forked processes: a pool of workers, or one task done beside this process.

Both use fork (POSIX only; elsewhere, and on one core, the callers do the work themselves): a forked process
inherits every loaded module and the arguments of its work, so nothing large is pickled to it; only results
come back. A forked process dies with the process that forked it.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable
from typing import Any

_parent_pid = 0  # the process that forked the workers
_beside_task: tuple[Callable[..., Any], tuple[Any, ...]] | None = None  # inherited by the fork, not sent to it


def fork_pool(workers: int) -> Any:
    """A ProcessPoolExecutor of forked processes, or None without fork or with a single core."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _parent_pid
    if "fork" not in multiprocessing.get_all_start_methods() or (os.cpu_count() or 1) < 2:
        return None
    _parent_pid = os.getpid()
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_worker_start)


def _worker_start() -> None:
    """A worker dies with the process that forked it: a run killed mid-way must not leave workers behind.
    What it inherited is set aside from its garbage collector (gc.freeze, as the gc docs advise after a fork):
    a collection that walked those objects would write to every page holding one, and so copy them all. The
    feedback workers of a 1,000-return round keep 29 MB of their own instead of 57–59 MB."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    if os.getppid() != _parent_pid:
        os._exit(1)  # the parent died before the line above took effect
    gc.freeze()


def beside(task: Callable[..., Any], *args: Any) -> Any:
    """Start `task(*args)` in a forked process while this one goes on: a future of its result, or None without
    fork (then do it here). The arguments are inherited by the fork, not sent to it (a batch of returns, a
    Summary: pickling them would cost more than the task); only the result comes back."""
    global _beside_task
    _beside_task = (task, args)
    pool = fork_pool(1)
    if pool is None:
        return None
    future = pool.submit(_run_beside)
    pool.shutdown(wait=False)  # the process ends once its one task is done
    return future


def _run_beside() -> Any:
    assert _beside_task is not None
    task, args = _beside_task
    return task(*args)


def outcome(future: Any) -> Any:
    """What a task started by `beside` returned, once it is done; None (do it here) without a future, or if its
    process was killed. An error inside the task is raised here, as it would be here."""
    if future is None:
        return None
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        return None
