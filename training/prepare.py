"""Training examples for the reader, mined from SQuAD train with qabot's own pipeline.

    python training/prepare.py --squad ../shared/data/squad-train --out runs/reader/data

1. Writes the 442 articles as a corpus folder laid out like squad-dev-a (title line, blank line,
   paragraphs separated by blank lines), so every answer's offset becomes an offset into a corpus file.
2. Builds a qabot index over all of them with qabot's own segmentation, chunking and embedding.
3. Asks every question of that index through today's answer path (dense + keyword retrieval, fusion,
   the linear scorer) and keeps its 30 best candidate sentences with their scores and features: the
   reader is trained to rerank exactly the lists it will rerank when serving.

Articles are split by a hash of their title: one in ten goes to the "fit" part (never trained on; used to
fit the final combination and to calibrate confidence), the rest to "train". Output:
`shards/NNNN.jsonl.gz`, one question a line, each shard written whole; a rerun skips finished shards.

With `--absent` (after the above, on the same index): every question is asked again of the index without
its own article, as calibration asks it, and its best ABSENT_KEEP candidates from the other articles go to
`absent/NNNN.jsonl.gz` (same rows). Those are questions whose answer is absent, worded against topical
sentences that do not hold it: training on them teaches the reader absence, which groups that always hold
their answering sentence never show it.

With `--near`: every question is asked again of its own article less the chunks that hold one of its answers
(`training.calibrate.near`), its best ABSENT_KEEP candidates to `near/NNNN.jsonl.gz`: absence on the very
subject, the on-topic question the documents do not answer.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import time
from pathlib import Path

from qabot.answer import Answerer
from qabot.config import Settings
from qabot.evaluate import contains_answer
from qabot.store import build, open_index

SHARD = 2000  # questions a shard file
KEEP = 30  # candidates kept a question: the reader reranks far fewer, the rest are spare negatives
ABSENT_KEEP = 10  # candidates kept a question asked without its article (as many as the reader reads)


def split_of(title: str) -> str:
    """'fit' for one article in ten (stable: a hash of the title), 'train' for the rest."""
    return "fit" if int(hashlib.sha256(title.encode()).hexdigest(), 16) % 10 == 0 else "train"


def write_corpus(squad: Path, corpus: Path, articles: int | None = None) -> list[dict[str, object]]:
    """The articles as .txt files; returns every question with its answers' offsets in its file."""
    found: dict[str, list[dict[str, object]]] = {}
    with gzip.open(squad / "paragraphs.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            found.setdefault(record["title"], []).append(record)
    corpus.mkdir(parents=True, exist_ok=True)
    questions = []
    for title, paragraphs in sorted(found.items())[:articles]:
        paragraphs.sort(key=lambda p: int(str(p["paragraph"])))
        text = title.replace("_", " ") + "\n\n"
        for p in paragraphs:
            offset = len(text)
            context = str(p["context"])
            for qa in p["qas"]:  # type: ignore[attr-defined]
                questions.append(
                    {
                        "id": qa["id"],
                        "question": qa["question"],
                        "answers": qa["answers"],
                        "gold": [
                            [offset + s, offset + s + len(qa["answers"][0])] for s in qa["answer_starts"]
                        ],
                        "article": title,
                        "split": split_of(title),
                    }
                )
            text += context + "\n\n"
        path = corpus / f"{title}.txt"
        body = text.rstrip("\n") + "\n"
        if not path.exists() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")
    return questions


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--squad", type=Path, default=Path("../shared/data/squad-train"))
    parser.add_argument("--out", type=Path, default=Path("runs/reader/data"))
    parser.add_argument("--articles", type=int, default=None, help="Only the first N articles (smoke runs).")
    parser.add_argument(
        "--absent",
        action="store_true",
        help="Ask each question of the index without its article (absent/); needs the index built.",
    )
    parser.add_argument(
        "--near",
        action="store_true",
        help="Ask each question of its article less the chunks holding its answer (near/); needs the index.",
    )
    parser.add_argument(
        "--reverse",
        action="store_true",
        help="Last shard first (a second process working towards the first).",
    )
    args = parser.parse_args()
    corpus, index_dir = args.out / "corpus", args.out / "index"
    questions = write_corpus(args.squad, corpus, args.articles)
    settings = Settings(corpus_dir=corpus, index_dir=index_dir)
    if args.absent or args.near:
        from training.calibrate import near, scoped_search, without

        scoped_search()
        questions = [q for q in questions if q["split"] == "train"]  # calibration asks the fit ones itself
    else:
        report = build(settings)
        print(
            f"index: {report.documents} documents, {report.sentences} sentences, {report.seconds:.0f} s",
            flush=True,
        )
    answerer = Answerer(open_index(settings, verify=False), threads=settings.threads, mode="scorer")
    shards = args.out / ("absent" if args.absent else "near" if args.near else "shards")
    shards.mkdir(exist_ok=True)
    scopes: dict[str, object] = {}
    began = time.perf_counter()
    starts = list(enumerate(range(0, len(questions), SHARD)))
    for number, first in reversed(starts) if args.reverse else starts:
        path = shards / f"{number:04d}.jsonl.gz"
        if path.exists():
            continue
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as sink:
            for q in questions[first : first + SHARD]:
                if args.absent:
                    scope = without(answerer.index, str(q["article"]), scopes)
                    rows = _candidates(answerer, q, scope, ABSENT_KEEP)
                elif args.near:
                    answers = [str(a) for a in q["answers"]]  # type: ignore[attr-defined]
                    rows = _candidates(
                        answerer, q, near(answerer.index, str(q["article"]), answers), ABSENT_KEEP
                    )
                else:
                    rows = _candidates(answerer, q)
                sink.write(json.dumps({**q, "candidates": rows}) + "\n")
        tmp.replace(path)  # a shard is there whole or not at all: an interrupted run redoes only one
        rate = (first + SHARD) / (time.perf_counter() - began)
        print(f"shard {number}: {min(first + SHARD, len(questions))} questions, {rate:.1f}/s", flush=True)
    print(f"done in {time.perf_counter() - began:.0f} s", flush=True)


def _candidates(
    answerer: Answerer, q: dict[str, object], scope: object = None, keep: int = KEEP
) -> list[dict[str, object]]:
    candidates, _ = answerer.candidates(str(q["question"]), scope=scope)  # type: ignore[arg-type]
    answers = [str(a) for a in q["answers"]]  # type: ignore[attr-defined]
    rows = []
    for c in candidates[:keep]:
        s = c.sentence
        doc = answerer.index.document(s.doc)
        rows.append(
            {
                "doc": doc.id,
                "start": s.start,
                "end": s.end,
                "score": round(c.score, 5),
                "features": {k: round(v, 5) for k, v in c.features.items()},
                "holds": contains_answer(doc.text[s.start : s.end], answers),
            }
        )
    return rows


if __name__ == "__main__":
    main()
