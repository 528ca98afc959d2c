"""Garbage-collector settings for the server's processes (``lrs serve`` and the SQLite writer process)."""

from __future__ import annotations

import gc

GC_THRESHOLDS = (20_000, 20, 20)  # allocations before a young collection; young/middle ones before an older one


def tune_gc() -> None:
    """Fewer garbage collections: a batch of statements allocates thousands of (acyclic)
    objects, and the default threshold (700) runs a collection every few statements.
    What the process has imported so far is frozen out of the collector's walks."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
