"""The one way dynaorm starts threads: named pools whose tasks run in the caller's context.

Every worker thread dynaorm starts (batch writers and readers, parallel scan segments, read-ahead)
comes from :class:`WorkerPool`, for two reasons:

* each task runs inside a copy of the submitting thread's :mod:`contextvars` context, so a
  context-scoped setting (such as ``table.override(...)``) that holds where a batch or scan is
  started also holds on the threads doing its requests, and nowhere else;
* threads are named (``dynaorm-<job>_<n>``), so a thread dump shows what started them.
"""

from __future__ import annotations

import contextvars
import queue
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

__all__ = ["WAIT_STEP", "WorkerPool", "each_completed", "result_of", "take"]

T = TypeVar("T")


class WorkerPool(ThreadPoolExecutor):
    """A thread pool named after its job whose tasks see the submitter's context variables.

    Args:
        job: A short name for what the threads do (``"batch-write"``); threads are called
            ``dynaorm-<job>_<n>``.
        workers: The most threads at once.

    Example:
        >>> import contextvars
        >>> where = contextvars.ContextVar("where", default="nowhere")
        >>> token = where.set("here")
        >>> with WorkerPool("doc", 2) as pool:
        ...     pool.submit(where.get).result()
        'here'
        >>> where.reset(token)
    """

    def __init__(self, job: str, workers: int) -> None:
        super().__init__(max_workers=max(1, workers), thread_name_prefix=f"dynaorm-{job}")

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Schedule ``fn(*args, **kwargs)`` to run in a copy of the caller's context."""
        context = contextvars.copy_context()
        return super().submit(context.run, fn, *args, **kwargs)


# A thread blocked on a lock with no timeout can miss a signal that arrives just before it
# blocks, and then hears of a Ctrl-C only when the lock is released, which for a request
# that keeps failing can be the end of its retries. The main thread therefore waits for
# workers in short steps: a Ctrl-C is raised within one step.
WAIT_STEP = 0.1


def result_of(future: Future[T]) -> T:
    """``future.result()``, waited for in short steps so that a Ctrl-C is raised promptly.

    Example:
        >>> with WorkerPool("doc", 1) as pool:
        ...     result_of(pool.submit(sum, [1, 2]))
        3
    """
    while not future.done():
        wait([future], timeout=WAIT_STEP)
    return future.result()


def each_completed(futures: Iterable[Future[T]]) -> Iterator[Future[T]]:
    """Yield ``futures`` as they complete (like ``as_completed``), waiting in short steps so
    that a Ctrl-C is raised promptly.

    Example:
        >>> with WorkerPool("doc", 2) as pool:
        ...     futures = [pool.submit(abs, -1), pool.submit(abs, 2)]
        ...     sorted(f.result() for f in each_completed(futures))
        [1, 2]
    """
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=WAIT_STEP, return_when=FIRST_COMPLETED)
        yield from done


def take(channel: queue.Queue[T]) -> T:
    """``channel.get()``, waited for in short steps so that a Ctrl-C is raised promptly.

    Example:
        >>> channel = queue.Queue()
        >>> channel.put("page")
        >>> take(channel)
        'page'
    """
    while True:
        try:
            return channel.get(timeout=WAIT_STEP)
        except queue.Empty:
            continue
