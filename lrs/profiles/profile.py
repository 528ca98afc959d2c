"""An xAPI Profiles 1.0 document, read into what validation needs, and its Statement Template checks.

``Profile.from_document`` takes any Profiles 1.0 JSON-LD document (as parsed
JSON): its Statement Templates, Patterns and the ``inlineSchema`` of its
Extension concepts. ``Profile.check(statement)`` follows the Profiles spec's
``validates`` algorithm (Part Three §2.1): the templates whose Determining
Properties the statement has must all follow their rules, and at least one
template must match; extension values must follow their ``inlineSchema``.
The result is a list of ``Violation``s (empty: the statement follows the
profile). Pure: statements a StatementRef points to come in through ``lookup``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs
import orjson

from lrs.profiles import jsonpath

PRESENCES = ("included", "excluded", "recommended")
_UNMATCHABLE = object()
# The Statement locations of each Determining Property (Part Two §8; Part Three §2.1).
CONTEXT_TYPES = {
    "contextGroupingActivityType": "grouping",
    "contextParentActivityType": "parent",
    "contextOtherActivityType": "other",
    "contextCategoryActivityType": "category",
}
EXTENSION_LOCATIONS = {
    "ResultExtension": ("result", "extensions"),
    "ContextExtension": ("context", "extensions"),
    "ActivityExtension": ("object", "definition", "extensions"),
}


class ProfileError(ValueError):
    """The document is not a usable xAPI Profile."""


@dataclass(frozen=True)
class Violation:
    template: str | None  # the Statement Template's IRI; None when no template matched
    location: str | None  # JSONPath of the rule (or extension) broken
    found: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"template": self.template, "location": self.location, "found": self.found, "message": self.message}


@dataclass(frozen=True)
class Rule:
    location: jsonpath.Path
    selector: jsonpath.Path | None
    presence: str | None
    any: tuple[Any, ...] | None
    all: tuple[Any, ...] | None
    none: tuple[Any, ...] | None

    def problem(self, statement: dict[str, Any]) -> tuple[Any, str] | None:
        """(what was found, what is wrong), or None when the statement follows the rule (§2.1 follows_rule)."""
        values = self.location.find(statement)
        if self.selector is not None:
            selected: list[Any] = []
            for value in values:
                found = self.selector.find(value)
                selected.extend(found if found else [_UNMATCHABLE])
            values = selected
        shown = _shown(values)
        strict = True
        if self.presence == "included":
            if any(v is _UNMATCHABLE for v in values):
                return shown, "a value the selector finds nothing in (presence: included)"
            if not values:
                return None, "missing (presence: included)"
        elif self.presence == "excluded":
            if any(v is not _UNMATCHABLE for v in values):
                return shown, "present, but the template excludes it (presence: excluded)"
        elif self.presence == "recommended":
            strict = False
        if not (strict or values):
            return None
        if self.any is not None and not any(_member(v, self.any) for v in values):
            return shown, f"none of the allowed values {list(self.any)} (any)"
        if self.all is not None:
            if any(v is _UNMATCHABLE for v in values):
                return shown, "a value the selector finds nothing in (all)"
            bad = [v for v in values if not _member(v, self.all)]
            if bad:
                return _shown(bad), f"values outside {list(self.all)} (all)"
        if self.none is not None:
            bad = [v for v in values if _member(v, self.none)]
            if bad:
                return _shown(bad), f"values the template forbids: {_shown(bad)} (none)"
        return None


def _member(value: Any, allowed: tuple[Any, ...]) -> bool:
    # JSON equality: true is not 1 (Python says it is).
    return any(value == a and isinstance(value, bool) == isinstance(a, bool) for a in allowed)


def _shown(values: list[Any]) -> Any:
    values = [None if v is _UNMATCHABLE else v for v in values]
    return values[0] if len(values) == 1 else values


@dataclass(frozen=True)
class Template:
    id: str
    label: str
    verb: str | None = None
    object_activity_type: str | None = None
    context_types: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (contextActivities kind, types)
    attachment_usage_types: tuple[str, ...] = ()
    object_statement_ref: tuple[str, ...] | None = None
    context_statement_ref: tuple[str, ...] | None = None
    rules: tuple[Rule, ...] = ()
    rule_texts: tuple[str, ...] = ()

    def matches(self, statement: dict[str, Any]) -> bool:
        """Whether the statement has every Determining Property of the template (§2.1)."""
        if self.verb is not None and (statement.get("verb") or {}).get("id") != self.verb:
            return False
        if self.object_activity_type is not None and _object_type(statement) != self.object_activity_type:
            return False
        context_activities = (statement.get("context") or {}).get("contextActivities") or {}
        for kind, types in self.context_types:
            present = context_activities.get(kind) or []
            if isinstance(present, dict):
                present = [present]
            have = {((a.get("definition") or {}).get("type")) for a in present if isinstance(a, dict)}
            if not set(types) <= have:
                return False
        if self.attachment_usage_types:
            have = {a.get("usageType") for a in statement.get("attachments") or () if isinstance(a, dict)}
            if not set(self.attachment_usage_types) <= have:
                return False
        return True


def _object_type(statement: dict[str, Any]) -> str | None:
    obj = statement.get("object") or {}
    return (obj.get("definition") or {}).get("type") if isinstance(obj, dict) else None


@dataclass(frozen=True)
class Pattern:
    id: str
    kind: str  # alternates | optional | oneOrMore | sequence | zeroOrMore
    members: tuple[str, ...]
    primary: bool = False
    label: str = ""


@dataclass(frozen=True)
class ExtensionSchema:
    iri: str
    location: str  # JSONPath of the extension's value
    path: tuple[str, ...]
    validator: Any = field(compare=False)
    schema: Any = field(default=None, compare=False)  # the parsed inlineSchema


@dataclass(frozen=True)
class Profile:
    id: str
    version: str
    label: str
    templates: tuple[Template, ...]
    patterns: tuple[Pattern, ...]
    extensions: tuple[ExtensionSchema, ...]

    @property
    def inline_schemas(self) -> dict[str, Any]:
        """Extension IRI -> its inlineSchema (parsed)."""
        return {e.iri: e.schema for e in self.extensions}

    @property
    def template_ids(self) -> frozenset[str]:
        return frozenset(t.id for t in self.templates)

    def matching(self, statement: dict[str, Any]) -> list[Template]:
        return [t for t in self.templates if t.matches(statement)]

    def check(
        self, statement: dict[str, Any], lookup: Callable[[str], dict[str, Any] | None] | None = None
    ) -> list[Violation]:
        """Every way the statement fails this profile (an empty list: it follows it)."""
        violations: list[Violation] = []
        matched = self.matching(statement)
        if not matched:
            verb = (statement.get("verb") or {}).get("id")
            violations.append(Violation(
                None, None, {"verb": verb, "objectActivityType": _object_type(statement)},
                f"the statement matches no Statement Template of {self.label or self.id} (verb {verb})",
            ))
        for template in matched:
            violations.extend(self._template_problems(template, statement, lookup))
        where = matched[0].id if matched else None
        for extension in self.extensions:
            value: Any = statement
            for step in extension.path:
                value = value.get(step) if isinstance(value, dict) else None
            if isinstance(value, dict) and extension.iri in value:
                found = value[extension.iri]
                if not extension.validator.is_valid(found):
                    violations.append(Violation(
                        where, extension.location, found,
                        f"the value of extension {extension.iri} does not follow the profile's inlineSchema",
                    ))
        return violations

    def _template_problems(
        self, template: Template, statement: dict[str, Any], lookup: Callable[[str], dict[str, Any] | None] | None
    ) -> list[Violation]:
        out = []
        for name, allowed, target in (
            ("objectStatementRefTemplate", template.object_statement_ref, statement.get("object")),
            ("contextStatementRefTemplate", template.context_statement_ref, (statement.get("context") or {}).get("statement")),
        ):
            if allowed is None:
                continue
            where = "$.object" if name.startswith("object") else "$.context.statement"
            if not (isinstance(target, dict) and target.get("objectType") == "StatementRef"):
                out.append(Violation(template.id, where, target, f"must be a StatementRef ({name})"))
                continue
            referenced = lookup(str(target.get("id", "")).lower()) if lookup else None
            if referenced is not None and not {t.id for t in self.matching(referenced)
                                               if not self._template_problems(t, referenced, None)} & set(allowed):
                out.append(Violation(
                    template.id, f"{where}.id", target.get("id"),
                    f"the referenced statement follows none of the templates {list(allowed)} ({name})",
                ))
        for rule, text in zip(template.rules, template.rule_texts):
            problem = rule.problem(statement)
            if problem is not None:
                found, what = problem
                out.append(Violation(template.id, text, found, f"{text}: {what}"))
        return out

    # -- reading a document

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Profile:
        if not isinstance(document, Mapping) or document.get("type") != "Profile":
            raise ProfileError("not an xAPI Profile (type must be Profile)")
        versions = document.get("versions") or []
        version = versions[0].get("id", "") if versions and isinstance(versions[0], Mapping) else ""
        try:
            templates = tuple(_template(t) for t in document.get("templates") or () if not t.get("deprecated"))
            patterns = tuple(_pattern(p) for p in document.get("patterns") or ())
            extensions = tuple(e for c in document.get("concepts") or () if (e := _extension(c)) is not None)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProfileError(f"malformed profile: {exc!r}") from exc
        return cls(str(document.get("id", "")), version, _label(document.get("prefLabel")), templates, patterns, extensions)

    @classmethod
    def from_json(cls, raw: bytes | str) -> Profile:
        try:
            return cls.from_document(orjson.loads(raw))
        except orjson.JSONDecodeError as exc:
            raise ProfileError(f"the profile is not JSON: {exc}") from exc


def _label(value: Any) -> str:
    if isinstance(value, Mapping) and value:
        return str(value.get("en") or value.get("en-US") or next(iter(value.values())))
    return ""


def _template(doc: Mapping[str, Any]) -> Template:
    rules, texts = [], []
    for rule in doc.get("rules") or ():
        presence = rule.get("presence")
        if presence is not None and presence not in PRESENCES:
            raise ProfileError(f"rule presence {presence!r} in template {doc['id']}")
        if presence is None and not any(k in rule for k in ("any", "all", "none")):
            raise ProfileError(f"a rule of template {doc['id']} has none of presence, any, all, none")
        try:
            location = jsonpath.compile(rule["location"])
            selector = jsonpath.compile(rule["selector"]) if rule.get("selector") else None
        except jsonpath.JSONPathError as exc:
            raise ProfileError(f"template {doc['id']}: {exc}") from exc
        rules.append(Rule(
            location, selector, presence,
            *(tuple(rule[k]) if k in rule else None for k in ("any", "all", "none")),
        ))
        texts.append(rule["location"] + (f" {rule['selector']}" if rule.get("selector") else ""))
    return Template(
        id=doc["id"], label=_label(doc.get("prefLabel")), verb=doc.get("verb"),
        object_activity_type=doc.get("objectActivityType"),
        context_types=tuple((kind, tuple(doc[key])) for key, kind in CONTEXT_TYPES.items() if doc.get(key)),
        attachment_usage_types=tuple(doc.get("attachmentUsageType") or ()),
        object_statement_ref=tuple(doc["objectStatementRefTemplate"]) if doc.get("objectStatementRefTemplate") else None,
        context_statement_ref=tuple(doc["contextStatementRefTemplate"]) if doc.get("contextStatementRefTemplate") else None,
        rules=tuple(rules), rule_texts=tuple(texts),
    )


def _pattern(doc: Mapping[str, Any]) -> Pattern:
    for kind in ("alternates", "sequence", "optional", "oneOrMore", "zeroOrMore"):
        if kind in doc:
            members = doc[kind]
            return Pattern(doc["id"], kind, tuple(members) if isinstance(members, list) else (members,),
                           bool(doc.get("primary")), _label(doc.get("prefLabel")))
    raise ProfileError(f"pattern {doc.get('id')} has none of alternates, sequence, optional, oneOrMore, zeroOrMore")


def _extension(doc: Mapping[str, Any]) -> ExtensionSchema | None:
    path = EXTENSION_LOCATIONS.get(doc.get("type", ""))
    schema = doc.get("inlineSchema")
    if path is None or not schema:
        return None
    try:
        parsed = orjson.loads(schema) if isinstance(schema, str) else schema
        validator = jsonschema_rs.validator_for(parsed)
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise ProfileError(f"extension {doc.get('id')}: inlineSchema is not a JSON Schema: {exc}") from exc
    location = "$." + ".".join(path) + f"['{doc['id']}']"
    return ExtensionSchema(doc["id"], location, path, validator, parsed)
