"""The steps of :mod:`dynaorm.wire.steps` (the table lifecycle) run with ``await``: requests through
the async transport (control-plane answers parsed by botocore's parser, as the sync client
parses them), waits with ``asyncio.sleep``; no thread is started."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from dynaorm.base.errors import DynaormError
from dynaorm.wire.async_transport import async_transport
from dynaorm.wire.steps import Pause, Stepper, Steps
from dynaorm.wire.transport import Transport

__all__ = ["arun_steps"]

R = TypeVar("R")


async def arun_steps(transport: Transport, steps: Steps[R]) -> R:
    """:func:`~dynaorm.wire.steps.run_steps` with ``await``."""
    sender = async_transport(transport)
    run = Stepper(steps)
    while (step := run.next()) is not None:
        if isinstance(step, Pause):
            await asyncio.sleep(step.seconds)
            continue
        try:
            run.reply = await sender.call(step.operation, step.request, idempotent=step.idempotent)
        except DynaormError as exc:
            run.error = exc
    return run.result
