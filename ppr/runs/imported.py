"""Scores computed by another library, brought in as a finished tuning run (`python -m ppr scores import`).

`python -m ppr data export` writes one fold of a split with targets.tsv: every validation and test target,
its history and its 99 fixed negatives. A model of another library scores those candidates and the analyst
writes them back as a CSV of `user,target,candidate,score` (original user id, target_id, original item id,
higher is better). `import_scores` checks the file against the split of a finished tuning run it names
(`like`: the same dataset version, split, fold, k-shot, noise and seed), ranks each target's positive among
its negatives with the one scorer (ppr.eval.metrics.rank_metrics) and writes a run folder as the pipeline
does: spec.json (method `imported`, the name as its label, the file's sha256), scores.parquet with the
pipeline's per-target columns, and metrics.json last. So the import is a method like any other for the
report, the Compare page and every reader of runs. Only the sampled candidates were scored: the
full-catalogue metrics (full_*) are absent, and read n/a.

Coverage: every few-shot test target must be scored; any other kind of target of a group (val or test) is
scored for all of its targets or none. Zero-shot targets are often none (a sequential model of another
library cannot score a user without clicks); they are then n/a, and so is the joint figure, which would
otherwise pool fewer targets than every other method's.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ppr.data.export import original_ids
from ppr.data.splits import Split, make_split
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.eval.evaluate import candidates, metric_column, summarize_scores, target_frame
from ppr.eval.metrics import rank_metrics
from ppr.io import sha256_file
from ppr.runs.folder import Damaged, RunFolder
from ppr.runs.tracking import library_versions, tracked
from ppr.spec.run import IMPORTED, RunSpec, TuneSpec

COLUMNS = ("user", "target", "candidate", "score")
GROUPS = ("test", "val")  # what a tuning run is scored on, in the order the pipeline writes them
KIND_NAMES = {"few": "few-shot", "zero": "zero-shot"}


@dataclass(frozen=True)
class Imported:
    """An imported run: its folder, whether it was there already, and its targets scored (`counts`)."""

    run: RunFolder
    reused: bool
    counts: dict[str, dict[str, dict[str, int]]]  # group -> kind -> {"scored", "targets"}


def imported_spec(like: RunSpec, name: str, sha256: str) -> RunSpec:
    """The run description of scores named `name` from a file with digest `sha256`, on `like`'s targets."""
    if like.tune is None:
        raise InputError(
            "--like needs a tuning run (its split, fold, k-shot, noise and seed define the targets); "
            "a warm run has none. `python -m ppr runs list` shows runs."
        )
    t = like.tune
    tune = TuneSpec(
        method=IMPORTED, k_shot=t.k_shot, fold=t.fold, noise=t.noise, seed=t.seed, imported=name, scores_sha256=sha256
    )
    return dataclasses.replace(like, tune=tune)


