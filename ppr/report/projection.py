"""2-D projections of vectors (PCA instantly, UMAP seeded) and a disk cache keyed by content and settings.

Why a cache: UMAP of a few thousand users takes seconds (plus numba's JIT on first use), and the
Prompt explorer asks for the same run's coordinates on every rerun and from every process (the run
worker computes them after training, the app reads them back). The key is the vectors' content hash,
so a changed run or a different vector kind never reads stale coordinates.

Threads: numba's default layer choice may pick "workqueue", which aborts the process when two threads
launch parallel kernels at once (Streamlit runs each session on its own thread). "threadsafe" picks TBB
if present, else OpenMP, both safe across threads; runs are started with spawn/Popen, never fork, so
OpenMP's fork caveat does not apply. An explicit NUMBA_THREADING_LAYER in the environment wins.

Determinism: with random_state set, umap-learn runs its layout single-threaded (it forces n_jobs=1 and
warns otherwise), so we pass n_jobs=1 ourselves: same vectors and seed give the same coordinates on a
given machine. Up to EXACT_KNN_MAX points the neighbours are exact (our blockwise kNN, see exact_knn),
so no approximate search enters either. bench/app_speed.py: 5k users x 64-d in about 7 s on 2 busy cores.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Literal

import numpy as np

from ppr.errors import InputError
from ppr.io import atomic_write_bytes

Method = Literal["umap", "pca"]
METHODS = ("umap", "pca")
UMAP_DEFAULTS = {"seed": 0, "n_neighbors": 15, "min_dist": 0.1, "n_epochs": 200}
EXACT_KNN_MAX = 30_000  # above: umap's approximate kNN (pynndescent), whose per-process compile is then worth it


def project(
    vectors: np.ndarray,
    method: Method = "umap",
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    n_epochs: int = 200,
) -> np.ndarray:
    """(n, d) vectors -> (n, 2) float32 coordinates. PCA ignores the UMAP settings.

    n_epochs=200 is umap-learn's own choice above 10k points; its 500 below that costs 2.5x the
    layout time for a scatter plot that looks the same.
    """
    x = _checked(vectors, method)
    if method == "pca" or len(x) < 4:  # UMAP's spectral layout needs a few points; PCA is exact there
        return pca_2d(x)
    return _umap_2d(x, seed, n_neighbors, min_dist, n_epochs)


def pca_2d(x: np.ndarray) -> np.ndarray:
    """First two principal components (scores), signs fixed so the result does not flip between calls."""
    mean, axes = pca_basis(x)
    out = np.zeros((len(x), 2), dtype=np.float32)
    out[:, : axes.shape[1]] = (x - mean) @ axes
    return out


def pca_basis(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), axes (d, <=2)) of pca_2d: a new vector v lands at (v - mean) @ axes, exactly.

    Through the d x d scatter matrix when d <= n: an eigh of 64 x 64 takes milliseconds, where an
    SVD of the n x d data took 1-2 s at 20k rows on busy cores (the "instant" fallback must be).
    """
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    centered = x - mean
    if centered.shape[1] <= len(centered):
        axes = np.linalg.eigh(centered.T @ centered)[1][:, ::-1][:, :2]
    else:
        axes = np.linalg.svd(centered, full_matrices=False)[2][:2].T
    signs = np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])
    signs[signs == 0] = 1.0
    return mean, axes * signs


def place(new: np.ndarray, vectors: np.ndarray, coords: np.ndarray, method: Method, k: int = 10) -> np.ndarray:
    """2-D position of a vector that was not projected: exact for PCA (same basis), and for UMAP the
    mean position of its k nearest `vectors` (an approximation: UMAP has no exact out-of-sample map here)."""
    v = np.asarray(new, dtype=np.float64).reshape(-1)
    x = np.asarray(vectors, dtype=np.float64)
    if v.shape[0] != x.shape[1]:
        raise InputError(f"Vector to place has {v.shape[0]} dimensions; the projected vectors have {x.shape[1]}.")
    if method == "pca" or len(x) < 4:  # project() used PCA below 4 points too
        mean, axes = pca_basis(x)
        out = np.zeros(2, dtype=np.float32)
        out[: axes.shape[1]] = (v - mean) @ axes
        return out
    near = np.argsort(((x - v) ** 2).sum(axis=1), kind="stable")[: min(k, len(x))]
    return np.asarray(coords, dtype=np.float32)[near].mean(axis=0)


def _umap_2d(x: np.ndarray, seed: int, n_neighbors: int, min_dist: float, n_epochs: int) -> np.ndarray:
    umap = _import_umap()
    k = max(2, min(n_neighbors, len(x) - 1))
    knn = exact_knn(x, k) if len(x) <= EXACT_KNN_MAX else (None, None, None)
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=k,
        min_dist=min_dist,
        n_epochs=n_epochs,
        random_state=seed,
        n_jobs=1,
        low_memory=True,
        precomputed_knn=knn,
    )
    with warnings.catch_warnings():  # no search index with our kNN (no .transform needed), small-n notes
        warnings.simplefilter("ignore", UserWarning)
        return np.asarray(reducer.fit_transform(x), dtype=np.float32)


