"""The run description: one frozen, validated tree that names a run.

    RunSpec
      dataset, dataset_hash   the dataset version (NAME@vN) and its content hash
      split: SplitSpec        the cold-start split (docs/protocol.md)
      backbone: BackboneSpec  the sequence model's shape
      warm: WarmSpec          warm-training of the backbone on warm users
      tune: TuneSpec | None   the cold-start method (None: the run is the warm-training itself)

Every default and every check of a setting is declared once, on its field (ppr.spec.settings);
the CLI flags, the Runs form, sweeps and run ids are derived from this tree. A run folder
keeps it once (spec.json) and one digest names it. Its semantics version is part of that digest:
bump SEMANTICS whenever a change alters what a run computes, so runs of older code are never
reused (the store lists them as outdated); when the change alters the runs of some models only
(a backbone, or a baseline's own network), say which in CHANGED_ONLY, and the other runs keep
their ids and stored results. The device
is not part of a run: where it runs does not change what it is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from ppr.errors import InputError
from ppr.spec.settings import Settings, setting

# v1: runs before the run description had a version (no "semantics" in spec.json).
# v2: the redesign (one trainer, one scorer): the same results as v1 bit for bit, except that
#     warm-training validates the untrained model too and keeps it should no epoch beat it.
# v3: a tuned model's dropout streams come from the tuning seed (v1 and v2 drew them from torch's
#     per-process random seed, so one tuning run gave different results in each process).
# v4: cold users in folds (each tested once); PPR's contrastive loss as the paper's (views of f_seq
#     without MLP_a, prompt view masks the prompt generator's input only, clicks masked in place,
#     one-directional InfoNCE); full-catalogue ranking beside the sampled one.
# v5: warm-training (and the sasrec baseline) by default with a sampled softmax over 256 negatives, a
#     learning-rate warm-up and cosine decay: better quality in a fraction of the epochs.
# v6: training draws (dropout masks, the views' masks) are hashes of (seed, step, draw, coordinates) instead of numpy/torch
#     streams: a cell computes the same alone or in a group of cells (ppr.train.grouped), on CPU or CUDA.
#     PPR's contrastive views read every click of a window but its last (before: the longest rows' last click
#     was left out, the others' read), so a row's views do not depend on the other rows of its batch.
# v7: gce-gnn's defaults: lr 3e-3, 15 epochs (its cosine decay spans them), patience 5 (was 1e-3, 40, 10).
# v8: bert4rec's blocks start Xavier-normal (its mask output ignored the clicks under N(0, 0.02)).
# v9: gce-gnn pools the last 10 clicks (was every click of the window; as good on ml-100k, 2.5x faster).
SEMANTICS = 9
# Versions whose change alters the runs of some models only (a backbone, or a baseline's network of its own): a run
# of any other model computes what the version before computed, so it keeps that version, its id and its stored
# result (bench/same_results.py checks).
CHANGED_ONLY = {8: ("bert4rec",), 9: ("gce-gnn",)}


def semantics_of(*models: str) -> int:
    """The run-semantics version of a run computed by `models` (its backbone kind, and its method where that is a
    network of its own): the newest version whose change alters one of them."""
    return max(v for v in range(1, SEMANTICS + 1) if set(models) & set(CHANGED_ONLY.get(v, models)))


def current_semantics(info: dict[str, Any]) -> int:
    """The version a run described by a run folder's spec.json (`info`, as read, maybe damaged) has now: a run
    whose recorded version differs is outdated."""
    spec = info.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    backbone, tune = spec.get("backbone"), spec.get("tune")
    kind = str(backbone.get("kind", "sasrec")) if isinstance(backbone, dict) else "sasrec"
    return semantics_of(*models_of(kind, str(tune.get("method")) if isinstance(tune, dict) else None))


def models_of(backbone_kind: str, method: str | None) -> tuple[str, ...]:
    """What computes a run: its backbone, and its method where that is a network of its own (melu, gce-gnn)."""
    return (backbone_kind, method) if method in OWN_MODELS else (backbone_kind,)


METHODS = (
    "pop",
    "pop-profile",
    "warm-only",
    "sasrec",
    "melu",
    "gce-gnn",
    "finetune",
    "adapter",
    "ppr-light",
    "ppr-full",
    "minet",
)
PPR_METHODS = ("ppr-light", "ppr-full")
COUNTED = ("pop", "pop-profile")  # popularity baselines: counted from clicks, no model trained, no warm run
PROFILE_METHODS = ("pop-profile", "melu", "gce-gnn", "finetune", "adapter", "ppr-light", "ppr-full")  # read profiles
OWN_MODELS = ("melu", "gce-gnn")  # baselines with a network of their own, trained from scratch
# scores computed by another library (`python -m ppr scores import`): a finished run under its own name, never computed
IMPORTED = "imported"
NO_WARM = (*COUNTED, *OWN_MODELS, IMPORTED)  # start from no warm run
ABLATION_TAGS = ("nocl", "nopaug", "nobaug")  # the parts of a PPR label that name a switched-off component
_IMPORTED_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
NO_ZERO_SHOT = ("warm-only", "sasrec")  # read clicks only: a user without clicks gets no score (n/a, not ties)
# Cross-domain runs (SplitSpec.target_domain set): the warm run reads the other domains' clicks only, so the target
# domain's items are new to it. Methods that freeze the item embeddings (or train nothing) cannot learn them.
FROZEN_ITEMS = ("warm-only", "adapter", "ppr-light")
CROSS_DOMAIN_ONLY = ("minet",)  # reads the source domain's clicks: needs a target domain
SOURCE_READERS = ("finetune", "ppr-full", "minet")  # read a user's source-domain clicks in a cross-domain run
_DOMAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")
BACKBONES = ("sasrec", "cl4srec", "gru4rec", "bert4rec")
DEEP_PREFIX_BACKBONES = ("sasrec", "cl4srec")  # a prompt per Transformer layer; gru4rec and bert4rec read one prefix
LOSSES = ("softmax", "bpr")
DECAYS = ("cosine", "none")
# Per-method defaults, picked by validation joint NDCG@10 on ml-100k (seed 0, batch 32):
# finetune 1e-4/3e-4/1e-3 -> 3e-4; ppr-light 1e-3/3e-3/1e-2 -> 3e-3; ppr-full 1e-4/3e-4/1e-3
# -> 1e-4. The paper's 1e-5 barely moves in the few hundred steps small data allows. sasrec
# learns every warm user from scratch, so it trains as warm-training does (its loss and schedule too).
# gce-gnn (ml-100k, seed 0, validation NDCG@10, best epoch): 1e-3 over 40 epochs 0.626 (22) and 0.592 (14) on folds
# 0 and 1; 3e-3 over 15 epochs 0.625 (7) and 0.599 (5), in 70 s instead of 160-200 s; 1e-3 over 15 epochs 0.477.
METHOD_DEFAULTS = {
    "lr": {
        "sasrec": 3e-3,
        "melu": 1e-3,
        "gce-gnn": 3e-3,
        "finetune": 3e-4,
        "adapter": 3e-3,
        "ppr-light": 3e-3,
        "ppr-full": 1e-4,
        "minet": 1e-3,
    },
    "epochs": {"sasrec": 40, "melu": 40, "gce-gnn": 15},
    "patience": {"sasrec": 10, "melu": 10, "gce-gnn": 5},
    "batch_size": {"sasrec": 256, "melu": 64, "gce-gnn": 128},
}
TUNE_FALLBACK = {"lr": 0.0, "epochs": 50, "patience": 5, "batch_size": 32}
# Cross-domain runs learn the target domain's items from scratch (warm-training's loss and schedule, many warm users'
# clicks): fine-tuning and PPR(full) at their usual rates barely move those new embeddings. Picked by validation joint
# NDCG@10 on synthetic two-domain data, 20 epochs (finetune 3e-4 -> 0.25, 1e-3 -> 0.38; ppr-full 1e-4 -> 0.22, 1e-3 -> 0.41).
CROSS_DOMAIN_DEFAULTS = {"lr": {"finetune": 1e-3, "ppr-full": 1e-3}}
MAX_SEED = 2**32 - 1


def _per_method(name: str) -> str:
    values = METHOD_DEFAULTS[name]
    rest = ", ".join(f"{m} {v:g}" for m, v in values.items())
    cross = ", ".join(f"{m} {v:g}" for m, v in CROSS_DOMAIN_DEFAULTS.get(name, {}).items())
    return (
        f"default per method: {rest}"
        + ("" if name == "lr" else f", otherwise {TUNE_FALLBACK[name]:g}")
        + (f"; in a cross-domain run {cross}" if cross else "")
    )


@dataclass(frozen=True)
class SplitSpec(Settings):
    """Everything that decides a cold-start split; its folder name (split_id) is derived from it."""

    SECTION: ClassVar[str] = "Split"
    seed: int = setting(
        0, "seed of the cold-user choice, the roles and the negatives", lo=0, hi=MAX_SEED, flag="split-seed"
    )
    cold_threshold: int = setting(10, "clicks a user needs to be warm", lo=2, hi=10_000)
    simulate_cold: float | None = setting(
        None,
        "share of warm users made cold by keeping their first clicks ('auto': 0.2 when under 5% of "
        "users are naturally cold)",
        lo=0.0,
        below=1.0,
        none="auto",
    )
    folds: int | None = setting(
        None,
        "folds of the cold users: each fold is tested once, tuning and validating on the others ('auto': 5 "
        "when there are fewer than 2,000 cold users, else 1)",
        lo=1,
        hi=100,
        none="auto",
    )
    test_frac: float = setting(
        0.2, "share of cold users held out as test users when there is one fold", lo=0.0, below=1.0
    )
    val_frac: float = setting(0.1, "share of cold users held out of tuning for early stopping", lo=0.0, below=1.0)
    n_negatives: int = setting(99, "sampled negatives per target", lo=1, hi=100_000, flag="negatives")
    target_domain: str | None = setting(
        None,
        "cross-domain: the item domain whose cold users are tested (warm-training reads the other domains' clicks; "
        "'none': one domain, every item)",
        none="none",
    )

    # recorded only when set: the descriptions, and so the ids, of every one-domain run and split stay as they were
    RECORDED_WHEN_SET: ClassVar[tuple[str, ...]] = ("target_domain",)

    def check(self) -> None:
        if self.target_domain is not None and not domain_name_ok(self.target_domain):
            self.fail("target_domain", DOMAIN_NAME_RULE)
        if self.test_frac + self.val_frac >= 1:
            self.fail("test_frac", f"test_frac + val_frac below 1 (now {self.test_frac + self.val_frac:g})")
        if self.folds is not None and self.folds > 1 and 1 / self.folds + self.val_frac >= 1:
            self.fail("folds", f"enough folds that one fold plus val_frac={self.val_frac:g} leaves users to tune on")

    @property
    def split_id(self) -> str:
        """Readable and deterministic: same settings, same folder."""
        sim = "auto" if self.simulate_cold is None else f"{self.simulate_cold:g}"
        folds = "auto" if self.folds is None else self.folds
        domain = "" if self.target_domain is None else f"-d{self.target_domain}"
        return (
            f"s{self.seed}-t{self.cold_threshold}-c{sim}-f{folds}-test{self.test_frac:g}"
            f"-val{self.val_frac:g}-neg{self.n_negatives}{domain}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain data (split.json, run ids); RECORDED_WHEN_SET fields only when set."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None or k not in self.RECORDED_WHEN_SET}


@dataclass(frozen=True)
class BackboneSpec(Settings):
    """The sequence model's shape (the item count comes from the dataset)."""

    SECTION: ClassVar[str] = "Backbone"
    kind: str = setting(
        "sasrec",
        "sequence model (cl4srec: SASRec warm-trained with CL4SRec's contrastive loss; gru4rec: reads the prompt "
        "as pseudo-items; bert4rec: bidirectional, warm-trained on the cloze task)",
        choices=BACKBONES,
        flag="backbone",
    )
    max_len: int = setting(50, "clicks the model reads at once", lo=1, hi=10_000)
    d: int = setting(64, "hidden size", lo=1, hi=4096)
    n_layers: int = setting(2, "Transformer blocks", lo=1, hi=64, flag="layers")
    n_heads: int = setting(1, "attention heads (must divide d)", lo=1, hi=64, flag="heads")
    d_ff: int = setting(256, "feed-forward width", lo=1, hi=65_536)
    dropout: float = setting(0.2, "dropout rate", lo=0.0, below=1.0)

    def check(self) -> None:
        if self.d % self.n_heads:
            self.fail("n_heads", f"a divisor of the hidden size d={self.d}")


