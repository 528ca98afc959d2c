"""What every Store must do (lrs.store.base.Store), asserted through the interface only."""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from lrs.credentials import new_credential
from lrs.xapi.attachments import Part
from lrs.xapi import keys as K
from lrs.xapi.agents import ifi_key
from lrs.xapi.errors import XAPIError
from lrs.xapi.query import StatementQuery
from lrs.xapi.statements import VOIDED_VERB, PreparedStatement, prepare
from lrs.xapi.timestamps import format_stored

pytestmark = pytest.mark.anyio

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "urn:test", "name": "writer"}}
ADA = {"mbox": "mailto:ada@example.com"}
BOB = {"mbox": "mailto:bob@example.com"}
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
_clock = [0]


def stored_at(offset_ms: int | None = None) -> str:
    if offset_ms is None:
        _clock[0] += 1
        offset_ms = _clock[0]
    return format_stored(T0 + timedelta(milliseconds=offset_ms))


def make(
    actor: dict[str, Any] = ADA,
    verb: str = "http://example.com/verbs/did",
    obj: dict[str, Any] | None = None,
    *,
    stored: str | None = None,
    by: dict[str, Any] = AUTHORITY,
    **extra: Any,
) -> PreparedStatement:
    statement = {
        "id": str(uuid.uuid4()),
        "actor": dict(actor),
        "verb": {"id": verb},
        "object": obj or {"id": "http://example.com/activities/a"},
        **extra,
    }
    return prepare(statement, stored=stored or stored_at(), authority=by, api_version="1.0.3")


def void(target: PreparedStatement | str, *, by: dict[str, Any] = AUTHORITY) -> PreparedStatement:
    target_id = target if isinstance(target, str) else target.id
    return make(verb=VOIDED_VERB, obj={"objectType": "StatementRef", "id": target_id}, by=by)


def query(**fields: Any) -> StatementQuery:
    fields.setdefault("limit", 100)
    return StatementQuery(**fields)


async def ids_of(store, q: StatementQuery) -> list[str]:
    page, _ = await store.query_statements(q)
    return [s["id"] for s in page]


async def test_insert_then_get_returns_the_statement_as_stored(store) -> None:
    p = make()
    assert await store.insert_statements([p], define=False) == [p.id]
    got = await store.get_statement(p.id, voided=False)
    assert got == p.statement
    assert await store.get_statement(p.id, voided=True) is None
    assert await store.get_statement(str(uuid.uuid4()), voided=False) is None


async def test_equivalent_statement_with_same_id_is_not_stored_twice(store) -> None:
    p = make()
    await store.insert_statements([p], define=False)
    again = prepare(
        {k: v for k, v in p.statement.items() if k not in ("stored", "authority", "version")},
        stored=stored_at(), authority={"mbox": "mailto:other@example.com"}, api_version="1.0.3",
    )
    assert await store.insert_statements([again], define=False) == []
    assert await ids_of(store, query()) == [p.id]


async def test_different_statement_with_same_id_is_a_conflict_and_the_batch_is_not_stored(store) -> None:
    p = make()
    await store.insert_statements([p], define=False)
    other = make(verb="http://example.com/verbs/other")
    clash = make(actor=BOB)
    clash.statement["id"] = p.id
    clash = replace(clash, id=p.id)
    with pytest.raises(XAPIError) as err:
        await store.insert_statements([other, clash], define=False)
    assert err.value.status == 409
    assert await ids_of(store, query()) == [p.id]  # `other` was rolled back with the batch
    assert (await store.get_statement(p.id, voided=False))["actor"] == ADA


async def test_query_orders_by_stored_and_pages_with_a_cursor(store) -> None:
    batch = [make(stored=stored_at(1000 + i)) for i in range(7)]
    await store.insert_statements(batch, define=False)
    expected = [p.id for p in reversed(batch)]
    seen, cursor = [], None
    while True:
        page, cursor = await store.query_statements(query(limit=3, cursor=cursor))
        seen += [s["id"] for s in page]
        if cursor is None:
            break
    assert seen == expected
    asc = await ids_of(store, query(ascending=True))
    assert asc == [p.id for p in batch]


