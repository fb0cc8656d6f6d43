from __future__ import annotations

import numpy as np

from qabot.models.reader import WEIGHTS_DIR, OnnxReader
from training.unpack import _module_of, against_card, reference_check, unpack


def test_quantised_layers_are_named_by_their_module_path() -> None:
    out = "/encoder/encoder/layer.3/attention/self/key/MatMul_output_0_output_quantized"
    assert _module_of(out) == "encoder.encoder.layer.3.attention.self.key"
    assert _module_of("/relevance/Gemm_output_0_MatMul_output_quantized") == "relevance"


def test_the_unpacked_shipped_reader_scores_the_card_sample_like_the_fp32_model() -> None:
    """Dequantised weights must give back the model the card describes: the same candidate first, and
    logits no further from the fp32 ones than the served int8 file's own (its activations are rounded
    too, so it is the looser of the two)."""
    served = OnnxReader()
    _, int8_gap = against_card(
        WEIGHTS_DIR, lambda q, sentences: np.array([r.relevance for r in served.read(q, sentences)])
    )
    agree, gap = reference_check(unpack(WEIGHTS_DIR), WEIGHTS_DIR)
    assert agree >= 0.9
    assert gap <= int8_gap