@dataclass(frozen=True)
class WarmSpec(Settings):
    """Warm-training of the backbone on every click of the warm users (minus two held out).

    The default recipe converges in a few dozen epochs (bench/train_speed.py): a sampled-softmax loss of each
    position's next click against `negatives` items the window's user never clicked, a learning rate warmed up
    over the first epoch and decayed along a cosine to the last. loss='bpr', negatives=1, decay='none' is the
    paper's plain BPR with one negative per position.
    """

    SECTION: ClassVar[str] = "Warm-training"
    epochs: int = setting(40, "max warm-training epochs (the cosine decay spans them)", lo=1, hi=100_000)
    patience: int = setting(10, "epochs without a better warm validation NDCG@10 before stopping", lo=1, hi=100_000)
    batch_size: int = setting(256, "warm-training batch", lo=1, hi=1_000_000)
    lr: float = setting(3e-3, "warm-training peak learning rate", above=0.0, hi=10.0)
    weight_decay: float = setting(0.0, "Adam weight decay", lo=0.0, hi=10.0)
    loss: str = setting(
        "softmax", "loss over each position's candidates: sampled softmax, or BPR against each negative", choices=LOSSES
    )
    negatives: int = setting(
        256,
        "sampled unclicked items per training window, shared by its positions (1: one per position)",
        lo=1,
        hi=100_000,
        flag="train-negatives",
    )
    warmup: float = setting(1.0, "epochs of linear learning-rate warm-up", lo=0.0, hi=1_000.0)
    decay: str = setting("cosine", "learning-rate decay after the warm-up", choices=DECAYS)
    seed: int = setting(0, "seed of the initial weights, batches and negatives", lo=0, hi=MAX_SEED, cli=False)


