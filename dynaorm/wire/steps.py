"""Operations of several requests written once, as steps, and run by a sync or an async
driver (the table lifecycle of :mod:`dynaorm.wire.lifecycle`).

Steps are a generator that yields a :class:`Call` (a request to send; it is sent back the
response, or the error is raised into it) or a :class:`Pause` (a wait), and returns its
result. They decide everything (what to send next, when to stop, which error means what)
from the answers; :func:`run_steps` sends with the sync transport and sleeps with
``time.sleep``, :func:`dynaorm.wire.async_lifecycle.arun_steps` awaits the async transport
and ``asyncio.sleep``.

Example:
    >>> from dynaorm import TableNotFound
    >>> def exists(name: str) -> Steps[bool]:
    ...     try:
    ...         yield Call("DescribeTable", {"TableName": name}, idempotent=True)
    ...     except TableNotFound:
    ...         return False
    ...     return True
    >>> run = Stepper(exists("shop"))
    >>> run.next()
    Call(operation='DescribeTable', request={'TableName': 'shop'}, idempotent=True)
    >>> run.reply = {"Table": {}}
    >>> run.next() is None, run.result
    (True, True)
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from dynaorm.base.errors import DynaormError

if TYPE_CHECKING:
    from dynaorm.wire.transport import Transport

__all__ = ["Call", "Pause", "Stepper", "Steps", "run_steps"]

R = TypeVar("R")


@attrs.frozen
class Call:
    """A step: send ``request`` as ``operation``; the step gets the response (or the error
    is raised into it)."""

    operation: str
    request: dict[str, Any]
    idempotent: bool


@attrs.frozen
class Pause:
    """A step: wait ``seconds``."""

    seconds: float


Steps = Generator[Call | Pause, Any, R]
"""Steps that end with a result of type ``R``."""


class Stepper(Generic[R]):
    """Drives ``steps``: :meth:`next` gives the step to perform (``None``: done, see
    ``result``); the driver sets ``reply`` (a response) or ``error`` before the next one."""

    def __init__(self, steps: Steps[R]) -> None:
        self._steps = steps
        self.reply: Any = None
        self.error: DynaormError | None = None
        self.result: R

    def next(self) -> Call | Pause | None:
        try:
            if self.error is None:
                step = self._steps.send(self.reply)
            else:
                step = self._steps.throw(self.error)
        except StopIteration as done:
            self.result = done.value
            return None
        self.reply, self.error = None, None
        return step


def run_steps(transport: Transport, steps: Steps[R]) -> R:
    """Run ``steps`` with ``transport`` and ``time.sleep``; return their result."""
    run = Stepper(steps)
    while (step := run.next()) is not None:
        if isinstance(step, Pause):
            time.sleep(step.seconds)
            continue
        try:
            run.reply = transport.call(step.operation, step.request, idempotent=step.idempotent)
        except DynaormError as exc:
            run.error = exc
    return run.result
