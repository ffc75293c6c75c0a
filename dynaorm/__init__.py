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

from dynaorm._entity import Entity, EntityMeta, VersionAttribute
from dynaorm._entity_keys import BoundKey, ItemKey, Key
from dynaorm._errors import (
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
from dynaorm._retry import RetryPolicy
from dynaorm._settings import Settings, configure
from dynaorm._table import Table

__version__ = "0.1.0"

__all__ = [
    "BatchIncomplete",
    "BoundKey",
    "ConditionFailed",
    "ConfigurationError",
    "DynaormError",
    "EndpointUnavailable",
    "Entity",
    "EntityMeta",
    "Index",
    "InvalidCursor",
    "ItemKey",
    "Key",
    "KeyTemplate",
    "RetryPolicy",
    "ServiceError",
    "Settings",
    "Table",
    "TableNotFound",
    "Throttled",
    "TransactionCanceled",
    "UnknownEntityType",
    "ValidationError",
    "VersionAttribute",
    "VersionConflict",
    "configure",
]
