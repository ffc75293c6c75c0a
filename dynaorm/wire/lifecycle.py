"""A table's lifecycle on the server: create, ensure (create or check and add indexes),
describe, wait until active, delete.

Each operation is written once, as steps (:mod:`dynaorm.wire.steps`: call, pause) that
decide everything from the answers they are sent back; ``run_steps`` runs them with the
sync transport and ``time.sleep``, :func:`dynaorm.wire.async_lifecycle.arun_steps` with the
async transport and ``asyncio.sleep`` (``table.acreate()``, ``aensure()``, ...).
"""

from __future__ import annotations

import time
from typing import Any

from dynaorm.base.errors import TableNotFound
from dynaorm.model.schema import check_fixable, gsi_create_update, schema_mismatches
from dynaorm.wire.connection import ConnectedTable
from dynaorm.wire.steps import Call, Pause, Steps, run_steps

__all__ = ["ManagedTable"]


class ManagedTable(ConnectedTable):
    """A connected table with its lifecycle methods (part of :class:`dynaorm.Table`)."""

    def create(self, *, wait: bool = True, timeout: float = 300.0) -> None:
        """Create the table and its indexes; with ``wait``, return once all are ACTIVE.

        Raises:
            ServiceError: The table exists already (``ResourceInUseException``) or the request
                was refused.
        """
        run_steps(self.transport, self._create_steps(wait, timeout))

    def _create_steps(self, wait: bool, timeout: float) -> Steps[None]:
        yield Call("CreateTable", self.create_request(), idempotent=False)
        if wait:
            yield from self._wait_steps(timeout)
        if self.ttl_attribute:
            specification = {"Enabled": True, "AttributeName": self.ttl_attribute}
            request = {"TableName": self.name, "TimeToLiveSpecification": specification}
            yield Call("UpdateTimeToLive", request, idempotent=True)

    def ensure(self, *, wait: bool = True, timeout: float = 300.0) -> bool:
        """Create the table if it is missing; otherwise check it and add missing global indexes.

        Returns:
            True when the table was created.

        Raises:
            SchemaMismatch: The live table differs from the definition in something that
                cannot be changed in place: its keys or their types, or an index's key schema,
                key types, projection type or projected attributes, or a local index is
                missing. The error lists every difference (``.differences``); nothing is
                changed.
        """
        return run_steps(self.transport, self._ensure_steps(wait, timeout))

    def _ensure_steps(self, wait: bool, timeout: float) -> Steps[bool]:
        try:
            described = yield from self._describe_steps()
        except TableNotFound:
            yield from self._create_steps(wait, timeout)
            return True
        problems, missing = schema_mismatches(self, described)
        check_fixable(self, problems)
        for index in missing:
            yield from self._wait_steps(timeout)
            yield Call("UpdateTable", gsi_create_update(self, index), idempotent=False)
        if wait:
            yield from self._wait_steps(timeout)
        return False

    def describe(self) -> dict[str, Any]:
        """The ``Table`` member of DescribeTable.

        Raises:
            TableNotFound: The table does not exist.
        """
        return run_steps(self.transport, self._describe_steps())

    def _describe_steps(self) -> Steps[dict[str, Any]]:
        response = yield Call("DescribeTable", {"TableName": self.name}, idempotent=True)
        table: dict[str, Any] = response["Table"]
        return table

    def exists(self) -> bool:
        """True when the table exists (in any status)."""
        return run_steps(self.transport, self._exists_steps())

    def _exists_steps(self) -> Steps[bool]:
        try:
            yield from self._describe_steps()
        except TableNotFound:
            return False
        return True

    def wait_until_active(self, *, timeout: float = 300.0) -> None:
        """Poll until the table and all its global indexes are ACTIVE.

        Raises:
            TimeoutError: Not active within ``timeout`` seconds.
        """
        run_steps(self.transport, self._wait_steps(timeout))

    def _wait_steps(self, timeout: float) -> Steps[None]:
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            described = yield from self._describe_steps()
            statuses = [described.get("TableStatus")] + [
                g.get("IndexStatus") for g in described.get("GlobalSecondaryIndexes", [])
            ]
            if all(status == "ACTIVE" for status in statuses):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {self.name!r} not ACTIVE after {timeout}s: {statuses}")
            yield Pause(delay)
            delay = min(delay * 2, 2.0)

    def delete(
        self, *, wait: bool = True, missing_ok: bool = False, timeout: float = 300.0
    ) -> None:
        """Delete the table; with ``wait``, return once it is gone.

        Raises:
            TableNotFound: The table does not exist and ``missing_ok`` is false.
        """
        run_steps(self.transport, self._delete_steps(wait, missing_ok, timeout))

    def _delete_steps(self, wait: bool, missing_ok: bool, timeout: float) -> Steps[None]:
        try:
            yield Call("DeleteTable", {"TableName": self.name}, idempotent=False)
        except TableNotFound:
            if missing_ok:
                return
            raise
        if not wait:
            return
        deadline = time.monotonic() + timeout
        delay = 0.05
        while (yield from self._exists_steps()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {self.name!r} still exists after {timeout}s")
            yield Pause(delay)
            delay = min(delay * 2, 2.0)

    # -- the same with await (dynaorm.wire.async_lifecycle) --------------------------------

    async def acreate(self, *, wait: bool = True, timeout: float = 300.0) -> None:
        """:meth:`create` with ``await`` (needs the ``async`` extra).

        Example:
            >>> await shop.acreate()  # doctest: +SKIP
        """
        from dynaorm.wire.async_lifecycle import arun_steps

        await arun_steps(self.transport, self._create_steps(wait, timeout))

    async def aensure(self, *, wait: bool = True, timeout: float = 300.0) -> bool:
        """:meth:`ensure` with ``await``: True when the table was created.

        Example:
            >>> created = await shop.aensure()  # doctest: +SKIP
        """
        from dynaorm.wire.async_lifecycle import arun_steps

        return await arun_steps(self.transport, self._ensure_steps(wait, timeout))

    async def adescribe(self) -> dict[str, Any]:
        """:meth:`describe` with ``await`` (the same dictionary, timestamps as datetimes).

        Example:
            >>> (await shop.adescribe())["TableStatus"]  # doctest: +SKIP
            'ACTIVE'
        """
        from dynaorm.wire.async_lifecycle import arun_steps

        return await arun_steps(self.transport, self._describe_steps())

    async def aexists(self) -> bool:
        """:meth:`exists` with ``await``.

        Example:
            >>> await shop.aexists()  # doctest: +SKIP
            True
        """
        from dynaorm.wire.async_lifecycle import arun_steps

        return await arun_steps(self.transport, self._exists_steps())

    async def adelete(
        self, *, wait: bool = True, missing_ok: bool = False, timeout: float = 300.0
    ) -> None:
        """:meth:`delete` with ``await``.

        Example:
            >>> await shop.adelete(missing_ok=True)  # doctest: +SKIP
        """
        from dynaorm.wire.async_lifecycle import arun_steps

        await arun_steps(self.transport, self._delete_steps(wait, missing_ok, timeout))

    async def await_until_active(self, *, timeout: float = 300.0) -> None:
        """:meth:`wait_until_active` with ``await`` (the convention's ``a`` + its name): poll
        with ``asyncio.sleep`` until the table and its global indexes are ACTIVE.

        Raises:
            TimeoutError: Not active within ``timeout`` seconds.

        Example:
            >>> await shop.await_until_active(timeout=60)  # doctest: +SKIP
        """
        from dynaorm.wire.async_lifecycle import arun_steps

        await arun_steps(self.transport, self._wait_steps(timeout))
