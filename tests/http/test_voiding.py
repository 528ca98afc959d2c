"""Voiding (Data §2.3.2) and how voided statements are queried (Communication §2.1.4)."""

from __future__ import annotations

from tests.conftest import new_id
from tests.http.helpers import (
    STATEMENTS,
    VOIDED,
    activity,
    activity_id,
    agent,
    assert_error,
    follow_all,
    get_statement,
    ids_of,
    ifi,
    post,
    result,
    statement_ref,
    store,
    store_each,
    verb,
    voiding,
)


def by_id(client, sid):
    return client.get(STATEMENTS, params={"statementId": sid})


def by_voided_id(client, sid):
    return client.get(STATEMENTS, params={"voidedStatementId": sid})


def ben_passed(statement, sid):
    return statement(id=sid, actor=agent("ben"), verb=verb("passed"), object=activity("explosives"))


def test_voided_statement_is_not_returned_by_statement_id(client, statement):  # XAPI-00018
    target, void = new_id(), new_id()
    store_each(client, statement(id=target), voiding(target, id=void))
    assert_error(by_id(client, target), 404)


def test_voided_statement_is_returned_by_voided_statement_id(client, statement):  # XAPI-00155, XAPI-00157
    target, void = new_id(), new_id()
    sent = statement(id=target)
    store_each(client, sent, voiding(target, id=void))
    response = by_voided_id(client, target)
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["id"] == target
    assert got["actor"] == sent["actor"] and got["verb"] == sent["verb"]


def test_voided_statement_id_does_not_return_a_statement_that_is_not_voided(client, statement):
    sid = new_id()
    store(client, statement(id=sid))
    assert_error(by_voided_id(client, sid), 404)


def test_voiding_statement_is_returned_by_statement_id_only(client, statement):
    target, void = new_id(), new_id()
    store_each(client, statement(id=target), voiding(target, id=void))
    got = get_statement(client, void)
    assert got["verb"]["id"] == VOIDED and got["object"] == statement_ref(target)
    assert_error(by_voided_id(client, void), 404)


def test_voided_statement_is_excluded_from_queries_and_voiding_statement_included(client, statement):
    # XAPI-00162, XAPI-00163
    target, other, void = new_id(), new_id(), new_id()
    store_each(client, statement(id=target), statement(id=other), voiding(target, id=void))
    assert ids_of(client) == [void, other]
    assert ids_of(client, ascending=True) == [other, void]


def test_voiding_statement_is_returned_by_the_voided_statements_filters(client, statement):
    # Communication §2.1.4: statements targeting the voided statement are still returned by the
    # StatementRef filter rules, the voiding statement included; the voided one is not.
    target, void = new_id(), new_id()
    store_each(client, ben_passed(statement, target), voiding(target, id=void))
    assert ids_of(client, agent=ifi("ben")) == [void]
    assert ids_of(client, activity=activity_id("explosives")) == [void]
    assert ids_of(client, verb="http://example.com/verbs/passed") == [void]
    assert ids_of(client, verb=VOIDED) == [void]


def test_statements_targeting_a_voided_statement_are_still_returned(client, statement):  # XAPI-00162
    target, confirmation, void = new_id(), new_id(), new_id()
    store_each(
        client,
        ben_passed(statement, target),
        statement(id=confirmation, actor=agent("andrew"), verb=verb("confirmed"), object=statement_ref(target)),
        voiding(target, id=void),
    )
    assert ids_of(client) == [void, confirmation]
    assert ids_of(client, agent=ifi("ben")) == [void, confirmation]
    assert get_statement(client, confirmation)["object"] == statement_ref(target)


def test_voiding_a_voiding_statement_is_accepted_and_voids_nothing(client, statement):  # XAPI-00016
    # "MAY be rejected. If the LRS accepts that statement, the violating VOIDING statement SHOULD be
    # ignored"; 2.0 (4.2.4.1) never rejects a statement for its voided verb. Accepted and ignored.
    target, void = new_id(), new_id()
    store_each(client, statement(id=target), voiding(target, id=void))
    second = new_id()
    response = post(client, voiding(void, id=second))
    assert response.status_code == 200, response.text
    assert response.json() == [second]
    assert get_statement(client, void)["id"] == void  # not voided
    assert_error(by_voided_id(client, void), 404)
    assert get_statement(client, second)["object"] == statement_ref(void)
    assert_error(by_id(client, target), 404)
    assert by_voided_id(client, target).status_code == 200
    assert ids_of(client) == [second, void]


