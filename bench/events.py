"""A slim entity for the server benchmarks that load tens of thousands of items."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dynaorm import Entity, Key, Table

events_table = Table("bench-events")


class Event(Entity, table=events_table):
    stream = UnicodeAttribute()
    seq = NumberAttribute()
    kind = UnicodeAttribute()
    payload = UnicodeAttribute()
    primary = Key(pk="STREAM#{stream}", sk="EVENT#{seq:08d}")


PAYLOAD = "x" * 100


def event_item(stream: str, seq: int) -> dict[str, Any]:
    """The stored form of ``Event(stream=stream, seq=seq, kind="click", payload=PAYLOAD)``,
    built directly (loading 100,000 items through ``to_item`` would cost seconds)."""
    return {
        "PK": {"S": f"STREAM#{stream}"},
        "SK": {"S": f"EVENT#{seq:08d}"},
        "_type": {"S": "Event"},
        "stream": {"S": stream},
        "seq": {"N": str(seq)},
        "kind": {"S": "click"},
        "payload": {"S": PAYLOAD},
    }