def import_scores(store: Store, path: Path, like: RunFolder, name: str) -> Imported:
    """The run of the scores in `path` under `name`, on the targets of tuning run `like` (reused when the same
    file was imported under the same name before). Every check runs before anything is written."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Scores file {path} not found (expected a CSV with columns {','.join(COLUMNS)}).")
    spec = imported_spec(like.spec(), name, sha256_file(path))
    run = RunFolder(store.runs_dir / spec.run_id)
    if run.is_complete and run.result_problem() is None:
        return Imported(run, True, run.result()["imported"]["targets"])
    ds = store.open_exact(spec.dataset, spec.dataset_hash)
    split = make_split(ds, spec.split, fold=spec.tune.fold)  # stored with the like run: loaded, not computed
    t0 = time.perf_counter()
    scores, counts = scored_targets(read_scores(path), split, *original_ids(ds), path)
    result = {
        "run_id": run.id,
        "kind": "tune",
        "label": name,
        "warm_run": None,
        "fold": split.fold,
        "folds": split.folds,
        "summary": {g: _summary(part, counts[g]) for g, part in scores.groupby("group", sort=False)},
        "params": {},
        "best_epoch": 0,
        "epochs_run": 0,
        "seconds": {"train": 0.0, "eval": time.perf_counter() - t0},
        "environment": {"device": "none (imported)", "versions": library_versions()},
        "imported": {
            "file": str(path.resolve()),
            "sha256": spec.tune.scores_sha256,
            "like": like.id,
            "targets": counts,
        },
    }
    try:
        run.info()
    except (FileNotFoundError, Damaged):
        run.write_spec(spec)
    with tracked(run, "cpu", wait=False) as fresh:
        if fresh:
            run.write_scores(scores)
            run.write_result(result)
    return Imported(run, not fresh, counts)


def read_scores(path: Path) -> pd.DataFrame:
    """The CSV with its four columns as text (stripped); row i of the frame is the file's row i + 1."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.EmptyDataError:
        raise InputError(
            f"Scores file {path} is empty: expected a header {','.join(COLUMNS)} and one row per candidate."
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"Scores file {path} is not a readable CSV ({' '.join(str(exc).split())[:160]}).") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"Scores file {path} lacks the column(s) {', '.join(missing)}: expected a comma-separated header with "
            f"{','.join(COLUMNS)} (found: {', '.join(map(str, df.columns)) or 'nothing'})."
        )
    if df.empty:
        raise InputError(f"Scores file {path} has a header but no rows: expected one row per scored candidate.")
    return df[list(COLUMNS)].apply(lambda s: s.str.strip())


def scored_targets(
    rows: pd.DataFrame, split: Split, users: np.ndarray, items: np.ndarray, path: Path
) -> tuple[pd.DataFrame, dict[str, dict[str, dict[str, int]]]]:
    """Per-target metrics of the scored validation and test targets of `split` (the columns evaluate() writes,
    sampled ranking only) and, per group and kind, how many targets were scored of how many.

    `rows` is read_scores' frame; users and items map internal ids to original ones (ppr.data.export)."""
    where = f"Scores file {path}"
    score = _numbers(rows["score"], "score", where)
    bad = ~np.isfinite(score)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"{where}, {_row(i)}: score {rows['score'].iat[i]!r} is not a finite number.")
    tid = _numbers(rows["target"], "target", where)
    tid = np.where(np.isfinite(tid) & (tid == np.round(tid)), tid, -1).astype(np.int64)
    tg = pd.concat([split.targets[split.targets["group"] == g] for g in GROUPS], ignore_index=True)
    row_of = pd.Series(np.arange(len(tg)), index=tg["target_id"].to_numpy(np.int64))
    idx = row_of.reindex(tid).to_numpy()  # NaN: not a validation or test target of this fold
    unknown = np.isnan(idx)
    if unknown.any():
        i = int(np.argmax(unknown))
        raise InputError(
            f"{where}, {_row(i)}: target {rows['target'].iat[i]!r} is not a validation or test target of fold "
            f"{split.fold} of split {split.id} (targets.tsv of `python -m ppr data export` with this fold lists them)."
        )
    idx = idx.astype(np.int64)
    target_users = users[tg["user"].to_numpy()][idx]
    wrong = rows["user"].to_numpy(object) != target_users
    if wrong.any():
        i = int(np.argmax(wrong))
        raise InputError(
            f"{where}, {_row(i)}: user {rows['user'].iat[i]!r} is not the user of target {tid[i]} "
            f"(expected {target_users[i]!r})."
        )
    cand = candidates(split, tg)
    col = _candidate_columns(rows["candidate"], idx, cand, items)
    if (col < 0).any():
        i = int(np.argmax(col < 0))
        raise InputError(
            f"{where}, {_row(i)}: candidate {rows['candidate'].iat[i]!r} is neither the positive nor one of the "
            f"{cand.shape[1] - 1} negatives of target {tid[i]} (targets.tsv: item_id and negatives)."
        )
    cell = idx * cand.shape[1] + col
    dup = pd.Series(cell).duplicated(keep=False).to_numpy()
    if dup.any():
        first, second = np.flatnonzero(cell == cell[np.argmax(dup)])[:2]
        raise InputError(
            f"{where}: {_row(first)} and {_row(second)} both score candidate {rows['candidate'].iat[first]!r} of "
            f"target {tid[first]}; expected one row per (target, candidate)."
        )
    matrix = np.full(cand.shape, np.nan)
    matrix.flat[cell] = score
    covered = _check_coverage(np.bincount(idx, minlength=len(tg)), tg, cand.shape[1], users, where)
    out = target_frame(tg[covered])
    for k, v in rank_metrics(matrix[covered, 0], matrix[covered, 1:]).items():
        out[k] = v
    counts: dict[str, dict[str, dict[str, int]]] = {g: {} for g in GROUPS}
    for g in GROUPS:
        for kind in KIND_NAMES:
            m = ((tg["group"] == g) & (tg["kind"] == kind)).to_numpy()
            counts[g][kind] = {"scored": int((covered & m).sum()), "targets": int(m.sum())}
    return out, counts


