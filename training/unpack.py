"""Torch weights from a shipped int8 reader, for fine-tuning when the run that made it is gone.

    python -m training.unpack --model qabot/models/weights --out runs/reader/shipped.pt

Checkpoints live outside git and a new machine starts without them; the shipped ONNX file is all that
is sure to survive. Dynamic int8 keeps every weight matrix as int8 with a scale (per output channel for
the layers, one for each embedding table), so dequantising gives back the weights the served model
computes with, to within the rounding it already serves with. `--init` of training/train.py takes the
result like a checkpoint. The check at the end compares the unpacked model's logits with the fp32
logits the card keeps for its reference sample.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.model import Reader, load_encoder

MATMUL_SUFFIXES = ("/MatMul_output_0_output_quantized", "/Gemm_output_0_MatMul_output_quantized")


def _module_of(output: str) -> str:
    """'/encoder/encoder/layer.0/attention/self/key/MatMul_output_0_output_quantized' ->
    'encoder.encoder.layer.0.attention.self.key' (the exporter names nodes by module path)."""
    for suffix in MATMUL_SUFFIXES:
        if output.endswith(suffix):
            return output[: -len(suffix)].strip("/").replace("/", ".")
    raise ValueError(f"not a quantised linear layer's output: {output}")


def _dequantised(arrays: dict[str, np.ndarray], stem: str, axis: int | None) -> np.ndarray:
    q = arrays[f"{stem}_quantized"].astype(np.float32)
    scale, zero = arrays[f"{stem}_scale"], arrays[f"{stem}_zero_point"].astype(np.float32)
    if axis is not None and scale.ndim == 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return np.asarray((q - zero) * scale, dtype=np.float32)


def state_dict(onnx_path: Path) -> dict[str, torch.Tensor]:
    """The Reader's parameters from a dynamically quantised export of it."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    arrays = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    state: dict[str, torch.Tensor] = {}
    for name, array in arrays.items():
        if name.endswith(".weight") or name.endswith(".bias"):  # kept in float (biases, LayerNorm)
            state[name] = torch.from_numpy(array.copy())
        elif name.endswith(".weight_quantized"):  # embedding tables, quantised for Gather
            stem = name[: -len("_quantized")]
            state[stem] = torch.from_numpy(_dequantised(arrays, stem, axis=None))
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        stem = node.input[1][: -len("_quantized")]
        # stored as (in, out) for x @ W, scaled per output channel; torch keeps (out, in)
        weight = _dequantised(arrays, stem, axis=1)
        state[f"{_module_of(node.output[0])}.weight"] = torch.from_numpy(weight.T.copy())
    return state


def unpack(model_dir: Path) -> Reader:
    from training.train import model_path

    state = state_dict(model_dir / "reader.onnx")
    layers = 1 + max(int(k.split(".")[3]) for k in state if k.startswith("encoder.encoder.layer."))
    model = Reader(load_encoder(model_path(), layers))
    missing, unexpected = model.load_state_dict(state, strict=False)
    # position_ids and the like are buffers the encoder builds itself, not weights
    if unexpected or [k for k in missing if not k.endswith("_ids")]:
        raise ValueError(f"ONNX and Reader disagree: missing {missing}, unexpected {unexpected}")
    model.eval()
    return model


def against_card(model_dir: Path, logits_of: Callable[[str, list[str]], np.ndarray]) -> tuple[float, float]:
    """Over the card's reference sample: the share of questions whose first candidate `logits_of` and the
    fp32 model agree on, and the largest |logits_of - fp32| relevance logit."""
    from qabot.models.reader import CONFIG_FILE

    card: dict[str, Any] = json.loads((model_dir / CONFIG_FILE).read_text())
    same_top, worst = 0, 0.0
    for item in card["reference"]:
        logits, fp32 = logits_of(item["question"], item["sentences"]), np.array(item["fp32_logits"])
        same_top += int(np.argmax(logits) == np.argmax(fp32))
        worst = max(worst, float(np.abs(logits - fp32).max()))
    return same_top / len(card["reference"]), worst


def reference_check(model: Reader, model_dir: Path) -> tuple[float, float]:
    """`against_card` for the unpacked torch model."""
    from qabot.models.reader import READ_TOKENS, encode_pairs
    from training.train import tokenizer

    tok = tokenizer(READ_TOKENS)  # as the served reader reads (ship.reference), not as training cut

    @torch.no_grad()
    def logits_of(question: str, sentences: list[str]) -> np.ndarray:
        pairs = encode_pairs(tok, question, sentences)
        ids, mask, types = (
            torch.from_numpy(a) for a in (pairs.input_ids, pairs.attention_mask, pairs.token_type_ids)
        )
        return np.asarray(model(ids, mask, types)[0].numpy())

    return against_card(model_dir, logits_of)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=Path("qabot/models/weights"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    model = unpack(args.model)
    agree, gap = reference_check(model, args.model)
    print(f"against the card's fp32 sample: same first candidate {agree:.0%}, largest logit gap {gap:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "unpacked_from": str(args.model / "reader.onnx")}, args.out)
    print(args.out)


if __name__ == "__main__":
    main()
