"""Fit the confidence of documentation quotes on measured docs questions.

    python -m training.measure runs/docs/index runs/reader/docs-held-6.jsonl --within-project \\
        --reader MODEL --out runs/reader/RUN/measure/docs_held6.json
    python -m training.docs_confidence MODEL runs/reader/RUN/measure/docs_held6.json

The reader's confidence is a map fitted on SQuAD and people's questions about Wikipedia prose; on
documentation the same final score is right about half as often (docs/benchmarks.md), so a docs quote
shown as "likely answers it (70 %)" held the answer about a third of the time. Units of Markdown and reST
documents already get a map of their own (from the final score alone): this fits it on the measured
docs questions instead, unweighted (the set's own mix of answerable and unanswerable questions), an
unanswerable question's top quote counting as wrong. Docs quotes are then answered at the same
probability as prose (`answer_at`, `close_at`): a threshold means one thing whatever the unit, as an
asker's `--min-confidence` already did.

Checked across projects: fitted on the questions of half the projects, measured on the other half (both
ways); printed and kept in MODEL/reader.json under "docs_calibration".
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from qabot.evaluate import load_items
from qabot.models.reader import CONFIG_FILE, ReaderConfig, load_config
from training.calibrate import platt, reliability
from training.measure import project as measure_project

# (final score, unused, right, project): the layout training.calibrate.platt reads
Point = tuple[float, float, float, str]


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def docs_points(rows: list[dict[str, Any]], sources: dict[str, str]) -> list[Point]:
    """The rows whose top quote is a docs unit, with its final score and whether it held the answer."""
    out = []
    for r in rows:
        if r.get("structured") and r.get("score") is not None:
            source = sources.get(r["id"]) or ""
            project = measure_project(source) or source  # a page outside any folder: itself
            out.append((float(r["score"]), 0.0, float(bool(r["hit1"])), project))
    return out


def old_map(config: ReaderConfig) -> tuple[float, float]:
    """The (slope, intercept) docs units had: theirs, or prose's when that one reads the score alone."""
    if config.structured_slope is not None and config.structured_intercept is not None:
        return config.structured_slope, config.structured_intercept
    if config.span_weight or config.rival_weight or config.chunk_weight:
        raise ValueError("the prose map reads more than the score: no score-only map to carry over")
    return config.slope, config.intercept


def with_docs_map(config: ReaderConfig, slope: float, intercept: float) -> ReaderConfig:
    """`config` with the docs map replaced, its quotes answered at the same probability as prose."""
    return replace(
        config,
        structured_slope=slope,
        structured_intercept=intercept,
        structured_answer_at=None,
        structured_close_at=None,
    )


def as_before(config: ReaderConfig) -> ReaderConfig:
    """`config` with the docs map and thresholds it had, the map given explicitly (what was shown before
    a fit)."""
    slope, intercept = old_map(config)
    return replace(config, structured_slope=slope, structured_intercept=intercept)


def check(points: list[Point], config: ReaderConfig) -> dict[str, Any]:
    """What a docs map shows on these points: over the answered ones, the mean confidence against the
    share right, and the calibration error over tenths of confidence."""
    assert config.structured_slope is not None and config.structured_intercept is not None
    a, b = config.structured_slope, config.structured_intercept
    shown = np.array([sigmoid(a * p[0] + b) for p in points])
    right = np.array([p[2] for p in points])
    answered = shown >= config.floors(structured=True)[0]
    bands = reliability(shown, right)
    return {
        "points": len(points),
        "answered": int(answered.sum()),
        "answered_mean_confidence": round(float(shown[answered].mean()), 3) if answered.any() else None,
        "answered_right": round(float(right[answered].mean()), 3) if answered.any() else None,
        "calibration_error": round(
            sum(b["n"] * abs(b["mean_confidence"] - b["right"]) for b in bands) / max(1, len(points)), 3
        ),
    }


def fit(points: list[Point], config: ReaderConfig) -> ReaderConfig:
    fitted = platt([p[:3] for p in points])
    return with_docs_map(config, fitted["slope"], fitted["intercept"])


def across_projects(points: list[Point], config: ReaderConfig) -> list[dict[str, Any]]:
    """Fit on every other project, check on the rest, and the other way round; beside what the map
    before shows on the same rest."""
    projects = sorted({p[3] for p in points})
    before = as_before(config)
    out = []
    for half in (projects[0::2], projects[1::2]):
        fitted_on = [p for p in points if p[3] in half]
        rest = [p for p in points if p[3] not in half]
        if not fitted_on or not rest:
            continue
        out.append(
            {
                "fitted_on_projects": len(half),
                "before": check(rest, before),
                "after": check(rest, fit(fitted_on, config)),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", type=Path, help="A reader's directory (its reader.json is rewritten).")
    parser.add_argument("measured", type=Path, help="training.measure --out of a docs question set.")
    args = parser.parse_args()
    measured = json.loads(args.measured.read_text())
    sources = {i.id or "": i.source or "" for i in load_items(Path(measured["summary"]["set"]))}
    points = docs_points(measured["rows"], sources)
    if len(points) < 100:
        parser.error(f"{len(points)} docs rows with a score in {args.measured}: measure a docs set again")
    path = args.model / CONFIG_FILE
    config = load_config(args.model)
    try:
        fitted = fit(points, config)
        report = {
            "set": measured["summary"]["set"],
            "folds": across_projects(points, config),
            "before": check(points, as_before(config)),
            "as_fitted": check(points, fitted),
        }
    except ValueError as exc:
        parser.error(f"{args.model}: {exc}")
    data = json.loads(path.read_text())
    data["config"] = asdict(fitted)
    data["docs_calibration"] = report
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(json.dumps({k: v for k, v in asdict(fitted).items() if k.startswith("structured")}))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
