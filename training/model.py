"""The reader as a torch module: a BERT-style encoder with a relevance head and a span head."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn


class Reader(nn.Module):
    """Relevance logit from the mean of the pair's hidden states; start/end logits per word piece."""

    def __init__(self, encoder: Any) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        self.relevance = nn.Linear(hidden, 1)
        self.span = nn.Linear(hidden, 2)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        relevance = self.relevance(pooled).squeeze(-1)
        start, end = self.span(hidden).unbind(-1)
        return relevance, start, end


def saved_weights(path: Path) -> dict[str, Any]:
    """A reader's parameters from what training saves: a checkpoint ({"model": …, "optimiser": …}), a
    final.pt (the bare state dict), an unpacked shipped reader or a soup."""
    import torch

    saved = torch.load(path, weights_only=False, map_location="cpu")
    return dict(saved.get("model", saved))


def load_encoder(path: Path, layers: int | None = None) -> Any:
    """The pretrained transformer (eager attention: it exports to the plain graph onnxruntime runs
    fastest), optionally cut to its first `layers` layers."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(path), attn_implementation="eager", add_pooling_layer=False)
    if layers is not None and layers < len(model.encoder.layer):
        model.encoder.layer = model.encoder.layer[:layers]
        model.config.num_hidden_layers = layers
    return model