async def test_statements_with_equal_stored_page_once_each_in_a_stable_order(store) -> None:
    """Several LRS processes can give out one stored value (each has its own clock): such statements
    are ordered by stored and then by an order of the store's (SQLite: arrival; MongoDB: id, as it has
    no arrival order across processes), the same on every read, ascending exactly the reverse of
    descending, and paging returns each once whatever the page boundaries."""
    same = stored_at(9000)
    batch = [make(stored=same) for _ in range(3)] + [make(stored=stored_at(9001))]
    for p in (batch[1], batch[0], batch[2], batch[3]):  # separate requests, arriving in this order
        await store.insert_statements([p], define=False)
    full = await ids_of(store, query())
    assert full[0] == batch[3].id and sorted(full[1:]) == sorted(p.id for p in batch[:3])
    assert await ids_of(store, query(ascending=True)) == full[::-1]
    for limit in (1, 2):
        for ascending in (False, True):
            seen, cursor = [], None
            while True:
                page, cursor = await store.query_statements(query(limit=limit, ascending=ascending, cursor=cursor))
                seen += [s["id"] for s in page]
                if cursor is None:
                    break
            assert seen == (full[::-1] if ascending else full), (limit, ascending)


async def test_a_page_stops_at_its_text_budget_and_more_leads_on(store, monkeypatch) -> None:
    # limit is a most: a page whose statements' JSON would pass PAGE_TEXT_BUDGET stops before it
    # (500 statements of 20 MB made one 10 GB answer; SQLite refused past 1 GB with a 500).
    from lrs.xapi import query as query_module

    monkeypatch.setattr(query_module, "PAGE_TEXT_BUDGET", 10_000)
    sizes = [100, 2_000, 2_000, 2_000, 2_000, 20_000, 100, 100, 15_000]
    batch = [make(stored=stored_at(5000 + i), result={"extensions": {"http://example.com/x": "x" * n}})
             for i, n in enumerate(sizes)]
    await store.insert_statements(batch, define=False)
    for ascending in (True, False):
        expected = [p.id for p in (batch if ascending else reversed(batch))]
        pages, cursor = [], None
        while True:
            page, cursor = await store.query_statements(query(limit=4, ascending=ascending, cursor=cursor))
            pages.append([s["id"] for s in page])
            assert len(page) >= 1
            if cursor is None:
                break
        assert [sid for page in pages for sid in page] == expected
        by_id = {p.id: n for p, n in zip(batch, sizes)}
        for page in pages:  # within the budget, or one statement alone
            assert len(page) == 1 or sum(by_id[sid] for sid in page) < 10_000, pages
            assert len(page) <= 4
        if ascending:  # 100 + 3 x 2,000 fit (and limit 4); then 2,000 alone, as the 20,000 would pass it
            assert [len(page) for page in pages] == [4, 1, 1, 2, 1], pages


async def test_paging_is_stable_while_new_statements_arrive(store) -> None:
    await store.insert_statements([make(stored=stored_at(2000 + i)) for i in range(4)], define=False)
    first, cursor = await store.query_statements(query(limit=2))
    await store.insert_statements([make(stored=stored_at(3000))], define=False)
    second, cursor = await store.query_statements(query(limit=2, cursor=cursor))
    assert cursor is None
    assert len({s["id"] for s in first + second}) == 4


async def test_since_is_exclusive_and_until_inclusive(store) -> None:
    a, b, c = (make(stored=stored_at(4000 + i)) for i in range(3))
    await store.insert_statements([a, b, c], define=False)
    assert await ids_of(store, query(since=a.stored)) == [c.id, b.id]
    assert await ids_of(store, query(until=b.stored)) == [b.id, a.id]
    assert await ids_of(store, query(since=a.stored, until=b.stored)) == [b.id]


async def test_filters_by_agent_verb_activity_and_registration(store) -> None:
    reg = str(uuid.uuid4())
    mine = make(actor=ADA, verb="http://example.com/verbs/x", context={"registration": reg})
    other = make(actor=BOB, obj={"id": "http://example.com/activities/b"})
    as_object = make(actor=BOB, obj={"objectType": "Agent", **ADA})
    await store.insert_statements([mine, other, as_object], define=False)
    ada = ifi_key(ADA)
    assert set(await ids_of(store, query(agent=ada))) == {mine.id, as_object.id}
    assert await ids_of(store, query(verb="http://example.com/verbs/x")) == [mine.id]
    assert await ids_of(store, query(activity="http://example.com/activities/b")) == [other.id]
    assert await ids_of(store, query(registration=reg)) == [mine.id]
    assert await ids_of(store, query(agent=ada, verb="http://example.com/verbs/did")) == [as_object.id]


