"""Run folders: one folder per run under <home>/runs/<run_id>/, named by its RunSpec.

    spec.json          {"run_id", "semantics", "spec"}: the run description, written once
    status.json        state (queued/running/done/failed/cancelled), pid, device, progress (ppr.runs.status)
    metrics.jsonl      one line per epoch (loss and validation metrics) while it trains
    resume.pt          the trainer's epoch checkpoint (gone once the run is done)
    checkpoint.pt      the final model's state_dict (torch.load(..., weights_only=True))
    scores.parquet     per-target scores: target_id, user, group, kind, rank, auc, hit@N, ndcg@N
    embeddings.parquet per cold user: profile codes, prompt and user vectors, test users' top-20
    metrics.json       the run's result (summary metrics, parameters, epochs, seconds, environment);
                       written LAST, so its presence marks a complete run

Every file is written atomically (temp file + rename): readers never see half of one. A file damaged
all the same (a full disk, a hand edit, a copy cut short) never blinds a listing: `RunFolder.problem()`
says what is wrong with a run in one line, `readable()` and `list_runs()` leave such runs out with a
one-line warning naming each, and every read of a damaged file raises `Damaged` (an InputError).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ppr.errors import InputError
from ppr.io import atomic_write_bytes, atomic_write_json, atomic_write_parquet, read_json
from ppr.log import Log, to_stderr
from ppr.spec.run import RunSpec, TuneSpec, current_semantics

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class Damaged(InputError):
    """A file of a run (or sweep) folder that cannot be read: corrupt, cut short, or not the layout written here."""


def is_run_id(text: object) -> bool:
    """True for a plain run id (a folder name under runs/, never a path)."""
    return isinstance(text, str) and bool(_ID_RE.match(text)) and ".." not in text


def read_object(path: Path, fix: str = "") -> dict[str, Any]:
    """A JSON object file; Damaged (naming the file, what is wrong and `fix`) when it is anything else.

    FileNotFoundError propagates: a missing file is the caller's business.
    """
    path = Path(path)
    where = f"{path.name} of {path.parent.name}"
    try:
        body = read_json(path)
    except FileNotFoundError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, nesting too deep
        raise Damaged(f"{where} is not valid JSON ({_short(exc)}){fix}") from None
    except OSError as exc:
        raise Damaged(f"{where} cannot be read ({exc.strerror or exc}){fix}") from None
    if not isinstance(body, dict):
        raise Damaged(f"{where} holds a JSON {type(body).__name__}, not an object{fix}")
    return body


def parquet_problem(path: Path) -> str | None:
    """None if `path` is a readable Parquet file (its footer and schema parse), else what is wrong in a few words."""
    import pyarrow.parquet as pq  # here: listings without results never pay for it

    path = Path(path)
    where = f"{path.name} of {path.parent.name}"
    try:
        pq.read_metadata(path)
    except FileNotFoundError:
        return f"{where} is missing"
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
        return f"{where} is not a readable Parquet file ({_short(exc)})"
    return None


def _short(exc: BaseException, limit: int = 120) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class RunFolder:
    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def is_complete(self) -> bool:
        return (self.path / "metrics.json").is_file() and (self.path / "spec.json").is_file()

    def info(self) -> dict[str, Any]:
        """spec.json as stored (also for runs of older versions, whose spec no longer parses); Damaged if unreadable."""
        return read_object(self.path / "spec.json", self._fix("spec.json"))

    def problem(self) -> str | None:
        """What is wrong with the run's files, in one line (naming the file and what to do); None if nothing.

        Checks spec.json (a run description a listing can summarise), status.json (ppr.runs.status) and,
        for a complete run, metrics.json and scores.parquet. metrics.jsonl lines that do not parse are
        skipped by its reader, so they are no problem.
        """
        from ppr.runs.status import status_problem  # status builds on this module

        try:
            spec_summary(self.info())
        except FileNotFoundError:
            return f"spec.json of {self.id} is missing{self._fix('spec.json')}"
        except Damaged as exc:
            return str(exc)
        except (TypeError, ValueError, AttributeError, KeyError, ArithmeticError) as exc:
            return f"spec.json of {self.id} is not a run description ({_short(exc)}){self._fix('spec.json')}"
        return status_problem(self.path) or self.result_problem()

    def result_problem(self) -> str | None:
        """For a complete run: what is wrong with metrics.json or scores.parquet (None if both read, or incomplete)."""
        if not (self.path / "metrics.json").is_file():
            return None
        try:
            self.result()
        except Damaged as exc:
            return str(exc)
        except FileNotFoundError:
            return None  # removed meanwhile
        scores = self.path / "scores.parquet"
        found = parquet_problem(scores) if scores.exists() else None  # none at all: a result without scores
        return f"{found}{self._fix('scores.parquet')}" if found else None

    def _fix(self, name: str) -> str:
        if name == "spec.json":
            return f"; the run's description is lost: delete its folder ({self.path}) to drop the run"
        return f"; `python -m ppr runs resume {self.id}` computes the run again"

    def semantics(self) -> int:
        """The run-semantics version the run was computed under (1: before versions were recorded)."""
        return int(self.info().get("semantics", 1))

    def spec(self) -> RunSpec:
        """The run description (InputError for an older version's run; Damaged if spec.json does not hold one)."""
        info = self.info()
        if info.get("semantics", 1) != (now := current_semantics(info)):
            raise InputError(
                f"Run {self.id} was made by an older version of the workbench (run semantics "
                f"v{info.get('semantics', 1)}, now v{now}): its results may differ from what this "
                "version computes, so it is not reused. Run the same settings again to get a current run."
            )
        try:
            return RunSpec.from_dict(info["spec"])
        except InputError:
            raise
        except (TypeError, ValueError, AttributeError, KeyError, ArithmeticError) as exc:
            raise Damaged(
                f"spec.json of {self.id} is not a run description ({_short(exc)}){self._fix('spec.json')}"
            ) from None

    def write_spec(self, spec: RunSpec) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(
            self.path / "spec.json", {"run_id": self.id, "semantics": spec.semantics, "spec": spec.to_dict()}
        )

    def result(self) -> dict[str, Any]:
        """metrics.json (Damaged if unreadable)."""
        return read_object(self.path / "metrics.json", self._fix("metrics.json"))

    def write_result(self, result: dict[str, Any]) -> None:
        """Last write of a run: after it the run counts as complete."""
        atomic_write_json(self.path / "metrics.json", result)

    def scores(self) -> pd.DataFrame:
        """scores.parquet (Damaged if it cannot be read)."""
        return self._parquet("scores.parquet")

    def write_scores(self, scores: pd.DataFrame) -> None:
        atomic_write_parquet(self.path / "scores.parquet", scores)

    def embeddings(self) -> pd.DataFrame:
        """embeddings.parquet (Damaged if it cannot be read)."""
        return self._parquet("embeddings.parquet")

    def _parquet(self, name: str) -> pd.DataFrame:
        path = self.path / name
        try:
            return pd.read_parquet(path)
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise Damaged(
                f"{name} of {self.id} is not a readable Parquet file ({_short(exc)}){self._fix(name)}"
            ) from None

    def write_embeddings(self, emb: pd.DataFrame) -> None:
        atomic_write_parquet(self.path / "embeddings.parquet", emb)

    def save_model(self, state_dict: dict[str, Any]) -> None:
        _save(self.path / "checkpoint.pt", {k: v.detach().cpu() for k, v in state_dict.items()})

    def load_model(self) -> dict[str, Any]:
        return _load(self.path / "checkpoint.pt")

    def save_state(self, state: dict[str, Any]) -> None:
        """The trainer's epoch checkpoint (resume.pt)."""
        _save(self.path / "resume.pt", state)

    def load_state(self) -> dict[str, Any] | None:
        path = self.path / "resume.pt"
        return _load(path) if path.is_file() else None

    def drop_state(self) -> None:
        (self.path / "resume.pt").unlink(missing_ok=True)


def _save(path: Path, obj: Any) -> None:
    import torch  # here: listing runs must not pay torch's import

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def _load(path: Path) -> Any:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def run_folder(runs_dir: Path, ref: str | Path) -> RunFolder:
    """A run by id (under runs_dir) or by folder path; it must have a spec.json."""
    text = str(ref)
    path = Path(text) if ("/" in text or not _ID_RE.match(text)) else Path(runs_dir) / text
    if not (path / "spec.json").is_file():
        raise InputError(f"Run {text!r} not found (expected {path}/spec.json); `python -m ppr runs list` shows runs.")
    return RunFolder(path)


def complete_run(runs_dir: Path, ref: str | Path) -> RunFolder:
    """A finished run by id or folder path."""
    run = run_folder(runs_dir, ref)
    if not run.is_complete:
        raise InputError(
            f"Run {run.id} is not complete yet (no metrics.json); `python -m ppr runs show {run.id}` tells its state."
        )
    return run


def list_runs(runs_dir: Path, warn: Log | None = to_stderr) -> list[RunFolder]:
    """Every run folder with a spec.json whose files read, sorted by id; the damaged ones are left out
    with a one-line warning each (see `readable`)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    return readable((RunFolder(p) for p in sorted(runs_dir.iterdir()) if (p / "spec.json").is_file()), warn)


def readable(runs: Iterable[RunFolder], warn: Log | None = to_stderr) -> list[RunFolder]:
    """The runs among `runs` with no `problem()`; `warn` gets one line per run left out, naming it and why."""
    kept = []
    for run in runs:
        found = run.problem()
        if found is None:
            kept.append(run)
        elif warn is not None:
            warn(skip_warning(run.id, found))
    return kept


def skip_warning(run_id: str, problem: str) -> str:
    """The one line a listing shows for a run it leaves out."""
    return f"warning: skipping damaged run {run_id}: {problem}"


def spec_summary(info: dict[str, Any]) -> dict[str, Any]:
    """What a listing shows of a spec.json (current or older layout): kind, method, label, dataset, k, noise, seed."""
    spec = info.get("spec") or info  # v1 kept the settings at the top level
    tune = spec.get("tune") or {}
    dataset = spec.get("dataset_ref") or spec.get("dataset")
    return {
        "kind": "warm" if not tune else "tune",
        "method": tune.get("method", "warm"),
        "label": tune.get("label") or _label(tune),
        "dataset": dataset if isinstance(dataset, str) else "?",
        "k": "all" if tune.get("k_shot") is None else str(tune["k_shot"]),
        "noise": float(tune.get("noise", 0)),
        "seed": tune.get("seed", (spec.get("warm") or {}).get("seed")),
        "semantics": int(info.get("semantics", 1)),
        "outdated": info.get("semantics", 1) != current_semantics(info),
    }


def _label(tune: dict[str, Any]) -> str:
    try:
        return TuneSpec(**tune).label if tune else "warm"
    except (InputError, TypeError):
        return str(tune.get("method", "?"))
