"""Run folders: ids from spec identity, completeness, checkpoints loadable without pickle."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from ppr.errors import InputError
from ppr.runs import library_versions, list_runs, make_run_id, new_run, open_run, spec_hash


def _spec(**kw) -> dict:
    return {"kind": "tune", "dataset": {"content_hash": "abc"}, "tune": {"method": "ppr-light", "seed": 0}, **kw}


def test_run_id_depends_on_identity_not_on_where_or_when() -> None:
    a = _spec(versions={"torch": "1"}, device="cpu", created_at="2026-01-01")
    b = _spec(versions={"torch": "2"}, device="cuda", created_at="2027-01-01")
    assert spec_hash(a) == spec_hash(b)
    assert spec_hash(a) != spec_hash(_spec(tune={"method": "ppr-light", "seed": 1}))
    rid = make_run_id("ml 100k/ppr light", a)
    assert rid.startswith("ml-100k-ppr-light-") and "/" not in rid


def test_library_versions_name_the_stack() -> None:
    assert {"python", "torch", "numpy", "pandas", "duckdb"} <= set(library_versions())


def test_new_run_is_incomplete_until_metrics_then_reused(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run = new_run(runs, "x", _spec())
    assert not run.is_complete and (run.path / "spec.json").is_file()
    run.save_checkpoint({"w": torch.arange(3.0)})
    run.write_scores(pd.DataFrame({"target_id": [0, 1], "auc": [0.5, 1.0]}))
    assert list_runs(runs) == []
    with pytest.raises(InputError, match="not complete"):
        open_run(runs, run.id)
    run.write_metrics({"ok": True})
    again = new_run(runs, "x", _spec(created_at="later"))
    assert again.path == run.path and again.is_complete
    assert again.spec().get("created_at") is None  # a complete run's spec is left as it was
    state = torch.load(run.path / "checkpoint.pt", weights_only=True)
    assert torch.equal(state["w"], torch.arange(3.0))
    assert open_run(runs, run.id).metrics() == {"ok": True}
    assert open_run(runs, str(run.path)).id == run.id
    assert [r.id for r in list_runs(runs)] == [run.id]
    assert not list(runs.glob(".*tmp"))  # atomic writes leave no temp files
