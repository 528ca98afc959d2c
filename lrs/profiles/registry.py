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


@functools.lru_cache(maxsize=32)
def load_profile(name: str) -> Profile:
    """A shipped profile by name (``seriousgames``), or a Profiles 1.0 JSON-LD file by path."""
    if name in BUILTIN:
        path = profiles_dir() / BUILTIN[name]
    else:
        path = Path(name)
        if not path.is_file():
            raise ProfileError(f"unknown profile {name!r}: use {', '.join(BUILTIN)} or the path of a profile file")
    return Profile.from_json(path.read_bytes())


def check_enforcement(value: str) -> str:
    if value not in ENFORCEMENTS:
        raise ProfileError(f"profile enforcement must be one of {', '.join(ENFORCEMENTS)}, not {value!r}")
    return value
