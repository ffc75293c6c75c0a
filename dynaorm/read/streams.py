"""DynamoDB Streams records decoded into typed changes (:class:`Change`).

Two shapes arrive: a Lambda event (``{"Records": [...]}``, images with binary values as base64
text and ``ApproximateCreationDateTime`` as epoch seconds) and a ``GetRecords`` response as
botocore returns it (binary values as bytes, the time as a ``datetime``). Both decode the
same way; images become entities through the decoder every multi-type read uses (an
:class:`~dynaorm.UnknownItem` for a type no entity of the table claims).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import attrs

from dynaorm.base.errors import ValidationError
from dynaorm.base.typed_json import binary_from_text
from dynaorm.model.bound_keys import ItemKey
from dynaorm.model.decode import Decoder
from dynaorm.model.unknown_items import UnknownItem

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table

__all__ = ["Change", "decode_stream_records"]

EventName = Literal["INSERT", "MODIFY", "REMOVE"]
ViewType = Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]
_EVENTS = ("INSERT", "MODIFY", "REMOVE")
_VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
_TTL_PRINCIPAL = "dynamodb.amazonaws.com"


@attrs.frozen
class Change:
    """One change to one item, from a DynamoDB Streams record.

    Attributes:
        event: ``"INSERT"``, ``"MODIFY"`` or ``"REMOVE"``.
        keys: The item's primary key: an :class:`~dynaorm.ItemKey` when the entity type is
            known (from an image, or from the key alone when exactly one entity's key
            templates match it), otherwise the raw typed key.
        old: The item before the change (an entity or :class:`~dynaorm.UnknownItem`);
            ``None`` when the stream does not carry old images or there was no item.
        new: The item after the change, likewise; ``None`` for a removal.
        entity: The entity class of the item, when known.
        sequence_number: The record's sequence number (orders changes to one item).
        approximate_time: When the change was made (UTC), when the record says.
        view_type: The stream's view type: ``"KEYS_ONLY"``, ``"NEW_IMAGE"``, ``"OLD_IMAGE"``
            or ``"NEW_AND_OLD_IMAGES"``.
        is_ttl_expiry: The item was removed by Time to Live, not by a request.
        event_id: The record's unique identifier.
        size_bytes: The record's size, when the record says.
        record: The record as received.
    """

    event: EventName
    keys: ItemKey | Mapping[str, Any]
    old: Entity | UnknownItem | None
    new: Entity | UnknownItem | None
    entity: type[Entity] | None
    sequence_number: str | None
    approximate_time: datetime | None
    view_type: ViewType | None
    is_ttl_expiry: bool = False
    event_id: str | None = None
    size_bytes: int | None = None
    record: Mapping[str, Any] = attrs.field(default=attrs.Factory(dict), repr=False, eq=False)


def _binary(value: Any, where: str) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    try:
        return binary_from_text(value)
    except ValueError as exc:
        raise ValidationError(f"{where}: {exc}") from None


def _typed(value: Any, where: str) -> dict[str, Any]:
    """One attribute value in botocore's form (binary as bytes), from either shape."""
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ValidationError(f"{where}: {value!r} is not a typed DynamoDB value")
    kind, inner = next(iter(value.items()))
    if kind == "B":
        return {"B": _binary(inner, where)}
    if kind == "BS":
        return {"BS": [_binary(element, where) for element in inner]}
    if kind == "M":
        return {"M": _image(inner, where)}
    if kind == "L":
        return {"L": [_typed(element, f"{where}[{i}]") for i, element in enumerate(inner)]}
    return {str(kind): inner}


def _image(image: Any, where: str) -> dict[str, Any]:
    if not isinstance(image, Mapping):
        raise ValidationError(f"{where}: an image must be a map, got {type(image).__name__}")
    return {str(name): _typed(value, f"{where}.{name}") for name, value in image.items()}


