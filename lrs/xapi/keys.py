"""Index keys: how a statement is found by the GET /statements filters.

Each statement carries a set of string keys, one per (filter, value) it
matches; a query asks for the statements carrying all of its keys. Both
stores index exactly these strings (SQLite: a keys table; MongoDB: a
multikey array), so the matching rules live here once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set as AbstractSet
from typing import TypeVar

AGENT = "a|"
RELATED_AGENT = "ra|"
ACTIVITY = "o|"
RELATED_ACTIVITY = "ro|"
VERB = "v|"
REGISTRATION = "r|"
AUTHORITY = "au|"

K = TypeVar("K")  # a key, or the id a store gives it


def agent(ifi: str, *, related: bool = False) -> str:
    return (RELATED_AGENT if related else AGENT) + ifi


def activity(activity_id: str, *, related: bool = False) -> str:
    return (RELATED_ACTIVITY if related else ACTIVITY) + activity_id


def verb(verb_id: str) -> str:
    return VERB + verb_id


def registration(value: str) -> str:
    return REGISTRATION + value.lower()


def authority(ifi: str) -> str:
    return AUTHORITY + ifi


def inheritable(key: str) -> bool:
    """Whether a statement targeting another (StatementRef) inherits this key of its target.

    Every filter except the permission filter on authority follows StatementRefs.
    """
    return not key.startswith(AUTHORITY)


def spread(
    referrers: Mapping[str, tuple[str, AbstractSet[K]]],
    target_keys: Mapping[str, AbstractSet[K]],
    is_inheritable: Callable[[K], bool],
) -> dict[str, set[K]]:
    """The keys statements gain from what they reach through StatementRefs, recursively (Communication
    §2.1.3, "Filter Conditions for StatementRefs": a targets b targets c, and c matches, so a does).

    ``referrers``: statement id -> (the id its StatementRef targets, the keys it has), for statements
    reaching the ones whose keys changed; ``target_keys``: the keys of the other targets. Returns, for
    each referrer that gains any, the keys it gains. Each referrer is visited once, after what it
    targets (a chain of 1,000 in one batch was spread one level per pass: 94 s); on a reference cycle
    each statement gets every inheritable key of the cycle.
    """
    final: dict[str, AbstractSet[K]] = {}
    gained: dict[str, set[K]] = {}

    def settle(statement_id: str, inherited: AbstractSet[K]) -> None:
        keys = referrers[statement_id][1]
        new = {k for k in inherited if k not in keys and is_inheritable(k)}
        if new:
            gained[statement_id] = new
            final[statement_id] = keys | new
        else:
            final[statement_id] = keys

    for start in referrers:
        path: list[str] = []
        on_path: set[str] = set()
        current = start
        while current in referrers and current not in final and current not in on_path:
            path.append(current)
            on_path.add(current)
            current = referrers[current][0]
        if current in on_path:  # a cycle: current ... path[-1], then back to current
            cycle = path[path.index(current):]
            del path[len(path) - len(cycle):]
            every = set().union(*(referrers[c][1] for c in cycle))
            for member in cycle:
                settle(member, every)
        for statement_id in reversed(path):  # what it targets is settled by now
            target = referrers[statement_id][0]
            settle(statement_id, final[target] if target in final else target_keys.get(target, ()))
    return gained
