from __future__ import annotations

import numpy as np

from qabot.config import Settings
from qabot.models.encoder import OnnxEncoder, model_key, resolve_model

TEXTS = [
    "Where is the 102nd Russian military base?",
    "Armenia currently hosts approximately 10,000 Russian troops.",
    "A much longer passage " * 40,
    "",
]


def test_onnx_encoder_agrees_with_sentence_transformers(seed_settings: Settings) -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(resolve_model(seed_settings.model), device="cpu").encode(
        TEXTS, normalize_embeddings=True
    )
    onnx = OnnxEncoder(seed_settings.index_dir / "models" / model_key(seed_settings.model))
    ours = onnx.encode(TEXTS)
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() > 0.9999
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_batching_does_not_change_vectors(seed_settings: Settings) -> None:
    onnx = OnnxEncoder(seed_settings.index_dir / "models" / model_key(seed_settings.model))
    together = onnx.encode(TEXTS)
    alone = np.stack([onnx.encode([t])[0] for t in TEXTS])
    assert np.allclose(together, alone, atol=1e-5)


def test_token_counts_exclude_special_tokens(seed_settings: Settings) -> None:
    onnx = OnnxEncoder(seed_settings.index_dir / "models" / model_key(seed_settings.model))
    assert onnx.count_tokens(["hello world", ""]) == [2, 0]
