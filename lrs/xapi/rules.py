"""The statement rules a JSON Schema cannot express, as one walk over a statement.

``check_statement`` runs *after* the compiled JSON Schema has accepted the
statement, so it may rely on the structure (types, required properties,
enumerations, IRI/UUID/mbox syntax) and only checks what is left:

* exactly one Inverse Functional Identifier per Agent and Identified Group, and
  members for an Anonymous Group (Data 2.4.2.1-2.4.2.3, XAPI-00034, XAPI-00037);
* RFC 5646 language tags: language-map keys and ``context.language``
  (Data 2.2, 4.2, XAPI-00013, XAPI-00091, XAPI-00121);
* ISO 8601 timestamps and durations (Data 4.5, 4.6, XAPI-00022, XAPI-00077,
  XAPI-00123, XAPI-00124);
* score bounds (Data 2.4.5.1, XAPI-00080..00082);
* interaction component lists against ``interactionType`` and unique component
  ids (Data 2.4.4.1, XAPI-00058, XAPI-00064);
* voiding (Data 2.3.2, XAPI-00017), ``context.revision``/``platform`` only with
  an Activity object (Data 2.4.6, XAPI-00084, XAPI-00085), and an authority Group
  of exactly two Agents (Data 2.4.9, XAPI-00098, XAPI-00100).

Every check raises ``lrs.xapi.errors.invalid(path, message, rule=...)`` on the
first problem. The format helpers (``is_iri``, ``is_uuid``, ``is_language_tag``,
``timestamp_problem``, ``duration_problem``) are also used for query parameters.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from typing import Any

from lrs.xapi.timestamps import TIMESTAMP_BASIC, TIMESTAMP_EXTENDED, UNKNOWN_OFFSETS, parse_timestamp

from lrs.xapi.errors import invalid

# Data 4.3 / 2.2: scheme ":" then no whitespace, controls or <>"{}|\^` (RFC 3987,
# best effort). Kept identical to the "iri" pattern of statement_schemas/*.json.
IRI_PATTERN = r'^[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1F\x7F-\x9F<>"{}|\\^`]+$'
_IRI = re.compile(IRI_PATTERN[:-1] + r"\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\Z")

# RFC 5646 section 2.1, matched case-insensitively. Duplicate singletons and
# variants (sections 2.2.5 and 2.2.6) are checked in code.
_LANG_SIMPLE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z]{2})?\Z")
_LANG_TAG = re.compile(
    r"(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})"  # language, extlang
    r"(?:-[a-z]{4})?"  # script
    r"(?:-(?:[a-z]{2}|[0-9]{3}))?"  # region
    r"(?P<variants>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*)"
    r"(?P<extensions>(?:-[a-wyz0-9](?:-[a-z0-9]{2,8})+)*)"
    r"(?:-x(?:-[a-z0-9]{1,8})+)?\Z"
    r"|x(?:-[a-z0-9]{1,8})+\Z",
    re.IGNORECASE | re.ASCII,  # ASCII: no Unicode case-folding into [a-z] (e.g. U+212A KELVIN SIGN)
)
_GRANDFATHERED = frozenset(
    t.lower()
    for t in (
        "en-GB-oed i-ami i-bnn i-default i-enochian i-hak i-klingon i-lux i-mingo i-navajo i-pwn i-tao i-tay "
        "i-tsu sgn-BE-FR sgn-BE-NL sgn-CH-DE art-lojban cel-gaulish no-bok no-nyn zh-guoyu zh-hakka zh-min "
        "zh-min-nan zh-xiang"
    ).split()
)

# ISO 8601 date-time forms: one definition, in lrs.xapi.timestamps.
_TS_EXTENDED, _TS_BASIC, _UNKNOWN_OFFSETS = TIMESTAMP_EXTENDED, TIMESTAMP_BASIC, UNKNOWN_OFFSETS

# ISO 8601:2004 4.4.3.2 durations: PnYnMnDTnHnMnS or PnW; a decimal fraction is
# allowed on the lowest-order component only (checked in code).
_NUM = r"([0-9]+(?:[.,][0-9]+)?)"
_DURATION = re.compile(
    rf"P(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}D)?(?:(T)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?\Z"
)
_DURATION_WEEKS = re.compile(r"P[0-9]+(?:[.,][0-9]+)?W\Z")

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")
COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
_INTERACTION_ONLY = frozenset((*COMPONENT_LISTS, "correctResponsesPattern"))
_LISTS_FOR_TYPE = {
    "choice": ("choices",),
    "sequencing": ("choices",),
    "likert": ("scale",),
    "matching": ("source", "target"),
    "performance": ("steps",),
}


# --- format helpers -------------------------------------------------------------


def is_iri(s: object) -> bool:
    """An absolute IRI with a scheme (RFC 3987, best effort); never the empty string."""
    return isinstance(s, str) and _IRI.match(s) is not None


def is_digits(s: str) -> bool:
    """Only the ASCII digits 0-9 (``str.isdigit`` also takes "²" and "٥", which ``int`` refuses or reads)."""
    return s.isascii() and s.isdigit()


def is_uuid(s: object) -> bool:
    """A UUID in RFC 4122 standard string form (8-4-4-4-12 hex digits, any case)."""
    return isinstance(s, str) and _UUID.match(s) is not None


def is_language_tag(s: object) -> bool:
    """An RFC 5646 language tag, checked on the sequence of its subtags."""
    return isinstance(s, str) and _language_tag(s)


@functools.lru_cache(maxsize=1024)  # a game uses a few tags, on every statement
def _language_tag(s: str) -> bool:
    if _LANG_SIMPLE.match(s):
        return True
    m = _LANG_TAG.match(s)
    if m is None:
        return s.lower() in _GRANDFATHERED
    variants, extensions = m.group("variants"), m.group("extensions")
    if variants:  # RFC 5646 2.2.5: a variant appears at most once
        seen = variants.lower().split("-")[1:]
        if len(seen) != len(set(seen)):
            return False
    if extensions:  # RFC 5646 2.2.6: a singleton appears at most once
        singletons = [p for p in extensions.lower().split("-") if len(p) == 1]
        if len(singletons) != len(set(singletons)):
            return False
    return True


def timestamp_problem(s: str) -> str | None:
    """Why ``s`` is not an ISO 8601 date-time, or None when it is one."""
    m = _TS_EXTENDED.match(s) or _TS_BASIC.match(s)
    if m is None:
        return "must be an ISO 8601 date-time such as 2013-05-18T05:32:34.804Z"
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return "is not a valid calendar date"
    h, mi, sec = int(hour), int(minute), int(second or 0)
    end_of_day = h == 24 and mi == 0 and sec == 0 and not (fraction or "0").strip("0")
    if (h > 23 and not end_of_day) or mi > 59 or sec > 60:
        return "is not a valid time of day"
    if zone and zone not in ("Z", "z"):
        if zone in _UNKNOWN_OFFSETS:
            return "uses the 'unknown local offset' -00:00, which names no point in time"
        digits = zone[1:].replace(":", "")
        if int(digits[:2]) > 23 or int(digits[2:] or 0) > 59:
            return "has an invalid time-zone offset"
    if year in ("0001", "9999") and parse_timestamp(s) is None:  # only at the ends can UTC leave the calendar
        return "falls outside the years 0001 to 9999 in UTC"
    return None


def duration_problem(s: str) -> str | None:
    """Why ``s`` is not an ISO 8601:2004 4.4.3.2 duration, or None when it is one."""
    m = _DURATION.match(s)
    if m is None:
        if _DURATION_WEEKS.match(s):
            return None
        return "must be an ISO 8601 duration such as PT1H30M or P4W"
    t = m.group(4)
    date_part = [g for g in m.group(1, 2, 3) if g is not None]
    time_part = [g for g in m.group(5, 6, 7) if g is not None]
    if not date_part and not time_part:
        return "must have at least one component (P and PT alone are not durations)"
    if t and not time_part:
        return "has a 'T' without hours, minutes or seconds"
    parts = date_part + time_part
    if any("." in g or "," in g for g in parts[:-1]):
        return "may have a decimal fraction on its smallest component only"
    return None


# --- the walk -------------------------------------------------------------------


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def check_statement(st: dict[str, Any], path: str, *, sub: bool = False) -> None:
    """Check a schema-valid Statement (or SubStatement when ``sub``) at ``path``."""
    obj = st["object"]
    object_type = obj.get("objectType", "Activity")
    check_actor(st["actor"], _at(path, "actor"))
    verb = st["verb"]
    if "display" in verb:
        check_language_map(verb["display"], _at(path, "verb.display"))
    if not sub and verb["id"] == VOIDED and object_type != "StatementRef":
        # Data 2.3.2, XAPI-00017. Only the exact reserved IRI voids (XAPI-00019's
        # "ending with voided" would catch unrelated verbs).
        raise invalid(
            _at(path, "object"),
            f"a voiding statement (verb {VOIDED}) must have a StatementRef object, not {object_type}",
            rule="voiding",
        )
    _check_object(obj, object_type, _at(path, "object"))
    if "result" in st:
        _check_result(st["result"], _at(path, "result"))
    if "context" in st:
        _check_context(st["context"], object_type, _at(path, "context"))
    for key in ("timestamp", "stored"):
        if key in st:
            problem = timestamp_problem(st[key])
            if problem:
                raise invalid(_at(path, key), f"{st[key]!r} {problem}", rule="timestamp")
    if "authority" in st:
        _check_authority(st["authority"], _at(path, "authority"))
    for i, attachment in enumerate(st.get("attachments", ())):
        at = f"{_at(path, 'attachments')}[{i}]"
        if _CONTROL.search(attachment["contentType"]):  # (a schema's $ may let a final newline through)
            raise invalid(at + ".contentType", "is not an Internet Media Type such as text/plain: it holds a"
                          " control character (a line break would end a multipart part's headers)", rule="content-type")
        check_language_map(attachment["display"], at + ".display")
        if "description" in attachment:
            check_language_map(attachment["description"], at + ".description")


def check_actor(actor: dict[str, Any], path: str) -> None:
    """Exactly one IFI per Agent / Identified Group; members for an Anonymous Group."""
    ifis = [k for k in IFI_KEYS if k in actor]
    if actor.get("objectType") != "Group":
        if len(ifis) != 1:
            raise invalid(path, _ifi_message("an Agent", ifis), rule="ifi")
        return
    if len(ifis) > 1:
        raise invalid(path, _ifi_message("an Identified Group", ifis), rule="ifi")
    members = actor.get("member")
    if not ifis and not members:
        raise invalid(
            _at(path, "member"),
            "an Anonymous Group (a Group without mbox, mbox_sha1sum, openid or account) must list its members",
            rule="required",
        )
    for i, member in enumerate(members or ()):
        m_ifis = [k for k in IFI_KEYS if k in member]
        if len(m_ifis) != 1:
            raise invalid(f"{path}.member[{i}]", _ifi_message("an Agent", m_ifis), rule="ifi")


def _ifi_message(what: str, ifis: list[str]) -> str:
    if not ifis:
        return f"{what} must have exactly one of mbox, mbox_sha1sum, openid, account (found none)"
    return f"{what} must have exactly one of mbox, mbox_sha1sum, openid, account (found {', '.join(ifis)})"


def _check_authority(authority: dict[str, Any], path: str) -> None:
    check_actor(authority, path)
    if authority.get("objectType") != "Group":
        return
    if len(authority.get("member", ())) != 2:
        raise invalid(
            _at(path, "member"),
            "an authority Group (3-legged OAuth) must have exactly two member Agents: the application and the user",
            rule="authority",
        )
    identified = next((k for k in IFI_KEYS if k in authority), None)
    if identified is not None:  # Data 2.4.9: the pair of Agents, not a Group with an identity of its own
        raise invalid(_at(path, identified), "an authority Group is an anonymous Group of two Agents",
                      rule="authority")


def _check_object(obj: dict[str, Any], object_type: str, path: str) -> None:
    if object_type == "Activity":
        check_activity(obj, path)
    elif object_type in ("Agent", "Group"):
        check_actor(obj, path)
    elif object_type == "SubStatement":
        check_statement(obj, path, sub=True)


def check_activity(activity: dict[str, Any], path: str) -> None:
    definition = activity.get("definition")
    if not definition:
        return
    path = _at(path, "definition")
    for key in ("name", "description"):
        if key in definition:
            check_language_map(definition[key], _at(path, key))
    interaction_type = definition.get("interactionType")
    if interaction_type is None and _INTERACTION_ONLY.isdisjoint(definition):
        return  # the usual definition: no interaction properties
    lists = [k for k in COMPONENT_LISTS if k in definition]
    if interaction_type is None:
        if "correctResponsesPattern" in definition:  # XAPI-00064
            raise invalid(
                _at(path, "interactionType"), "is required when correctResponsesPattern is used", rule="interaction"
            )
        if lists:
            raise invalid(_at(path, "interactionType"), f"is required when {lists[0]} is used", rule="interaction")
        return
    allowed = _LISTS_FOR_TYPE.get(interaction_type, ())
    for key in lists:
        if key not in allowed:
            supported = " and ".join(allowed) if allowed else "no component list"
            raise invalid(
                _at(path, key),
                f"is not an interaction component list of a {interaction_type!r} interaction (it supports {supported})",
                rule="interaction",
            )
        _check_components(definition[key], _at(path, key))


def _check_components(components: list[dict[str, Any]], path: str) -> None:
    seen: set[str] = set()
    for i, component in enumerate(components):
        cid = component["id"]
        if cid in seen:
            raise invalid(f"{path}[{i}].id", f"duplicate interaction component id {cid!r}", rule="interaction")
        seen.add(cid)
        if "description" in component:
            check_language_map(component["description"], f"{path}[{i}].description")


def _check_result(result: dict[str, Any], path: str) -> None:
    if "duration" in result:
        problem = duration_problem(result["duration"])
        if problem:
            raise invalid(_at(path, "duration"), f"{result['duration']!r} {problem}", rule="duration")
    score = result.get("score")
    if score:
        _check_score(score, _at(path, "score"))


def _check_score(score: dict[str, Any], path: str) -> None:
    low, high, raw = score.get("min"), score.get("max"), score.get("raw")
    if low is not None and high is not None and low >= high:
        raise invalid(_at(path, "min"), f"min ({low}) must be less than max ({high})", rule="score")
    if raw is not None:
        if low is not None and raw < low:
            raise invalid(_at(path, "raw"), f"raw ({raw}) must not be below min ({low})", rule="score")
        if high is not None and raw > high:
            raise invalid(_at(path, "raw"), f"raw ({raw}) must not be above max ({high})", rule="score")


def _check_context(context: dict[str, Any], object_type: str, path: str) -> None:
    if object_type != "Activity":
        for key in ("revision", "platform"):
            if key in context:
                raise invalid(
                    _at(path, key),
                    f"may only be used when the statement's object is an Activity (it is {object_type})",
                    rule="context",
                )
    for key in ("instructor", "team"):
        if key in context:
            check_actor(context[key], _at(path, key))
    if "language" in context and not is_language_tag(context["language"]):
        message = f"{context['language']!r} is not an RFC 5646 language tag"
        raise invalid(_at(path, "language"), message, rule="language-tag")
    activities = context.get("contextActivities")
    if activities:
        for kind, value in activities.items():
            at = f"{path}.contextActivities.{kind}"
            if isinstance(value, list):
                for i, activity in enumerate(value):
                    check_activity(activity, f"{at}[{i}]")
            else:
                check_activity(value, at)
    for i, item in enumerate(context.get("contextAgents", ())):
        check_actor(item["agent"], f"{path}.contextAgents[{i}].agent")
    for i, item in enumerate(context.get("contextGroups", ())):
        check_actor(item["group"], f"{path}.contextGroups[{i}].group")


def check_language_map(language_map: dict[str, str], path: str) -> None:
    for tag in language_map:
        if not is_language_tag(tag):
            raise invalid(path, f"key {tag!r} is not an RFC 5646 language tag", rule="language-tag")