def test_voiding_a_voiding_statement_is_accepted_on_2_0_and_with_put(client, statement):
    target, void, second = new_id(), new_id(), new_id()
    store_each(client, statement(id=target), voiding(target, id=void))
    response = client.put(STATEMENTS, params={"statementId": second}, json=voiding(void, id=second),
                          headers={"X-Experience-API-Version": "2.0.0"})
    assert response.status_code == 204, response.text
    assert get_statement(client, void)["id"] == void
    assert get_statement(client, second)["id"] == second


def test_voiding_an_already_voided_statement_again_is_accepted(client, statement):
    target, void, again = new_id(), new_id(), new_id()
    store_each(client, statement(id=target), voiding(target, id=void))
    store(client, voiding(target, id=again))
    assert by_voided_id(client, target).json()["id"] == target
    assert_error(by_id(client, target), 404)
    assert ids_of(client) == [again, void]


def test_a_batch_voiding_a_voiding_statement_is_stored_whole(client, statement):
    target, void, fresh, second = new_id(), new_id(), new_id(), new_id()
    store_each(client, statement(id=target), voiding(target, id=void))
    response = post(client, [statement(id=fresh), voiding(void, id=second)])
    assert response.status_code == 200, response.text
    assert response.json() == [fresh, second]
    assert get_statement(client, fresh)["id"] == fresh
    assert get_statement(client, void)["id"] == void


def test_voiding_an_unknown_statement_is_accepted(client):  # Data §2.3.2 SHOULD NOT reject; 2.0 shall not
    void = new_id()
    response = post(client, voiding(new_id(), id=void))
    assert response.status_code == 200, response.text
    assert get_statement(client, void)["id"] == void


def test_statement_arriving_after_its_voiding_statement_is_voided(client, statement):
    # Data §2.3.2: voided iff the LRS contains a voiding statement referring to it.
    target, void = new_id(), new_id()
    store(client, voiding(target, id=void))
    response = post(client, statement(id=target))
    assert response.status_code == 200, response.text
    assert_error(by_id(client, target), 404)
    assert by_voided_id(client, target).status_code == 200
    assert ids_of(client) == [void]


def test_voiding_statement_that_was_targeted_before_it_arrived_is_not_voided(client, statement):
    # A voiding statement cannot be voided, whatever the order of arrival.
    target, void, void_of_void = new_id(), new_id(), new_id()
    store(client, voiding(void, id=void_of_void))  # targets a statement the LRS does not have yet
    store_each(client, statement(id=target), voiding(target, id=void))
    assert get_statement(client, void)["id"] == void
    assert_error(by_voided_id(client, void), 404)
    assert_error(by_id(client, target), 404)


def test_statement_voided_in_the_same_batch_is_voided(client, statement):
    target, void = new_id(), new_id()
    store(client, statement(id=target), voiding(target, id=void))
    assert_error(by_id(client, target), 404)
    assert by_voided_id(client, target).status_code == 200
    assert ids_of(client) == [void]


def test_voiding_statement_with_a_non_statement_ref_object_returns_400(client, statement):  # XAPI-00017
    bad_objects = [activity("x"), agent("ann"), {"objectType": "StatementRef"}]
    for obj in bad_objects:
        body = voiding(new_id())
        body["object"] = obj
        assert_error(post(client, body), 400)
    assert ids_of(client) == []


def test_voiding_with_put(client, statement):
    target, void = new_id(), new_id()
    store(client, statement(id=target))
    response = client.put(STATEMENTS, params={"statementId": void}, json=voiding(target))
    assert response.status_code == 204, response.text
    assert_error(by_id(client, target), 404)


def test_voided_statement_cannot_be_changed_by_resending(client, statement):  # Data §2.3.1 / §2.3.2
    target = new_id()
    store_each(client, statement(id=target), voiding(target))
    before = by_voided_id(client, target).json()
    response = client.put(STATEMENTS, params={"statementId": target}, json=statement(actor=agent("bob")))
    assert_error(response, 409)
    assert by_voided_id(client, target).json() == before
    assert_error(by_id(client, target), 404)


