import numpy as np
import pytest
import torch

from ppr.train.batching import (
    NegativeSampler,
    build_windows,
    epoch_batches,
    history_matrix,
    iterate_batches,
    step_bounds,
    window_counts,
)


def _csr(lengths):
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    items = np.arange(1, offsets[-1] + 1, dtype=np.int64)  # distinct ids: position is recoverable
    return offsets, items


def _targets(w, zero_shot):
    """Every (user, item) pair the windows train on."""
    out = []
    for tok, u, z in zip(w.tokens, w.users, w.starts_at_zero, strict=True):
        real = tok[tok != 0]
        out += [(u, x) for x in real[1:]]
        if zero_shot and z:
            out.append((u, real[0]))
    return sorted(out)


def test_windows_cover_every_click_once():
    lengths = [1, 2, 5, 7, 12, 13]
    offsets, items = _csr(lengths)
    users = np.arange(len(lengths))
    for zero_shot in (False, True):
        w = build_windows(offsets, items, users, max_len=4, zero_shot=zero_shot)
        assert w.tokens.shape[1] == 5
        first = 0 if zero_shot else 1
        expect = sorted((u, x) for u in users for x in items[offsets[u] + first : offsets[u + 1]])
        assert _targets(w, zero_shot) == expect
        for tok in w.tokens:  # contiguous slices, right-padded
            real = tok[tok != 0]
            assert np.all(np.diff(real) == 1) and np.all(tok[len(real) :] == 0)


def test_latest_window_has_full_context_and_lengths_crop():
    offsets, items = _csr([12])
    w = build_windows(offsets, items, np.array([0]), max_len=4)
    assert w.tokens[0].tolist() == [8, 9, 10, 11, 12]
    w = build_windows(offsets, items, np.array([0]), max_len=4, lengths=np.array([10]))
    assert w.tokens.max() == 10 and len(w) == 3


def test_window_counts_are_the_windows_build_windows_makes():
    rng = np.random.default_rng(0)
    lengths = np.concatenate([[0, 1, 2, 3], rng.integers(0, 40, size=200)])
    offsets, items = _csr(lengths)
    users = np.arange(len(lengths))
    crop = rng.integers(0, 45, size=len(lengths))  # some above the user's length: build_windows clips them
    for max_len in (1, 2, 3, 7, 50):
        for zero_shot in (False, True):
            for n in (None, crop):
                w = build_windows(offsets, items, users, max_len, n, zero_shot)
                clicks = lengths if n is None else np.minimum(n, lengths)
                counts = window_counts(clicks, max_len, zero_shot)
                assert np.array_equal(np.bincount(w.users, minlength=len(users)), counts), (max_len, zero_shot)


def test_history_matrix_right_padded():
    offsets, items = _csr([3, 6])
    h = history_matrix(offsets, items, np.array([0, 1, 1]), np.array([0, 5, 2]), max_len=3)
    assert h.tolist() == [[0, 0, 0], [6, 7, 8], [4, 5, 0]]


def test_negatives_avoid_clicked_items_and_batches_trim():
    offsets = np.array([0, 3, 5])
    items = np.array([1, 2, 3, 4, 5])
    s = NegativeSampler(offsets, items, n_items=8)
    rng = np.random.default_rng(0)
    neg = s.sample(np.array([0] * 50 + [1] * 50), 6, rng)
    assert neg.min() >= 1 and neg.max() <= 8
    assert not np.isin(neg[:50], [1, 2, 3]).any() and not np.isin(neg[50:], [4, 5]).any()
    w = build_windows(offsets, items, np.array([0, 1]), max_len=10, zero_shot=True)
    (b,) = list(iterate_batches(w, 8, rng, s))
    rows = b.users.argsort()  # the epoch is shuffled: put user 0 first
    assert b.tokens.shape == (2, 3) and b.inputs.shape == (2, 2)
    assert b.tokens[rows].tolist() == [[1, 2, 3], [4, 5, 0]]
    assert b.target_mask[rows].tolist() == [[True, True, True], [True, True, False]]
    assert b.tokens.dtype == torch.long and b.codes is None
    assert not np.isin(b.negatives[rows[0]].numpy(), [1, 2, 3]).any()
    assert not np.isin(b.negatives[rows[1]].numpy(), [4, 5]).any()


