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

from pynamodb.expressions.condition import size

from dynaorm._batch_write import BatchWriter, BatchWriteResult
from dynaorm._batching import BatchProgress
from dynaorm._collection import CollectionQuery, ItemCollection
from dynaorm._entity import Entity, EntityMeta, VersionAttribute
from dynaorm._entity_keys import BoundKey, ItemKey, Key
from dynaorm._errors import (
    AttributeNotLoaded,
    BatchIncomplete,
    ConditionFailed,
    ConfigurationError,
    DynaormError,
    EndpointUnavailable,
    InvalidCursor,
    ServiceError,
    TableNotFound,
    Throttled,
    TransactionCanceled,
    UnknownEntityType,
    ValidationError,
    VersionConflict,
)
from dynaorm._indexes import Index
from dynaorm._keys import KeyTemplate
from dynaorm._mutate import retry_on_conflict
from dynaorm._paging import Page, UnknownItem
from dynaorm._query import Query
from dynaorm._retry import RetryPolicy
from dynaorm._scan import Scan
from dynaorm._scan_runner import ScanCheckpoint, ScanPage
from dynaorm._settings import Settings, configure
from dynaorm._table import Table
from dynaorm._timestamps import CreatedAtAttribute, UpdatedAtAttribute
from dynaorm._transaction_parts import CancellationReason, TransactionAction
from dynaorm._transactions import Transaction
from dynaorm._updates import ReturnValues

__version__ = "0.1.0"

__all__ = [
    "AttributeNotLoaded",
    "BatchIncomplete",
    "BatchProgress",
    "BatchWriteResult",
    "BatchWriter",
    "BoundKey",
    "CancellationReason",
    "CollectionQuery",
    "ConditionFailed",
    "ConfigurationError",
    "CreatedAtAttribute",
    "DynaormError",
    "EndpointUnavailable",
    "Entity",
    "EntityMeta",
    "Index",
    "InvalidCursor",
    "ItemCollection",
    "ItemKey",
    "Key",
    "KeyTemplate",
    "Page",
    "Query",
    "RetryPolicy",
    "ReturnValues",
    "Scan",
    "ScanCheckpoint",
    "ScanPage",
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
    "configure",
    "retry_on_conflict",
    "size",
]
