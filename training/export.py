"""Export a trained reader to ONNX and quantise it to int8 (dynamic, per channel).

    python -m training.export --weights runs/reader/run1/final.pt --out runs/reader/run1/onnx

Writes `reader.fp32.onnx` (kept out of the package, for comparison) and `reader.onnx` (int8), plus the
tokenizer. `training/ship.py` copies a measured model into the package with its card.
"""

from __future__ import annotations

import argparse
import json
import shutil
import warnings
from pathlib import Path

import torch

from training.model import Reader, load_encoder
from training.train import model_path


def export(weights: Path, out: Path, layers: int | None = None) -> Path:
    saved = torch.load(weights, weights_only=False)
    state = saved.get("model", saved)
    kept = max(int(k.split(".")[3]) for k in state if k.startswith("encoder.encoder.layer.")) + 1
    model = Reader(load_encoder(model_path(), layers or kept))
    model.load_state_dict(state)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / "reader.fp32.onnx"
    example = (
        torch.tensor([[101, 2043, 2001, 102, 1996, 3578, 102]]),
        torch.ones(1, 7, dtype=torch.long),
        torch.tensor([[0, 0, 0, 0, 1, 1, 1]]),
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "seq"} for n in [*names, "start", "end"]}
    axes["relevance"] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            example,
            str(fp32),
            input_names=names,
            output_names=["relevance", "start", "end"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    quantise(fp32, out / "reader.onnx")
    shutil.copy(model_path() / "tokenizer.json", out / "reader-tokenizer.json")
    # where in training these weights were taken: the card reports it (a run may be stopped early)
    trained = {"step": saved.get("step"), "hours": round(saved.get("seconds", 0.0) / 3600, 2)}
    (out / "trained.json").write_text(json.dumps(trained))
    return out / "reader.onnx"


def quantise(source: Path, target: Path) -> None:
    """Dynamic int8: weights stored as int8 per output channel, activations quantised on the fly.
    Per-tensor scales cost up to 2 points of top-1 in the trial; per channel about 0.4."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.preprocess import quant_pre_process

    prepared = source.with_suffix(".prep.onnx")
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    quantize_dynamic(str(prepared), str(target), per_channel=True, weight_type=QuantType.QInt8)
    prepared.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    print(export(args.weights, args.out))


if __name__ == "__main__":
    main()
