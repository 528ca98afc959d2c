#!/usr/bin/env python3
"""Simulate players of "Java Quest", a serious game that teaches Java, sending xAPI-SG statements.

    python scripts/simulate_game.py --endpoint http://127.0.0.1:8000/xapi \\
        --credentials players.csv --players 30 --seed 1 [--pace fast|realtime] [--batch 1]

Each simulated player plays one session of the game: the title screen and main menu, an
intro cutscene (skipped by impatient players), then four levels (variables and types,
control flow, methods, classes and objects). In a level the player walks through an area
and its zones (keys pressed and released), talks to a non-player character (dialog-tree
choices, one of them an assessed riddle that can unlock a new dialog option), does the
level's quest (picks up an item, meets an enemy, drinks coffee when health is low, uses
the item), maybe starts a side quest (and sometimes abandons it: initialized, never
completed), and answers three questions. Two right answers pass the level; otherwise the
level is completed with success false, the player picks "retry" in the game-over menu and
the level is initialized again. After the last level: the ending cutscene, the game's
completion (success, score, duration) and the credits. A player sends about 180
statements (seed 7, players 1 to 3,000: 148 to 289, mean 177).

Every statement is xAPI 1.0.3 in the shapes of the xAPI Serious Games profile
(https://w3id.org/xapi/seriousgames): an account actor (homePage https://game.example.org,
name player-<n>), verbs with an en-US display, activities under
https://game.example.org/java-quest/ with a type and an en-US name, one
context.registration per player session, the profile as context category, the enclosing
level or game as context parent, and a timestamp in UTC with milliseconds.

Determinism: statement ids, the registration and all content come from a random generator
seeded with --seed and the player number, so the same seed gives the same statements.
With --pace fast (the default) the timestamps come from a simulated clock that starts at
2025-03-03T09:00:00.000Z for every player, and nothing is slept: the output is fully
reproducible, and sending the same seed to the same LRS again is accepted without storing
anything new (the LRS sees the same statements again). With --pace realtime the
timestamps are the real time and each player sleeps between events like a human player
(at most 3 s at a time; a session takes a few minutes). Re-sending a seed with realtime
pace to an LRS that already holds it gets 409 Conflict (same ids, other timestamps): use
a new seed.

Sending: POST <endpoint>/statements with X-Experience-API-Version: 1.0.3, Content-Type:
application/json and HTTP Basic auth. --batch 1 (the default) posts one statement object
per request; --batch B posts each player's statements in order as JSON arrays of up to B.
Players run concurrently, one thread each (up to 64 at a time with --pace fast).

Credentials: the CSV written by `lrs credentials create --output players.csv` (header
row key,secret, one credential a row). Player n (1..N) uses data row (n - 1) modulo the
number of rows, so Player 1 uses the first row.

Exit status: 0 when every statement was accepted (a summary line is printed: players,
statements, seconds, statements per second); 1 when any statement was rejected (a non-2xx
answer, or no answer at all): the status and the LRS's error body are printed for the
first few, and each player stops at its first rejection; 2 for bad arguments or an
unreadable credentials file.

As a module: ``iter_player_statements(seed, player, clock)`` yields one player's
statements (``player_statements`` returns them as a list, on a simulated clock by
default), so tests and exporters can use the data without HTTP; ``main(argv)`` is the
command. Only the standard library is used.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import random
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

GAME_HOME = "https://game.example.org"
GAME_BASE = "https://game.example.org/java-quest"
SG = "https://w3id.org/xapi/seriousgames"
SG_TYPES = SG + "/activity-types/"
PROGRESS = SG + "/extensions/progress"
HEALTH = SG + "/extensions/health"
POSITION = SG + "/extensions/position"
CATEGORY = {"id": SG, "definition": {"type": "http://adlnet.gov/expapi/activities/profile"}}

VERBS = {
    "initialized": "http://adlnet.gov/expapi/verbs/initialized",
    "progressed": "http://adlnet.gov/expapi/verbs/progressed",
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "accessed": SG + "/verbs/accessed",
    "skipped": "http://id.tincanapi.com/verb/skipped",
    "selected": "http://id.tincanapi.com/verb/selected",
    "unlocked": SG + "/verbs/unlocked",
    "interacted": "http://adlnet.gov/expapi/verbs/interacted",
    "used": SG + "/verbs/used",
    "pressed": SG + "/verbs/pressed",
    "released": SG + "/verbs/released",
}
TYPES = {name: SG_TYPES + name for name in (
    "serious-game", "level", "quest", "screen", "area", "zone", "cutscene", "menu", "dialog-tree",
    "non-player-character", "enemy", "item", "keyboard", "mouse")}
TYPES["question"] = "http://adlnet.gov/expapi/activities/question"

BASE_TIME = datetime(2025, 3, 3, 9, 0, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BASE_TIME_MS = (BASE_TIME - EPOCH) // timedelta(milliseconds=1)
REALTIME_MAX_SLEEP = 3.0
MAX_ATTEMPTS = 4          # the last attempt at a level always succeeds
SHOWN_FAILURES = 5

# ---------------------------------------------------------------- the game's content

GAME = ("game", "serious-game", "Java Quest")
TITLE_SCREEN = ("screen/title", "screen", "Title screen")
LEVEL_SELECT_SCREEN = ("screen/level-select", "screen", "Level selection")
CREDITS_SCREEN = ("screen/credits", "screen", "Credits")
MAIN_MENU = ("menu/main", "menu", "Main menu")
LEVEL_MENU = ("menu/level-select", "menu", "Level selection menu")
GAME_OVER_MENU = ("menu/game-over", "menu", "Level failed menu")
INTRO = ("cutscene/intro", "cutscene", "Intro: the broken compiler")
ENDING = ("cutscene/ending", "cutscene", "Ending: Hello, World!")
COFFEE = ("item/coffee", "item", "Cup of coffee")
KEYS = {
    "w": ("input/keyboard/w", "keyboard", "W key (walk)"),
    "e": ("input/keyboard/e", "keyboard", "E key (interact)"),
    "space": ("input/keyboard/space", "keyboard", "Space bar (jump)"),
}
MOUSE_LEFT = ("input/mouse/left-button", "mouse", "Left mouse button")

LEVELS: list[dict[str, Any]] = [
    {
        "slug": "variables", "name": "Level 1: Variables and Types",
        "cutscene": "Variable Valley wakes up",
        "area": ("variable-valley", "Variable Valley"),
        "zones": [("type-temple", "Type Temple"), ("constant-caves", "Constant Caves")],
        "npc": ("professor-byte", "Professor Byte"),
        "talk": ["ask-about-types", "ask-about-final", "ask-the-way"],
        "riddle": ("Which declaration compiles?", "int-count-3", ["int-count-three-string", "int-count-3-5"]),
        "unlock": "ask-about-var",
        "quest": ("missing-semicolon", "The Missing Semicolon"),
        "item": ("semicolon-gem", "Semicolon Gem"),
        "enemy": ("null-pointer", "NullPointerException"),
        "side_quest": ("coffee-beans", "Collect the Coffee Beans"),
        "questions": [
            ("pi-type", "Which type should hold 3.14?", ["int", "double", "boolean", "char"], "double"),
            ("final-keyword", "Which keyword makes a variable constant?", ["static", "const", "final", "fixed"], "final"),
            ("string-type", "What type is \"hello\"?", ["char", "String", "text", "char-array"], "String"),
        ],
    },
    {
        "slug": "control-flow", "name": "Level 2: Control Flow",
        "cutscene": "Lost in the Loop Labyrinth",
        "area": ("loop-labyrinth", "Loop Labyrinth"),
        "zones": [("if-junction", "If Junction"), ("while-whirlpool", "While Whirlpool")],
        "npc": ("loopy-the-owl", "Loopy the Owl"),
        "talk": ["ask-about-for", "ask-about-while", "ask-the-way"],
        "riddle": ("How many times does for (int i = 0; i < 3; i++) run?", "three", ["two", "four"]),
        "unlock": "ask-about-do-while",
        "quest": ("escape-the-loop", "Escape the Infinite Loop"),
        "item": ("break-key", "Break Key"),
        "enemy": ("infinite-loop", "Infinite Loop"),
        "side_quest": ("switch-hunt", "Switch Statement Scavenger Hunt"),
        "questions": [
            ("leave-loop", "Which statement leaves a loop at once?", ["continue", "break", "return-0", "exit"], "break"),
            ("else-if", "Which runs when no if condition is true?", ["else", "default", "otherwise", "finally"], "else"),
            ("while-false", "How often does while (false) { } run its body?", ["never", "once", "forever", "error"], "never"),
        ],
    },
    {
        "slug": "methods", "name": "Level 3: Methods",
        "cutscene": "Market day at the Method Market",
        "area": ("method-market", "Method Market"),
        "zones": [("parameter-plaza", "Parameter Plaza"), ("return-road", "Return Road")],
        "npc": ("merchant-meth", "Merchant Meth"),
        "talk": ["ask-about-parameters", "ask-about-void", "ask-the-way"],
        "riddle": ("What does a void method return?", "nothing", ["null", "zero"]),
        "unlock": "ask-about-overloading",
        "quest": ("return-to-sender", "Return to Sender"),
        "item": ("return-scroll", "Return Scroll"),
        "enemy": ("stack-overflow", "StackOverflowError"),
        "side_quest": ("overload-vendors", "Overload the Vendors"),
        "questions": [
            ("return-keyword", "Which keyword gives a method's result back?", ["yield", "return", "give", "out"], "return"),
            ("main-signature", "Which method starts a Java program?", ["start", "main", "run", "init"], "main"),
            ("static-call", "How do you call static method max of class Math?", ["Math.max", "max.Math", "new-Math", "Math::new"], "Math.max"),
        ],
    },
    {
        "slug": "classes", "name": "Level 4: Classes and Objects",
        "cutscene": "The Object-Oriented Outpost",
        "area": ("object-outpost", "Object-Oriented Outpost"),
        "zones": [("constructor-yard", "Constructor Yard"), ("inheritance-hall", "Inheritance Hall")],
        "npc": ("architect-ada", "Architect Ada"),
        "talk": ["ask-about-objects", "ask-about-this", "ask-the-way"],
        "riddle": ("Which keyword creates an object?", "new", ["create", "make"]),
        "unlock": "ask-about-interfaces",
        "quest": ("construct-the-bridge", "Construct the Bridge"),
        "item": ("constructor-hammer", "Constructor Hammer"),
        "enemy": ("class-cast", "ClassCastException"),
        "side_quest": ("polymorphic-pets", "Polymorphic Pets"),
        "questions": [
            ("extends-keyword", "Which keyword makes a subclass?", ["implements", "extends", "inherits", "super"], "extends"),
            ("private-field", "Which modifier hides a field from other classes?", ["public", "private", "protected", "package"], "private"),
            ("constructor-name", "What is a constructor's name?", ["init", "the-class-name", "constructor", "new"], "the-class-name"),
        ],
    },
]


# ---------------------------------------------------------------- clocks and formats

class SimulatedClock:
    """Time that moves only when told to: reproducible timestamps, no sleeping."""

    def __init__(self, start_ms: int = BASE_TIME_MS) -> None:
        self._ms = start_ms

    def now_ms(self) -> int:
        return self._ms

    def advance(self, seconds: float) -> None:
        self._ms += round(seconds * 1000)


class RealtimeClock:
    """The real time; ``advance`` sleeps like a human player, at most ``max_sleep`` seconds."""

    def __init__(self, max_sleep: float = REALTIME_MAX_SLEEP, sleep: Any = time.sleep) -> None:
        self.max_sleep = max_sleep
        self._sleep = sleep

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def advance(self, seconds: float) -> None:
        self._sleep(min(seconds, self.max_sleep))


def iso_timestamp(ms: int) -> str:
    """Milliseconds since the epoch as ``2025-03-03T09:00:00.000Z``."""
    moment = EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def iso_duration(ms: int) -> str:
    """Milliseconds as an ISO 8601 duration to the hundredth of a second, e.g. ``PT3M12.5S``."""
    centis = max(0, round(ms / 10))
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6_000)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if rest or not (hours or minutes):
        seconds = str(rest // 100) + (f".{rest % 100:02d}".rstrip("0") if rest % 100 else "")
        text += seconds + "S"
    return text


# ---------------------------------------------------------------- one player's session

class _Session:
    """One player's play-through: random choices, the clock, and statement building."""

    def __init__(self, seed: int, player: int, clock: Any) -> None:
        self.rng = random.Random(f"java-quest:{seed}:{player}")
        self.clock = clock
        self.actor = {
            "objectType": "Agent",
            "name": f"Player {player}",
            "account": {"homePage": GAME_HOME, "name": f"player-{player}"},
        }
        self.registration = self.uuid()
        self.skill = self.rng.uniform(0.45, 0.95)       # chance to answer a question right
        self.impatience = self.rng.uniform(0.0, 1.0)    # chance to skip a cutscene
        self.curiosity = self.rng.uniform(0.3, 0.9)     # chance to start a side quest
        self.persistence = self.rng.uniform(0.4, 0.9)   # chance to finish a started side quest
        self.health = 1.0

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def wait(self, low: float, high: float) -> None:
        self.clock.advance(round(self.rng.uniform(low, high), 3))

    def position(self) -> dict[str, float]:
        return {"x": round(self.rng.uniform(-50, 50), 2), "y": round(self.rng.uniform(0, 4), 2),
                "z": round(self.rng.uniform(-50, 50), 2)}

    def statement(self, verb: str, activity: dict[str, Any], parent: dict[str, Any] | None = None,
                  result: dict[str, Any] | None = None) -> dict[str, Any]:
        context: dict[str, Any] = {"registration": self.registration,
                                   "contextActivities": {"category": [_copy(CATEGORY)]}}
        if parent is not None:
            context["contextActivities"]["parent"] = [_parent(parent)]
        statement: dict[str, Any] = {
            "id": self.uuid(),
            "actor": _copy(self.actor),
            "verb": {"id": VERBS[verb], "display": {"en-US": verb}},
            "object": _copy(activity),
        }
        if result is not None:
            statement["result"] = result
        statement["context"] = context
        statement["timestamp"] = iso_timestamp(self.clock.now_ms())
        return statement

    def progressed(self, activity: dict[str, Any], progress: float, parent: dict[str, Any] | None) -> dict[str, Any]:
        return self.statement("progressed", activity, parent, {"extensions": {PROGRESS: round(progress, 2)}})

    def completed(self, activity: dict[str, Any], parent: dict[str, Any] | None, *, success: bool,
                  raw: int, max_: int, started_ms: int) -> dict[str, Any]:
        result = {
            "success": success,
            "score": {"scaled": round(raw / max_, 4), "raw": raw, "min": 0, "max": max_},
            "completion": True,
            "duration": iso_duration(self.clock.now_ms() - started_ms),
        }
        return self.statement("completed", activity, parent, result)

    def press(self, key: tuple[str, str, str], parent: dict[str, Any], hold: tuple[float, float]) -> Iterator[dict[str, Any]]:
        device = _activity(key)
        yield self.statement("pressed", device, parent)
        pressed_at = self.clock.now_ms()
        self.wait(*hold)
        yield self.statement("released", device, parent, {"duration": iso_duration(self.clock.now_ms() - pressed_at)})


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _parent(activity: dict[str, Any]) -> dict[str, Any]:
    return {"objectType": "Activity", "id": activity["id"], "definition": _copy(activity["definition"])}


