"""The partition medians equal numpy's, without importing numpy.ma."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from enrich.numeric import median, medians
from tests.conftest import REPO


@pytest.mark.parametrize("rows", [1, 2, 3, 10, 11, 5000])
def test_medians_equal_numpys(rows):
    values = np.random.default_rng(rows).normal(size=(rows, 7)) * 100
    assert np.array_equal(medians(values), np.median(values, axis=0))
    assert median(values[:, 0]) == float(np.median(values[:, 0]))


def test_they_do_not_import_numpy_ma():
    code = ("import sys, numpy as np; from enrich.numeric import median, medians; "
            "medians(np.arange(12.0).reshape(6, 2)); median(np.arange(5.0)); print('numpy.ma' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
