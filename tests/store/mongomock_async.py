"""A thin async shim over mongomock: the stand-in for MongoDB when no server is available.

It gives ``lrs.store.mongo.MongoStore`` the slice of PyMongo's async API it uses
(``AsyncMongoClient`` -> database -> collection -> cursor), running mongomock's
synchronous in-memory implementation underneath, so that every Mongo code path
runs in CI. It is not MongoDB: no transactions (the store then runs as on a
standalone server), no ``explain()``, and mongomock's own query engine.
"""

from __future__ import annotations

from typing import Any

import mongomock


class AsyncCursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def sort(self, *args: Any, **kwargs: Any) -> AsyncCursor:
        self._cursor = self._cursor.sort(*args, **kwargs)
        return self

    def limit(self, n: int) -> AsyncCursor:
        self._cursor = self._cursor.limit(n)
        return self

    async def to_list(self, length: int | None = None) -> list[dict[str, Any]]:
        rows = list(self._cursor)
        return rows if length is None else rows[:length]

    async def explain(self) -> dict[str, Any]:
        raise NotImplementedError("mongomock has no explain(): run the suite with LRS_TEST_MONGODB_URI")


class AsyncCollection:
    def __init__(self, collection: Any) -> None:
        self._c = collection

    def find(self, *args: Any, session: Any = None, **kwargs: Any) -> AsyncCursor:
        return AsyncCursor(self._c.find(*args, **kwargs))

    async def create_index(self, keys: Any, **kwargs: Any) -> str:
        kwargs.pop("partialFilterExpression", None)  # mongomock does not take it; the index is only an optimisation
        return self._c.create_index(keys, **kwargs)


def _passthrough(name: str) -> Any:
    async def method(self: AsyncCollection, *args: Any, session: Any = None, **kwargs: Any) -> Any:
        return getattr(self._c, name)(*args, **kwargs)

    method.__name__ = name
    return method


for _name in ("find_one", "insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one",
              "delete_many", "count_documents"):
    setattr(AsyncCollection, _name, _passthrough(_name))


class AsyncDatabase:
    def __init__(self, database: Any) -> None:
        self._db = database

    def __getitem__(self, name: str) -> AsyncCollection:
        return AsyncCollection(self._db[name])

    async def command(self, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if name == "hello":  # a standalone server: no transactions
            return {"isWritablePrimary": True, "ok": 1.0}
        raise NotImplementedError(f"mongomock stand-in: command {name!r}")


class AsyncMongomockClient:
    def __init__(self) -> None:
        self._client = mongomock.MongoClient()

    def __getitem__(self, name: str) -> AsyncDatabase:
        return AsyncDatabase(self._client[name])

    async def close(self) -> None:
        self._client.close()
