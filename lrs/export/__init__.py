"""Tidy tables from statements (one row per statement, one column per variable), in CSV or Parquet.

``export(source, ExportOptions(...))`` reads from a ``StoreSource`` (this LRS)
or an ``HTTPSource`` (any xAPI LRS) and writes ``statements``, the xAPI-SG
tables, ``codebook.csv`` and ``README.txt``.
"""

from lrs.export.flatten import Privacy
from lrs.export.run import FILTERS, ExportOptions, export
from lrs.export.sources import HTTPSource, StoreSource

__all__ = ["FILTERS", "ExportOptions", "HTTPSource", "Privacy", "StoreSource", "export"]
