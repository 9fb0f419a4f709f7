"""``clusterecon analyse [FILE]``: validate a survey, run the phase-hypothesis battery, write the report folder.

With no FILE it runs on a bundled sample (``--sample``):

* ``garments`` (default) — the simulated garments cluster (:func:`clusterecon.simulate.simulate`, preset
  ``garments``, seed 1): 200 firms drawn at random from every firm ever active, observed every year 1970–2014
  (annual rounds, so exits are observable). 45 years are enough to date all three phases; the files bundled under
  ``data/simulated/`` are a 3-year recall survey and 4 rounds, too short to date the quality-improvement phase
  (run them with ``clusterecon analyse data/simulated/garments_raw.dta --mapping
  data/simulated/garments_raw_mapping.toml``). The simulated panel is validated like any file.
* ``machinery`` — the same for the machinery preset (complex technology, engineer founders).
* ``survey`` — the bundled raw survey ``data/sample_survey/`` (Stata file with value labels, recall columns and
  deliberate defects) through its ``mapping.toml``: the path a user's own survey takes.

Exit codes: 0 the report was written (validation warnings, if any, are listed in its validation section and on
the terminal), 1 the data have errors and no report was written (with ``--strict``, warnings count as errors),
2 usage error or unreadable file/mapping. (``validate`` differs: it exits 1 on warnings too.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..samples import bundled_sample, sample_panel

SAMPLES = ("garments", "machinery", "survey")

EPILOG = """exit codes:
  0  the report was written (validation warnings, if any, are listed in it and printed here)
  1  the data have errors: no report written (with --strict, warnings count as errors)
  2  usage error, or a file or mapping that cannot be read

examples:
  clusterecon analyse                                   # the bundled simulated garments cluster
  clusterecon analyse --sample survey                   # the bundled raw Stata survey and its mapping
  clusterecon analyse my_survey.dta --mapping my_mapping.toml --out my-report
  clusterecon analyse recall.csv --expansion-start 1985 --quality-start 1996   # dates from the cluster's history
  clusterecon analyse survey.csv --deflator cpi.csv     # money values in real terms (columns year, deflator)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .validate import add_load_arguments

    parser.add_argument("file", metavar="FILE", nargs="?",
                        help="survey file (default: the bundled sample chosen by --sample)")
    add_load_arguments(parser)
    parser.add_argument("--out", "-o", metavar="DIR", default="clusterecon-report",
                        help="report folder (default ./clusterecon-report); written whole and swapped in at the end, "
                             "replacing an earlier clusterecon report there")
    parser.add_argument("--force", action="store_true",
                        help="replace --out even if it holds files clusterecon did not write")
    parser.add_argument("--strict", action="store_true", help="treat validation warnings as errors")
    add_sample_argument(parser)
    parser.add_argument("--expansion-start", metavar="YEAR", type=int, default=None,
                        help="year quantity expansion began, known from the cluster's history: used instead of "
                             "dating it (a survey of survivors cannot date it); overrides the mapping's [history]")
    parser.add_argument("--quality-start", metavar="YEAR", type=int, default=None,
                        help="year quality improvement began, known from the cluster's history: used instead of "
                             "dating it; overrides the mapping's [history]")
    parser.add_argument("--cluster", metavar="NAME", default=None,
                        help="the cluster to analyse when the survey holds several (its cluster column); the "
                             "battery analyses one cluster at a time")
    parser.add_argument("--history-source", metavar="TEXT", default=None,
                        help="who dates the phases given by --expansion-start/--quality-start (a study, a trade "
                             "association's records), quoted in every verdict that uses them")
    parser.add_argument("--deflator", metavar="CSV", default=None,
                        help="price index (columns year, deflator, optionally industry; e.g. the CPI) by which every "
                             "money value is made real before the analysis: without it productivity, prices and "
                             "profits are nominal, and general inflation or deflation reads as their trend")
    parser.add_argument("--base-year", metavar="YEAR", type=int, default=None,
                        help="prices of this year for --deflator (default: the year whose index is 100 or 1)")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress lines and no validation warnings on stderr (the report lists them)")


def add_sample_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sample", choices=SAMPLES, default=None,
                        help="bundled sample used when no FILE is given (default garments: a simulated cluster "
                             "observed 1970-2014; survey: the raw Stata sample survey with its mapping)")


def input_source(args: argparse.Namespace, progress=lambda _s: None):
    """``(source, mapping, simulated panel or None)`` for FILE/--mapping/--sample, the same for ``analyse`` and
    ``describe``: FILE (with --mapping) if given, else the bundled sample (default garments)."""
    if args.file is not None and args.sample is not None:
        raise ValueError("give either a survey FILE or --sample, not both")
    if args.file is None and args.mapping is None and args.sample != "survey":
        given = [o for o, v in (("--sheet", args.sheet), ("--encoding", args.encoding)) if v is not None]
        if given:  # refused, not ignored: the user meant to read a file of their own
            raise ValueError(f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} to a survey FILE; "
                             "the bundled simulated sample has no sheets or encoding: give the FILE meant")
        name = args.sample or "garments"
        progress(f"simulating the bundled {name} sample")
        sim = sample_panel(name)
        # validated like any survey (canonical names, design declared), so the report has its validation section
        from ..io.readers import RawTable

        source = RawTable.from_frame(sim.frame.reset_index(), name=f"simulated {name} sample")
        mapping = {"survey": {"design": "rounds", "exits_observable": True, "name": f"simulated {name} sample"}}
        return source, mapping, sim
    source, mapping = args.file, args.mapping
    if source is None and mapping is None:
        source, mapping = bundled_sample()
    return source, mapping, None


