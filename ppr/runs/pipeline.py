"""Compute a run from its RunSpec: split, model, training, evaluation, and the files of its folder.

The one path for warm-training and every tuning method, whoever asks (`python -m ppr warm/tune`,
the background worker, the benches): a tuning run first computes (or reuses) its warm run; a
complete run is reused, never trained again; an interrupted one continues from its epoch
checkpoint. What a method builds, trains and optimises is ppr.train.methods'; the loop is
ppr.train.trainer's; scoring is ppr.eval's.

A warm run may be trained by several processes at once (torchrun, DDP: `compute_shared`): rank 0 computes
it as `compute` does and alone writes its folder; the others join its training when rank 0 says it trains.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from ppr.data.splits import ROLE_TUNE, ROLE_WARM, Split, make_split
from ppr.data.store import Dataset, Store
from ppr.errors import InputError
from ppr.eval.evaluate import Probe, evaluate, probe, summarize_scores, validation
from ppr.eval.scoring import user_vectors
from ppr.log import Log, to_stderr
from ppr.models.popularity import SMOOTHING, CountModel
from ppr.models.recommender import ColdStartRecommender
from ppr.models.registry import build_backbone
from ppr.runs.folder import Damaged, RunFolder
from ppr.runs.imported import not_computed
from ppr.runs.outputs import embeddings_frame
from ppr.runs.status import append_metrics
from ppr.runs.tracking import library_versions, record_checkpoint, record_epoch, tracked
from ppr.spec.run import COUNTED, IMPORTED, OWN_MODELS, RunSpec
from ppr.train import methods
from ppr.train.device import pick_device
from ppr.train.distributed import ALONE, World
from ppr.train.trainer import Fit, Trainer

VALIDATION = {"warm": "warm_val", "tune": "val"}
EVALUATED = {"warm": ("warm_val", "warm_test"), "tune": ("test", "val")}


def compute(
    store: Store,
    spec: RunSpec,
    device: str = "auto",
    log: Log = to_stderr,
    bar: bool = True,
    wait: bool = False,
    world: World = ALONE,
) -> tuple[RunFolder, bool]:
    """The complete run of `spec`: (its folder, reused). wait: queue behind another process computing it.
    world: the processes training it (rank 0 computes here; compute_shared)."""
    ds = store.open_exact(spec.dataset, spec.dataset_hash)
    run = RunFolder(store.runs_dir / spec.run_id)
    if run.is_complete:
        damage = run.result_problem()
        if damage is None:
            log(f"reusing complete run {run.id} ({run.path})")
            return run, True
        log(f"warning: {damage.split('; ')[0]}: computing run {run.id} again")
    if spec.tune is not None and spec.tune.method == IMPORTED:
        raise not_computed(run.id)
    warm = compute(store, spec.warm_run(), device, log, bar, wait)[0] if spec.needs_warm else None
    dev = world.place(pick_device(device))
    describe(run, spec)
    with tracked(run, str(dev), wait) as fresh:
        if fresh:
            with dataset_kept(ds):
                _compute(ds, spec, run, warm, dev, log, bar, world)
    return run, not fresh


def describe(run: RunFolder, spec: RunSpec) -> None:
    """Write the run's description unless it has one (none yet, or damaged: this process knows it)."""
    try:
        run.info()
    except (FileNotFoundError, Damaged):
        run.write_spec(spec)


