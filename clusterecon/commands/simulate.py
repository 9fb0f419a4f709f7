"""``clusterecon simulate``: simulate a cluster, survey it, and write the survey (canonical, or messy raw + mapping).

Examples::

    clusterecon simulate --preset garments --firms 300 --survey-year 2005 --out garments.csv
    clusterecon simulate --preset machinery --rounds 2000 2002 2004 --out machinery.parquet --seed 7
    clusterecon simulate --preset garments --firms 200 --survey-year 2005 --out raw.dta --raw

The truth (parameters, phase years, true effects, sampling) is written next to the output as ``<out>.truth.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=("garments", "machinery"), default="garments",
                        help="garments: simple technology, merchant founders; machinery: complex, engineer founders")
    parser.add_argument("--firms", type=int, default=None, help="sample size (default: every eligible firm)")
    parser.add_argument("--survey-year", type=int, default=None, help="interview year of a recall survey (default "
                        "2005)")
    parser.add_argument("--benchmark-years", type=int, nargs="*", default=None,
                        help="recall years (default: survey year − 10 and − 5)")
    parser.add_argument("--rounds", type=int, nargs="+", default=None,
                        help="survey years of a repeated-rounds survey (instead of one recall interview)")
    parser.add_argument("--census", action="store_true", help="write the true census instead of a survey")
    parser.add_argument("--stratify", default=None, help="stratify the sample by a firm column or 'size'")
    parser.add_argument("--exact", action="store_true", help="no measurement error, rounding or missing answers")
    parser.add_argument("--no-schooling-effect", action="store_true",
                        help="switch the schooling effect on innovation off (b = 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed (same seed, same output)")
    parser.add_argument("--out", required=True, help="output file: .csv, .parquet or .dta")
    parser.add_argument("--raw", action="store_true",
                        help="write a messy raw file (.csv/.dta) plus <out>_mapping.toml that the loaders clean")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..simulate.model import simulate
    from ..simulate.params import preset
    from ..simulate.raw import write_raw
    from ..simulate.survey import Fieldwork, survey

    out = Path(args.out)
    suffix = out.suffix.lower()
    allowed = (".csv", ".dta") if args.raw else (".csv", ".parquet", ".dta")
    if suffix not in allowed:
        raise ValueError(f"--out must end in {', '.join(allowed)} (got {out.name!r})")
    # options of another design are refused, not ignored
    other = [o for o, v, used in (("--survey-year", args.survey_year, not (args.rounds or args.census)),
                                  ("--benchmark-years", args.benchmark_years, not (args.rounds or args.census)))
             if v is not None and not used]
    if other:
        raise ValueError(f"{' and '.join(other)} belong{'' if len(other) > 1 else 's'} to a recall survey; with "
                         f"{'--census' if args.census else '--rounds'} leave {'them' if len(other) > 1 else 'it'} out")
    if args.census and args.rounds:
        raise ValueError("give --census or --rounds, not both")
    if args.census and (args.firms is not None or args.stratify is not None):
        raise ValueError("--census writes every firm: leave out --firms and --stratify (they draw a sample)")
    if args.stratify is not None and args.firms is None:
        raise ValueError("--stratify shapes a sample: give its size with --firms (without it every eligible firm is "
                         "surveyed and there is nothing to stratify)")
    if args.seed < 0:
        raise ValueError(f"--seed must be 0 or a positive whole number (got {args.seed})")
    survey_year = 2005 if args.survey_year is None else args.survey_year
    params = preset(args.preset, schooling_matters=not args.no_schooling_effect)
    sim_seed, field_seed = np.random.SeedSequence(args.seed).spawn(2)
    census = simulate(params, seed=sim_seed)
    fw = Fieldwork.exact() if args.exact else None
    try:
        if args.census:
            panel = survey(census, kind="census", keep_truth=True)
        elif args.rounds:
            panel = survey(census, kind="rounds", survey_years=args.rounds, n_firms=args.firms,
                           stratify=args.stratify, fieldwork=fw, seed=field_seed)
        else:
            bench = args.benchmark_years if args.benchmark_years is not None else [survey_year - 10,
                                                                                    survey_year - 5]
            panel = survey(census, kind="recall", survey_year=survey_year, benchmark_years=bench,
                           n_firms=args.firms, stratify=args.stratify, fieldwork=fw, seed=field_seed)
    except ValueError as e:  # the command line's one error format (stderr, exit 2)
        raise ValueError(str(e).replace("n_firms", "--firms").replace("survey_years", "--rounds")) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.raw:
        raw_path, map_path = write_raw(panel, out, seed=field_seed)
        written = f"{raw_path} and {map_path}"
    else:
        frame = panel.frame.reset_index()
        if suffix == ".csv":
            frame.to_csv(out, index=False)
        elif suffix == ".parquet":
            frame.to_parquet(out, index=False)
        else:
            obj = frame.select_dtypes(include=["category", "string", "object"]).columns
            frame[obj] = frame[obj].astype(object).where(frame[obj].notna(), "")
            for c in frame.columns:
                if str(frame[c].dtype) in ("boolean", "Int64", "Float64", "bool"):
                    frame[c] = frame[c].astype("float64")
            frame.to_stata(out, write_index=False, version=118)
        written = str(out)
    truth_path = out.with_name(out.name + ".truth.json")
    from .._json import dumps

    truth_path.write_text(dumps(panel.truth.to_dict(), indent=2), encoding="utf-8")
    s = panel.structure()
    print(f"wrote {written}: {s['firms']} firms, {s['firm_years']} firm-years, design {s['design']}")
    note = (panel.truth.sampling or {}).get("note")
    if note:  # e.g. more firms asked for than the cluster has: said, not capped silently
        print(f"note: {note}")
    print(panel.truth.summary())
    print(f"truth: {truth_path}")
    return 0
