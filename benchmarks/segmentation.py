"""Sentence segmentation speed: qabot.text.segment (sentencex) against pysbd, in the same run.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/segmentation.py            # ~1 minute
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/segmentation.py --mb 2     # pysbd on 2 MB of it

"Long varied text" is every file of three corpora one after another: the SQuAD dev-a articles
(encyclopaedic prose with chemical formulas, citations, abbreviations), the seed news articles (date lines,
bylines, quotations) and the FastAPI docs (Markdown, code, tables, HTML, changelog lines), in all about
3.5 MB. pysbd is timed with what qabot did before (paragraphs fed to it in 20,000-character pieces) on the
first `--mb` megabytes of that text, since it runs at a fraction of a megabyte a second; qabot's segmenter
on the same megabytes and on all of it. Speeds are per CPU second of this process; they still move with
the machine's load (shared caches, hyper-threads), so the figure to compare is the ratio, measured in the
same run. It also reports how many sentence ends the two agree on, and the speed of reading the plain-text
docs sets (`eval/corpora/plaintext*/docs`, hard-wrapped) as qabot does against reading them line by line.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ROOT = Path(__file__).resolve().parents[1]
SOURCES = (SHARED / "squad-dev-a" / "corpus", ROOT / "corpus", SHARED / "fastapi-docs")
# plain-text documentation hard-wrapped at a width (the Vim manual, dpkg's specs, git-subtree's manual)
PLAIN = (ROOT / "eval" / "corpora" / "plaintext" / "docs", ROOT / "eval" / "corpora" / "plaintext2" / "docs")
_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*\Z)", re.DOTALL)


def varied_text() -> str:
    files = [f for folder in SOURCES for f in sorted(folder.rglob("*")) if f.suffix in {".txt", ".md"}]
    return "\n\n".join(f.read_text(encoding="utf-8") for f in files)


def pysbd_ends(text: str) -> set[int]:
    """Sentence ends as qabot found them with pysbd (its version 2 segmenter), for the comparison."""
    import pysbd

    segmenter = pysbd.Segmenter(language="en", clean=False)
    ends: set[int] = set()
    for para in _PARAGRAPH.finditer(text):
        for piece_start in range(para.start(), para.end(), 20_000):
            piece_end = min(piece_start + 20_000, para.end())
            cursor = piece_start
            for piece in segmenter.segment(text[piece_start:piece_end]):
                found = text.find(piece.strip(), cursor, piece_end) if piece.strip() else -1
                if found >= 0:
                    cursor = found + len(piece.strip())
                    ends.add(cursor)
    return ends


def qabot_ends(text: str) -> set[int]:
    from qabot.text import segment

    return {s.end for s in segment(text)}


def plain_docs() -> list[tuple[str, str]]:
    return [
        (f.read_text(encoding="utf-8"), f.name) for folder in PLAIN for f in sorted(folder.rglob("*.txt"))
    ]


def units_of(docs: list[tuple[str, str]], wrapped: bool) -> tuple[float, int]:
    """CPU seconds and units: as qabot reads plain text (`split`: wrapped lines joined, examples with their
    introduction), or line by line (`segment` alone, what it did before segmenter 13)."""
    from qabot.text import segment, split

    began = time.process_time()
    count = sum(len(split(text, name)) if wrapped else len(segment(text)) for text, name in docs)
    return time.process_time() - began, count


def timed(func: Callable[[str], set[int]], text: str) -> tuple[float, set[int]]:
    """CPU seconds (the process's own, so that other jobs on the machine weigh less) and the result."""
    began = time.process_time()
    ends = func(text)
    return time.process_time() - began, ends


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=float, default=0.5, help="megabytes pysbd segments (default 0.5)")
    args = parser.parse_args(argv)
    text = varied_text()
    sample = text[: int(args.mb * 1_000_000)]
    qabot_ends(sample[:10_000])  # imports and first-call set-up are not what is measured
    old_seconds, old = timed(pysbd_ends, sample)
    new_seconds, new = timed(qabot_ends, sample)
    all_seconds, _ = timed(qabot_ends, text)
    mb = len(sample.encode()) / 1e6
    all_mb = len(text.encode()) / 1e6
    print(f"sample {mb:.2f} MB: pysbd {mb / old_seconds:.2f} MB/s, qabot {mb / new_seconds:.2f} MB/s")
    print(f"qabot / pysbd speed: {old_seconds / new_seconds:.0f} x")
    print(f"all {all_mb:.2f} MB: qabot {all_mb / all_seconds:.2f} MB/s")
    print(f"sentence ends: {len(old & new)} shared, {len(old - new)} pysbd only, {len(new - old)} qabot only")
    docs = plain_docs()
    plain_mb = sum(len(text.encode()) for text, _ in docs) / 1e6
    line_seconds, lines = units_of(docs, wrapped=False)
    wrapped_seconds, units = units_of(docs, wrapped=True)
    wrapped_speed, line_speed = plain_mb / wrapped_seconds, plain_mb / line_seconds
    print(
        f"plain-text docs {plain_mb:.2f} MB: read wrapped {wrapped_speed:.2f} MB/s ({units} units), line by "
        f"line {line_speed:.2f} MB/s ({lines} units): {wrapped_seconds / line_seconds:.1f} x the time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
