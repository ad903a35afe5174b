"""Sweeps: the grid's cells, their order and dedup, bad grids, and the sweep id."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from ppr.errors import InputError
from ppr.spec import run as run_module
from ppr.spec.run import PPR_METHODS, RunSpec, TuneSpec, WarmSpec
from ppr.spec.sweep import ABLATIONS, SweepSpec

BASE = RunSpec("planted@v1", "abc123", warm=WarmSpec(epochs=9), tune=TuneSpec(lr=0.01, prompt_tokens=2))
METHODS = ("warm-only", "finetune", "ppr-light", "ppr-full")


def _sweep(**axes) -> SweepSpec:
    grid = {"methods": METHODS, "k_shots": (None, 5), "noises": (0.0, 0.1), "seeds": (0, 1), **axes}
    return SweepSpec(axes.pop("base", BASE), **{k: v for k, v in grid.items() if k != "base"})


def test_cell_count_and_ablations_only_for_ppr() -> None:
    sweep = _sweep(ablations=("none", "no-cl", "no-behavior-aug"))
    cells = sweep.cells()
    # per seed, k-shot and noise: 2 non-PPR methods once + 2 PPR methods x 3 ablations
    assert len(cells) == 2 * 2 * 2 * (2 + 2 * 3)
    for abl, spec in cells:
        assert spec.tune.method in PPR_METHODS or abl == "none"
        assert spec.tune.cl == (abl != "no-cl") and spec.tune.behavior_aug == (abl != "no-behavior-aug")
        assert spec.tune.prompt_aug
    non_ppr = [spec.tune for _, spec in cells if spec.tune.method not in PPR_METHODS]
    assert len(non_ppr) == 2 * 2 * 2 * 2 and all(t.cl for t in non_ppr)
    assert len(_sweep().cells()) == 2 * 2 * 2 * 4  # the default ablation: none


def test_cells_are_the_tuned_runs_of_the_base() -> None:
    for abl, spec in _sweep(ablations=tuple(ABLATIONS)).cells():
        t = spec.tune
        expected = dataclasses.replace(
            BASE.tune, method=t.method, k_shot=t.k_shot, noise=t.noise, seed=t.seed, **ABLATIONS[abl]
        )
        assert t == expected
        assert t.lr == 0.01 and t.prompt_tokens == 2  # shared settings of the base's tune
        assert spec == BASE.tuned(t) and spec.warm.seed == t.seed and spec.warm.epochs == 9


def test_cells_are_seed_major_in_axis_order() -> None:
    cells = _sweep(seeds=(3, 1), k_shots=(5, None), noises=(0.1,)).cells()
    assert [spec.tune.seed for _, spec in cells] == [3] * 8 + [1] * 8
    first_seed = [(spec.tune.method, spec.tune.k_shot) for _, spec in cells[:8]]
    assert first_seed == [(m, k) for m in METHODS for k in (5, None)]
    order = [(abl, spec.tune.method) for abl, spec in _sweep(ablations=("no-cl", "none"), seeds=(0,)).cells()]
    assert order[:8] == [("none", "warm-only")] * 4 + [("none", "finetune")] * 4  # 2 k-shots x 2 noise rates
    ppr = [a for a, m in order if m == "ppr-light"]
    assert ppr == ["no-cl", "none"] * 4  # ablations innermost, in the order given


def test_duplicate_cells_are_dropped() -> None:
    twice = _sweep(seeds=(0, 0), methods=("ppr-full", "ppr-full"), k_shots=(5, 5), noises=(0.0, 0.0))
    assert len(twice.cells()) == 1
    # the base already has no CL: the 'no-cl' ablation is the same run as 'none' and is kept once
    no_cl = dataclasses.replace(BASE, tune=dataclasses.replace(BASE.tune, cl=False))
    cells = _sweep(base=no_cl, ablations=("none", "no-cl")).cells()
    assert len(cells) == 2 * 2 * 2 * 4
    assert {abl for abl, _ in cells} == {"none"}
    specs = [spec for _, spec in cells]
    assert len(set(specs)) == len(specs) and len({s.run_id for s in specs}) == len(specs)


@pytest.mark.parametrize(
    ("axes", "named"),
    [
        ({"methods": ("magic",)}, "method='magic'"),
        ({"k_shots": (0,)}, "k_shot=0"),
        ({"k_shots": (2.5,)}, "k_shot=2.5"),
        ({"noises": (1.5,)}, "noise=1.5"),
        ({"noises": (float("nan"),)}, "noise=nan"),
        ({"seeds": (-1,)}, "seed=-1"),
        ({"seeds": (True,)}, "seed=True"),
    ],
)
def test_invalid_axis_values_are_rejected_naming_the_setting(axes: dict, named: str) -> None:
    with pytest.raises(InputError, match=re.escape(f"Tuning setting {named} is invalid")):
        _sweep(**axes)


def test_unknown_ablation_and_empty_axes_are_rejected() -> None:
    with pytest.raises(InputError, match="no-magic") as err:
        _sweep(ablations=("none", "no-magic"))
    assert all(name in str(err.value) for name in ABLATIONS)
    for axis, name in (
        ("methods", "methods"),
        ("k_shots", "k-shots"),
        ("noises", "noise rates"),
        ("seeds", "seeds"),
        ("ablations", "ablations"),
    ):
        with pytest.raises(InputError, match=f"Sweep grid is invalid \\({name}\\)"):
            _sweep(**{axis: ()})
    with pytest.raises(InputError, match="no tuning settings"):
        _sweep(base=dataclasses.replace(BASE, tune=None))


def test_sweep_id_is_stable_and_follows_the_grid() -> None:
    sweep = _sweep()
    assert sweep.sweep_id == _sweep().sweep_id
    assert re.fullmatch(r"planted-[0-9a-f]{10}", sweep.sweep_id)
    others = [
        _sweep(seeds=(0, 1, 2)),
        _sweep(seeds=(1, 0)),
        _sweep(methods=METHODS[:3]),
        _sweep(k_shots=(None,)),
        _sweep(noises=(0.0,)),
        _sweep(ablations=("none", "no-cl")),
        _sweep(base=dataclasses.replace(BASE, warm=WarmSpec(epochs=10))),
        _sweep(base=dataclasses.replace(BASE, tune=dataclasses.replace(BASE.tune, lr=0.02))),
    ]
    assert len({s.sweep_id for s in others} | {sweep.sweep_id}) == len(others) + 1


def test_sweep_ids_are_those_of_before_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tuning fields only imported runs set are not recorded in a sweep's description: the same ids as before
    (those of SEMANTICS 5, when imports came)."""
    monkeypatch.setattr(run_module, "SEMANTICS", 5)
    base = RunSpec("planted@v1", "hash0")
    sweep = SweepSpec.grid(base, ("finetune", "ppr-light"), (1, None), (0.0,), (0, 1))
    assert sweep.sweep_id == "planted-a41bb5218f"
    assert "imported" not in sweep.to_dict()["base"]["tune"]


def test_to_dict_from_dict_round_trip_through_json() -> None:
    sweep = _sweep(ablations=("none", "no-prompt-aug"))
    back = SweepSpec.from_dict(json.loads(json.dumps(sweep.to_dict())))
    assert back == sweep and back.sweep_id == sweep.sweep_id and back.cells() == sweep.cells()
