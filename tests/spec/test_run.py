"""The run description: cross-field checks, round trips, run ids and the warm/tuning relation."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

import ppr.spec.run
from ppr.errors import InputError
from ppr.spec import run as run_module
from ppr.spec.run import (
    BACKBONES,
    IMPORTED,
    METHOD_DEFAULTS,
    METHODS,
    SEMANTICS,
    TUNE_FALLBACK,
    BackboneSpec,
    RunSpec,
    SplitSpec,
    TuneSpec,
    WarmSpec,
    current_semantics,
    digest,
    imported_name_problem,
    semantics_of,
)
from ppr.spec.settings import declaration, value_types

TUNE = TuneSpec(method="ppr-full", k_shot=5, noise=0.1, seed=3)


def _spec(tune: TuneSpec | None = TUNE) -> RunSpec:
    return RunSpec("planted@v2", "abc123", SplitSpec(seed=1), BackboneSpec(d=32), WarmSpec(epochs=7), tune)


def _other_value(cls: type, name: str, value):
    """Another valid value of the setting (None where it has no other)."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    d, kind = declaration(f), value_types(cls)[name]
    if kind is bool:
        candidates = [not value]
    elif d.choices:
        candidates = list(d.choices)
    else:
        lo = d.lo if d.lo is not None else d.above
        candidates = [2, 0.5, 0.05, 1, 3] if value is None else [value + 1, value * 2, value / 2, value - 1]
        candidates = [kind(c) for c in candidates if lo is None or c >= lo]
    for c in candidates:
        if c == value:
            continue
        try:
            cls(**{name: c})
        except InputError:
            continue
        return c
    return None


def test_split_shares_must_leave_tuning_users() -> None:
    for test, val in ((0.5, 0.5), (0.7, 0.4), (0.25, 0.75)):
        with pytest.raises(InputError, match=r"Split setting test_frac=.*test_frac \+ val_frac below 1"):
            SplitSpec(test_frac=test, val_frac=val)
    assert SplitSpec(test_frac=0.5, val_frac=0.49).val_frac == 0.49
    assert SplitSpec(test_frac=0.0, val_frac=0.99).test_frac == 0.0


def test_split_id_is_readable_and_follows_every_setting() -> None:
    assert SplitSpec().split_id == "s0-t10-cauto-fauto-test0.2-val0.1-neg99"
    assert SplitSpec(seed=1).split_id == SplitSpec(seed=1).split_id
    default = SplitSpec()
    ids = set()
    for f in dataclasses.fields(SplitSpec):
        ids.add(SplitSpec(**{f.name: _other_value(SplitSpec, f.name, getattr(default, f.name))}).split_id)
    assert len(ids) == len(dataclasses.fields(SplitSpec)) and default.split_id not in ids


def test_heads_must_divide_the_hidden_size() -> None:
    with pytest.raises(InputError, match=r"Backbone setting n_heads=3 is invalid: expected a divisor of .*d=64"):
        BackboneSpec(n_heads=3)
    with pytest.raises(InputError, match="n_heads=4"):
        BackboneSpec(d=10, n_heads=4)
    assert BackboneSpec(d=12, n_heads=3).n_heads == 3


def test_specs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        TUNE.lr = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        _spec().tune = None  # type: ignore[misc]


@pytest.mark.parametrize("tune", [None, TUNE, TuneSpec(method="sasrec", k_shot=None, lr=0.01, epochs=0)])
def test_to_dict_from_dict_round_trip_through_json(tune: TuneSpec | None) -> None:
    spec = _spec(tune)
    d = spec.to_dict()
    assert d["split"]["seed"] == 1 and d["backbone"]["d"] == 32 and (d["tune"] is None) == (tune is None)
    back = RunSpec.from_dict(json.loads(json.dumps(d)))
    assert back == spec and back.run_id == spec.run_id
    assert RunSpec.from_dict(d) == spec


def test_from_dict_checks_the_values() -> None:
    d = _spec().to_dict()
    d["tune"]["prompt_mask"] = 1.5
    with pytest.raises(InputError, match="prompt_mask=1.5"):
        RunSpec.from_dict(d)


