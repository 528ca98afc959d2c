"""Profiles by name: the ones shipped in ``profiles/``, or any Profiles 1.0 file by path."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import lrs
from lrs.profiles.profile import Profile, ProfileError

# Names for the shipped profiles that have Statement Templates.
BUILTIN = {"seriousgames": "seriousgames-companion.jsonld"}
ENFORCEMENTS = ("strict", "warn", "off")


def profiles_dir() -> Path:
    """``profiles/`` next to the package (source tree), else the installed data files."""
    for candidate in (
        Path(lrs.__file__).resolve().parent.parent / "profiles",
        Path(sys.prefix) / "share" / "lrs" / "profiles",
    ):
        if (candidate / BUILTIN["seriousgames"]).is_file():
            return candidate
    raise FileNotFoundError("profiles/ not found next to the lrs package nor under sys.prefix/share/lrs")


def load_profile(name: str) -> Profile:
    """A shipped profile by name (``seriousgames``), or a Profiles 1.0 JSON-LD file by path.

    A file is read again when it changes (its modification time and size), so an edited profile
    applies to the next statement and a deleted one is refused, without a restart (a review found
    a server checking against its first reading until it was restarted); one ``stat`` per call.
    """
    if name in BUILTIN:
        return _read(str(profiles_dir() / BUILTIN[name]), None)
    try:
        info = Path(name).stat()
    except OSError:
        info = None
    if info is None or not Path(name).is_file():
        raise ProfileError(f"unknown profile {name!r}: use {', '.join(BUILTIN)} or the path of a profile file")
    return _read(name, (info.st_mtime_ns, info.st_size))


@functools.lru_cache(maxsize=32)
def _read(path: str, version: tuple[int, int] | None) -> Profile:
    try:
        return Profile.from_json(Path(path).read_bytes())
    except OSError as exc:
        raise ProfileError(f"profile {path!r} cannot be read: {exc.strerror or exc}") from None


def check_enforcement(value: str) -> str:
    if value not in ENFORCEMENTS:
        raise ProfileError(f"profile enforcement must be one of {', '.join(ENFORCEMENTS)}, not {value!r}")
    return value
