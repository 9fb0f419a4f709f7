"""Old name of :mod:`clusterecon.estimators.linear`, kept so that code written before the rename still imports;
new code imports ``.linear``."""

import sys

from . import linear

sys.modules[__name__] = linear
