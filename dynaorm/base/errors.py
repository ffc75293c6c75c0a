"""The dynaorm exception hierarchy.

Every error dynaorm raises derives from :class:`DynaormError`::

    DynaormError
    ├── ValidationError (ValueError)        bad input, caught before any request
    ├── ConfigurationError                  bad definitions or settings
    │   └── SchemaMismatch                  the live table differs from its definition
    ├── InvalidCursor (ValueError)          tampered, foreign or stale pagination cursor
    ├── UnknownEntityType (LookupError)     an item whose type no entity of the table claims
    ├── AttributeNotLoaded (AttributeError) reading an attribute a projected read did not load
    ├── BatchIncomplete                     a batch not completed: what was applied, not, unknown
    ├── ImportIncomplete                    an import stopped part-way; says which lines landed
    ├── EndpointUnavailable (ConnectionError) the server could not be reached
    │   └── RequestTimeout (TimeoutError)   no answer in time (timeout or retry deadline)
    └── ServiceError                        the server answered with an error
        ├── ConditionFailed                 a condition expression was false
        │   └── VersionConflict             an optimistic-lock version did not match
        ├── TransactionCanceled             a transaction was cancelled, reasons per action
        ├── Throttled                       throughput or request-rate limits exceeded
        └── TableNotFound (LookupError)     the table does not exist

Errors raised because of a botocore error keep it as ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "AttributeNotLoaded",
    "BatchIncomplete",
    "ConditionFailed",
    "ConfigurationError",
    "DynaormError",
    "EndpointUnavailable",
    "ImportIncomplete",
    "InvalidCursor",
    "RequestTimeout",
    "SchemaMismatch",
    "ServiceError",
    "TableNotFound",
    "Throttled",
    "TransactionCanceled",
    "UnknownEntityType",
    "ValidationError",
    "VersionConflict",
]


class DynaormError(Exception):
    """Base class of every error raised by dynaorm."""


class ValidationError(DynaormError, ValueError):
    """Input that DynamoDB would reject, or that would corrupt data, caught before any request.

    Examples: a key value containing the template delimiter, a missing key part, an item over
    400 KB, more than 100 actions in one transaction.
    """


class ConfigurationError(DynaormError):
    """A definition (table, index, entity, key template) or a setting (endpoint, region) is bad."""


class SchemaMismatch(ConfigurationError):
    """The live table differs from its definition in ways ``ensure()`` cannot fix in place.

    Attributes:
        table: The table name.
        differences: Every difference found, each a :class:`~dynaorm.SchemaDifference`
            naming the table or index, the aspect (key schema, key types, projection), what
            the definition expects and what the table has.
    """

    def __init__(self, message: str, *, table: str, differences: Sequence[Any]) -> None:
        super().__init__(message)
        self.table = table
        self.differences = tuple(differences)


class InvalidCursor(DynaormError, ValueError):
    """A pagination cursor or scan checkpoint was malformed, tampered with, made with a secret
    that is not configured, issued for another query or scan, or expired (``max_age``)."""


class UnknownEntityType(DynaormError, LookupError):
    """An item was read whose entity-type attribute names no entity registered on the table.

    Attributes:
        type_name: The stored entity-type value (``None`` when the attribute is missing).
        item: The raw item as DynamoDB returned it.
    """

    def __init__(self, message: str, *, type_name: str | None, item: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.item = dict(item)


class AttributeNotLoaded(DynaormError, AttributeError):
    """An attribute of a partial entity (read with ``select()`` or through an index that does
    not project it) was read, but the read did not load it.

    A partial entity never shows a default or ``None`` for an attribute it did not read:
    ``select()`` the attribute too, or ``refresh()`` the instance to read it whole. Being an
    ``AttributeError``, ``hasattr(entity, name)`` is ``False`` and ``getattr(entity, name,
    default)`` returns ``default`` for such an attribute.

    Attributes:
        entity: The entity class.
        attribute: The Python name of the attribute.
        key: The item's primary key (physical attribute -> text), as read.
    """

    def __init__(
        self, message: str, *, entity: type[Any], attribute: str, key: Mapping[str, Any]
    ) -> None:
        super().__init__(message)
        self.entity = entity
        self.attribute = attribute
        self.key = dict(key)


class BatchIncomplete(DynaormError):
    """A batch could not be completed within its retry policy.

    For a batch write, every write handed in is in exactly one class: applied (counted in
    ``applied``), not applied (``unprocessed``), or of unknown outcome (``unknown``: sent, no
    answer came, so the server may or may not have applied it); or it was superseded by a
    later write of the same key. For a batch get, ``unprocessed`` holds the keys not read and
    ``unknown`` is empty (reads change nothing).

    Attributes:
        unprocessed: The entities (deletes: keys) certainly not applied, or the keys not read.
        unknown: The entities (deletes: keys) that may or may not have been applied.
        applied: How many writes were applied (0 for a batch get).
        result: The batch's full result (a ``BatchWriteResult``) when a batch write raised it.

    Example:
        >>> exc = BatchIncomplete("ran out", unprocessed=["a"], unknown=["b"], applied=3)
        >>> exc.unprocessed, exc.unknown, exc.applied
        (['a'], ['b'], 3)
    """

    def __init__(
        self,
        message: str,
        *,
        unprocessed: Sequence[Any],
        unknown: Sequence[Any] = (),
        applied: int = 0,
        result: Any = None,
    ) -> None:
        super().__init__(message)
        self.unprocessed = list(unprocessed)
        self.unknown = list(unknown)
        self.applied = applied
        self.result = result


class ImportIncomplete(DynaormError):
    """An import stopped part-way: some lines of the file were written, the rest were not.

    Attributes:
        written: The line numbers (1-based) whose items were written, ascending.
        unknown: The lines sent without an answer: they may or may not have been written
            (importing them again is safe).
        line: The line that stopped the import (a bad line), or ``None`` when writing failed.
    """

    def __init__(
        self,
        message: str,
        *,
        written: Sequence[int],
        line: int | None,
        unknown: Sequence[int] = (),
    ) -> None:
        super().__init__(message)
        self.written = tuple(written)
        self.unknown = tuple(unknown)
        self.line = line


class EndpointUnavailable(DynaormError, ConnectionError):
    """The DynamoDB endpoint could not be reached or the connection broke."""


class RequestTimeout(EndpointUnavailable, TimeoutError):
    """The server did not answer in time: a connection or read timed out, or the retry
    policy's deadline cut the attempt in flight off.

    A request that timed out while waiting for its response may have been applied.
    """


class ServiceError(DynaormError):
    """The server answered a request with an error.

    Attributes:
        code: The DynamoDB error code, e.g. ``"ValidationException"``.
        operation: The API operation, e.g. ``"PutItem"``.
        table: The table the request named (``None`` when it named none, e.g. ListTables).
        request_id: The server's id of the request (its ``x-amzn-RequestId``), to quote to
            AWS support or find in server logs; ``None`` when the server sent none.

    Example:
        >>> exc = ServiceError("PutItem: ValidationException: bad", code="ValidationException",
        ...                    operation="PutItem", table="shop", request_id="R1")
        >>> exc.operation, exc.table, exc.request_id
        ('PutItem', 'shop', 'R1')
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        operation: str = "",
        table: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.operation = operation
        self.table = table
        self.request_id = request_id


