"""Prompt explorer helpers: sibling runs of one cell (side-by-side top-10), the clicked point's user, the hint for missing methods."""

from __future__ import annotations

from pathlib import Path

from ppr.data.store import Store
from ppr.eval.views import missing_hint, picked_user, run_cell, sibling_runs
from ppr.io import atomic_write_json, read_json


def fake_run(
    home: Path,
    rid: str,
    method: str,
    k: int | None = 2,
    noise: float = 0.0,
    seed: int = 0,
    warm: str = "w-s0",
    label: str | None = None,
    cl: bool = True,
    embeddings: bool = True,
) -> str:
    """A run folder holding just what the lookup reads: spec.json (+ embeddings.parquet unless told not)."""
    path = home / "runs" / rid
    path.mkdir(parents=True)
    spec = {
        "kind": "tune",
        "dataset_ref": "planted@v1",
        "split": {"id": "sp1"},
        "warm_run": warm,
        "tune": {"method": method, "k_shot": k, "noise": noise, "seed": seed, "cl": cl, "label": label or method},
    }
    atomic_write_json(path / "spec.json", spec)
    if embeddings:
        (path / "embeddings.parquet").write_bytes(b"")
    return rid


def test_siblings_share_the_cell_and_prefer_the_matching_variant(tmp_path: Path) -> None:
    store = Store(tmp_path)
    light = fake_run(tmp_path, "a-light", "ppr-light")
    fine = fake_run(tmp_path, "b-fine", "finetune")
    full = fake_run(tmp_path, "c-full", "ppr-full")
    full_nocl = fake_run(tmp_path, "d-full-nocl", "ppr-full", cl=False, label="ppr-full-nocl")
    light_nocl = fake_run(tmp_path, "e-light-nocl", "ppr-light", cl=False, label="ppr-light-nocl")
    # other cells: k, noise, seed (and its warm run), warm run alone; and a run without embeddings yet
    fake_run(tmp_path, "f-fine-k5", "finetune", k=5)
    fake_run(tmp_path, "g-fine-noise", "finetune", noise=0.3)
    fake_run(tmp_path, "h-fine-s1", "finetune", seed=1, warm="w-s1")
    fake_run(tmp_path, "i-fine-otherwarm", "finetune", warm="w-other")
    fake_run(tmp_path, "j-fine-running", "finetune", embeddings=False)

    assert sibling_runs(store, light) == {"ppr-light": light, "finetune": fine, "ppr-full": full}
    assert sibling_runs(store, fine) == {"finetune": fine, "ppr-light": light, "ppr-full": full}
    # an ablation finds the same ablation of the other PPR method; fine-tuning has none
    assert sibling_runs(store, light_nocl) == {"ppr-light": light_nocl, "finetune": fine, "ppr-full": full_nocl}
    alone = sibling_runs(store, "f-fine-k5")
    assert alone == {"finetune": "f-fine-k5"}


def test_run_cell_reads_k_noise_seed_and_warm_run(tmp_path: Path) -> None:
    fake_run(tmp_path, "r", "ppr-light", k=None, noise=0.3, seed=2, warm="w2")
    assert run_cell(read_json(tmp_path / "runs" / "r" / "spec.json")) == ("planted@v1", "sp1", "w2", None, 0.3, 2)


def test_missing_hint_names_the_sweep_for_the_cell() -> None:
    spec = {"dataset_ref": "planted@v1", "tune": {"method": "ppr-light", "k_shot": None, "noise": 0.3, "seed": 1}}
    hint = missing_hint(spec, ["finetune", "ppr-full"])
    assert "finetune, ppr-full" in hint
    assert "python -m ppr sweep planted@v1 --methods finetune,ppr-full --k-shots all --noise 0.3 --seeds 1" in hint


def test_picked_user_reads_the_first_user_point() -> None:
    event = {"selection": {"points": [{"x": 1.0, "y": 2.0, "customdata": [42, "test", 3]}], "point_indices": [0]}}
    assert picked_user(event) == 42
    star = {"x": 0.5, "y": 0.5}  # the what-if or selected-user marker: no customdata
    assert picked_user({"selection": {"points": [star, {"customdata": [7]}]}}) == 7
    assert picked_user({"selection": {"points": [star]}}) is None
    assert picked_user({"selection": {"points": []}}) is None
    assert picked_user(None) is None
