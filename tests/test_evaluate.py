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
