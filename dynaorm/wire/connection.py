"""A table's connection: its settings, retry policy and transport, scoped overrides, and the
binding a read, batch or transaction keeps of them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Self

import attrs

from dynaorm.base.settings import Settings, current_settings, environment_inputs, replacing_secrets
from dynaorm.model.table import Override, TableDefinition
from dynaorm.wire.retry import RetryPolicy
from dynaorm.wire.transport import Transport

__all__ = ["ConnectedTable", "TableBinding", "bind"]


class ConnectedTable(TableDefinition):
    """A table definition that can send requests (the connection part of
    :class:`dynaorm.Table`)."""

    @property
    def settings(self) -> Settings:
        """This table's own settings (unset fields come from :func:`dynaorm.configure` and
        the environment), with the changes of an :meth:`override` in its block.

        Assigning them (or calling :meth:`configure`) changes them for every thread.
        """
        return self._settings_in(self._overrides.get())

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = value
        self._slot.transport = None

    def configure(self, **settings: Any) -> None:
        """Change this table's connection settings (fields of :class:`~dynaorm.Settings`), for
        every thread and for good, e.g. to rotate credentials.

        The old settings' client is released once nothing uses it (see
        :func:`dynaorm.configure`), so rotating credentials does not grow memory. Inside an
        :meth:`override` block its own changes still win.

        Example:
            >>> shop.configure(read_timeout=5.0)  # doctest: +SKIP
        """
        self.settings = attrs.evolve(self._settings, **replacing_secrets(settings))

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy in force: the one given to the table (or assigned), else the one
        the standard AWS retry settings describe, else dynaorm's default.

        Assigning a policy makes it this table's for every later request; assigning ``None``
        returns to the AWS settings.

        Without an explicit policy, reading it resolves the table's connection settings (the
        shared config file is read per profile), so it needs what a request needs: a region.

        Raises:
            ConfigurationError: An AWS retry setting is invalid, or no region is configured
                (both only without an explicit policy).
        """
        if self._retry_policy is not None:
            return self._retry_policy
        return self.transport.policy

    @retry_policy.setter
    def retry_policy(self, value: RetryPolicy | None) -> None:
        self._retry_policy = value

    @property
    def transport(self) -> Transport:
        """Sends this table's requests (rebuilt when settings change)."""
        return self._transport_in(self._overrides.get())

    def _settings_in(self, override: Override | None) -> Settings:
        return self._settings if override is None else override.settings_over(self._settings)

    def _transport_in(self, override: Override | None) -> Transport:
        """The transport under ``override`` (``None``: the table's own)."""
        if override is None:
            own, slot = self._settings, self._slot
        else:
            own, slot = override.settings_over(self._settings), override.slot
        # Resolving settings costs more than a request's own client-side work, so the result
        # is reused while the inputs are the very same objects.
        inputs = (own, current_settings(), environment_inputs())
        cached = slot.transport
        previous = slot.inputs
        explicit = self._retry_policy
        if (
            cached is not None
            and cached.explicit_policy is explicit
            and inputs[0] is previous[0]
            and inputs[1] is previous[1]
            and inputs[2] == previous[2]
        ):
            return cached
        settings = own.merged_over(inputs[1]).resolved()
        # A changed retry_policy attribute applies to later requests, as it does to batches;
        # so does a changed AWS retry setting.
        if (
            cached is None
            or cached.settings != settings
            or cached.explicit_policy is not explicit
            or inputs[2][4:] != previous[2][4:]
        ):
            cached = Transport(settings, explicit)
        slot.transport = cached
        slot.inputs = inputs
        return cached

    @contextlib.contextmanager
    def override(self, *, name: str | None = None, **settings: Any) -> Iterator[Self]:
        """Use another physical name and/or settings for the code inside the ``with`` block.

        The override is scoped to the calling context (:mod:`contextvars`): it holds for the
        code the block runs and for the worker threads dynaorm starts from there (batch
        writers and readers, scan segments, read-ahead), and for nothing else — another
        thread using the same table at the same time still reaches the original table with
        the original settings. Overrides nest; the innermost wins. To change a table for
        every thread, assign :attr:`name` or call :meth:`configure` instead.

        A query or scan object is lazy and binds to the table as it is when it starts
        running (``page()``, ``iter()``, ``pages()``, ``count()``); an iterator, a batch
        writer or a transaction keeps the table it started (or was opened) with, even after
        the block has ended.

        Args:
            name: The physical table name inside the block (``None``: unchanged).
            **settings: Fields of :class:`~dynaorm.Settings` to change inside the block.

        Raises:
            TypeError: A keyword is not a field of :class:`~dynaorm.Settings`.

        Example:
            >>> with shop.override(name="shop-copy"):  # doctest: +SKIP
            ...     shop.create()
        """
        attrs.evolve(self._settings, **settings)  # an unknown field fails here, not later
        outer = self._overrides.get()
        changes = {**(outer.changes if outer is not None else {}), **replacing_secrets(settings)}
        if name is None and outer is not None:
            name = outer.name
        token = self._overrides.set(Override(name, changes))
        try:
            yield self
        finally:
            try:
                self._overrides.reset(token)
            except ValueError:  # the block was left in another context than it was entered
                self._overrides.set(outer)

    def call(self, operation: str, request: dict[str, Any], *, idempotent: bool) -> dict[str, Any]:
        """Send a raw request through this table's transport (retries, error translation)."""
        return self.transport.call(operation, request, idempotent=idempotent)


class TableBinding:
    """A table as the context it was bound in sees it: the physical name, settings and
    transport of the :meth:`Table.override` in force then (none: the table's own).

    A read binds when it starts running, a batch writer or transaction when it is opened;
    every request they send (from any thread, inside or outside the block) then goes to the
    same table, and their cursors are signed with the same keys. The transport is resolved
    on first use, once (so building a request, e.g. ``compile()``, needs no connection).
    """

    __slots__ = ("_override", "_transport", "name", "table")

    def __init__(self, table: ConnectedTable, override: Override | None) -> None:
        self.table = table
        self._override = override
        self.name = table._name if override is None or override.name is None else override.name
        self._transport: Transport | None = None

    @property
    def settings(self) -> Settings:
        """The table's settings with the bound override's changes."""
        return self.table._settings_in(self._override)

    @property
    def transport(self) -> Transport:
        """The bound transport (resolved on first use, then kept)."""
        transport = self._transport
        if transport is None:
            transport = self._transport = self.table._transport_in(self._override)
        return transport


def bind(table: ConnectedTable) -> TableBinding:
    """``table`` as the current context sees it (its :meth:`Table.override`, if any), kept
    whatever the context does later."""
    return TableBinding(table, table._overrides.get())
