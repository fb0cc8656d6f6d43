"""Embedding throughput of index builds: qabot's OnnxEncoder against SentenceTransformer.encode.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.build_throughput            # ~1.5 minutes
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.build_throughput --limit 500 --variants

Both encode the same chunk texts (the SQuAD dev-a corpus cut by qabot's own segmenter and chunker, titles
included, as a build embeds them) on 2 threads: `torch.set_num_threads(2)` for sentence-transformers at
its defaults (batch 32), 2 intra-op threads for onnxruntime (qabot's batches of 16 length-sorted texts).
Rounds alternate so both see the same machine; the ratio of the best times is the figure. The minimum
cosine between the two sets of vectors checks that the speed does not cost accuracy. --variants adds
onnxruntime settings (batch size, graph optimisation level of the raw export instead of the pre-optimised
copy, thread spinning) to show what each is worth.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import seed_model_dir

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad-dev-a" / "corpus"
TARGET_RATIO = 1.25
TARGET_COSINE = 0.9999


def chunk_texts(corpus: Path, model_dir: Path) -> list[str]:
    """The texts a build would embed for `corpus`'s chunks, via qabot.store's own splitting."""
    from qabot import store
    from qabot.config import Settings
    from qabot.corpus import load_corpus
    from qabot.models.encoder import OnnxEncoder

    encoder = OnnxEncoder(model_dir)
    params = store._chunker_params(Settings(), encoder.max_seq_length)
    parts, _ = store._split(load_corpus(corpus).documents, {}, encoder, params)
    return [store.chunk_text(p.doc, p.sentences, a, b) for p in parts for a, b in p.chunks]


def onnx_variant(
    model_dir: Path, batch: int = 0, level: str | None = None, spin: bool = False, raw: bool = False
) -> Any:
    """An OnnxEncoder with one setting changed: batch size, graph optimisation level, thread spinning,
    or the raw export instead of the pre-optimised copy."""
    import onnxruntime as ort

    from qabot.models import encoder as embed

    encoder = embed.OnnxEncoder(model_dir, threads=2)
    if level is not None or spin or raw:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        options.inter_op_num_threads = 1
        if level is not None:
            options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        path = model_dir / "model.onnx" if raw or level else embed.optimised_path(model_dir)
        encoder._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encode(texts: Sequence[str]) -> np.ndarray:
        saved = embed.BATCH_SIZE
        embed.BATCH_SIZE = batch or saved
        try:
            out: np.ndarray = encoder.encode(texts)
            return out
        finally:
            embed.BATCH_SIZE = saved

    return encode


def timed(encode: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str]) -> tuple[float, np.ndarray]:
    began = time.perf_counter()
    vectors = encode(texts)
    return time.perf_counter() - began, vectors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder of documents to chunk")
    parser.add_argument("--limit", type=int, default=1000, help="chunks to embed (0: all; default 1000)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument("--variants", action="store_true", help="also time onnxruntime variants")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    model_dir = seed_model_dir()
    texts = chunk_texts(args.corpus, model_dir)
    if args.limit:
        # an even sample across the corpus, so lengths are representative
        texts = [texts[i] for i in np.linspace(0, len(texts) - 1, min(args.limit, len(texts))).astype(int)]

    import torch
    from sentence_transformers import SentenceTransformer

    from qabot.config import Settings
    from qabot.models.encoder import OnnxEncoder, resolve_model

    torch.set_num_threads(2)
    model = SentenceTransformer(resolve_model(Settings().model), device="cpu")

    def st_encode(batch: Sequence[str]) -> np.ndarray:
        out: np.ndarray = model.encode(list(batch), batch_size=32, convert_to_numpy=True)
        return out

    engines: dict[str, Callable[[Sequence[str]], np.ndarray]] = {
        "sentence-transformers (torch, batch 32)": st_encode,
        "qabot OnnxEncoder": OnnxEncoder(model_dir, threads=2).encode,
    }
    if args.variants:
        engines["onnx batch 8"] = onnx_variant(model_dir, batch=8)
        engines["onnx batch 32"] = onnx_variant(model_dir, batch=32)
        engines["onnx batch 64"] = onnx_variant(model_dir, batch=64)
        engines["onnx raw export, ORT_ENABLE_ALL"] = onnx_variant(model_dir, level="ORT_ENABLE_ALL")
        engines["onnx raw export, ORT_ENABLE_EXTENDED"] = onnx_variant(model_dir, level="ORT_ENABLE_EXTENDED")
        engines["onnx raw export, ORT_ENABLE_BASIC"] = onnx_variant(model_dir, level="ORT_ENABLE_BASIC")
        engines["onnx with thread spinning (ORT default)"] = onnx_variant(model_dir, spin=True)
    for encode in engines.values():
        encode(texts[:64])  # warm-up: first-run allocations and lazy initialisation

    times: dict[str, list[float]] = {name: [] for name in engines}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for name, encode in engines.items():
            seconds, vectors[name] = timed(encode, texts)
            times[name].append(seconds)

    tokens = sum(OnnxEncoder(model_dir).count_tokens(texts)) + 2 * len(texts)
    baseline_name = next(iter(engines))
    baseline = min(times[baseline_name])
    reference = vectors[baseline_name] / np.linalg.norm(vectors[baseline_name], axis=1, keepdims=True)
    print(f"{len(texts)} chunk texts, {tokens:,} tokens, 2 threads, best of {args.rounds} alternating rounds")
    print(f"{'encoder':<42} {'seconds':>8} {'chunks/s':>9} {'speed x':>8} {'min cosine':>11}")
    cosines = {}
    for name in engines:
        best = min(times[name])
        ours = vectors[name] / np.linalg.norm(vectors[name], axis=1, keepdims=True)
        cosines[name] = float((ours * reference).sum(axis=1).min())
        print(f"{name:<42} {best:8.2f} {len(texts) / best:9.1f} {baseline / best:8.2f} {cosines[name]:11.7f}")
    ratio, cosine = baseline / min(times["qabot OnnxEncoder"]), cosines["qabot OnnxEncoder"]
    met = ratio >= TARGET_RATIO and cosine >= TARGET_COSINE
    print(
        f"OnnxEncoder speed-up {ratio:.2f}x (target >= {TARGET_RATIO}), min cosine {cosine:.7f} "
        f"(target >= {TARGET_COSINE}): {'met' if met else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