def run(args: argparse.Namespace) -> int:
    from ..hypotheses import analyse
    from ..load import load_survey
    from ..report.analyse_report import write_report
    from .validate import sheet_arg

    t0 = time.perf_counter()

    def progress(step: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - t0:5.1f}s] {step}", file=sys.stderr, flush=True)

    from ..report.folder import check_out_folder

    check_out_folder(args.out, force=args.force, inputs=(args.file, args.mapping))  # before the slow work
    source, mapping, sim = input_source(args, progress)
    path = None if sim is not None else source
    what = sim.design.source if sim is not None else ""
    progress(f"loading and validating {path or 'the sample'}")
    res = load_survey(source, mapping, strict=args.strict, sheet=sheet_arg(args.sheet), encoding=args.encoding,
                      allow_outside_paths=args.allow_outside_paths)
    print(f"validation: {res.report.summary_line()}")
    if res.panel is None:
        print(res.report.to_text(), file=sys.stderr)
        print("clusterecon analyse: the panel cannot be built until the errors above are fixed; no report "
              "written", file=sys.stderr)
        from .validate import mapping_hint

        hint = mapping_hint(args, res.report)
        if hint:
            print(hint, file=sys.stderr)
        return 1
    warned = not res.report.clean
    if warned and not args.quiet:  # the same text as `clusterecon validate`, before the slow work
        print(res.report.to_text(), file=sys.stderr, flush=True)
    panel = res.panel
    if sim is not None:
        panel = panel.replace(design=sim.design, labels={**sim.labels, **panel.labels})
    else:
        what = " — ".join(x for x in (res.mapping.name, str(path or "")) if x)
    validation, provenance = res.report, res.provenance
    firms = getattr(res.mapping, "firms", None)
    inputs = (args.file, args.mapping, getattr(res.mapping, "source_file", None), getattr(firms, "file", None),
              args.deflator)
    check_out_folder(args.out, force=args.force, inputs=inputs)  # the files the mapping named
    given = args.expansion_start is not None or args.quality_start is not None
    if args.history_source is not None and not given:
        raise ValueError("--history-source names who dates the phases: give it with --expansion-start or "
                         "--quality-start")
    source_text = (args.history_source or "on the command line, no source stated") if given else None
    if args.base_year is not None and args.deflator is None:
        raise ValueError("--base-year sets the prices of --deflator: give it with --deflator CSV")
    from ..hypotheses.battery import one_cluster

    panel = one_cluster(panel, args.cluster)  # the report's tables describe the cluster the verdicts are about
    if args.cluster is not None:
        what = f"{what} — cluster {args.cluster}" if what else f"cluster {args.cluster}"
    try:
        result = analyse(panel, progress=lambda s: progress(f"hypothesis: {s}"),
                         expansion_start=args.expansion_start, quality_start=args.quality_start,
                         history_source=source_text, deflator=args.deflator,
                         base_year=args.base_year)  # one cluster already (above)
    except ValueError as e:  # a date that cannot be right: named as the user gave it
        raise ValueError(str(e).replace("expansion_start =", "the start of quantity expansion (--expansion-start or "
                                        "[history] expansion_start) =").replace(
            "quality_start =", "the start of quality improvement (--quality-start or [history] quality_start) =")
        ) from None
    out = Path(args.out)
    paths = write_report(result, out, panel=panel, validation=validation, provenance=provenance,
                         title=f"clusterecon analysis — {what}", progress=progress, force=args.force)
    print(summary_text(result, paths, time.perf_counter() - t0))
    if warned:
        print("the data have validation warnings: listed in the report's validation section "
              "(clusterecon validate FILE shows them; --strict treats them as errors)")
    return 0


def summary_text(result, paths, seconds: float) -> str:
    """The short summary ``analyse`` prints: one line per hypothesis and where the report is."""
    s = result.structure
    years = list(s.get("years", []))
    lines = [f"{s.get('firms')} firms, {s.get('firm_years')} firm-years, {years[0]}–{years[-1]}, design "
             f"{s.get('design')}"]
    import textwrap

    for r in result.results.values():  # the verdict in full, wrapped: the research answer is never cut
        lines.append(f"  {r.title} [{r.status}]")
        lines.append(textwrap.fill(r.verdict, width=100, initial_indent="      ", subsequent_indent="      ",
                                   break_long_words=False, break_on_hyphens=False))
    if paths.problems:
        lines.append(f"  ({len(paths.problems)} table(s)/figure(s) could not be drawn; listed in the report)")
    lines.append(f"report: {paths.html}  (also {paths.markdown.name}, {len(paths.tables)} tables in tables/, "
                 f"{len(paths.figures)} figures in figures/; {seconds:.1f} s)")
    return "\n".join(lines)
