"""Typed tables written in chunks: CSV or Parquet, plus the codebook.

Rows go to a ``TableWriter`` as dicts; every ``CHUNK`` rows become a typed
pandas frame stored as a Parquet part in a scratch folder (extension columns
as text). ``finish`` then knows every column (extension columns appear as the
export goes), picks one type per column from the kinds of all its values, and
writes the final file part by part: memory holds one chunk, whatever the
export's size.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lrs.xapi.timestamps import parse_timestamp

CHUNK = 5_000
FORMATS = ("csv", "parquet")
CSV_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _libc() -> Any:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to trim
        return None


_LIBC = _libc()


def release_memory() -> None:
    """Give memory freed by a chunk back to the system (pyarrow's pool, then glibc's heap), so that
    a long export's footprint stays that of one chunk."""
    pa.default_memory_pool().release_unused()
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _typed(values: pd.Series, dtype: str) -> pd.Series:
    """Values (Python objects) as a column of ``dtype``."""
    if dtype == "datetime64[UTC]":
        return utc_times(values)
    if dtype == "float64":
        return pd.to_numeric(values, errors="coerce").astype("float64")
    if dtype == "boolean":
        return values.map(lambda v: v if isinstance(v, bool) else None).astype("boolean")
    if dtype == "Int64":  # not through float64: an integer above 2**53 keeps every digit
        return pd.Series(pd.array([None if _missing(v) else int(v) for v in values], dtype="Int64"),
                         index=values.index)
    return values.map(lambda v: None if _missing(v) else v if isinstance(v, str) else _text(v)).astype("string")


def _column(rows: list[dict[str, Any]], name: str, index: pd.Index | None = None) -> pd.Series:
    """One column of dict rows as Python objects (a DataFrame of the rows would make the integers of
    a column with a gap floats)."""
    return pd.Series([row.get(name) for row in rows], index=index, dtype="object")


_FRACTION = re.compile(r"[.,](\d{1,6})\d*")


def utc_times(values: pd.Series) -> pd.Series:
    """ISO 8601 timestamps as UTC times in microseconds, the precision the LRS keeps.

    Every time xAPI allows (years 0001 to 9999) fits: pandas would pick nanoseconds for a column
    holding one timestamp with more than six fractional digits, and then read every time outside
    1677-2262 as missing. What pandas does not read (a comma before the fraction, 24:00, a leap
    second) goes through the LRS's own parser; only what is not a timestamp at all stays missing.
    """
    text = values.map(lambda v: _FRACTION.sub(r".\1", v, count=1) if isinstance(v, str) else None)
    times = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce").dt.as_unit("us")
    unread = times.isna() & text.notna()
    if unread.any():
        times = times.astype(object)
        times[unread] = [parse_timestamp(v) for v in values[unread]]
        times = pd.to_datetime(times, utc=True).dt.as_unit("us")
    return times


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


INT64 = (-(2**63), 2**63 - 1)


def kind(value: Any) -> str | None:
    """The dtype one extension value asks for; None for a missing value, which asks for none."""
    if _missing(value):
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "Int64" if INT64[0] <= value <= INT64[1] else "bigint"
    return "float64" if isinstance(value, float) else "string"


def combine(kinds: Iterable[str | None]) -> str | None:
    """One dtype for values of these kinds, whatever their order or grouping (so chunks, pages and
    nulls never change a column's type): integers stay Int64, numbers with a fraction make float64,
    an integer beyond 64 bits makes text (exact) unless the column is float64 anyway, any other mix
    is text. None when there were only missing values."""
    found = {k for k in kinds if k is not None}
    if "bigint" in found:
        found = (found - {"bigint"}) | ({"float64"} if "float64" in found else {"string"})
    if not found:
        return None
    if found == {"Int64", "float64"}:
        return "float64"
    return found.pop() if len(found) == 1 else "string"


def unify(kinds: Iterable[str | None]) -> str:
    """The dtype of an extension column from the kinds of all its values (text if all are missing)."""
    return combine(kinds) or "string"


def as_text(values: Iterable[Any]) -> pd.Series:
    """Extension values as they are written in a text column: integers as integers (``4999``, not
    ``4999.0``), booleans as true/false."""
    return pd.Series([None if _missing(v) else v if isinstance(v, str) else _text(v) for v in values],
                     dtype="string")


def _from_text(text: pd.Series, dtype: str) -> pd.Series:
    """An extension column kept as text (``as_text``) in the type chosen once every chunk was seen."""
    text = text.astype("string")
    if dtype in ("float64", "Int64"):
        return pd.to_numeric(text, errors="coerce").astype(dtype)  # exact: the text is Python's repr
    if dtype == "boolean":
        return text.map({"true": True, "false": False}).astype("boolean")
    return text


