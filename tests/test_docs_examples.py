"""Every code block in README.md and docs/*.md is either executed here or explicitly marked as not Python.

Rules (checked by :func:`test_every_block_is_marked`):

* a fenced block must name its language; ```` ```python ```` blocks are executed, in order, one namespace per file
  (so a page reads top to bottom like a session), in a fresh temporary working folder;
* ```` ```python norun ```` marks Python that must not run here (it needs a data set that is not bundled, or is
  slow); it must still compile;
* ```` ```toml ```` blocks must parse (``toml fragment`` for a piece of a file that does not parse alone);
* ```` ```bash ````, ```` ```text ````, ```` ```console ```` and ```` ```csv ```` are not Python and are not run.

A page that fails names the file and the block's first line. Figures are drawn with the Agg backend.
"""

from __future__ import annotations

import os
import re
import tomllib
import warnings
from pathlib import Path

import pytest

from clusterecon.io.paths import visible_files

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *visible_files(ROOT / "docs", "*.md")]
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
NOT_PYTHON = {"bash", "sh", "text", "console", "csv", "stata", "r", "tex", "latex", "json", "markdown"}


def blocks(page: Path) -> list[tuple[str, str, int]]:
    """``(info string, body, line number)`` of every fenced block of ``page``."""
    text = page.read_text(encoding="utf-8")
    return [(m["info"].strip(), m["body"], text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_block_is_marked(page):
    for info, body, line in blocks(page):
        words = info.split()
        assert words, f"{page.name}:{line}: a code block without a language; mark it (python, bash, text, toml, ...)"
        lang = words[0].lower()
        assert lang in {"python", "toml"} | NOT_PYTHON, f"{page.name}:{line}: unknown block language {info!r}"
        if lang == "python":
            assert set(words[1:]) <= {"norun"}, f"{page.name}:{line}: unknown python block option {info!r}"
            compile(body, f"{page.name}:{line}", "exec")  # even a norun block must be valid Python
        if lang == "toml" and "fragment" not in words:
            tomllib.loads(body)


def _runnable(page: Path) -> list[tuple[str, int]]:
    return [(body, line) for info, body, line in blocks(page) if info.split()[:1] == ["python"]
            and "norun" not in info.split()]


RUNNABLE = [p for p in PAGES if _runnable(p)]


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: p.name)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    """The page's Python blocks run top to bottom in one namespace, in an empty working folder."""
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for body, line in _runnable(page):
            try:
                exec(compile(body, f"{page.name}:{line}", "exec"), namespace)  # noqa: S102 - our own docs
            except Exception as e:  # noqa: BLE001
                first = body.strip().splitlines()[0] if body.strip() else ""
                pytest.fail(f"{page.name}, block at line {line} ({first!r}) fails: {type(e).__name__}: {e}")
    import matplotlib.pyplot as plt

    plt.close("all")


def test_docs_cite_only_files_in_the_repository():
    """A path the docs name under data/, analyses/, docs/ or tests/ exists in the repository."""
    cited = re.compile(r"`((?:data|analyses|docs|tests|benchmarks|clusterecon)/[A-Za-z0-9_./-]+\.[a-z]+)`")
    missing = []
    for page in [*PAGES, ROOT / "analyses" / "README.md", *visible_files(ROOT / "data", "**/README.md")]:
        for m in cited.finditer(page.read_text(encoding="utf-8")):
            if "*" not in m[1] and not (ROOT / m[1]).exists():
                missing.append(f"{page.name}: {m[1]}")
    assert not missing, "documents cite files that are not in the repository:\n" + "\n".join(missing)


def test_rules_catch_an_unmarked_block(tmp_path):
    page = tmp_path / "x.md"
    page.write_text("text\n\n```\nclusterecon analyse\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="without a language"):
        test_every_block_is_marked(page)


if os.environ.get("CI") == "true":  # the executed docs must not silently shrink to nothing
    assert len(RUNNABLE) >= 5, RUNNABLE


def test_docs_site_builds_without_warnings(tmp_path):
    """mkdocs.yml lists every page of docs/ and `mkdocs build --strict` (warnings are errors) succeeds."""
    import subprocess
    import sys

    if os.environ.get("CI") != "true":
        pytest.importorskip("mkdocs")
    import yaml

    conf = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    listed = {next(iter(item.values())) for item in conf["nav"]}
    pages = {p.name for p in visible_files(ROOT / "docs", "*.md")}
    assert listed == pages, f"pages missing from mkdocs.yml nav: {sorted(pages - listed)}"
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                        "-d", str(tmp_path / "site")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "WARNING" not in r.stderr, r.stderr[-3000:]
    assert (tmp_path / "site" / "tutorial" / "index.html").is_file()


def test_numbers_quoted_in_the_docs_are_what_the_code_prints():
    """The docs walkthrough found a quoted trend that had drifted from the code (8.4% printed as 8.0%): the quoted
    garments stagnation trends are recomputed here and must match the text to the printed digit."""
    import clusterecon as ce
    from clusterecon.samples import sample_panel

    text = " ".join((ROOT / "docs" / "hypotheses.md").read_text(encoding="utf-8").split())
    m = re.search(r"On the garments sample revenue TFP falls about (\d+\.\d)% a year while prices fall about "
                  r"(\d+\.\d)% a year", text)
    assert m, "the quoted sentence moved: update this test with it"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ce.analyse(sample_panel("garments"), reps=49, detail=False)["stagnation"]
    claims = {c.name: c for c in res.claims}
    # the productivity claim is judged on revenue TFP and on TFP net of the price, and takes its numbers from the
    # binding measure: the revenue trend quoted is the firm-FE trend of revenue TFP in the trends table
    revenue = res.tables["trends"].loc[res.extra["productivity_measure"], "slope"]
    assert f"{-100 * revenue:.1f}" == m.group(1)
    # likewise the price: its claim is decided by the more conservative of the firm-FE and year-effects trends
    assert f"{-100 * res.tables['trends'].loc['output price', 'slope']:.1f}" == m.group(2)
    assert {"productivity", "price"} <= set(claims)