def _time(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    raise ValidationError(f"{where}: ApproximateCreationDateTime {value!r} is not a time")


def _is_ttl(record: Mapping[str, Any]) -> bool:
    identity = record.get("userIdentity") or {}
    if not isinstance(identity, Mapping):
        return False
    # Lambda spells the members in camel case, GetRecords (botocore) in Pascal case.
    kind = identity.get("type", identity.get("Type"))
    principal = identity.get("principalId", identity.get("PrincipalId"))
    return bool(kind == "Service" and principal == _TTL_PRINCIPAL)


def _entity_from_key(table: Table, keys: Mapping[str, Any]) -> type[Entity] | None:
    """The one entity whose primary-key templates parse ``keys`` (templates of one table
    never produce the same key, so at most one does unless a template is unconstrained)."""
    matches = []
    for entity in table.entities.values():
        try:
            entity.__primary__.parse(keys)
        except (ValidationError, KeyError, TypeError):
            continue
        matches.append(entity)
    return matches[0] if len(matches) == 1 else None


def _records(source: Any) -> list[Any]:
    if isinstance(source, Mapping):
        if "Records" not in source:
            raise ValidationError(
                "a stream event or GetRecords response needs a 'Records' list; got keys "
                f"{sorted(source)}"
            )
        source = source["Records"]
    if isinstance(source, str | bytes) or not isinstance(source, Iterable):
        raise ValidationError(f"stream records must be a list, got {type(source).__name__}")
    return list(source)


def decode_stream_records(table: Table, records: Any) -> list[Change]:
    """Decode DynamoDB Streams records of ``table`` into :class:`Change` objects.

    Args:
        table: The table the stream belongs to (its entities decode the images).
        records: A Lambda event (``{"Records": [...]}``), a ``GetRecords`` response, or a
            list of records in either shape.

    Returns:
        One change per record, in order.

    Raises:
        ValidationError: A record is malformed (no ``dynamodb`` member, an unknown event
            name or view type, an image that is not a typed map, binary that is not base64);
            the message gives the record's position.

    Example:
        >>> def handler(event, context):  # doctest: +SKIP
        ...     for change in shop.changes(event):
        ...         if change.event == "INSERT" and isinstance(change.new, Order):
        ...             notify(change.new)
    """
    # Never strict, whatever the table's unknown_items policy: a stream handler that raises
    # makes Lambda retry the same batch until the records expire.
    decode = Decoder(table, strict=False)
    changes = []
    for position, record in enumerate(_records(records)):
        where = f"stream record {position}"
        if not isinstance(record, Mapping):
            raise ValidationError(f"{where}: a record must be a map, got {type(record).__name__}")
        event = record.get("eventName")
        if event not in _EVENTS:
            raise ValidationError(f"{where}: eventName {event!r} is not one of {_EVENTS}")
        body = record.get("dynamodb")
        if not isinstance(body, Mapping):
            raise ValidationError(f"{where}: the record has no 'dynamodb' member")
        view_type = body.get("StreamViewType")
        if view_type is not None and view_type not in _VIEW_TYPES:
            raise ValidationError(
                f"{where}: StreamViewType {view_type!r} is not one of {_VIEW_TYPES}"
            )
        raw_keys = _image(body.get("Keys") or {}, f"{where}.Keys")
        images = {}
        for member in ("OldImage", "NewImage"):
            raw = body.get(member)
            images[member] = None if raw is None else decode(_image(raw, f"{where}.{member}"))
        old, new = images["OldImage"], images["NewImage"]
        known = next(
            (i for i in (new, old) if i is not None and not isinstance(i, UnknownItem)), None
        )
        entity = type(known) if known is not None else None
        if entity is None and old is None and new is None:
            entity = _entity_from_key(table, raw_keys)
        keys: ItemKey | Mapping[str, Any] = raw_keys
        if entity is not None and all("S" in value for value in raw_keys.values()):
            keys = ItemKey(entity, {name: value["S"] for name, value in raw_keys.items()})
        size = body.get("SizeBytes")
        changes.append(
            Change(
                event=event,
                keys=keys,
                old=old,
                new=new,
                entity=entity,
                sequence_number=body.get("SequenceNumber"),
                approximate_time=_time(body.get("ApproximateCreationDateTime"), where),
                view_type=view_type,
                is_ttl_expiry=event == "REMOVE" and _is_ttl(record),
                event_id=record.get("eventID"),
                size_bytes=int(size) if size is not None else None,
                record=record,
            )
        )
    return changes