def compute_shared(
    store: Store, spec: RunSpec, device: str, world: World, bar: bool = True
) -> tuple[RunFolder, bool] | None:
    """A warm run trained data-parallel by the processes of `world`: rank 0 computes it as `compute` does and
    returns (its folder, reused); every other process trains its part of each batch when rank 0 trains, and returns None.
    Should rank 0 fail, its exit ends the others (torchrun stops every process when one fails)."""
    if spec.tune is not None:
        raise InputError(
            f"Data-parallel training (torchrun, --ddp) computes warm runs only, not a {spec.tune.method} run; "
            "start `python -m ppr tune` as one process."
        )
    if world.is_main:
        run, reused = compute(store, spec, device, bar=bar, world=world)
        if reused:  # trained by no one here: the others may go
            world.from_main(False)
        return run, reused
    if world.from_main(False):  # rank 0 trains (it says so in _train)
        ds = store.open_exact(spec.dataset, spec.dataset_hash)
        split = make_split(ds, spec.split)  # rank 0 has stored it
        model, dev = methods.warm_model(spec, ds.n_items), world.place(pick_device(device))
        trainer = build_trainer(
            spec, model, split, None, ds.n_items, dev, dict, world
        )  # validation (dict: {}) is rank 0's
        trainer.fit(RunFolder(store.runs_dir / spec.run_id).load_state())  # resumes where rank 0 does
    return None


@contextlib.contextmanager
def dataset_kept(ds: Dataset) -> Iterator[None]:
    """A file of the dataset gone mid-run (`data rm` meanwhile) is the store's InputError saying so, not a traceback."""
    try:
        yield
    except OSError:
        ds.check_present()
        raise


def load_model(store: Store, run: RunFolder) -> nn.Module:
    """A finished run's model on CPU, rebuilt from its spec and checkpoint."""
    spec = run.spec()
    if spec.tune is not None and spec.tune.method == IMPORTED:
        raise not_computed(run.id)
    ds = store.open_exact(spec.dataset, spec.dataset_hash)
    if spec.tune is not None and spec.tune.method in COUNTED:
        cards = ds.cardinalities if spec.tune.method == "pop-profile" else []
        return CountModel(run.load_model()["table"].numpy(), cards).eval()
    if spec.tune is not None and spec.tune.method in OWN_MODELS:
        model = methods.scratch_model(spec, ds.n_items, ds.cardinalities)
        model.load_state_dict(run.load_model())
        return model.eval()
    backbone = build_backbone(spec.backbone, ds.n_items)
    if spec.tune is None:
        backbone.load_state_dict(run.load_model())
        return ColdStartRecommender(backbone).eval()
    model = methods.tuned_model(spec.tune, backbone, ds.cardinalities, methods.empty_side(spec, ds.n_users))
    model.load_state_dict(run.load_model())
    return model.eval()


@dataclass(frozen=True)
class Evaluated:
    """What a finished tuning run was evaluated on: its model, split fold and the profile codes it saw."""

    model: nn.Module
    split: Split
    codes: np.ndarray
    spec: RunSpec
    dataset: Dataset


def evaluated(store: Store, run: RunFolder) -> Evaluated:
    """A finished tuning run's model with the split fold and (noisy, as it saw them) profile codes it was scored
    on: what analyses that re-score its test users need."""
    spec = run.spec()
    if spec.tune is None:
        raise InputError(f"Run {run.id} is a warm run; this needs a tuning run (`python -m ppr runs list`).")
    ds = store.open_exact(spec.dataset, spec.dataset_hash)
    split = make_split(ds, spec.split, fold=spec.tune.fold)  # stored with the run: loaded, not computed
    return Evaluated(load_model(store, run), split, methods.model_codes(spec, ds, split), spec, ds)


def _compute(
    ds: Dataset,
    spec: RunSpec,
    run: RunFolder,
    warm: RunFolder | None,
    dev: torch.device,
    log: Log,
    bar: bool,
    world: World,
) -> None:
    job = prepare(ds, spec, run, warm, dev, log, world)
    fit = _train(spec, run, job.model, job.split, job.codes, ds.n_items, dev, job.validate, bar, world)
    finish(job, fit, processes=world.size)


@dataclass(frozen=True)
class Prepared:
    """A run ready to train: its split fold, profile codes, model and scorer (evaluate bound to them)."""

    dataset: Dataset
    spec: RunSpec
    run: RunFolder
    warm: RunFolder | None
    split: Split
    codes: np.ndarray | None
    model: nn.Module
    score: Callable[..., pd.DataFrame]
    device: torch.device
    probe: Probe  # the validation targets

    def validate(self) -> dict[str, float]:
        """What training watches: joint metrics of the validation group."""
        return validation(self.model, self.probe, self.device)


