"""The output folder: which files are an earlier export's, and putting a new export in their place.

An export is written whole into a scratch folder inside the output folder (same file system, so
moving a file is a rename), and only then replaces the earlier export's files. An export that fails
or is interrupted therefore leaves the earlier one as it was, and removes its scratch folder; one
killed outright (SIGKILL, power cut) leaves it behind, and the next export in that folder removes
it once its process is gone. Scratch folders are hidden and never taken for an export's files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from lrs.export.tables import TABLES
from lrs.export.writers import FORMATS

README_TITLE = "xAPI export: tidy tables"  # README.txt's first words: the folder holds an export
SCRATCH = ".lrs-export-"  # + host + "-" + pid + "-" + random


def export_names() -> list[str]:
    return [f"{table}.{fmt}" for table in ("statements", *TABLES) for fmt in FORMATS] + ["codebook.csv", "README.txt"]


def earlier_export(output: Path) -> list[Path]:
    """The files of an earlier export in ``output``, which this one replaces (any format, so that a
    table this export does not write is not read with its tables; it may hold what this export
    leaves out, such as raw actor ids). Other files stay. A ValueError when ``output`` holds a file
    with an export's name that no export wrote (its README.txt is not an export's): nothing of the
    user's is overwritten."""
    found = [output / name for name in export_names() if (output / name).is_file()]
    if not found:
        return []
    readme = output / "README.txt"
    if readme.is_file() and readme.read_text(errors="replace").startswith(README_TITLE):
        return found
    raise ValueError(f"{output} holds {', '.join(p.name for p in found)}, which no export wrote: "
                     "give --output an empty folder or an earlier export's")


@contextlib.contextmanager
def staging_folder(output: Path) -> Iterator[Path]:
    """A scratch folder in ``output``, removed on the way out whatever happens (an error, Ctrl-C, or a
    SIGTERM, which becomes SystemExit here so that the folder is removed)."""
    _remove_abandoned(output)
    folder = Path(tempfile.mkdtemp(prefix=f"{SCRATCH}{socket.gethostname()}-{os.getpid()}-", dir=output))
    try:
        with _signals({signal.SIGTERM: _exit}):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def publish(staging: Path, output: Path, earlier: list[Path]) -> None:
    """Move the new export's files from ``staging`` into ``output`` and delete the earlier export's
    files it does not replace. README.txt goes first: from then on the folder is an export's folder
    for the next run. Ctrl-C waits for these few renames."""
    new = sorted((p for p in staging.iterdir() if p.is_file()), key=lambda p: p.name != "README.txt")
    with _signals({signal.SIGINT: signal.SIG_IGN, signal.SIGTERM: signal.SIG_IGN}):
        for path in new:
            os.replace(path, output / path.name)
        names = {p.name for p in new}
        for path in earlier:
            if path.name not in names:
                path.unlink(missing_ok=True)


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _signals(handlers: dict[int, object]) -> Iterator[None]:
    """Signal handlers for a while (only the main thread may set them; elsewhere, none are set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}  # type: ignore[arg-type]
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _remove_abandoned(output: Path) -> None:
    """Scratch folders of exports on this host whose process is gone (killed outright)."""
    host = socket.gethostname()
    for path in output.glob(SCRATCH + "*"):
        rest = path.name[len(SCRATCH):]
        if not rest.startswith(host + "-"):
            continue  # another machine's (a shared drive): not ours to judge
        pid = rest[len(host) + 1:].partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # (another user's: it exists)
    return True