class ConditionFailed(ServiceError):
    """A condition expression evaluated to false; nothing was written.

    Attributes:
        item: The item as it was stored when the condition failed (an entity instance when its
            type is known, the raw item otherwise, ``None`` if there was no item).
    """

    def __init__(
        self,
        message: str,
        *,
        item: Any = None,
        code: str = "",
        operation: str = "",
        table: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(
            message, code=code, operation=operation, table=table, request_id=request_id
        )
        self.item = item


class VersionConflict(ConditionFailed):
    """Another writer changed the item since it was read (optimistic locking).

    Attributes:
        expected: The version this writer held.
        item: The item as currently stored (``None`` if it was deleted).
    """

    def __init__(
        self,
        message: str,
        *,
        expected: int | None,
        item: Any = None,
        code: str = "",
        operation: str = "",
        table: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(
            message,
            item=item,
            code=code,
            operation=operation,
            table=table,
            request_id=request_id,
        )
        self.expected = expected


class TransactionCanceled(ServiceError):
    """A transaction was cancelled; nothing in it was applied.

    Attributes:
        reasons: One entry per action, in action order (see the transactions module).
    """

    def __init__(
        self,
        message: str,
        *,
        reasons: Sequence[Any] = (),
        code: str = "",
        operation: str = "",
        table: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(
            message, code=code, operation=operation, table=table, request_id=request_id
        )
        self.reasons = list(reasons)

    @property
    def failures(self) -> list[Any]:
        """The reasons of the actions that failed (those whose code is not ``"None"``).

        Example:
            >>> exc = TransactionCanceled("x", reasons=[{"Code": "None"},
            ...                                         {"Code": "ConditionalCheckFailed"}])
            >>> exc.failures
            [{'Code': 'ConditionalCheckFailed'}]
        """
        return [r for r in self.reasons if _reason_code(r) not in (None, "", "None")]


def _reason_code(reason: Any) -> str | None:
    """The code of a raw (``{"Code": ...}``) or mapped (``.code``) cancellation reason."""
    code = reason.get("Code") if isinstance(reason, Mapping) else getattr(reason, "code", None)
    return None if code is None else str(code)


class Throttled(ServiceError):
    """The request exceeded provisioned throughput or a request-rate limit."""


class TableNotFound(ServiceError, LookupError):
    """The table (or index) named by the request does not exist.

    The message names the table, the region and the endpoint the request went to, and says
    how to create the table (``table.create()`` or ``dynaorm create MODULE:TABLE``).
    """