def prepare(
    ds: Dataset,
    spec: RunSpec,
    run: RunFolder,
    warm: RunFolder | None,
    dev: torch.device,
    log: Log,
    world: World = ALONE,
) -> Prepared:
    """The run's split fold, codes and untrained model (a tuning run's built on its warm run)."""
    split = methods.run_split(
        spec, make_split(ds, spec.split, log=log, fold=0 if spec.tune is None else spec.tune.fold)
    )
    codes = None if spec.tune is None else methods.model_codes(spec, ds, split)
    model, what = _model(ds, spec, split, codes, warm, dev)
    on = f"{dev}" if world.size == 1 else f"{world.size} processes, {dev.type}"
    log(f"{what} of {ds.ref} ({on}) -> {run.path}")
    k = None if spec.tune is None else spec.tune.k_shot
    max_len = spec.backbone.max_len
    score = functools.partial(evaluate, model, split, codes=codes, max_len=max_len, k_shot=k, device=dev)
    checked = probe(split, VALIDATION[spec.kind], codes, max_len, k)
    return Prepared(ds, spec, run, warm, split, codes, model, score, dev, checked)


def finish(job: Prepared, fit: Fit, group: int = 1, processes: int = 1) -> None:
    """Score the trained model on the final groups and write the run's result files (group: how many runs
    trained together with it, ppr.runs.group, whose train seconds it records; processes: how many trained it
    data-parallel)."""
    ds, spec, run, model, split, codes, dev = (
        job.dataset,
        job.spec,
        job.run,
        job.model,
        job.split,
        job.codes,
        job.device,
    )
    k = None if spec.tune is None else spec.tune.k_shot
    model.to(dev)
    t0 = time.perf_counter()
    scores = pd.concat([job.score(group, full=True) for group in EVALUATED[spec.kind]], ignore_index=True)
    run.save_model(model.backbone.state_dict() if spec.tune is None else model.state_dict())
    run.write_scores(scores)
    if isinstance(model, ColdStartRecommender) and spec.tune is not None and model.profile is not None:
        run.write_embeddings(embeddings_frame(model, split, codes, k, [a["name"] for a in ds.attributes], dev))
    run.write_result(
        {
            "run_id": run.id,
            "kind": spec.kind,
            "label": "warm" if spec.tune is None else spec.tune.label,
            "warm_run": None if job.warm is None else job.warm.id,
            "fold": split.fold,
            "folds": split.folds,
            "summary": {g: summarize_scores(part) for g, part in scores.groupby("group", sort=False)},
            "params": methods.parameter_report(model, ds.cardinalities),
            "best_epoch": fit.best_epoch,
            "epochs_run": fit.epochs_run,
            "seconds": {"train": fit.seconds, "eval": time.perf_counter() - t0},
            "environment": {
                "device": str(dev),
                "processes": processes,
                "group": group,
                "versions": library_versions(),
            },
        }
    )


def _model(
    ds: Dataset, spec: RunSpec, split: Split, codes: np.ndarray | None, warm: RunFolder | None, dev: torch.device
) -> tuple[nn.Module, str]:
    """The run's model before training, and what the run does with it (for the log)."""
    if spec.tune is None:
        n = int((split.roles == ROLE_WARM).sum())
        where = f" on the source domain (items outside {spec.split.target_domain!r})" if spec.cross_domain else ""
        return methods.warm_model(spec, ds.n_items), f"warm-training {spec.backbone.kind}{where} on {n} warm users"
    cold = f"{int((split.roles == ROLE_TUNE).sum())} tuning users, fold {split.fold + 1} of {split.folds}"
    if spec.tune.method in OWN_MODELS:
        model = methods.scratch_model(spec, ds.n_items, ds.cardinalities, split)
        return model, f"training {spec.tune.method} from scratch on warm users and {cold}"
    if warm is None:
        return _counted(ds, spec, split, codes), f"counting {spec.tune.label} on warm users and {cold}"
    backbone = build_backbone(spec.backbone, ds.n_items)
    backbone.load_state_dict(warm.load_model())
    model = methods.tuned_model(spec.tune, backbone, ds.cardinalities, _source_side(spec, split, backbone, dev))
    if spec.cross_domain:
        cold += f" of the target domain {spec.split.target_domain!r} (and its warm users)"
    return model, f"tuning {spec.tune.label} on {cold}"


