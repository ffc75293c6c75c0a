"""One request in flight while the caller works: the read-ahead behind ``Reader.read_ahead()``.

Paging alternates between waiting for the server and decoding its answer. With read-ahead the
next page's request is sent on a worker thread as soon as the current response names where it
ends, so decoding (and whatever the caller does with the items) overlaps the server's work:
iteration then runs at the pace of the slower of the two rather than their sum.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from dynaorm._threads import WorkerPool

__all__ = ["Requests"]

Send = Callable[[dict[str, Any]], dict[str, Any]]


class Requests:
    """Sends requests one after another, either when their answer is asked for or, with
    ``ahead``, as soon as they are submitted (on one worker thread).

    Example:
        >>> requests = Requests(lambda request: {"Items": [request["n"]]}, ahead=True)
        >>> requests.submit({"n": 1})
        >>> requests.answer()
        {'Items': [1]}
        >>> requests.close()
    """

    def __init__(self, send: Send, *, ahead: bool) -> None:
        self._send = send
        self._pool = WorkerPool("read-ahead", 1) if ahead else None
        self._request: dict[str, Any] | None = None
        self._future: Future[dict[str, Any]] | None = None

    def submit(self, request: dict[str, Any]) -> None:
        """Queue ``request`` (send it now, with read-ahead); at most one is outstanding."""
        if self._pool is None:
            self._request = request
        else:
            self._future = self._pool.submit(self._send, request)

    def answer(self) -> dict[str, Any]:
        """The response to the submitted request (its error, raised here)."""
        if self._future is not None:
            future, self._future = self._future, None
            return future.result()
        request, self._request = self._request, None
        if request is None:
            raise RuntimeError("no request was submitted")
        return self._send(request)

    def close(self) -> None:
        """Stop: a request already sent is let finish and its answer dropped."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
