"""Which agent names a batch of statements still has to record (shared by the stores).

A game's players send the same name with every statement, so each process
remembers what it knows to be recorded and sends only the rest to the
database (which ignores what it has). Without the ``define`` scope only an
agent's first name is recorded (no update of the canonical Actor), so only
agents with no name yet are sent, one name each.
"""

from __future__ import annotations

from collections.abc import Sequence

from lrs.xapi.agents import named_agents
from lrs.xapi.statements import PreparedStatement

MAX_REMEMBERED = 200_000  # names and IFIs remembered as recorded, per process


class NameCache:
    def __init__(self) -> None:
        self._pairs: set[tuple[str, str]] = set()  # (IFI, name) known to be recorded
        self._named: set[str] = set()  # IFIs known to have a name recorded

    def pending(self, batch: Sequence[PreparedStatement], *, define: bool) -> list[tuple[str, str]]:
        """The (IFI, name) pairs to send with this batch, in batch order."""
        pairs = dict.fromkeys(pair for p in batch for pair in named_agents(p.document()))
        if define:
            return [pair for pair in pairs if pair not in self._pairs]
        first: dict[str, str] = {}
        for ifi, name in pairs:
            if ifi not in self._named:
                first.setdefault(ifi, name)
        return list(first.items())

    def recorded(self, names: Sequence[tuple[str, str]], *, define: bool) -> None:
        """The batch that sent ``names`` committed."""
        if not names:
            return
        if len(self._pairs) + len(self._named) + 2 * len(names) > MAX_REMEMBERED:
            self._pairs.clear()
            self._named.clear()
        if define:
            self._pairs.update(names)
        self._named.update(ifi for ifi, _ in names)
