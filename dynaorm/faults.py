"""Deterministic fault injection for tests, through botocore event hooks.

Local servers never throttle, never fail with a 5xx and never hand back ``UnprocessedItems``, so
code that must survive those cannot be exercised against them. A :class:`FaultInjector` hooks
into a botocore client's event system (no library code path changes) and, per call:

* answers with a throttling error (HTTP 400) or ``InternalServerError`` (HTTP 500) without
  reaching the server;
* holds back part of a ``BatchWriteItem``/``BatchGetItem`` request and reports the held-back
  items or keys as ``UnprocessedItems``/``UnprocessedKeys``, as DynamoDB does under load;
* lets the request reach the server, then loses the response (a broken connection), so the
  write is applied but the caller cannot know it.

Every decision is drawn from a random generator seeded with ``seed``, the operation, the request
(with the table's name left out) and how often that exact request was seen before. The same seed
and the same requests therefore give the same faults, run after run, whatever order threads send
them in.

Example::

    from dynaorm.faults import FaultInjector

    with FaultInjector(seed=7, throttle=0.1, unprocessed=0.3).install(shop) as faults:
        with shop.batch_write(policy=RetryPolicy(max_attempts=20, base_delay=0.001)) as batch:
            for order in orders:
                batch.put(order)
    print(faults.stats)   # FaultStats(calls=..., throttled=..., unprocessed=..., ...)
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import threading
from collections.abc import Collection, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import attrs
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ConnectionClosedError

from dynaorm._errors import ValidationError
from dynaorm._table import Table

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = ["FaultInjector", "FaultStats"]

_CONTEXT_KEY = "dynaorm.fault"
_EVENTS = ("before-parameter-build.dynamodb", "before-send.dynamodb", "after-call.dynamodb")
_BATCH = {"BatchWriteItem": "UnprocessedItems", "BatchGetItem": "UnprocessedKeys"}


@attrs.frozen
class FaultStats:
    """What an injector did so far.

    Attributes:
        calls: Calls that matched the injector's operations and tables.
        throttled: Calls answered with a throttling error.
        server_errors: Calls answered with ``InternalServerError``.
        lost_responses: Calls applied by the server whose response was then lost.
        unprocessed: Items and keys handed back as unprocessed, over all calls.
        unprocessed_calls: Calls that handed back at least one unprocessed item or key.
    """

    calls: int = 0
    throttled: int = 0
    server_errors: int = 0
    lost_responses: int = 0
    unprocessed: int = 0
    unprocessed_calls: int = 0


@attrs.define
class _Plan:
    kind: str = "pass"  # pass | throttle | server_error | all_unprocessed
    held_back: dict[str, Any] = attrs.Factory(dict)  # table -> items, or -> {"Keys": [...]}
    kept: dict[str, Any] = attrs.Factory(dict)  # what is still sent when some is held back
    everything: dict[str, Any] = attrs.Factory(dict)  # the whole RequestItems (all_unprocessed)
    lose_response: bool = False


def _fraction(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValidationError(f"FaultInjector: {name} must be between 0 and 1, got {value!r}")
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _tables_of(params: Mapping[str, Any]) -> set[str]:
    names = set(params.get("RequestItems", {}))
    if "TableName" in params:
        names.add(params["TableName"])
    for item in params.get("TransactItems", ()):
        for action in item.values():
            names.add(action.get("TableName", ""))
    return names


class _Body:
    """The ``raw`` member of a canned :class:`AWSResponse`."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **kwargs: Any) -> list[bytes]:
        return [self._data]


def _response(request: Any, status: int, body: Mapping[str, Any]) -> AWSResponse:
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.0"
    headers["x-amzn-RequestId"] = "dynaorm-fault-injector"
    data = json.dumps(body, default=_jsonable).encode()
    return AWSResponse(request.url, status, headers, _Body(data))


