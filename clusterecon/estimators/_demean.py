"""Old name of :mod:`clusterecon.estimators.demean`, kept so that code written before the rename still imports;
new code imports ``.demean``."""

import sys

from . import demean

sys.modules[__name__] = demean
