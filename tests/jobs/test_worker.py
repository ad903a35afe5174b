"""The local worker trains a sweep's cells that may train together as groups (ppr.runs.group)."""

from __future__ import annotations

import json

from _sweephome import sweep_home, sweep_template  # noqa: F401 - fixtures

from ppr.data.store import Store
from ppr.jobs.sweep import sweep_runs
from ppr.runs.folder import RunFolder
from ppr.runs.status import read_status


def test_a_sweep_trains_each_methods_cells_as_one_group(sweep_home) -> None:
    home, sid = sweep_home
    store = Store(home)
    sizes: dict[str, set[int]] = {}
    runs = sweep_runs(store, sid)
    runs += [RunFolder(store.runs_dir / r.spec().warm_run().run_id) for r in runs]
    for run in runs:
        spec = run.spec()
        assert read_status(run.path)["state"] == "done"
        result = json.loads((run.path / "metrics.json").read_text())
        label = "warm" if spec.tune is None else spec.tune.label
        sizes.setdefault(label, set()).add(result["environment"]["group"])
    # 2 k-shots x 2 seeds per method and ablation; warm runs alone
    assert sizes == {"warm": {1}, "finetune": {4}, "ppr-light": {4}, "ppr-light-nocl": {4}}
