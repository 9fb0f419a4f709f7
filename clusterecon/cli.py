"""The ``clusterecon`` command.

Subcommands live in their own modules, listed once in :data:`COMMANDS` as ``(name, module, help)``; a module
provides ``add_arguments(parser)`` and ``run(args) -> int`` and is imported only when its command runs, so
``clusterecon --help`` and ``import clusterecon.cli`` stay light. Adding a command is one line in the registry.

Exit codes: ``0`` success (for ``validate``: no errors and no warnings), ``1`` the data have problems, ``2`` a usage
error or a file/mapping that cannot be read. Errors print one readable message; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: (command, module providing add_arguments/run, one-line help)
COMMANDS: list[tuple[str, str, str]] = [
    ("validate", "clusterecon.commands.validate", "check a survey file against the canonical schema and report"),
    ("describe", "clusterecon.commands.describe", "panel structure and summary statistics (bundled sample if no FILE)"),
    ("codebook", "clusterecon.commands.codebook", "print the canonical codebook (Markdown)"),
    ("simulate", "clusterecon.simulate.cli", "simulate a cluster and write a survey with known truth"),
    ("analyse", "clusterecon.analyse_cli", "validate, run the phase-hypothesis battery and write the report folder"),
    ("replicate", "clusterecon.replicate.cli", "run a replication spec (TOML) and check the published numbers"),
    ("evaluate", "clusterecon.evaluation.cli", "analyse a training experiment from a design file (TOML) into a report"),
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
            importlib.import_module(module).add_arguments(sp)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
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
    msg = str(e).strip() or type(e).__name__
    return msg


def _is_user_error(e: BaseException) -> bool:
    """Errors about the input (file, mapping, data) rather than the program."""
    return isinstance(e, (OSError, ValueError, KeyError, UnicodeError, ImportError))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