class TableWriter:
    """One table: ``columns`` are (name, dtype, description, source); ``dynamic`` columns are typed from their values."""

    def __init__(
        self, name: str, columns: list[tuple[str, str, str, str]], parts: Path, *, dynamic: bool = False,
        chunk: int = CHUNK,
    ) -> None:
        self.name = name
        self.chunk = chunk
        self.columns = columns
        self.fixed = {c[0]: c[1] for c in columns}
        self.dynamic = dynamic
        self.parts_dir = parts / name
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        self.buffer: list[dict[str, Any]] = []
        self.parts: list[Path] = []
        self.dynamic_types: dict[str, set[str | None]] = {}
        self.rows = 0

    def add(self, row: dict[str, Any]) -> None:
        self.buffer.append(row)
        if len(self.buffer) >= self.chunk:
            self.flush()

    def add_many(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.add(row)

    def flush(self) -> None:
        if not self.buffer:
            return
        rows = self.buffer
        out = pd.DataFrame({name: _typed(_column(rows, name), dtype) for name, dtype in self.fixed.items()})
        # Other (extension) columns wait as text, and the kinds of their values are noted: finish
        # types each from all its values (not chunk by chunk), and the text converts without loss.
        for column in dict.fromkeys(k for row in rows for k in row if k not in self.fixed):
            values = [row.get(column) for row in rows]
            self.dynamic_types.setdefault(column, set()).update(map(kind, values))
            out[column] = as_text(values)
        path = self.parts_dir / f"{len(self.parts):06d}.parquet"
        pq.write_table(pa.Table.from_pandas(out, preserve_index=False), path)
        self.parts.append(path)
        self.rows += len(rows)
        self.buffer = []
        del rows, out
        release_memory()

    def finish(self, output: Path, fmt: str, renames: dict[str, str] | None = None) -> list[tuple[str, str, str, str]]:
        """Write ``<output>/<table>.<fmt>``; returns the codebook rows of its columns."""
        self.flush()
        renames = renames or {}
        extra = sorted(self.dynamic_types, key=lambda c: renames.get(c, c))
        types = {**self.fixed, **{c: unify(self.dynamic_types[c]) for c in extra}}
        order = [c[0] for c in self.columns] + extra
        names = [renames.get(c, c) for c in order]
        path = output / f"{self.name}.{fmt}"
        empty = pd.DataFrame({c: pd.Series([], dtype="object") for c in order})
        frames = (pq.read_table(p).to_pandas() for p in self.parts) if self.parts else iter([empty])
        writer = None
        first = True
        try:
            for frame in frames:
                frame = pd.DataFrame({c: _cast(frame, c, types[c], c in self.dynamic_types) for c in order})
                frame.columns = names
                release_memory()
                if fmt == "parquet":
                    table = pa.Table.from_pandas(frame, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(path, table.schema)
                    writer.write_table(table.cast(writer.schema))
                else:
                    frame.to_csv(path, mode="w" if first else "a", header=first, index=False,
                                 date_format=CSV_DATE_FORMAT)
                first = False
        finally:
            if writer is not None:
                writer.close()
        codebook = [(self.name, name, dtype, description, source) for name, dtype, description, source in self.columns]
        for column in extra:
            kind, _, iri = column.partition(":")
            where = "result.extensions" if kind == "result_ext" else "context.extensions"
            codebook.append((self.name, renames.get(column, column), types[column],
                             f"{where} value (JSON text when it is an object or array)", iri))
        return codebook

    def cleanup(self) -> None:
        shutil.rmtree(self.parts_dir, ignore_errors=True)


def _cast(frame: pd.DataFrame, column: str, dtype: str, text: bool) -> pd.Series:
    """A column of a part in its final type; ``text``: an extension column, kept as text."""
    if column not in frame:
        return _typed(pd.Series([None] * len(frame), index=frame.index, dtype="object"), dtype)
    series = frame[column]
    if text:
        return _from_text(series, dtype)
    if dtype == "string" and str(series.dtype) != "string":
        return series.map(lambda v: None if _missing(v) else v if isinstance(v, str) else _text(v)).astype("string")
    if dtype == "datetime64[UTC]":
        return pd.to_datetime(series, utc=True).dt.as_unit("us")
    return series.astype({"float64": "float64", "boolean": "boolean", "Int64": "Int64"}.get(dtype, "string"))


def write_codebook(output: Path, rows: list[tuple[str, str, str, str, str]]) -> None:
    pd.DataFrame(rows, columns=["table", "column", "dtype", "description", "source"]).to_csv(
        output / "codebook.csv", index=False)


def typed_frame(rows: list[dict[str, Any]], columns: list[tuple[str, str]], renames: dict[str, str]) -> pd.DataFrame:
    """Rows as a frame with exactly ``columns`` (name, dtype), in that order, then renamed."""
    index = pd.RangeIndex(len(rows))
    out = pd.DataFrame({name: _typed(_column(rows, name, index), dtype) for name, dtype in columns}, index=index)
    out.columns = [renames.get(name, name) for name, _ in columns]
    return out
