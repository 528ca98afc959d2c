"""Agents and Groups: Inverse Functional Identifiers and matching.

Two Agents (or Identified Groups) are the same when they use the same IFI
with the same value. An IFI is reduced to one string key, ``ifi_key``, which
the stores index and compare.
"""

from __future__ import annotations

import functools
from typing import Any, Iterator

import orjson

IFI_PROPERTIES = ("mbox", "mbox_sha1sum", "openid", "account")


def ifi_key(agent: dict[str, Any]) -> str | None:
    """The one IFI of an Agent or Identified Group as a string key, or None (anonymous Group)."""
    if "mbox" in agent:
        return "mbox:" + agent["mbox"]
    if "mbox_sha1sum" in agent:
        return "mbox_sha1sum:" + agent["mbox_sha1sum"].lower()
    if "openid" in agent:
        return "openid:" + agent["openid"]
    account = agent.get("account")
    if isinstance(account, dict):
        home_page, name = account.get("homePage"), account.get("name")
        if type(home_page) is str and type(name) is str:
            return _account_key(home_page, name)
        return "account:" + orjson.dumps([home_page, name]).decode()
    return None


@functools.lru_cache(maxsize=1 << 14)
def _account_key(home_page: str, name: str) -> str:
    """A player's account key, computed once for the many statements that carry it."""
    return "account:" + orjson.dumps([home_page, name]).decode()


def member_keys(actor: dict[str, Any]) -> Iterator[str]:
    """The IFI keys of an Agent/Group and, for a Group, of its members."""
    key = ifi_key(actor)
    if key is not None:
        yield key
    if actor.get("objectType") == "Group":
        for member in actor.get("member") or ():
            if isinstance(member, dict):
                key = ifi_key(member)
                if key is not None:
                    yield key


def ifi_only(agent: dict[str, Any]) -> dict[str, Any]:
    """The Agent/Group reduced to what identifies it (format=ids)."""
    out: dict[str, Any] = {}
    if "objectType" in agent:
        out["objectType"] = agent["objectType"]
    for prop in IFI_PROPERTIES:
        if prop in agent:
            out[prop] = agent[prop]
            break
    if agent.get("objectType") == "Group" and not any(p in agent for p in IFI_PROPERTIES):
        out["member"] = [ifi_only(m) for m in agent.get("member") or () if isinstance(m, dict)]
    return out


def credential_authority(key: str, homepage: str) -> dict[str, Any]:
    """The authority Agent the LRS writes for statements sent with credential ``key``."""
    return {"objectType": "Agent", "account": {"homePage": homepage, "name": key}}


def named_agents(statement: dict[str, Any]) -> list[tuple[str, str]]:
    """(IFI key, name) of every named, identified Agent or Group a statement mentions.

    Actor, object, context instructor and team, Group members, the same inside a
    SubStatement: what the Agents Resource gathers into a Person. (On the write
    path of every statement, so plain loops rather than generators.)
    """
    out: list[tuple[str, str]] = []
    _statement_agents(statement, out)
    return out


def _statement_agents(statement: dict[str, Any], out: list[tuple[str, str]]) -> None:
    _named(statement.get("actor"), out)
    obj = statement.get("object")
    kind = obj.get("objectType") if isinstance(obj, dict) else None
    if kind == "Agent" or kind == "Group":
        _named(obj, out)
    elif kind == "SubStatement":
        _statement_agents(obj, out)
    context = statement.get("context")
    if isinstance(context, dict):
        if "instructor" in context:
            _named(context["instructor"], out)
        if "team" in context:
            _named(context["team"], out)


def _named(agent: Any, out: list[tuple[str, str]]) -> None:
    if not isinstance(agent, dict):
        return
    name = agent.get("name")
    if isinstance(name, str):
        key = ifi_key(agent)
        if key is not None:
            out.append((key, name))
    if agent.get("objectType") == "Group":
        for member in agent.get("member") or ():
            _named(member, out)


def person(agent: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The Person object (Agents Resource) for a parameter Agent and the names known for its IFI."""
    out: dict[str, Any] = {"objectType": "Person"}
    all_names = list(dict.fromkeys(([agent["name"]] if isinstance(agent.get("name"), str) else []) + names))
    if all_names:
        out["name"] = all_names
    for prop in IFI_PROPERTIES:
        if prop in agent:
            value = agent[prop]
            if prop == "account":
                value = {"homePage": value["homePage"], "name": value["name"]}
            out[prop] = [value]
            break
    return out
