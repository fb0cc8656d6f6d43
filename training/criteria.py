"""The shipping criteria: does a measured run beat the shipped reader where it must?

    python -m training.criteria runs/reader/run20 --shipped runs/reader/shipped-m runs/reader/shipped-m9

A run replaces the shipped reader only if, as served (`training.measure` rows, RUN/measure/SET.json):
1. the news sets' right top quotes, summed, are at least the shipped reader's;
2. the unanswerable questions declined over the news sets and FastAPI + Click are at least the shipped
   reader's less one;
3. FastAPI + Click right top quotes are at least the shipped reader's at equal honesty: where each
   declines as many of their unanswerable questions as the shipped reader does as served;
4. SQuAD dev-a served top-1 is at least the shipped reader's
(declared before any run was judged by them; latency is checked apart, by benchmarks/). Criterion 3
compared the served counts until run 29; each reader's docs map is fitted on the held docs set of its
own time, so that compared held sets as much as readers (declared at stop 41, before run 30's rows were
read; the served counts are still printed). SQuAD dev-a is
read whole (5,397 questions) from run 29 on; a fixed sample of 1,500 before, which put the two readers'
difference within its noise (docs/benchmarks.md, "Stop 39"). Docs rows are
decided again from their final scores with the reader.json beside the run's model (RUN/onnx), because
`training/pipeline.sh` measures the docs sets before it fits the docs confidence map; prose rows keep the
decision they were measured with. The shipped reader's rows may be spread over several measure folders
(a later folder's set replaces an earlier one's) and are decided with the packaged reader.json.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qabot.models.reader import WEIGHTS_DIR, ReaderConfig, load_config
from training.honesty import DOCS, SETS, Row, at_honesty, docs_mapped, rows_of

NEWS = tuple(s for s in SETS if s not in DOCS)
# measured and printed, not criteria
REPORTED = (
    "blind2",
    "blind3",
    "structlog",
    "nodejs",
    "rq",
    "readmes",
    "libffi",
    "valgrind",
    "rstdocs",
    "psycopg2",
    "starlette",
    "plaintext",
    "plaintext2",
    "specs",
    "specs2",
    "cmake",
    "npm",
    "git",
    "statsmodels",
    "cryptography",
    "sdl",
    "docs_held",
)
SQUAD = "squad"


@dataclass(frozen=True)
class Served:
    answerable: int
    right: int  # answerable questions whose served top quote holds a gold answer
    answerable_declined: int
    unanswerable_declined: int


def answered(row: dict[str, Any], config: ReaderConfig) -> bool:
    """Whether the top quote of a measured row is served as an answer."""
    mapped = docs_mapped(row, config)
    return bool(row["served"]) if mapped is None else mapped >= config.floors(True)[0]


def served(rows: Sequence[dict[str, Any]], config: ReaderConfig) -> Served:
    decided = [(r, answered(r, config)) for r in rows]
    return Served(
        answerable=sum(1 for r, _ in decided if r["answerable"]),
        right=sum(1 for r, a in decided if r["answerable"] and r["hit1"] and a),
        answerable_declined=sum(1 for r, a in decided if r["answerable"] and not a),
        unanswerable_declined=sum(1 for r, a in decided if not r["answerable"] and not a),
    )


def read_rows(folders: Sequence[Path]) -> dict[str, list[dict[str, Any]]]:
    """Each set's rows; a later folder's set replaces an earlier one's."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and "rows" in data:
                rows[path.stem] = data["rows"]
    return rows


@dataclass(frozen=True)
class Totals:
    news_right: int
    unanswerable_declined: int
    docs_right: int
    docs_declined: int  # FastAPI + Click unanswerable questions declined as served
    squad: float | None  # served top-1 share, None when not measured
    docs_rows: tuple[Row, ...]  # FastAPI + Click, structured units through the docs map


def judged(rows: dict[str, list[dict[str, Any]]], config: ReaderConfig) -> tuple[dict[str, Served], Totals]:
    """Each set as served with `config`, and the totals the criteria read."""
    sets = {name: served(r, config) for name, r in rows.items()}
    docs = tuple(row for name in DOCS for row in rows_of(name, rows.get(name, []), config))
    squad = sets.get(SQUAD)
    return sets, Totals(
        news_right=sum(sets[s].right for s in NEWS if s in sets),
        unanswerable_declined=sum(sets[s].unanswerable_declined for s in NEWS + DOCS if s in sets),
        docs_right=sum(sets[s].right for s in DOCS if s in sets),
        docs_declined=sum(sets[s].unanswerable_declined for s in DOCS if s in sets),
        squad=squad.right / squad.answerable if squad and squad.answerable else None,
        docs_rows=docs,
    )


def docs_at_shipped_honesty(run: Totals, shipped: Totals) -> tuple[int, int]:
    """FastAPI + Click right (run, shipped) where each declines the shipped reader's served count."""
    found = [at_honesty(t.docs_rows, shipped.docs_declined) for t in (run, shipped)]
    return (found[0].right if found[0] else 0, found[1].right if found[1] else 0)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def verdict(run: Totals, shipped: Totals) -> list[tuple[str, str, str, bool]]:
    """(criterion, needed, the run's, met) for each of the four."""
    squad_ok = run.squad is not None and shipped.squad is not None and run.squad >= shipped.squad
    docs_run, docs_shipped = docs_at_shipped_honesty(run, shipped)
    return [
        ("news right", f">= {shipped.news_right}", str(run.news_right), run.news_right >= shipped.news_right),
        (
            "unanswerable declined",
            f">= {shipped.unanswerable_declined - 1}",
            str(run.unanswerable_declined),
            run.unanswerable_declined >= shipped.unanswerable_declined - 1,
        ),
        (
            f"docs right, {shipped.docs_declined} declined",
            f">= {docs_shipped}",
            str(docs_run),
            docs_run >= docs_shipped,
        ),
        ("SQuAD served", f">= {_share(shipped.squad)}", _share(run.squad), squad_ok),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", type=Path, nargs="+", help="Run folders, each with onnx/ and measure/.")
    parser.add_argument(
        "--shipped", type=Path, nargs="+", required=True, help="The shipped reader's measure folders."
    )
    args = parser.parse_args()
    _, baseline = judged(read_rows(args.shipped), load_config(WEIGHTS_DIR))
    for run in args.runs:
        sets, run_totals = judged(read_rows([run / "measure"]), load_config(run / "onnx"))
        print(f"{run}: as served, right · answerable declined · unanswerable declined")
        for name in NEWS + DOCS + REPORTED + (SQUAD,):
            if name in sets:
                s = sets[name]
                print(
                    f"  {name:12s} {s.right / max(1, s.answerable):.4f} · {s.answerable_declined} · "
                    f"{s.unanswerable_declined}"
                )
        print(f"  FastAPI + Click right as served {run_totals.docs_right} (shipped {baseline.docs_right})")
        checks = verdict(run_totals, baseline)
        for criterion, needed, got, met in checks:
            print(f"  {criterion:22s} {got:>8s}  needed {needed}  {'met' if met else 'MISSED'}")
        print(f"  {'ships' if all(c[3] for c in checks) else 'does not ship'}")


if __name__ == "__main__":
    main()