async def test_related_filters_reach_context_and_authority(store) -> None:
    p = make(
        actor=BOB,
        context={
            "instructor": dict(ADA),
            "contextActivities": {"parent": [{"id": "http://example.com/activities/course"}]},
        },
    )
    await store.insert_statements([p], define=False)
    ada = ifi_key(ADA)
    assert await ids_of(store, query(agent=ada)) == []
    assert await ids_of(store, query(agent=ada, related_agents=True)) == [p.id]
    assert await ids_of(store, query(activity="http://example.com/activities/course")) == []
    assert await ids_of(store, query(activity="http://example.com/activities/course", related_activities=True)) == [p.id]
    writer = ifi_key(AUTHORITY)
    assert await ids_of(store, query(agent=writer, related_agents=True)) == [p.id]
    assert await ids_of(store, query(authority=writer)) == [p.id]
    assert await ids_of(store, query(authority=ifi_key(ADA))) == []


async def test_voiding_hides_the_target_from_queries_and_get(store) -> None:
    target = make()
    await store.insert_statements([target], define=False)
    voiding = void(target)
    await store.insert_statements([voiding], define=False)
    assert await store.get_statement(target.id, voided=False) is None
    assert (await store.get_statement(target.id, voided=True))["id"] == target.statement["id"]
    # the voiding statement matches the voided one's filters (StatementRef rule); the voided one is gone
    assert await ids_of(store, query(agent=ifi_key(ADA))) == [voiding.id]
    assert await ids_of(store, query(activity="http://example.com/activities/a")) == [voiding.id]


async def test_voiding_before_the_target_arrives_voids_it_on_arrival(store) -> None:
    target_id = str(uuid.uuid4())
    await store.insert_statements([void(target_id)], define=False)
    target = make()
    target.statement["id"] = target_id
    target = replace(target, id=target_id)
    await store.insert_statements([target], define=False)
    assert await store.get_statement(target_id, voided=False) is None
    assert await store.get_statement(target_id, voided=True) is not None


async def test_a_statement_voiding_a_voiding_statement_is_stored_and_voids_nothing(store) -> None:
    target = make()
    voiding = void(target)
    await store.insert_statements([target, voiding], define=False)
    second = void(voiding)
    assert await store.insert_statements([second], define=False) == [second.id]  # XAPI-00016: accepted, ignored
    assert await store.get_statement(voiding.id, voided=False) is not None
    assert await store.get_statement(voiding.id, voided=True) is None
    assert await store.get_statement(second.id, voided=False) is not None
    assert await store.get_statement(target.id, voided=True) is not None
    # in one batch, and with the voiding statement arriving after the one that targets it
    late_target = make()
    late_voiding = void(late_target)
    early = void(late_voiding)
    await store.insert_statements([early], define=False)
    await store.insert_statements([late_target, late_voiding, void(late_voiding)], define=False)
    assert await store.get_statement(late_voiding.id, voided=False) is not None
    assert await store.get_statement(late_target.id, voided=True) is not None


OTHER = {"objectType": "Agent", "account": {"homePage": "urn:test", "name": "other writer"}}


async def test_without_void_any_only_statements_of_the_same_authority_are_voided(store) -> None:
    mine, theirs, fresh = make(), make(by=OTHER), make()
    await store.insert_statements([mine, theirs], define=False)
    with pytest.raises(XAPIError) as err:
        await store.insert_statements([fresh, void(theirs)], define=False, void_any=False)
    assert err.value.status == 403 and err.value.path == "[1].object.id"
    assert await store.get_statement(theirs.id, voided=False) is not None
    assert await store.get_statement(fresh.id, voided=False) is None  # all of the batch or nothing
    await store.insert_statements([void(mine)], define=False, void_any=False)
    assert await store.get_statement(mine.id, voided=True) is not None
    await store.insert_statements([void(theirs)], define=False)  # void_any (scope all)
    assert await store.get_statement(theirs.id, voided=True) is not None


