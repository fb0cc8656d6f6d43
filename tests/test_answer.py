from __future__ import annotations

import pytest

from qabot import evaluate
from qabot.answer import MAX_QUESTION_CHARS, Answerer, QuestionError, clean_question
from qabot.config import Settings
from qabot.render import answer_json

from .conftest import EVAL_DIR, SEED_CORPUS

# Questions written for these tests (the larger set in eval/ is for `qabot eval`).
SEED_QUESTIONS = [
    ("Where is the 102nd Russian military base located?", ["Gyumri"]),
    ("How many Russian troops does Armenia host?", ["10,000"]),
    ("Who is the Russian ambassador to Armenia?", ["Kopyrkin"]),
    ("Which Armenian newspaper did the ambassador give an interview to?", ["Syunyats Erikir"]),
    ("Which news agency interviewed Kopyrkin about Armenia being a strategic ally?", ["TASS"]),
    ("What did Pashinyan tell the Wall Street Journal about Russian troops?", ["no advantage"]),
    ("Who visited Armenia on October 29th?", ["Shoygu"]),
    ("How much are the delayed defense contracts worth?", ["$400 million"]),
    ("Who is the Armenian defense minister who spoke to RIA?", ["Harutyunyan"]),
    ("Which countries did Armenia sign defense contracts with recently?", ["India and France"]),
    ("How many Russian soldiers are stationed at the base in Gyumri?", ["5,000"]),
    ("What will happen to the military capability of the Gyumri base?", ["doubled"]),
    ("Who is Armenia's foreign minister?", ["Ararat Mirzoyan", "Mirzoyan"]),
    ("Who control Armenia's borders with Turkey and Iran?", ["Russian border guards"]),
    ("How many Russian peacekeepers were stationed in Nagorno-Karabakh?", ["Two thousand"]),
    ("What do critics in Armenia warn about?", ["overdependence on Russia"]),
    ("Where would the second Russian facility be created?", ["Syunik"]),
    ("Which Russian TV channel aired the program about Pashinyan?", ["Channel One"]),
]
# measured with the shipped reader and threshold (docs/benchmarks.md): 50 of 56 answered, 11 of 15 declined
ANSWERED_AT_LEAST = 0.85
DECLINED_AT_LEAST = 0.6
OFF_TOPIC = [
    "What is the capital of Australia?",
    "How do I bake sourdough bread?",
    "Who won the 2022 FIFA World Cup?",
    "What is the boiling point of water at sea level?",
    "How do I reverse a list in Python?",
]


def test_seed_questions_are_answered_with_the_answer_on_top(answerer: Answerer) -> None:
    """Issue bar: the top quote holds the answer for the large majority; top three for nearly all."""
    top1, top3, misses = 0, 0, []
    for question, answers in SEED_QUESTIONS:
        quotes = answerer.answer(question, 3).quotes
        top1 += bool(quotes) and evaluate.contains_answer(quotes[0].text, answers)
        found = any(evaluate.contains_answer(q.text, answers) for q in quotes)
        top3 += found
        if not found:
            misses.append(question)
    assert top1 / len(SEED_QUESTIONS) >= 0.8, misses
    assert top3 >= len(SEED_QUESTIONS) - 2, misses


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_are_declined_with_nearest_documents(answerer: Answerer, question: str) -> None:
    answer = answerer.answer(question)
    assert not answer.answered
    assert answer.quotes == ()
    assert 1 <= len(answer.nearest) <= 3


def test_every_quote_is_verbatim_at_its_offsets(answerer: Answerer) -> None:
    checked = 0
    for question, _ in SEED_QUESTIONS:
        for quote in answerer.answer(question, 5).quotes:
            text = (SEED_CORPUS / quote.source.path).read_text(encoding="utf-8")
            assert text[quote.start : quote.end] == quote.text
            assert quote.text.strip() == quote.text
            checked += 1
    assert checked >= len(SEED_QUESTIONS) * 3


def test_answer_json_contract(answerer: Answerer) -> None:
    data = answer_json(answerer.answer("Where is the 102nd Russian military base located?"))
    assert set(data) == {"question", "answered", "status", "quotes"}
    assert data["answered"] is True and data["status"] == "answered" and len(data["quotes"]) == 3
    quote = data["quotes"][0]
    assert {"text", "start", "end", "score", "source", "confidence", "answer"} <= set(quote)
    assert isinstance(quote["start"], int) and isinstance(quote["score"], float)
    assert 0 <= quote["confidence"] <= 1
    assert quote["start"] <= quote["answer"]["start"] < quote["answer"]["end"] <= quote["end"]
    assert set(quote["source"]) == {"id", "title", "path", "date", "url"}
    scores = [q["score"] for q in data["quotes"]]
    assert scores == sorted(scores, reverse=True)
    declined = answer_json(answerer.answer("What is the capital of Australia?"))
    assert declined["answered"] is False and declined["status"] == "not_found"
    assert declined["quotes"] == [] and declined["nearest"]


