"""The reader's cost a question: how qabot reads (each pair alone, unpadded, spread over worker threads)
against the baseline of one padded batch on a session with the same number of threads, in the same run.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.reader              # the card's 24 questions x 5 rounds
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.reader --rounds 1

The questions and candidate sentences are the fixed sample kept in the shipped reader.json (SQuAD-train
questions with the 8 candidates the pipeline ranked highest), so it needs no data beside the package.
It also reports how far a sentence's logit moves between the two ways (int8 scales depend on the batch).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from qabot.models.encoder import session
from qabot.models.reader import WEIGHTS_DIR, OnnxReader, encode_pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    sample = json.loads((WEIGHTS_DIR / "reader.json").read_text())["reference"]
    reader = OnnxReader(threads=args.threads)
    batched = session(reader.model_path, args.threads)
    tokenizer = reader._tokenizer
    reader.read("warm up", ["the first run loads the session"])

    # a reader trained with context reads each sentence with it, so both ways time what qabot feeds it
    with_context = reader.config.context

    def one_batch(question: str, sentences: list[str], contexts: list[str] | None) -> np.ndarray:
        pairs = encode_pairs(tokenizer, question, sentences, contexts)
        feed = {
            "input_ids": pairs.input_ids,
            "attention_mask": pairs.attention_mask,
            "token_type_ids": pairs.token_type_ids,
        }
        return np.asarray(batched.run(["relevance"], feed)[0])

    one_batch("warm up", ["the first run loads the session"], None)
    times: dict[str, list[float]] = {"batch": [], "qabot": []}
    moved: list[float] = []
    for _ in range(args.rounds):
        for item in sample:
            contexts = item.get("contexts") if with_context else None
            began = time.perf_counter()
            logits = one_batch(item["question"], item["sentences"], contexts)
            times["batch"].append(time.perf_counter() - began)
            began = time.perf_counter()
            readings = reader.read(item["question"], item["sentences"], contexts)
            times["qabot"].append(time.perf_counter() - began)
            moved.extend(abs(r.relevance - float(b)) for r, b in zip(readings, logits, strict=True))
    base = statistics.median(times["batch"])
    pairs = len(sample[0]["sentences"])
    read = "with context" if with_context else "alone"
    print(
        f"{len(sample)} questions x {args.rounds} rounds, {pairs} candidates each (read {read}), "
        f"{args.threads} threads"
    )
    print(f"one padded batch (baseline):  median {1000 * base:6.1f} ms a question")
    ours = statistics.median(times["qabot"])
    ratio = ours / base
    print(f"qabot (pairs alone, workers): median {1000 * ours:6.1f} ms a question ({ratio:.2f} x baseline)")
    print(f"logit moved between the two: mean {np.mean(moved):.3f}, max {np.max(moved):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
