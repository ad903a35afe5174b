"""Cold-start recommender: u = MLP_a(profile) + f_seq(prompt ++ clicks); score = u . item embedding.

One class covers every trained method: fine-tuning (prompt=None, profile MLP added, all
parameters trained), PPR light (backbone frozen via set_trainable) and PPR full. Zero-shot
users (no clicks) get the output at the last prompt token; without a prompt that falls back
to the profile vector alone.

`sequence_state` is f_seq alone (what PPR's contrastive loss compares, docs/method.md);
`sequence_outputs(..., zero_shot=True)` also returns the zero-shot slot so a trainer can learn
the first click from the prompt alone in the same forward pass.

Cross-domain (a `source` encoder, ppr.models.source): the codes' last column points at the user's
source-domain vector. PPR's prompt generator reads it beside the profile; without a prompt
(fine-tuning) its MLP is added to the user vector like MLP_a(profile).
"""

from __future__ import annotations

import torch
from torch import nn

from ppr.models.backbone import SequenceBackbone
from ppr.models.profile import ProfileEncoder
from ppr.models.prompt import PromptGenerator
from ppr.models.source import SourceEncoder
from ppr.spec.run import BackboneSpec


class ColdStartRecommender(nn.Module):
    def __init__(
        self,
        backbone: SequenceBackbone,
        prompt: PromptGenerator | None = None,
        profile: ProfileEncoder | None = None,
        source: SourceEncoder | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.prompt = prompt
        self.profile = profile
        self.source = source

    @property
    def n_items(self) -> int:
        return self.backbone.n_items

    @property
    def cfg(self) -> BackboneSpec:
        return self.backbone.cfg

    def item_table(self) -> torch.Tensor:
        """(n_items + 1, d) item vectors (row 0: padding) that user vectors are scored against."""
        return self.backbone.item_emb.weight

    def user_vector(
        self, seq: torch.Tensor, codes: torch.Tensor | None, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, L) right-padded clicks + (B, A) codes -> (B, d) user vectors."""
        h = self.sequence_state(seq, codes, lengths=lengths)
        return h + self.profile_term(codes, h)

    def sequence_state(
        self,
        seq: torch.Tensor,
        codes: torch.Tensor | None,
        prompt_mask: float = 0.0,
        lengths: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, d) f_seq(prompt ++ clicks) after the last click, without the profile term.

        prompt_mask zeroes that share of the prompt generator's input elements; lengths marks clicks masked in
        place (see ppr.models.sasrec).
        """
        return self.backbone.user_hidden(seq, self._prefix(codes, prompt_mask), lengths)

    def sequence_outputs(
        self, seq: torch.Tensor, codes: torch.Tensor | None, zero_shot: bool = False, with_profile: bool = True
    ) -> torch.Tensor:
        """User vector after every position: (B, L, d); out[:, t] has seen seq[:, :t+1].

        zero_shot=True prepends the no-click slot: (B, L+1, d) where out[:, t] has seen
        seq[:, :t], so out[:, t] scores target seq[:, t] (out[:, 0] predicts the first click).
        with_profile=False leaves out the MLP_a(profile) term (f_seq alone).
        """
        prefix = self._prefix(codes, 0.0)
        out = self.backbone.encode(seq, prefix)
        p = 0 if prefix is None else prefix.shape[-2]
        if zero_shot:
            out = out[:, p - 1 :] if p else torch.cat([out.new_zeros(out.shape[0], 1, out.shape[2]), out], 1)
        else:
            out = out[:, p:]
        return out + self.profile_term(codes, out[:, 0]).unsqueeze(1) if with_profile else out

    def profile_term(self, codes: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        """(B, d) MLP_a(profile), zeros without a profile encoder (dtype of `like`); without a prompt, plus the
        source-domain vector's MLP."""
        profile, source = self._side(codes)
        term = torch.zeros_like(like) if self.profile is None else self.profile(profile).to(like.dtype)
        return term + source.to(like.dtype) if source is not None and self.prompt is None else term

    def score(self, u: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
        """(B, d) x (B, C) candidate ids -> (B, C) dot products with item embeddings."""
        return self.backbone.score(u, cand)

    def flat_prompt(self, codes: torch.Tensor) -> torch.Tensor | None:
        """(B, A) codes -> (B, flat) prompt tokens (every token and layer concatenated); None without a prompt."""
        if self.prompt is None:
            return None
        profile, source = self._side(codes)
        p = self.prompt(profile, extra=source).float()
        p = p if p.dim() == 3 else p.permute(1, 0, 2, 3)  # deep prefix: (layers, B, P, d) -> (B, layers, P, d)
        return p.reshape(len(codes), -1)

    def set_trainable(self, backbone: bool, prompt: bool = True, profile: bool = True) -> None:
        """Freeze/unfreeze parts: PPR light = (False, True, True); fine-tuning/full = all True."""
        parts = ((self.backbone, backbone), (self.prompt, prompt), (self.profile, profile), (self.source, profile))
        for part, flag in parts:
            if part is not None:
                for p in part.parameters():
                    p.requires_grad_(flag)

    def count_trainable(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per part (Table I reports tuned counts as a share of fine-tuning's); source only when read."""
        parts = {"backbone": self.backbone, "prompt": self.prompt, "profile": self.profile}
        if self.source is not None:
            parts["source"] = self.source
        return {
            name: sum(p.numel() for p in part.parameters()) if part is not None else 0 for name, part in parts.items()
        }

    def _prefix(self, codes: torch.Tensor | None, mask_ratio: float) -> torch.Tensor | None:
        if self.prompt is None:
            return None
        profile, source = self._side(codes)
        return self.prompt(profile, mask_ratio, extra=source)

    def _side(self, codes: torch.Tensor | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(profile codes, source-domain input or None): a source encoder reads the codes' last column."""
        if self.source is None or codes is None:
            return codes, None
        return codes[:, :-1], self.source(codes[:, -1])
