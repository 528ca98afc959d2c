"""``stored`` values, and the ``X-Experience-API-Consistent-Through`` that is true with them.

A statement gets its ``stored`` value when the request is checked, before the store has
committed it. A read that starts meanwhile does not see it, so it must not claim that
everything stored up to its start is in its answer: the header promises that every
statement stored at or before its value is returned (Communication §2.1.3; a client
polls with ``since`` from it, and would never see such a statement). ``StoredClock``
gives out the stored values of this process (strictly increasing, also when the wall
clock steps back) and keeps those not yet committed, so that the header stops just
before the earliest of them.

One clock per process (``app.state.stored_clock``): with ``lrs serve --workers N``, or
several LRS instances on one MongoDB, writes in flight in another process are not seen.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta

from lrs.xapi.timestamps import format_stored, now, parse_timestamp, stored_sequence

_TICK = timedelta(microseconds=1)


class StoredClock:
    def __init__(self) -> None:
        self._last: datetime | None = None  # the last stored value given out
        self._tokens = itertools.count()
        self._in_flight: dict[int, datetime] = {}  # token -> the first stored time of a write not yet committed

    def begin(self, count: int) -> tuple[int, list[str]]:
        """Stored values for ``count`` statements about to be written, and a token for ``end``."""
        start = now()
        if self._last is not None and start <= self._last:
            start = self._last + _TICK
        self._last = start + _TICK * max(count - 1, 0)
        token = next(self._tokens)
        self._in_flight[token] = start
        return token, stored_sequence(start, count)

    def end(self, token: int) -> None:
        """The write of ``token`` is over (committed, refused or failed)."""
        self._in_flight.pop(token, None)

    async def settled(self, stored: str, *, patience: float = 1.0) -> None:
        """Wait until no write of this process that was given a stored value at or before ``stored``
        is in flight (at most ``patience`` seconds): then the header can be no earlier than a
        statement read with that stored value (XAPI-00152)."""
        moment = parse_timestamp(stored)
        if moment is None or not self._in_flight or self._last is None or moment > self._last:
            return  # (a value this process never gave out: another process's, or another host's clock)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        while any(start <= moment for start in self._in_flight.values()) and loop.time() < deadline:
            await asyncio.sleep(0.001)

    def consistent_through(self) -> str:
        """A value every statement stored at or before it is committed: a read that starts now
        sees them all."""
        moment = now()
        if self._in_flight:
            moment = min(moment, *self._in_flight.values())
        return format_stored(moment - _TICK)
