"""Tidy tables from statements (one row per statement, one column per variable), in CSV or Parquet.

``export(source, ExportOptions(...))`` reads from a ``StoreSource`` (this LRS)
or an ``HTTPSource`` (any xAPI LRS) and writes ``statements``, the xAPI-SG
tables, ``codebook.csv`` and ``README.txt``. The names below load on first use:
pandas and pyarrow stay out of a server that never exports.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "FILTERS": "lrs.export.filters", "Privacy": "lrs.export.flatten", "ExportOptions": "lrs.export.run",
    "export": "lrs.export.run", "HTTPSource": "lrs.export.sources", "StoreSource": "lrs.export.sources",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'lrs.export' has no attribute {name!r}")
