"""Memory settings for the server's processes (``lrs serve`` and the SQLite writer process):
the garbage collector's thresholds, and giving freed memory back after a large request."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from typing import Any

GC_THRESHOLDS = (20_000, 20, 20)  # allocations before a young collection; young/middle ones before an older one

# A request or write job at least this large is followed by ``release_memory``: a batch of
# 20,000 statements (17 MB) takes some 150 MB of objects in each process while it is handled.
RELEASE_AFTER_BYTES = 4 << 20


def tune_gc() -> None:
    """Fewer garbage collections: a batch of statements allocates thousands of (acyclic)
    objects, and the default threshold (700) runs a collection every few statements.
    What the process has imported so far is frozen out of the collector's walks."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def release_memory() -> None:
    """Give the memory freed after a large request back to the operating system.

    glibc's ``free`` keeps freed memory in the process for later allocations; after one
    large batch the server would otherwise stay at its peak size for good. ``malloc_trim``
    returns the free pages (7 ms after a batch of 20,000 statements, which took seconds to
    handle). Elsewhere than glibc, nothing.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return None
