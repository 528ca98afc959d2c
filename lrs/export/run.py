"""An export from start to finish: read, filter, flatten, write the tables, the codebook and README.txt."""

from __future__ import annotations

import json
import shutil
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lrs.export.flatten import CONTEXT_EXT, RESULT_EXT, STATEMENT_COLUMNS, VOIDED_COLUMN, Privacy, flatten, short_names
from lrs.export.filters import FILTERS, Source, descendants, in_subtree, matches_filters
from lrs.export.tables import EVENT_COLUMNS, TABLES, SGTables
from lrs.export.writers import FORMATS, TableWriter, write_codebook
from lrs.xapi.statements import VOIDED_VERB


@dataclass
class ExportOptions:
    output: Path
    fmt: str = "csv"
    filters: dict[str, str] = field(default_factory=dict)  # since, until, activity, verb, registration, agent
    include_voided: bool = False
    privacy: Privacy = field(default_factory=Privacy)
    progress: bool = False  # a progress line on stderr
    source_label: str = ""


class Progress:
    def __init__(self, enabled: bool) -> None:
        self.enabled, self.count, self.start, self.last = enabled, 0, time.perf_counter(), 0.0

    def add(self, n: int, what: str = "statements") -> None:
        self.count += n
        now = time.perf_counter()
        if self.enabled and now - self.last > 0.2:
            self.last = now
            rate = self.count / max(now - self.start, 1e-9)
            print(f"\r  {what}: {self.count:,} ({rate:,.0f}/s)   ", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print(file=sys.stderr)


def export(source: Source, options: ExportOptions) -> dict[str, Any]:
    if options.fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}")
    unknown = set(options.filters) - set(FILTERS)
    if unknown:
        raise ValueError(f"unknown filter(s): {', '.join(sorted(unknown))}")
    output = options.output
    earlier = _earlier_export(output)  # before reading: a folder that is not ours is refused at once
    output.mkdir(parents=True, exist_ok=True)
    parts = output / ".parts"
    filters = dict(options.filters)
    activity = filters.pop("activity", None)
    params = dict(filters)
    started = time.perf_counter()
    progress = Progress(options.progress)
    family = descendants(source, params, activity) if activity else None
    keep: Callable[[dict[str, Any]], bool] = (
        (lambda s: in_subtree(s, family, activity)) if family is not None else (lambda s: True))

    columns = STATEMENT_COLUMNS + ([VOIDED_COLUMN] if options.include_voided else [])
    statements = TableWriter("statements", columns, parts, dynamic=True)
    sg_writers = {name: TableWriter(name, cols, parts) for name, cols in TABLES.items()}
    events = EventBuckets(parts)  # completable events wait on disk, not in memory
    sg = SGTables(options.privacy, spill=events.add)
    try:
        for page in source.pages(params):
            for statement in page:
                if not keep(statement):
                    continue
                row = flatten(statement, options.privacy)
                if options.include_voided:
                    row["voided"] = False
                statements.add(row)
                found = sg.add(statement)
                if found is not None:
                    sg_writers[found[0]].add(found[1])
            progress.add(len(page))
        voided = 0
        if options.include_voided:
            seen: set[str] = set()
            for page in source.pages({"verb": VOIDED_VERB}):
                for voiding in page:
                    target = str((voiding.get("object") or {}).get("id", "")).lower()
                    if not target or target in seen:
                        continue
                    seen.add(target)
                    statement = source.voided(target)
                    if statement is not None and matches_filters(statement, options.filters, family):
                        row = flatten(statement, options.privacy)
                        row["voided"] = True
                        statements.add(row)
                        voided += 1
        for bucket in events.sorted_buckets():
            sg_writers["completables"].add_many(sg.attempts(bucket))
        progress.done()

        statements.flush()
        for path in earlier:  # read in full: now the earlier export's files give way to this one's
            path.unlink(missing_ok=True)
        renames = short_names(
            [c for c in statements.dynamic_types if c.startswith((RESULT_EXT, CONTEXT_EXT))],
            taken=[c[0] for c in columns],
        )
        codebook = statements.finish(output, options.fmt, renames)
        counts = {"statements": statements.rows}
        if sg.seen:
            for name, writer in sg_writers.items():
                codebook += writer.finish(output, options.fmt)
                counts[name] = writer.rows
        write_codebook(output, codebook)
    finally:
        shutil.rmtree(parts, ignore_errors=True)
    seconds = time.perf_counter() - started
    summary = {
        "output": str(output), "format": options.fmt, "filters": _shown_filters(options),
        "include_voided": options.include_voided, "voided_rows": voided,
        "pseudonymized": options.privacy.pseudonymized, "names": options.privacy.names,
        "free_text": options.privacy.free_text, "tables": counts, "seconds": round(seconds, 2),
        "source": options.source_label,
    }
    _readme(output, summary)
    return summary