async def test_a_voiding_statement_stored_first_remembers_whether_it_may_void_any(store) -> None:
    own, foreign, any_ = (str(uuid.uuid4()) for _ in range(3))
    await store.insert_statements([void(own), void(foreign)], define=False, void_any=False)
    await store.insert_statements([void(any_)], define=False, void_any=True)
    arriving = []
    for target_id, by in ((own, AUTHORITY), (foreign, OTHER), (any_, OTHER)):
        target = make(by=by)
        target.statement["id"] = target_id
        arriving.append(prepare(target.statement, stored=stored_at(), authority=by, api_version="1.0.3"))
    await store.insert_statements(arriving[:1], define=False)
    await store.insert_statements(arriving[1:], define=False)
    assert await store.get_statement(own, voided=True) is not None
    assert await store.get_statement(foreign, voided=False) is not None
    assert await store.get_statement(any_, voided=True) is not None


async def test_statement_refs_are_followed_recursively_and_late(store) -> None:
    c = make(actor=ADA, obj={"id": "http://example.com/activities/c"})
    b = make(actor=BOB, verb="http://example.com/verbs/ref", obj={"objectType": "StatementRef", "id": c.id})
    a = make(actor=BOB, verb="http://example.com/verbs/ref", obj={"objectType": "StatementRef", "id": b.id})
    # a and b arrive before their target c
    await store.insert_statements([a], define=False)
    await store.insert_statements([b], define=False)
    await store.insert_statements([c], define=False)
    assert set(await ids_of(store, query(activity="http://example.com/activities/c"))) == {a.id, b.id, c.id}
    assert set(await ids_of(store, query(agent=ifi_key(ADA)))) == {a.id, b.id, c.id}
    # time filters still apply to the referencing statement itself (stored order: c, b, a)
    assert await ids_of(store, query(activity="http://example.com/activities/c", since=b.stored)) == [a.id]
    assert await ids_of(store, query(activity="http://example.com/activities/c", until=c.stored)) == [c.id]


async def test_statement_ref_chains_trees_and_cycles_in_any_arrival_order(store) -> None:
    # Communication 2.1.3: "a is a match when a targets b which targets c" and c matches. Statements
    # of one batch or of several, in any order, whatever arrives first; cycles end (each statement
    # on one matches what any of them matches).
    rng = random.Random(11)
    for _round in range(3):
        ids = [str(uuid.uuid4()) for _ in range(40)]
        actors = [{"mbox": f"mailto:p{_round}-{i}@example.com"} for i in range(len(ids))]
        targets = [None if rng.random() < 0.25 else rng.choice(ids) for _ in ids]
        made = []
        for i, statement_id in enumerate(ids):
            obj = {"objectType": "StatementRef", "id": targets[i]} if targets[i] else None
            made.append(make(actor=actors[i], obj=obj, id=statement_id))
        order = rng.sample(made, len(made))
        while order:
            size = rng.choice((1, 1, 3, 10))
            await store.insert_statements(order[:size], define=False)
            order = order[size:]
        position = {sid: i for i, sid in enumerate(ids)}
        for i, actor in enumerate(actors):
            expected = set()
            for j, statement_id in enumerate(ids):  # j matches i's actor when it reaches i
                seen, current = set(), statement_id
                while current is not None and current not in seen:
                    seen.add(current)
                    current = targets[position[current]]
                if ids[i] in seen:
                    expected.add(statement_id)
            assert set(await ids_of(store, query(agent=ifi_key(actor)))) == expected, (_round, i)


async def test_activity_definitions_become_canonical(store) -> None:
    aid = "http://example.com/activities/defined"
    first = make(obj={"id": aid, "definition": {"name": {"en-US": "One"}}})
    second = make(obj={"id": aid, "definition": {"name": {"fr": "Un"}, "type": "http://example.com/t"}})
    await store.insert_statements([first], define=False)
    await store.insert_statements([second], define=False)
    assert (await store.activities([aid]))[aid] == {"name": {"en-US": "One"}}  # no define scope: not updated
    await store.insert_statements([make(obj=second.statement["object"])], define=True)
    assert (await store.activities([aid, "http://example.com/unknown"])) == {
        aid: {"name": {"en-US": "One", "fr": "Un"}, "type": "http://example.com/t"}
    }