def _activity(spec: tuple[str, str, str], **definition: Any) -> dict[str, Any]:
    path, kind, name = spec
    return {"objectType": "Activity", "id": f"{GAME_BASE}/{path}",
            "definition": {"type": TYPES[kind], "name": {"en-US": name}, **definition}}


def _question(level: dict[str, Any], question: tuple[str, str, list[str], str]) -> dict[str, Any]:
    slug, text, options, answer = question
    return _activity((f"question/{level['slug']}/{slug}", "question", text),
                     description={"en-US": text}, interactionType="choice",
                     correctResponsesPattern=[answer],
                     choices=[{"id": option, "description": {"en-US": option.replace("-", " ")}} for option in options])


def iter_player_statements(seed: int, player: int, clock: Any = None) -> Iterator[dict[str, Any]]:
    """Yield, in order, the statements of player number ``player`` (1, 2, ...) for ``seed``.

    ``clock`` gives the timestamps and is advanced between events: a ``SimulatedClock``
    (the default, starting at 2025-03-03T09:00:00.000Z) or a ``RealtimeClock``.
    """
    s = _Session(seed, player, SimulatedClock() if clock is None else clock)
    game = _activity(GAME)
    s.wait(0, 180)                                               # players arrive over three minutes
    game_started = s.clock.now_ms()
    yield s.statement("initialized", game)
    yield s.statement("accessed", _activity(TITLE_SCREEN), game)
    s.wait(2, 8)
    yield from s.press(MOUSE_LEFT, game, (0.08, 0.3))
    yield s.statement("selected", _activity(MAIN_MENU), game, {"response": "new-game"})
    yield from _cutscene(s, _activity(INTRO), game, watch=(30, 60))

    total = 0
    for number, level in enumerate(LEVELS, 1):
        total += yield from _play_level(s, level, game)
        yield s.progressed(game, number / len(LEVELS), None)
        if number < len(LEVELS):
            following = LEVELS[number]["slug"]
            yield s.statement("unlocked", _activity(LEVEL_MENU), game, {"response": following})
            s.wait(1, 5)
            yield s.statement("accessed", _activity(LEVEL_SELECT_SCREEN), game)
            s.wait(2, 10)
            yield s.statement("selected", _activity(LEVEL_MENU), game, {"response": following})

    yield from _cutscene(s, _activity(ENDING), game, watch=(40, 90))
    max_score = sum(len(level["questions"]) for level in LEVELS)
    yield s.completed(game, None, success=True, raw=total, max_=max_score, started_ms=game_started)
    s.wait(1, 3)
    yield s.statement("accessed", _activity(CREDITS_SCREEN), game)


