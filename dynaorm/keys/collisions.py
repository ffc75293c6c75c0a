"""Whether two key templates may build the same text: a table refuses to register an entity
whose primary key could build the key of another entity of the table.

Each template stands for a set of texts: its literal text, and for each field a non-empty run
of the characters the field's values may hold (any character but the delimiter and the
lone character between the field and the next, if it is one, or only digits and
punctuation for numbers and datetimes). Two templates may collide when the two sets share a
text; that is decided exactly for these sets by walking both templates side by side (the
product of two small automata). Each set holds every key its template can build, so "no
collision" is a proof: no values build one key for both templates.

This module is pure: it compares the parsed parts of templates, nothing else.
"""

from __future__ import annotations

import attrs

from dynaorm.keys.parts import Field, stop_text
from dynaorm.keys.templates import KeyTemplate

__all__ = ["CharClass", "templates_may_collide", "text_pattern"]


@attrs.frozen
class CharClass:
    """A set of characters: only ``chars``, or (``negated``) any character but ``chars``."""

    chars: frozenset[str]
    negated: bool = False

    def meets(self, other: CharClass) -> bool:
        """True when some character is in both sets (the alphabet is never exhausted)."""
        if self.negated and other.negated:
            return True
        if self.negated:
            return bool(other.chars - self.chars)
        if other.negated:
            return bool(self.chars - other.chars)
        return bool(self.chars & other.chars)


# One step of a pattern: a character class, repeated (one or more times) or not.
Step = tuple[CharClass, bool]


def _field_class(template: KeyTemplate, name: str) -> CharClass:
    alphabet = template.codecs[name].alphabet()
    barred = {template.delimiter} if template.delimiter is not None else set()
    following = stop_text(template.parts, name)
    if len(following) == 1:
        barred.add(following)
    if alphabet is None:
        return CharClass(frozenset(barred), negated=True)
    return CharClass(frozenset(alphabet - barred))


def text_pattern(template: KeyTemplate) -> tuple[Step, ...]:
    """The template as a pattern over characters: each literal character once, each field as
    one or more characters of the class its values may hold."""
    steps: list[Step] = []
    for part in template.parts:
        if isinstance(part, Field):
            steps.append((_field_class(template, part.name), True))
        else:
            steps.extend((CharClass(frozenset(char)), False) for char in part.text)
    return tuple(steps)


def _moves(pattern: tuple[Step, ...], state: tuple[int, bool]) -> list[tuple[CharClass, int]]:
    """(class, next position) for each character the pattern reads at ``state``.

    A state is (position, inside): ``inside`` means the step before ``position`` was a
    repeated class that may read more.
    """
    position, inside = state
    moves = []
    if inside:
        moves.append((pattern[position - 1][0], position))
    if position < len(pattern):
        moves.append((pattern[position][0], position + 1))
    return moves


def patterns_meet(a: tuple[Step, ...], b: tuple[Step, ...]) -> bool:
    """True when some text matches both patterns."""
    start = ((0, False), (0, False))
    seen = {start}
    todo = [start]
    while todo:
        here_a, here_b = todo.pop()
        if here_a[0] == len(a) and here_b[0] == len(b):
            return True
        for class_a, next_a in _moves(a, here_a):
            for class_b, next_b in _moves(b, here_b):
                if not class_a.meets(class_b):
                    continue
                state = ((next_a, a[next_a - 1][1]), (next_b, b[next_b - 1][1]))
                if state not in seen:
                    seen.add(state)
                    todo.append(state)
    return False


def templates_may_collide(a: KeyTemplate, b: KeyTemplate) -> bool:
    """True when some values could make ``a`` and ``b`` build the same text.

    Sound: ``False`` only when no values can (the patterns over-approximate what each
    template builds); it may report a collision that the finer rules on values (the text
    after a field, casing) rule out.

    Example:
        >>> templates_may_collide(KeyTemplate("ORDER#{id}"), KeyTemplate("{carrier}"))
        False
        >>> templates_may_collide(KeyTemplate("PROFILE"), KeyTemplate("{carrier}"))
        True
    """
    return patterns_meet(text_pattern(a), text_pattern(b))
