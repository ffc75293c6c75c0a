"""Interleaved timing: every variant runs in each round, so drift hits them alike.

Client-side benchmarks time with the thread's CPU clock (``time.thread_time``), not the wall
clock: on a shared machine the wall clock also counts the time the process spends waiting for
a core, which is noise here, while the CPU time is the client's own work.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping

import attrs

Clock = Callable[[], float]


@attrs.frozen
class Timing:
    """Per-operation seconds of each round, per variant."""

    rounds: Mapping[str, tuple[float, ...]]

    def median(self, variant: str) -> float:
        return statistics.median(self.rounds[variant])

    def ratio(self, variant: str, baseline: str) -> float:
        """Median over rounds of the per-round ratio (paired, so noise common to both cancels)."""
        pairs = zip(self.rounds[variant], self.rounds[baseline], strict=True)
        return statistics.median(a / b for a, b in pairs)


def interleaved(
    variants: Mapping[str, Callable[[], object]],
    *,
    ops: int,
    rounds: int,
    warmup: int = 50,
    clock: Clock = time.thread_time,
) -> Timing:
    """Run each variant ``ops`` times per round for ``rounds`` rounds, alternating variants."""
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    results: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for round_number in range(rounds):
        order = names if round_number % 2 == 0 else list(reversed(names))
        for name in order:
            fn = variants[name]
            gc.collect()
            start = clock()
            for _ in range(ops):
                fn()
            results[name].append((clock() - start) / ops)
    return Timing({k: tuple(v) for k, v in results.items()})