@dataclass(frozen=True)
class TuneSpec(Settings):
    """A cold-start method and its settings; None in lr/epochs/patience/batch_size = the method's default."""

    SECTION: ClassVar[str] = "Tuning"
    method: str = setting(
        "ppr-light",
        f"cold-start method ({IMPORTED}: scores brought in by `scores import`, never computed)",
        choices=(*METHODS, IMPORTED),
    )
    k_shot: int | None = setting(None, "clicks kept per cold user", lo=1, hi=1_000_000, none="all")
    fold: int = setting(0, "the fold of cold users tested (the other folds tune and validate)", lo=0, hi=99)
    noise: float = setting(0.0, "profile noise rate on cold users", lo=0.0, hi=1.0)
    seed: int = setting(0, "seed of the new parts, batches, negatives and noise", lo=0, hi=MAX_SEED, cli=False)
    lr: float | None = setting(None, f"tuning learning rate ({_per_method('lr')})", above=0.0, hi=10.0, none="default")
    epochs: int | None = setting(None, f"max tuning epochs ({_per_method('epochs')})", lo=0, hi=100_000, none="default")
    patience: int | None = setting(
        None,
        f"epochs without a better validation NDCG@10 before stopping ({_per_method('patience')})",
        lo=1,
        hi=100_000,
        none="default",
    )
    batch_size: int | None = setting(
        None, f"tuning batch ({_per_method('batch_size')})", lo=1, hi=1_000_000, none="default"
    )
    cl: bool = setting(True, "PPR's contrastive loss")
    prompt_aug: bool = setting(True, "the prompt-masked contrastive view")
    behavior_aug: bool = setting(True, "the behaviour-masked contrastive view")
    prompt_tokens: int = setting(1, "prompt tokens", lo=1, hi=64)
    deep_prefix: bool = setting(False, "one set of prompt tokens per Transformer block")
    prompt_mask: float = setting(0.2, "profile-embedding mask ratio of the prompt view", lo=0.0, below=1.0)
    behavior_mask: float = setting(0.2, "click mask ratio of the behaviour view", lo=0.0, below=1.0)
    temperature: float = setting(0.2, "InfoNCE temperature", above=0.0, hi=100.0)
    cl_weight: float = setting(0.1, "weight (lambda) of the contrastive loss", lo=0.0, hi=100.0)
    imported: str | None = setting(
        None, "the name an imported method's scores are shown under (method imported)", none="none", cli=False
    )
    scores_sha256: str | None = setting(None, "sha256 of the imported scores file", none="none", cli=False)

    # recorded only when set: the descriptions, and so the ids, of every computed run stay as they were
    RECORDED_WHEN_SET: ClassVar[tuple[str, ...]] = ("imported", "scores_sha256")

    def check(self) -> None:
        if self.method != IMPORTED:
            for name in self.RECORDED_WHEN_SET:
                if getattr(self, name) is not None:
                    self.fail(name, f"none: it belongs to method {IMPORTED}")
            return
        if self.imported is None or self.scores_sha256 is None:
            self.fail(
                "method",
                f"a method that is computed ({', '.join(METHODS)}): {IMPORTED} runs hold scores made elsewhere, "
                "brought in by `python -m ppr scores import`",
            )
        if not re.fullmatch(r"[0-9a-f]{64}", self.scores_sha256):
            self.fail("scores_sha256", "64 lower-case hex digits")
        expected = imported_name_problem(self.imported)
        if expected:
            self.fail("imported", expected)

    def resolved(self, name: str) -> Any:
        """lr, epochs, patience or batch_size as the run uses it (the method's default when unset)."""
        value = getattr(self, name)
        return value if value is not None else METHOD_DEFAULTS[name].get(self.method, TUNE_FALLBACK[name])

    @property
    def reads_profile(self) -> bool:
        return self.method in PROFILE_METHODS

    @property
    def uses_cl(self) -> bool:
        return self.method in PPR_METHODS and self.cl and self.cl_weight > 0 and (self.prompt_aug or self.behavior_aug)

    @property
    def label(self) -> str:
        """Method name plus the toggles that change it, e.g. 'ppr-full-nocl' (used in tables); an imported
        method's own name."""
        if self.method == IMPORTED:
            return self.imported
        if self.method not in PPR_METHODS:
            return self.method
        parts = [self.method]
        nocl, nopaug, nobaug = ABLATION_TAGS
        if not self.cl:
            parts.append(nocl)
        else:
            parts += [t for t, on in ((nopaug, self.prompt_aug), (nobaug, self.behavior_aug)) if not on]
        if self.prompt_tokens != 1:
            parts.append(f"p{self.prompt_tokens}")
        if self.deep_prefix:
            parts.append("deep")
        return "-".join(parts)


