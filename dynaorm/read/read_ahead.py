"""One request in flight while the caller works: the read-ahead behind ``Reader.read_ahead()``.

Paging alternates between waiting for the server and decoding its answer. With read-ahead the
next page's request is sent on a worker thread as soon as the current response names where it
ends, so decoding (and whatever the caller does with the items) overlaps the server's work:
iteration then runs at the pace of the slower of the two rather than their sum.

Without read-ahead nothing runs on another thread: a request is sent on the caller's thread
when its answer is asked for. Closing stops at once: a request not yet started is cancelled,
and one in flight is not retried (its worker drops the answer and ends by itself).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any, Protocol

from dynaorm.base.threads import WorkerPool, result_of

__all__ = ["Requests", "Send"]


class Send(Protocol):
    """Sends one request; a set ``stop`` means start no request, attempt or retry more."""

    def __call__(
        self, request: dict[str, Any], stop: threading.Event | None = None
    ) -> dict[str, Any]: ...


class Requests:
    """Sends requests one after another, either when their answer is asked for (on the
    caller's thread) or, with ``ahead``, as soon as they are submitted (on one worker thread).

    Example:
        >>> requests = Requests(lambda request, stop=None: {"Items": [request["n"]]}, ahead=True)
        >>> requests.submit({"n": 1})
        >>> requests.answer()
        {'Items': [1]}
        >>> requests.close()
    """

    def __init__(self, send: Send, *, ahead: bool) -> None:
        self._send = send
        self._stop = threading.Event()
        self._pool = WorkerPool("read-ahead", 1) if ahead else None
        self._request: dict[str, Any] | None = None
        self._future: Future[dict[str, Any]] | None = None  # submitted, answer not taken
        self._sent: Future[dict[str, Any]] | None = None  # the latest submitted

    def submit(self, request: dict[str, Any]) -> None:
        """Queue ``request`` (send it now, with read-ahead); at most one is outstanding."""
        if self._pool is None:
            self._request = request
        else:
            self._future = self._sent = self._pool.submit(self._send, request, self._stop)

    def answer(self) -> dict[str, Any]:
        """The response to the submitted request (its error, raised here)."""
        if self._future is not None:
            future, self._future = self._future, None
            return result_of(future)
        request, self._request = self._request, None
        if request is None:
            raise RuntimeError("no request was submitted")
        return self._send(request)

    def close(self) -> None:
        """Stop without waiting for the server: a request read ahead but not started is
        cancelled; one in flight is not retried, and its worker drops the answer and ends by
        itself. With nothing in flight the worker thread has ended on return."""
        self._stop.set()
        if self._pool is not None:
            # Also while the caller is (was) waiting for its answer: wait only for an idle thread.
            in_flight = self._sent is not None and not self._sent.done()
            self._pool.shutdown(wait=not in_flight, cancel_futures=True)
