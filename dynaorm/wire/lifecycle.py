"""A table's lifecycle on the server: create, ensure (create or check and add indexes),
describe, wait until active, delete."""

from __future__ import annotations

import time
from typing import Any

from dynaorm.base.errors import TableNotFound
from dynaorm.model.schema import check_fixable, gsi_create_update, schema_mismatches
from dynaorm.wire.connection import ConnectedTable

__all__ = ["ManagedTable"]


class ManagedTable(ConnectedTable):
    """A connected table with its lifecycle methods (part of :class:`dynaorm.Table`)."""

    def create(self, *, wait: bool = True, timeout: float = 300.0) -> None:
        """Create the table and its indexes; with ``wait``, return once all are ACTIVE.

        Raises:
            ServiceError: The table exists already (``ResourceInUseException``) or the request
                was refused.
        """
        self.call("CreateTable", self.create_request(), idempotent=False)
        if wait:
            self.wait_until_active(timeout=timeout)
        if self.ttl_attribute:
            self._enable_ttl()

    def _enable_ttl(self) -> None:
        self.call(
            "UpdateTimeToLive",
            {
                "TableName": self.name,
                "TimeToLiveSpecification": {"Enabled": True, "AttributeName": self.ttl_attribute},
            },
            idempotent=True,
        )

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
        try:
            described = self.describe()
        except TableNotFound:
            self.create(wait=wait, timeout=timeout)
            return True
        problems, missing = schema_mismatches(self, described)
        check_fixable(self, problems)
        for index in missing:
            self.wait_until_active(timeout=timeout)
            self.call("UpdateTable", gsi_create_update(self, index), idempotent=False)
        if wait:
            self.wait_until_active(timeout=timeout)
        return False

    def describe(self) -> dict[str, Any]:
        """The ``Table`` member of DescribeTable.

        Raises:
            TableNotFound: The table does not exist.
        """
        response = self.call("DescribeTable", {"TableName": self.name}, idempotent=True)
        table: dict[str, Any] = response["Table"]
        return table

    def exists(self) -> bool:
        """True when the table exists (in any status)."""
        try:
            self.describe()
        except TableNotFound:
            return False
        return True

    def wait_until_active(self, *, timeout: float = 300.0) -> None:
        """Poll until the table and all its global indexes are ACTIVE.

        Raises:
            TimeoutError: Not active within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            described = self.describe()
            statuses = [described.get("TableStatus")] + [
                g.get("IndexStatus") for g in described.get("GlobalSecondaryIndexes", [])
            ]
            if all(status == "ACTIVE" for status in statuses):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {self.name!r} not ACTIVE after {timeout}s: {statuses}")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def delete(
        self, *, wait: bool = True, missing_ok: bool = False, timeout: float = 300.0
    ) -> None:
        """Delete the table; with ``wait``, return once it is gone.

        Raises:
            TableNotFound: The table does not exist and ``missing_ok`` is false.
        """
        try:
            self.call("DeleteTable", {"TableName": self.name}, idempotent=False)
        except TableNotFound:
            if missing_ok:
                return
            raise
        if not wait:
            return
        deadline = time.monotonic() + timeout
        delay = 0.05
        while self.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {self.name!r} still exists after {timeout}s")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
