"""``dynaorm explain``: the compiled request of a query, of a function returning one (called
with the ``--arg`` values), or of every access pattern a table's entities declare."""

from __future__ import annotations

import argparse
import inspect
import json
from typing import Any

from dynaorm.api.table import Table
from dynaorm.base.errors import ConfigurationError, DynaormError
from dynaorm.base.typed_json import to_json
from dynaorm.expressions.compile import render
from dynaorm.tools.access_patterns import access_patterns
from dynaorm.tools.loader import load_object

__all__ = ["run_explain"]


def _argument(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` of ``--arg``: the value as JSON when it is JSON (``10``, ``true``,
    ``"10"``, ``[1, 2]``), else as the text itself."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise ConfigurationError(f"--arg expects NAME=VALUE (e.g. customer_id=c1), got {text!r}")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value


def _call_factory(reference: str, factory: Any, arguments: dict[str, Any]) -> Any:
    """Call a query factory with the ``--arg`` values, or say which arguments it takes."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(**arguments)
        except TypeError as exc:
            wanted = [
                f"{p.name}" + ("" if p.default is p.empty else f" (default {p.default!r})")
                for p in signature.parameters.values()
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ]
            takes = ", ".join(wanted) if wanted else "no arguments"
            raise ConfigurationError(
                f"{reference!r} takes {takes}; pass them as --arg NAME=VALUE ({exc})"
            ) from None
    try:
        return factory(**arguments)
    except DynaormError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"{reference!r} raised {type(exc).__name__}: {exc}") from None


def run_explain(args: argparse.Namespace) -> int:
    """``dynaorm explain myapp.queries:orders_over --arg customer_id=c1``: print requests."""
    arguments = dict(_argument(text) for text in args.arg)
    target = load_object(args.query)
    if isinstance(target, Table):
        return _explain_patterns(args.query, target, arguments)
    if not hasattr(target, "compile") and callable(target):
        target = _call_factory(args.query, target, arguments)
    elif arguments:
        raise ConfigurationError(f"{args.query!r} is a query, not a function: it takes no --arg")
    if not hasattr(target, "compile"):
        raise ConfigurationError(
            f"{args.query!r} is neither a query or write plan nor a function returning one "
            "(no .compile())"
        )
    _print_request(target.compile())
    return 0


def _print_request(request: dict[str, Any]) -> None:
    print(to_json(request, indent=2, sort_keys=True))
    for member in (
        "KeyConditionExpression",
        "FilterExpression",
        "ProjectionExpression",
        "UpdateExpression",  # of a write plan
        "ConditionExpression",
    ):
        if member in request:
            print(f"# {member}: {render(request[member], request)}")


def _explain_patterns(reference: str, table: Table, arguments: dict[str, Any]) -> int:
    """Every access pattern declared on the table's entities, with its compiled request."""
    if arguments:
        raise ConfigurationError(f"{reference!r} is a table: --arg applies to a function")
    patterns = access_patterns(table)
    if not patterns:
        print(f"# table {table.name!r} declares no access patterns (see __access_patterns__)")
    for pattern in patterns:
        print(f"## {pattern.entity}: {pattern.name}")
        if pattern.description:
            print(f"# {pattern.description}")
        _print_request(pattern.request)
    return 0
