"""The public names of dynaorm, in one list: ``dynaorm/__init__.py`` hands them out lazily.

Each name is imported here from the module that defines it (``X as X`` marks it re-exported
for type checkers); ``dynaorm.__all__`` is the sorted list of these names. Adding a public name
means adding its import here, and nothing else.
"""

from pynamodb.expressions.condition import size as size

from dynaorm.api.entity import Entity as Entity
from dynaorm.api.table import Table as Table
from dynaorm.base.errors import (
    AttributeNotLoaded as AttributeNotLoaded,
    BatchIncomplete as BatchIncomplete,
    ConditionFailed as ConditionFailed,
    ConfigurationError as ConfigurationError,
    DynaormError as DynaormError,
    EndpointUnavailable as EndpointUnavailable,
    ImportIncomplete as ImportIncomplete,
    InvalidCursor as InvalidCursor,
    RequestTimeout as RequestTimeout,
    SchemaMismatch as SchemaMismatch,
    ServiceError as ServiceError,
    TableNotFound as TableNotFound,
    Throttled as Throttled,
    TransactionCanceled as TransactionCanceled,
    UnknownEntityType as UnknownEntityType,
    ValidationError as ValidationError,
    VersionConflict as VersionConflict,
)
from dynaorm.base.settings import (
    Settings as Settings,
    configure as configure,
)
from dynaorm.bulk.async_batch_write import AsyncBatchWriter as AsyncBatchWriter
from dynaorm.bulk.async_transactions import AsyncTransaction as AsyncTransaction
from dynaorm.bulk.batch_write import (
    BatchWriter as BatchWriter,
    BatchWriteResult as BatchWriteResult,
)
from dynaorm.bulk.batching import BatchProgress as BatchProgress
from dynaorm.bulk.exporting import export_items as export_items
from dynaorm.bulk.files import (
    ExportLines as ExportLines,
    export_files as export_files,
    open_export as open_export,
)
from dynaorm.bulk.importing import import_items as import_items
from dynaorm.bulk.transaction_parts import (
    CancellationReason as CancellationReason,
    TransactionAction as TransactionAction,
)
from dynaorm.bulk.transactions import Transaction as Transaction
from dynaorm.keys.parts import Template as Template
from dynaorm.keys.ranges import SortKeyCondition as SortKeyCondition
from dynaorm.keys.shards import Shard as Shard, shard_of as shard_of
from dynaorm.keys.sort_text import sort_key as sort_key
from dynaorm.keys.templates import KeyTemplate as KeyTemplate
from dynaorm.model.bound_keys import (
    BoundKey as BoundKey,
    ItemKey as ItemKey,
    Key as Key,
)
from dynaorm.model.classify import (
    by_attribute as by_attribute,
    by_prefix as by_prefix,
    first_match as first_match,
)
from dynaorm.model.dynamic import (
    DynamicAttributes as DynamicAttributes,
    DynamicValues as DynamicValues,
)
from dynaorm.model.entity import EntityMeta as EntityMeta
from dynaorm.model.indexes import Index as Index
from dynaorm.model.schema import SchemaDifference as SchemaDifference
from dynaorm.model.timestamps import (
    CreatedAtAttribute as CreatedAtAttribute,
    UpdatedAtAttribute as UpdatedAtAttribute,
)
from dynaorm.model.unknown_items import UnknownItem as UnknownItem
from dynaorm.model.values import DecimalAttribute as DecimalAttribute
from dynaorm.model.versions import VersionAttribute as VersionAttribute
from dynaorm.read.collection import (
    CollectionQuery as CollectionQuery,
    ItemCollection as ItemCollection,
)
from dynaorm.read.page import Page as Page
from dynaorm.read.query import Query as Query
from dynaorm.read.scan import Scan as Scan
from dynaorm.read.scan_runner import (
    ScanCheckpoint as ScanCheckpoint,
    ScanPage as ScanPage,
)
from dynaorm.read.sharded import ShardedQuery as ShardedQuery
from dynaorm.read.streams import (
    Change as Change,
    decode_stream_records as decode_stream_records,
)
from dynaorm.wire.retry import RetryPolicy as RetryPolicy
from dynaorm.write.async_writes import aretry_on_conflict as aretry_on_conflict
from dynaorm.write.mutate import retry_on_conflict as retry_on_conflict
from dynaorm.write.plans import WritePlan as WritePlan
from dynaorm.write.updates import ReturnValues as ReturnValues
