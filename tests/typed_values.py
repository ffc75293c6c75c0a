"""Hypothesis strategies of DynamoDB typed values and items, for the tests of sizes and JSON."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Text without lone surrogates (which have no UTF-8 encoding), ASCII and not.
TEXTS = st.text(st.characters(exclude_categories=("Cs",)), max_size=12) | st.text(
    "abcxyz", max_size=12
)
# Numbers as PynamoDB writes them: plain notation, at most 38 digits.
PLAIN_NUMBERS = st.integers(-(10**38) + 1, 10**38 - 1).map(str) | st.decimals(
    allow_nan=False, allow_infinity=False, places=6
).map(lambda d: format(d, "f"))
BINARIES = st.binary(max_size=12)


def scalars(
    numbers: st.SearchStrategy[str] = PLAIN_NUMBERS, *, empty_sets: bool = False
) -> st.SearchStrategy[dict[str, Any]]:
    """Typed scalars and sets (sets empty too when ``empty_sets``, which DynamoDB refuses)."""
    least = 0 if empty_sets else 1
    return st.one_of(
        TEXTS.map(lambda t: {"S": t}),
        numbers.map(lambda n: {"N": n}),
        BINARIES.map(lambda b: {"B": b}),
        st.booleans().map(lambda b: {"BOOL": b}),
        st.just({"NULL": True}),
        st.lists(TEXTS, min_size=least, max_size=4, unique=True).map(lambda m: {"SS": m}),
        st.lists(PLAIN_NUMBERS, min_size=least, max_size=4, unique=True).map(lambda m: {"NS": m}),
        st.lists(BINARIES, min_size=least, max_size=4, unique=True).map(lambda m: {"BS": m}),
    )


def typed_values(leaves: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Typed values: ``leaves`` nested in lists and maps."""
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=4).map(lambda m: {"L": m})
            | st.dictionaries(TEXTS, inner, max_size=4).map(lambda m: {"M": m})
        ),
        max_leaves=20,
    )


def typed_items(
    leaves: st.SearchStrategy[dict[str, Any]],
) -> st.SearchStrategy[dict[str, dict[str, Any]]]:
    """Items: attribute names to typed values."""
    return st.dictionaries(TEXTS, typed_values(leaves), max_size=6)