@dataclass(frozen=True)
class RunSpec:
    """A warm run (tune None) or a tuning run on a dataset version; see the module docstring."""

    dataset: str  # NAME@vN
    dataset_hash: str
    split: SplitSpec = SplitSpec()
    backbone: BackboneSpec = BackboneSpec()
    warm: WarmSpec = WarmSpec()
    tune: TuneSpec | None = None

    def __post_init__(self) -> None:
        if self.tune is not None and self.tune.deep_prefix and self.backbone.kind not in DEEP_PREFIX_BACKBONES:
            raise InputError(
                f"deep_prefix needs one of {', '.join(DEEP_PREFIX_BACKBONES)}; {self.backbone.kind} reads the prompt "
                "as one prefix of its input."
            )
        method = None if self.tune is None else self.tune.method
        if self.split.target_domain is None and method in CROSS_DOMAIN_ONLY:
            raise InputError(
                f"{method} is a cross-domain baseline: it needs a target domain (--target-domain D on a dataset whose "
                "items have domains: `python -m ppr data domains` or `data synth --domains 2`)."
            )
        if self.split.target_domain is not None and method in FROZEN_ITEMS:
            raise InputError(
                f"{method} keeps the warmed item embeddings frozen, but in a cross-domain run the target domain's "
                f"items are new to the warm model (it read the other domains only); use one of "
                f"{', '.join(m for m in METHODS if m not in FROZEN_ITEMS)}."
            )

    @property
    def cross_domain(self) -> bool:
        return self.split.target_domain is not None

    def resolved(self, name: str) -> Any:
        """The tuning setting `name` as the run uses it: TuneSpec.resolved, with a cross-domain run's own defaults."""
        if (
            self.cross_domain
            and getattr(self.tune, name) is None
            and self.tune.method in CROSS_DOMAIN_DEFAULTS.get(name, {})
        ):
            return CROSS_DOMAIN_DEFAULTS[name][self.tune.method]
        return self.tune.resolved(name)

    @property
    def reads_source(self) -> bool:
        """A cross-domain tuning run whose model reads each user's source-domain clicks."""
        return self.cross_domain and self.tune is not None and self.tune.method in SOURCE_READERS

    @property
    def kind(self) -> str:
        return "warm" if self.tune is None else "tune"

    @property
    def dataset_name(self) -> str:
        return self.dataset.split("@")[0]

    @property
    def needs_warm(self) -> bool:
        """A tuning run starts from a warmed backbone, except the counted baselines, melu and gce-gnn."""
        return self.tune is not None and self.tune.method not in NO_WARM

    def warm_run(self) -> RunSpec:
        """The warm run a tuning run starts from (itself for a warm run)."""
        return dataclasses.replace(self, tune=None)

    def tuned(self, tune: TuneSpec) -> RunSpec:
        """A tuning run of this spec's warm settings; its warm run is trained with the tuning seed."""
        return dataclasses.replace(self, warm=dataclasses.replace(self.warm, seed=tune.seed), tune=tune)

    def to_dict(self) -> dict[str, Any]:
        """The description as plain data (spec.json, run ids); TuneSpec.RECORDED_WHEN_SET fields only when set."""
        d = dataclasses.asdict(self)
        d["split"] = self.split.to_dict()
        if d["tune"] is not None:
            d["tune"] = {k: v for k, v in d["tune"].items() if v is not None or k not in TuneSpec.RECORDED_WHEN_SET}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSpec:
        tune = d.get("tune")
        return cls(
            d["dataset"],
            d["dataset_hash"],
            SplitSpec(**d["split"]),
            BackboneSpec(**d["backbone"]),
            WarmSpec(**d["warm"]),
            None if tune is None else TuneSpec(**tune),
        )

    @property
    def run_id(self) -> str:
        """Readable prefix + digest of (its semantics version, spec): the same experiment, the same folder."""
        if self.tune is None:
            prefix = f"{self.dataset_name}-warm"
        else:
            t = self.tune
            prefix = f"{self.dataset_name}-{t.label}-k{t.k_shot or 'all'}-r{t.noise:g}-s{t.seed}-f{t.fold}"
        clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", prefix).strip("-.") or "run"
        return f"{clean[:80]}-{digest({'semantics': self.semantics, 'spec': self.to_dict()})}"

    @property
    def semantics(self) -> int:
        """The run-semantics version this run is computed under (semantics_of its backbone and own network)."""
        return semantics_of(*models_of(self.backbone.kind, None if self.tune is None else self.tune.method))


