"""The bundled demo speech clips (``siaga/data/clips/*.ogg``, made by ``tools/make_clips.py``).

They are located through :mod:`importlib.resources` so they are found in an installed
package as well as in a source checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from ..errors import AudioError


def _clips_dir() -> Path:
    return Path(str(files("siaga") / "data" / "clips"))


def list_clips() -> list[str]:
    """Names of the bundled clips (file stems), sorted."""
    directory = _clips_dir()
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.ogg"))


def clip_path(name: str) -> Path:
    """Path of the Ogg Opus file of clip ``name``; :class:`AudioError` if there is none."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise AudioError(f"invalid clip name {name!r}")
    path = _clips_dir() / f"{name}.ogg"
    if not path.is_file():
        raise AudioError(f"no clip named {name!r}")
    return path


__all__ = ["clip_path", "list_clips"]