def player_statements(seed: int, player: int, clock: Any = None) -> list[dict[str, Any]]:
    """All the statements of one player, on a ``SimulatedClock`` unless told otherwise."""
    return list(iter_player_statements(seed, player, clock))


def _cutscene(s: _Session, cutscene: dict[str, Any], parent: dict[str, Any], watch: tuple[float, float]) -> Iterator[dict[str, Any]]:
    s.wait(1, 3)
    yield s.statement("accessed", cutscene, parent)
    if s.rng.random() < s.impatience:
        s.wait(1, 6)
        yield s.statement("skipped", cutscene, parent)
    else:
        s.wait(*watch)


def _play_level(s: _Session, level: dict[str, Any], game: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One level, attempts until it is passed; returns the passing attempt's score."""
    slug = level["slug"]
    lvl = _activity((f"level/{slug}", "level", level["name"]))
    area = _activity((f"level/{slug}/area/{level['area'][0]}", "area", level["area"][1]))
    zones = [_activity((f"level/{slug}/zone/{zone}", "zone", name)) for zone, name in level["zones"]]
    questions = [_question(level, q) for q in level["questions"]]
    yield from _cutscene(s, _activity((f"cutscene/{slug}", "cutscene", level["cutscene"])), game, watch=(15, 40))

    skill = s.skill
    for attempt in range(1, MAX_ATTEMPTS + 1):
        s.wait(1, 4)
        started = s.clock.now_ms()
        yield s.statement("initialized", lvl, game)
        s.wait(3, 10)
        yield s.statement("accessed", area, lvl, {"extensions": {POSITION: s.position()}})
        if attempt == 1:
            yield from _quests(s, level, lvl, zones, game)
        else:
            s.wait(10, 30)
            yield s.statement("accessed", zones[1], lvl, {"extensions": {POSITION: s.position()}})
            yield s.progressed(lvl, 0.5, game)

        correct = 0
        for index, (question, spec) in enumerate(zip(questions, level["questions"], strict=True), 1):
            s.wait(8, 45)
            options, answer = spec[2], spec[3]
            right = attempt == MAX_ATTEMPTS or s.rng.random() < skill
            response = answer if right else s.rng.choice([o for o in options if o != answer])
            correct += right
            yield s.statement("selected", question, lvl, {"response": response, "success": right})
            yield s.progressed(lvl, 0.5 + 0.5 * index / len(questions), game)

        passed = correct * 3 >= 2 * len(questions)
        s.wait(1, 3)
        yield s.completed(lvl, game, success=passed, raw=correct, max_=len(questions), started_ms=started)
        if passed:
            return correct
        s.wait(2, 8)
        yield s.statement("selected", _activity(GAME_OVER_MENU), game, {"response": "retry"})
        skill = min(0.97, skill + 0.15)                  # the player learned from the mistakes
    raise AssertionError("the last attempt always passes")


def _quests(s: _Session, level: dict[str, Any], lvl: dict[str, Any], zones: list[dict[str, Any]],
            game: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A level's first attempt: the NPC, the main quest, the riddle and maybe a side quest."""
    slug = level["slug"]
    npc = _activity((f"npc/{level['npc'][0]}", "non-player-character", level["npc"][1]))
    talk = _activity((f"dialog/{level['npc'][0]}", "dialog-tree", f"Talk with {level['npc'][1]}"))
    riddle = _activity((f"dialog/{level['npc'][0]}/riddle", "dialog-tree", f"{level['npc'][1]}'s riddle: {level['riddle'][0]}"))
    quest = _activity((f"level/{slug}/quest/{level['quest'][0]}", "quest", level["quest"][1]))
    item = _activity((f"item/{level['item'][0]}", "item", level["item"][1]))
    enemy = _activity((f"enemy/{level['enemy'][0]}", "enemy", level["enemy"][1]))

    s.wait(5, 20)
    yield s.statement("accessed", zones[0], lvl, {"extensions": {POSITION: s.position()}})
    yield from s.press(KEYS["w"], lvl, (0.5, 3.0))
    s.wait(2, 6)
    yield s.statement("interacted", npc, lvl, {"extensions": {POSITION: s.position()}})
    s.wait(5, 20)
    yield s.statement("selected", talk, lvl, {"response": s.rng.choice(level["talk"])})

    s.wait(2, 6)
    quest_started = s.clock.now_ms()
    yield s.statement("initialized", quest, lvl)
    s.wait(10, 40)
    yield from s.press(KEYS["e"], lvl, (0.1, 0.4))
    yield s.statement("interacted", item, lvl, {"extensions": {POSITION: s.position()}})      # picked it up
    yield s.progressed(quest, 0.5, lvl)
    s.wait(10, 30)
    yield s.statement("accessed", zones[1], lvl, {"extensions": {POSITION: s.position()}})
    s.wait(5, 15)
    if s.rng.random() < 0.5:
        yield from s.press(KEYS["space"], lvl, (0.1, 0.3))
    s.health = max(0.05, s.health - s.rng.uniform(0.15, 0.45))
    yield s.statement("interacted", enemy, lvl, {"extensions": {HEALTH: round(s.health, 2), POSITION: s.position()}})
    if s.health < 0.6:
        s.wait(2, 8)
        s.health = min(1.0, s.health + 0.4)
        yield s.statement("used", _activity(COFFEE), lvl, {"extensions": {HEALTH: round(s.health, 2)}})
    s.wait(5, 20)
    yield s.statement("used", item, lvl, {"extensions": {HEALTH: round(s.health, 2), POSITION: s.position()}})
    yield s.progressed(quest, 1.0, lvl)
    yield s.completed(quest, lvl, success=True, raw=round(s.health * 100), max_=100, started_ms=quest_started)
    yield s.progressed(lvl, 0.3, game)

    s.wait(3, 10)
    yield s.statement("interacted", npc, lvl)
    s.wait(10, 40)
    options = [level["riddle"][1], *level["riddle"][2]]
    solved = s.rng.random() < s.skill
    answer = options[0] if solved else s.rng.choice(options[1:])
    yield s.statement("selected", riddle, lvl, {"response": answer, "success": solved})
    if solved:
        yield s.statement("unlocked", talk, lvl, {"response": level["unlock"]})
    yield s.progressed(lvl, 0.4, game)

    if s.rng.random() < s.curiosity:
        side = _activity((f"level/{slug}/quest/{level['side_quest'][0]}", "quest", level["side_quest"][1]))
        s.wait(2, 10)
        side_started = s.clock.now_ms()
        yield s.statement("initialized", side, lvl)
        s.wait(15, 60)
        found = s.rng.randint(2, 6)
        yield s.progressed(side, found / 10, lvl)
        if s.rng.random() < s.persistence:
            s.wait(20, 60)
            yield s.progressed(side, 1.0, lvl)
            yield s.completed(side, lvl, success=True, raw=10, max_=10, started_ms=side_started)
        # else: the player wanders off; the side quest stays initialized, never completed
    s.wait(5, 15)
    yield s.progressed(lvl, 0.5, game)


# ---------------------------------------------------------------- sending

def read_credentials(path: str) -> list[tuple[str, str]]:
    """The (key, secret) rows of a CSV with the header row ``key,secret``."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "key" not in reader.fieldnames or "secret" not in reader.fieldnames:
            raise ValueError(f"{path}: the first row must be the header key,secret")
        rows = [(row["key"], row["secret"]) for row in reader if row.get("key")]
    if not rows:
        raise ValueError(f"{path}: no credentials after the header row")
    return rows


def statements_url(endpoint: str) -> str:
    return endpoint.rstrip("/") + "/statements"


def _post(url: str, authorization: str, body: Any) -> tuple[int | None, str]:
    """POST ``body`` as JSON; (status, response text), status None when there was no answer."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
        "Authorization": authorization,
    })
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as error:
        return None, f"connection error: {getattr(error, 'reason', error)}"