def imported_name_problem(name: str) -> str | None:
    """What an imported method's name must be, when `name` is not that (None when it is): a label of its own,
    which no computed run's label could be, and which tables do not read as an ablation (ABLATION_TAGS)."""
    reserved = (*METHODS, IMPORTED, "warm")
    if (
        _IMPORTED_NAME.fullmatch(name)
        and name not in reserved
        and not any(name.startswith(f"{m}-") for m in PPR_METHODS)  # their labels go on: ppr-full-p2, ...
        and not set(name.split("-")) & set(ABLATION_TAGS)
    ):
        return None
    return (
        "a short name of your own: 1 to 32 of a-z, 0-9, '-', '_', '.', starting with a letter or digit; not a "
        f"built-in method's name ({', '.join(reserved)}), not beginning with {' or '.join(f'{m}-' for m in PPR_METHODS)}, "
        f"no '-'-separated part {' or '.join(ABLATION_TAGS)}"
    )


DOMAIN_NAME_RULE = "1 to 64 of letters, digits, '_', '.', '+', '-', starting with a letter or digit"


def domain_name_ok(name: str) -> bool:
    """Whether `name` may name an item domain (it becomes part of a split's folder name)."""
    return isinstance(name, str) and bool(_DOMAIN_NAME.fullmatch(name))


def digest(obj: Any) -> str:
    """10 hex digits of sha256 over canonical JSON: the one hash that names runs and sweeps."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]
