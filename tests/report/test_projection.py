"""2-D projections: shapes, seeded determinism, a planted two-cluster structure kept apart, and the disk cache."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ppr.errors import InputError
from ppr.report import projection
from ppr.report.projection import cached_only, cached_projection, exact_knn, pca_2d, place, project, projection_key


def two_clusters(n: int = 120, d: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs 10 standard deviations apart along a random direction; labels 0/1."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    direction = rng.normal(size=d)
    x = rng.normal(size=(n, d)) + np.outer(labels, 10 * direction / np.linalg.norm(direction))
    return x, labels


def separated(coords: np.ndarray, labels: np.ndarray) -> bool:
    """Every point is nearer its own cluster's centre than the other's (in the 2-D projection)."""
    centres = np.stack([coords[labels == c].mean(axis=0) for c in (0, 1)])
    dist = np.linalg.norm(coords[:, None, :] - centres[None], axis=2)
    return bool((dist.argmin(axis=1) == labels).all())


@pytest.mark.parametrize("method", ["pca", "umap"])
def test_planted_clusters_stay_apart_and_seed_repeats(method):
    x, labels = two_clusters()
    coords = project(x, method, seed=3)
    assert coords.shape == (len(x), 2) and coords.dtype == np.float32
    assert np.isfinite(coords).all()
    assert separated(coords, labels)
    assert np.array_equal(coords, project(x, method, seed=3))


def test_umap_seed_changes_the_layout():
    x, _ = two_clusters(n=60)
    assert not np.allclose(project(x, "umap", seed=0), project(x, "umap", seed=1))


def test_pca_is_the_top_two_components():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5))
    coords = pca_2d(x)
    centered = x - x.mean(axis=0)
    eigval, eigvec = np.linalg.eigh(np.cov(centered.T))
    top = eigvec[:, ::-1][:, :2]
    assert np.allclose(np.abs(coords), np.abs(centered @ top), atol=1e-4)
    assert np.allclose(coords.var(axis=0, ddof=1), eigval[::-1][:2], rtol=1e-4)
    # signs are fixed by the loadings, not by SVD's whim: mirrored data gives mirrored coordinates
    assert np.allclose(pca_2d(-x), -coords, atol=1e-4)
    # fewer points than dimensions (the SVD branch): same variances as the singular values say
    wide = rng.normal(size=(10, 30))
    sv = np.linalg.svd(wide - wide.mean(axis=0), compute_uv=False)
    assert np.allclose(pca_2d(wide).var(axis=0, ddof=1), sv[:2] ** 2 / 9, rtol=1e-4)
    # one-dimensional input: the second coordinate is zero rather than an error
    assert np.array_equal(pca_2d(x[:, :1])[:, 1], np.zeros(200, dtype=np.float32))


def test_exact_knn_matches_brute_force_across_blocks():
    x = np.random.default_rng(2).normal(size=(257, 6))
    idx, dist = exact_knn(x, 7, block=50)
    full = np.linalg.norm(x[:, None] - x[None], axis=2)
    assert np.array_equal(idx[:, 0], np.arange(257)) and np.array_equal(dist[:, 0], np.zeros(257, np.float32))
    assert np.array_equal(idx, np.argsort(full, axis=1, kind="stable")[:, :7])
    assert np.allclose(dist, np.sort(full, axis=1)[:, :7], atol=1e-4)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_tiny_inputs_still_give_points(n):
    x = np.random.default_rng(0).normal(size=(n, 8))
    for method in ("pca", "umap"):
        assert project(x, method).shape == (n, 2)


def test_bad_vectors_are_refused_with_the_row():
    x = np.ones((4, 3))
    x[2, 1] = np.nan
    with pytest.raises(InputError, match="row 2"):
        project(x, "pca")
    with pytest.raises(InputError, match="2-D"):
        project(np.ones(5), "pca")
    with pytest.raises(InputError, match="tsne"):
        project(np.ones((5, 2)), "tsne")


def test_cache_hit_returns_the_stored_array_without_recomputing(tmp_path: Path, monkeypatch):
    x, _ = two_clusters(n=40)
    calls = []
    real = projection.project
    monkeypatch.setattr(projection, "project", lambda *a, **k: calls.append(a[1]) or real(*a, **k))

    first = cached_projection(x, "umap", tmp_path, seed=0, n_neighbors=5)
    again = cached_projection(x.copy(), "umap", tmp_path, seed=0, n_neighbors=5)
    assert calls == ["umap"] and np.array_equal(first, again)
    assert [p.name.split("-")[0] for p in tmp_path.iterdir()] == ["umap"]  # no temp files left behind

    cached_projection(x, "umap", tmp_path, seed=1, n_neighbors=5)  # other settings: another entry
    cached_projection(x + 1e-9, "umap", tmp_path, seed=0, n_neighbors=5)  # other content: another entry
    cached_projection(x, "pca", tmp_path)
    cached_projection(x, "pca", tmp_path, seed=7)  # PCA ignores the seed: a hit
    assert calls == ["umap", "umap", "umap", "pca"]
    assert len(list(tmp_path.glob("*.npy"))) == 4


def test_cached_only_reads_without_computing(tmp_path: Path, monkeypatch):
    x, _ = two_clusters(n=40)
    assert cached_only(x, "umap", tmp_path, n_neighbors=5) is None
    assert not list(tmp_path.iterdir())  # nothing computed, nothing written
    stored = cached_projection(x, "umap", tmp_path, n_neighbors=5)
    monkeypatch.setattr(projection, "project", lambda *a, **k: pytest.fail("cached_only computed"))
    assert np.array_equal(cached_only(x, "umap", tmp_path, n_neighbors=5), stored)
    assert cached_only(x, "umap", tmp_path, n_neighbors=6) is None  # other settings: not cached


def test_place_is_exact_for_pca_and_a_neighbour_mean_for_umap():
    x, _ = two_clusters(n=60)
    coords = pca_2d(x)
    for i in (0, 17):  # a projected vector placed again lands on its own point
        assert np.allclose(place(x[i], x, coords, "pca"), coords[i], atol=1e-4)
    new = x[:5].mean(axis=0) + 0.3
    centered = x - x.mean(axis=0)
    top = np.linalg.svd(centered, full_matrices=False)[2][:2]
    signs = np.sign((centered @ top.T * coords).sum(axis=0))  # orient the independent axes like pca_2d's
    assert np.allclose(place(new, x, coords, "pca"), signs * ((new - x.mean(axis=0)) @ top.T), atol=1e-4)

    layout = np.arange(120, dtype=np.float32).reshape(60, 2)  # any 2-D layout: placement averages it
    near = np.argsort(np.linalg.norm(x - new, axis=1))[:10]
    assert np.allclose(place(new, x, layout, "umap"), layout[near].mean(axis=0))
    with pytest.raises(InputError, match="dimensions"):
        place(new[:3], x, coords, "pca")


def test_unreadable_cache_entry_is_recomputed(tmp_path: Path):
    x, _ = two_clusters(n=30)
    path = tmp_path / f"pca-{projection_key(x, 'pca')[:40]}.npy"
    path.write_bytes(b"not an npy file")
    coords = cached_projection(x, "pca", tmp_path)
    assert np.array_equal(coords, pca_2d(x))
    assert np.array_equal(np.load(path, allow_pickle=False), coords)


def test_unknown_setting_is_refused(tmp_path: Path):
    with pytest.raises(InputError, match="min_dst"):
        cached_projection(np.ones((5, 2)), "umap", tmp_path, min_dst=0.5)


CONCURRENT = """
import threading
import numpy as np
from ppr.report.projection import project
x = np.random.default_rng(0).normal(size=(200, 8))
out = {}
threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, project(x, "umap", seed=0))) for i in range(3)]
[t.start() for t in threads]
[t.join() for t in threads]
assert len(out) == 3 and all(np.array_equal(out[0], o) for o in out.values())
"""


def test_umap_from_several_threads_at_once_does_not_abort():
    """Streamlit runs sessions on threads; numba's workqueue layer would abort the process (in a child here)."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", CONCURRENT], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
