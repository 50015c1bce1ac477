"""moto's server for the performance harness, with one change: a failed TransactWriteItems is
rolled back from copies of the items it touches, not from a deep copy of every table it names.

moto 5 deep-copies the whole table before each transaction (once per action), so each audit
append costs time and memory in proportion to everything the run has written: 1,000 warm
invocations of a writing function took minutes and gigabytes. Only the harness uses this; the
test suite runs moto unchanged. What a transaction does, and which conditions it enforces, are
moto's own code: the change is confined to how the state before it is kept.

Run as `python tests/perf/moto_server.py -H 127.0.0.1 -p PORT` (the arguments of moto_server).
"""

from __future__ import annotations

import copy
import sys
from typing import Any

from moto.dynamodb.models import DynamoDBBackend, Table
import moto.dynamodb.models as dynamodb_models


class _TablesKeptByReference:
    """The `copy` module as moto's DynamoDB backend sees it: a Table deep-copies to itself, so
    the whole-table backup costs nothing (the rollback below restores the touched items)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _key_of(backend: DynamoDBBackend, op: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    table_name = op.get("TableName")
    if not table_name or table_name not in backend.tables:
        return None
    if "Key" in op:
        return table_name, op["Key"]
    table = backend.tables[table_name]
    attrs = op.get("Item", {})
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    if not all(n in attrs for n in names):
        return None  # moto rejects the action itself
    return table_name, {n: attrs[n] for n in names}


_original = DynamoDBBackend.transact_write_items


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    before = []
    for action in transact_items:
        found = _key_of(self, next(iter(action.values()))) if action else None
        if found is not None:
            table_name, key = found
            try:
                item = self.get_item(table_name, key)
            except Exception:  # an invalid key: moto's own code reports it
                continue
            before.append((table_name, key, None if item is None else item.to_json()["Attributes"]))
    try:
        return _original(self, transact_items)
    except Exception:
        for table_name, key, attrs in reversed(before):
            if attrs is None:
                if self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            else:
                self.put_item(table_name, copy.deepcopy(attrs))
        raise


dynamodb_models.copy = _TablesKeptByReference()  # type: ignore[assignment]
DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
