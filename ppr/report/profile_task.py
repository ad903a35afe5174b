"""User-profile prediction (the paper's Table VIII): predict one attribute of cold users from their clicks.

For a finished tuning run (finetune, ppr-light, ppr-full), attribute A is set to 'missing' for every user,
so a prompt is built from the other attributes only, and each cold user's vector is the run's user vector
after their first k clicks (ppr.eval.scoring.user_vectors, the vectors recommendations are scored with). A
logistic-regression classifier on those vectors learns A from the fold's tuning and validation users and
predicts it for the fold's test users; users who lack A (code 0) are left out. The method's model is tuned as
usual (with A visible to tuning users' prompts); only the classifier sees labels, and never a test user's.

Two baselines sit beside the methods: `majority` (the most frequent value among the training users) and
`logreg-profile` (logistic regression on the one-hot other attributes, no clicks). Accuracy is compared per
user with fine-tuning (ppr.report.significance: bootstrap intervals over users, Wilcoxon, Benjamini-Hochberg);
macro precision, recall and F1, and AUC for a binary attribute, get bootstrap intervals over users.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np
import pandas as pd
import torch

from ppr.data.splits import ROLE_TEST, ROLE_TUNE, ROLE_VAL
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.eval.scoring import user_vectors
from ppr.report.significance import adjust, compare
from ppr.runs.folder import RunFolder
from ppr.runs.outputs import k_shot_histories
from ppr.runs.pipeline import Evaluated, evaluated

TASK_METHODS = ("finetune", "adapter", "ppr-light", "ppr-full")
BASELINES = ("majority", "logreg-profile")
PREDICTIONS = ["label", "seed", "fold", "user", "truth", "pred", "score"]
MEASURES = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "auc")
RESAMPLES = 500
CPU = torch.device("cpu")


def attribute_index(run: Evaluated, attribute: str) -> int:
    names = [a["name"] for a in run.dataset.attributes]
    if attribute not in names:
        raise InputError(
            f"Dataset {run.dataset.ref} has no attribute {attribute!r}; its attributes: {', '.join(names) or 'none'}."
        )
    return names.index(attribute)


def predictions(run: Evaluated, attribute: str, device: torch.device = CPU, baselines: bool = True) -> pd.DataFrame:
    """PREDICTIONS of the run's method (and of both baselines) for the fold's test users who have the attribute.

    score: the predicted probability of the attribute's last value (binary attributes: its AUC score).
    """
    j = attribute_index(run, attribute)
    truth = run.dataset.attribute_codes()[:, j]
    hidden = run.codes.copy()
    hidden[:, j] = 0
    roles = run.split.roles
    train = np.flatnonzero(np.isin(roles, (ROLE_TUNE, ROLE_VAL)) & (truth > 0))
    test = np.flatnonzero((roles == ROLE_TEST) & (truth > 0))
    if len(np.unique(truth[train])) < 2 or not len(test):
        raise InputError(
            f"Attribute {attribute!r} needs training users of two values and test users who have it in fold "
            f"{run.split.fold}; found {len(np.unique(truth[train]))} value(s) and {len(test)} test user(s)."
        )
    spec = run.spec
    users = np.concatenate([train, test])
    seqs, _ = k_shot_histories(run.split, users, spec.tune.k_shot, spec.backbone.max_len)
    vectors = user_vectors(run.model, seqs, hidden[users], device)
    n = len(train)
    parts = {spec.tune.label: _fit_predict(vectors[:n], truth[train], vectors[n:])}
    if baselines:
        onehot = _one_hot(np.delete(hidden, j, axis=1)[users], np.delete(run.dataset.cardinalities, j))
        parts["logreg-profile"] = _fit_predict(onehot[:n], truth[train], onehot[n:])
        parts["majority"] = _majority(truth[train], len(test))
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "label": label,
                    "seed": spec.tune.seed,
                    "fold": run.split.fold,
                    "user": test,
                    "truth": truth[test],
                    "pred": pred,
                    "score": score,
                }
            )
            for label, (pred, score) in parts.items()
        ],
        ignore_index=True,
    )[PREDICTIONS]


def of_runs(store: Store, runs: Iterable[RunFolder], attribute: str, device: torch.device = CPU) -> pd.DataFrame:
    """profile_table of the finished runs of TASK_METHODS among `runs` (the others are skipped), pooled over
    folds, measures averaged over seeds; the baselines are fitted once per seed and fold."""
    parts, fitted = [], set()
    for run in runs:
        tune = run.spec().tune if run.is_complete else None
        if tune is None or tune.method not in TASK_METHODS:
            continue
        ev = evaluated(store, run)
        key = (tune.seed, ev.split.fold)
        parts.append(predictions(ev, attribute, device, baselines=key not in fitted))
        fitted.add(key)
    if not parts:
        raise InputError(f"No finished run of {', '.join(TASK_METHODS)} to predict {attribute!r} from.")
    return profile_table(pd.concat(parts, ignore_index=True))


def _fit_predict(x: np.ndarray, y: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    model = LogisticRegression(max_iter=2000).fit(scaler.transform(x), y)
    proba = model.predict_proba(scaler.transform(x_test))
    return model.classes_[proba.argmax(1)], proba[:, -1]


def _majority(y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    values, counts = np.unique(y, return_counts=True)
    return np.full(n, values[counts.argmax()]), np.full(n, 0.5)


def _one_hot(codes: np.ndarray, cardinalities: np.ndarray) -> np.ndarray:
    """(N, A) codes -> (N, sum of cardinalities) indicators (a constant column when there are none)."""
    if not codes.shape[1]:
        return np.ones((len(codes), 1))
    return np.concatenate([np.eye(int(c))[codes[:, a]] for a, c in enumerate(cardinalities)], axis=1)


def profile_table(preds: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """One row per label: MEASURES with 95% intervals over users (seeds averaged); accuracy's difference to
    fine-tuning with its Wilcoxon p, adjusted (Benjamini-Hochberg) across the rows."""
    per_target = preds.assign(method=preds["label"], kind="few", accuracy=(preds["truth"] == preds["pred"]) * 1.0)
    acc = compare(per_target, ["accuracy"], seed=seed)
    acc = acc[acc["group"] == "joint"].set_index("label")
    rows = []
    for label, part in preds.groupby("label", sort=False):
        row = {"label": label, "n_users": part["user"].nunique(), "n_seeds": part["seed"].nunique()}
        row |= _macro_with_intervals(part, np.random.default_rng(seed))
        a = acc.loc[label]
        row |= {"diff": a["diff"], "diff_low": a["diff_low"], "diff_high": a["diff_high"], "p": a["p_wilcoxon"]}
        rows.append(row)
    table = pd.DataFrame(rows)
    table["p_adj"] = adjust(table["p"])
    return table


def _macro_with_intervals(part: pd.DataFrame, rng: np.random.Generator) -> dict[str, float]:
    """Each measure over each seed's users, averaged over seeds, and its percentile interval over RESAMPLES
    resamples of the users (a user drawn counts in every seed that tested it; seeds may test different users)."""
    users = np.sort(part["user"].unique())
    seeds = [_rows_of(s, users) for _, s in part.groupby("seed")]
    classes = np.unique(part["truth"])
    point = _measures(seeds, np.arange(len(users)), classes)
    draws = np.array([_measures(seeds, rng.integers(0, len(users), len(users)), classes) for _ in range(RESAMPLES)])
    out = {}
    for j, name in enumerate(MEASURES):
        lo, hi = np.nanquantile(draws[:, j], [0.025, 0.975]) if np.isfinite(draws[:, j]).any() else (np.nan, np.nan)
        out |= {name: point[j], f"{name}_low": lo, f"{name}_high": hi}
    return out


def _rows_of(seed_part: pd.DataFrame, users: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """(the seed's truth, pred and score columns, the row of each of `users` in them: -1 where it was untested)."""
    rows = np.full(len(users), -1)
    rows[np.searchsorted(users, seed_part["user"].to_numpy())] = np.arange(len(seed_part))
    return [seed_part[c].to_numpy() for c in ("truth", "pred", "score")], rows


def _measures(seeds: list[tuple[list[np.ndarray], np.ndarray]], idx: np.ndarray, classes: np.ndarray) -> list[float]:
    """MEASURES of the drawn users `idx`, per seed over the ones it tested, averaged over seeds."""
    per_seed = []
    for cols, rows in seeds:
        r = rows[idx]
        r = r[r >= 0]
        if len(r):
            per_seed.append(_scores(*(c[r] for c in cols), classes))
    return list(np.mean(per_seed, axis=0))


def _scores(y: np.ndarray, pred: np.ndarray, score: np.ndarray, classes: np.ndarray) -> list[float]:
    """Accuracy, macro precision/recall/F1 over the attribute's values (a value never predicted or never true
    counts 0, as scikit-learn's zero_division=0), AUC of the last value for a binary attribute (NaN otherwise)."""
    hit = pred[:, None] == classes
    true = y[:, None] == classes
    tp, predicted, actual = (hit & true).sum(0), hit.sum(0), true.sum(0)
    p = np.divide(tp, predicted, out=np.zeros(len(classes)), where=predicted > 0)
    r = np.divide(tp, actual, out=np.zeros(len(classes)), where=actual > 0)
    f = np.divide(2 * p * r, p + r, out=np.zeros(len(classes)), where=p + r > 0)
    auc = _auc(true[:, -1], score) if len(classes) == 2 else float("nan")
    return [float((y == pred).mean()), float(p.mean()), float(r.mean()), float(f.mean()), auc]


def _auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted half; NaN unless the attribute is binary and both values occur."""
    from scipy.stats import rankdata

    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if not n_pos or not n_neg:
        return float("nan")
    return float((rankdata(score)[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


READING = (
    "Mean [95% interval over users]; vs finetune: accuracy difference, * = Benjamini-Hochberg adjusted Wilcoxon "
    "p < 0.05. The attribute is hidden ('missing') for every user; the classifier is trained on the tuning and "
    "validation users of each fold; majority and logreg-profile (the other attributes, no clicks) are baselines."
)


def cells(table: pd.DataFrame) -> pd.DataFrame:
    """Table VIII as text: mean [interval] per measure, accuracy against fine-tuning with its adjusted p."""
    rows = []
    for r in table.to_dict("records"):
        row = {"method": r["label"], "users": r["n_users"]}
        for m in MEASURES:
            row[m] = "n/a" if r[m] != r[m] else f"{r[m]:.4f} [{r[m + '_low']:.4f}, {r[m + '_high']:.4f}]"
        star = "*" if r["p_adj"] == r["p_adj"] and r["p_adj"] < 0.05 else ""
        row["vs finetune"] = "" if r["diff"] != r["diff"] else f"{r['diff']:+.4f}{star} (p_adj {r['p_adj']:.2g})"
        rows.append(row)
    return pd.DataFrame(rows)


def render(table: pd.DataFrame, fmt: str, title: str) -> str:
    """md (title, cells, how to read them), csv or json of a profile_table."""
    from ppr.report.tables import markdown

    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return json.dumps({"title": title, "rows": table.to_dict("records")}, indent=2, default=str) + "\n"
    return f"# {title}\n\n{markdown(cells(table))}\n\n{READING}\n"
