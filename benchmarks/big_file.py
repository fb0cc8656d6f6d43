"""One very large document: does `qabot index` finish, how long does it take, how much memory does it use?

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.big_file --mb 50 --fake-encoder   # all but the model
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.big_file --mb 5                   # the real model

The file is a long repetitive English text: the SQuAD dev-a paragraphs, in order, repeated until it holds
`--mb` megabytes, one paragraph per block (or `--one-line`: the same words with every newline and sentence
end removed, a single unpunctuated line). The ONNX export is borrowed from ./index. The build runs in this
process, its phases timed by wrapping qabot.store's steps; peak memory is the process's maximum resident
set. `--fake-encoder` replaces the model by a constant vector, to time everything but the embedding
(tests/test_reliability_corpus.py builds a 5 MB file that way in the default suite).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import PhaseTimer, seed_model_dir

SQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad-dev-a" / "corpus"
PHASES = ("load_corpus", "_split", "_embed", "_write_generation", "_publish")


def make_text(megabytes: float, one_line: bool = False, source: Path = SQUAD) -> str:
    """`megabytes` of English: SQuAD paragraphs repeated, or the same words as one unpunctuated line."""
    paragraphs = [
        p.strip()
        for path in sorted(source.glob("*.txt"))
        for p in path.read_text(encoding="utf-8").split("\n\n")[1:]
        if p.strip()
    ]
    block = "\n\n".join(paragraphs)
    if one_line:
        block = re.sub(r"[.!?;:]+(\s|$)", r"\1", " ".join(block.split()))
    size = int(megabytes * 1_000_000)
    text = (block + ("\n\n" if not one_line else " ")) * (size // len(block) + 1)
    return text[:size].rstrip() + "\n"


def fake_encode(self: Any, texts: Any, progress: Callable[[int], None] | None = None) -> np.ndarray:
    out = np.zeros((len(texts), self.dim), dtype=np.float32)
    out[:, 0] = 1.0
    if progress:
        progress(len(texts))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=float, default=50.0, help="size of the file in megabytes (default 50)")
    parser.add_argument("--one-line", action="store_true", help="one line, no sentence punctuation")
    parser.add_argument("--fake-encoder", action="store_true", help="a constant vector instead of the model")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from qabot import store
    from qabot.config import Settings
    from qabot.models.encoder import OnnxEncoder

    timer = PhaseTimer(store, PHASES)
    if args.fake_encoder:
        OnnxEncoder.encode = fake_encode  # type: ignore[method-assign]
    seed_model = seed_model_dir()
    with tempfile.TemporaryDirectory(prefix="qabot-big-") as tmp:
        corpus, index_dir = Path(tmp) / "corpus", Path(tmp) / "index"
        corpus.mkdir()
        shutil.copytree(seed_model, index_dir / "models" / seed_model.name)
        (corpus / "big.txt").write_text(make_text(args.mb, args.one_line), encoding="utf-8")
        size = (corpus / "big.txt").stat().st_size
        began = time.perf_counter()
        report = store.build(Settings(corpus_dir=corpus, index_dir=index_dir))
        seconds = time.perf_counter() - began
        artifacts = sum(p.stat().st_size for p in store.current_generation(index_dir).iterdir())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kind = "one line" if args.one_line else "paragraphs"
    encoder = "fake encoder" if args.fake_encoder else "real model"
    print(f"{size / 1e6:.1f} MB ({kind}, {encoder}): {report.sentences} sentences, {report.chunks} chunks")
    print(f"build {seconds:.1f} s, peak RSS {peak:.0f} MB, generation {artifacts / 1e6:.1f} MB on disk")
    print("phases: " + ", ".join(f"{k} {timer.seconds[k]:.1f} s" for k in PHASES))
    print(f"problems: {report.problems}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
