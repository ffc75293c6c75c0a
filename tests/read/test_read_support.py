"""What a read's projection means for decoding (dynaorm/read/support.py): which attributes a
selection reads only in part."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, MapAttribute, UnicodeAttribute
from pynamodb.expressions.operand import Path

from dynaorm import Entity, Key, Table
from dynaorm.read.support import partly_read

documents = Table("test-read-support")


class Doc(Entity, table=documents):
    doc_id = UnicodeAttribute()
    title = UnicodeAttribute(null=True)
    meta = MapAttribute(null=True)  # type: ignore[var-annotated]
    tags = ListAttribute(null=True)  # type: ignore[var-annotated]
    primary = Key(pk="DOC#{doc_id}", sk="DOC")


def test_an_attribute_selected_only_through_nested_paths_is_read_in_part() -> None:
    assert partly_read([Path(Doc.title), Path(Doc.meta), Doc.tags[1]]) == {"tags"}
    assert partly_read([Doc.meta["colour"], Doc.meta["size"], Doc.tags[0]]) == {"meta", "tags"}


def test_an_attribute_selected_whole_is_read_whole_nested_paths_into_it_or_not() -> None:
    assert partly_read([Path(Doc.tags), Doc.tags[1], Doc.meta["colour"]]) == {"meta"}
    assert partly_read([Path(Doc.tags)]) == frozenset()
    assert partly_read([]) == frozenset()
