"""Scatter-gather queries over a write-sharded partition key: ``Order.by_day.scatter(...)``.

A key whose partition template has a shard field (:class:`~dynaorm.Shard`) spreads one
logical partition over ``N`` physical ones. :class:`ShardedQuery` reads them all: one query
per shard, sent concurrently on a bounded pool of worker threads, merged in sort-key order
(ascending, or descending after ``reverse()``) by :mod:`dynaorm.read.shard_merge`. Filters,
projections, ranges and limits apply as on one query; ``page()`` returns a signed cursor that
holds every shard's position (or that it is done), so ``after(cursor)`` resumes all of them
with no item lost or repeated. The async forms (``apage``, ``async for``, ``aall``,
``afirst``, ``acount``) run the same merge with asyncio tasks (:mod:`dynaorm.read.async_sharded`).

A partition key without a ``Shard`` whose field is a bucket the application writes itself (a
random ``0 .. N``, as published designs do) is read the same way when the query lists the
bucket values: ``Ticket.by_bucket.scatter(bucket=range(15))``.

Example:
    >>> q = Order.by_day.scatter(day="2024-05-01").limit(20)  # doctest: +SKIP
    >>> page = q.page()  # doctest: +SKIP
    >>> more = q.after(page.cursor).page()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
from pynamodb.expressions.condition import Condition

from dynaorm.base.errors import InvalidCursor, ValidationError
from dynaorm.base.threads import WorkerPool
from dynaorm.keys.shards import MAX_SHARDS
from dynaorm.model.unknown_items import UnknownItem
from dynaorm.read.collection import CollectionQuery
from dynaorm.read.cursor import request_digest
from dynaorm.read.page import Page
from dynaorm.read.plan import Plan
from dynaorm.read.positions import positions_body, read_positions_body
from dynaorm.read.query import Query
from dynaorm.read.reader import Reader
from dynaorm.read.shard_merge import MergeState, ShardMerge
from dynaorm.read.tokens import CURSOR, open_token, seal_token
from dynaorm.wire.connection import bind

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table
    from dynaorm.model.bound_keys import BoundKey

__all__ = ["DEFAULT_WORKERS", "ShardedQuery"]

T = TypeVar("T")
DEFAULT_WORKERS = 8


_SPREAD_TYPES = (range, list, tuple)


def _shard_values(
    key: BoundKey[Any], values: Mapping[str, Any], what: str
) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """The field a scatter spreads over, its values, and the other partition values.

    A key with a :class:`~dynaorm.Shard` field spreads over its ``0 .. count - 1``. A key
    without one spreads over a partition field the application writes itself (a bucket it
    picks at random, as published designs do), given as a ``range``, ``list`` or ``tuple``
    of its values: ``scatter(bucket=range(15))``.
    """
    shard = key.shard
    spread = sorted(k for k, v in values.items() if isinstance(v, _SPREAD_TYPES))
    if shard is not None:
        if shard.name in values:
            raise ValidationError(
                f"{what} reads every shard; drop {shard.name}= (or query one shard with "
                f"query({shard.name}=...))"
            )
        if spread:
            raise ValidationError(
                f"{what}: {', '.join(spread)} must be one value; the key spreads over its "
                f"shard field {shard.name!r}"
            )
        return shard.name, tuple(range(shard.count)), dict(values)
    if len(spread) != 1 or spread[0] not in key.pk.fields:
        raise ValidationError(
            f"{what}: {key.entity.__qualname__}.{key.name} ({key.describe()}) has no shard "
            "field; give the values of one partition field to read as a range, list or tuple "
            "(not a set or generator: the order must be fixed), e.g. scatter(bucket=range(15)) "
            "or scatter(bucket=['0', '1']), or use query()"
        )
    name = spread[0]
    chosen = tuple(values[name])
    if not chosen or len(chosen) > MAX_SHARDS:
        raise ValidationError(f"{what}: {name}= takes 1 to {MAX_SHARDS} values, got {len(chosen)}")
    if len(set(chosen)) != len(chosen):
        raise ValidationError(f"{what}: {name}= lists a value twice")
    return name, chosen, {k: v for k, v in values.items() if k != name}


@attrs.frozen(eq=False, kw_only=True)
class ShardedQuery(Generic[T]):
    """A scatter-gather read: the same query on every shard of a sharded partition key.

    Made by ``Order.by_day.scatter(day=...)`` (one entity type) or ``shop.scatter(key, ...)``
    (every type of the item collections). Immutable: every method returns a new query.

    Attributes:
        parts: One query per shard, in shard order (``parts[3]`` reads shard 3).
        key: The sharded key.
        max_items: The limit (``page()`` returns this many at a time).
        cursor: Where to resume (from a page of this query).
        workers: The most requests in flight at once.
    """

    parts: tuple[Reader[T], ...]
    key: BoundKey[Any]
    max_items: int | None = None
    cursor: str | None = None
    workers: int = DEFAULT_WORKERS
    what: str = "scatter()"

    @classmethod
    def for_entity(
        cls, entity: type[Entity], key: BoundKey[Any], values: Mapping[str, Any]
    ) -> ShardedQuery[Any]:
        """The scatter-gather query of ``entity`` over every shard of ``key``'s partition.

        Raises:
            ValidationError: ``key`` has no shard field, the shard is given, or a partition
                value is missing, unexpected or unusable.
        """
        what = f"{entity.__qualname__}.{key.name}.scatter()"
        name, chosen, rest = _shard_values(key, values, what)
        parts = tuple(Query.create(entity, key, {**rest, name: n}) for n in chosen)
        return ShardedQuery(parts=parts, key=key, what=what)

    @classmethod
    def for_collection(
        cls,
        table: Table,
        key: BoundKey[Any],
        values: Mapping[str, Any],
        *,
        types: Iterable[type[Entity]] | None = None,
        strict: bool | None = None,
    ) -> ShardedQuery[Entity | UnknownItem]:
        """The scatter-gather read of every item (of ``types``) in every shard of ``key``'s
        partition, as ``shop.partition_query()`` reads one.

        Raises:
            ValidationError: As :meth:`for_entity`, or as ``partition_query()``.
        """
        name, spread, rest = _shard_values(key, values, "scatter()")
        chosen = tuple(types or ())
        parts = tuple(
            CollectionQuery.create(table, key, {**rest, name: n}, types=chosen, strict=strict)
            for n in spread
        )
        return ShardedQuery(parts=parts, key=key)

    # -- building ------------------------------------------------------------------------

    def _each(self, method: str, *args: Any, **kwargs: Any) -> ShardedQuery[T]:
        parts = tuple(getattr(part, method)(*args, **kwargs) for part in self.parts)
        return attrs.evolve(self, parts=parts)

    def where(self, *conditions: Condition) -> ShardedQuery[T]:
        """AND filter conditions, on every shard's query (see ``Query.where``)."""
        return self._each("where", *conditions)

    def select(self, *targets: Any) -> ShardedQuery[T]:
        """Read only these attributes (entity scatters; see ``Query.select``)."""
        if not isinstance(self.parts[0], Query):
            raise ValidationError("scatter(): select() is for entity scatters (Entity.key.scatter)")
        return self._each("select", *targets)

    def range(self, *conditions: Any, **kwargs: Any) -> ShardedQuery[T]:
        """Restrict the sort key, on every shard (``Query.range`` / ``CollectionQuery.range``)."""
        return self._each("range", *conditions, **kwargs)

    def reverse(self, flag: bool = True) -> ShardedQuery[T]:
        """Merge in descending sort-key order."""
        return self._each("reverse", flag)

    def page_size(self, n: int | None) -> ShardedQuery[T]:
        """Send ``Limit=n`` in every request of every shard."""
        return self._each("page_size", n)

    def consistent(self, flag: bool = True) -> ShardedQuery[T]:
        """Strongly consistent reads (not on global indexes)."""
        return self._each("consistent", flag)

    def max_age(self, seconds: float | datetime.timedelta | None) -> ShardedQuery[T]:
        """Refuse cursors older than ``seconds`` (see ``Query.max_age``)."""
        return self._each("max_age", seconds)

    def limit(self, n: int | None) -> ShardedQuery[T]:
        """Return at most ``n`` items in all; ``page()`` returns ``n`` at a time.

        Raises:
            ValidationError: ``n`` is not a positive integer.
        """
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ValidationError(f"limit must be a positive integer, got {n!r}")
        return attrs.evolve(self, max_items=n)

    def after(self, cursor: str | None) -> ShardedQuery[T]:
        """Resume every shard where ``cursor`` (from a page of this query) left it."""
        return attrs.evolve(self, cursor=cursor)

    def concurrency(self, workers: int) -> ShardedQuery[T]:
        """Send at most ``workers`` requests at once (default 8, never more than the shards).

        Raises:
            ValidationError: ``workers`` is not a positive integer.
        """
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValidationError(f"workers must be a positive integer, got {workers!r}")
        return attrs.evolve(self, workers=workers)

    # -- compiling -----------------------------------------------------------------------

    @property
    def _descending(self) -> bool:
        return bool(getattr(self.parts[0], "descending", False))

    def _plans(self) -> list[Plan[T]]:
        bound = bind(self.key.entity.__table__)
        return [part._plan("read", bound) for part in self.parts]

    @staticmethod
    def _digest(plans: list[Plan[T]]) -> bytes:
        return request_digest({"shards": [p.digest.hex() for p in plans]}, kind="scatter")

    def _start(self, plans: list[Plan[T]], cursor: str | None) -> MergeState:
        if cursor is None:
            return MergeState((None,) * len(plans), (False,) * len(plans))
        body = open_token(
            plans[0].keys(), CURSOR, cursor, self._digest(plans), max_age=plans[0].max_age
        )
        positions, done = read_positions_body(body)
        if len(positions) != len(plans):
            raise InvalidCursor("the cursor holds another number of shards than this query")
        checked = tuple(
            None if p is None else plan.check_position(p)
            for plan, p in zip(plans, positions, strict=True)
        )
        return MergeState(checked, done)

    def compile(self) -> list[dict[str, Any]]:
        """The first request of every shard still to read, exactly as they will be sent.

        Raises:
            InvalidCursor: The query's cursor does not verify.
        """
        plans = self._plans()
        state = self._start(plans, self.cursor)
        return [
            plan.request_for(position, self.max_items)
            for plan, position, done in zip(plans, state.positions, state.done, strict=True)
            if not done
        ]

    # -- running -------------------------------------------------------------------------

    def _merge(
        self, plans: list[Plan[T]], state: MergeState, pool: WorkerPool | None
    ) -> ShardMerge[T]:
        return ShardMerge(
            plans,
            state,
            sort_attribute=self.key.sk_attribute,
            descending=self._descending,
            page_size=self.parts[0].request_limit,
            pool=pool,
        )

    def _pool(self) -> WorkerPool:
        return WorkerPool("scatter", min(self.workers, len(self.parts)))

    def page(self, cursor: str | None = None) -> Page[T]:
        """Read one page: ``limit`` items in sort order, or without a limit what one request
        per shard returns (merged). Its cursor resumes every shard.

        Raises:
            InvalidCursor: The cursor is malformed, tampered with, expired, or another
                query's.
        """
        plans = self._plans()
        state = self._start(plans, cursor if cursor is not None else self.cursor)
        with self._pool() as pool:
            merge = self._merge(plans, state, pool)
            items = tuple(merge.items(self.max_items, one_round=self.max_items is None))
        return self._page(plans, merge, items)

    def _page(self, plans: list[Plan[T]], merge: ShardMerge[T], items: tuple[T, ...]) -> Page[T]:
        after = merge.state()
        digest, keys = self._digest(plans), plans[0].keys()

        def sign(position: Mapping[str, Any]) -> str:
            body = positions_body(position["positions"], position["done"])
            return seal_token(keys, CURSOR, digest, body)

        follows = None if after.finished else {"positions": after.positions, "done": after.done}
        return Page(
            items,
            merge.scanned,
            merge.consumed,
            position=follows,
            signer=sign,
            unknown=tuple(merge.unknown),
        )

    def __iter__(self) -> Iterator[T]:
        """Every item (up to the limit), in sort order, reading shards as the merge needs."""
        plans = self._plans()
        state = self._start(plans, self.cursor)
        with self._pool() as pool:
            yield from self._merge(plans, state, pool).items(self.max_items)

    def all(self) -> list[T]:
        """Every item (up to the limit) as a list."""
        return list(self)

    def first(self) -> T | None:
        """The first item in sort order, or ``None``."""
        items = self.limit(1).__iter__()
        try:
            return next(items, None)
        finally:
            items.close()  # type: ignore[attr-defined]

    def count(self) -> int:
        """How many items match across all shards (capped by the limit)."""
        plans = self._plans()
        state = self._start(plans, self.cursor)
        total = 0
        for plan, position, done in zip(plans, state.positions, state.done, strict=True):
            if done:
                continue
            left = None if self.max_items is None else self.max_items - total
            if left == 0:
                break
            total += plan.count(position, left)
        return total

    # -- the same reads with await (dynaorm.read.async_sharded) --------------------------

    @property
    def _workers(self) -> int:
        return min(self.workers, len(self.parts))

    async def apage(self, cursor: str | None = None) -> Page[T]:
        """:meth:`page` with ``await``: the shards' requests as asyncio tasks, the same
        items, order and cursor (it resumes a sync page, and a sync page's resumes it)."""
        from dynaorm.read.async_sharded import aitems

        plans = self._plans()
        merge = self._merge(
            plans, self._start(plans, self.cursor if cursor is None else cursor), None
        )
        run = aitems(merge, self.max_items, workers=self._workers, one_round=self.max_items is None)
        return self._page(plans, merge, tuple([item async for item in run]))

    async def __aiter__(self) -> AsyncGenerator[T, None]:
        """``async for item in query``: :meth:`__iter__` with ``await``."""
        from dynaorm.read.async_sharded import aitems

        plans = self._plans()
        merge = self._merge(plans, self._start(plans, self.cursor), None)
        async for item in aitems(merge, self.max_items, workers=self._workers):
            yield item

    async def aall(self) -> list[T]:
        """:meth:`all` with ``await``."""
        return [item async for item in self]

    async def afirst(self) -> T | None:
        """:meth:`first` with ``await``."""
        async with contextlib.aclosing(self.limit(1).__aiter__()) as items:
            async for item in items:
                return item
        return None

    async def acount(self) -> int:
        """:meth:`count` with ``await``: the shards counted by concurrent asyncio tasks."""
        from dynaorm.read.async_sharded import acount_shards

        plans = self._plans()
        state = self._start(plans, self.cursor)
        return await acount_shards(
            plans, state.positions, state.done, self.max_items, self._workers
        )
