"""Incremental index builds: change one document of 500 and compare the rebuild with a full build.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.incremental        # ~2 minutes
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.incremental --synthetic-chunks 100000   # + ~1 minute

The corpus is the SQuAD dev-a articles cut into `--documents` files of consecutive paragraphs (all of
them, or `--paragraphs` each), in a temporary folder; the ONNX export is borrowed from the seed index so
no build pays for it. The figure is the incremental build's time as a fraction of the full build's,
measured in the same run. Each build is also split into its phases (by wrapping qabot.store's steps), to
show what an incremental build still spends in proportion to the corpus rather than to the change.

--synthetic-chunks N also times incremental builds over a much larger index: a generation of N chunks of
synthetic vectors (benchmarks/scale.py writes it in the real format) whose documents are written out as the
corpus, so a build reuses all but the changed one. A full build of that corpus would take the better part
of an hour, so its time is estimated from the embedding rate of the full build above (same run).
`--sentences N` makes the synthetic vectors follow N real ones instead of all (as in scale.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import PhaseTimer, seed_model_dir

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad-dev-a" / "corpus"
TARGET = 0.05
PHASES = (
    "load_corpus",
    "model_key",
    "export_onnx",
    "OnnxEncoder",
    "_previous_parts",
    "_split",
    "_embed",
    "_write_generation",
    "_publish",
    "_prune",
)


def make_corpus(source: Path, out: Path, documents: int, per_doc: int = 0) -> None:
    """`documents` .txt files of consecutive paragraphs of the articles in `source`, each with a title:
    `per_doc` paragraphs each, or (0) all the paragraphs shared evenly."""
    paragraphs: list[tuple[str, str]] = []
    for path in sorted(source.glob("*.txt")):
        title, *body = [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
        paragraphs += [(title, p) for p in body]
    out.mkdir(parents=True, exist_ok=True)
    per_doc = per_doc or max(1, len(paragraphs) // documents)
    for d in range(documents):
        group = paragraphs[d * per_doc : (d + 1) * per_doc] or [paragraphs[d % len(paragraphs)]]
        text = f"{group[0][0]} (part {d})\n\n" + "\n\n".join(p for _, p in group) + "\n"
        (out / f"doc{d:04d}.txt").write_text(text, encoding="utf-8")


def print_rows(rows: list[tuple[str, float, dict[str, float], Any]], full_s: float) -> None:
    names = [p.lstrip("_")[:10] for p in PHASES]
    print(f"{'build':<18} {'embedded':>8} {'total':>7} {'x full':>7} " + " ".join(f"{n:>10}" for n in names))
    for label, seconds, phases, rep in rows:
        cells = " ".join(f"{phases.get(p, 0.0):10.2f}" for p in PHASES)
        print(f"{label:<18} {rep.embedded_documents:>8} {seconds:7.2f} {seconds / full_s:7.3f} {cells}")


def timed_build(settings: Any, full: bool, timer: PhaseTimer) -> tuple[float, dict[str, float], Any]:
    from qabot import store

    timer.seconds.clear()
    began = time.perf_counter()
    report = store.build(settings, full=full)
    return time.perf_counter() - began, dict(timer.seconds), report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=500, help="documents in the corpus (default 500)")
    parser.add_argument(
        "--paragraphs", type=int, default=0, help="paragraphs per document (default 0: all, shared evenly)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="incremental builds, one changed file each")
    parser.add_argument("--source", type=Path, default=CORPUS, help="articles to cut into documents")
    parser.add_argument(
        "--synthetic-chunks", type=int, default=0, help="also time a synthetic index of this many chunks"
    )
    parser.add_argument(
        "--sentences", type=int, default=0, help="real sentences the synthetic vectors follow (default: all)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from qabot import store
    from qabot.config import Settings

    timer = PhaseTimer(store, PHASES)
    model_dir = seed_model_dir()
    with tempfile.TemporaryDirectory(prefix="qabot-incremental-") as tmp:
        corpus, index_dir = Path(tmp) / "corpus", Path(tmp) / "index"
        make_corpus(args.source, corpus, args.documents, args.paragraphs)
        (index_dir / "models").mkdir(parents=True)
        shutil.copytree(model_dir, index_dir / "models" / model_dir.name)
        settings = Settings(corpus_dir=corpus, index_dir=index_dir)

        full_s, full_phases, report = timed_build(settings, True, timer)
        rows = [("full build", full_s, full_phases, report)]
        unchanged = timed_build(settings, False, timer)
        rows.append(("nothing changed", *unchanged))
        incremental: list[float] = []
        for i in range(args.repeat):
            path = corpus / f"doc{(i * 97) % args.documents:04d}.txt"
            path.write_text(path.read_text(encoding="utf-8") + f"\nEdit {i}: one more sentence.\n")
            seconds, phases, report = timed_build(settings, False, timer)
            incremental.append(seconds)
            rows.append((f"1 changed (#{i + 1})", seconds, phases, report))

    print(
        f"{args.documents} documents, {report.chunks:,} chunks, {report.sentences:,} sentences; "
        "seconds per build and per phase (qabot.store functions)"
    )
    print_rows(rows, full_s)
    ratio = statistics.median(incremental) / full_s
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"incremental (median of {args.repeat}) / full = {ratio:.3f} (target <= {TARGET}): {verdict}")
    if args.synthetic_chunks:
        texts_per_second = (report.chunks + report.sentences) / full_phases["_embed"]
        synthetic(args.synthetic_chunks, model_dir, args.repeat, texts_per_second, timer, args.sentences)
    return 0


def synthetic(
    chunks: int, model_dir: Path, repeat: int, texts_per_second: float, timer: PhaseTimer, sentences: int = 0
) -> None:
    """Incremental builds over a synthetic generation of `chunks` chunks whose documents are the corpus;
    its vectors follow `sentences` real ones (0: all)."""
    from benchmarks.scale import real_vectors, synthetic_generation
    from qabot import store
    from qabot.config import Settings

    with tempfile.TemporaryDirectory(prefix="qabot-incremental-") as tmp:
        corpus, index_dir = Path(tmp) / "corpus", Path(tmp) / "index"
        # flat: the files written below must be what a build would read back as the same documents
        real = real_vectors(Path(tmp) / "real.npy", sentences)
        synthetic_generation(index_dir, chunks, model_dir, real, folders=False)
        (index_dir / "models" / model_dir.name).unlink()  # scale.py links the export; builds write beside it
        shutil.copytree(model_dir, index_dir / "models" / model_dir.name)
        corpus.mkdir()
        index = store.open_index_dir(index_dir)
        for parts in index.all_parts().values():
            (corpus / parts.doc.path).write_text(parts.doc.text, encoding="utf-8")
        counts = index.manifest["counts"]
        index.close()
        settings = Settings(corpus_dir=corpus, index_dir=index_dir)
        estimate = (counts["chunks"] + counts["sentences"]) / texts_per_second
        rows = [("nothing changed", *timed_build(settings, False, timer))]
        for i in range(repeat):
            path = corpus / f"doc{(i * 97) % counts['documents']:06d}.txt"
            path.write_text(path.read_text(encoding="utf-8") + f"\nEdit {i}: one more sentence.\n")
            rows.append((f"1 changed (#{i + 1})", *timed_build(settings, False, timer)))
    print()
    print(
        f"synthetic index: {counts['documents']:,} documents, {counts['chunks']:,} chunks, "
        f"{counts['sentences']:,} sentences; a full build would embed for ~{estimate:,.0f} s "
        f"({texts_per_second:.0f} texts/s above)"
    )
    print_rows(rows, estimate)
    changed = statistics.median(seconds for label, seconds, _, _ in rows[1:])
    print(f"incremental (median of {repeat}) / estimated full = {changed / estimate:.4f}")


if __name__ == "__main__":
    sys.exit(main())