def _numbers(text: pd.Series, column: str, where: str) -> np.ndarray:
    values = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
    bad = np.isnan(values) & (text.str.lower() != "nan").to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"{where}, {_row(i)}: {column} {text.iat[i]!r} is not a number.")
    return values


def _candidate_columns(candidate: pd.Series, idx: np.ndarray, cand: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Per row, the column of its candidate among its target's candidates (0: the positive), -1 if none."""
    n = len(items)
    item_of = pd.Series(np.arange(1, n), index=items[1:])
    item = item_of.reindex(candidate.to_numpy()).fillna(0).to_numpy(np.int64)  # 0: not an item of the dataset
    keys = (np.arange(len(cand))[:, None] * n + cand).ravel()
    order = np.argsort(keys, kind="stable")
    wanted = idx * n + item
    pos = np.minimum(np.searchsorted(keys[order], wanted), len(keys) - 1)
    found = (keys[order][pos] == wanted) & (item > 0)
    return np.where(found, order[pos] % cand.shape[1], -1)


def _check_coverage(per_target: np.ndarray, tg: pd.DataFrame, n_cand: int, users: np.ndarray, where: str) -> np.ndarray:
    """Which targets are scored: those with rows, which must have every candidate; every few-shot test target, and
    all or none of each other (group, kind)."""
    partial = np.flatnonzero((per_target > 0) & (per_target < n_cand))
    if len(partial):
        i = partial[0]
        raise InputError(
            f"{where}: {len(partial)} target(s) lack scores for some of their {n_cand} candidates, e.g. target "
            f"{int(tg['target_id'].iat[i])} (user {users[tg['user'].iat[i]]}) has {int(per_target[i])}; score the "
            "positive and every negative of each target (targets.tsv)."
        )
    covered = per_target > 0
    for g in GROUPS:
        for kind, words in KIND_NAMES.items():
            m = ((tg["group"] == g) & (tg["kind"] == kind)).to_numpy()
            lacking = np.flatnonzero(m & ~covered)
            must = g == "test" and kind == "few"
            if len(lacking) and (must or covered[m].any()):
                i = lacking[0]
                rule = "every one must be" if must else "score all of them or none"
                raise InputError(
                    f"{where}: {len(lacking)} of the {int(m.sum())} {words} {g} targets have no scores ({rule}), "
                    f"e.g. target {int(tg['target_id'].iat[i])} of user {users[tg['user'].iat[i]]}."
                )
    return covered


def _summary(scores: pd.DataFrame, counts: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
    """summarize_scores of a group, with the joint figure n/a (n 0) when its zero-shot targets were not scored:
    pooled over the few-shot targets alone, it would not compare with other methods' joint figures."""
    summary = summarize_scores(scores)
    if counts["zero"]["targets"] and not counts["zero"]["scored"]:
        summary["joint"] = {**{c: float("nan") for c in scores.columns if metric_column(c)}, "n": 0}
    return summary


def _row(i: int) -> str:
    return f"row {i + 1} (line {i + 2})"


def not_computed(run_id: str) -> InputError:
    """What a request to compute, or load the model of, an imported run gets."""
    return InputError(
        f"Run {run_id} holds scores imported from another library (`python -m ppr scores import`): it has no model "
        "to compute or load. If its folder was damaged, import its scores file again."
    )
