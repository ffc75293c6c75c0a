"""Failed conditions and what a write returns: the stored item decoded, and the error to raise.

A failed condition comes back with the stored item (``ReturnValuesOnConditionCheckFailure=
ALL_OLD``), or, from a server that ignores that parameter, is followed by one consistent read;
it becomes a :class:`~dynaorm.VersionConflict` when the stored version is not the expected
one, and a :class:`~dynaorm.ConditionFailed` otherwise. Every write path (``save``,
``delete``, ``update``, write plans) reports failures through :func:`condition_error`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dynaorm.base.errors import ConditionFailed, DynaormError, VersionConflict
from dynaorm.model.bound_keys import ItemKey
from dynaorm.model.decode import decode_whole
from dynaorm.model.unknown_items import UnknownItem
from dynaorm.wire.connection import TableBinding, bind

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity

__all__ = [
    "condition_error",
    "decode_item",
    "failure_read",
    "observed_by_read",
    "stored_after_failure",
]


def decode_item(entity: type[Entity], raw: Mapping[str, Any] | None) -> Any:
    """The stored item as an instance of ``entity`` (the raw dict if it is of another type)."""
    if not raw:
        return None
    stored = decode_whole(entity, raw, strict=False)
    return dict(raw) if isinstance(stored, UnknownItem) else stored


def stored_after_failure(
    entity: type[Entity], key: ItemKey, exc: ConditionFailed, bound: TableBinding | None = None
) -> tuple[Any, str]:
    """The stored item behind a failed condition, decoded, and how it was observed.

    The server returns the stored item with the failure when it honours
    ``ReturnValuesOnConditionCheckFailure`` and an item exists. When it returned none (no item,
    or a server such as dynalite that ignores the parameter), one consistent GetItem finds out,
    so that no error states what was not observed.

    Args:
        entity: The entity written.
        key: Its key.
        exc: The translated server error.
        bound: The table the write went to (its override, if any); the table as the current
            context sees it when ``None``.

    Returns:
        ``(item, how)``: ``how`` is ``"returned"`` (sent back with the failure), ``"read"``
        (a consistent read just after the failure; ``item`` is ``None`` when it found none) or
        ``"unknown"`` (that read failed too; ``item`` is ``None``).
    """
    if exc.item:
        return decode_item(entity, exc.item), "returned"
    bound = bound or bind(entity.__table__)
    try:
        response = bound.transport.call("GetItem", failure_read(key, bound), idempotent=True)
    except DynaormError:
        return None, "unknown"
    return observed_by_read(entity, response)


def failure_read(key: ItemKey, bound: TableBinding) -> dict[str, Any]:
    """The consistent GetItem that finds the stored item behind a failed condition."""
    return {"TableName": bound.name, "Key": key.to_request(), "ConsistentRead": True}


def observed_by_read(entity: type[Entity], response: Mapping[str, Any]) -> tuple[Any, str]:
    """``(item, "read")`` for the response of :func:`failure_read`."""
    return decode_item(entity, response.get("Item")), "read"


def _describe_stored(stored: Any, how: str, version_name: str | None) -> str:
    """What was seen of the stored item, worded by how it was seen (never more than that)."""
    if how == "unknown":
        return "the server did not return the stored item, and reading it failed"
    if how == "returned":
        seen, found = "the stored item has", "the stored item is on .item"
    else:
        seen, found = (
            "a consistent read after the failure found",
            "a consistent read after the failure found the stored item (on .item)",
        )
    if stored is None:
        return "a consistent read after the failure found no stored item"
    if version_name is None or isinstance(stored, dict):
        return found
    version = getattr(stored, version_name, None)
    return f"{seen} {'no version' if version is None else f'version {version}'}"


def condition_error(
    entity: type[Entity],
    key: ItemKey,
    exc: ConditionFailed,
    *,
    expected: int | None,
    versioned: bool,
    guards: Mapping[str, Any] | None = None,
    bound: TableBinding | None = None,
    observed: tuple[Any, str] | None = None,
) -> ConditionFailed:
    """The error to raise for a failed condition, with the stored item decoded.

    Args:
        entity: The entity written.
        key: Its key.
        exc: The translated server error (its ``item`` is the raw stored item, if any).
        expected: The version the write was conditioned on.
        versioned: Whether the write carried a version condition at all.
        guards: Attribute values (by Python name) an update's index keys were computed from;
            a stored item that differs is reported as the reason.
        bound: The table the write went to (see :func:`stored_after_failure`).
        observed: The stored item and how it was observed, when the caller read it itself
            (the async path, with :func:`failure_read` and :func:`observed_by_read`).

    Returns:
        A :class:`~dynaorm.VersionConflict` when the stored version is not ``expected``,
        otherwise a :class:`~dynaorm.ConditionFailed`. Raise it ``from root_cause(exc)`` so
        its ``__cause__`` is the server's error.
    """
    stored, how = observed or stored_after_failure(entity, key, exc, bound)
    who = f"{entity.__qualname__} {dict(key.key)}"
    name = entity.__version_attribute__ if versioned else None
    seen = _describe_stored(stored, how, name)
    if name is not None and how != "unknown":
        stored_version = getattr(stored, name, None) if stored is not None else None
        if stored_version != expected:
            return VersionConflict(
                f"{who}: expected version {expected}, but {seen}; another writer got there "
                "first. Re-read the item and retry (Entity.mutate or retry_on_conflict do that)",
                expected=expected,
                item=stored,
                code=exc.code,
                operation=exc.operation,
                table=exc.table,
                request_id=exc.request_id,
            )
    reason = f"the condition was false ({seen})"
    if guards and stored is not None and not isinstance(stored, dict):
        stale = [
            f"{n} is {getattr(stored, n)!r}, not {v!r}"
            for n, v in guards.items()
            if getattr(stored, n) != v
        ]
        if stale:
            reason = (
                f"the stored item changed since it was read ({'; '.join(stale)}), so the index "
                "keys computed from this instance would be stale; refresh() it and retry"
            )
    return ConditionFailed(
        f"{who}: {exc.operation or 'write'} not applied: {reason}",
        item=stored,
        code=exc.code,
        operation=exc.operation,
        table=exc.table,
        request_id=exc.request_id,
    )
