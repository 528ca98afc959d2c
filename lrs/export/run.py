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

from lrs.export.filters import FILTERS, Source, add_links, in_subtree, matches_filters, subtree, with_dates
from lrs.export.flatten import CONTEXT_EXT, RESULT_EXT, STATEMENT_COLUMNS, VOIDED_COLUMN, Privacy, flatten, short_names
from lrs.export.folder import README_TITLE, earlier_export, publish, staging_folder
from lrs.export.interactions import InteractionTypes
from lrs.export.tables import EVENT_COLUMNS, TABLES, SGTables
from lrs.export.writers import FORMATS, TableWriter, write_codebook
from lrs.xapi.statements import VOIDED_VERB

LOOKUP_BATCH = 500  # activity ids per look-up of their canonical definitions


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
    """Write the export into a scratch folder inside ``options.output``, then put its files in place of
    the earlier export's: an export that fails or is interrupted leaves the earlier one whole."""
    if options.fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}")
    unknown = set(options.filters) - set(FILTERS)
    if unknown:
        raise ValueError(f"unknown filter(s): {', '.join(sorted(unknown))}")
    output = options.output
    earlier = earlier_export(output)  # before reading: a folder that is not ours is refused at once
    output.mkdir(parents=True, exist_ok=True)
    with staging_folder(output) as staging:
        try:
            summary = _write(source, options, staging)
        except OSError as exc:  # a full disk, a file size limit: say where, and that nothing was lost
            raise ValueError(f"the export into {output} failed ({exc.strerror or exc}); "
                             "the folder keeps what it held") from exc
        summary["output"] = str(output)
        publish(staging, output, earlier)
    return summary


def _write(source: Source, options: ExportOptions, folder: Path) -> dict[str, Any]:
    filters = with_dates(options.filters)
    activity = filters.get("activity")
    params = {k: v for k, v in filters.items() if k != "activity"}
    started = time.perf_counter()
    family = _family(source, activity, options.progress) if activity else None
    keep: Callable[[dict[str, Any]], bool] = (
        (lambda s: in_subtree(s, family, activity)) if family is not None else (lambda s: True))
    canonical = InteractionTypes(options.privacy)

    def learn(statements: list[dict[str, Any]]) -> None:
        missing = canonical.missing(statements)
        for i in range(0, len(missing), LOOKUP_BATCH):
            batch = missing[i:i + LOOKUP_BATCH]
            canonical.learn(batch, source.definitions(batch))

    parts = folder / ".parts"
    columns = STATEMENT_COLUMNS + ([VOIDED_COLUMN] if options.include_voided else [])
    statements = TableWriter("statements", columns, parts, dynamic=True)
    sg_writers = {name: TableWriter(name, cols, parts) for name, cols in TABLES.items()}
    events = EventBuckets(parts)  # completable events wait on disk, not in memory
    sg = SGTables(options.privacy, spill=events.add, canonical=canonical)
    progress = Progress(options.progress)
    for page in source.pages(params):
        read = len(page)
        page = [statement for statement in page if keep(statement)]
        learn(page)
        for statement in page:
            row = flatten(statement, options.privacy, canonical)
            if options.include_voided:
                row["voided"] = False
            statements.add(row)
            found = sg.add(statement)
            if found is not None:
                sg_writers[found[0]].add(found[1])
        progress.add(read)
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
                if statement is not None and matches_filters(statement, filters, family):
                    learn([statement])
                    row = flatten(statement, options.privacy, canonical)
                    row["voided"] = True
                    statements.add(row)
                    voided += 1
    for bucket in events.sorted_buckets():
        sg_writers["completables"].add_many(sg.attempts(bucket))
    progress.done()

    statements.flush()  # every extension column known
    renames = short_names(
        [c for c in statements.dynamic_types if c.startswith((RESULT_EXT, CONTEXT_EXT))],
        taken=[c[0] for c in columns],
    )
    codebook = statements.finish(folder, options.fmt, renames)
    counts = {"statements": statements.rows}
    if sg.seen:
        for name, writer in sg_writers.items():
            codebook += writer.finish(folder, options.fmt)
            counts[name] = writer.rows
    write_codebook(folder, codebook)
    shutil.rmtree(parts, ignore_errors=True)
    summary = {
        "format": options.fmt, "filters": _shown_filters(options, filters),
        "include_voided": options.include_voided, "voided_rows": voided,
        "pseudonymized": options.privacy.pseudonymized, "names": options.privacy.names,
        "free_text": options.privacy.free_text, "tables": counts,
        "seconds": round(time.perf_counter() - started, 2), "source": options.source_label,
    }
    _readme(folder, summary)
    return summary


def _family(source: Source, activity: str, show: bool) -> set[str]:
    """The activity's subtree, from the parent/grouping links of every statement (not only of those the
    other filters take: see ``filters.add_links``). Only the links are kept, not the statements."""
    children: dict[str, set[str]] = {}
    progress = Progress(show)
    for page in source.pages({}):
        add_links(children, page)
        progress.add(len(page), "activity tree")
    progress.done()
    return subtree(children, activity)


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


def _shown_filters(options: ExportOptions, filters: dict[str, str]) -> dict[str, str]:
    """The filters as README.txt and the summary show them (a date as the midnight it stands for): a
    pseudonymised export shows the agent it was filtered on by its pseudonym (its ``actor_id``), not
    by the agent's identifier."""
    shown = dict(filters)
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
