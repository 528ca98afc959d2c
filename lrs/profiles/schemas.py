"""JSON Schemas generated from Statement Templates, so that schema and template never disagree.

``template_schema(profile, template)`` writes, as a draft-07 JSON Schema, what
a Statement following the template must look like: its Determining Properties
(verb, object activity type, context activity types), its rules on plain paths
(``presence`` included/excluded, ``any``/``all``/``none`` on a single value)
and the ``inlineSchema`` of the profile's extensions. A rule on a path with
``*`` or a union has no exact schema form and is left out (the engine still
checks it); ``schema_gaps`` lists those. The schema describes the template's
requirements only: the xAPI statement schemas (statement-1.0.3/2.0) still apply.

``scripts/profile_schemas.py`` writes them to ``statement_schemas/<profile>/``;
a test regenerates them and compares, and checks that statements give the
same verdict from the schema as from the engine.
"""

from __future__ import annotations

from typing import Any

import orjson

from lrs.profiles import jsonpath
from lrs.profiles.profile import Profile, Rule, Template

DRAFT = "http://json-schema.org/draft-07/schema#"


def _plain_path(path: jsonpath.Path) -> list[str | int] | None:
    """The steps of a path with one alternative and one child name or index per step, else None."""
    if len(path.alternatives) != 1:
        return None
    steps: list[str | int] = []
    for step in path.alternatives[0]:
        if len(step) != 1 or step[0] is jsonpath.STAR:
            return None
        steps.append(step[0])
    return steps


def _at(schema: dict[str, Any], steps: list[str | int]) -> dict[str, Any]:
    """The sub-schema for ``steps`` under ``schema`` (created as needed)."""
    node = schema
    for step in steps:
        if isinstance(step, int):
            node = node.setdefault("items", {})  # an index: every item (exact for index 0 of one-item arrays)
            continue
        node = node.setdefault("properties", {}).setdefault(step, {})
    return node


def _require(schema: dict[str, Any], steps: list[str | int]) -> None:
    node = schema
    for step in steps:
        if isinstance(step, int):
            node.setdefault("minItems", step + 1)
            node = node.setdefault("items", {})
            continue
        if step not in node.setdefault("required", []):
            node["required"].append(step)
        node = node.setdefault("properties", {}).setdefault(step, {})


def _values(rule: Rule, node: dict[str, Any]) -> None:
    if rule.any is not None or rule.all is not None:
        allowed = list(rule.all if rule.all is not None else rule.any)
        if rule.all is not None and rule.any is not None:
            allowed = [v for v in rule.all if v in rule.any]
        node["enum"] = allowed
    if rule.none is not None:
        node.setdefault("not", {})["enum"] = list(rule.none)


def template_schema(profile: Profile, template: Template) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "title": template.label or template.id,
        "$comment": f"Generated from Statement Template {template.id} of profile {profile.id} "
                    f"({profile.version}) by lrs.profiles.schemas: do not edit; regenerate with "
                    "scripts/profile_schemas.py.",
        "type": "object",
    }
    if template.verb is not None:
        _require(schema, ["verb", "id"])
        _at(schema, ["verb", "id"])["const"] = template.verb
    if template.object_activity_type is not None:
        _require(schema, ["object", "definition", "type"])
        _at(schema, ["object", "definition", "type"])["const"] = template.object_activity_type
    for kind, types in template.context_types:
        _require(schema, ["context", "contextActivities", kind])
        node = _at(schema, ["context", "contextActivities", kind])
        node["allOf"] = [{"contains": {"required": ["definition"], "properties": {"definition": {
            "required": ["type"], "properties": {"type": {"const": t}}}}}} for t in types]
    for rule in template.rules:
        steps = _plain_path(rule.location)
        if steps is None or rule.selector is not None:
            continue
        if rule.presence == "excluded":
            *parent, last = steps
            _at(schema, parent).setdefault("allOf", []).append({"not": {"required": [last]}})
            continue
        if rule.presence in (None, "included"):
            _require(schema, steps)
        _values(rule, _at(schema, steps))
    for extension in profile.extensions:
        node = _at(schema, [*extension.path, extension.iri])
        node.update(_inline(profile, extension.iri))
    return schema


def _inline(profile: Profile, iri: str) -> dict[str, Any]:
    return dict(profile.inline_schemas.get(iri, {}))


def schema_gaps(template: Template) -> list[str]:
    """The rules of ``template`` its generated schema cannot express (the engine checks them)."""
    return [
        text for rule, text in zip(template.rules, template.rule_texts)
        if _plain_path(rule.location) is None or rule.selector is not None
    ]


def schema_file_name(template: Template) -> str:
    return template.id.rstrip("/").replace(":", "/").rsplit("/", 1)[-1] + ".schema.json"


def dumps(schema: dict[str, Any]) -> bytes:
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2) + b"\n"
