"""Synthetic click data with planted structure, so the PPR method's claims are testable.

Real datasets cannot say *why* a profile helps; this generator can, because the
structure is planted and documented. The generative story (parameters in `Story`):

1. World. Items 1..I are dealt at random into C clusters (C = I // 40, clipped to
   1..50). Inside a cluster, items have Zipf popularity (weight 1 / rank**zipf_a over a
   random rank order): a long tail. Each cluster has a base appeal (normal logit) and
   one "successor" cluster (a single random cycle over the clusters).
2. Users. Four profile attributes with mixed cardinalities and skewed marginals:
   age_group (7 values), gender (2), occupation (21), region (10); some values are
   missing (age 5 %, occupation 10 %, region 3 %). Each attribute value carries a
   normal affinity vector over clusters; a user's taste over clusters is
   softmax(base + sum of the affinities of their known values + small user noise).
   So the profile alone predicts the first click's cluster far better than popularity.
3. Sequences. Length: with probability cold_share (20 %) a user is naturally cold
   (1..9 clicks, uniform); otherwise 10 + a lognormal tail, scaled so the overall
   mean is about `mean_len` (below a mean of ~10 more users are cold; 5 is the
   floor). The first click's cluster is drawn from the user's taste; each next click
   stays in the previous click's cluster (p_stay), moves to that cluster's successor
   (p_succ) or is a fresh draw from the taste (the rest). The item within the
   cluster is drawn by Zipf popularity. A user never clicks the same
   item twice (later repeats are dropped; a few extra clicks are drawn to make up).
4. Domains (`domains=2`, for cross-domain recommendation). Clusters alternate between a "source" and a
   "target" domain, and each target cluster has a source twin (clusters 2j and 2j+1). A user's personal taste
   (the noise term above, not given by the profile, and larger here: DOMAIN_STORY) is the same for a cluster and
   its twin, so what a user clicks in the source domain tells which target clusters they like beyond their
   profile: a signal that transfers. Popularity inside a cluster is flatter there (DOMAIN_STORY). The item table
   gets a `domain` column.
5. Time. Each user starts at a random second in 2020-2021; gaps are exponential,
   mostly short (within a session, mean 5 min) and sometimes long (new session,
   mean 2 days); gaps are floored to whole seconds, so a few ties occur.

Scale: users are drawn in fixed blocks of BLOCK_USERS, each from its own seeded
generator, and generated chunk by chunk with vectorised numpy (no per-user or
per-click Python loops); each chunk is appended to the output file. Memory is bounded
by the chunk size, and the output depends only on the seed, never on `chunk_users`.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ppr.data.readers import ML1M_OCCUPATIONS
from ppr.data.store import SYNTH_PREFIX, os_error_message, owner_tag
from ppr.errors import InputError
from ppr.log import Log

BLOCK_USERS = 256  # users per independently seeded block: output is chunk-size invariant
T0 = 1_577_836_800  # 2020-01-01 UTC
START_SPAN = 2 * 365 * 86_400
CHUNK_CLICKS = 1_500_000  # requested clicks per chunk at most (~400 MB of working arrays)
MAX_USERS, MAX_ITEMS, MAX_CLICKS = 100_000_000, 10_000_000, 2_000_000_000  # bounds of what can be asked for

AGE_GROUPS = ("under 18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+")
GENDERS = ("F", "M")
OCCUPATIONS = ML1M_OCCUPATIONS  # MovieLens-1M's occupation list: realistic labels
REGIONS = tuple(f"region {i:02d}" for i in range(1, 11))


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    values: tuple[str, ...]
    strength: float  # std of this attribute's affinity logits over clusters
    missing_share: float


@dataclass(frozen=True)
class Story:
    """Knobs of the generative story (see the module docstring)."""

    attributes: tuple[AttributeSpec, ...] = (
        AttributeSpec("age_group", AGE_GROUPS, 1.5, 0.05),
        AttributeSpec("gender", GENDERS, 1.0, 0.0),
        AttributeSpec("occupation", OCCUPATIONS, 1.3, 0.10),
        AttributeSpec("region", REGIONS, 0.8, 0.03),
    )
    items_per_cluster: int = 40
    max_clusters: int = 50
    zipf_a: float = 1.1
    base_scale: float = 0.5
    noise_scale: float = 0.5
    p_stay: float = 0.45
    p_succ: float = 0.15
    cold_share: float = 0.2
    cold_threshold: int = 10
    len_sigma: float = 1.0
    overdraw: float = 0.6  # extra clicks drawn per user to make up for dropped repeats
    click_gap_mean: float = 300.0
    session_gap_mean: float = 2 * 86_400.0
    p_new_session: float = 0.1


@dataclass(frozen=True)
class World:
    """Everything shared by all users: clusters, popularity, affinities."""

    n_clusters: int
    item_cluster: np.ndarray  # (I+1,) cluster of item id; [0] unused
    items_by_rank: np.ndarray  # item ids grouped by cluster, most popular first
    cluster_start: np.ndarray  # (C+1,) offsets into items_by_rank
    item_cdf: np.ndarray  # per-cluster popularity CDFs, cluster c shifted by +c
    base: np.ndarray  # (C,) cluster appeal logits
    marginals: tuple[np.ndarray, ...]  # per attribute value probabilities
    affinity: tuple[np.ndarray, ...]  # per attribute (cardinality, C) logits
    successor: np.ndarray  # (C,) successor cluster
    twin: np.ndarray  # (C,) the cluster whose personal taste a cluster shares (itself with one domain)
    domain: np.ndarray | None = None  # (C,) 0 = source, 1 = target; None: one domain


# Two domains: a personal taste (the part that transfers) that outweighs the profile's, clicks led by taste more than
# by the last click, and a flatter popularity, so that which clusters a user likes matters more than which items are
# popular. Measured: a user's share of source clicks in a cluster correlates 0.38 with their share of target clicks
# in its twin (tests/data/test_synth.py).
DOMAIN_STORY = Story(noise_scale=5.0, p_stay=0.3, p_succ=0.1, zipf_a=0.6)
DOMAIN_NAMES = ("source", "target")


def n_clusters_for(n_items: int, story: Story) -> int:
    return int(np.clip(n_items // story.items_per_cluster, 1, story.max_clusters))


def make_world(n_items: int, seed: int, story: Story, domains: int = 1) -> World:
    rng = np.random.default_rng([seed, 0])
    n_c = n_clusters_for(n_items, story)
    perm = rng.permutation(n_items) + 1
    groups = [perm[c::n_c] for c in range(n_c)]  # random order inside = popularity rank
    item_cluster = np.zeros(n_items + 1, dtype=np.int64)
    cdfs = []
    for c, members in enumerate(groups):
        item_cluster[members] = c
        w = 1.0 / np.arange(1, len(members) + 1) ** story.zipf_a
        cdf = np.cumsum(w) / w.sum()
        cdf[-1] = 1.0
        cdfs.append(cdf + c)
    sizes = np.array([len(g) for g in groups])
    cluster_start = np.concatenate([[0], np.cumsum(sizes)])
    base = rng.normal(0.0, story.base_scale, n_c)
    marginals = tuple(rng.dirichlet(np.full(len(a.values), 2.0)) for a in story.attributes)
    affinity = tuple(rng.normal(0.0, a.strength, (len(a.values), n_c)) for a in story.attributes)
    cycle = rng.permutation(n_c)
    successor = np.empty(n_c, dtype=np.int64)
    successor[cycle] = np.roll(cycle, -1)
    twin, domain = np.arange(n_c), None
    if domains == 2:  # clusters 2j (source) and 2j+1 (target) share the personal taste; no random draw
        domain = np.arange(n_c) % 2
        twin[domain == 1] -= 1
    return World(
        n_c,
        item_cluster,
        np.concatenate(groups),
        cluster_start,
        np.concatenate(cdfs),
        base,
        marginals,
        affinity,
        successor,
        twin,
        domain,
    )


def _length_params(mean_len: float, story: Story) -> tuple[float, float, float]:
    """(cold share, mu, sigma of the warm users' lognormal tail) so the mean is ~mean_len.

    Below ~10.5 clicks on average the cold share rises (to 100 % at mean 5, the floor).
    """
    cold_mean, warm_min = story.cold_threshold / 2, story.cold_threshold + 0.5
    cold_share = min(1.0, max(story.cold_share, (warm_min - mean_len) / (warm_min - cold_mean)))
    if cold_share >= 1.0:
        return 1.0, 0.0, story.len_sigma
    warm_mean = (mean_len - cold_share * cold_mean) / (1 - cold_share)
    tail_mean = max(warm_mean - story.cold_threshold + 0.5, 0.5)  # +0.5: floor() below
    return cold_share, math.log(tail_mean) - story.len_sigma**2 / 2, story.len_sigma


def _draw_block(
    seed: int, block: int, n: int, n_items: int, mean_len: float, world: World, story: Story
) -> dict[str, np.ndarray]:
    """Every random number block `block` needs, from its own generator."""
    rng = np.random.default_rng([seed, 1, block])
    codes = []
    for spec, p in zip(story.attributes, world.marginals, strict=True):
        c = rng.choice(len(spec.values), size=n, p=p)
        codes.append(np.where(rng.random(n) < spec.missing_share, -1, c))
    cold_share, mu, sigma = _length_params(mean_len, story)
    cold = rng.random(n) < cold_share
    lengths = np.where(
        cold,
        rng.integers(1, story.cold_threshold, n),
        story.cold_threshold + np.floor(rng.lognormal(mu, sigma, n)).astype(np.int64),
    )
    lengths = np.minimum(lengths, n_items)
    drawn = lengths + np.ceil(story.overdraw * lengths).astype(np.int64) + 2
    m = int(drawn.sum())
    return {
        "codes": np.stack(codes, axis=1),
        "noise": rng.normal(0.0, story.noise_scale, (n, world.n_clusters)),
        "lengths": lengths,
        "drawn": drawn,
        "start": rng.integers(T0, T0 + START_SPAN, n),
        "u_mode": rng.random(m),
        "u_taste": rng.random(m),
        "u_item": rng.random(m),
        "u_session": rng.random(m),
        "gap": rng.exponential(1.0, m),
    }


def _taste_cdf(codes: np.ndarray, noise: np.ndarray, world: World) -> np.ndarray:
    """Flattened per-user CDFs over clusters, row r shifted by +r (for one searchsorted)."""
    logits = world.base + noise[:, world.twin]
    for j, aff in enumerate(world.affinity):
        known = codes[:, j] >= 0
        logits[known] += aff[codes[known, j]]
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    cdf = np.cumsum(p, axis=1) / p.sum(axis=1, keepdims=True)
    cdf[:, -1] = 1.0
    return (cdf + np.arange(len(cdf))[:, None]).ravel()


def _pick(cdf_flat: np.ndarray, row: np.ndarray, u: np.ndarray, row_start: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw in row `row` of a flattened, row-shifted CDF; returns flat indices."""
    idx = np.searchsorted(cdf_flat, u + row, side="right")
    return np.clip(idx, row_start[row], row_start[row + 1] - 1)


def _clusters(d: dict[str, np.ndarray], user: np.ndarray, first: np.ndarray, world: World, story: Story) -> np.ndarray:
    """Cluster of every drawn click: fresh taste draw, stay, or successor, vectorised.

    A click's cluster is successor^k(last fresh cluster), k = successor moves since then,
    so a running max of fresh positions and a cumulative count replace the Markov loop.
    """
    n_users, n_c = d["noise"].shape
    p_fresh = 1.0 - story.p_stay - story.p_succ
    fresh = (d["u_mode"] < p_fresh) | first
    succ = ~fresh & (d["u_mode"] >= p_fresh + story.p_stay)
    taste = _taste_cdf(d["codes"], d["noise"], world)
    row_start = np.arange(n_users + 1) * n_c
    fresh_cluster = np.zeros(len(user), dtype=np.int64)
    fu = user[fresh]
    fresh_cluster[fresh] = _pick(taste, fu, d["u_taste"][fresh], row_start) - fu * n_c
    pos = np.arange(len(user))
    last_fresh = np.maximum.accumulate(np.where(fresh, pos, 0))
    n_succ = np.cumsum(succ)
    k = n_succ - n_succ[last_fresh]
    powers = np.empty((int(k.max()) + 1, n_c), dtype=np.int64)
    powers[0] = np.arange(n_c)
    for i in range(1, len(powers)):
        powers[i] = world.successor[powers[i - 1]]
    return powers[k, fresh_cluster[last_fresh]]


def _chunk(blocks: list[dict[str, np.ndarray]], world: World, story: Story) -> dict[str, np.ndarray]:
    """Turn one chunk's random draws into clicks: (local user, item, ts) plus user codes."""
    d = {key: np.concatenate([b[key] for b in blocks]) for key in blocks[0]}
    n_users = len(d["lengths"])
    user = np.repeat(np.arange(n_users), d["drawn"])
    starts = np.concatenate([[0], np.cumsum(d["drawn"])[:-1]])
    first = np.zeros(len(user), dtype=bool)
    first[starts] = True
    cluster = _clusters(d, user, first, world, story)
    flat = _pick(world.item_cdf, cluster, d["u_item"], world.cluster_start)
    item = world.items_by_rank[flat]
    keep = np.zeros(len(user), dtype=bool)  # first occurrence of each (user, item) ...
    keep[np.unique(user * (len(world.item_cluster)) + item, return_index=True)[1]] = True
    kept_before = np.cumsum(keep) - keep
    rank = kept_before - kept_before[starts][user]
    keep &= rank < d["lengths"][user]  # ... up to the user's drawn length
    user, item, first = user[keep], item[keep], first[keep]
    long_gap = d["u_session"][keep] < story.p_new_session
    scale = np.where(long_gap, story.session_gap_mean, story.click_gap_mean)
    gap = np.floor(d["gap"][keep] * scale).astype(np.int64)
    gap[first] = 0
    elapsed = np.cumsum(gap)
    ts = d["start"][user] + elapsed - elapsed[np.flatnonzero(first)][user]
    return {"user": user, "item": item, "ts": ts, "codes": d["codes"]}


class _TableSink:
    """Append Arrow tables to one Parquet or CSV file."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        if fmt == "parquet":
            self.writer = pq.ParquetWriter(path, schema, compression="zstd")
        else:
            self.writer = pacsv.CSVWriter(path, schema)

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(table)

    def close(self) -> None:
        self.writer.close()


def _user_table(first_id: int, codes: np.ndarray, story: Story) -> pa.Table:
    cols = {"user_id": pa.array(np.arange(first_id, first_id + len(codes)), pa.int64())}
    for j, spec in enumerate(story.attributes):
        labels = pa.array(spec.values, pa.string())
        c = codes[:, j]
        cols[spec.name] = labels.take(pa.array(np.where(c < 0, 0, c), mask=c < 0))
    return pa.table(cols)


def _item_table(world: World) -> pa.Table:
    ids = np.arange(1, len(world.item_cluster))
    cl = world.item_cluster[1:]
    columns = {
        "item_id": pa.array(ids, pa.int64()),
        "title": pa.array([f"Item {i} (cluster {c})" for i, c in zip(ids, cl, strict=True)]),
        "category": pa.array([f"cluster {c}" for c in cl]),
    }
    if world.domain is not None:
        columns["domain"] = pa.array(np.asarray(DOMAIN_NAMES)[world.domain[cl]].tolist(), pa.string())
    return pa.table(columns)


def _check_args(
    n_users: int, n_items: int, mean_len: float, seed: int, fmt: str, chunk_users: int, domains: int = 1
) -> None:
    for label, v, top in (
        ("n_users", n_users, MAX_USERS),
        ("n_items", n_items, MAX_ITEMS),
        ("chunk_users", chunk_users, MAX_USERS),
    ):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or not 1 <= v <= top:
            raise InputError(f"Synthetic data: {label} must be a whole number from 1 to {top:,}, got {v!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**63:
        raise InputError(f"Synthetic data: seed must be a whole number from 0 to 2**63-1, got {seed!r}.")
    if not (isinstance(mean_len, int | float) and math.isfinite(mean_len) and 1 <= mean_len <= 10_000):
        raise InputError(f"Synthetic data: mean_len must be a number from 1 to 10000, got {mean_len!r}.")
    if n_users * mean_len > MAX_CLICKS:
        raise InputError(
            f"Synthetic data: {n_users:,} users with {mean_len:g} clicks each on average is more than "
            f"{MAX_CLICKS:,} clicks; ask for fewer users or shorter sequences."
        )
    if fmt not in ("parquet", "csv"):
        raise InputError(f"Synthetic data: format must be 'parquet' or 'csv', got {fmt!r}.")
    if domains not in (1, 2):
        raise InputError(f"Synthetic data: domains must be 1 or 2, got {domains!r}.")
    if domains == 2 and n_items < 2 * DOMAIN_STORY.items_per_cluster:
        raise InputError(
            f"Synthetic data: two domains need at least {2 * DOMAIN_STORY.items_per_cluster} items (a cluster of "
            f"{DOMAIN_STORY.items_per_cluster} in each), got {n_items}."
        )


def generate(
    out_dir: Path,
    n_users: int,
    n_items: int,
    mean_len: float = 20,
    seed: int = 0,
    fmt: str = "parquet",
    chunk_users: int = 20_000,
    progress: Callable[[int, int], None] | None = None,
    story: Story | None = None,
    domains: int = 1,
) -> dict[str, Path]:
    """Write interactions / users / items files (user_id, item_id, timestamp; see module doc).

    Same arguments -> byte-identical files; `chunk_users` (lowered for long sequences so a
    chunk holds ~CHUNK_CLICKS clicks at most) bounds memory and never changes the data. progress(users_done, n_users) is called after each chunk.
    domains=2 deals the item clusters into a source and a target domain with a taste that transfers (step 4).
    """
    _check_args(n_users, n_items, mean_len, seed, fmt, chunk_users, domains)
    story = story or (DOMAIN_STORY if domains == 2 else Story())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {role: out_dir / f"{role}.{fmt}" for role in ("interactions", "users", "items")}
    world = make_world(n_items, seed, story, domains)
    inter_schema = pa.schema([("user_id", pa.int64()), ("item_id", pa.int64()), ("timestamp", pa.int64())])
    user_schema = _user_table(1, np.zeros((0, len(story.attributes)), dtype=np.int64), story).schema
    inter_sink = _TableSink(paths["interactions"], inter_schema, fmt)
    user_sink = _TableSink(paths["users"], user_schema, fmt)
    try:
        chunk_users = min(chunk_users, int(CHUNK_CLICKS / mean_len))  # long sequences: fewer users
        blocks_per_chunk = max(1, chunk_users // BLOCK_USERS)
        n_blocks = -(-n_users // BLOCK_USERS)
        for b0 in range(0, n_blocks, blocks_per_chunk):
            first_user = b0 * BLOCK_USERS
            blocks = []
            for b in range(b0, min(b0 + blocks_per_chunk, n_blocks)):
                n = min(BLOCK_USERS, n_users - b * BLOCK_USERS)
                blocks.append(_draw_block(seed, b, n, n_items, mean_len, world, story))
            out = _chunk(blocks, world, story)
            inter_sink.write(
                pa.table(
                    {
                        "user_id": pa.array(out["user"] + first_user + 1, pa.int64()),
                        "item_id": pa.array(out["item"], pa.int64()),
                        "timestamp": pa.array(out["ts"], pa.int64()),
                    },
                    schema=inter_schema,
                )
            )
            user_sink.write(_user_table(first_user + 1, out["codes"], story))
            if progress:
                progress(min(first_user + len(out["codes"]), n_users), n_users)
    finally:
        inter_sink.close()
        user_sink.close()
    items = _TableSink(paths["items"], _item_table(world).schema, fmt)
    items.write(_item_table(world))
    items.close()
    return paths


def synth_dataset(
    store: Any,
    name: str,
    n_users: int,
    n_items: int,
    mean_len: float = 20,
    seed: int = 0,
    if_exists: str = "new",
    progress: Callable[[int, int], None] | None = None,
    log: Log | None = None,
    domains: int = 1,
) -> Any:
    """Generate a synthetic dataset and import it into `store` as `name` -> Dataset.

    Goes through the ordinary importer, so synthetic data gets exactly the checks,
    id remapping and manifest that a user's own file would get (domains=2: the items file's
    `domain` column too).
    """
    from ppr.data.importers import import_dataset

    store.check_writable(name, if_exists)  # refuse before spending time generating
    _check_args(n_users, n_items, mean_len, seed, "parquet", 20_000, domains)
    try:
        store.home.mkdir(parents=True, exist_ok=True)
        scratch = tempfile.TemporaryDirectory(dir=store.home, prefix=SYNTH_PREFIX + owner_tag())
    except OSError as exc:
        raise InputError(os_error_message(exc, f"create a scratch folder under {store.home}")) from None
    with scratch as tmp:
        paths = generate(Path(tmp), n_users, n_items, mean_len, seed, "parquet", progress=progress, domains=domains)
        kwargs = {"log": log} if log else {}
        return import_dataset(
            store,
            name,
            interactions=paths["interactions"],
            users=paths["users"],
            items=paths["items"],
            user_col="user_id",
            item_col="item_id",
            time_col="timestamp",
            fmt="parquet",
            if_exists=if_exists,
            **kwargs,
        )
