from __future__ import annotations

from qabot import evaluate
from qabot.answer import Answer, Quote, Source


def _result(question: str, answers: tuple[str, ...], quote: Quote) -> evaluate.QuestionResult:
    item = evaluate.Item(question, answers)
    return evaluate.QuestionResult(item, Answer(question, True, (quote,)), [], 0.01, 0.9)


def test_a_docs_answer_in_the_shown_section_path_is_counted_apart_from_the_strict_figure() -> None:
    page = Source(
        "middleware",
        "Advanced Middleware",
        "middleware.md",
        None,
        None,
        ("Advanced Middleware", "GZipMiddleware"),
    )
    text = "Handles GZip responses for any request that includes gzip in the Accept-Encoding header."
    results = [
        _result("how can I gzip my responses?", ("GZipMiddleware",), Quote(text, 0, len(text), 1.0, page)),
        _result("which header?", ("Accept-Encoding",), Quote(text, 0, len(text), 1.0, page)),
    ]
    report = evaluate.score(results, lambda q: True)
    assert report.top1 == 0.5  # the identifier is only in the heading: a miss for the judged figure
    assert report.extra["top1_with_section"] == 1.0
    assert report.extra["top3_with_section"] == 1.0


def test_answers_without_sections_report_no_section_figures() -> None:
    news = Source("n", "News", "n.txt", "2024-01-01", None)
    text = "The base is in Gyumri."
    report = evaluate.score(
        [_result("where?", ("Gyumri",), Quote(text, 0, len(text), 1.0, news))], lambda q: True
    )
    assert report.top1 == 1.0
    assert "top1_with_section" not in report.extra


def test_more_quotes_than_three_report_what_a_better_order_could_reach() -> None:
    news = Source("n", "News", "n.txt", "2024-01-01", None)
    quotes = tuple(Quote(t, 0, len(t), 1.0, news) for t in ("a", "b", "c", "d", "The base is in Gyumri."))
    item = evaluate.Item("where is the base?", ("Gyumri",))
    declined = evaluate.QuestionResult(item, Answer("where is the base?", False, quotes), [], 0.01, 0.1)
    missed = evaluate.QuestionResult(
        evaluate.Item("who?", ("Pashinyan",)), Answer("who?", True, quotes), [], 0.01, 0.9
    )
    report = evaluate.score([declined, missed], lambda q: True)
    assert report.top3 == 0.0
    assert report.extra["top5_order"] == 0.5  # in the fifth quote, declined or not
    three = evaluate.score(
        [evaluate.QuestionResult(item, Answer("where is the base?", True, quotes[:3]), [], 0.01, 0.9)],
        lambda q: True,
    )
    assert "top3_order" not in three.extra
