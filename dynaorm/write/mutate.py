"""Read-modify-write under optimistic locking, retried on version conflicts.

Two writers that read version 3 of an item and both save version 4 cannot both succeed: the
second save's condition (``version = 3``) fails and raises :class:`~dynaorm.VersionConflict`.
:func:`retry_on_conflict` turns that into a loop: wait (exponential backoff with full jitter,
so competing writers spread out), re-run the whole read-modify-write, and give up with the
last conflict after the policy's attempts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from dynaorm.base.errors import ConfigurationError, UnknownEntityType, VersionConflict
from dynaorm.wire.retry import RetryPolicy

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity

__all__ = ["CONFLICT_POLICY", "mutate_entity", "retry_on_conflict"]

logger = logging.getLogger("dynaorm")

T = TypeVar("T")
E = TypeVar("E", bound="Entity")

CONFLICT_POLICY = RetryPolicy(max_attempts=10, base_delay=0.01, cap=1.0)
"""The default policy for conflicts: 10 attempts, sleeps up to 10 ms, 20 ms, ... 1 s."""


def retry_on_conflict(
    fn: Callable[[], T],
    *,
    attempts: int | None = None,
    policy: RetryPolicy | None = None,
    on_conflict: Callable[[VersionConflict, int], object] | None = None,
) -> T:
    """Call ``fn`` until it does not raise :class:`~dynaorm.VersionConflict`.

    ``fn`` must do the whole read-modify-write (read the item, change it, write it), so that
    each attempt starts from the stored state. Other errors propagate at once.

    Args:
        fn: The read-modify-write to run.
        attempts: Attempts in all (overrides ``policy.max_attempts``).
        policy: Backoff between attempts (default :data:`CONFLICT_POLICY`).
        on_conflict: Called with each conflict and the number of the attempt that lost.

    Returns:
        What ``fn`` returned on the attempt that succeeded.

    Raises:
        VersionConflict: The last conflict, once the attempts are used up (or the policy's
            deadline has passed).
        ValidationError: ``attempts`` is less than 1.

    Example:
        >>> def deposit() -> Account:
        ...     account = Account.get(account_id="a1", consistent=True)
        ...     account.balance += 5
        ...     account.save()
        ...     return account
        >>> retry_on_conflict(deposit, attempts=20)  # doctest: +SKIP
    """
    chosen = policy or CONFLICT_POLICY
    if attempts is not None:
        chosen = RetryPolicy(
            max_attempts=attempts,
            base_delay=chosen.base_delay,
            cap=chosen.cap,
            deadline=chosen.deadline,
            jitter=chosen.jitter,
        )
    delays = chosen.delays()
    attempt = 1
    while True:
        try:
            return fn()
        except VersionConflict as conflict:
            if on_conflict is not None:
                on_conflict(conflict, attempt)
            delay = next(delays, None)
            if delay is None:
                logger.warning(
                    "version conflict: giving up after %d attempt(s): %s", attempt, conflict
                )
                raise
            logger.info(
                "version conflict on attempt %d (%s); retrying in %.3fs", attempt, conflict, delay
            )
            time.sleep(delay)
            attempt += 1


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
    if entity.__version_attribute__ is None:
        raise ConfigurationError(
            f"{entity.__qualname__}.mutate needs a VersionAttribute to detect concurrent writes; "
            "without one, a read-modify-write silently loses updates. Add "
            "version = VersionAttribute() to the entity, or use an update expression "
            f"({entity.__qualname__}.update_by_key(key, Attr.add(1)))"
        )
    key = entity.key(**key_values)

    def attempt() -> E:
        instance = entity.get(consistent=True, **key_values)
        if instance is None:
            raise UnknownEntityType(
                f"{entity.__qualname__} {dict(key.key)} does not exist; mutate() changes "
                "existing items: save() a new one first",
                type_name=None,
                item={},
            )
        fn(instance)
        instance.save()
        return instance

    return retry_on_conflict(attempt, attempts=attempts, policy=policy, on_conflict=on_conflict)
