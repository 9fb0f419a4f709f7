"""``clusterecon replicate SPEC --out DIR``: run a replication spec, write its table, say whether the published
numbers were reproduced. ``clusterecon replicate --init [PATH]`` writes a commented template spec.

With ``--data FILE --mapping M`` the spec runs on your survey: its index and column names go through the mapping's
``[rename]`` (raw name → canonical name), so a spec written with one survey's names runs on a re-coded file.

Exit codes: 0 reproduced (or no ``[expected]`` numbers to compare), 1 a published number is outside its tolerance,
2 the spec or its data cannot be used (one readable message naming the key). The format: docs/replication.md.
"""



from __future__ import annotations

import argparse

EPILOG = """exit codes:
  0  reproduced (or no [expected] numbers to compare); --init: template written
  1  a published number is outside its tolerance
  2  the spec or its data cannot be used (the message names the key)

examples:
  clusterecon replicate --init my_replication.toml      # a commented template that runs on the bundled sample
  clusterecon replicate my_replication.toml --out out/
  clusterecon replicate analyses/wooldridge_14_1_jtrain.toml --data jtrain.dta --mapping jtrain.toml"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", nargs="?",
                        help="replication spec (TOML; docs/replication.md); with --init, where to write the template "
                             "(default my_replication.toml)")
    parser.add_argument("--init", action="store_true",
                        help="write a commented template spec to SPEC (that runs on the bundled sample) and stop")
    parser.add_argument("--force", action="store_true", help="with --init: overwrite an existing file")
    parser.add_argument("--out", "-o", metavar="DIR", default=None,
                        help="folder for the table (.tex float, _tabular.tex, .md, .html, .csv) and the checks "
                             "(default: print only)")
    parser.add_argument("--data", metavar="FILE", default=None,
                        help="run the spec on this survey file instead of its [data] (templates on your own survey)")
    parser.add_argument("--mapping", "-m", metavar="M", default=None, help="mapping of --data (TOML)")
    parser.add_argument("--show", action="store_true", help="print the table (Markdown)")
    from .validate import add_outside_paths_argument

    add_outside_paths_argument(parser)


def run(args: argparse.Namespace) -> int:
    from ..replicate.run import run_spec

    if args.init:
        from ..replicate.template import write_template

        path = write_template(args.spec or "my_replication.toml", force=args.force)
        print(f"wrote {path}: a commented replication spec; run it with 'clusterecon replicate {path}' and edit it "
              "(docs/replication.md)")
        return 0
    if args.spec is None:
        raise ValueError("give a replication SPEC (TOML), or --init to write a template")
    rep = run_spec(args.spec, args.out, file=args.data, mapping=args.mapping,
                   allow_outside_paths=args.allow_outside_paths)
    if args.show or args.out is None:
        print(rep.table.to_markdown())
    print(rep.summary())
    return 1 if rep.ok is False else 0
