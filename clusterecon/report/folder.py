"""Report folders are replaced whole: written into a fresh temporary folder next to the target and swapped in at the
end, so that an interrupted run leaves the earlier report intact and a finished one leaves no stale file of it.

A folder clusterecon wrote carries the marker file :data:`MARKER`. A non-empty folder without it (your own files)
is refused unless ``force``; the working directory, a folder that contains it, the home folder and the root are
refused even then.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

MARKER = ".clusterecon-report"


class ReportFolderError(ValueError):
    """The output folder cannot be used; the message says why and what to do."""


def check_out_folder(out: str | os.PathLike, *, force: bool = False,
                     inputs: Iterable[str | os.PathLike | None] = ()) -> Path:
    """``out`` as a Path if a report may replace it (missing, empty, an earlier clusterecon report, or ``force``);
    else :class:`ReportFolderError`. Call it before the slow work so that a bad ``--out`` fails at once.

    Refused even with ``force``: a folder that holds one of ``inputs`` (the survey, its mapping: replacing the folder
    would delete them) and a folder directly below the root (``/tmp``, ``/usr``) that is not an earlier report."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ReportFolderError(f"--out {out} is a file, not a folder; choose a folder name")
    if out.is_symlink():
        raise ReportFolderError(f"--out {out} is a symbolic link; give the real folder")
    real = out.resolve()
    cwd = Path.cwd().resolve()
    if real == Path(real.anchor) or real == Path.home().resolve() or cwd.is_relative_to(real):
        raise ReportFolderError(f"--out {out} would replace {real} (the root, your home or the working folder); "
                                "give a folder of its own, e.g. --out clusterecon-report")
    for f in inputs:
        if f is not None and Path(f).resolve().is_relative_to(real):
            raise ReportFolderError(f"--out {out} holds the input file {f}; replacing the folder would delete it. "
                                    "Write the report to a folder of its own, e.g. --out clusterecon-report")
    if (force and len(real.parts) <= 2 and out.is_dir() and any(out.iterdir())
            and not (out / MARKER).is_file()):
        raise ReportFolderError(f"--out {out} is a top-level system folder; --force does not replace it. Give a "
                                "folder of its own, e.g. --out clusterecon-report")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file() and not force:
        raise ReportFolderError(
            f"--out {out} is not empty and was not written by clusterecon (no {MARKER} file in it); its files "
            "would be replaced. Choose another folder, empty it, or pass --force to replace it")
    return out


@contextmanager
def replaced_folder(out: str | os.PathLike, *, force: bool = False,
                    inputs: Iterable[str | os.PathLike | None] = ()) -> Iterator[Path]:
    """Yield a fresh temporary folder next to ``out``; on success mark it and swap it in for ``out`` (two renames
    on the same file system; the earlier folder is deleted only after the new one is in place). On failure the
    temporary folder is removed and ``out`` is left as it was."""
    out = check_out_folder(out, force=force, inputs=inputs)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_folder(out, "new")
    try:
        yield tmp
        from .. import __version__

        (tmp / MARKER).write_text(json.dumps({"written_by": "clusterecon", "version": __version__}) + "\n",
                                  encoding="utf-8")
        moved = None
        if out.exists():
            moved = _new_folder(out, "old") / out.name
            os.rename(out, moved)
        try:
            os.rename(tmp, out)
        except OSError:
            if moved is not None:  # put the earlier report back
                os.rename(moved, out)
            raise
        if moved is not None:
            shutil.rmtree(moved.parent, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _new_folder(out: Path, what: str) -> Path:
    """A new hidden folder next to ``out`` with the usual permissions (``tempfile.mkdtemp`` would make it 0700)."""
    for _ in range(100):
        path = out.parent / f".{out.name}.{what}-{secrets.token_hex(4)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
    raise ReportFolderError(f"cannot create a temporary folder next to {out}")  # pragma: no cover
