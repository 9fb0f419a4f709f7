"""Speed of ``clusterecon analyse`` on the bundled sample and of ``import clusterecon``.

Targets (issue 7): ``clusterecon analyse`` on the bundled sample in ≤ 30 s on 2 cores; ``import clusterecon`` in
≤ 1 s. Both are measured in fresh interpreters (as a user runs them), with the step breakdown read from the
command's own progress lines. No peer does this end to end; the breakdown shows where the time goes.

Run:  python benchmarks/bench_analyse.py [--repeat N] [--sample garments|machinery|survey]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), "MPLBACKEND": "Agg"}


def time_import(repeat: int) -> list[float]:
    code = "import time; t = time.perf_counter(); import clusterecon; print(time.perf_counter() - t)"
    return [float(subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True,
                                 check=True).stdout) for _ in range(repeat)]


def time_analyse(sample: str, out: Path) -> tuple[float, list[tuple[float, str]], str]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-W", "ignore", "-m", "clusterecon.cli", "analyse", "--sample", sample,
                           "--out", str(out)], env=ENV, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"analyse failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    steps = [(float(m[1]), m[2]) for m in re.finditer(r"^\[\s*([\d.]+)s\] (.+)$", proc.stderr, re.M)]
    return wall, steps, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sample", default="garments", choices=("garments", "machinery", "survey"))
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    imp = time_import(5)
    print(f"import clusterecon: median {statistics.median(imp):.3f} s (min {min(imp):.3f}, max {max(imp):.3f}; "
          f"target ≤ 1 s)")
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            wall, steps, stdout = time_analyse(args.sample, Path(tmp) / f"r{i}")
            walls.append(wall)
        files = sum(1 for _ in (Path(tmp) / "r0").rglob("*") if _.is_file())
    print(f"clusterecon analyse --sample {args.sample}: median {statistics.median(walls):.1f} s over {args.repeat} "
          f"run(s) (min {min(walls):.1f}, max {max(walls):.1f}; target ≤ 30 s); {files} files written")
    print("step breakdown of the last run (seconds from the command's start to the next step):")
    marks = steps + [(steps[-1][0] if steps else 0.0, "end")]
    last_total = float(re.search(r"; ([\d.]+) s\)", stdout)[1]) if re.search(r"; ([\d.]+) s\)", stdout) else None
    for (t, name), (t_next, _) in zip(marks, marks[1:] + [(last_total or marks[-1][0], "")]):
        if name != "end":
            print(f"  {t_next - t:6.1f}  {name}")
    print(f"  (interpreter start and imports: {walls[-1] - (last_total or 0):.1f} s)")


if __name__ == "__main__":
    main()
