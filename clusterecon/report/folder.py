"""Report folders are replaced whole: written into a fresh temporary folder next to the target and swapped in at the
end, so that an interrupted run leaves the earlier report intact and a finished one leaves no stale file of it.

A folder clusterecon wrote carries the marker file :data:`MARKER`. A non-empty folder without it (your own files)
is refused unless ``force``; the working directory, a folder that contains it, the home folder and the root are
refused even then. ``replicate --out`` adds its files to a shared folder instead (:func:`check_out_files`): it
replaces only files it wrote there itself, and like every ``--out`` never writes into a folder holding its inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

MARKER = ".clusterecon-report"
#: In a folder that commands add files to (``replicate --out``): the files clusterecon wrote there, with a digest.
FILES_MARKER = ".clusterecon-files"


class ReportFolderError(ValueError):
    """The output folder cannot be used; the message says why and what to do."""


def visible_stem(name: str, default: str) -> str:
    """``name`` usable as the stem of an output file that shows in a folder listing as what it is: without control
    and format characters (a bidi override U+202E or a zero-width space in a spec's file name would make the listing
    show another name) and without leading dots or blanks (a spec named ``..x.toml`` or ``.hidden.toml`` would write
    hidden ``..x.tex``/``.hidden.tex``), else ``default``."""
    from ..io.errors import as_printed

    return as_printed(name).lstrip(". \t") or default


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
    refuse_folder_holding_inputs(out, inputs, "replacing the folder would delete it")
    if (force and len(real.parts) <= 2 and out.is_dir() and any(out.iterdir())
            and not (out / MARKER).is_file()):
        raise ReportFolderError(f"--out {out} is a top-level system folder; --force does not replace it. Give a "
                                "folder of its own, e.g. --out clusterecon-report")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file() and not force:
        raise ReportFolderError(
            f"--out {out} is not empty and was not written by clusterecon (no {MARKER} file in it); its files "
            "would be replaced. Choose another folder, empty it, or pass --force to replace it")
    return out


def refuse_folder_holding_inputs(out: str | os.PathLike, inputs: Iterable[str | os.PathLike | None],
                                 why: str) -> None:
    """:class:`ReportFolderError` if ``out`` holds one of ``inputs`` (directly or in a subfolder): output written
    there could replace or delete the survey, its mapping or a spec. The one rule of every ``--out``."""
    real = Path(out).resolve()
    for f in inputs:
        if f is not None and Path(f).resolve().is_relative_to(real):
            raise ReportFolderError(f"--out {out} holds the input file {f}; {why}. Write the output to a folder of "
                                    "its own, e.g. --out clusterecon-report")


def check_out_files(out: str | os.PathLike, names: Iterable[str], *,
                    inputs: Iterable[str | os.PathLike | None] = ()) -> Path:
    """``out`` as a Path if the files ``names`` may be written into it, for commands that add their files to a
    folder shared with others (``replicate --out``: several specs' tables side by side); else
    :class:`ReportFolderError`. Refused: a folder that holds one of ``inputs`` (the rule of
    :func:`check_out_folder`), and an existing file of ``names`` that clusterecon did not write there (not recorded
    in the folder's :data:`FILES_MARKER`, or changed since): it is never overwritten."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ReportFolderError(f"--out {out} is a file, not a folder; choose a folder name")
    refuse_folder_holding_inputs(out, inputs, "the output could overwrite it")
    written = _written_files(out)
    for name in names:
        p = out / name
        if (p.exists() or p.is_symlink()) and (p.is_symlink() or not p.is_file() or written.get(name) != _digest(p)):
            raise ReportFolderError(
                f"--out {out}: {name} exists and was not written there by clusterecon (or was changed since); it "
                "would be overwritten. Move it away, or choose another folder")
    return out


def record_written_files(out: str | os.PathLike, paths: Iterable[str | os.PathLike]) -> None:
    """Note ``paths`` (files just written into ``out``) in its :data:`FILES_MARKER`, so that a later run may replace
    them (:func:`check_out_files`)."""
    out = Path(out)
    written = _written_files(out)
    written.update({Path(p).name: _digest(Path(p)) for p in paths})
    (out / FILES_MARKER).write_text(json.dumps({"written_by": "clusterecon", "files": written}, indent=1) + "\n",
                                    encoding="utf-8")


def _written_files(out: Path) -> dict[str, str]:
    try:
        files = json.loads((out / FILES_MARKER).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
