"""Read-modify-write under optimistic locking, retried on version conflicts.

Two writers that read version 3 of an item and both save version 4 cannot both succeed: the
second save's condition (``version = 3``) fails and raises :class:`~dynaorm.VersionConflict`.
:func:`retry_on_conflict` turns that into a loop: wait (exponential backoff with full jitter,
so competing writers spread out), re-run the whole read-modify-write, and give up with the
last conflict after the policy's attempts. ``retry_on=`` names other exceptions that mean a
lost race (for example one an application raises for a transaction cancelled by a conflict).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

from dynaorm.base.errors import (
    ConfigurationError,
    UnknownEntityType,
    ValidationError,
    VersionConflict,
)
from dynaorm.wire.retry import RetryPolicy

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.model.bound_keys import ItemKey

__all__ = [
    "CONFLICT_POLICY",
    "ConflictRetries",
    "check_mutable",
    "missing_item",
    "mutate_entity",
    "retry_on_conflict",
]

logger = logging.getLogger("dynaorm")

T = TypeVar("T")
E = TypeVar("E", bound="Entity")
X = TypeVar("X", bound=Exception)

CONFLICT_POLICY = RetryPolicy(max_attempts=10, base_delay=0.01, cap=1.0)
"""The default policy for conflicts: 10 attempts, sleeps up to 10 ms, 20 ms, ... 1 s."""


@overload
def retry_on_conflict(
    fn: Callable[[], T],
    *,
    attempts: int | None = None,
    policy: RetryPolicy | None = None,
    on_conflict: Callable[[VersionConflict, int], object] | None = None,
) -> T: ...


@overload
def retry_on_conflict(
    fn: Callable[[], T],
    *,
    attempts: int | None = None,
    policy: RetryPolicy | None = None,
    on_conflict: Callable[[X, int], object] | None = None,
    retry_on: type[X] | tuple[type[X], ...],
) -> T: ...


def retry_on_conflict(
    fn: Callable[[], T],
    *,
    attempts: int | None = None,
    policy: RetryPolicy | None = None,
    on_conflict: Callable[[Any, int], object] | None = None,
    retry_on: type[Exception] | tuple[type[Exception], ...] = VersionConflict,
) -> T:
    """Call ``fn`` until it does not raise :class:`~dynaorm.VersionConflict` (or ``retry_on``).

    ``fn`` must do the whole read-modify-write (read the item, change it, write it), so that
    each attempt starts from the stored state. Other errors propagate at once.

    Args:
        fn: The read-modify-write to run.
        attempts: Attempts in all (overrides ``policy.max_attempts``).
        policy: Backoff between attempts (default :data:`CONFLICT_POLICY`).
        on_conflict: Called with each conflict and the number of the attempt that lost.
        retry_on: The exception type(s) that mean "another writer won, start again", as in an
            ``except`` clause (subclasses count). They replace the default
            ``VersionConflict``: name it too to keep retrying it. For example a transaction
            whose cancellation reasons show a lost race, re-raised by ``fn`` as an exception of
            the application's own.

    Returns:
        What ``fn`` returned on the attempt that succeeded.

    Raises:
        VersionConflict: The last conflict (or exception of ``retry_on``), once the attempts
            are used up (or the policy's deadline has passed).
        ValidationError: ``attempts`` is less than 1, or ``retry_on`` is an empty tuple.
        TypeError: ``retry_on`` holds something that is not a subclass of ``Exception``.

    Example:
        >>> def deposit() -> Account:
        ...     account = Account.get(account_id="a1", consistent=True)
        ...     account.balance += 5
        ...     account.save()
        ...     return account
        >>> retry_on_conflict(deposit, attempts=20)  # doctest: +SKIP

        With an exception of your own for lost races, and a count of them:

        >>> class LostRace(Exception):
        ...     pass
        >>> tries = []
        >>> def attempt() -> str:
        ...     tries.append(1)
        ...     if len(tries) < 3:
        ...         raise LostRace("another order took the stock first")
        ...     return "placed"
        >>> lost = []
        >>> retry_on_conflict(attempt, retry_on=LostRace,
        ...                   on_conflict=lambda exc, attempt: lost.append(attempt))
        'placed'
        >>> lost
        [1, 2]
    """
    retries = ConflictRetries(attempts, policy, on_conflict, retry_on)
    while True:
        try:
            return fn()
        except retries.retried as conflict:
            delay = retries.lost(conflict)
            if delay is None:
                raise
            time.sleep(delay)


class ConflictRetries:
    """The decisions of :func:`retry_on_conflict` (shared with its async form): which
    exceptions are retried, how long to wait after each lost attempt, when to give up.

    Raises:
        ValidationError: ``attempts`` is less than 1, or ``retry_on`` is an empty tuple.
        TypeError: ``retry_on`` holds something that is not a subclass of ``Exception``.
    """

    def __init__(
        self,
        attempts: int | None,
        policy: RetryPolicy | None,
        on_conflict: Callable[[Any, int], object] | None,
        retry_on: type[Exception] | tuple[type[Exception], ...],
    ) -> None:
        self.retried = _exception_types(retry_on)
        chosen = policy or CONFLICT_POLICY
        if attempts is not None:
            chosen = RetryPolicy(
                max_attempts=attempts,
                base_delay=chosen.base_delay,
                cap=chosen.cap,
                deadline=chosen.deadline,
                jitter=chosen.jitter,
            )
        self._delays = chosen.delays()
        self._on_conflict = on_conflict
        self.attempt = 1

    def lost(self, conflict: Exception) -> float | None:
        """Count the attempt ``conflict`` ended: the seconds to wait before the next one, or
        ``None`` to give up (re-raise ``conflict``)."""
        attempt = self.attempt
        if self._on_conflict is not None:
            self._on_conflict(conflict, attempt)
        what = "version conflict" if isinstance(conflict, VersionConflict) else "conflict"
        delay = next(self._delays, None)
        if delay is None:
            logger.warning(
                "%s: giving up after %d attempt(s): %s", what, attempt, _describe(conflict)
            )
            return None
        logger.info(
            "%s on attempt %d (%s); retrying in %.3fs", what, attempt, _describe(conflict), delay
        )
        self.attempt += 1
        return delay


def _exception_types(
    retry_on: type[Exception] | tuple[type[Exception], ...],
) -> tuple[type[Exception], ...]:
    """``retry_on`` as a tuple, checked: exception classes only, at least one."""
    types = retry_on if isinstance(retry_on, tuple) else (retry_on,)
    if not types:
        raise ValidationError("retry_on_conflict(retry_on=()) would retry nothing; name a type")
    for kind in types:
        if not (isinstance(kind, type) and issubclass(kind, Exception)):
            raise TypeError(
                f"retry_on_conflict(retry_on=...) takes Exception subclasses, got {kind!r}"
            )
    return types


def _describe(conflict: Exception) -> str:
    """``conflict`` for a log line; a bare exception type when it has no message."""
    return str(conflict) if isinstance(conflict, VersionConflict) else repr(conflict)


def mutate_entity(
    entity: type[E],
    fn: Callable[[E], object],
    key_values: Mapping[str, Any],
    *,
    attempts: int | None,
    policy: RetryPolicy | None,
    on_conflict: Callable[[VersionConflict, int], object] | None,
) -> E:
    """Read (consistently), apply ``fn``, save; retried on conflicts. See :meth:`Entity.mutate`."""
    check_mutable(entity)
    key = entity.key(**key_values)

    def attempt() -> E:
        instance = entity.get(consistent=True, **key_values)
        if instance is None:
            raise missing_item(key)
        fn(instance)
        instance.save()
        return instance

    return retry_on_conflict(attempt, attempts=attempts, policy=policy, on_conflict=on_conflict)


def check_mutable(entity: type[Entity]) -> None:
    """Refuse ``mutate`` on an entity without a version attribute.

    Raises:
        ConfigurationError: ``entity`` has no version attribute.
    """
    if entity.__version_attribute__ is None:
        raise ConfigurationError(
            f"{entity.__qualname__}.mutate needs a VersionAttribute to detect concurrent writes; "
            "without one, a read-modify-write silently loses updates. Add "
            "version = VersionAttribute() to the entity, or use an update expression "
            f"({entity.__qualname__}.update_by_key(key, Attr.add(1)))"
        )


def missing_item(key: ItemKey) -> UnknownEntityType:
    """The error of a ``mutate`` of an item that does not exist."""
    return UnknownEntityType(
        f"{key.entity.__qualname__} {dict(key.key)} does not exist; mutate() changes "
        "existing items: save() a new one first",
        type_name=None,
        item={},
    )
