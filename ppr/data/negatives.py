"""Sampled evaluation candidates: items a user never clicked, drawn once and stored.

Every method is scored against the same negatives, so comparisons are paired and
not noisy. Sampling is vectorised: candidates are drawn in bulk for many target
rows at once, clicked items are rejected through a sorted array of
``user * (n_items + 1) + item`` keys (``np.searchsorted``), duplicates within a row
are rejected, and only the rows left short are drawn again. Rows whose user has
clicked most of the catalogue fall back to an exact draw (random keys over every
item, clicked ones pushed to the end), so the sampler never spins.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ppr.errors import InputError

_CHUNK_ROWS = 32_768  # rows per bulk draw: bounds memory at any dataset size
_EXACT_CELLS = 16_000_000  # random keys per exact-fallback chunk
_ROUNDS = 4  # bulk rounds (candidate width doubles each round) before the exact fallback
_MIN_ACCEPT = 0.25  # rows whose user left fewer than this share of items unclicked go exact at once


def clicked_keys(offsets: np.ndarray, items: np.ndarray, n_items: int) -> np.ndarray:
    """Sorted, distinct ``user * (n_items + 1) + item`` keys of every click (int64)."""
    n_users = len(offsets) - 1
    keys = np.repeat(np.arange(n_users, dtype=np.int64) * (n_items + 1), np.diff(offsets))
    keys += items  # in place: one array of the clicks' size (8 bytes a click), sorted in place too
    keys.sort()
    keep = np.empty(len(keys), dtype=bool)
    keep[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys if keep.all() else keys[keep]


def sample_negatives(
    offsets: np.ndarray,
    items: np.ndarray,
    n_items: int,
    row_users: np.ndarray,
    n: int,
    seed: int,
    describe_user: Callable[[int], str] | None = None,
    pool: np.ndarray | None = None,
) -> np.ndarray:
    """(len(row_users), n) int32: per row, n distinct items its user never clicked.

    `offsets`/`items` must be the FULL (uncropped) click history, so a simulated cold
    user never gets an item as a negative that they clicked after the crop.
    pool: (n_items + 1,) bool, the items negatives are drawn from (a cross-domain target's: its domain's); None = all.
    Raises InputError when a user has clicked so much that fewer than n items remain.
    """
    if pool is not None:
        offsets, items, n_items, ids = _pooled(offsets, items, pool)
        return ids[sample_negatives(offsets, items, n_items, row_users, n, seed, describe_user)]
    row_users = np.asarray(row_users, dtype=np.int64)
    out = np.zeros((len(row_users), n), dtype=np.int32)
    if len(row_users) == 0:
        return out
    keys = clicked_keys(offsets, items, n_items)
    n_clicked = np.bincount(keys // (n_items + 1), minlength=len(offsets) - 1)
    _check_pool(np.unique(row_users), n_clicked, n_items, n, describe_user)
    rng = np.random.default_rng(seed)
    accept = (n_items - n_clicked[row_users]) / n_items
    exact = accept < _MIN_ACCEPT
    bulk_rows = np.flatnonzero(~exact)
    for start in range(0, len(bulk_rows), _CHUNK_ROWS):
        rows = bulk_rows[start : start + _CHUNK_ROWS]
        short = _fill_bulk(rng, out, rows, row_users, accept, keys, n_items, n)
        exact[short] = True
    exact_rows = np.flatnonzero(exact)
    per_chunk = max(1, _EXACT_CELLS // max(n_items, 1))
    for start in range(0, len(exact_rows), per_chunk):
        rows = exact_rows[start : start + per_chunk]
        out[rows] = _draw_exact(rng, row_users[rows], keys, n_items, n)
    return out


def check_negatives(
    offsets: np.ndarray,
    items: np.ndarray,
    n_items: int,
    users: np.ndarray,
    n: int,
    describe_user: Callable[[int], str] | None = None,
    pool: np.ndarray | None = None,
) -> None:
    """InputError unless every one of `users` left at least n items unclicked (of `pool`; what sample_negatives
    needs)."""
    if pool is not None:
        offsets, items, n_items, _ = _pooled(offsets, items, pool)
    keys = clicked_keys(offsets, items, n_items)
    n_clicked = np.bincount(keys // (n_items + 1), minlength=len(offsets) - 1)
    _check_pool(np.unique(np.asarray(users, dtype=np.int64)), n_clicked, n_items, n, describe_user)


def _pooled(offsets: np.ndarray, items: np.ndarray, pool: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """The clicks on `pool`'s items renumbered 1..P: (offsets, items, P, id of each new number (0: padding))."""
    ids = np.flatnonzero(pool).astype(np.int32)
    number = np.zeros(len(pool), dtype=np.int32)
    number[ids] = np.arange(1, len(ids) + 1, dtype=np.int32)
    keep = pool[items]
    owner = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))[keep]
    new = np.zeros(len(offsets), dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=len(offsets) - 1), out=new[1:])
    return new, number[items[keep]], len(ids), np.concatenate([[0], ids]).astype(np.int32)


