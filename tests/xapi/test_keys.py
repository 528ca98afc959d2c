"""StatementRef key inheritance (lrs.xapi.keys.spread): each statement gets its targets' keys, recursively."""

from __future__ import annotations

import random

from lrs.xapi import keys as K


def fixpoint(referrers, target_keys, is_inheritable):
    """The rule applied one level per pass until nothing changes: the reference spread keeps to."""
    keys = {sid: set(k) for sid, (_, k) in referrers.items()}
    changed = True
    while changed:
        changed = False
        for sid, (target, _) in referrers.items():
            source = keys[target] if target in keys else target_keys.get(target, set())
            new = {k for k in source if is_inheritable(k)} - keys[sid]
            if new:
                keys[sid] |= new
                changed = True
    return {sid: keys[sid] - set(own) for sid, (_, own) in referrers.items() if keys[sid] != set(own)}


def test_a_chain_listed_from_its_end_is_spread_in_one_visit_each() -> None:
    n = 500
    referrers = {f"s{i}": (f"s{i - 1}", {f"a|{i}"}) for i in range(n, 0, -1)}  # s500 -> ... -> s1 -> s0
    gained = K.spread(referrers, {"s0": {"a|0", "au|writer"}}, K.inheritable)
    assert gained["s1"] == {"a|0"}  # the authority key is not inherited
    assert gained[f"s{n}"] == {f"a|{i}" for i in range(n)}


def test_every_statement_on_a_cycle_matches_what_any_of_them_matches() -> None:
    referrers = {"x": ("y", {"a|x"}), "y": ("z", {"a|y"}), "z": ("x", {"a|z", "au|z"}), "tail": ("x", {"a|t"})}
    gained = K.spread(referrers, {}, K.inheritable)
    assert gained == {"x": {"a|y", "a|z"}, "y": {"a|x", "a|z"}, "z": {"a|x", "a|y"}, "tail": {"a|x", "a|y", "a|z"}}


def test_spread_gives_what_the_rule_applied_level_by_level_gives() -> None:
    rng = random.Random(3)
    for _ in range(500):
        ids = [f"s{i}" for i in range(rng.randint(1, 12))]
        outside = [f"o{i}" for i in range(3)]
        referrers = {sid: (rng.choice(ids + outside), {f"a|{rng.randint(0, 9)}", f"au|{rng.randint(0, 2)}"})
                     for sid in rng.sample(ids, len(ids))}
        target_keys = {o: {f"v|{rng.randint(0, 5)}", "au|x"} for o in outside[:2]}  # o2 not stored yet
        assert K.spread(referrers, target_keys, K.inheritable) == fixpoint(referrers, target_keys, K.inheritable)
