"""A thin async shim over mongomock: the stand-in for MongoDB when no server is available.

It gives ``lrs.store.mongo.MongoStore`` the slice of PyMongo's async API it uses
(``AsyncMongoClient`` -> database -> collection -> cursor), running mongomock's
synchronous in-memory implementation underneath, so that every Mongo code path
runs in CI. It is not MongoDB: no transactions (the store then runs as on a
standalone server), no ``explain()``, and mongomock's own query engine. It does refuse a command
that would not fit, as PyMongo does before sending it to a server (``DocumentTooLarge``: a document is
at most 16 MiB, a command 16 MiB and 16 KiB); mongomock takes any size.
"""

from __future__ import annotations

from typing import Any

import mongomock

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024  # a server's maxBsonObjectSize
MAX_COMMAND_BYTES = MAX_DOCUMENT_BYTES + 16382  # PyMongo: max_bson_size + message._COMMAND_OVERHEAD


def _size(value: Any) -> int:
    import bson

    return len(bson.encode(value)) if isinstance(value, dict) else 0


def _check_command_size(operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """PyMongo's own checks: a document to insert larger than a server takes, or a command (its filter
    and its update together) larger than this, never reaches the server (``DocumentTooLarge``)."""
    from pymongo.errors import DocumentTooLarge

    if operation in ("insert_one", "insert_many"):
        docs = args[0] if args else kwargs.get("document", kwargs.get("documents"))
        for doc in [docs] if operation == "insert_one" else docs:
            if _size(doc) > MAX_DOCUMENT_BYTES:
                raise DocumentTooLarge(f"BSON document too large ({_size(doc)} bytes)")
        return
    size = sum(_size(a) for a in args[:2]) + _size(kwargs.get("filter")) + _size(kwargs.get("update"))
    if size > MAX_COMMAND_BYTES:
        raise DocumentTooLarge(f"{operation} command document too large")


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

    def __aiter__(self) -> AsyncCursor:
        return self

    async def __anext__(self) -> dict[str, Any]:
        try:
            return next(self._cursor)
        except StopIteration:
            raise StopAsyncIteration from None

    async def close(self) -> None:
        self._cursor.close()

    async def explain(self) -> dict[str, Any]:
        raise NotImplementedError("mongomock has no explain(): run the suite with LRS_TEST_MONGODB_URI")


class AsyncCollection:
    def __init__(self, collection: Any) -> None:
        self._c = collection

    def with_options(self, **kwargs: Any) -> AsyncCollection:
        self.options = kwargs
        return self

    def find(self, *args: Any, session: Any = None, **kwargs: Any) -> AsyncCursor:
        _check_command_size("find", args[:1], {"filter": kwargs.get("filter")})
        return AsyncCursor(self._c.find(*args, **kwargs))

    async def bulk_write(self, requests: Any, *, ordered: bool = True, session: Any = None) -> None:
        """UpdateOne requests only, one at a time (mongomock's own bulk_write does not take the UpdateOne
        of the PyMongo installed: it passes a ``sort``)."""
        from pymongo import UpdateOne

        for request in requests:
            assert isinstance(request, UpdateOne), request
            _check_command_size("update", (request._filter, request._doc), {})
            self._c.update_one(request._filter, request._doc, upsert=request._upsert)

    async def create_index(self, keys: Any, **kwargs: Any) -> str:
        kwargs.pop("partialFilterExpression", None)  # mongomock does not take it; the index is only an optimisation
        return self._c.create_index(keys, **kwargs)


def _passthrough(name: str) -> Any:
    async def method(self: AsyncCollection, *args: Any, session: Any = None, **kwargs: Any) -> Any:
        _check_command_size(name, args, kwargs)
        return getattr(self._c, name)(*args, **kwargs)

    method.__name__ = name
    return method


for _name in ("find_one", "insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one",
              "delete_many", "count_documents"):
    setattr(AsyncCollection, _name, _passthrough(_name))


class AsyncDatabase:
    def __init__(self, database: Any, replica_set: bool = False) -> None:
        self._db = database
        self._replica_set = replica_set

    def __getitem__(self, name: str) -> AsyncCollection:
        return AsyncCollection(self._db[name])

    async def list_collection_names(self, **kwargs: Any) -> list[str]:
        return self._db.list_collection_names()

    async def create_collection(self, name: str, **kwargs: Any) -> AsyncCollection:
        return AsyncCollection(self._db.create_collection(name))

    async def command(self, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if name == "hello":  # a standalone server (no transactions), or a replica set member
            return {"isWritablePrimary": True, "ok": 1.0, **({"setName": "rs0"} if self._replica_set else {})}
        raise NotImplementedError(f"mongomock stand-in: command {name!r}")


class FakeSession:
    """``replica_set=True``: sessions and transactions with PyMongo's shapes, so that the store's
    transaction path runs. Nothing is rolled back: mongomock has no transactions."""

    def __init__(self) -> None:
        self.transactions = 0

    async def __aenter__(self) -> FakeSession:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None

    async def start_transaction(self) -> FakeSession:
        self.transactions += 1
        return self

    async def with_transaction(self, callback: Any, read_concern: Any = None, write_concern: Any = None,
                               read_preference: Any = None, max_commit_time_ms: Any = None) -> Any:
        self.transactions += 1
        self.read_preference = read_preference
        return await callback(self)


class AsyncMongomockClient:
    def __init__(self, *, replica_set: bool = False) -> None:
        self._client = mongomock.MongoClient()
        self._replica_set = replica_set
        self.sessions: list[FakeSession] = []

    def __getitem__(self, name: str) -> AsyncDatabase:
        return AsyncDatabase(self._client[name], self._replica_set)

    def start_session(self) -> FakeSession:
        if not self._replica_set:
            raise NotImplementedError("mongomock stand-in: no sessions on a standalone server")
        self.sessions.append(FakeSession())
        return self.sessions[-1]

    async def close(self) -> None:
        self._client.close()
