"""Is a reader's confidence honest on sets nothing was fitted on? A reliability table of measured rows.

    python -m training.reliability runs/reader/shipped-m/measure --sets fastapi,click,git,statsmodels

Reads the rows `training.measure --out` kept (every set of the folder, or `--sets`), puts each question's top
quote in a bin of its confidence (0-10 %, 10-20 %, …) and prints, per bin and per kind of quote
(documentation units or prose), how many there are, their mean confidence and the share whose quote holds
the answer. An honest confidence has the two close in every bin. A diagnostic; nothing is chosen by it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Bin:
    low: float  # the bin holds confidences from low to low + 0.1
    structured: bool
    count: int
    mean_confidence: float
    right: float  # share of the bin's top quotes holding the answer (unanswerable questions count as wrong)


def reliability(rows: Iterable[dict[str, Any]]) -> list[Bin]:
    groups: dict[tuple[int, bool], list[dict[str, Any]]] = {}
    for row in rows:
        key = (min(int(row["confidence"] * 10), 9), bool(row.get("structured")))
        groups.setdefault(key, []).append(row)
    return [
        Bin(
            low=tenth / 10,
            structured=structured,
            count=len(group),
            mean_confidence=sum(r["confidence"] for r in group) / len(group),
            right=sum(bool(r["answerable"] and r["hit1"]) for r in group) / len(group),
        )
        for (tenth, structured), group in sorted(groups.items(), key=lambda kv: (not kv[0][1], kv[0][0]))
    ]


def load_rows(folder: Path, sets: list[str] | None) -> list[dict[str, Any]]:
    files = [folder / f"{name}.json" for name in sets] if sets else sorted(folder.glob("*.json"))
    return [row for file in files for row in json.loads(file.read_text())["rows"]]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("measure", type=Path, help="A folder of training.measure --out files.")
    parser.add_argument("--sets", help="Comma-separated set names (default: every file in the folder).")
    args = parser.parse_args()
    sets = args.sets.split(",") if args.sets else None
    print("kind        confidence   quotes   mean   right")
    for b in reliability(load_rows(args.measure, sets)):
        kind = "docs" if b.structured else "prose"
        span = f"{b.low:.1f}-{b.low + 0.1:.1f}"
        print(f"{kind:<11} {span}  {b.count:8d}  {b.mean_confidence:5.2f}  {b.right:6.2f}")


if __name__ == "__main__":
    main()
