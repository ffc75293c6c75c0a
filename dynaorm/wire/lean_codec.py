"""The lean transport's wire format: request bodies, response bodies and error responses of
DynamoDB's JSON protocol (``application/x-amz-json-1.0``), without botocore's shape walk.

A request dict as dynaorm builds it is wire JSON already, but for binary values: ``B`` and
``BS`` hold ``bytes``, which go on the wire base64-encoded. The reverse holds for responses.
Errors become the very ``ClientError`` botocore raises for the same response, so
:mod:`dynaorm.wire.translate` needs no second path.

JSON text is written and read by orjson (a compiled encoder, several times faster than the
standard library's on request bodies); whatever orjson declines (a lone surrogate, an integer
beyond 64 bits, a key that is not text; NaN in a response) goes through :mod:`json`, so every
request that could be encoded before still is. (A JSON number beyond 64 bits in a response
reads as a float; DynamoDB's data-plane responses hold none: numbers in items are text.)

Example:
    >>> encode_request({"Key": {"pk": {"B": b"\\x00"}}})
    b'{"Key":{"pk":{"B":"AA=="}}}'
    >>> decode_body(b'{"Item": {"pk": {"B": "AA=="}}}')
    {'Item': {'pk': {'B': b'\\x00'}}}
"""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from botocore.exceptions import ClientError

from dynaorm.base.typed_json import jsonable

__all__ = ["ErrorFactory", "decode_body", "encode_request", "error_response", "metadata"]

ErrorFactory = Callable[[str], type[ClientError]]
"""Error code -> the exception class botocore raises for it (``client.exceptions.from_code``)."""

_b64decode = base64.b64decode

# A member named B or BS: binary values may be in the body (the object hook is needed). Text
# in a JSON string cannot match: a quote in it is escaped. "BOOL" does not match.
_MAY_HOLD_BINARY = re.compile(rb'"BS?"\s*:')

# What orjson hands to ``jsonable`` (binary, sets) or declines, rather than writing it its own
# way: datetimes, dataclasses and subclasses of the JSON types go to ``jsonable`` (which
# refuses the first two, as json.dumps does), then to the standard encoder.
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_orjson_dumps = orjson.dumps
_orjson_loads = orjson.loads

# The standard encoder, for what orjson declines: the same compact text. Without the
# circular-reference check (a fifth of the time): requests are trees, and one that is not
# still fails before it is sent (RecursionError instead of ValueError).
_encoder = json.JSONEncoder(default=jsonable, check_circular=False, separators=(",", ":"))


def encode_request(params: Mapping[str, Any]) -> bytes:
    """The HTTP body of a request: compact JSON of ``params`` (keys in the order given,
    binary as base64, sets as sorted lists); parsed, it equals the body botocore's JSON
    serializer writes for the same request."""
    try:
        return _orjson_dumps(params, default=jsonable, option=_ORJSON_OPTIONS)
    except TypeError:  # (orjson.JSONEncodeError) what orjson declines, see above
        return _encoder.encode(params).encode("utf-8")


def _loads(body: bytes) -> Any:
    try:
        return _orjson_loads(body)
    except ValueError:  # (orjson.JSONDecodeError) NaN, integers beyond 64 bits, not JSON
        return json.loads(body)


def _binary(value: dict[str, Any]) -> Any:
    """``json.loads`` object hook: an attribute value ``{"B": text}``/``{"BS": [text]}``
    becomes bytes. Only attribute values are one-key objects holding ``B`` or ``BS``: an
    item or map whose only attribute is named ``B`` holds an object there, not text."""
    if len(value) == 1:
        blob = value.get("B")
        if isinstance(blob, str):
            return {"B": _b64decode(blob)}
        blobs = value.get("BS")
        if isinstance(blobs, list) and all(isinstance(b, str) for b in blobs):
            return {"BS": [_b64decode(b) for b in blobs]}
    return value


def decode_body(body: bytes) -> dict[str, Any]:
    """A response body as botocore parses it (binary values as bytes, ``null`` members
    dropped), without ``ResponseMetadata``."""
    if not body:
        return {}
    if _MAY_HOLD_BINARY.search(body) is None:
        parsed = _loads(body)
    else:
        parsed = json.loads(body, object_hook=_binary)
    if not isinstance(parsed, dict):
        raise ValueError("a DynamoDB response body is a JSON object")
    if None in parsed.values():
        parsed = {key: value for key, value in parsed.items() if value is not None}
    return parsed


def metadata(status: int, headers: Mapping[str, str], *, with_id: bool = True) -> dict[str, Any]:
    """The ``ResponseMetadata`` botocore adds to every parsed response (``headers`` with
    lower-case names), the client not having retried (dynaorm does); ``with_id``: with the
    ``RequestId`` header (botocore leaves it out of an error that is not JSON)."""
    found: dict[str, Any] = {}
    request_id = headers.get("x-amzn-requestid")
    if request_id is not None and with_id:
        found["RequestId"] = request_id
    found["HTTPStatusCode"] = status
    found["HTTPHeaders"] = dict(headers)
    found["RetryAttempts"] = 0
    return found


def _error_body(status: int, body: bytes) -> dict[str, Any] | None:
    """The JSON object of an error body as botocore reads it; ``None`` for the generic answer
    of a server fault (an empty or HTML body with a 5xx status)."""
    stripped = body.strip()
    if status >= 500 and (not stripped or stripped.startswith(b"<html>")):
        return None
    try:
        return decode_body(body)
    except ValueError:  # not JSON: botocore keeps the text as the message
        return {"message": body.decode("utf-8", "replace")}


def error_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    members: Mapping[str, frozenset[str]],
) -> dict[str, Any]:
    """The parsed error response botocore builds: ``Error`` (``Code`` the part of ``__type``
    after ``#``, ``Message``), ``ResponseMetadata``, and the members the error's shape models
    (``members``: error code -> member names), e.g. ``Item`` or ``CancellationReasons``."""
    parsed = _error_body(status, body)
    if parsed is None:
        # Not a JSON error: botocore names it by its status.
        return {
            "Error": {"Code": str(status), "Message": http.client.responses.get(status, "")},
            "ResponseMetadata": metadata(status, headers, with_id=False),
        }
    code = str(parsed.get("__type", status))
    code = code.split(":", 1)[0] if ":" in code else code
    code = code.rsplit("#", 1)[1] if "#" in code else code
    message = parsed.get("message", parsed.get("Message", ""))
    response: dict[str, Any] = {
        "Error": {"Message": message, "Code": code},
        "ResponseMetadata": metadata(status, headers),
    }
    modeled = members.get(code)
    if modeled:
        response.update((name, parsed[name]) for name in modeled if name in parsed)
    return response


def error_members(error_shapes: Any) -> dict[str, frozenset[str]]:
    """Error code -> the members its shape models (from a botocore service model's
    ``error_shapes``)."""
    return {
        shape.error_code: frozenset(shape.members)
        for shape in error_shapes
        if getattr(shape, "error_code", None)
    }
