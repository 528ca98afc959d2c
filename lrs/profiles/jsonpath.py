"""JSONPath as xAPI Profiles 1.0 allows it (Part Two §8.1): no filters or scripts.

Child names (``.name``, ``['name']``), array indexes (``[0]``), ``*``, unions
inside brackets (``['a','b']``, ``[0,1]``), and several paths joined by ``|``
(whose results are concatenated). A path may start with ``$`` or directly
with a child name (``context.contextActivities``). ``compile`` parses once;
``Path.find`` returns every value found, in document order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
STAR = object()


class JSONPathError(ValueError):
    pass


@dataclass(frozen=True)
class Path:
    text: str
    alternatives: tuple[tuple[tuple[Any, ...], ...], ...]  # |-separated paths, each a tuple of steps

    def find(self, document: Any) -> list[Any]:
        out: list[Any] = []
        for steps in self.alternatives:
            values = [document]
            for step in steps:
                values = [child for value in values for child in _children(value, step)]
            out.extend(values)
        return out


def _children(value: Any, step: tuple[Any, ...]) -> list[Any]:
    out = []
    for selector in step:
        if selector is STAR:
            if isinstance(value, dict):
                out.extend(value.values())
            elif isinstance(value, list):
                out.extend(value)
        elif isinstance(selector, int):
            if isinstance(value, list) and -len(value) <= selector < len(value):
                out.append(value[selector])
        elif isinstance(value, dict) and selector in value:
            out.append(value[selector])
    return out


def compile(text: str) -> Path:  # noqa: A001 - the usual name for a parse-once API
    alternatives = tuple(_parse(part.strip(), text) for part in _split_pipes(text))
    return Path(text, alternatives)


def _split_pipes(text: str) -> list[str]:
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _parse(path: str, whole: str) -> tuple[tuple[Any, ...], ...]:
    if not path:
        raise JSONPathError(f"empty JSONPath in {whole!r}")
    i, steps = 0, []
    if path.startswith("$"):
        i = 1
    elif path[0] not in ".[":
        path, i = "." + path, 0
    while i < len(path):
        ch = path[i]
        if ch == ".":
            i += 1
            if path.startswith(".", i):
                raise JSONPathError(f"recursive descent (..) is not allowed in {whole!r}")
            if path.startswith("*", i):
                steps.append((STAR,))
                i += 1
                continue
            m = _NAME.match(path, i)
            if not m:
                raise JSONPathError(f"a child name is expected at {path[i:]!r} in {whole!r}")
            steps.append((m.group(),))
            i = m.end()
        elif ch == "[":
            end, selectors = _bracket(path, i + 1, whole)
            steps.append(selectors)
            i = end
        else:
            raise JSONPathError(f"unexpected {path[i:]!r} in {whole!r}")
    return tuple(steps)


def _bracket(path: str, i: int, whole: str) -> tuple[int, tuple[Any, ...]]:
    selectors: list[Any] = []
    while True:
        while i < len(path) and path[i] == " ":
            i += 1
        if i >= len(path):
            raise JSONPathError(f"unclosed [ in {whole!r}")
        ch = path[i]
        if ch in "'\"":
            end = path.find(ch, i + 1)
            if end < 0:
                raise JSONPathError(f"unclosed string in {whole!r}")
            selectors.append(path[i + 1:end])
            i = end + 1
        elif ch == "*":
            selectors.append(STAR)
            i += 1
        elif ch.isdigit():
            m = re.compile(r"\d+").match(path, i)
            selectors.append(int(m.group()))
            i = m.end()
        elif ch == "?" or ch == "(":
            raise JSONPathError(f"filter and script expressions are not allowed in {whole!r}")
        else:
            raise JSONPathError(f"unexpected {path[i:]!r} in {whole!r}")
        while i < len(path) and path[i] == " ":
            i += 1
        if i < len(path) and path[i] == ",":
            i += 1
            continue
        if i < len(path) and path[i] == "]":
            return i + 1, tuple(selectors)
        raise JSONPathError(f"expected , or ] in {whole!r}")
