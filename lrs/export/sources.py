"""Where an export reads statements: this LRS's own store, or any xAPI LRS over HTTP.

Both give the statements matching xAPI filter parameters page by page, oldest
stored first, and a voided statement by id. The HTTP source follows ``more``
links and needs only the standard Statement Resource, so an export works
against any conformant LRS.
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from lrs.store.base import Store
from lrs.xapi.errors import XAPIError
from lrs.xapi.query import StatementQuery, parse_statement_params

PAGE = 500


class StoreSource:
    """Reads the store on an event loop of its own (the exporter itself is synchronous)."""

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop, *, page: int = PAGE) -> None:
        self.store, self.loop, self.page = store, loop, page

    def pages(self, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
        try:
            query = parse_statement_params({**params, "ascending": "true", "limit": str(self.page)}, max_limit=self.page)
        except XAPIError as exc:
            raise ValueError(f"{exc.path or 'filter'}: {exc.message}") from exc
        assert isinstance(query, StatementQuery)
        while True:
            page, cursor = self.loop.run_until_complete(self.store.query_statements(query))
            yield page
            if cursor is None:
                return
            query = replace(query, cursor=cursor)

    def voided(self, statement_id: str) -> dict[str, Any] | None:
        return self.loop.run_until_complete(self.store.get_statement(statement_id, voided=True))

    def definitions(self, activity_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The canonical definitions the store keeps for these activities (those known)."""
        return self.loop.run_until_complete(self.store.activities(activity_ids))


class HTTPSource:
    """Any xAPI LRS: ``endpoint`` is its base URL (``.../xapi``), HTTP Basic ``key``/``secret``."""

    def __init__(self, endpoint: str, key: str, secret: str, *, page: int = PAGE, version: str = "1.0.3",
                 timeout: float = 60.0) -> None:
        self.endpoint = endpoint.rstrip("/") + "/"
        self.page, self.timeout = page, timeout
        token = base64.b64encode(f"{key}:{secret}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "X-Experience-API-Version": version,
                        "Accept": "application/json"}

    def _get(self, url: str) -> Any:
        request = urllib.request.Request(url, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            body = exc.read()[:500].decode("utf-8", "replace")
            raise ValueError(f"the LRS answered {exc.code} to GET {url}: {body}") from exc
        except urllib.error.URLError as exc:
            raise ValueError(f"cannot reach the LRS at {self.endpoint}: {exc.reason}") from exc

    def pages(self, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
        query = urllib.parse.urlencode({**params, "ascending": "true", "limit": str(self.page)})
        url = urllib.parse.urljoin(self.endpoint, "statements") + "?" + query
        while url:
            result = self._get(url)
            if not isinstance(result, dict) or not isinstance(result.get("statements"), list):
                raise ValueError(f"GET {url} did not return a StatementResult")
            yield result["statements"]
            more = result.get("more") or ""
            url = urllib.parse.urljoin(self.endpoint, more) if more else ""

    def voided(self, statement_id: str) -> dict[str, Any] | None:
        url = urllib.parse.urljoin(self.endpoint, "statements") + "?" + urllib.parse.urlencode(
            {"voidedStatementId": statement_id})
        return self._get(url)

    def definitions(self, activity_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The LRS's canonical definitions, one GET /activities each (the export asks once per
        activity of an answer: a game has tens to hundreds)."""
        out = {}
        for activity_id in activity_ids:
            url = urllib.parse.urljoin(self.endpoint, "activities") + "?" + urllib.parse.urlencode(
                {"activityId": activity_id})
            activity = self._get(url)
            if isinstance(activity, dict) and isinstance(activity.get("definition"), dict):
                out[activity_id] = activity["definition"]
        return out
