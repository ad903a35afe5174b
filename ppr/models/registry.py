"""Backbones by name (BackboneSpec.kind): the one place a new sequence model is registered.

cl4srec is SASRec's network; what makes it CL4SRec is its warm-training objective (ppr.train.methods adds
the crop/mask/reorder contrastive loss), so it shares SASRec's class.
"""

from __future__ import annotations

from ppr.models.backbone import SequenceBackbone
from ppr.models.bert4rec import BERT4Rec
from ppr.models.gru4rec import GRU4Rec
from ppr.models.sasrec import SASRec
from ppr.spec.run import BackboneSpec

BACKBONE_CLASSES: dict[str, type[SequenceBackbone]] = {
    "sasrec": SASRec,
    "cl4srec": SASRec,
    "gru4rec": GRU4Rec,
    "bert4rec": BERT4Rec,
}


def build_backbone(cfg: BackboneSpec, n_items: int) -> SequenceBackbone:
    """A fresh backbone of the kind the spec names (its weights from torch's current random state)."""
    return BACKBONE_CLASSES[cfg.kind](cfg, n_items)
