"""Statement and Agent validation (xAPI 1.0.3 Data sections 2 and 4; xAPI 2.0 / IEEE 9274.1.1).

Validation runs in two steps, both stopping at the first problem:

1. the JSON Schema for the request's API version (``statement_schemas/``), compiled
   once with fastjsonschema: structure, types, required and unknown properties,
   null values, enumerations and the IRI/UUID/mbox/SHA/version syntax;
2. one walk over the (now well-formed) statement for the rules a schema cannot
   express (``lrs.xapi.rules``).

A problem is raised as ``lrs.xapi.errors.invalid(path, message, rule=...)`` with an
xAPI-style path such as ``[3].context.contextActivities.parent[0].id``.

Decision on XAPI-00001 ("reject a property set to null, an empty object or no
value, except in extensions"): null is rejected everywhere outside extensions
(Data 2.2 says MUST). Empty objects are rejected only where the specification
requires content: ``contextActivities`` (XAPI-00095), language maps (the
conformance requirements define a Language Map as having at least one entry,
4.2, and the ADL conformance suite refuses an empty ``display``, ``name`` or
``description``), and objects with required properties (actor, verb, object,
account, ...) fail on those. An empty ``result``, ``context``, ``definition`` or
``score`` is accepted: Data 2.2 only says objects SHOULD NOT be empty, and every
property of those objects is optional.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema_rs

import lrs
from lrs.xapi import strict_json
from lrs.xapi.errors import XAPIError, bad_request, invalid
from lrs.xapi.rules import IFI_KEYS, check_actor, check_statement, is_digits, is_iri, is_language_tag, is_uuid

__all__ = [
    "validate_statement", "batch_matches_schema", "validate_agent", "agent_param", "is_digits", "is_iri", "is_uuid", "is_language_tag",
]

_SCHEMA_FILES = {"1.0.3": "statement-1.0.3.schema.json", "2.0": "statement-2.0.schema.json"}
_VERSION_HINTS = {"1.0.3": "1.0 or 1.0.x", "2.0": "1.0.x or 2.0.x"}
_JSON_TYPES = {
    type(None): "null", bool: "a boolean", int: "a number", float: "a number",
    str: "a string", list: "an array", dict: "an object",
}
_EXPECTED = {
    "object": "an object", "array": "an array", "string": "a string", "number": "a number",
    "integer": "an integer", "boolean": "a boolean (true or false)",
}
_FORMAT_MESSAGES = {
    "iri": "is not an IRI: it needs a scheme (such as http:) and no spaces or <>\"{}|\\^` characters",
    "uuid": "is not a UUID in standard string form (8-4-4-4-12 hex digits)",
    "mbox": "is not a mailto IRI ('mailto:' followed by an email address)",
    "sha1": "is not a hex-encoded SHA-1 (40 hex digits)",
    "sha2": "is not a hex-encoded SHA-2 digest (56, 64, 96 or 128 hex digits)",
    "content-type": "is not an Internet Media Type such as text/plain",
}


# --- public API -----------------------------------------------------------------


def validate_statement(statement: object, version: str, *, path: str = "", schema_checked: bool = False) -> None:
    """Raise ``XAPIError`` (400) at the first way ``statement`` breaks the xAPI rules.

    ``version`` is the request's API version ("1.0.3" or "2.0.0"), which chooses
    the schema (2.0 adds contextAgents/contextGroups and statement version 2.0.x).
    ``schema_checked``: ``batch_matches_schema`` already accepted the batch holding it.
    """
    key = _schema_key(version)
    if not schema_checked and not _fast_validator(key).is_valid(statement):
        # The compiled (Rust) validator only says yes or no; fastjsonschema, on the
        # same schema, says where and why.
        try:
            _validator(key)(statement)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise _translate(exc, statement, path, key, subject="a statement") from None
        raise _disagreement(statement, path, key)
    check_statement(statement, path)  # type: ignore[arg-type]  # a dict, by the schema


def batch_matches_schema(statements: list[object], version: str) -> bool:
    """Whether every statement of a batch matches the statement schema, in one call of the
    compiled validator (cheaper per statement than one call each). When it says no,
    validate each statement to learn which one fails, where and why."""
    return _fast_batch_validator(_schema_key(version)).is_valid(statements)


def validate_agent(agent: object, *, path: str = "agent", allow_group: bool = True) -> None:
    """Validate an Agent (or, with ``allow_group``, an Identified Group) given as a parameter."""
    if isinstance(agent, dict) and agent.get("objectType") == "Group":
        if not allow_group:
            raise invalid(f"{path}.objectType", "must be an Agent here, not a Group", rule="enum")
        if not any(k in agent for k in IFI_KEYS):
            raise invalid(
                path,
                "a Group used as a parameter must be an Identified Group "
                "(with exactly one of mbox, mbox_sha1sum, openid, account)",
                rule="ifi",
            )
    try:
        _validator("agent")(agent)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise _translate(exc, agent, path, "1.0.3", subject="the agent") from None
    check_actor(agent, path)  # type: ignore[arg-type]  # a dict, by the schema


def agent_param(raw: str, *, path: str = "agent", allow_group: bool = True) -> dict[str, Any]:
    """An Agent (or, with ``allow_group``, an Identified Group) sent as a JSON query parameter:
    parsed strictly (two values for one key is no agent) and validated; 400 naming ``path``."""
    what = "a JSON Agent or Identified Group" if allow_group else "a JSON Agent object"
    try:
        agent = strict_json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_request(f"{path} must be {what}", path=path, error="parameter") from None
    if not isinstance(agent, dict):
        raise bad_request(f"{path} must be {what}", path=path, error="parameter")
    validate_agent(agent, path=path, allow_group=allow_group)
    return agent


# --- schemas --------------------------------------------------------------------


def _schema_key(version: str) -> str:
    if version.startswith("2.0"):
        return "2.0"
    if version.startswith("1.0"):
        return "1.0.3"
    raise ValueError(f"no statement schema for xAPI version {version!r}")


def schema_dir() -> Path:
    """``statement_schemas/`` next to the package (source tree), else the installed data files."""
    for candidate in (
        Path(lrs.__file__).resolve().parent.parent / "statement_schemas",
        Path(sys.prefix) / "share" / "lrs" / "statement_schemas",
    ):
        if (candidate / _SCHEMA_FILES["1.0.3"]).is_file():
            return candidate
    raise FileNotFoundError("statement_schemas/ not found next to the lrs package nor under sys.prefix/share/lrs")


def load_schema(key: str) -> dict[str, Any]:
    with open(schema_dir() / _SCHEMA_FILES[key], encoding="utf-8") as f:
        return json.load(f)


@functools.cache  # module-level state, like _validator's: an immutable cache of compiled validators
def _fast_validator(key: str) -> Any:
    """jsonschema-rs on the same schema: about 2 µs per statement instead of about 13."""
    return jsonschema_rs.validator_for(load_schema(key))


@functools.cache
def _fast_batch_validator(key: str) -> Any:
    """jsonschema-rs on an array of statements, each under the same schema."""
    schema = load_schema(key)
    statement = {k: v for k, v in schema.items() if k not in ("$schema", "definitions")}
    batch = {"$schema": schema["$schema"], "definitions": schema["definitions"], "type": "array", "items": statement}
    return jsonschema_rs.validator_for(batch)


@functools.cache  # module-level state: an immutable cache of compiled validators
def _validator(key: str) -> Callable[[object], object]:
    if key == "agent":
        schema = load_schema("1.0.3")
        schema = {"$schema": schema["$schema"], "definitions": schema["definitions"], "$ref": "#/definitions/actor"}
    else:
        schema = load_schema(key)
    return fastjsonschema.compile(schema)


# --- translating schema errors ----------------------------------------------------


def _disagreement(statement: object, prefix: str, key: str) -> XAPIError:
    """The compiled validator refuses what fastjsonschema accepts: the schema's own reading wins.

    JSON Schema patterns are ECMA-262 regular expressions, which jsonschema-rs follows and Python's
    ``re`` (fastjsonschema) does not quite: ECMA-262's ``\\s`` also matches U+FEFF, so an IRI holding
    one is refused. Before, such a statement was accepted (found by a review: validation failed open).
    """
    error = next(iter(_fast_validator(key).iter_errors(statement)), None)
    if error is None:  # cannot happen: is_valid said no
        return invalid(prefix or "statement", "does not match the statement schema", rule="schema")
    parts = [str(part) for part in error.instance_path]
    value: object = statement
    for part in error.instance_path:
        value = value[part]  # type: ignore[index]
    if isinstance(value, str):
        shown = ascii(value) if len(value) <= 80 else ascii(value[:77]) + "..."
        message = f"{shown} does not match the statement schema here (an invisible character such as U+FEFF?)"
    else:
        message = "does not match the statement schema here"
    return invalid(_xapi_path(parts, statement, prefix), message, rule="schema")


def _translate(
    exc: fastjsonschema.JsonSchemaValueException, root: object, prefix: str, key: str, subject: str
) -> XAPIError:
    """Turn a fastjsonschema error into ``invalid(path, message, rule)``."""
    parts = list(exc.path or [])[1:]
    path = _xapi_path(parts, root, prefix)
    definition = exc.definition if isinstance(exc.definition, dict) else {}
    value, rule = exc.value, exc.rule
    custom = definition.get("xapiRule")

    if rule == "type":
        if value is None:
            return invalid(path, "must not be null (null is only allowed inside extensions)", rule="null")
        expected = " or ".join(_EXPECTED.get(t, t) for t in _as_list(definition.get("type")))
        what = f"{subject} " if not parts else ""
        return invalid(path, f"{what}must be {expected}, not {_type_name(value)}", rule="type")
    if rule in ("required", "additionalProperties") and isinstance(value, dict):
        return _property_error(path, value, definition, rule, key)
    if rule in ("enum", "const"):
        allowed = definition.get("enum", [definition.get("const")])
        if custom == "member":
            return invalid(path, "a Group's members must be Agents, not Groups", rule="member")
        choices = ", ".join(repr(a) for a in allowed)
        one_of = "one of " if len(allowed) > 1 else ""
        return invalid(path, f"must be {one_of}{choices} (case-sensitive), not {_show(value)}", rule="enum")
    if rule == "pattern":
        if custom == "version":
            hint = _VERSION_HINTS[key]
            return invalid(path, f"{_show(value)} is not an accepted statement version (use {hint})", rule="version")
        message = _FORMAT_MESSAGES.get(custom or "", "does not have the required format")
        return invalid(path, f"{_show(value)} {message}", rule=custom or "format")
    if rule == "propertyNames" and isinstance(value, dict):
        bad = next((k for k in value if not is_iri(k)), "")
        message = f"extension key {bad!r} is not an IRI (extension keys need a scheme, such as http:)"
        return invalid(path, message, rule="iri")
    if rule == "not" and custom == "substatement":
        name = parts[-1] if parts else ""
        if name in ("id", "stored", "version", "authority"):
            return invalid(path, f"a SubStatement must not have {name!r}", rule="substatement")
        return invalid(path, "a SubStatement must not contain another SubStatement", rule="substatement")
    if rule in ("minimum", "maximum"):
        if custom == "score":
            return invalid(path, f"scaled ({value}) must be between -1 and 1", rule="score")
        return invalid(path, f"must not be negative, not {value}", rule=rule)
    if rule in ("minProperties", "minItems"):
        if parts and parts[-1] == "contextActivities":
            return invalid(path, "must not be empty: use at least one of parent, grouping, category, other", rule=rule)
        return invalid(path, "must not be empty", rule=rule)
    message = exc.message.replace("data", "", 1).lstrip(".").strip()
    return invalid(path, message, rule=custom or rule or "schema")


def _property_error(path: str, value: dict[str, Any], definition: dict[str, Any], rule: str, key: str) -> XAPIError:
    properties = definition.get("properties", {})
    hint = _missing_object_type(value, properties)
    if hint:
        return invalid(
            _join(path, "objectType"),
            f"is required: {hint} (without objectType the object is read as an Activity)",
            rule="required",
        )
    unknown = [k for k in value if k not in properties] if definition.get("additionalProperties") is False else []
    if unknown:
        name = unknown[0]
        message = f"is not an allowed property here{_unknown_hint(name, properties, key)}"
        return invalid(_join(path, name), message, rule="additionalProperties")
    missing = sorted(set(definition.get("required", ())) - value.keys())
    if missing:
        return invalid(_join(path, missing[0]), "is required", rule="required")
    return invalid(path, "has invalid properties", rule=rule)  # pragma: no cover - defensive


def _missing_object_type(value: dict[str, Any], properties: dict[str, Any]) -> str:
    """Why an object read as an Activity (no objectType) was probably meant as something else."""
    if "definition" not in properties or "objectType" in value:
        return ""
    if any(k in value for k in (*IFI_KEYS, "member")):
        return "an Agent or Group used as a statement's object must have objectType 'Agent' or 'Group'"
    if "actor" in value or "verb" in value:
        return "a SubStatement must have objectType 'SubStatement'"
    return ""


def _unknown_hint(name: str, properties: dict[str, Any], key: str) -> str:
    for allowed in properties:
        if allowed.lower() == name.lower():
            return f" (property names are case-sensitive: did you mean {allowed!r}?)"
    if name in ("contextAgents", "contextGroups") and key == "1.0.3":
        return " (contextAgents and contextGroups are xAPI 2.0 properties; this request uses xAPI 1.0.3)"
    if properties:
        return f" (allowed: {', '.join(properties)})"
    return ""


def _xapi_path(parts: list[str], root: object, prefix: str) -> str:
    """Rebuild ``a.b[0].c`` from fastjsonschema's path, using the data to tell indexes from keys."""
    out, node = prefix, root
    for part in parts:
        if isinstance(node, list):
            index = int(part)
            out += f"[{index}]"
            node = node[index] if index < len(node) else None
        else:
            out = _join(out, part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _as_list(value: object) -> list[str]:
    return list(value) if isinstance(value, (list, tuple)) else [str(value)]


def _type_name(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."