def exact_knn(x: np.ndarray, k: int, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean k nearest neighbours, each point its own first (umap-learn's kNN format).

    Why not umap's own: above 4,096 points it switches to pynndescent, whose functions are built
    by factories numba cannot cache: ~80 s of compilation in every new process on this CPU, against
    a few seconds for this blockwise matrix product up to EXACT_KNN_MAX points.
    """
    x32 = np.ascontiguousarray(x, dtype=np.float32)
    sq = np.einsum("ij,ij->i", x32, x32)
    idx = np.empty((len(x32), k), dtype=np.int64)
    dist = np.empty((len(x32), k), dtype=np.float32)
    for start in range(0, len(x32), block):
        rows = slice(start, min(start + block, len(x32)))
        d2 = sq[rows, None] + sq[None, :] - 2.0 * (x32[rows] @ x32.T)
        d2[np.arange(d2.shape[0]), np.arange(rows.start, rows.stop)] = -1.0  # self first, at distance 0
        near = np.argpartition(d2, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(d2, near, axis=1).argsort(axis=1, kind="stable")
        idx[rows] = np.take_along_axis(near, order, axis=1)
        dist[rows] = np.sqrt(np.maximum(np.take_along_axis(d2, idx[rows], axis=1), 0.0))
    return idx, dist


@functools.cache
def _import_umap():
    """Import umap once per process: thread-safe numba layer, and its jitted functions cached on disk.

    umap-learn 0.5.12 jits about a hundred functions without cache=True: every new process (each app
    server, each run worker) paid ~25 s of compilation on its first fit on this CPU. Turning numba's
    disk cache on for them cuts that to ~1 s after the first process. A function numba cannot cache
    (no writable cache folder) just compiles as before.
    """
    import numba  # here, not at the top: PCA-only callers (the app's first paint) skip numba's import
    from numba.core.dispatcher import Dispatcher

    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "threadsafe"
    import umap

    for name, module in list(sys.modules.items()):
        if name == "umap" or name.startswith("umap."):
            for obj in list(vars(module).values()):
                if isinstance(obj, Dispatcher) and obj.py_func.__module__ == name:
                    with contextlib.suppress(RuntimeError):  # "no locator available": nowhere to write
                        obj.enable_caching()
    return umap


def _checked(vectors: np.ndarray, method: str) -> np.ndarray:
    if method not in METHODS:
        raise InputError(f"Projection method {method!r} is unknown; expected one of {', '.join(METHODS)}.")
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise InputError(f"Vectors to project must be a non-empty 2-D array (users x dimensions); got shape {x.shape}.")
    if not np.isfinite(x).all():
        bad = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
        raise InputError(f"Vectors to project must be finite; row {bad} holds NaN or infinity.")
    return x


def projection_key(vectors: np.ndarray, method: Method, **settings: float) -> str:
    """Hex key of (content of the vectors, method, the settings that method uses)."""
    x = np.ascontiguousarray(vectors, dtype=np.float64)
    used = {} if method == "pca" else {**UMAP_DEFAULTS, **settings}
    h = hashlib.sha256()
    h.update(json.dumps({"method": method, "shape": x.shape, "settings": used}, sort_keys=True).encode())
    h.update(x.tobytes())
    return h.hexdigest()


def cached_projection(vectors: np.ndarray, method: Method, cache_dir: Path, **settings: float) -> np.ndarray:
    """project() through a cache of .npy files in cache_dir; a missing or unreadable entry is recomputed."""
    path = _cache_path(vectors, method, cache_dir, settings)
    if (hit := _load(path, len(vectors))) is not None:
        return hit
    coords = project(vectors, method, **settings)
    buf = io.BytesIO()
    np.save(buf, coords, allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue())
    return coords


def cached_only(vectors: np.ndarray, method: Method, cache_dir: Path, **settings: float) -> np.ndarray | None:
    """The cached coordinates, or None without computing (the page shows PCA meanwhile)."""
    return _load(_cache_path(vectors, method, cache_dir, settings), len(vectors))


def _cache_path(vectors: np.ndarray, method: Method, cache_dir: Path, settings: dict[str, float]) -> Path:
    unknown = set(settings) - set(UMAP_DEFAULTS)
    if unknown:
        raise InputError(f"Unknown projection settings {sorted(unknown)}; expected some of {sorted(UMAP_DEFAULTS)}.")
    _checked(vectors, method)
    return Path(cache_dir) / f"{method}-{projection_key(vectors, method, **settings)[:40]}.npy"


def _load(path: Path, n: int) -> np.ndarray | None:
    try:
        coords = np.load(path, allow_pickle=False)
    except (OSError, ValueError):  # absent, truncated by a crash of an older writer, or not an .npy
        return None
    return coords if coords.shape == (n, 2) else None