def test_run_id_is_stable_and_readable() -> None:
    assert _spec().run_id == _spec().run_id == RunSpec.from_dict(_spec().to_dict()).run_id
    assert re.fullmatch(r"planted-ppr-full-k5-r0\.1-s3-f0-[0-9a-f]{10}", _spec().run_id)
    assert re.fullmatch(r"planted-warm-[0-9a-f]{10}", _spec(None).run_id)
    no_cl = dataclasses.replace(TUNE, k_shot=None, cl=False, noise=0.0)
    assert _spec(no_cl).run_id.startswith("planted-ppr-full-nocl-kall-r0-s3-f0-")
    assert _spec().run_id.endswith(digest({"semantics": _spec().semantics, "spec": _spec().to_dict()}))


def test_run_id_changes_with_every_setting() -> None:
    base = _spec()
    ids = {base.run_id}
    changed = 0
    for node in ("split", "backbone", "warm", "tune"):
        part = getattr(base, node)
        for f in dataclasses.fields(part):
            if f.name in TuneSpec.RECORDED_WHEN_SET:  # set together with method imported only: see below
                continue
            other = _other_value(type(part), f.name, getattr(part, f.name))
            assert other is not None, (node, f.name)
            spec = dataclasses.replace(base, **{node: dataclasses.replace(part, **{f.name: other})})
            assert spec.run_id not in ids, (node, f.name, other)
            ids.add(spec.run_id)
            changed += 1
    for field, value in (("dataset", "planted@v3"), ("dataset_hash", "abc124"), ("tune", None)):
        spec = dataclasses.replace(base, **{field: value})
        assert spec.run_id not in ids, field
        ids.add(spec.run_id)
    assert changed == sum(len(dataclasses.fields(c)) for c in (SplitSpec, BackboneSpec, WarmSpec, TuneSpec)) - len(
        TuneSpec.RECORDED_WHEN_SET
    )


