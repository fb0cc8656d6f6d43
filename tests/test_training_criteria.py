from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from qabot.models.reader import ReaderConfig
from training.criteria import Served, Totals, answered, judged, read_rows, served, verdict

CONFIG = ReaderConfig(
    depth=10,
    reader_weight=1.0,
    scorer_weight=0.0,
    rank_weight=0.0,
    slope=1.0,
    intercept=0.0,
    answer_at=0.5,
    close_at=0.2,
    structured_slope=1.0,
    structured_intercept=-2.0,  # a docs quote needs a final score of 2 for 0.5
)


def row(answerable: bool, hit: bool, served_flag: bool, score: float, structured: bool = False) -> dict:
    return {
        "answerable": answerable,
        "hit1": hit,
        "served": served_flag,
        "score": score,
        "structured": structured,
    }


def test_docs_rows_are_decided_again_by_the_docs_map_and_prose_rows_keep_their_decision() -> None:
    assert answered(row(True, True, False, 2.5, structured=True), CONFIG)  # measured before the docs map
    assert not answered(row(True, True, True, 1.0, structured=True), CONFIG)
    assert answered(row(True, True, True, -5.0), CONFIG)  # prose: as measured
    assert not answered(row(True, True, False, 5.0), CONFIG)
    no_docs_map = replace(CONFIG, structured_slope=None, structured_intercept=None)
    assert not answered(row(True, True, False, 2.5, structured=True), no_docs_map)


def test_served_counts_right_answers_and_both_kinds_of_declines() -> None:
    rows = [
        row(True, True, True, 0.0),
        row(True, False, True, 0.0),  # answered wrongly: neither right nor declined
        row(True, True, False, 0.0),
        row(False, False, False, 0.0),
        row(False, False, True, 0.0),
    ]
    assert served(rows, CONFIG) == Served(
        answerable=3, right=1, answerable_declined=1, unanswerable_declined=1
    )


def test_a_run_ships_only_when_it_meets_all_four_and_may_decline_one_fewer(tmp_path: Path) -> None:
    def folder(name: str, sets: dict[str, list[dict]]) -> Path:
        path = tmp_path / name
        path.mkdir()
        for set_name, rows in sets.items():
            (path / f"{set_name}.json").write_text(json.dumps({"summary": {}, "rows": rows}))
        return path

    news = [row(True, True, True, 0.0)] * 3 + [row(False, False, False, 0.0)] * 2
    docs = [row(True, True, True, 3.0, structured=True), row(False, False, False, 0.0, structured=True)]
    squad = [row(True, True, True, 0.0), row(True, True, False, 0.0)]

    def measured(name: str, sets: dict[str, list[dict[str, Any]]], config: ReaderConfig = CONFIG) -> Totals:
        found = [folder(name, sets)]
        return judged(read_rows(found), config)[1]

    shipped = measured("shipped", {"seed": news, "fastapi": docs, "squad": squad})
    assert (shipped.news_right, shipped.unanswerable_declined, shipped.docs_right, shipped.squad) == (
        3,
        3,
        1,
        0.5,
    )

    one_fewer = [*news[:4], row(False, False, True, 0.0)]  # one unanswerable question answered
    run = measured("run", {"seed": one_fewer, "fastapi": docs, "squad": squad})
    assert all(met for *_, met in verdict(run, shipped))

    worse_squad = [row(True, True, False, 0.0)] * 2
    run = measured("run2", {"seed": news, "fastapi": docs, "squad": worse_squad})
    assert [met for *_, met in verdict(run, shipped)] == [True, True, True, False]


def test_docs_are_compared_where_both_decline_as_many_unanswerable_questions(tmp_path: Path) -> None:
    def measured(name: str, docs: list[dict[str, Any]], config: ReaderConfig = CONFIG) -> Totals:
        path = tmp_path / name
        path.mkdir()
        (path / "fastapi.json").write_text(json.dumps({"summary": {}, "rows": docs}))
        return judged(read_rows([path]), config)[1]

    shipped = measured(
        "shipped",
        [
            row(True, True, True, 2.5, structured=True),
            row(True, True, True, 2.2, structured=True),
            row(False, False, False, 1.0, structured=True),
            row(False, False, False, 3.0, structured=True),  # answered
        ],
    )
    assert (shipped.docs_right, shipped.docs_declined) == (2, 1)
    # A stricter docs map serves none of the same quotes, yet ranks the right ones above the unanswerable
    # question the shipped reader answered: right 2 where it too declines one.
    strict = replace(CONFIG, structured_intercept=-4.0)
    run = measured(
        "run",
        [
            row(True, True, True, 3.5, structured=True),
            row(True, True, True, 3.2, structured=True),
            row(False, False, False, 1.0, structured=True),
            row(False, False, False, 3.0, structured=True),
        ],
        strict,
    )
    assert run.docs_right == 0
    assert verdict(run, shipped)[2][1:] == (">= 2", "2", True)
    worse = measured(
        "worse",
        [
            row(True, True, True, 2.5, structured=True),
            row(True, False, True, 2.2, structured=True),  # a wrong top quote
            row(False, False, False, 1.0, structured=True),
            row(False, False, False, 3.0, structured=True),
        ],
    )
    assert verdict(worse, shipped)[2][1:] == (">= 2", "1", False)
