"""Metric MDS by SMACOF (:mod:`rmnb.analysis.smacof`) on configurations whose layout is known."""

import numpy as np
import pandas as pd
import pytest

from rmnb.analysis import smacof
from rmnb.base.errors import RmnbError


def _distances(x):
    return np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))


def test_classical_and_smacof_mds_recover_a_planar_configuration():
    points = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [3.0, 4.0], [1.0, 1.0]])
    d = _distances(points)
    np.testing.assert_allclose(_distances(smacof.classical_mds(d)), d, atol=1e-8)
    x, stress = smacof.smacof(d)
    assert stress < 1e-3 * (d ** 2).sum()
    np.testing.assert_allclose(_distances(x), d, atol=0.05)
    x2, stress2 = smacof.smacof(d)  # random_state 42: the same layout every time
    np.testing.assert_array_equal(x, x2)
    assert stress2 == stress


def test_mds_on_one_minus_tau():
    tau = pd.DataFrame([[1.0, 0.8, 0.2], [0.8, 1.0, 0.3], [0.2, 0.3, 1.0]], index=list("abc"), columns=list("abc"))
    pos, stress = smacof.mds(tau)
    assert list(pos.model) == list("abc")
    np.testing.assert_allclose(pos[["x", "y"]].mean(), 0.0, atol=1e-12)  # centred
    dist = smacof.embedding_distances(pos)
    np.testing.assert_allclose(dist.to_numpy(), 1 - tau.to_numpy(), atol=0.02)  # three points fit a plane exactly
    one, _ = smacof.mds(tau.loc[["a"], ["a"]])
    assert one[["x", "y"]].abs().to_numpy().max() == 0
    with pytest.raises(RmnbError, match="symmetric"):
        smacof.smacof(np.array([[0.0, 1.0], [2.0, 0.0]]))
