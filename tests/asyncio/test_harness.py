"""The harness's async adapter overrides every call of the sync one, so a scenario run
through ``Async`` can never fall back to the sync API unnoticed."""

from __future__ import annotations

import inspect

from harness import APIS, Async, Sync


def calls(cls: type[Sync]) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if name[0] != "_"}


def test_every_sync_call_has_its_async_way() -> None:
    assert calls(Sync)
    assert {name for name in calls(Sync) if name not in vars(Async)} == set()


def test_the_apis_are_named() -> None:
    assert [api.name for api in APIS] == ["sync", "async"]