def test_batches_cover_every_window_once_with_the_users_codes() -> None:
    offsets, items = _csr([3, 7, 2, 12, 5])
    users = np.array([4, 0, 3, 1])
    w = build_windows(offsets, items, users, max_len=3)
    codes = np.array([[1, 0], [2, 1], [0, 0], [3, 2], [4, 1]])
    sampler = NegativeSampler(offsets, items, n_items=int(offsets[-1]) + 5)
    batches = list(iterate_batches(w, 2, np.random.default_rng(1), sampler, codes=codes))
    assert [len(b.users) for b in batches] == [2] * (len(w) // 2) + [1] * (len(w) % 2)
    seen = sorted(tuple(t[t != 0].tolist()) for b in batches for t in b.tokens.numpy())
    assert seen == sorted(tuple(t[t != 0].tolist()) for t in w.tokens)
    for b in batches:
        assert torch.equal(b.codes, torch.as_tensor(codes)[b.users])
        assert not b.target_mask[:, 0].any()  # no zero-shot slot without zero-shot windows
    again = list(iterate_batches(w, 2, np.random.default_rng(1), sampler, codes=codes))
    assert all(
        torch.equal(a.tokens, c.tokens) and torch.equal(a.negatives, c.negatives)
        for a, c in zip(batches, again, strict=True)
    )
    other = list(iterate_batches(w, 2, np.random.default_rng(2), sampler, codes=codes))
    assert any(not torch.equal(a.users, c.users) for a, c in zip(batches, other, strict=True))


@pytest.mark.parametrize(
    ("n", "batch_size", "world"),
    [  # every process gets a window of every batch (the trainer refuses fewer windows or a smaller batch)
        (n, b, p) for n in (2, 3, 7, 64, 65, 66, 100, 129) for b in (2, 3, 8, 64) for p in (1, 2, 3) if min(n, b) >= p
    ],
)
def test_processes_share_each_epoch_once_in_equal_steps_of_the_global_batch(n, batch_size, world) -> None:
    order = np.random.default_rng(n).permutation(n)
    parts = [epoch_batches(order, batch_size, rank, world) for rank in range(world)]
    steps = len(step_bounds(n, batch_size, world)) - 1
    assert {len(p) for p in parts} == {steps}  # equal step counts: no process waits on a collective forever
    assert all(len(b) for p in parts for b in p)  # nobody steps on an empty batch
    taken = np.concatenate([b for p in parts for b in p])
    assert sorted(taken.tolist()) == list(range(n))  # every window exactly once
    for step in range(steps):  # the global batch is batch_size (the last may differ), split near-evenly
        sizes = [len(p[step]) for p in parts]
        assert max(sizes) - min(sizes) <= 1 and (sum(sizes) == batch_size or step == steps - 1)
        assert np.array_equal(np.concatenate([p[step] for p in parts]), order[step * batch_size :][: sum(sizes)])
    if world == 1:  # alone: the plain batches, as before data parallelism
        assert [b.tolist() for b in parts[0]] == [order[s : s + batch_size].tolist() for s in range(0, n, batch_size)]


def test_each_process_draws_its_own_negatives_and_keeps_the_shared_stream_in_step() -> None:
    offsets, items = _csr([9, 7, 12, 5, 8, 11])
    w = build_windows(offsets, items, np.arange(6), max_len=3)
    sampler = NegativeSampler(offsets, items, n_items=500)
    rngs = [np.random.default_rng(3) for _ in range(2)]
    shares = [list(iterate_batches(w, 4, rng, sampler, rank=r, world=2)) for r, rng in enumerate(rngs)]
    assert rngs[0].bit_generator.state == rngs[1].bit_generator.state  # the next epoch's order is shared
    users = [torch.cat([b.users for b in share]) for share in shares]
    assert sorted(torch.cat(users).tolist()) == sorted(w.users.tolist())
    negatives = [torch.cat([b.negatives.flatten() for b in share]) for share in shares]
    assert not torch.equal(negatives[0][:20], negatives[1][:20])


def test_a_pool_keeps_negatives_in_one_domain() -> None:
    offsets, items = np.array([0, 3, 5]), np.array([1, 2, 3, 7, 8])
    pool = np.array([2, 3, 4, 5, 6])
    neg = NegativeSampler(offsets, items, 10, pool=pool).sample(
        np.array([0] * 40 + [1] * 40), 5, np.random.default_rng(0)
    )
    assert np.isin(neg, pool).all() and not np.isin(neg[:40], [2, 3]).any() and set(np.unique(neg)) == {2, 3, 4, 5, 6}
