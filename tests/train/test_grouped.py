"""Cells trained as one group compute what each computes alone (ppr.train.grouped vs ppr.train.trainer)."""

from __future__ import annotations

import math

import pytest
import torch
from _fit import CPU, trainer, validation, validation_probe
from _planted import planted_dataset

from ppr.data.splits import make_split
from ppr.data.store import Store
from ppr.eval.evaluate import validate_stacked
from ppr.spec.run import BackboneSpec, RunSpec, SplitSpec, TuneSpec, WarmSpec
from ppr.train import methods
from ppr.train.grouped import Cell, GroupTrainer
from ppr.train.trainer import Diverged

MODEL_D = 16
MAX_LEN = 4  # shorter than most histories: k=all makes more windows than k=1 (batches of other sizes)
WARM = RunSpec(
    "planted@v1",
    "test",
    SplitSpec(val_frac=0.2, folds=2),
    BackboneSpec(max_len=MAX_LEN, d=MODEL_D, n_layers=1, d_ff=32, dropout=0.2),
    WarmSpec(epochs=3, lr=1e-2),
)
GRID = [  # k-shot, noise, seed, fold: cells of different sizes, profiles, draws and users
    {"k_shot": 1},
    {"k_shot": 3, "noise": 0.3, "seed": 1},
    {"k_shot": None, "seed": 2, "fold": 1},
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    ds = planted_dataset(Store(tmp_path_factory.mktemp("home")), n_users=300)
    model = methods.warm_model(WARM, ds.n_items)
    trainer(WARM, ds, make_split(ds, WARM.split), model).fit()
    return ds, model.backbone


def _cell(world, tune: TuneSpec):
    ds, warmed = world
    spec = WARM.tuned(tune)
    split = make_split(ds, spec.split, fold=tune.fold)
    codes = methods.profile_codes(tune, ds, split)
    model = methods.tuned_model(tune, warmed, ds.cardinalities)
    return spec, split, codes, model


@pytest.mark.parametrize(
    ("method", "stacked"), [("ppr-full", True), ("ppr-light", True), ("finetune", True), ("ppr-full", False)]
)
def test_a_group_of_cells_trains_each_as_it_trains_alone(world, method: str, stacked: bool) -> None:
    """stacked: the cells' validation scores every cell in one vmapped call (else each cell's validate())."""
    ds, _ = world
    tunes = [TuneSpec(method=method, epochs=4, patience=2, lr=3e-3, batch_size=16, **cell) for cell in GRID]
    alone = []
    for tune in tunes:
        spec, split, codes, model = _cell(world, tune)
        fit = trainer(spec, ds, split, model, codes).fit()
        alone.append((fit, model.state_dict()))
    cells, rows, probes = [], [], []
    for tune in tunes:
        spec, split, codes, model = _cell(world, tune)
        rng, seed = methods.random_streams(spec)
        validate = validation(spec, model, split, codes)
        probes.append(validation_probe(spec, split, codes))
        sampler = methods.sampler(spec, split, ds.n_items)
        cells.append(Cell(model, methods.windows(spec, split), sampler, validate, rng, seed, codes))
    assert len({p.seqs.shape for p in probes}) == 3  # cells of other targets and history widths, padded
    spec = WARM.tuned(tunes[0])
    together = validate_stacked(probes, CPU) if stacked else None
    group = GroupTrainer(
        cells, methods.objective(spec), methods.schedule(spec), CPU, lambda i, r: rows.append((i, r)), together
    )
    fits = group.fit()
    assert len({len(c.windows) for c in cells}) >= 2  # the cells really differ in size
    for (fit, state), got, cell in zip(alone, fits, cells, strict=True):
        assert (got.best_epoch, got.epochs_run) == (fit.best_epoch, fit.epochs_run)
        for a, b in zip(fit.history, got.history, strict=True):
            assert a.keys() == b.keys()
            for k in a:
                if k not in ("seconds", "train_seconds") and a[k] == a[k]:
                    assert b[k] == pytest.approx(a[k], rel=1e-4, abs=1e-5), (k, a["epoch"])
        for name, t in cell.model.state_dict().items():
            if name.endswith("qkv.bias"):  # the key bias shifts a query's every score alike, which softmax ignores:
                keep = torch.ones(len(t), dtype=torch.bool)  # its gradient is float noise that Adam scales up
                keep[MODEL_D : 2 * MODEL_D] = False
                t, state[name] = t[keep], state[name][keep]
            torch.testing.assert_close(t, state[name], rtol=1e-4, atol=1e-5, msg=name)
    assert sorted({i for i, _ in rows}) == [0, 1, 2] and all(r["epoch"] == 0 for _, r in rows[:3])
    shared = [n for n, d in group.fixed_dims.items() if d is None and "backbone" in n]
    assert bool(shared) == (method == "ppr-light")  # the frozen backbone of one warm run is held once


def test_a_diverging_cell_fails_alone_and_the_others_train_on(world) -> None:
    ds, _ = world
    cells = []
    for seed in (0, 1):
        tune = TuneSpec(method="finetune", epochs=2, patience=5, batch_size=16, k_shot=3, seed=seed)
        spec, split, codes, model = _cell(world, tune)
        rng, _ = methods.random_streams(spec)
        windows, sampler = methods.windows(spec, split), methods.sampler(spec, split, ds.n_items)
        cells.append(Cell(model, windows, sampler, validation(spec, model, split, codes), rng, seed, codes))
    with torch.no_grad():
        cells[1].model.profile.net[2].bias.fill_(float("inf"))  # its every loss is NaN
    fits = GroupTrainer(cells, methods.objective(spec), methods.schedule(spec), CPU).fit()
    assert isinstance(fits[1], Diverged) and "diverged" in str(fits[1])
    assert fits[0].epochs_run == 2 and all(math.isfinite(r["loss"]) for r in fits[0].history[1:])
