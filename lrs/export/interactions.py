"""The interactionType the LRS keeps for the activities of answers (pure: the caller fetches).

A statement may name its activity by id alone, leaving its definition (and so whether the
response is free text) to the LRS's canonical Activity. ``InteractionTypes`` says which ids of a
page still need a look-up, remembers what the LRS answered (an id is looked up once per export),
and is the ``canonical`` mapping that ``flatten`` and ``SGTables`` read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lrs.export.flatten import Privacy


class InteractionTypes(dict[str, "str | None"]):
    """activity id -> the interactionType the LRS keeps (None: none, or not known to the LRS)."""

    def __init__(self, privacy: Privacy) -> None:
        super().__init__()
        self.needed = privacy.free_text != "keep"  # kept answers need no look-up

    def missing(self, statements: Iterable[dict[str, Any]]) -> list[str]:
        """Ids to look up: activities of statements with a response whose type is not yet known."""
        if not self.needed:
            return []
        out: dict[str, None] = {}
        for statement in statements:
            obj = statement.get("object") or {}
            if (statement.get("result") or {}).get("response") is None or obj.get("objectType", "Activity") != "Activity":
                continue
            object_id = obj.get("id")
            if isinstance(object_id, str) and object_id not in self:
                out[object_id] = None
        return list(out)

    def learn(self, asked: Iterable[str], definitions: dict[str, dict[str, Any]]) -> None:
        for activity_id in asked:
            definition = definitions.get(activity_id)
            kind = definition.get("interactionType") if isinstance(definition, dict) else None
            self[activity_id] = kind if isinstance(kind, str) else None
