"""Print how long ``validate_statement`` takes per statement (µs).

Usage: ``python scripts/bench_validate.py [iterations]``. Measures a typical small
statement (mbox actor, verb with display, Activity with name/type, result with
score/success/duration, context with registration/contextActivities/extensions)
on its own and as a 100-statement batch, for both API versions.
"""

from __future__ import annotations

import copy
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lrs.xapi.validate import validate_statement  # noqa: E402

TYPICAL = {
    "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "actor": {"objectType": "Agent", "name": "Learner", "mbox": "mailto:learner@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
    "object": {
        "id": "http://example.com/activities/level-1",
        "definition": {"name": {"en-US": "Level 1"}, "type": "https://w3id.org/xapi/seriousgames/activity-types/level"},
    },
    "result": {"score": {"scaled": 0.8, "raw": 80, "min": 0, "max": 100}, "success": True, "duration": "PT2M5.5S"},
    "context": {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "contextActivities": {"category": [{"id": "https://w3id.org/xapi/seriousgames"}]},
        "extensions": {"https://w3id.org/xapi/seriousgames/extensions/progress": 0.5},
    },
    "timestamp": "2025-03-10T10:05:00.000Z",
}


def _per_statement_us(statements: list[dict], version: str, rounds: int) -> float:
    for st in statements[:10]:  # warm up (compiles the schema on first use)
        validate_statement(st, version)
    start = time.perf_counter()
    for _ in range(rounds):
        for i, st in enumerate(statements):
            validate_statement(st, version, path=f"[{i}]")
    return (time.perf_counter() - start) / (rounds * len(statements)) * 1e6


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    batch = []
    for _ in range(100):
        st = copy.deepcopy(TYPICAL)
        st["id"] = str(uuid.uuid4())
        batch.append(st)
    for version in ("1.0.3", "2.0.0"):
        single = _per_statement_us([TYPICAL], version, iterations)
        batched = _per_statement_us(batch, version, max(1, iterations // 100))
        print(f"xAPI {version}: typical statement {single:6.1f} µs/statement; "
              f"100-statement batch {batched:6.1f} µs/statement ({batched * 100 / 1000:.2f} ms/batch)")


if __name__ == "__main__":
    main()
