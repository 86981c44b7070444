"""The report's map by sound: a 2-D PCA of the stored feature vectors (pure)."""

from __future__ import annotations

import numpy as np

from enrich.browse.report import project


def test_points_on_a_plane_keep_their_distances():
    rng = np.random.default_rng(3)
    plane = rng.normal(size=(200, 2)) * [5.0, 1.0]
    basis = np.linalg.qr(rng.normal(size=(6, 6)))[0][:2]   # two orthonormal axes in six dimensions
    vectors = plane @ basis
    vectors /= vectors.std(axis=0)                          # already standardised: the plane stays a plane
    points = project(vectors)
    assert points.shape == (200, 2)

    def distances(a):
        return np.linalg.norm(a[:, None] - a[None], axis=-1)

    assert np.allclose(distances(points), distances(vectors - vectors.mean(axis=0)), atol=1e-9)
    assert points[:, 0].var() >= points[:, 1].var()          # the first axis carries the most variance


def test_constant_missing_and_tiny_inputs_give_finite_points():
    vectors = np.ones((5, 4))
    vectors[1, 2] = np.nan
    assert np.isfinite(project(vectors)).all()
    assert project(np.ones((1, 3))).shape == (1, 2)
    assert project(np.ones((3, 1))).shape == (3, 2)
