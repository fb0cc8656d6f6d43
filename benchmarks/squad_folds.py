"""Split a question set into two folds by source document, as benchmarks/fit_scorer.py does.

    python -m benchmarks.squad_folds ../shared/data/squad-dev-a/questions.jsonl /tmp/squad_fold

writes /tmp/squad_foldA.jsonl (sources at even positions of the sorted source names: what the scorer's
weights are fitted on) and /tmp/squad_foldB.jsonl (odd positions: held out, what docs/benchmarks.md reports).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("questions", type=Path)
    parser.add_argument("prefix", help="output path prefix; 'A.jsonl' and 'B.jsonl' are appended")
    args = parser.parse_args(argv)
    records = [
        json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    sources = sorted({r["source"] for r in records if r.get("source")})
    for name, start in (("A", 0), ("B", 1)):
        members = set(sources[start::2])
        chosen = [r for r in records if r.get("source") in members]
        out = Path(f"{args.prefix}{name}.jsonl")
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen), encoding="utf-8")
        print(f"fold {name}: {len(chosen)} questions from {len(members)} documents -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
