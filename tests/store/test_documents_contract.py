"""The documents part of the Store contract (lrs.store.base.Store), through the interface only.

Runs against every backend of tests/store/conftest.py.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from lrs.xapi import documents as D
from lrs.xapi.documents import (
    ACTIVITY_PROFILE, AGENT_PROFILE, STATE, Document, DocumentScope, Precondition,
)
from lrs.xapi.errors import XAPIError
from lrs.xapi.statements import prepare
from lrs.xapi.timestamps import format_stored

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
ADA = "mbox:mailto:ada@example.com"
REG = "0b6b7a7e-8a8c-4c3b-9a53-3f2f2d6f0a01"
SCOPE = DocumentScope(STATE, "http://example.com/a", ADA)
NONE = Precondition()


def at(seconds: int) -> str:
    return format_stored(T0 + timedelta(seconds=seconds))


def doc(contents: bytes, content_type: str | None = "application/json", seconds: int = 0) -> Document:
    return Document.new(contents, content_type, at(seconds))


async def test_put_get_byte_exact(store):
    raw = bytes(range(256)) * 3
    await store.save_document(SCOPE, "bin", doc(raw, "application/x-thing; v=1", 5), merge=False, condition=NONE)
    got = await store.get_document(SCOPE, "bin")
    assert got == doc(raw, "application/x-thing; v=1", 5)
    assert got.contents == raw and got.content_type == "application/x-thing; v=1" and got.updated == at(5)
    assert await store.get_document(SCOPE, "other") is None


async def test_put_replaces(store):
    await store.save_document(SCOPE, "d", doc(b'{"a":1}'), merge=False, condition=NONE)
    await store.save_document(SCOPE, "d", doc(b"text", "text/plain", 1), merge=False, condition=NONE)
    assert (await store.get_document(SCOPE, "d")).contents == b"text"


async def test_merge(store):
    await store.save_document(SCOPE, "d", doc(b'{"x":"foo","y":"bar"}'), merge=True, condition=NONE)
    await store.save_document(SCOPE, "d", doc(b'{"x":"bash","z":"faz"}', seconds=2), merge=True, condition=NONE)
    got = await store.get_document(SCOPE, "d")
    assert json.loads(got.contents) == {"x": "bash", "y": "bar", "z": "faz"}
    assert got.updated == at(2)


async def test_merge_into_non_json_is_refused_and_changes_nothing(store):
    await store.save_document(SCOPE, "d", doc(b"plain", "text/plain"), merge=False, condition=NONE)
    with pytest.raises(XAPIError) as err:
        await store.save_document(SCOPE, "d", doc(b'{"a":1}', seconds=1), merge=True, condition=NONE)
    assert err.value.status == 400
    assert (await store.get_document(SCOPE, "d")).contents == b"plain"


async def test_scopes_are_separate(store):
    other_agent = DocumentScope(STATE, "http://example.com/a", "mbox:mailto:bob@example.com")
    other_activity = DocumentScope(STATE, "http://example.com/b", ADA)
    with_reg = DocumentScope(STATE, "http://example.com/a", ADA, REG)
    act_profile = DocumentScope(ACTIVITY_PROFILE, "http://example.com/a")
    agent_profile = DocumentScope(AGENT_PROFILE, agent=ADA)
    for i, scope in enumerate([SCOPE, other_agent, other_activity, with_reg, act_profile, agent_profile]):
        await store.save_document(scope, "d", doc(str(i).encode(), "text/plain"), merge=False, condition=NONE)
    for i, scope in enumerate([SCOPE, other_agent, other_activity, with_reg, act_profile, agent_profile]):
        assert (await store.get_document(scope, "d")).contents == str(i).encode()


async def test_ids_since_and_registrations(store):
    with_reg = DocumentScope(STATE, "http://example.com/a", ADA, REG)
    await store.save_document(SCOPE, "b", doc(b"1", seconds=10), merge=False, condition=NONE)
    await store.save_document(SCOPE, "a", doc(b"2", seconds=20), merge=False, condition=NONE)
    await store.save_document(with_reg, "c", doc(b"3", seconds=30), merge=False, condition=NONE)
    # No registration: every registration of the scope; ordered by id.
    assert await store.document_ids(SCOPE) == [("a", at(20)), ("b", at(10)), ("c", at(30))]
    assert await store.document_ids(with_reg) == [("c", at(30))]
    assert await store.document_ids(SCOPE, since=at(10)) == [("a", at(20)), ("c", at(30))]  # exclusive
    assert await store.document_ids(DocumentScope(STATE, "http://example.com/zzz", ADA)) == []
    # One id under two registrations: listed once, with its latest change.
    await store.save_document(with_reg, "a", doc(b"4", seconds=40), merge=False, condition=NONE)
    assert await store.document_ids(SCOPE) == [("a", at(40)), ("b", at(10)), ("c", at(30))]


async def test_delete_one_and_many(store):
    with_reg = DocumentScope(STATE, "http://example.com/a", ADA, REG)
    for name, scope, seconds in (("a", SCOPE, 1), ("b", SCOPE, 2), ("c", with_reg, 3), ("d", with_reg, 4)):
        await store.save_document(scope, name, doc(b"x", seconds=seconds), merge=False, condition=NONE)
    await store.delete_document(SCOPE, "a", condition=NONE)
    await store.delete_document(SCOPE, "missing", condition=NONE)  # no error
    assert [i for i, _ in await store.document_ids(SCOPE)] == ["b", "c", "d"]
    await store.delete_documents(with_reg, since=at(3))
    assert [i for i, _ in await store.document_ids(SCOPE)] == ["b", "c"]
    await store.delete_documents(SCOPE)
    assert await store.document_ids(SCOPE) == []


async def test_delete_many_checks_its_precondition_against_the_list(store):
    """The multiple-document DELETE's If-Match / If-None-Match: against the ids ``document_ids`` lists with the
    same arguments (``Precondition.check_many``); a failure is a 412 and deletes nothing."""
    with_reg = DocumentScope(STATE, "http://example.com/a", ADA, REG)
    for name, scope, seconds in (("a", SCOPE, 1), ("b", with_reg, 2), ("c", with_reg, 3), ("a", with_reg, 4)):
        await store.save_document(scope, name, doc(b"x", seconds=seconds), merge=False, condition=NONE)

    def listed_etag(ids):
        return D.etag_of(D.id_list(ids))

    for scope, since, condition in (
        (SCOPE, None, Precondition(if_match=(listed_etag(["a", "b"]),))),
        (SCOPE, None, Precondition(if_none_match=("*",))),
        (SCOPE, None, Precondition(if_none_match=(listed_etag(["a", "b", "c"]),))),
        (with_reg, at(2), Precondition(if_match=(listed_etag(["a", "b", "c"]),))),
        (DocumentScope(STATE, "http://example.com/zzz", ADA), None, Precondition(if_match=("*",))),
    ):
        with pytest.raises(XAPIError) as err:
            await store.delete_documents(scope, since=since, condition=condition)
        assert err.value.status == 412
    assert [i for i, _ in await store.document_ids(SCOPE)] == ["a", "b", "c"]
    await store.delete_documents(with_reg, since=at(2), condition=Precondition(if_match=(listed_etag(["a", "c"]),)))
    assert [i for i, _ in await store.document_ids(SCOPE)] == ["a", "b"]
    await store.delete_documents(SCOPE, condition=Precondition(if_match=("*",)))
    assert await store.document_ids(SCOPE) == []
    await store.delete_documents(SCOPE, condition=Precondition(if_none_match=("*",)))


async def test_preconditions_are_checked_atomically(store):
    first = doc(b"v1", "text/plain")
    await store.save_document(SCOPE, "d", first, merge=False, condition=NONE)
    stale = Precondition(if_match=("0" * 40,))
    with pytest.raises(XAPIError) as err:
        await store.save_document(SCOPE, "d", doc(b"v2", "text/plain", 1), merge=False, condition=stale)
    assert err.value.status == 412
    with pytest.raises(XAPIError) as err:
        await store.save_document(SCOPE, "d", doc(b"v2", "text/plain", 1), merge=False,
                                  condition=Precondition(if_none_match=("*",)))
    assert err.value.status == 412
    with pytest.raises(XAPIError) as err:
        await store.save_document(SCOPE, "d", doc(b"v2", "text/plain", 1), merge=False,
                                  condition=Precondition(header_required=True))
    assert err.value.status == 409
    with pytest.raises(XAPIError) as err:
        await store.delete_document(SCOPE, "d", condition=stale)
    assert err.value.status == 412
    assert (await store.get_document(SCOPE, "d")).contents == b"v1"
    await store.save_document(SCOPE, "d", doc(b"v2", "text/plain", 1), merge=False,
                              condition=Precondition(if_match=(first.etag,)))
    assert (await store.get_document(SCOPE, "d")).contents == b"v2"
    with pytest.raises(XAPIError) as err:
        await store.save_document(SCOPE, "new", doc(b"x"), merge=False, condition=Precondition(if_match=("*",)))
    assert err.value.status == 412
    assert await store.get_document(SCOPE, "new") is None


async def test_agent_names_from_statements(store):
    authority = {"objectType": "Agent", "account": {"homePage": "urn:test", "name": "writer"}}

    def statement(name: str, **extra):
        s = {"actor": {"name": name, "mbox": "mailto:ada@example.com"}, "verb": {"id": "http://example.com/v"},
             "object": {"id": "http://example.com/a"}, **extra}
        return prepare(s, stored=at(1), authority=authority, api_version="1.0.3")

    await store.insert_statements([statement("Ada")], define=False)
    # Without define, an agent's first name only (no update of the canonical Actor).
    await store.insert_statements([statement("Ada"), statement("Not Ada")], define=False)
    assert await store.agent_names(ADA) == ["Ada"]
    await store.insert_statements([statement("Ada"), statement("Ada L.")], define=True)
    await store.insert_statements([statement("Ada", context={"instructor": {"name": "Teach", "openid": "http://t.example.com/"}})],
                                  define=False)
    assert sorted(await store.agent_names(ADA)) == ["Ada", "Ada L."]
    await store.insert_statements([statement("Bo", actor={"name": "Bo", "mbox": "mailto:bo@example.com"}),
                                   statement("Bob", actor={"name": "Bob", "mbox": "mailto:bo@example.com"})],
                                  define=False)
    assert await store.agent_names("mbox:mailto:bo@example.com") == ["Bo"]  # the first in the batch
    assert await store.agent_names("openid:http://t.example.com/") == ["Teach"]
    assert await store.agent_names("mbox:mailto:nobody@example.com") == []