class FaultInjector:
    """Seeded, deterministic faults for DynamoDB calls, through botocore event hooks.

    Args:
        seed: Seeds every decision; the same seed and requests give the same faults.
        throttle: Fraction of calls refused with ``throttle_code`` (HTTP 400).
        server_error: Fraction of calls refused with ``InternalServerError`` (HTTP 500).
        unprocessed: Fraction of each batch request's items (keys) held back and reported as
            unprocessed. Rounded stochastically, so a 1-item request is held back with this
            probability; ``1.0`` holds back everything.
        lost_response: Fraction of calls the server applies but whose response is replaced by
            a broken connection (botocore's ``ConnectionClosedError``).
        operations: Operation names to affect (e.g. ``{"BatchWriteItem"}``); ``None``: all.
        limit: At most this many calls get a fault; later calls pass untouched.
        throttle_code: The error code throttled calls carry.

    Raises:
        ValidationError: A fraction is outside ``[0, 1]`` or ``throttle + server_error > 1``.

    Example:
        >>> injector = FaultInjector(seed=1, throttle=0.1, unprocessed=0.3)
        >>> injector.stats.calls
        0
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        throttle: float = 0.0,
        server_error: float = 0.0,
        unprocessed: float = 0.0,
        lost_response: float = 0.0,
        operations: Collection[str] | None = None,
        limit: int | None = None,
        throttle_code: str = "ProvisionedThroughputExceededException",
    ) -> None:
        self.seed = seed
        self.throttle = _fraction("throttle", throttle)
        self.server_error = _fraction("server_error", server_error)
        self.unprocessed = _fraction("unprocessed", unprocessed)
        self.lost_response = _fraction("lost_response", lost_response)
        if throttle + server_error > 1.0:
            raise ValidationError("FaultInjector: throttle + server_error must not exceed 1")
        self.operations = frozenset(operations) if operations is not None else None
        self.limit = limit
        self.throttle_code = throttle_code
        self._tables: frozenset[str] | None = None
        self._client: BaseClient | None = None
        self._lock = threading.Lock()
        self._seen: dict[bytes, int] = {}
        self._faults = 0
        self._stats = FaultStats()

    # -- installation ----------------------------------------------------------------------

    def install(self, target: Table | BaseClient, *, tables: Collection[str] | None = None) -> Self:
        """Register the hooks on a table's client (affecting only that table's requests) or on
        a botocore client (affecting requests for ``tables``, or all when ``None``).

        Install after the table exists under its final name (``table_factory`` renames it).

        Returns:
            The injector, usable as a context manager that uninstalls it.

        Raises:
            ValidationError: The injector is installed already.
        """
        if self._client is not None:
            raise ValidationError("FaultInjector is installed already; uninstall() it first")
        client: BaseClient
        if isinstance(target, Table):
            client = target.transport.client
            self._tables = frozenset({target.name, *(tables or ())})
        else:
            client = target
            self._tables = frozenset(tables) if tables is not None else None
        events = client.meta.events
        plan, respond, finish = _EVENTS
        events.register(plan, self._plan, unique_id=self._hook_id(plan))
        # botocore's stubs type every handler as returning None; before-send ones may answer.
        events.register(respond, self._respond, unique_id=self._hook_id(respond))  # type: ignore[arg-type]
        events.register(finish, self._finish, unique_id=self._hook_id(finish))
        self._client = client
        return self

    def _hook_id(self, event: str) -> str:
        return f"dynaorm-faults-{id(self)}-{event}"

    def uninstall(self) -> None:
        """Remove the hooks (no-op when not installed)."""
        client, self._client = self._client, None
        if client is None:
            return
        for event in _EVENTS:
            client.meta.events.unregister(event, unique_id=f"dynaorm-faults-{id(self)}-{event}")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()

    @property
    def stats(self) -> FaultStats:
        """A snapshot of what was injected so far."""
        with self._lock:
            return self._stats

    def _count(self, **increments: int) -> None:
        self._stats = attrs.evolve(
            self._stats,
            **{name: getattr(self._stats, name) + n for name, n in increments.items()},
        )

    # -- hooks -----------------------------------------------------------------------------

    def _applies(self, operation: str, params: Mapping[str, Any]) -> bool:
        if self.operations is not None and operation not in self.operations:
            return False
        return self._tables is None or bool(self._tables & _tables_of(params))

    def _random(self, operation: str, params: Mapping[str, Any]) -> random.Random:
        text = json.dumps([self.seed, operation, params], sort_keys=True, default=_jsonable)
        # Tests give tables random names; leaving them out makes runs repeat each other.
        for name in sorted(self._tables or (), key=len, reverse=True):
            text = text.replace(json.dumps(name), '"<table>"')
        digest = hashlib.sha256(text.encode()).digest()
        with self._lock:
            seen = self._seen.get(digest, 0)
            self._seen[digest] = seen + 1
        return random.Random(digest + seen.to_bytes(8, "big"))

    def _plan(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        operation = model.name
        if not self._applies(operation, params):
            return
        rng = self._random(operation, params)
        plan = _Plan()
        roll = rng.random()
        if roll < self.throttle:
            plan.kind = "throttle"
        elif roll < self.throttle + self.server_error:
            plan.kind = "server_error"
        elif self.unprocessed and operation in _BATCH:
            self._hold_back(operation, params, rng, plan)
        plan.lose_response = plan.kind == "pass" and rng.random() < self.lost_response
        with self._lock:
            self._count(calls=1)
            faulty = plan.kind != "pass" or plan.held_back or plan.lose_response
            if faulty and self.limit is not None and self._faults >= self.limit:
                return
            if faulty:
                self._faults += 1
                self._record(plan)
        if plan.held_back and plan.kind == "pass":
            params["RequestItems"] = plan.kept
        context[_CONTEXT_KEY] = plan

    def _record(self, plan: _Plan) -> None:
        held = plan.held_back or plan.everything
        count = sum(len(v["Keys"]) if isinstance(v, dict) else len(v) for v in held.values())
        self._count(
            throttled=int(plan.kind == "throttle"),
            server_errors=int(plan.kind == "server_error"),
            lost_responses=int(plan.lose_response),
            unprocessed=count,
            unprocessed_calls=int(count > 0),
        )

    def _hold_back(
        self, operation: str, params: dict[str, Any], rng: random.Random, plan: _Plan
    ) -> None:
        kept: dict[str, Any] = {}
        held: dict[str, Any] = {}
        for table, spec in params["RequestItems"].items():
            entries = spec["Keys"] if operation == "BatchGetItem" else spec
            if self._tables is not None and table not in self._tables:
                kept[table] = spec
                continue
            count = min(len(entries), int(self.unprocessed * len(entries) + rng.random()))
            chosen = set(rng.sample(range(len(entries)), count))
            keep = [e for i, e in enumerate(entries) if i not in chosen]
            back = [e for i, e in enumerate(entries) if i in chosen]
            if operation == "BatchGetItem":
                if keep:
                    kept[table] = {**spec, "Keys": keep}
                if back:
                    held[table] = {**spec, "Keys": back}
            else:
                if keep:
                    kept[table] = keep
                if back:
                    held[table] = back
        if not held:
            return
        if not kept:
            # An empty request is invalid, so answer for the server: everything unprocessed.
            plan.kind = "all_unprocessed"
            plan.everything = dict(params["RequestItems"])
            return
        plan.held_back = held
        plan.kept = kept

    def _respond(self, request: Any, **_: Any) -> AWSResponse | None:
        plan = (getattr(request, "context", None) or {}).get(_CONTEXT_KEY)
        if plan is None or plan.kind == "pass":
            return None
        if plan.kind == "throttle":
            error = {
                "__type": f"com.amazonaws.dynamodb.v20120810#{self.throttle_code}",
                "message": "Rate exceeded (injected by dynaorm.faults)",
            }
            return _response(request, 400, error)
        if plan.kind == "server_error":
            error = {
                "__type": "com.amazon.coral.service#InternalServerError",
                "message": "Internal server error (injected by dynaorm.faults)",
            }
            return _response(request, 500, error)
        operation = "BatchGetItem" if _is_get(plan.everything) else "BatchWriteItem"
        body: dict[str, Any] = {_BATCH[operation]: plan.everything}
        if operation == "BatchGetItem":
            body["Responses"] = {table: [] for table in plan.everything}
        return _response(request, 200, body)

    def _finish(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: Any, **_: Any
    ) -> None:
        plan = context.get(_CONTEXT_KEY)
        if plan is None:
            return
        if plan.held_back and plan.kind == "pass" and "Error" not in parsed:
            member = _BATCH[model.name]
            unprocessed = parsed.setdefault(member, {})
            for table, back in plan.held_back.items():
                if model.name == "BatchGetItem":
                    entry = unprocessed.setdefault(table, {**back, "Keys": []})
                    entry["Keys"] = [*entry["Keys"], *back["Keys"]]
                else:
                    unprocessed[table] = [*unprocessed.get(table, []), *back]
        if plan.lose_response:
            raise ConnectionClosedError(endpoint_url=getattr(http_response, "url", ""))


def _is_get(request_items: Mapping[str, Any]) -> bool:
    return any(isinstance(spec, Mapping) for spec in request_items.values())
