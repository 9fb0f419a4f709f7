"""``clusterecon validate FILE``: load a survey through its mapping, run every validation rule, print the report.

Exit 0 when there is no error and no warning (information such as "survivor-only recall panel" is allowed), 1 when
there are problems (errors, or warnings), 2 when the file or mapping cannot be read at all.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", nargs="?",
                        help="survey file: .csv/.tsv/.txt, .xlsx/.xls, .dta, .sav, .parquet (default: [source] file "
                             "of the mapping)")
    add_load_arguments(parser)
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("--require", metavar="COLS", default="",
                        help="comma-separated canonical columns your analysis needs besides firm_id and year "
                             "(e.g. sales,employees); a missing one is an error")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--max-examples", type=count, default=5, metavar="N",
                        help="row numbers and values shown per problem (default 5)")
    parser.add_argument("--chunked", action="store_true",
                        help="Parquet files larger than memory: validate piece by piece in bounded memory (the same "
                             "report; slower, and needs about the file's size of temporary disk space)")
    parser.add_argument("--chunk-rows", type=int, default=1_000_000, metavar="N",
                        help="records held at once with --chunked (default 1000000)")


def count(text: str) -> int:
    """argparse type: a whole number ≥ 1 (``--max-examples 0`` would print "1 row(s):  (+1 more)")."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number 1 or more, got {text!r}")
    return n


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mapping", "-m", metavar="M", help="TOML mapping from the raw file to the schema "
                        "(docs/mapping.md); omit when the file already uses canonical names")
    parser.add_argument("--sheet", metavar="S", help="Excel sheet name or 0-based number")
    parser.add_argument("--encoding", metavar="E", help="text encoding of a CSV, SPSS or Stata <= 13 file "
                        "(e.g. latin-1, cp1252); Stata 14+ files are UTF-8 and ignore it (noted in the report)")
    add_outside_paths_argument(parser)


def add_outside_paths_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-outside-paths", action="store_true",
                        help="let the mapping (or spec) name files outside its own folder or by absolute path "
                             "(refused by default: a file someone sent you should not read your other files)")


def mapping_hint(args: argparse.Namespace, report) -> str | None:
    """A hint when FILE was read without ``--mapping`` and its columns are not canonical (no firm_id/year): raw
    surveys need a mapping file. Names a ``.toml`` lying next to the file when there is one."""
    from pathlib import Path

    if getattr(args, "mapping", None) is not None or getattr(args, "file", None) is None:
        return None
    if not any(p.rule == "missing_required_column" and p.column in ("firm_id", "year") for p in report.errors):
        return None
    from ..io.paths import visible_files

    here = Path(args.file).parent
    found = [p.name for p in visible_files(here, "*.toml")][:3]
    near = f" ({', '.join(found)} next to the file: --mapping {(here / found[0]).as_posix()}?)" if found else ""
    return ("hint: no --mapping was given, so the file's column names were taken as canonical ones; a raw survey "
            "needs a mapping file that renames its columns (firm id, year, ...) and recodes its values: "
            f"--mapping MAPPING.toml{near}. See docs/mapping.md.")


def sheet_arg(s: str | None):
    return int(s) if s is not None and s.isdigit() else s


def run(args: argparse.Namespace) -> int:
    from ..load import load_survey
    from ..validate import missing_columns

    if args.file is None and args.mapping is None:
        raise ValueError("give a survey FILE (or a --mapping whose [source] names the file)")
    required = [c.strip() for c in args.require.split(",") if c.strip()]
    if required:
        from ..schema import BY_NAME

        unknown = [c for c in required if c not in BY_NAME]
        if unknown:
            raise ValueError(f"--require: {', '.join(map(repr, unknown))} not canonical column(s); see "
                             "'clusterecon codebook'")
    if args.chunked:
        from ..chunked import validate_parquet

        if args.chunk_rows < 1:
            raise ValueError(f"--chunk-rows {args.chunk_rows}: give a positive number of records")
        report = validate_parquet(_chunked_file(args), args.mapping, chunk_rows=args.chunk_rows, strict=args.strict,
                                  required=required, allow_outside_paths=args.allow_outside_paths)
    else:
        res = load_survey(args.file, args.mapping, strict=args.strict, sheet=sheet_arg(args.sheet),
                          encoding=args.encoding, allow_outside_paths=args.allow_outside_paths)
        report = res.report
        if required:
            report = report.merged(missing_columns(res.frame, required, report.source))
    if args.json:
        print(report.to_json())
    else:
        print(report.to_text(max_examples=args.max_examples))
        hint = mapping_hint(args, report)
        if hint:
            print("\n" + hint)
    return 0 if report.clean else 1


def _chunked_file(args: argparse.Namespace):
    if args.file is not None:
        return args.file
    from ..io import load_mapping

    m = load_mapping(args.mapping, allow_outside_paths=args.allow_outside_paths)
    if m.source_file is None:
        raise ValueError(f"give a survey FILE, or [source] file in the mapping {args.mapping}")
    return m.source_file
