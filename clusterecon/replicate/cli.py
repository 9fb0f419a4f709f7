"""``clusterecon replicate SPEC --out DIR``: run a replication spec, write its table, say whether the published
numbers were reproduced.

Exit codes: 0 reproduced (or no ``[expected]`` numbers to compare), 1 a published number is outside its tolerance,
2 the spec or its data cannot be used (one readable message naming the key).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="replication spec (TOML; see analyses/README.md)")
    parser.add_argument("--out", "-o", metavar="DIR", default=None,
                        help="folder for the table (.tex float, _tabular.tex, .md, .html, .csv) and the checks "
                             "(default: print only)")
    parser.add_argument("--data", metavar="FILE", default=None,
                        help="run the spec on this survey file instead of its [data] (templates on your own survey)")
    parser.add_argument("--mapping", "-m", metavar="M", default=None, help="mapping of --data (TOML)")
    parser.add_argument("--show", action="store_true", help="print the table (Markdown)")
    from ..commands.validate import add_outside_paths_argument

    add_outside_paths_argument(parser)


def run(args: argparse.Namespace) -> int:
    from .run import run_spec

    rep = run_spec(args.spec, args.out, file=args.data, mapping=args.mapping,
                   allow_outside_paths=args.allow_outside_paths)
    if args.show or args.out is None:
        print(rep.table.to_markdown())
    print(rep.summary())
    return 1 if rep.ok is False else 0
