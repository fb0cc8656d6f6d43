"""Readers compared at equal honesty: right answers served when each declines as many unanswerable questions.

    python -m training.honesty runs/reader/fourth runs/reader/run10 --declined 45,51,55,60

A threshold trades answerable questions declined for unanswerable ones answered, so two readers calibrated
to different thresholds are hard to compare from their served figures. This reads the rows that
`training.measure --out RUN/measure/SET.json` kept and, for each reader, finds the lowest threshold at which
at least N unanswerable questions (over all the sets together) are declined, and counts the right top
quotes still served there: the reader with more is the better confidence at that honesty. Where the run
also kept SQuAD rows (RUN/measure/squad.json, all answerable), the share of them served right at that
threshold follows: the cost of that honesty on crowd questions. A diagnostic on the measuring sets;
nothing is chosen by it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qabot.models.reader import ReaderConfig, load_config

SETS = ("seed", "heldout", "paraphrase", "fresh", "blind", "fastapi", "click")
DOCS = ("fastapi", "click")


@dataclass(frozen=True)
class Row:
    set: str
    answerable: bool
    right: bool  # the top quote holds a gold answer
    confidence: float


@dataclass(frozen=True)
class AtHonesty:
    declined: int  # unanswerable questions declined, at least the number asked for
    threshold: float
    right: int  # right top quotes served, all sets
    right_prose: int  # the same, without the documentation sets


def at_honesty(rows: Sequence[Row], declined: int) -> AtHonesty | None:
    """The lowest threshold declining at least `declined` unanswerable questions, and what it serves."""
    for t in sorted({r.confidence for r in rows} | {float("inf")}):
        unanswered = sum(1 for r in rows if not r.answerable and r.confidence < t)
        if unanswered >= declined:
            served = [r for r in rows if r.answerable and r.right and r.confidence >= t]
            prose = sum(1 for r in served if r.set not in DOCS)
            return AtHonesty(unanswered, t, len(served), prose)
    return None


def served_right(rows: Sequence[Row], threshold: float) -> float:
    """The share of `rows` whose top quote is right and reaches `threshold`."""
    return sum(1 for r in rows if r.right and r.confidence >= threshold) / max(1, len(rows))


def docs_mapped(row: dict[str, Any], config: ReaderConfig | None) -> float | None:
    """A structured unit's confidence through the docs map of `config`; None where none applies."""
    score = row.get("score")
    if config is None or config.structured_slope is None or not row.get("structured") or score is None:
        return None
    return config.confidence(float(score), structured=True)


def confidence(row: dict[str, Any], config: ReaderConfig | None) -> float:
    """The stored confidence, or a structured unit's through the docs map of `config`."""
    mapped = docs_mapped(row, config)
    return float(row["confidence"]) if mapped is None else mapped


def rows_of(name: str, measured: Sequence[dict[str, Any]], config: ReaderConfig | None) -> list[Row]:
    """A set's measured rows (`training.measure`) as rows to compare at equal honesty."""
    return [Row(name, r["answerable"], r["hit1"], confidence(r, config)) for r in measured]


def load(run: Path, sets: Sequence[str], config: ReaderConfig | None = None) -> list[Row]:
    rows = []
    for name in sets:
        rows += rows_of(name, json.loads((run / "measure" / f"{name}.json").read_text())["rows"], config)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", type=Path, nargs="+", help="Run directories with measure/SET.json.")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--declined", default="45,51,55,60", help="Unanswerable questions declined.")
    parser.add_argument(
        "--docs-map", action="store_true", help="Structured units through RUN/onnx's docs map."
    )
    args = parser.parse_args()
    wanted = [int(n) for n in args.declined.split(",")]
    for run in args.runs:
        rows = load(run, args.sets.split(","), load_config(run / "onnx") if args.docs_map else None)
        squad = load(run, ["squad"]) if (run / "measure" / "squad.json").exists() else []
        cells = []
        for n in wanted:
            found = at_honesty(rows, n)
            served = "-" if found is None else f"{found.right} ({found.right_prose}) at {found.threshold:.3f}"
            if found is not None and squad:
                served += f", SQuAD {served_right(squad, found.threshold):.4f}"
            cells.append(f"≥{n} declined: {served}")
        print(f"{run}: " + " | ".join(cells))


if __name__ == "__main__":
    main()
