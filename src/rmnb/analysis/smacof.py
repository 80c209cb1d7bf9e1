"""Metric multidimensional scaling (MDS) by SMACOF, implemented with numpy as scikit-learn runs it: the models of a
token search placed in two dimensions on the dissimilarity ``1 - tau`` (:func:`mds`, FAccT Figure 2b, with
``random_state=42``), Torgerson's classical scaling (:func:`classical_mds`) and the embedding's own distances.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rmnb.base.errors import RmnbError


def classical_mds(dissimilarity, n_components: int = 2) -> np.ndarray:
    """Torgerson's classical scaling: the top eigenvectors of the double-centred squared dissimilarities."""
    d = np.asarray(dissimilarity, float)
    n = d.shape[0]
    j = np.eye(n) - np.ones((n, n)) / n
    b = -0.5 * j @ (d ** 2) @ j
    values, vectors = np.linalg.eigh(b)
    order = np.argsort(values)[::-1][:n_components]
    return vectors[:, order] * np.sqrt(np.clip(values[order], 0, None))


def _smacof_once(d: np.ndarray, x: np.ndarray, max_iter: int, eps: float) -> tuple[np.ndarray, float]:
    n = d.shape[0]
    previous = None
    stress = np.inf
    for _ in range(max_iter):
        dist = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
        stress = float(((dist - d) ** 2).sum() / 2)
        dist[dist == 0] = 1e-5
        b = -d / dist
        b[np.arange(n), np.arange(n)] += -b.sum(axis=1)  # the Guttman transform's B matrix (diagonal: row sums)
        x = b @ x / n
        scaled = stress / np.sqrt((x ** 2).sum(axis=1)).sum()
        if previous is not None and previous - scaled < eps:
            break
        previous = scaled
    return x, stress


def smacof(dissimilarity, n_components: int = 2, n_init: int = 4, max_iter: int = 300, eps: float = 1e-3,
           random_state: int = 42) -> tuple[np.ndarray, float]:
    """Metric MDS by SMACOF, as scikit-learn's ``MDS(dissimilarity="precomputed", random_state=42)`` runs it:
    ``n_init`` uniform random starts seeded from ``random_state``, the lowest raw stress wins."""
    d = np.asarray(dissimilarity, float)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or not np.allclose(d, d.T):
        raise RmnbError("MDS needs a square, symmetric dissimilarity matrix.")
    n = d.shape[0]
    if n == 1:
        return np.zeros((1, n_components)), 0.0
    rng = np.random.RandomState(random_state)
    best, best_stress = None, np.inf
    for seed in rng.randint(np.iinfo(np.int32).max, size=n_init):
        start = np.random.RandomState(seed).uniform(size=n * n_components).reshape(n, n_components)
        x, stress = _smacof_once(d, start, max_iter, eps)
        if stress < best_stress:
            best, best_stress = x, stress
    return best, best_stress


def mds(tau: pd.DataFrame, random_state: int = 42) -> tuple[pd.DataFrame, float]:
    """Two-dimensional metric MDS of the models on the dissimilarity ``1 - tau`` (FAccT Figure 2b).
    Returns ``model, x, y`` (centred) and the final stress."""
    d = 1 - tau.to_numpy(float)
    np.fill_diagonal(d, 0.0)
    d = (d + d.T) / 2
    x, stress = smacof(d, random_state=random_state)
    x = x - x.mean(axis=0)
    return pd.DataFrame({"model": list(tau.index), "x": x[:, 0], "y": x[:, 1]}), stress


def embedding_distances(positions: pd.DataFrame) -> pd.DataFrame:
    """Pairwise Euclidean distances of an MDS embedding (to compare with ``1 - tau``)."""
    xy = positions[["x", "y"]].to_numpy(float)
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    return pd.DataFrame(dist, index=positions.model, columns=positions.model)