def test_voided_statement_is_skipped_while_paging(client, statement):
    ids = store_each(client, *[statement(object=activity(f"a{i}")) for i in range(6)])
    void = store(client, voiding(ids[2]))[0]
    pages = follow_all(client, result(client, limit=2))
    assert [sid for page in pages for sid in page] == [void, *[sid for sid in ids[::-1] if sid != ids[2]]]


def test_voided_statement_id_accepts_format(client, statement):
    target = new_id()
    store_each(client, statement(id=target), voiding(target))
    response = client.get(STATEMENTS, params={"voidedStatementId": target, "format": "ids"})
    assert response.status_code == 200
    assert "name" not in response.json()["actor"]


def test_batch_voiding_a_statement_that_voids_another_in_the_same_batch_voids_only_the_first_target(client, statement):
    target, middle, last = new_id(), new_id(), new_id()
    store(client, statement(id=target))
    response = post(client, [voiding(target, id=middle), voiding(middle, id=last)])
    assert response.status_code == 200, response.text
    assert_error(by_id(client, target), 404)
    assert get_statement(client, middle)["id"] == middle
    assert_error(by_voided_id(client, middle), 404)
    assert ids_of(client) == [last, middle]


# -- who may void (Data 2.3.2.s2.b4: 403 when "not from a source authorized to void Statements") ---------

def by_voided_id_as(client, sid, auth):
    return client.get(STATEMENTS, params={"voidedStatementId": sid}, auth=auth)


def test_a_credential_may_void_the_statements_it_stored(client, statement, credential):
    player = credential("statements/write")
    target, void = new_id(), new_id()
    store(client, statement(id=target), auth=player)
    store(client, voiding(target, id=void), auth=player)
    assert_error(by_id(client, target), 404)
    assert by_voided_id(client, target).status_code == 200


def test_voiding_another_credentials_statement_is_403_and_stores_nothing(client, statement, credential):
    player, other = credential("statements/write"), credential("statements/write", "statements/read")
    target, fresh = new_id(), new_id()
    store(client, statement(id=target), auth=player)
    response = post(client, [statement(id=fresh), voiding(target)], auth=other)
    body = assert_error(response, 403)
    assert body["path"] == "[1].object.id" and target in body["message"], body
    assert get_statement(client, target)["id"] == target  # not voided
    assert_error(by_id(client, fresh), 404)  # the whole batch refused
    assert_error(client.put(STATEMENTS, params={"statementId": new_id()}, json=voiding(target), auth=other), 403)
    assert get_statement(client, target)["id"] == target


def test_scope_all_may_void_any_statement(client, statement, credential):
    player, teacher = credential("statements/write"), credential("all")
    first, second = new_id(), new_id()
    store_each(client, statement(id=first), statement(id=second), auth=player)
    store(client, voiding(first), auth=teacher)
    store(client, voiding(second))  # the LRS_ADMIN_KEY credential (scope all)
    assert_error(by_id(client, first), 404)
    assert_error(by_id(client, second), 404)


def test_a_voiding_statement_stored_first_voids_only_a_target_of_its_own_authority(client, statement, credential):
    # Data 2.3.2: the target may arrive after its voiding statement; the same rule holds then.
    player, other = credential("statements/write"), credential("statements/write")
    own, foreign = new_id(), new_id()
    store_each(client, voiding(own), voiding(foreign), auth=player)
    store(client, statement(id=own), auth=player)
    store(client, statement(id=foreign), auth=other)
    assert_error(by_id(client, own), 404)
    assert by_voided_id(client, own).status_code == 200
    assert get_statement(client, foreign)["id"] == foreign  # not voided: another credential stored it
    assert_error(by_voided_id(client, foreign), 404)


def test_a_voiding_statement_of_scope_all_stored_first_voids_any_later_target(client, statement, credential):
    player = credential("statements/write")
    target = new_id()
    store(client, voiding(target))  # admin: scope all
    store(client, statement(id=target), auth=player)
    assert_error(by_id(client, target), 404)
    assert by_voided_id(client, target).status_code == 200


def test_resending_another_credentials_statement_with_its_voiding_in_one_batch_is_403(client, statement, credential):
    # The target is in the batch but already stored by someone else: the stored one counts.
    player, other = credential("statements/write"), credential("statements/write")
    target = new_id()
    sent = statement(id=target)
    store(client, sent, auth=player)
    assert_error(post(client, [sent, voiding(target)], auth=other), 403)
    assert get_statement(client, target)["id"] == target
