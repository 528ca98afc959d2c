"""Index keys: how a statement is found by the GET /statements filters.

Each statement carries a set of string keys, one per (filter, value) it
matches; a query asks for the statements carrying all of its keys. Both
stores index exactly these strings (SQLite: a keys table; MongoDB: a
multikey array), so the matching rules live here once.
"""

from __future__ import annotations

AGENT = "a|"
RELATED_AGENT = "ra|"
ACTIVITY = "o|"
RELATED_ACTIVITY = "ro|"
VERB = "v|"
REGISTRATION = "r|"
AUTHORITY = "au|"


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
