"""Paths written inside a mapping or a replication spec stay inside that file's folder.

A mapping's ``[source] file``/``[firms] file`` and a spec's ``[data] file``/``mapping`` are resolved relative to the
folder of the mapping/spec file (symbolic links resolved) and refused when they lead outside it or are absolute:
a file someone sent you must not make clusterecon read ``../secret.csv`` and copy its values into a report. The
user lifts the rule for one run with ``--allow-outside-paths`` (Python: ``allow_outside_paths=True``).
"""

from __future__ import annotations

import os
from pathlib import Path

ALLOW_HINT = ("pass --allow-outside-paths on the command line (Python: allow_outside_paths=True) if you trust "
              "the file")


class OutsideFolderError(ValueError):
    """A path in a mapping or spec leads outside the file's folder; the message names the key, the path and the
    fix."""


def resolve_inside(base: str | os.PathLike, value: object, *, key: str, owner: str,
                   allow_outside: bool = False) -> Path:
    """``base / value``, refused unless it stays inside ``base``.

    ``key`` (e.g. ``"[source] file"``) and ``owner`` (the mapping/spec file, or a description) go into the message.
    With ``allow_outside`` any path is accepted (relative ones still relative to ``base``).
    """
    if not isinstance(value, str) or not value.strip():
        raise OutsideFolderError(f"{owner}: {key} must be a file name in quotes, e.g. {key.split()[-1]} = "
                                 f"\"survey.csv\"; got {value!r}")
    base = Path(base)
    path = base / value
    if allow_outside:
        return path
    folder = base.resolve()
    if Path(value).is_absolute() or Path(value).drive:
        why = "is an absolute path"
    else:
        try:
            inside = path.resolve().is_relative_to(folder)
        except (OSError, RuntimeError):  # a symlink loop
            inside = False
        if inside:
            return path
        why = "leads outside its folder" + (" (through a symbolic link)" if ".." not in Path(value).parts else "")
    raise OutsideFolderError(
        f"{owner}: {key} = {value!r} {why}; {owner} may only name files in its own folder ({folder}) or below. "
        f"Move the file there and give its path relative to that folder, or {ALLOW_HINT}")


def is_hidden(name: str | os.PathLike) -> bool:
    """True for a hidden file name: a dot file, including the ``._name`` AppleDouble files macOS writes beside every
    file it copies to a foreign disk or tar archive (resource forks, not data)."""
    return Path(name).name.startswith(".")


def visible_files(folder: str | os.PathLike, pattern: str = "*") -> list[Path]:
    """The files of ``folder`` matching ``pattern``, sorted, without hidden ones (:func:`is_hidden`)."""
    return sorted(p for p in Path(folder).glob(pattern) if p.is_file() and not is_hidden(p))