async def test_credentials_are_kept_listed_and_revoked(store) -> None:
    cred, secret = new_credential(["statements/write"], authority_homepage="urn:test")
    await store.put_credential(cred)
    got = await store.get_credential(cred.key)
    assert got == cred and secret not in got.secret_hash
    assert [c.key for c in await store.list_credentials()] == [cred.key]
    assert await store.revoke_credential(cred.key) is True
    assert (await store.get_credential(cred.key)).revoked is True
    assert await store.revoke_credential("nope") is False
    assert await store.get_credential("nope") is None
    # Given anew (LRS_ADMIN_SECRET at a start-up): the secret and scopes change, `created` stays
    # (MongoDB replaced the whole record, found by a review).
    again, _ = new_credential(["all"], authority_homepage="urn:test")
    again = replace(again, key=cred.key, created="2099-01-01T00:00:00.000000Z")
    await store.put_credential(again)
    got = await store.get_credential(cred.key)
    assert got.created == cred.created and got.scopes == again.scopes and got.secret_hash == again.secret_hash


async def test_index_keys_of_a_query_are_the_ones_statements_carry(store) -> None:
    reg = str(uuid.uuid4()).upper()
    p = make(context={"registration": reg})
    assert K.registration(reg) in p.keys
    assert query(registration=reg.lower()).index_keys() == [K.registration(reg)]


async def test_any_extension_keys_and_values_come_back_exactly(store) -> None:
    """Keys MongoDB forbids or reads as operators ($..., dotted) are data: stored and returned as sent."""
    extensions = {
        "http://example.com/ext/$where": {"$ne": None, "a.b": {"$gt": ""}, "": "empty key"},
        "http://example.com/ext/dotted.key": [{"$set": 1}, "$unset"],
    }
    p = make(result={"extensions": extensions}, context={"extensions": {"http://example.com/x": {"$in": [1]}}})
    await store.insert_statements([p], define=False)
    got = await store.get_statement(p.id, voided=False)
    assert got == p.statement
    assert got["result"]["extensions"] == extensions
    page, _ = await store.query_statements(query(agent=ifi_key(ADA)))
    assert page == [p.statement]


async def test_values_that_look_like_operators_are_matched_literally(store) -> None:
    p = make(actor={"mbox": "mailto:ada@example.com"})
    await store.insert_statements([p], define=False)
    for value in ('{"$ne": null}', "$ne", ".*"):
        assert await ids_of(store, query(verb=value)) == []
        assert await ids_of(store, query(agent=value)) == []
        assert await store.get_statement(value, voided=False) is None
    assert await store.agent_names('{"$ne": null}') == []
    assert await store.activities(['{"$ne": null}']) == {}


async def test_definitions_of_activities_whose_ids_pass_16_mib_together_are_all_found(store) -> None:
    """GET ?format=canonical and the exporters look a page's activities up at once: six ids of 3 MB
    (each statement within MongoDB's limit) made one look-up of 18 MB, which PyMongo refuses before
    it reaches the server (a 500 on MongoDB; SQLite found them)."""
    ids = [f"http://example.com/activities/{n}/" + "x" * (3 * 1024 * 1024) for n in range(6)]
    batch = [make(obj={"id": aid, "definition": {"name": {"en-US": f"Level {n}"}}}) for n, aid in enumerate(ids)]
    await store.insert_statements(batch, define=False)
    found = await store.activities(ids + ["http://example.com/unknown"])
    assert sorted(found) == sorted(ids)
    assert [found[aid] for aid in ids] == [{"name": {"en-US": f"Level {n}"}} for n in range(6)]


