"""The sync and async ways of the same calls, for tests that run one scenario both ways.

``Sync`` makes each call the sync way; ``Async`` makes the same call with ``await``, each in
a fresh event loop (``run``), so a scenario written against ``Sync``'s methods runs
unchanged through either API. Parametrise a fixture over ``APIS``::

    @pytest.fixture(params=APIS, ids=lambda api: api.name)
    def api(request: pytest.FixtureRequest) -> Sync:
        return request.param

    def test_round_trip(api: Sync, tables: Table) -> None:
        api.save(order)
        assert api.get(Order, customer_id="c1", order_id="o1") == order
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from dynaorm import Entity, Page, Query

__all__ = ["APIS", "Async", "Sync", "run"]

R = TypeVar("R")


def run(awaitable: Awaitable[R]) -> R:
    async def wrapped() -> R:
        return await awaitable

    return asyncio.run(wrapped())


class Sync:
    """The scenario's calls, the sync way."""

    name = "sync"

    def get(self, cls: type[Entity], **key: Any) -> Any:
        return cls.get(**key)

    def save(self, item: Entity, **kw: Any) -> None:
        item.save(**kw)

    def delete(self, item: Entity, **kw: Any) -> None:
        item.delete(**kw)

    def update(self, item: Entity, *actions: Any, **kw: Any) -> Any:
        return item.update(*actions, **kw)

    def update_by_key(self, cls: type[Entity], key: Any, *actions: Any, **kw: Any) -> Any:
        return cls.update_by_key(key, *actions, **kw)

    def refresh(self, item: Entity) -> None:
        item.refresh()

    def page(self, query: Query[Any], cursor: str | None = None) -> Page[Any]:
        return query.page(cursor)

    def all(self, query: Query[Any]) -> list[Any]:
        return query.all()

    def first(self, query: Query[Any]) -> Any:
        return query.first()

    def count(self, query: Query[Any]) -> int:
        return query.count()


class Async(Sync):
    """The same calls, each awaited in a fresh event loop."""

    name = "async"

    def get(self, cls: type[Entity], **key: Any) -> Any:
        return run(cls.aget(**key))

    def save(self, item: Entity, **kw: Any) -> None:
        run(item.asave(**kw))

    def delete(self, item: Entity, **kw: Any) -> None:
        run(item.adelete(**kw))

    def update(self, item: Entity, *actions: Any, **kw: Any) -> Any:
        return run(item.aupdate(*actions, **kw))

    def update_by_key(self, cls: type[Entity], key: Any, *actions: Any, **kw: Any) -> Any:
        return run(cls.aupdate_by_key(key, *actions, **kw))

    def refresh(self, item: Entity) -> None:
        run(item.arefresh())

    def page(self, query: Query[Any], cursor: str | None = None) -> Page[Any]:
        return run(query.apage(cursor))

    def all(self, query: Query[Any]) -> list[Any]:
        async def collect() -> list[Any]:
            return [item async for item in query]

        listed = run(collect())
        assert listed == run(query.aall())
        return listed

    def first(self, query: Query[Any]) -> Any:
        return run(query.afirst())

    def count(self, query: Query[Any]) -> int:
        return run(query.acount())


APIS = (Sync(), Async())
