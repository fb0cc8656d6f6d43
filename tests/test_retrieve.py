"""Keyword retrieval on the real seed index: our BM25 against SQLite FTS5's own, and the postings budget."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import pytest

from qabot import bm25, retrieve, store
from qabot import words as qwords
from qabot.config import Settings

QUESTIONS = (
    "How many Russian troops does Armenia host?",
    "Who is the Russian ambassador to Armenia?",
    "What did Pashinyan tell the Wall Street Journal about the troops running the border?",
    "Where is the 102nd military base?",
)


@pytest.fixture(scope="module")
def index(seed_settings: Settings) -> Iterator[store.Index]:
    opened = store.open_index(seed_settings)
    yield opened
    opened.close()


@pytest.mark.parametrize("question", QUESTIONS)
def test_keyword_scores_equal_fts5_bm25(index: store.Index, question: str) -> None:
    ranked = retrieve.keyword_sentences(index, question, 100)
    assert ranked
    scores = retrieve.keyword_scores(index, question, index.sentence_rows([h.id for h in ranked]))
    assert scores.keys() == {h.id for h in ranked}
    for hit in ranked:
        assert scores[hit.id] == pytest.approx(hit.score, rel=1e-9)


def test_keyword_scores_leave_out_sentences_without_a_word(index: store.Index) -> None:
    matched = {h.id for h in retrieve.keyword_sentences(index, "Gyumri", 1000)}
    rows = index.sentences(0, 40)
    assert retrieve.keyword_scores(index, "Gyumri", rows).keys() == matched & {r.id for r in rows}
    assert retrieve.keyword_scores(index, "the of and", rows) == {}  # stopwords only: no query


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_scoped_keyword_search_is_the_whole_search_within_its_documents(
    index: store.Index, question: str
) -> None:
    scope = index.scope(sources=[index.document(1).id, index.document(3).id])
    assert set(scope.docs) == {1, 3}
    for search, table in ((retrieve.keyword_chunks, "chunks"), (retrieve.keyword_sentences, "sentences")):
        whole = search(index, question, 10_000)
        doc = dict(index.db.execute(f"SELECT rowid, doc FROM {table}").fetchall())
        assert search(index, question, 5, scope) == [h for h in whole if doc[h.id] in scope.docs][:5]


def test_an_index_remembers_the_scope_of_recent_filters(
    index: store.Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = index.scope(sources=[index.document(1).id])
    assert index.scope(sources=[index.document(1).id]) is first  # worked out once
    other = index.scope(sources=[index.document(3).id])
    assert other.docs == (3,) and first.docs == (1,)
    assert not first.chunks.flags.writeable  # shared between questions
    monkeypatch.setattr(store, "SCOPES_KEPT", 1)
    index.scope(since="2024-01-01")  # evicts the oldest
    assert index.scope(sources=[index.document(1).id]) is not first


def test_mean_tokens_is_what_the_tokenizer_counts(index: store.Index) -> None:
    rows = index.sentences(0, index.manifest["counts"]["sentences"] - 1)
    counted = sum(len(qwords.tokens(index.document(r.doc).text[r.start : r.end])) for r in rows)
    assert index.mean_tokens("sentence_fts") == pytest.approx(counted / len(rows), rel=1e-9)


TRICKY = (
    "Troops' CAFÉS in Gyumri_base, 10,000 of them — don't re-arm!",
    "Naïve façade: Zürich's ÆON co-operation, 1990s e-mail (U.S.) at 3:45pm; x2 ok",
    "A is an I. Generalizations, relational hopefulness; agreed feed ponies caresses",
)


def fts5_tokens(text: str) -> list[str]:
    """The tokens SQLite's FTS5 stores for `text`, with the tokenizer qabot's index uses, in order."""
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(body, tokenize='{store.FTS_TOKENIZER}')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
    db.execute("INSERT INTO t(body) VALUES (?)", (text,))
    return [term for (term,) in db.execute("SELECT term FROM v ORDER BY offset")]


@pytest.mark.parametrize("text", TRICKY)
def test_tokens_follow_the_index_tokenizer(text: str) -> None:
    assert qwords.tokens(text) == fts5_tokens(text)


def test_a_word_with_an_underscore_is_a_phrase() -> None:
    assert bm25.phrases(["gyumri_base", "running"]) == [("gyumri", "base"), ("run",)]


def test_budget_keeps_every_word_when_they_fit(index: store.Index) -> None:
    words = ["russian", "troops", "armenia", "host"]
    assert retrieve.within_budget(index, words, budget=10**9) == words


def test_budget_leaves_out_the_commonest_words_first(index: store.Index) -> None:
    words = ["russian", "troops", "armenia", "gyumri"]
    counts, _ = index.chunk_frequency([qwords.token(w) for w in words])
    by_rarity = sorted(words, key=lambda w: counts[qwords.token(w)])
    two_rarest = sum(counts[qwords.token(w)] for w in by_rarity[:2])
    kept = retrieve.within_budget(index, words, budget=two_rarest)
    assert kept == [w for w in words if w in by_rarity[:2]]  # in the question's order
    assert retrieve.within_budget(index, words, budget=0) == [by_rarity[0]]  # the rarest always stays


def test_the_stemmer_in_use_agrees_with_the_pure_python_porter(index: store.Index) -> None:
    # snowballstemmer hands over to PyStemmer (C) when it is installed; the stems must not change
    from snowballstemmer.porter_stemmer import PorterStemmer

    reference = PorterStemmer()
    texts = [index.document(row.row).text.lower() for row in index.sources()]
    words = {w for text in texts for w in re.findall(r"[^\W_]+", text)}
    assert len(words) > 900
    assert [qwords.stem(w) for w in sorted(words)] == [reference.stemWord(w) for w in sorted(words)]