def _source_side(spec: RunSpec, split: Split, warmed: nn.Module, dev: torch.device) -> np.ndarray | None:
    """What a cross-domain model reads of each user's source domain (methods.tuned_model's side): minet their last
    source clicks, finetune and ppr-full the warmed backbone's user vector after them (scored as every user vector
    is: ppr.eval.scoring), row 0 for none."""
    if not spec.reads_source:
        return None
    histories = methods.source_histories(spec, split)
    if spec.tune.method == "minet":
        return histories
    return user_vectors(ColdStartRecommender(warmed).to(dev), histories, None, dev)


def _counted(ds: Dataset, spec: RunSpec, split: Split, codes: np.ndarray) -> CountModel:
    """pop, or pop-profile with the smoothing that scores best on the validation users (joint NDCG@10)."""

    def model(smoothing: float) -> CountModel:
        return methods.count_model(spec.tune, split, codes, ds.n_items, ds.cardinalities, smoothing)

    if spec.tune.method == "pop":
        return model(1.0)
    checked = probe(split, "val", codes, spec.backbone.max_len, spec.tune.k_shot)
    val = {a: validation(model(a), checked, torch.device("cpu")) for a in SMOOTHING}
    return model(max(SMOOTHING, key=lambda a: val[a].get("ndcg@10", 0.0)))


def _train(
    spec: RunSpec,
    run: RunFolder,
    model: ColdStartRecommender,
    split: Split,
    codes: np.ndarray | None,
    n_items: int,
    dev: torch.device,
    validate: Callable[[], dict[str, float]],
    bar: bool,
    world: World,
) -> Fit:
    if not methods.trains(spec):
        return Fit(0, 0)
    world.from_main(True)  # the other processes (compute_shared) train with this one
    schedule = methods.schedule(spec)
    trainer = build_trainer(spec, model, split, codes, n_items, dev, validate, world)
    resume = run.load_state()
    if resume is not None:
        append_metrics(run.path, {"event": "resumed", "epoch": int(resume["epoch"])})
    label = "warm" if spec.tune is None else spec.tune.label
    with tqdm(total=schedule.epochs, desc=label, unit="epoch", file=sys.stderr, disable=not bar) as pbar:

        def on_epoch(row: dict[str, float]) -> None:
            pbar.update(1 if row["epoch"] else 0)
            pbar.set_postfix(loss=f"{row['loss']:.4f}", val_ndcg10=f"{row.get('val_ndcg@10', np.nan):.4f}")
            record_epoch(run, row, schedule.epochs)

        return trainer.fit(resume, on_epoch, lambda state: record_checkpoint(run, state))


def build_trainer(
    spec: RunSpec,
    model: nn.Module,
    split: Split,
    codes: np.ndarray | None,
    n_items: int,
    dev: torch.device,
    validate: Callable[[], dict[str, float]],
    world: World = ALONE,
) -> Trainer:
    """The run's trainer: its objective, windows, negatives, schedule and random streams."""
    rng, seed = methods.random_streams(spec)
    return Trainer(
        model,
        methods.objective(spec),
        methods.windows(spec, split),
        methods.sampler(spec, split, n_items),
        methods.schedule(spec),
        validate,
        rng,
        seed,
        dev,
        codes,
        world,
    )
