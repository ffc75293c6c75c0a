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
)
from dynaorm.base.errors import (
    BatchIncomplete as BatchIncomplete,
)
from dynaorm.base.errors import (
    ConditionFailed as ConditionFailed,
)
from dynaorm.base.errors import (
    ConfigurationError as ConfigurationError,
)
from dynaorm.base.errors import (
    DynaormError as DynaormError,
)
from dynaorm.base.errors import (
    EndpointUnavailable as EndpointUnavailable,
)
from dynaorm.base.errors import (
    ImportIncomplete as ImportIncomplete,
)
from dynaorm.base.errors import (
    InvalidCursor as InvalidCursor,
)
from dynaorm.base.errors import (
    RequestTimeout as RequestTimeout,
)
from dynaorm.base.errors import (
    SchemaMismatch as SchemaMismatch,
)
from dynaorm.base.errors import (
    ServiceError as ServiceError,
)
from dynaorm.base.errors import (
    TableNotFound as TableNotFound,
)
from dynaorm.base.errors import (
    Throttled as Throttled,
)
from dynaorm.base.errors import (
    TransactionCanceled as TransactionCanceled,
)
from dynaorm.base.errors import (
    UnknownEntityType as UnknownEntityType,
)
from dynaorm.base.errors import (
    ValidationError as ValidationError,
)
from dynaorm.base.errors import (
    VersionConflict as VersionConflict,
)
from dynaorm.base.settings import (
    Settings as Settings,
)
from dynaorm.base.settings import (
    configure as configure,
)
from dynaorm.bulk.batch_write import (
    BatchWriter as BatchWriter,
)
from dynaorm.bulk.batch_write import (
    BatchWriteResult as BatchWriteResult,
)
from dynaorm.bulk.batching import BatchProgress as BatchProgress
from dynaorm.bulk.files import (
    ExportLines as ExportLines,
)
from dynaorm.bulk.files import (
    export_files as export_files,
)
from dynaorm.bulk.files import (
    export_items as export_items,
)
from dynaorm.bulk.files import (
    import_items as import_items,
)
from dynaorm.bulk.files import (
    open_export as open_export,
)
from dynaorm.bulk.transaction_parts import (
    CancellationReason as CancellationReason,
)
from dynaorm.bulk.transaction_parts import (
    TransactionAction as TransactionAction,
)
from dynaorm.bulk.transactions import Transaction as Transaction
from dynaorm.keys.templates import KeyTemplate as KeyTemplate
from dynaorm.model.bound_keys import (
    BoundKey as BoundKey,
)
from dynaorm.model.bound_keys import (
    ItemKey as ItemKey,
)
from dynaorm.model.bound_keys import (
    Key as Key,
)
from dynaorm.model.entity import EntityMeta as EntityMeta
from dynaorm.model.indexes import Index as Index
from dynaorm.model.schema import SchemaDifference as SchemaDifference
from dynaorm.model.timestamps import (
    CreatedAtAttribute as CreatedAtAttribute,
)
from dynaorm.model.timestamps import (
    UpdatedAtAttribute as UpdatedAtAttribute,
)
from dynaorm.model.values import DecimalAttribute as DecimalAttribute
from dynaorm.model.versions import VersionAttribute as VersionAttribute
from dynaorm.read.collection import (
    CollectionQuery as CollectionQuery,
)
from dynaorm.read.collection import (
    ItemCollection as ItemCollection,
)
from dynaorm.read.paging import (
    Page as Page,
)
from dynaorm.read.paging import (
    UnknownItem as UnknownItem,
)
from dynaorm.read.query import Query as Query
from dynaorm.read.scan import Scan as Scan
from dynaorm.read.scan_runner import (
    ScanCheckpoint as ScanCheckpoint,
)
from dynaorm.read.scan_runner import (
    ScanPage as ScanPage,
)
from dynaorm.read.streams import (
    Change as Change,
)
from dynaorm.read.streams import (
    decode_stream_records as decode_stream_records,
)
from dynaorm.wire.retry import RetryPolicy as RetryPolicy
from dynaorm.write.mutate import retry_on_conflict as retry_on_conflict
from dynaorm.write.updates import ReturnValues as ReturnValues
