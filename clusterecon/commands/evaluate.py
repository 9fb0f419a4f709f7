"""``clusterecon evaluate DESIGN.toml [--out DIR]``: analyse a training experiment from its raw survey to the report.

The design file (format: ``docs/evaluation.md``, :mod:`clusterecon.evaluation.designfile`) names the data and
mapping, outcomes, treatment, strata, rounds and clusters. Exit codes: 0 report written and every step ran, 1 the
report was written but some steps could not run or the data have validation warnings (listed in the report), 2 the
design file or data cannot be used.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("design", metavar="DESIGN.toml", help="evaluation design file (TOML)")
    parser.add_argument("--out", "-o", metavar="DIR", default="clusterecon-evaluation",
                        help="report folder (default ./clusterecon-evaluation); written whole and swapped in at "
                        "the end, replacing an earlier clusterecon report there")
    parser.add_argument("--force", action="store_true",
                        help="replace --out even if it holds files clusterecon did not write")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    from .validate import add_outside_paths_argument

    add_outside_paths_argument(parser)


def run(args: argparse.Namespace) -> int:
    from ..evaluation.designfile import load_design_file
    from ..evaluation.report import write_evaluation_report
    from ..evaluation.run import run_evaluation

    t0 = time.perf_counter()

    def progress(step: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - t0:5.1f}s] {step}", file=sys.stderr, flush=True)

    from ..report.folder import check_out_folder

    spec = load_design_file(args.design, allow_outside_paths=args.allow_outside_paths)
    inputs = (args.design, getattr(spec, "data_file", None), getattr(spec, "mapping", None))
    check_out_folder(args.out, force=args.force, inputs=inputs)  # before the slow work
    res = run_evaluation(spec, progress=progress)
    paths = write_evaluation_report(res, Path(args.out), progress=progress, force=args.force)
    print(summary_text(res, paths, time.perf_counter() - t0))
    warn = res.validation is not None and not res.validation.clean
    return 1 if (paths.problems or warn) else 0


def summary_text(res, paths, seconds: float) -> str:
    lines = [f"{res.spec.title}: {res.frame.index.get_level_values(0).nunique()} firms, {len(res.frame)} "
             "firm-rounds"]
    T = res.spec.design.treatment
    for o, row in res.summary.iterrows():
        q = row.get("q (sharpened)", float("nan"))
        lines.append(f"  ITT {o}: {row['ITT']:.4g} (s.e. {row['s.e.']:.3g}), p = {row['p used']:.4f}"
                     f"{' (wild bootstrap)' if row['CI from'] == 'wild bootstrap' else ''}, q = {q:.3f}")
    for o, row in res.tot_summary.iterrows():
        lines.append(f"  TOT {o}: {row['TOT']:.4g} (s.e. {row['s.e.']:.3g}), first-stage F = "
                     f"{row['first-stage F']:.1f}, AR set {row['Anderson-Rubin set']}")
    for o, r in res.spillovers.items():
        lines.append(f"  spillover {o}: {r.params['untreated_in_treated_cluster']:.4g} "
                     f"(s.e. {r.std_errors['untreated_in_treated_cluster']:.3g}); offered {r.params[T]:.4g}")
    for o, (plain, tight) in res.lee.items():
        lines.append(f"  Lee bounds {o}: [{plain.lower:.4g}, {plain.upper:.4g}]" + (
            f", tightened [{tight.lower:.4g}, {tight.upper:.4g}]" if tight is not None else ""))
    for r in res.not_run:
        lines.append(f"  not run: {r}")
    if paths.problems:
        lines.append(f"  ({len(paths.problems)} step(s) could not run; listed in the report)")
    lines.append(f"report: {paths.html}  (also {paths.markdown.name}, {len(paths.tables)} tables, "
                 f"{len(paths.figures)} figures; {seconds:.1f} s)")
    return "\n".join(lines)