async def test_canonical_definitions_of_several_mb_are_merged_and_never_fail_a_write(store) -> None:
    """With define, statements of 6 MB each (every one within MongoDB's limit) bring one Activity's name in
    three languages. On MongoDB the merge was a compare-and-set whose filter held the definition as read:
    a command of 6 + 12 MB, refused (a 500 after the statements were stored on a standalone server); a
    merge past what one value may hold was refused too. Every statement is stored; the definition keeps
    what fits (SQLite: all of it)."""
    big = 6 * 1024 * 1024
    aid, other = "http://example.com/activities/big", "http://example.com/activities/big-batch"

    def defining(activity_id: str, language: str) -> PreparedStatement:
        return make(obj={"id": activity_id, "definition": {"name": {language: language * big}}})

    stored = []
    for language in ("e", "f", "d"):
        p = defining(aid, language)
        assert await store.insert_statements([p], define=True) == [p.id]
        stored.append(p)
    batch = [defining(other, language) for language in ("x", "y", "z")]  # one batch: merged, 18 MB
    assert await store.insert_statements(batch, define=True) == [p.id for p in batch]
    for p in stored + batch:
        assert await store.get_statement(p.id, voided=False) == p.statement
    found = await store.activities([aid, other])
    assert {"e", "f"} <= set(found[aid]["name"])  # 12 MB: fits everywhere
    assert found[aid]["name"]["e"] == "e" * big and found[aid]["name"]["f"] == "f" * big
    assert "x" in found[other]["name"]


async def test_profile_violations_are_kept_with_new_statements_only(store) -> None:
    a, b = make(), make()
    row = (a.id, "urn:p", "urn:p:t", "$.result.response", '"x"', "missing")
    assert await store.insert_statements([a], define=False, violations=[row]) == [a.id]
    # a re-sent (equivalent) statement stores nothing, so keeps no violation again; b's is kept
    again = prepare({k: v for k, v in a.statement.items() if k not in ("stored", "authority", "version")},
                    stored=stored_at(), authority=AUTHORITY, api_version="1.0.3")
    await store.insert_statements([again, b], define=False,
                                  violations=[row, (b.id, "urn:p", None, None, "null", "no template")])
    kept = await store.profile_violations()
    assert [(v["statement"], v["template"], v["location"], v["found"]) for v in kept] == [
        (b.id, None, None, None), (a.id, "urn:p:t", "$.result.response", "x")]  # newest first
    assert kept[1]["stored"] == a.stored and kept[1]["profile"] == "urn:p" and kept[1]["message"] == "missing"
    assert len(await store.profile_violations(limit=1)) == 1


# -- attachments ------------------------------------------------------------------------

def _part(content: bytes, content_type: str = "text/plain") -> Part:
    return Part(hashlib.sha256(content).hexdigest(), content_type, content)


def declaring(*parts: Part, **extra: Any) -> PreparedStatement:
    """A statement whose Attachments are these parts (what the HTTP layer checks before storing)."""
    return make(attachments=[
        {"usageType": "http://example.com/usage", "display": {"en-US": "a file"}, "contentType": part.content_type,
         "length": len(part.content), "sha2": part.sha2} for part in parts], **extra)


async def test_attachments_are_stored_with_their_batch_by_digest(store) -> None:
    essay, image = _part(b"an essay"), _part(bytes(range(256)) * 40, "image/png")
    await store.insert_statements([declaring(essay), declaring(image, essay)], define=False,
                                  attachments=[essay, image, essay])
    got = await store.get_attachments([essay.sha2, image.sha2, "0" * 64])
    assert got == {essay.sha2: essay, image.sha2: image}
    assert await store.get_attachments([]) == {}
    # the same data again (another statement, another content type): kept once, as first stored
    other = replace(essay, content_type="text/x-other")
    await store.insert_statements([declaring(other)], define=False, attachments=[other])
    assert (await store.get_attachments([essay.sha2]))[essay.sha2] == essay


async def test_a_re_sent_statement_brings_no_attachment_data(store) -> None:
    # Attachments are not compared (xAPI 2.0 §4.2), so a statement re-sent with other data is the
    # stored one: its data must not be kept, referred to by no statement.
    first, again = _part(b"the first essay"), _part(b"another essay")
    original = declaring(first)
    await store.insert_statements([original], define=False, attachments=[first])
    resent = replace(declaring(again), id=original.id)
    resent.statement["id"] = original.id
    fresh = declaring(again)
    assert await store.insert_statements([resent], define=False, attachments=[again]) == []
    assert await store.get_attachments([first.sha2, again.sha2]) == {first.sha2: first}
    # beside a new statement that declares it, the same data is kept
    assert await store.insert_statements([resent, fresh], define=False, attachments=[again]) == [fresh.id]
    assert set(await store.get_attachments([first.sha2, again.sha2])) == {first.sha2, again.sha2}


