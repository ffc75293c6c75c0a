"""The one place where botocore errors become dynaorm errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ChecksumError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError as BotoConnectTimeout,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)

from dynaorm.base.errors import (
    ConditionFailed,
    ConfigurationError,
    DynaormError,
    EndpointUnavailable,
    RequestTimeout,
    ServiceError,
    TableNotFound,
    Throttled,
    TransactionCanceled,
)

__all__ = [
    "THROTTLING_CODES",
    "is_retryable",
    "request_id",
    "root_cause",
    "table_of",
    "translate",
]

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "Throttling",
        "TooManyRequestsException",
    }
)
SERVER_FAULT_CODES = frozenset(
    {"InternalServerError", "InternalFailure", "ServiceUnavailable", "InternalServerException"}
)

# Error code -> the dynaorm class it becomes. Anything else is a plain ServiceError.
CODE_MAP: dict[str, type[ServiceError]] = {
    "ConditionalCheckFailedException": ConditionFailed,
    "ResourceNotFoundException": TableNotFound,
    "TransactionCanceledException": TransactionCanceled,
    **dict.fromkeys(THROTTLING_CODES, Throttled),
}

_CONNECTION_ERRORS = (
    EndpointConnectionError,
    ConnectionClosedError,
    ReadTimeoutError,
    BotoConnectTimeout,
)


def error_code(exc: BaseException) -> str:
    """The DynamoDB error code of a botocore ClientError ('' for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def is_retryable(exc: BaseException, *, idempotent: bool) -> bool:
    """Whether ``exc`` may be retried.

    Throttling is always retryable: the request was refused before it was applied. Server
    faults, broken connections and corrupted responses (an ``x-amz-crc32`` mismatch) may hide
    an applied write, so they are retried only for idempotent requests (reads, unconditional
    puts/deletes, token-carrying transactions).
    """
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code in THROTTLING_CODES:
            return True
        return idempotent and (code in SERVER_FAULT_CODES or _status(exc) >= 500)
    return idempotent and isinstance(exc, (*_CONNECTION_ERRORS, ChecksumError))


def maybe_applied(exc: BaseException) -> bool:
    """Whether the request that failed with ``exc`` may have been applied by the server.

    False only when it certainly was not: refused with an HTTP 4xx error (throttling and
    validation errors included), or never sent (the connection failed). Server faults, read
    timeouts, broken connections and anything unrecognised may hide an applied request.
    """
    if isinstance(exc, DynaormError) and exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, ClientError):
        return error_code(exc) in SERVER_FAULT_CODES or not 400 <= _status(exc) < 500
    return not isinstance(exc, EndpointConnectionError | BotoConnectTimeout)


def request_id(exc: ClientError) -> str | None:
    """The server's id of the request that failed with ``exc`` (``x-amzn-RequestId``)."""
    meta: Mapping[str, Any] = exc.response.get("ResponseMetadata") or {}
    found = meta.get("RequestId") or (meta.get("HTTPHeaders") or {}).get("x-amzn-requestid")
    return str(found) if found else None


def table_of(request: Mapping[str, Any]) -> str | None:
    """The table a request names: ``TableName``, or the first of a batch's ``RequestItems``
    or a transaction's actions (``None`` for requests that name none)."""
    name = request.get("TableName")
    if name is not None:
        return str(name)
    items = request.get("RequestItems")
    if items:
        return str(next(iter(items)))
    for action in request.get("TransactItems") or ():
        for body in action.values():
            if isinstance(body, Mapping) and "TableName" in body:
                return str(body["TableName"])
    return None


def translate(
    exc: Exception,
    operation: str,
    *,
    table: str | None = None,
    region: str | None = None,
    endpoint: str | None = None,
) -> DynaormError:
    """Map a botocore exception to the dynaorm error that describes it.

    Every :class:`~dynaorm.ServiceError` carries ``operation``, ``table`` and the server's
    ``request_id``; a :class:`~dynaorm.TableNotFound` message also names the region and the
    endpoint, and says how to create the table. The caller raises the result ``from exc`` so
    the original stays available as ``__cause__``.

    Args:
        exc: The botocore exception.
        operation: The API operation, e.g. ``"GetItem"``.
        table: The table the request named.
        region: The region the request went to.
        endpoint: The endpoint the request went to.
    """
    if isinstance(exc, DynaormError):
        return exc
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
        cls = CODE_MAP.get(code, ServiceError)
        text = f"{operation}: {code}: {message}"
        context: dict[str, Any] = {
            "code": code,
            "operation": operation,
            "table": table,
            "request_id": request_id(exc),
        }
        if cls is ConditionFailed:
            return ConditionFailed(text, item=_raw_item(exc.response), **context)
        if cls is TransactionCanceled:
            reasons = exc.response.get("CancellationReasons", [])
            return TransactionCanceled(text, reasons=reasons, **context)
        if cls is TableNotFound:
            text = (
                f"{text}: table {table!r} does not exist in region {region or '?'} at "
                f"{endpoint or '?'}; create it with table.create() (or `dynaorm create "
                "MODULE:TABLE` from the command line)"
            )
        return cls(text, **context)
    if isinstance(exc, ReadTimeoutError | BotoConnectTimeout):
        return RequestTimeout(f"{operation}: {exc}")
    if isinstance(exc, _CONNECTION_ERRORS):
        return EndpointUnavailable(f"{operation}: {exc}")
    if isinstance(exc, NoRegionError | NoCredentialsError):
        return ConfigurationError(
            f"{operation}: {exc}. Set a region/credentials with dynaorm.configure(...), "
            "the table's settings, DYNAORM_ENDPOINT, or the standard AWS configuration."
        )
    if isinstance(exc, BotoCoreError):
        return ServiceError(f"{operation}: {exc}", operation=operation, table=table)
    raise exc


def root_cause(exc: BaseException) -> BaseException:
    """The server's error behind a translated dynaorm error, for ``raise ... from`` it.

    A write path that turns the translated :class:`~dynaorm.ConditionFailed` (or
    :class:`~dynaorm.TransactionCanceled`) into a more precise error raises the new one from
    this, so its ``__cause__`` is the botocore error, as every dynaorm error's is, rather than
    the intermediate dynaorm error.
    """
    return exc.__cause__ if exc.__cause__ is not None else exc


def _raw_item(response: Mapping[str, Any]) -> dict[str, Any] | None:
    item = response.get("Item")
    return dict(item) if item else None
