"""dynaorm: single-table data modeling for Amazon DynamoDB, layered over PynamoDB.

Example:
    >>> from dynaorm import Table, Index, Entity, Key
    >>> from pynamodb.attributes import UnicodeAttribute
    >>> shop = Table("shop", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])
    >>> class Customer(Entity, table=shop):
    ...     customer_id = UnicodeAttribute()
    ...     email = UnicodeAttribute()
    ...     primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")
    ...     by_email = Key(index="GSI1", pk="EMAIL#{email}", sk="CUSTOMER")
    >>> Customer(customer_id="c1", email="a@x.io").to_item()["GSI1PK"]
    {'S': 'EMAIL#a@x.io'}
"""

# The package imports lazily: ``import dynaorm`` (which ``import dynaorm.testing``, the pytest
# plugin every run in an environment with dynaorm loads, implies) costs nothing; the first
# public name asked for imports them all (botocore and PynamoDB with them). The imports below
# are written twice, for type checkers and in _load(); tests/api/test_public_api.py checks that
# the two lists agree.
import typing as _typing

if _typing.TYPE_CHECKING:
    from pynamodb.expressions.condition import size

    from dynaorm.base.errors import (
        AttributeNotLoaded,
        BatchIncomplete,
        ConditionFailed,
        ConfigurationError,
        DynaormError,
        EndpointUnavailable,
        ImportIncomplete,
        InvalidCursor,
        RequestTimeout,
        SchemaMismatch,
        ServiceError,
        TableNotFound,
        Throttled,
        TransactionCanceled,
        UnknownEntityType,
        ValidationError,
        VersionConflict,
    )
    from dynaorm.base.settings import Settings, configure
    from dynaorm.bulk.batch_write import BatchWriter, BatchWriteResult
    from dynaorm.bulk.batching import BatchProgress
    from dynaorm.bulk.files import (
        ExportLines,
        export_files,
        export_items,
        import_items,
        open_export,
    )
    from dynaorm.bulk.transaction_parts import CancellationReason, TransactionAction
    from dynaorm.bulk.transactions import Transaction
    from dynaorm.keys.templates import KeyTemplate
    from dynaorm.model.bound_keys import BoundKey, ItemKey, Key
    from dynaorm.model.entity import Entity, EntityMeta, VersionAttribute
    from dynaorm.model.indexes import Index
    from dynaorm.model.schema import SchemaDifference
    from dynaorm.model.table import Table
    from dynaorm.model.timestamps import CreatedAtAttribute, UpdatedAtAttribute
    from dynaorm.model.values import DecimalAttribute
    from dynaorm.read.collection import CollectionQuery, ItemCollection
    from dynaorm.read.paging import Page, UnknownItem
    from dynaorm.read.query import Query
    from dynaorm.read.scan import Scan
    from dynaorm.read.scan_runner import ScanCheckpoint, ScanPage
    from dynaorm.read.streams import Change, decode_stream_records
    from dynaorm.wire.retry import RetryPolicy
    from dynaorm.write.mutate import retry_on_conflict
    from dynaorm.write.plans import WritePlan
    from dynaorm.write.updates import ReturnValues

from dynaorm.base.version import __version__

__all__ = [
    "AttributeNotLoaded",
    "BatchIncomplete",
    "BatchProgress",
    "BatchWriteResult",
    "BatchWriter",
    "BoundKey",
    "CancellationReason",
    "Change",
    "CollectionQuery",
    "ConditionFailed",
    "ConfigurationError",
    "CreatedAtAttribute",
    "DecimalAttribute",
    "DynaormError",
    "EndpointUnavailable",
    "Entity",
    "EntityMeta",
    "ExportLines",
    "ImportIncomplete",
    "Index",
    "InvalidCursor",
    "ItemCollection",
    "ItemKey",
    "Key",
    "KeyTemplate",
    "Page",
    "Query",
    "RequestTimeout",
    "RetryPolicy",
    "ReturnValues",
    "Scan",
    "ScanCheckpoint",
    "ScanPage",
    "SchemaDifference",
    "SchemaMismatch",
    "ServiceError",
    "Settings",
    "Table",
    "TableNotFound",
    "Throttled",
    "Transaction",
    "TransactionAction",
    "TransactionCanceled",
    "UnknownEntityType",
    "UnknownItem",
    "UpdatedAtAttribute",
    "ValidationError",
    "VersionAttribute",
    "VersionConflict",
    "WritePlan",
    "configure",
    "decode_stream_records",
    "export_files",
    "export_items",
    "import_items",
    "open_export",
    "retry_on_conflict",
    "size",
]


def _load() -> dict[str, _typing.Any]:
    from pynamodb.expressions.condition import size

    from dynaorm.base.errors import (
        AttributeNotLoaded,
        BatchIncomplete,
        ConditionFailed,
        ConfigurationError,
        DynaormError,
        EndpointUnavailable,
        ImportIncomplete,
        InvalidCursor,
        RequestTimeout,
        SchemaMismatch,
        ServiceError,
        TableNotFound,
        Throttled,
        TransactionCanceled,
        UnknownEntityType,
        ValidationError,
        VersionConflict,
    )
    from dynaorm.base.settings import Settings, configure
    from dynaorm.bulk.batch_write import BatchWriter, BatchWriteResult
    from dynaorm.bulk.batching import BatchProgress
    from dynaorm.bulk.files import (
        ExportLines,
        export_files,
        export_items,
        import_items,
        open_export,
    )
    from dynaorm.bulk.transaction_parts import CancellationReason, TransactionAction
    from dynaorm.bulk.transactions import Transaction
    from dynaorm.keys.templates import KeyTemplate
    from dynaorm.model.bound_keys import BoundKey, ItemKey, Key
    from dynaorm.model.entity import Entity, EntityMeta, VersionAttribute
    from dynaorm.model.indexes import Index
    from dynaorm.model.schema import SchemaDifference
    from dynaorm.model.table import Table
    from dynaorm.model.timestamps import CreatedAtAttribute, UpdatedAtAttribute
    from dynaorm.model.values import DecimalAttribute
    from dynaorm.read.collection import CollectionQuery, ItemCollection
    from dynaorm.read.paging import Page, UnknownItem
    from dynaorm.read.query import Query
    from dynaorm.read.scan import Scan
    from dynaorm.read.scan_runner import ScanCheckpoint, ScanPage
    from dynaorm.read.streams import Change, decode_stream_records
    from dynaorm.wire.retry import RetryPolicy
    from dynaorm.write.mutate import retry_on_conflict
    from dynaorm.write.plans import WritePlan
    from dynaorm.write.updates import ReturnValues

    return dict(locals())


if not _typing.TYPE_CHECKING:

    def __getattr__(name: str) -> _typing.Any:
        if name not in __all__:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        exports = {key: value for key, value in _load().items() if not key.startswith("_")}
        globals().update(exports)
        return exports[name]

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
