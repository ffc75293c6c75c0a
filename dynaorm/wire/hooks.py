"""The hook point both transports call for every attempt: where tests and the fault injector
watch, change, answer or break requests, whichever transport sends them.

Hooks belong to a botocore client (tables with the same connection settings share one, and so
share its hooks), in three stages per attempt:

* ``before-send``: ``hook(attempt)`` may change ``attempt.params`` (what is sent), answer
  instead of the server by returning an :class:`Answer` (parsed like a real response), or
  raise (e.g. botocore's ``EndpointConnectionError``: the request never left). The first hook
  that answers wins; later ones are not called.
  A hook that wants the attempt delayed (simulated latency) adds seconds to
  ``attempt.delay`` rather than sleeping: the transport waits them once the hooks have run
  (answered or raised too), the sync ones with ``time.sleep`` (:meth:`TransportHooks.wait`),
  the async one with ``asyncio.sleep``, so a delay never blocks an event loop.
* ``after-call``: ``hook(attempt, response)`` sees the parsed response of an attempt the
  server (or a hook) answered, an error response included (``"Error"`` in it, the
  ``ClientError`` being raised after the hooks); it may change it or raise (a lost
  response).

Hooks are called in the order registered (``first=True`` puts one in front). With none
registered an attempt costs one dictionary lookup.

Example:
    >>> seen = []
    >>> hooks = TransportHooks()
    >>> hooks.register("before-send", lambda attempt: seen.append(attempt.operation))
    >>> hooks.before_send(Attempt("GetItem", {"TableName": "t"}))
    >>> seen
    ['GetItem']
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from dynaorm.wire.lean_codec import encode_request

__all__ = ["Answer", "Attempt", "TransportHooks", "hooks_for", "registered_hooks"]

STAGES = ("before-send", "after-call")


@attrs.frozen
class Answer:
    """An HTTP response a hook gives instead of the server's.

    Attributes:
        status: The HTTP status.
        body: The response body (JSON as DynamoDB sends it).
        headers: Response headers (lower-case names).
    """

    status: int
    body: bytes
    headers: Mapping[str, str] = attrs.field(
        factory=lambda: {
            "content-type": "application/x-amz-json-1.0",
            "x-amzn-requestid": "dynaorm-hook",
        }
    )


@attrs.define
class Attempt:
    """One attempt to send a request, as hooks see it.

    Attributes:
        operation: The API operation, e.g. ``"PutItem"``.
        params: The request parameters (a hook may replace them before they are sent).
        context: Free room for hooks to keep state between the stages of one attempt.
        url: The endpoint the request goes to.
        delay: Seconds the transport waits before the attempt goes on (hooks add to it).
    """

    operation: str
    params: dict[str, Any]
    context: dict[str, Any] = attrs.Factory(dict)
    url: str = ""
    delay: float = 0.0

    def body(self) -> bytes:
        """The HTTP body the request goes out with (binary values as base64 text)."""
        return encode_request(self.params)


BeforeSend = Callable[[Attempt], Answer | None]
AfterCall = Callable[[Attempt, dict[str, Any]], None]


class TransportHooks:
    """The hooks of one client, by stage (see the module docs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._before: tuple[BeforeSend, ...] = ()
        self._after: tuple[AfterCall, ...] = ()

    def __bool__(self) -> bool:
        return bool(self._before or self._after)

    def register(self, stage: str, hook: Callable[..., Any], *, first: bool = False) -> None:
        """Call ``hook`` at ``stage`` (``"before-send"`` or ``"after-call"``) of every
        attempt; ``first``: before the hooks registered so far.

        Raises:
            ValueError: ``stage`` is not one of :data:`STAGES`.
        """
        name = self._slot(stage)
        with self._lock:
            hooks: tuple[Callable[..., Any], ...] = getattr(self, name)
            setattr(self, name, (hook, *hooks) if first else (*hooks, hook))

    def unregister(self, stage: str, hook: Callable[..., Any]) -> None:
        """Stop calling ``hook`` at ``stage`` (no-op when it is not registered)."""
        name = self._slot(stage)
        with self._lock:
            hooks: tuple[Callable[..., Any], ...] = getattr(self, name)
            setattr(self, name, tuple(h for h in hooks if h != hook))

    @staticmethod
    def _slot(stage: str) -> str:
        if stage not in STAGES:
            raise ValueError(f"unknown hook stage {stage!r}; one of {', '.join(STAGES)}")
        return "_before" if stage == "before-send" else "_after"

    def before_send(self, attempt: Attempt) -> Answer | None:
        """Run the ``before-send`` hooks; the first answer given, if any."""
        for hook in self._before:
            answer = hook(attempt)
            if answer is not None:
                return answer
        return None

    @staticmethod
    def wait(attempt: Attempt) -> None:
        """Sleep the delay the hooks asked for (the sync transports; the async one awaits
        ``asyncio.sleep(attempt.delay)`` instead)."""
        if attempt.delay > 0:
            time.sleep(attempt.delay)

    def after_call(self, attempt: Attempt, response: dict[str, Any]) -> None:
        """Run the ``after-call`` hooks on an attempt's parsed response."""
        for hook in self._after:
            hook(attempt, response)


_hooks: weakref.WeakKeyDictionary[object, TransportHooks] = weakref.WeakKeyDictionary()
_hooks_lock = threading.Lock()


def hooks_for(client: object) -> TransportHooks:
    """The hooks of ``client`` (a botocore client; made on first use).

    Example:
        >>> hooks_for(table.transport.client).register("before-send", print)  # doctest: +SKIP
    """
    with _hooks_lock:
        found = _hooks.get(client)
        if found is None:
            found = _hooks[client] = TransportHooks()
        return found


def registered_hooks(client: object) -> TransportHooks | None:
    """The hooks of ``client`` if any are registered (``None``: none, the fast path)."""
    found = _hooks.get(client)
    return found if found else None
