"""The parts of :mod:`dynaorm.faults` that do not hook into a transport: a call's fault plan,
holding back part of a batch request, and the canned answers that stand in for the server."""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from typing import Any

import attrs

from dynaorm.base.typed_json import to_json
from dynaorm.wire.hooks import Answer

__all__ = [
    "BATCH_MEMBERS",
    "Plan",
    "add_held_back",
    "canned_error",
    "everything_unprocessed",
    "hold_back",
    "tables_of",
]

# Batch operation -> the response member naming what the server did not process.
BATCH_MEMBERS = {"BatchWriteItem": "UnprocessedItems", "BatchGetItem": "UnprocessedKeys"}


@attrs.define
class Plan:
    """What happens to one call.

    ``kind``: ``pass``, a refusal before the server (``throttle``, ``server_error``,
    ``connection_error``, ``unsent_timeout``), or ``all_unprocessed`` (a batch request
    answered for the server). ``after``: what happens to a sent request's response (``""``,
    ``lost`` or ``timeout``). ``delay``: seconds to wait before sending.
    """

    kind: str = "pass"
    held_back: dict[str, Any] = attrs.Factory(dict)  # table -> items, or -> {"Keys": [...]}
    kept: dict[str, Any] = attrs.Factory(dict)  # what is still sent when some is held back
    everything: dict[str, Any] = attrs.Factory(dict)  # the whole RequestItems (all_unprocessed)
    after: str = ""
    delay: float = 0.0

    @property
    def faulty(self) -> bool:
        """Whether the call gets any fault (a delay alone is not one)."""
        return self.kind != "pass" or bool(self.held_back) or bool(self.after)

    def held_count(self) -> int:
        """Items or keys handed back as unprocessed."""
        held = self.held_back or self.everything
        return sum(len(v["Keys"]) if isinstance(v, dict) else len(v) for v in held.values())


def tables_of(params: Mapping[str, Any]) -> set[str]:
    """The table names a request touches."""
    names = set(params.get("RequestItems", {}))
    if "TableName" in params:
        names.add(params["TableName"])
    for item in params.get("TransactItems", ()):
        for action in item.values():
            names.add(action.get("TableName", ""))
    return names


def hold_back(
    operation: str,
    request_items: Mapping[str, Any],
    rng: random.Random,
    fraction: float,
    tables: Collection[str] | None,
    plan: Plan,
) -> None:
    """Choose part of a batch request's items (keys) to hand back as unprocessed.

    ``fraction`` of each affected table's entries, rounded stochastically. When nothing would
    be left to send, the plan becomes ``all_unprocessed`` (an empty request is invalid).
    """
    kept: dict[str, Any] = {}
    held: dict[str, Any] = {}
    get = operation == "BatchGetItem"
    for table, spec in request_items.items():
        entries = spec["Keys"] if get else spec
        if tables is not None and table not in tables:
            kept[table] = spec
            continue
        count = min(len(entries), int(fraction * len(entries) + rng.random()))
        chosen = set(rng.sample(range(len(entries)), count))
        keep = [e for i, e in enumerate(entries) if i not in chosen]
        back = [e for i, e in enumerate(entries) if i in chosen]
        for part, target in ((keep, kept), (back, held)):
            if part:
                target[table] = {**spec, "Keys": part} if get else part
    if not held:
        return
    if not kept:
        plan.kind = "all_unprocessed"
        plan.everything = dict(request_items)
        return
    plan.held_back = held
    plan.kept = kept


def add_held_back(operation: str, parsed: dict[str, Any], held_back: Mapping[str, Any]) -> None:
    """Add what was held back to a parsed response's unprocessed items (keys)."""
    unprocessed = parsed.setdefault(BATCH_MEMBERS[operation], {})
    for table, back in held_back.items():
        if operation == "BatchGetItem":
            entry = unprocessed.setdefault(table, {**back, "Keys": []})
            entry["Keys"] = [*entry["Keys"], *back["Keys"]]
        else:
            unprocessed[table] = [*unprocessed.get(table, []), *back]


def _answer(status: int, body: Mapping[str, Any]) -> Answer:
    headers = {
        "content-type": "application/x-amz-json-1.0",
        "x-amzn-requestid": "dynaorm-fault-injector",
    }
    return Answer(status, to_json(body).encode(), headers)


def canned_error(status: int, error_type: str, message: str) -> Answer:
    """An error response as DynamoDB sends it, parsed like a real one."""
    return _answer(status, {"__type": error_type, "message": message})


def everything_unprocessed(request_items: Mapping[str, Any]) -> Answer:
    """A batch response that processed nothing."""
    get = any(isinstance(spec, Mapping) for spec in request_items.values())
    body: dict[str, Any] = {
        BATCH_MEMBERS["BatchGetItem" if get else "BatchWriteItem"]: request_items
    }
    if get:
        body["Responses"] = {table: [] for table in request_items}
    return _answer(200, body)