def _check_pool(
    users: np.ndarray,
    n_clicked: np.ndarray,
    n_items: int,
    n: int,
    describe_user: Callable[[int], str] | None,
) -> None:
    free = n_items - n_clicked[users]
    bad = users[free < n]
    if len(bad) == 0:
        return
    u = int(bad[0])
    who = describe_user(u) if describe_user else f"user {u}"
    raise InputError(
        f"Cannot sample {n} negative items for {who}: they clicked {int(n_clicked[u])} of the "
        f"{n_items} items, leaving only {n_items - int(n_clicked[u])} never-clicked items "
        f"({len(bad)} user(s) are short like this). Use fewer negatives per target, or a dataset "
        "with a larger item catalogue."
    )


def _fill_bulk(
    rng: np.random.Generator,
    out: np.ndarray,
    rows: np.ndarray,
    row_users: np.ndarray,
    accept: np.ndarray,
    keys: np.ndarray,
    n_items: int,
    n: int,
) -> np.ndarray:
    """Fill `out[rows]` by rejection rounds; returns the rows still short afterwards."""
    worst = float(np.quantile(accept[rows], 0.1))
    width = int(np.ceil(1.2 * n / worst)) + 16
    pending = rows
    for _ in range(_ROUNDS):
        ok, drawn = _draw_bulk(rng, row_users[pending], keys, n_items, n, width)
        out[pending[ok]] = drawn
        pending = pending[~ok]
        if len(pending) == 0:
            break
        width *= 2
    return pending


def _draw_bulk(
    rng: np.random.Generator,
    users: np.ndarray,
    keys: np.ndarray,
    n_items: int,
    n: int,
    width: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One bulk round: (rows that got n valid candidates, their first n valid candidates)."""
    cand = rng.integers(1, n_items + 1, size=(len(users), width), dtype=np.int64)
    # Sort each row once (item * width + column keeps the column: far faster than argsort);
    # sorted probes make searchsorted cache-friendly and put duplicates side by side.
    packed = np.sort(cand * width + np.arange(width), axis=1)
    ranked, column = np.divmod(packed, width)
    del packed
    probe = users[:, None] * (n_items + 1) + ranked
    bad = _clicked(_keys_of(keys, users, n_items), probe)
    del probe
    bad[:, 1:] |= ranked[:, 1:] == ranked[:, :-1]  # later copies of an item (column order kept)
    valid = np.empty_like(bad)
    np.put_along_axis(valid, column, ~bad, axis=1)
    seen = np.cumsum(valid, axis=1, dtype=np.int32)
    ok = seen[:, -1] >= n
    take = valid[ok] & (seen[ok] <= n)
    return ok, cand[ok][take].reshape(-1, n).astype(np.int32)


def _keys_of(keys: np.ndarray, users: np.ndarray, n_items: int) -> np.ndarray:
    """The part of `keys` between the lowest and the highest of `users` (a view): the rows of a chunk hold
    neighbouring users, so their probes search a short, cache-friendly stretch instead of every click."""
    lo, hi = np.searchsorted(keys, [users.min() * (n_items + 1), (users.max() + 1) * (n_items + 1)])
    return keys[lo:hi]


def _clicked(keys: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """Whether each probe key is one of the sorted `keys`."""
    if not len(keys):
        return np.zeros(probe.shape, dtype=bool)
    at = np.searchsorted(keys, probe)
    np.minimum(at, len(keys) - 1, out=at)
    return keys[at] == probe


def _draw_exact(rng: np.random.Generator, users: np.ndarray, keys: np.ndarray, n_items: int, n: int) -> np.ndarray:
    """Exact draw for users who clicked much of the catalogue: random keys, clicked last."""
    noise = rng.random((len(users), n_items))
    lo = np.searchsorted(keys, users * (n_items + 1))
    hi = np.searchsorted(keys, (users + 1) * (n_items + 1))
    counts = hi - lo
    row = np.repeat(np.arange(len(users)), counts)
    first = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    clicked = keys[first + np.arange(counts.sum())] - users[row] * (n_items + 1)
    noise[row, clicked - 1] = 2.0  # above every uniform draw: never among the n smallest
    pick = np.argpartition(noise, n - 1, axis=1)[:, :n]
    pick = np.take_along_axis(pick, np.argsort(np.take_along_axis(noise, pick, 1), axis=1), 1)
    return (pick + 1).astype(np.int32)
