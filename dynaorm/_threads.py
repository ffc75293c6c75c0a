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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["WorkerPool"]

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
