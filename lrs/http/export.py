"""GET /admin/export/statements.csv: the ``statements`` table of ``lrs export``, streamed as CSV.

For tools that cannot run the CLI. Scope ``all/read`` or ``all``. Parameters:
the export's filters (``since``, ``until``, ``activity``, ``verb``,
``registration``, ``agent``), ``include_voided`` and ``pseudonymize``
(``true`` by default: actor ids become HMACs keyed with ``LRS_PSEUDONYM_KEY``,
names and free-text answers are dropped; ``false`` gives identities).
Passes over the store: with ``activity``, one over every statement for the
activity's subtree (its links, as ``lrs export`` reads them); one for the
extension columns; one that streams the rows page by page.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse

from lrs.export.flatten import CONTEXT_EXT, RESULT_EXT, STATEMENT_COLUMNS, VOIDED_COLUMN, Privacy, flatten, short_names
from lrs.export.filters import FILTERS, add_links, in_subtree, matches_filters, subtree, with_dates
from lrs.export.filters import check as check_filters
from lrs.export.interactions import InteractionTypes
from lrs.store.base import Store, iter_statements
from lrs.xapi.errors import bad_request
from lrs.xapi.query import StatementQuery, check_names, check_repeated, parse_bool, parse_statement_params
from lrs.xapi.statements import VOIDED_VERB

PAGE = 500


async def export_statements_csv(request: Request) -> StreamingResponse:
    # pandas and pyarrow load on the first export, not with the server (they weigh ~130 MB)
    from lrs.export.writers import CSV_DATE_FORMAT, typed_frame, unify
    params = request.query_params
    check_names(params.keys(), frozenset(FILTERS) | {"include_voided", "pseudonymize"})
    check_repeated(params.multi_items())  # which one was meant? (pseudonymize=true&pseudonymize=false)
    filters = {name: params[name] for name in FILTERS if name in params}
    include_voided = parse_bool(params, "include_voided")
    pseudonymize = parse_bool(params, "pseudonymize") if "pseudonymize" in params else True
    check_filters(filters)
    filters = with_dates(filters)
    settings = request.app.state.settings
    if pseudonymize:
        if not settings.pseudonym_key:
            raise bad_request(
                "pseudonymised export needs LRS_PSEUDONYM_KEY on the server; or ask pseudonymize=false",
                path="pseudonymize", error="parameter",
            )
        privacy = Privacy(key=settings.pseudonym_key.encode(), names="drop", free_text="drop")
    else:
        privacy = Privacy()
    store: Store = request.app.state.store
    activity = filters.get("activity")
    query_params = {k: v for k, v in filters.items() if k != "activity"}
    query = _query(query_params)

    family = None
    if activity is not None:  # the subtree from every statement's links, as in lrs export
        children: dict[str, set[str]] = {}
        async for page in _pages(store, _query({})):
            add_links(children, page)
        family = subtree(children, activity)
    canonical = InteractionTypes(privacy)

    async def learn(statements: list[dict[str, Any]]) -> None:
        missing = canonical.missing(statements)
        if missing:
            canonical.learn(missing, await store.activities(missing))

    voided = await _voided(store, filters, family) if include_voided else []
    kinds: dict[str, set[str | None]] = {}
    async for statement in iter_statements(store, query):
        if family is None or in_subtree(statement, family, activity):
            _extension_kinds(statement, kinds)
    for statement in voided:
        _extension_kinds(statement, kinds)
    fixed = STATEMENT_COLUMNS + ([VOIDED_COLUMN] if include_voided else [])
    extensions = sorted(kinds)
    renames = short_names(extensions, taken=[c[0] for c in fixed])
    extensions.sort(key=lambda key: renames[key])
    columns = [(c[0], c[1]) for c in fixed] + [(key, unify(kinds[key])) for key in extensions]

    async def body() -> AsyncIterator[bytes]:
        header = True
        rows: list[dict[str, Any]] = []

        def chunk(final: bool = False) -> bytes | None:
            nonlocal header, rows
            if not rows and not (final and header):
                return None
            text = typed_frame(rows, columns, renames).to_csv(index=False, header=header, date_format=CSV_DATE_FORMAT)
            header, rows = False, []
            return text.encode()

        async for page in _pages(store, query):
            page = [s for s in page if family is None or in_subtree(s, family, activity)]
            await learn(page)
            for statement in page:
                row = flatten(statement, privacy, canonical)
                if include_voided:
                    row["voided"] = False
                rows.append(row)
            if len(rows) >= PAGE and (out := chunk()):
                yield out
        await learn(voided)
        for statement in voided:
            rows.append({**flatten(statement, privacy, canonical), "voided": True})
        if out := chunk(final=True):
            yield out

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="statements.csv"'})


async def _pages(store: Store, query: StatementQuery) -> AsyncIterator[list[dict[str, Any]]]:
    while True:
        page, cursor = await store.query_statements(query)
        yield page
        if cursor is None:
            return
        query = replace(query, cursor=cursor)


def _query(params: dict[str, str]) -> StatementQuery:
    query = parse_statement_params({**params, "ascending": "true", "limit": str(PAGE)}, max_limit=PAGE)
    assert isinstance(query, StatementQuery)
    return query


async def _voided(store: Store, filters: dict[str, str], family: set[str] | None) -> list[dict[str, Any]]:
    out, seen = [], set()
    async for voiding in iter_statements(store, _query({"verb": VOIDED_VERB})):
        target = str((voiding.get("object") or {}).get("id", "")).lower()
        if target and target not in seen:
            seen.add(target)
            statement = await store.get_statement(target, voided=True)
            if statement is not None and matches_filters(statement, filters, family):
                out.append(statement)
    return out


def _extension_kinds(statement: dict[str, Any], kinds: dict[str, set[str | None]]) -> None:
    """The kinds of an extension's values, from which ``unify`` types its column as the CLI does."""
    from lrs.export.writers import kind as kind_of
    for prefix, where in ((RESULT_EXT, statement.get("result")), (CONTEXT_EXT, statement.get("context"))):
        for iri, value in ((where or {}).get("extensions") or {}).items():
            text = json.dumps(value) if isinstance(value, (dict, list)) else value
            kinds.setdefault(prefix + iri, set()).add(kind_of(text))