async def test_a_refused_batch_keeps_none_of_its_attachments(store) -> None:
    p = make()
    await store.insert_statements([p], define=False)
    clash = replace(make(actor=BOB), id=p.id)
    clash.statement["id"] = p.id
    data = _part(b"never stored")
    with pytest.raises(XAPIError):
        await store.insert_statements([clash, declaring(data)], define=False, attachments=[data])
    assert await store.get_attachments([data.sha2]) == {}


async def test_attachment_data_is_given_to_a_sender_only_reader_only_when_its_credential_sent_it(store) -> None:
    alice, _ = new_credential(["statements/write"], authority_homepage="urn:test")
    bob, _ = new_credential(["statements/write"], authority_homepage="urn:test")
    for cred in (alice, bob):
        await store.put_credential(cred)
    private, shared, legacy = _part(b"alice's essay"), _part(b"both sent this"), _part(b"sent without a credential")
    await store.insert_statements([declaring(private, shared)], define=False, credential=alice.key,
                                  attachments=[private, shared])
    await store.insert_statements([declaring(shared)], define=False, credential=bob.key, attachments=[shared])
    await store.insert_statements([declaring(legacy)], define=False, attachments=[legacy])
    wanted = [private.sha2, shared.sha2, legacy.sha2]
    assert set(await store.get_attachments(wanted)) == set(wanted)
    assert set(await store.get_attachments(wanted, sent_by=alice.key)) == set(wanted)
    assert set(await store.get_attachments(wanted, sent_by=bob.key)) == {shared.sha2, legacy.sha2}
    assert set(await store.get_attachments(wanted, sent_by="someone-else")) == {legacy.sha2}


async def test_a_refused_batch_records_no_agent_name(store) -> None:
    stored = make()
    await store.insert_statements([stored], define=False)
    changed = prepare({**stored.statement, "verb": {"id": "http://example.com/verbs/did-not"}},
                      stored=stored_at(), authority=AUTHORITY, api_version="1.0.3")  # its id, another verb
    newcomer = make(actor={"mbox": "mailto:zed@example.com", "name": "Zed"})
    with pytest.raises(XAPIError) as err:
        await store.insert_statements([newcomer, changed], define=True)
    assert err.value.status == 409
    assert await store.agent_names("mbox:mailto:zed@example.com") == []
    await store.insert_statements([newcomer], define=False)
    assert await store.agent_names("mbox:mailto:zed@example.com") == ["Zed"]


async def test_refusal_leaves_errors_that_are_not_the_database_s_state_to_be_500s(store) -> None:
    # (each backend's own errors of a full, unreachable or busy database: tests/http/test_storage_errors.py)
    for bug in (ValueError("a bug"), KeyError("x"), XAPIError(400, "refused already")):
        assert store.refusal(bug) is None


def _named(name: str, mbox: str) -> PreparedStatement:
    s = {"actor": {"name": name, "mbox": mbox}, "verb": {"id": "http://example.com/v"},
         "object": {"id": "http://example.com/a"}}
    return prepare(s, stored=stored_at(), authority=AUTHORITY, api_version="1.0.3")


@pytest.mark.parametrize("define", [False, True])
async def test_agent_names_with_a_nul_character_are_kept_whole(store, define: bool) -> None:
    """JSON allows U+0000 in a string ("\\u0000"), and the LRS stores such a name in the statement as sent.
    SQLite's json_extract (3.40) ends a text value at its first NUL, so GET /xapi/agents answered
    {"name": ["Ada"]} for a statement whose actor is "Ada\\u0000Lovelace" (MongoDB: the whole name)."""
    mbox = f"mailto:nul-{define}@example.com"
    await store.insert_statements([_named("Ada\x00Lovelace", mbox)], define=define)
    assert await store.agent_names("mbox:" + mbox) == ["Ada\x00Lovelace"]