def test_quotes_are_distinct(answerer: Answerer) -> None:
    quotes = answerer.answer("What is the 102nd military base?", 5).quotes
    assert len({(q.source.id, q.start) for q in quotes}) == len(quotes)
    assert len({q.text for q in quotes}) == len(quotes)


@pytest.mark.parametrize("bad", ["", "   ", "\x00\x07", "x" * (MAX_QUESTION_CHARS + 1)])
def test_bad_questions_raise_a_helpful_error(answerer: Answerer, bad: str) -> None:
    with pytest.raises(QuestionError):
        answerer.answer(bad)


def test_questions_are_cleaned_of_control_characters() -> None:
    assert clean_question("  Where\x00 is\tthe\nbase? ") == "Where is the base?"


def test_search_ranks_documents(answerer: Answerer) -> None:
    ranked = answerer.search("Shoygu visit bilateral agreements defense ministries", 3)
    assert ranked[0].source.id == "armenia-and-russia-enhance-defense-cooperation"
    assert len({d.source.id for d in ranked}) == len(ranked) == 3


def test_seed_question_set_meets_the_bar(answerer: Answerer, seed_settings: Settings) -> None:
    items = evaluate.load_items(EVAL_DIR / "seed_questions.jsonl")
    results = evaluate.run_items(answerer, items)
    assert evaluate.score(results, evaluate.QuoteChecker(seed_settings.corpus_dir)).verbatim == 1.0
    answerable = [r for r in results if r.item.answers]
    unanswerable = [r for r in results if not r.item.answers]
    # the answer among the quotes shown, whether qabot answered or showed them as closest passages
    shown = [
        any(evaluate.contains_answer(q.text, r.item.answers) for q in r.answer.quotes) for r in answerable
    ]
    assert sum(shown) / len(answerable) >= 0.85
    # confidence: most of what the articles answer is answered, most of what they do not is declined
    assert sum(r.answer.answered for r in answerable) >= ANSWERED_AT_LEAST * len(answerable)
    assert sum(not r.answer.answered for r in unanswerable) >= DECLINED_AT_LEAST * len(unanswerable)


def test_follow_ups_use_the_conversation_and_subject_changes_lose_nothing(answerer: Answerer) -> None:
    items = evaluate.load_items(EVAL_DIR / "seed_conversations.jsonl")
    answerer = Answerer(answerer.index, min_confidence=0.0)  # the ranking, whatever the threshold

    def top(item: evaluate.Item, history: tuple[str, ...]) -> tuple[bool, bool]:
        quotes = answerer.answer(item.question, 3, history=history).quotes
        return (
            bool(quotes) and evaluate.contains_answer(quotes[0].text, item.answers),
            any(evaluate.contains_answer(q.text, item.answers) for q in quotes),
        )

    follow = [i for i in items if i.kind == "followup"]
    switch = [i for i in items if i.kind == "switch"]
    with_history = [top(i, i.turns[:-1]) for i in follow]
    alone = [top(i, ()) for i in follow]
    # the conversation must put the answer first more often, and in the top three no less often (the
    # fourth reader reads follow-ups alone better: 27 of 31 in its top three either way, 25 against 23 first)
    assert sum(t1 for t1, _ in with_history) > sum(t1 for t1, _ in alone)
    assert sum(t3 for _, t3 in with_history) >= sum(t3 for _, t3 in alone)
    assert sum(t3 for _, t3 in with_history) / len(follow) >= 0.8
    assert sum(top(i, i.turns[:-1])[0] for i in switch) >= sum(top(i, ())[0] for i in switch)


def test_the_confidence_weighs_the_rival_and_the_chunk_as_configured(answerer: Answerer) -> None:
    """The confidence's optional inputs reach it: a weight of -1 on the rival lowers the top quote's log-odds
    by exactly the second candidate's final score, a weight of 1 on the chunk raises them by the question's
    cosine with the quote's chunk."""
    import math
    from dataclasses import replace

    from qabot.models.reader import OnnxReader

    reader = OnnxReader()
    plain = replace(reader.config, rival_weight=0.0, chunk_weight=0.0)
    question = "Where is the Russian military base in Armenia?"

    def top(config: object) -> tuple[float, float, float, float]:
        reader.config = config  # type: ignore[assignment]
        candidates, _ = Answerer(answerer.index, min_confidence=0.0, reader=reader).ranked(question)
        best = candidates[0]
        assert best.confidence is not None
        logit = math.log(best.confidence / (1 - best.confidence))
        return logit, candidates[1].score, best.features["chunk"], best.score

    base, rival, chunk, score = top(plain)
    assert rival <= score
    assert top(replace(plain, rival_weight=-1.0))[0] == pytest.approx(base - rival, abs=1e-6)
    assert top(replace(plain, chunk_weight=1.0))[0] == pytest.approx(base + chunk, abs=1e-6)
    assert 0 < chunk <= 1
