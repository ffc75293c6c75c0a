"""The ledger of one batch write: the state of every write handed in, whatever ends the batch.

Every write handed to a batch gets one :class:`Entry` here, and only the ledger changes its
state, under one lock::

    handed in -> PENDING -(begin)-> SENT -(answered)-> APPLIED
                    ^                 |
                    +--(returned as unprocessed, refused, or no answer)--+

An entry is PENDING while it is buffered, waiting for a worker, queued, or waiting to be
re-sent; SENT while a request carrying it is out and unanswered. ``maybe`` records that some
request carrying it got no answer (a read timeout, a broken connection, a server fault), so it
may have been applied even though the entry is PENDING again. A write replaced by a later write
of the same key before it was sent is SUPERSEDED: it is never sent, and the later write
carries the key.

Once :meth:`Ledger.halt` has run, :meth:`Ledger.begin` refuses every send, atomically with the
check, so nothing PENDING at that moment is ever sent. When a batch ends, every write is in
exactly one class (:meth:`Ledger.split`):

* **applied**: a response said so (counted, not kept, so a batch of millions holds only what is
  still open);
* **not applied**: PENDING and never ``maybe`` (buffered, never sent, returned as unprocessed,
  or refused: throttled, a failed connection, an HTTP 4xx);
* **unknown**: SENT and never answered (the batch was interrupted while it was out), or
  ``maybe``: the server may or may not have applied it.
"""

from __future__ import annotations

import enum
import itertools
import threading
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar

__all__ = ["Entry", "Ledger", "State"]


class _Write(Protocol):
    @property
    def is_put(self) -> bool: ...


W = TypeVar("W", bound=_Write)


class State(enum.Enum):
    """Where one write is."""

    PENDING = "pending"
    SENT = "sent"
    APPLIED = "applied"
    SUPERSEDED = "superseded"


class Entry(Generic[W]):
    """One write handed in, and its state (changed only by the :class:`Ledger`).

    Attributes:
        number: Its place in the order writes were handed in.
        write: The write.
        state: Its :class:`State`.
        maybe: A request carrying it got no answer, so it may have been applied.
    """

    __slots__ = ("maybe", "number", "state", "write")

    def __init__(self, number: int, write: W) -> None:
        self.number = number
        self.write = write
        self.state = State.PENDING
        self.maybe = False

    def __repr__(self) -> str:
        maybe = ", maybe applied" if self.maybe else ""
        return f"Entry({self.number}, {self.state.value}{maybe})"


class Ledger(Generic[W]):
    """The state of every write of one batch, under one lock.

    Args:
        lock: The lock to use (the batch's counters share it, so a snapshot is consistent).

    Attributes:
        stop: Set by :meth:`halt`; retriers of the batch's requests watch it.
        handed_in: Writes handed in.
        applied: Writes the server applied.
        puts: Of those, puts.
        superseded: Writes replaced by a later write of the same key before they were sent.

    Example:
        >>> from typing import NamedTuple
        >>> class Put(NamedTuple):
        ...     name: str
        ...     is_put: bool = True
        >>> ledger: Ledger[Put] = Ledger()
        >>> a, b, c = (ledger.add(Put(n)) for n in "abc")
        >>> ledger.begin([a, b])
        True
        >>> ledger.answered([a], left=[])  # b is still out: no answer yet
        >>> ledger.halt()
        >>> ledger.begin([c])  # halted: c is never sent
        False
        >>> ledger.split()
        ([Put(name='c', is_put=True)], [Put(name='b', is_put=True)])
    """

    def __init__(self, lock: threading.RLock | None = None) -> None:
        self.lock = lock if lock is not None else threading.RLock()
        self.stop = threading.Event()
        self._numbers = itertools.count()
        # Entries neither applied nor superseded, in the order they were handed in.
        self._open: dict[int, Entry[W]] = {}
        self.handed_in = 0
        self.applied = 0
        self.puts = 0
        self.superseded = 0

    def add(self, write: W, *, replaces: Entry[W] | None = None) -> Entry[W]:
        """Record a write handed in (PENDING); ``replaces`` is a PENDING entry of the same key
        that it supersedes."""
        with self.lock:
            if replaces is not None:
                if replaces.state is not State.PENDING or replaces.maybe:
                    raise RuntimeError(f"only a write never sent can be superseded: {replaces!r}")
                replaces.state = State.SUPERSEDED
                del self._open[replaces.number]
                self.superseded += 1
            entry = Entry(next(self._numbers), write)
            self._open[entry.number] = entry
            self.handed_in += 1
            return entry

    def begin(self, entries: Iterable[Entry[W]]) -> bool:
        """Mark ``entries`` SENT just before a request carrying them goes out; return False
        (and change nothing) once the ledger is halted."""
        with self.lock:
            if self.stop.is_set():
                return False
            for entry in entries:
                self._expect(entry, State.PENDING)
                entry.state = State.SENT
            return True

    def answered(self, applied: Iterable[Entry[W]], left: Iterable[Entry[W]]) -> None:
        """A response came: ``applied`` were applied, ``left`` handed back as unprocessed."""
        with self.lock:
            for entry in applied:
                self._expect(entry, State.SENT)
                entry.state = State.APPLIED
                del self._open[entry.number]
                self.applied += 1
                self.puts += int(entry.write.is_put)
            for entry in left:
                self._expect(entry, State.SENT)
                entry.state = State.PENDING

    def unanswered(self, entries: Iterable[Entry[W]], *, maybe_applied: bool) -> None:
        """A request carrying ``entries`` failed: refused (``maybe_applied=False``: throttled,
        never sent, HTTP 4xx) or without an answer (``True``: timeout, broken connection,
        server fault)."""
        with self.lock:
            for entry in entries:
                self._expect(entry, State.SENT)
                entry.state = State.PENDING
                entry.maybe = entry.maybe or maybe_applied

    def halt(self) -> None:
        """Refuse every later :meth:`begin`, and stop the retriers watching :attr:`stop`."""
        with self.lock:
            self.stop.set()

    @property
    def halted(self) -> bool:
        """True once :meth:`halt` ran."""
        return self.stop.is_set()

    @property
    def open(self) -> int:
        """Writes neither applied nor superseded."""
        with self.lock:
            return len(self._open)

    def split(self) -> tuple[list[W], list[W]]:
        """The writes not applied and those of unknown outcome, each in hand-in order.

        Every other write handed in was applied (:attr:`applied`) or superseded.
        """
        with self.lock:
            not_applied = [e.write for e in self._open.values() if _not_applied(e)]
            unknown = [e.write for e in self._open.values() if not _not_applied(e)]
            return not_applied, unknown

    @staticmethod
    def _expect(entry: Entry[W], state: State) -> None:
        if entry.state is not state:
            raise RuntimeError(f"batch ledger: {entry!r} is not {state.value}")


def _not_applied(entry: Entry[W]) -> bool:
    return entry.state is State.PENDING and not entry.maybe
