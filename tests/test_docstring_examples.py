"""Every ``Examples`` section in the estimators' docstrings runs (the README command ``python -m pytest -n 2 -q``
executes them here), and README's Python block runs against a small simulated survey."""

import doctest
import importlib
import pkgutil

import pytest

import clusterecon.estimators as est

MODULES = sorted(m.name for m in pkgutil.iter_modules(est.__path__, est.__name__ + "."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name, globs=dict(vars(module))):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_every_public_estimator_has_a_runnable_example():
    """Every public function of clusterecon.estimators, structural breaks, the wild bootstrap and the GMM
    instrument builders included (they were exempt before)."""
    public = [n for n in est.__all__ if callable(getattr(est, n)) and not isinstance(getattr(est, n), type)]
    missing = [n for n in public if ">>>" not in (getattr(est, n).__doc__ or "")]
    assert not missing, f"public estimators without an Examples section: {missing}"