def _simulate_player(url: str, credential: tuple[str, str], seed: int, player: int, pace: str,
                     batch: int) -> tuple[int, str | None]:
    """Play and send one player's session: (statements accepted, the first rejection or None)."""
    clock = RealtimeClock() if pace == "realtime" else SimulatedClock()
    authorization = "Basic " + base64.b64encode(f"{credential[0]}:{credential[1]}".encode()).decode()
    accepted = 0
    pending: list[dict[str, Any]] = []

    def flush() -> str | None:
        nonlocal accepted
        status, text = _post(url, authorization, pending[0] if batch == 1 else pending)
        if status is None or not 200 <= status < 300:
            first = pending[0]["id"]
            what = f"statement {first}" if len(pending) == 1 else f"{len(pending)} statements from {first}"
            answer = f"HTTP {status}" if status is not None else "no answer"
            return f"player {player} ({credential[0]}): {what} rejected: {answer}: {text.strip()[:1000]}"
        accepted += len(pending)
        pending.clear()
        return None

    for statement in iter_player_statements(seed, player, clock):
        pending.append(statement)
        if len(pending) >= batch and (error := flush()):
            return accepted, error
    if pending and (error := flush()):
        return accepted, error
    return accepted, None


# ---------------------------------------------------------------- command line

def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _parser() -> argparse.ArgumentParser:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        prog="simulate_game.py",
        description=doc.split("\n\n")[0].strip(),
        epilog="example:\n" + "\n\n".join(doc.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--endpoint", required=True,
                        help="the LRS's xAPI base URL, e.g. http://127.0.0.1:8000/xapi (a trailing / is fine); "
                             "statements go to <endpoint>/statements")
    parser.add_argument("--credentials", required=True, metavar="CSV",
                        help="CSV with header row key,secret (as written by `lrs credentials create --output`); "
                             "player n uses row (n - 1) modulo the number of rows")
    parser.add_argument("--players", required=True, type=_positive, metavar="N", help="number of players, played concurrently")
    parser.add_argument("--seed", required=True, type=int, metavar="S",
                        help="seed of the random generator: the same seed gives the same statements (ids included)")
    parser.add_argument("--pace", choices=("fast", "realtime"), default="fast",
                        help="fast (default): simulated clock from 2025-03-03T09:00:00.000Z, no sleeping, fully "
                             "reproducible; realtime: real timestamps, sleeps of up to 3 s between events")
    parser.add_argument("--batch", type=_positive, default=1, metavar="B",
                        help="statements per POST, per player, in order (default 1: one statement object per POST; "
                             "more: a JSON array)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.endpoint.startswith(("http://", "https://")):
        print(f"--endpoint must be an http:// or https:// URL, not {args.endpoint!r}", file=sys.stderr)
        return 2
    try:
        credentials = read_credentials(args.credentials)
    except (OSError, ValueError, csv.Error) as error:
        print(f"cannot read credentials: {error}", file=sys.stderr)
        return 2

    url = statements_url(args.endpoint)
    workers = args.players if args.pace == "realtime" else min(args.players, 64)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_simulate_player, url, credentials[(n - 1) % len(credentials)], args.seed, n,
                               args.pace, args.batch) for n in range(1, args.players + 1)]
        results = [future.result() for future in futures]
    seconds = time.monotonic() - started
    accepted = sum(count for count, _ in results)
    errors = [error for _, error in results if error]
    if errors:
        for error in errors[:SHOWN_FAILURES]:
            print(error, file=sys.stderr)
        if len(errors) > SHOWN_FAILURES:
            print(f"... and {len(errors) - SHOWN_FAILURES} more players with a rejected statement", file=sys.stderr)
        print(f"FAILED: {len(errors)} of {args.players} players had statements rejected; "
              f"{accepted} statements accepted in {seconds:.2f} s", file=sys.stderr)
        return 1
    rate = accepted / seconds if seconds > 0 else float("inf")
    print(f"{args.players} players, {accepted} statements in {seconds:.2f} s ({rate:.1f} statements/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