def test_run_ids_of_computed_runs_are_those_of_before_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fields an imported run sets are recorded only when set: every other run keeps its id (and its folder).
    The ids pinned are those of SEMANTICS 5, when imports came."""
    monkeypatch.setattr(run_module, "SEMANTICS", 5)
    base = RunSpec("planted@v1", "hash0")
    assert base.run_id == "planted-warm-54a8318eaf"
    assert base.tuned(TuneSpec(method="finetune")).run_id == "planted-finetune-kall-r0-s0-f0-ee33565d83"
    nocl = TuneSpec(method="ppr-full", k_shot=3, noise=0.3, seed=2, cl=False)
    assert base.tuned(nocl).run_id == "planted-ppr-full-nocl-k3-r0.3-s2-f0-ce6aeb82f3"
    assert not set(TuneSpec.RECORDED_WHEN_SET) & set(base.tuned(nocl).to_dict()["tune"])


IMPORT = {"method": IMPORTED, "imported": "bert4rec", "scores_sha256": "ab" * 32}


def test_an_imported_method_is_named_by_its_label_and_file() -> None:
    tune = TuneSpec(**IMPORT, k_shot=5, seed=1)
    spec = _spec(tune)
    assert tune.label == "bert4rec" and not spec.needs_warm and not tune.reads_profile
    assert re.fullmatch(r"planted-bert4rec-k5-r0-s1-f0-[0-9a-f]{10}", spec.run_id)
    back = RunSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert back == spec and back.run_id == spec.run_id and back.to_dict()["tune"]["imported"] == "bert4rec"
    ids = {spec.run_id}
    for change in ({"imported": "bert4rec2"}, {"scores_sha256": "cd" * 32}, {"k_shot": None}):
        ids.add(_spec(dataclasses.replace(tune, **change)).run_id)
    assert len(ids) == 4


@pytest.mark.parametrize(
    ("tune", "message"),
    [
        ({"method": IMPORTED}, r"method='imported' is invalid: expected a method that is computed"),
        ({**IMPORT, "scores_sha256": "xyz"}, "scores_sha256='xyz' is invalid: expected 64 lower-case hex digits"),
        ({"method": "finetune", "imported": "x"}, "imported='x' is invalid: expected none: it belongs to method"),
        ({**IMPORT, "imported": "finetune"}, "imported='finetune' is invalid: expected a short name of your own"),
        ({**IMPORT, "imported": "ppr-full-p2"}, "not beginning with ppr-light- or ppr-full-"),
        ({**IMPORT, "imported": "bert-nocl"}, "no '-'-separated part nocl"),
        ({**IMPORT, "imported": "Bert"}, "imported='Bert' is invalid"),
        ({**IMPORT, "imported": "b" * 33}, "is invalid: expected a short name"),
    ],
)
def test_imported_settings_are_checked(tune: dict, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        TuneSpec(**tune)
    assert imported_name_problem("sasrec-recbole") is None and imported_name_problem("gru4rec_v2.1") is None


def test_run_id_includes_the_semantics_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = {_spec().run_id, _spec(None).run_id}
    monkeypatch.setattr(ppr.spec.run, "SEMANTICS", SEMANTICS + 1)
    after = {_spec().run_id, _spec(None).run_id}
    assert not before & after
    assert {i[:-10] for i in before} == {i[:-10] for i in after}  # same readable prefix, new digest


def test_a_version_that_changed_one_model_leaves_the_other_models_runs_their_ids() -> None:
    """v8 changed bert4rec only, v9 gce-gnn's network only: a run on sasrec keeps v7's id (so its stored result is
    reused); a bert4rec run or a gce-gnn run moves on, and so does every run once a later version changes them all."""
    sasrec, bert = _spec(), dataclasses.replace(_spec(), backbone=BackboneSpec(kind="bert4rec"))
    gce, melu = (_spec(TuneSpec(method=m, fold=0)) for m in ("gce-gnn", "melu"))
    assert SEMANTICS == 9 and (sasrec.semantics, bert.semantics, gce.semantics, melu.semantics) == (7, 8, 9, 7)
    assert sasrec.run_id.endswith(digest({"semantics": 7, "spec": sasrec.to_dict()}))
    assert bert.run_id.endswith(digest({"semantics": 8, "spec": bert.to_dict()}))
    assert gce.run_id.endswith(digest({"semantics": 9, "spec": gce.to_dict()}))
    assert [semantics_of(k) for k in BACKBONES] == [7, 7, 7, 8]
    assert current_semantics({"semantics": 7, "spec": sasrec.to_dict()}) == 7
    assert current_semantics({"semantics": 7, "spec": bert.to_dict()}) == 8  # an outdated bert4rec run
    assert current_semantics({"semantics": 7, "spec": gce.to_dict()}) == 9  # an outdated gce-gnn run
    assert current_semantics({"semantics": 7, "spec": melu.to_dict()}) == 7
    assert current_semantics({"spec": "damaged"}) == current_semantics({}) == 7  # read as sasrec, the default


def test_tuned_runs_warm_train_with_the_tuning_seed() -> None:
    warm = _spec(None)
    assert warm.kind == "warm" and warm.warm_run() == warm and warm.dataset_name == "planted"
    tuned = warm.tuned(TuneSpec(method="finetune", seed=9))
    assert tuned.kind == "tune" and tuned.tune == TuneSpec(method="finetune", seed=9)
    assert tuned.warm == dataclasses.replace(warm.warm, seed=9)  # every other warm setting kept
    assert (tuned.split, tuned.backbone, tuned.dataset, tuned.dataset_hash) == (
        warm.split,
        warm.backbone,
        warm.dataset,
        warm.dataset_hash,
    )
    back = tuned.warm_run()
    assert back.kind == "warm" and back.tune is None and back.warm.seed == 9
    assert back == dataclasses.replace(warm, warm=dataclasses.replace(warm.warm, seed=9))
    assert tuned.warm_run().run_id != warm.run_id  # another seed, another warm run
    assert warm.tuned(TuneSpec(seed=0)).warm_run() == warm


@pytest.mark.parametrize("method", METHODS)
def test_resolved_gives_the_method_default_unless_set(method: str) -> None:
    tune = TuneSpec(method=method)
    for name in ("lr", "epochs", "patience", "batch_size"):
        assert getattr(tune, name) is None
        assert tune.resolved(name) == METHOD_DEFAULTS[name].get(method, TUNE_FALLBACK[name])
    explicit = TuneSpec(method=method, lr=0.5, epochs=3, patience=2, batch_size=7)
    assert [explicit.resolved(n) for n in ("lr", "epochs", "patience", "batch_size")] == [0.5, 3, 2, 7]


def test_resolved_defaults_per_method() -> None:
    assert TuneSpec(method="sasrec").resolved("epochs") == 40
    assert TuneSpec(method="sasrec").resolved("batch_size") == 256
    assert TuneSpec(method="finetune").resolved("lr") == 3e-4
    assert TuneSpec(method="ppr-light").resolved("lr") == 3e-3
    assert TuneSpec(method="ppr-full").resolved("lr") == 1e-4
    assert TuneSpec(method="ppr-full").resolved("epochs") == 50 and TuneSpec().resolved("batch_size") == 32
    assert TuneSpec(method="warm-only").resolved("lr") == 0.0
    assert TuneSpec(epochs=0).resolved("epochs") == 0  # an explicit 0 is not "unset"


def test_label_names_the_toggles_of_ppr_only() -> None:
    assert TuneSpec(method="ppr-full").label == "ppr-full"
    assert TuneSpec(method="ppr-full", cl=False, prompt_aug=False).label == "ppr-full-nocl"
    assert TuneSpec(method="ppr-light", prompt_aug=False).label == "ppr-light-nopaug"
    assert TuneSpec(method="ppr-light", prompt_aug=False, behavior_aug=False).label == "ppr-light-nopaug-nobaug"
    assert TuneSpec(method="ppr-light", behavior_aug=False, prompt_tokens=4, deep_prefix=True).label == (
        "ppr-light-nobaug-p4-deep"
    )
    for method in ("warm-only", "sasrec", "finetune"):
        assert TuneSpec(method=method, cl=False, prompt_tokens=3, deep_prefix=True).label == method


def test_uses_cl_only_when_ppr_has_a_view_and_a_weight() -> None:
    assert TuneSpec(method="ppr-light").uses_cl and TuneSpec(method="ppr-full").uses_cl
    assert not TuneSpec(method="finetune").uses_cl
    assert not TuneSpec(cl=False).uses_cl
    assert not TuneSpec(cl_weight=0.0).uses_cl
    assert not TuneSpec(prompt_aug=False, behavior_aug=False).uses_cl
    assert TuneSpec(prompt_aug=False).uses_cl and TuneSpec(behavior_aug=False).uses_cl


def test_digest_is_canonical() -> None:
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})
    assert re.fullmatch(r"[0-9a-f]{10}", digest(None))


# ---- cross-domain runs


def test_a_target_domain_is_recorded_only_when_set() -> None:
    base = RunSpec("planted@v1", "hash0")
    assert "target_domain" not in base.to_dict()["split"] and "target_domain" not in SplitSpec().to_dict()
    cross = dataclasses.replace(base, split=SplitSpec(target_domain="target"))
    assert cross.to_dict()["split"]["target_domain"] == "target" and RunSpec.from_dict(cross.to_dict()) == cross
    assert cross.run_id != base.run_id and cross.split.split_id == f"{SplitSpec().split_id}-dtarget"
    assert cross.cross_domain and not base.cross_domain
    with pytest.raises(InputError, match=r"target_domain='two words' is invalid: expected 1 to 64 of letters"):
        SplitSpec(target_domain="two words")


def test_minet_needs_a_target_domain_and_frozen_item_methods_refuse_one() -> None:
    base = RunSpec("planted@v1", "hash0")
    with pytest.raises(InputError, match="minet is a cross-domain baseline: it needs a target domain"):
        base.tuned(TuneSpec(method="minet"))
    cross = dataclasses.replace(base, split=SplitSpec(target_domain="target"))
    for method in ("warm-only", "adapter", "ppr-light"):
        with pytest.raises(InputError, match=f"{method} keeps the warmed item embeddings frozen"):
            cross.tuned(TuneSpec(method=method))
    for method in ("pop", "sasrec", "finetune", "ppr-full", "minet"):
        spec = cross.tuned(TuneSpec(method=method))
        assert spec.reads_source == (method in ("finetune", "ppr-full", "minet"))
    assert not base.tuned(TuneSpec(method="finetune")).reads_source


def test_cross_domain_runs_have_learning_rates_of_their_own_unless_set() -> None:
    cross = RunSpec("planted@v1", "hash0", SplitSpec(target_domain="target"))
    assert cross.tuned(TuneSpec(method="ppr-full")).resolved("lr") == 1e-3
    assert cross.tuned(TuneSpec(method="finetune")).resolved("lr") == 1e-3
    assert cross.tuned(TuneSpec(method="ppr-full", lr=5e-4)).resolved("lr") == 5e-4
    assert cross.tuned(TuneSpec(method="sasrec")).resolved("lr") == 3e-3
    assert cross.tuned(TuneSpec(method="ppr-full")).resolved("epochs") == 50
    assert RunSpec("planted@v1", "hash0").tuned(TuneSpec(method="ppr-full")).resolved("lr") == 1e-4
