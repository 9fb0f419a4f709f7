"""The ``clusterecon`` command.

Subcommands live in their own modules, listed once in :data:`COMMANDS` as ``(name, module, help)``; a module
provides ``add_arguments(parser)`` and ``run(args) -> int`` and is imported only when its command runs, so
``clusterecon --help`` and ``import clusterecon.cli`` stay light. Adding a command is one line in the registry.

Exit codes: ``0`` success (for ``validate``: no errors and no warnings; for ``analyse``: the report was written,
warnings included), ``1`` the data have problems (``analyse``: errors, so no report), ``2`` a usage error or a
file/mapping that cannot be read. Errors print one readable message; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from ._controls import visible_controls

#: (command, module providing add_arguments/run, one-line help)
COMMANDS: list[tuple[str, str, str]] = [
    ("validate", "clusterecon.commands.validate", "check a survey file against the canonical schema and report"),
    ("describe", "clusterecon.commands.describe", "panel structure and summary statistics (bundled sample if no FILE)"),
    ("codebook", "clusterecon.commands.codebook", "print the canonical codebook (Markdown)"),
    ("simulate", "clusterecon.commands.simulate", "simulate a cluster and write a survey with known truth"),
    ("analyse", "clusterecon.commands.analyse",
     "validate, run the phase-hypothesis battery and write the report folder"),
    ("replicate", "clusterecon.commands.replicate", "run a replication spec (TOML) and check the published numbers"),
    ("evaluate", "clusterecon.commands.evaluate", "analyse a training experiment (TOML design file) into a report"),
]

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and one line of advice on usage errors (argparse's default code is also 2)."""

    def error(self, message: str):  # noqa: D102
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n(run '{self.prog} --help' for the options)\n")


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show the full traceback when something fails")
    return p


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the module of the chosen command (found in ``argv``) is imported."""
    from . import __version__

    common = _common()
    parser = _Parser(prog="clusterecon", parents=[common],
                     description="Econometrics for enterprise surveys of industrial clusters.",
                     epilog="Run 'clusterecon COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"clusterecon {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    chosen = next((a for a in (argv or []) if not a.startswith("-")), None)
    for name, module, help_ in COMMANDS:
        sp = sub.add_parser(name, help=help_, description=help_, parents=[common])
        sp.set_defaults(_module=module)
        if name == chosen:
            mod = importlib.import_module(module)
            mod.add_arguments(sp)
            if getattr(mod, "EPILOG", None):  # exit codes and examples, shown by COMMAND --help as written
                sp.epilog = mod.EPILOG
                sp.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Printable(out), _Printable(err)
    try:
        with warnings.catch_warnings():  # restores the caller's warning display (tests, notebooks) afterwards
            if "--debug" not in argv:
                warnings.showwarning = _show_warning
            return _main(argv)
    finally:
        sys.stdout, sys.stderr = out, err


class _Printable:
    """A text stream that shows control characters from the data (a firm id or label with ``ESC[2J``) and bidi
    overrides as ``\\x1b``/``\\u202e`` escapes instead of sending them to the terminal; line breaks and tabs pass.
    The same rule as the report files (:func:`clusterecon._controls.visible_controls`)."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(visible_controls(text, keep="\n\t"))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ARG001
    """Warnings as one line each (``warning: ...``), without the source line Python shows by default."""
    text = " ".join(_plain(str(message)).split())
    print(f"warning: {text}", file=file or sys.stderr)


def _main(argv: list[str]) -> int:
    debug = "--debug" in argv
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        debug = getattr(args, "debug", False)
        if not getattr(args, "command", None):
            parser.print_help()
            return EXIT_USAGE
        return int(importlib.import_module(args._module).run(args))
    except SystemExit as e:  # argparse: --help (0) and usage errors (2)
        return int(e.code) if isinstance(e.code, int) else EXIT_USAGE
    except BrokenPipeError:  # output piped into `head` & co.: stop quietly (recipe from the Python signal docs)
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        print("clusterecon: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # one readable message, never a traceback (unless --debug)
        if debug:
            raise
        print(f"clusterecon: error: {_message(e)}", file=sys.stderr)
        if not _is_user_error(e):
            print("(this looks like a bug in clusterecon; rerun with --debug and report the traceback)",
                  file=sys.stderr)
        return EXIT_USAGE


def _message(e: BaseException) -> str:
    if isinstance(e, FileNotFoundError) and e.filename:
        return f"file not found: {e.filename}"
    if isinstance(e, PermissionError) and e.filename:
        return f"permission denied: {e.filename}"
    msg = _plain(str(e)) or type(e).__name__
    return msg


def _plain(text: str) -> str:
    """``text`` without terminal escape codes (formulaic colours parts of its messages)."""
    from .formula_guard import plain_text

    return plain_text(text)


def _is_user_error(e: BaseException) -> bool:
    """Errors about the input (file, mapping, data, formula) rather than the program."""
    return isinstance(e, (OSError, ValueError, KeyError, UnicodeError, ImportError)) or type(
        e).__module__.startswith("formulaic")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
