"""Control-plane answers (``CreateTable``, ``DescribeTable``, ``UpdateTable``, the TTL
operations) read for the async transport exactly as botocore reads them for the sync one.

The lean codec decodes only the data plane's shapes; a control-plane response holds other
types (``DescribeTable``'s ``CreationDateTime`` is a ``datetime`` after botocore's parse), so
its body goes through botocore's own parser with the operation's output shape, and the
caller gets the very dictionary the botocore client returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.client import BaseClient
from botocore.parsers import create_parser

__all__ = ["control_response"]


def control_response(
    client: BaseClient, operation: str, status: int, headers: Mapping[str, str], body: bytes
) -> dict[str, Any]:
    """The parsed successful answer of ``operation`` as ``client`` would return it.

    Example:
        >>> control_response(client, "DescribeTable", 200, {}, body)["Table"]  # doctest: +SKIP
    """
    model = client.meta.service_model
    parser = create_parser(model.metadata["protocol"])
    shape = model.operation_model(operation).output_shape
    if shape is None:  # an operation without output members
        return {}
    parsed: dict[str, Any] = parser.parse(
        {"status_code": status, "headers": dict(headers), "body": body}, shape
    )
    return parsed
