"""The PynamoDB expression classes dynaorm inspects, named in one place.

PynamoDB builds conditions and update actions from operands (attribute paths, values, and
functions such as ``list_append`` or ``if_not_exists``). It keeps the base class of operands
and the ``list_append`` operand private. Every dynaorm module that needs to recognise them
imports them from here, so a change in PynamoDB's expression classes is absorbed in one
module (the serializer and container internals have theirs in
:mod:`dynaorm.model.pynamodb_compat`; ``pyproject.toml`` bounds the PynamoDB version both
are written against).
"""

from __future__ import annotations

from pynamodb.expressions.operand import _ListAppend, _Operand

__all__ = ["ListAppend", "Operand"]

Operand = _Operand
"""The base class of every PynamoDB operand: paths, values, and functions of them.

Example:
    >>> from pynamodb.expressions.operand import Path
    >>> isinstance(Path("total"), Operand)
    True
"""

ListAppend = _ListAppend
"""The operand ``list_append(a, b)``, as ``Order.lines.append([...])`` builds it."""
