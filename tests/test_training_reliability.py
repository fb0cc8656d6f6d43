import json
from pathlib import Path

from training.reliability import load_rows, reliability


def row(confidence: float, hit1: bool, answerable: bool = True, structured: bool = True) -> dict[str, object]:
    return {"confidence": confidence, "hit1": hit1, "answerable": answerable, "structured": structured}


def test_quotes_are_binned_by_confidence_and_kind() -> None:
    rows = [row(0.31, True), row(0.39, False), row(0.35, False, answerable=False), row(0.95, True)]
    rows.append(row(0.32, True, structured=False))
    bins = reliability(rows)
    assert [(b.low, b.structured, b.count) for b in bins] == [(0.3, True, 3), (0.9, True, 1), (0.3, False, 1)]
    docs = bins[0]
    assert abs(docs.mean_confidence - 0.35) < 1e-9
    assert docs.right == 1 / 3  # the unanswerable question's quote counts as wrong
    assert reliability([row(1.0, True)])[0].low == 0.9  # a certain quote is in the top bin


def test_rows_are_read_from_the_named_sets(tmp_path: Path) -> None:
    for name, rows in {"a": [row(0.5, True)], "b": [row(0.1, False), row(0.2, False)]}.items():
        (tmp_path / f"{name}.json").write_text(json.dumps({"summary": {}, "rows": rows}))
    assert len(load_rows(tmp_path, None)) == 3
    assert len(load_rows(tmp_path, ["b"])) == 2
