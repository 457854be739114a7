"""Sentence vectors from all-MiniLM-L6-v2: encoder -> masked mean -> L2, loaded from a local folder."""
from __future__ import annotations

import os

import numpy as np
import torch

from ml.config import TextConfig
from ml.engines.base import TextForward
from ml.engines.eager import eager_text
from ml.vectors import l2_normalize


def masked_mean(token_embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean over real tokens; the denominator is clamped so an all-padding row cannot divide by zero."""
    mask = attention_mask.unsqueeze(-1).to(token_embeddings.dtype)
    return (token_embeddings * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class TextEmbedder:
    def __init__(self, model_dir: str, config: TextConfig, forward: TextForward | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer

        self.config = config
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        self.model = AutoModel.from_pretrained(model_dir, local_files_only=True).eval()
        self.dim = int(self.model.config.hidden_size)
        self.eager_forward = eager_text(self.model)
        self.forward = forward or self.eager_forward

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        batch = [t if t.strip() else "-" for t in texts]
        return dict(self.tokenizer(batch, padding=True, truncation=True, max_length=self.config.max_length,
                                   return_tensors="pt"))

    @torch.inference_mode()
    def embed(self, texts: list[str]) -> np.ndarray:
        """Return (N, 384) float32 unit vectors."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = []
        bs = self.config.batch_size
        for start in range(0, len(texts), bs):
            enc = self.tokenize(texts[start:start + bs])
            hidden = self.forward(enc)
            out.append(masked_mean(hidden, enc["attention_mask"]).numpy())
        return l2_normalize(np.concatenate(out))
