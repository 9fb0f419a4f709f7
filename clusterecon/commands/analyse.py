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

Exit codes as ``validate``: 0 clean, 1 the data have problems (the report is still written when the panel could be
built, i.e. warnings only), 2 usage error or unreadable file/mapping.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..samples import bundled_sample, sample_panel

SAMPLES = ("garments", "machinery", "survey")


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
    parser.add_argument("--sample", choices=SAMPLES, default=None,
                        help="bundled sample used when no FILE is given (default garments: a simulated cluster "
                             "observed 1970-2014)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")


def run(args: argparse.Namespace) -> int:
    from ..hypotheses import analyse
    from ..load import load_survey
    from ..report.analyse_report import write_report
    from .validate import sheet_arg

    t0 = time.perf_counter()

    def progress(step: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - t0:5.1f}s] {step}", file=sys.stderr, flush=True)

    if args.file is not None and args.sample is not None:
        raise ValueError("give either a survey FILE or --sample, not both")
    from ..report.folder import check_out_folder

    check_out_folder(args.out, force=args.force, inputs=(args.file, args.mapping))  # before the slow work
    sim = None
    if args.file is None and args.mapping is None and args.sample != "survey":
        name = args.sample or "garments"
        progress(f"simulating the bundled {name} sample")
        sim = sample_panel(name)
        # validated like any survey (canonical names, design declared), so the report has its validation section
        from ..io.readers import RawTable

        source = RawTable.from_frame(sim.frame.reset_index(), name=f"simulated {name} sample")
        mapping = {"survey": {"design": "rounds", "exits_observable": True, "name": f"simulated {name} sample"}}
        path, what = None, sim.design.source
    else:
        source, mapping = args.file, args.mapping
        if source is None and mapping is None:
            source, mapping = bundled_sample()
        path = source
    progress(f"loading and validating {path or 'the sample'}")
    res = load_survey(source, mapping, strict=args.strict, sheet=sheet_arg(args.sheet), encoding=args.encoding,
                      allow_outside_paths=args.allow_outside_paths)
    print(f"validation: {res.report.summary_line()}")
    if res.panel is None:
        print(res.report.to_text(), file=sys.stderr)
        print("clusterecon analyse: the panel cannot be built until the errors above are fixed; no report "
              "written", file=sys.stderr)
        return 1
    exit_code = 0 if res.report.clean else 1
    panel = res.panel
    if sim is not None:
        panel = panel.replace(design=sim.design, labels={**sim.labels, **panel.labels})
    else:
        what = " — ".join(x for x in (res.mapping.name, str(path or "")) if x)
    validation, provenance = res.report, res.provenance
    firms = getattr(res.mapping, "firms", None)
    inputs = (args.file, args.mapping, getattr(res.mapping, "source_file", None), getattr(firms, "file", None))
    check_out_folder(args.out, force=args.force, inputs=inputs)  # the files the mapping named
    result = analyse(panel, progress=lambda s: progress(f"hypothesis: {s}"))
    out = Path(args.out)
    paths = write_report(result, out, panel=panel, validation=validation, provenance=provenance,
                         title=f"clusterecon analysis — {what}", progress=progress, force=args.force)
    print(summary_text(result, paths, time.perf_counter() - t0))
    if exit_code:
        print("the data have validation warnings (see the report's validation section); exit code 1")
    return exit_code


def summary_text(result, paths, seconds: float) -> str:
    """The short summary ``analyse`` prints: one line per hypothesis and where the report is."""
    s = result.structure
    years = list(s.get("years", []))
    lines = [f"{s.get('firms')} firms, {s.get('firm_years')} firm-years, {years[0]}–{years[-1]}, design "
             f"{s.get('design')}"]
    width = max(len(r.title) for r in result.results.values())
    for r in result.results.values():
        verdict = r.verdict if len(r.verdict) <= 160 else r.verdict[:157] + "..."
        lines.append(f"  {r.title:<{width}}  [{r.status}] {verdict}")
    if paths.problems:
        lines.append(f"  ({len(paths.problems)} table(s)/figure(s) could not be drawn; listed in the report)")
    lines.append(f"report: {paths.html}  (also {paths.markdown.name}, {len(paths.tables)} tables in tables/, "
                 f"{len(paths.figures)} figures in figures/; {seconds:.1f} s)")
    return "\n".join(lines)