class EventBuckets:
    """Completable events spilled to disk in ``BUCKETS`` files by (actor, registration, object), so that
    building the attempts sorts one bucket at a time: memory stays flat however many events there are."""

    BUCKETS = 16

    def __init__(self, parts: Path) -> None:
        self.writers = [TableWriter(f"events-{i:02d}", EVENT_COLUMNS, parts, chunk=2_000) for i in range(self.BUCKETS)]

    def add(self, event: dict[str, Any]) -> None:
        key = f"{event['actor_id']}\0{event['registration']}\0{event['object_id']}".encode()
        self.writers[zlib.crc32(key) % self.BUCKETS].add(event)

    def sorted_buckets(self) -> Iterator[list[dict[str, Any]]]:
        import pyarrow.parquet as pq

        for writer in self.writers:
            writer.flush()
            events = [row for part in writer.parts for row in pq.read_table(part).to_pylist()]
            events.sort(key=lambda e: (
                e["actor_id"] or "", e["registration"] or "", e["object_id"] or "", e["time"] or _EPOCH, e["seq"],
            ))
            yield events
            writer.cleanup()


_EPOCH = datetime(1, 1, 1, tzinfo=timezone.utc)
README_TITLE = "xAPI export: tidy tables"  # README.txt's first words: the folder holds an export


def _earlier_export(output: Path) -> list[Path]:
    """The files of an earlier export in ``output``, which this one replaces (any format, so that a
    table this export does not write is not read with its tables; it may hold what this export
    leaves out, such as raw actor ids). Other files stay. A ValueError when ``output`` holds a file
    with an export's name that no export wrote (its README.txt is not an export's): nothing of the
    user's is overwritten."""
    names = [f"{table}.{fmt}" for table in ("statements", *TABLES) for fmt in FORMATS] + ["codebook.csv", "README.txt"]
    found = [output / name for name in names if (output / name).is_file()]
    if not found:
        return []
    readme = output / "README.txt"
    if readme.is_file() and readme.read_text(errors="replace").startswith(README_TITLE):
        return found
    raise ValueError(f"{output} holds {', '.join(p.name for p in found)}, which no export wrote: "
                     "give --output an empty folder or an earlier export's")


def _shown_filters(options: ExportOptions) -> dict[str, str]:
    """The filters as README.txt and the summary show them: a pseudonymised export shows the agent
    it was filtered on by its pseudonym (its ``actor_id``), not by the agent's identifier."""
    shown = dict(options.filters)
    if "agent" in shown and options.privacy.pseudonymized:
        try:
            agent = json.loads(shown["agent"])
        except ValueError:
            agent = None
        pseudonym = options.privacy.actor_id(agent) if isinstance(agent, dict) else None
        shown["agent"] = (f"the agent pseudonymised as {pseudonym} (its actor_id where it is the actor)"
                          if pseudonym else "(an agent; not shown)")
    return shown


def _readme(output: Path, summary: dict[str, Any]) -> None:
    lines = [
        README_TITLE + " (one row per statement / attempt / event, one column per variable)",
        f"written {datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')} from {summary['source'] or 'the LRS'}",
        f"format: {summary['format']}; column meanings, types and sources: codebook.csv",
        "filters: " + (", ".join(f"{k}={v}" for k, v in summary["filters"].items()) or "none"),
        f"voided statements: {'included (voided=true), ' + str(summary['voided_rows']) + ' rows' if summary['include_voided'] else 'left out'}",
        f"pseudonymised: {'yes: actor_id is a keyed HMAC of the actor identifier' if summary['pseudonymized'] else 'no: actor_id is the actor identifier'}"
        f"; names: {summary['names']}; free-text responses: {summary['free_text']}",
        "",
        "rows per table:",
    ]
    lines += [f"  {name}: {rows:,}" for name, rows in summary["tables"].items()]
    if len(summary["tables"]) == 1:
        lines.append("  (no xAPI Serious Games statements: no completables/progress/choices/accesses tables)")
    lines += ["", "pandas: pd.read_csv('statements.csv', parse_dates=['timestamp', 'stored']) or pd.read_parquet('statements.parquet')"]
    (output / "README.txt").write_text("\n".join(lines) + "\n")
