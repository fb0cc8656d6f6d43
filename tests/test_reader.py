"""The reader's pair encoding and span decoding (pure functions), and the shipped model against its card."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qabot.models import reader
from qabot.models.reader import (
    MAX_ANSWER_TOKENS,
    MAX_QUESTION_TOKENS,
    READ_TOKENS,
    TRAIN_TOKENS,
    WEIGHTS_DIR,
    OnnxReader,
    best_span,
    context_of,
    encode_pairs,
    token_span,
    whole_words,
)


@pytest.fixture(scope="module")
def tokenizer() -> reader.PairTokenizer:
    from tokenizers import Tokenizer

    return reader.configure(Tokenizer.from_file(str(WEIGHTS_DIR / "reader-tokenizer.json")))


def test_pairs_put_the_question_first_and_map_sentence_pieces_to_sentence_characters(
    tokenizer: reader.PairTokenizer,
) -> None:
    sentence = "The tower, built in 1889, is 300 m tall."
    pairs = encode_pairs(tokenizer, "When was it built?", [sentence, "Short."])
    assert pairs.input_ids.shape == pairs.attention_mask.shape == pairs.token_type_ids.shape
    assert pairs.input_ids.shape[0] == 2
    row = pairs.offsets[0]
    pieces = [sentence[o[0] : o[1]].lower() for o in row if o is not None]
    assert pieces[:3] == ["the", "tower", ","]
    assert "1889" in pieces
    # the question's word pieces and the special tokens carry no sentence offsets
    types = pairs.token_type_ids[0]
    assert all(o is None for o, t in zip(row, types, strict=False) if t == 0)
    # the shorter row is padded, and padding is masked
    assert pairs.attention_mask[1].sum() < pairs.attention_mask[0].sum()


def test_a_sentence_read_with_context_keeps_its_pieces_and_type_and_nothing_else_is_answerable(
    tokenizer: reader.PairTokenizer,
) -> None:
    sentence = "It was blockaded for nine months."
    context = context_of("Nagorno-Karabakh", [("Azerbaijan closed the only road into the region.", None)])
    alone = encode_pairs(tokenizer, "How long was the region cut off?", [sentence])
    read = encode_pairs(tokenizer, "How long was the region cut off?", [sentence], [context])
    n = alone.input_ids.shape[1]
    # the question and the sentence are read exactly as alone; the context follows the sentence's [SEP]
    assert read.input_ids[0, :n].tolist() == alone.input_ids[0].tolist()
    assert read.token_type_ids[0, :n].tolist() == alone.token_type_ids[0].tolist()
    assert read.offsets[0][:n] == alone.offsets[0]
    assert all(o is None for o in read.offsets[0][n:])  # an answer span never lands in the context
    assert set(read.token_type_ids[0, n:-1].tolist()) == {0}  # read like the question, not the candidate
    assert "karabakh" in tokenizer.pairs.decode(read.input_ids[0, n:].tolist())
    # truncation cuts the context before the candidate
    long = encode_pairs(tokenizer, "How long?", [sentence], [context_of("T", [("word " * 400, None)])])
    assert long.input_ids.shape[1] == READ_TOKENS
    assert [o for o in long.offsets[0] if o is not None] == [o for o in alone.offsets[0] if o is not None]


def test_the_context_is_the_title_and_the_nearest_unit_before_that_is_not_a_heading() -> None:
    before = [("## Logging", "heading"), ("Configure it once.", None), ("Older.", None)]
    assert context_of("Guide", before) == "Guide [SEP] Configure it once."
    assert context_of("Guide", []) == "Guide"
    assert context_of("Guide", [("Guide", None)]) == "Guide"  # a .txt file's title line is not repeated
    assert context_of("", [("Before.", None)]) == "Before."
    headings = [("# A", "heading"), ("## B", "heading"), ("### C", "heading"), ("Far.", None)]
    assert context_of("T", headings) == "T"  # looked for only CONTEXT_LOOKBACK units back


def test_a_docs_unit_is_read_with_its_section_path_only_by_a_reader_trained_with_them() -> None:
    before = [("Configure it once.", None)]
    section = ("Guide", "Logging")
    assert context_of("Guide", before, "code", section) == ""  # the shipped way: docs units alone
    assert context_of("Guide", before, "code", section, sections=True) == "Guide › Logging"
    assert context_of("Guide", before, "code", ("Logging",), prose=False, sections=True) == "Guide › Logging"
    assert context_of("Guide", before, None, (), prose=False, sections=True) == ""  # prose, alone
    assert context_of("Guide", before, None, (), sections=True) == "Guide [SEP] Configure it once."


def test_long_questions_and_sentences_are_cut_to_fit(tokenizer: reader.PairTokenizer) -> None:
    question = "why " * 200
    sentence = "word " * 500
    pairs = encode_pairs(tokenizer, question, [sentence])
    assert pairs.input_ids.shape[1] == READ_TOKENS
    question_pieces = int((pairs.token_type_ids[0] == 0).sum()) - 2  # [CLS] and the first [SEP]
    assert question_pieces == MAX_QUESTION_TOKENS
    assert any(o is not None for o in pairs.offsets[0])  # the sentence keeps the rest of the room


def test_a_documentation_unit_is_read_past_the_training_length(tokenizer: reader.PairTokenizer) -> None:
    """A sentence with the code block it introduces: the code at its end is what answers."""
    code = "\n".join(f"    app.add_middleware(Middleware{i}, option_{i}=True)" for i in range(12))
    unit = f"To add several middlewares, call `add_middleware` for each, in order:\n\n```python\n{code}\n```"
    pairs = encode_pairs(tokenizer, "How do I add middleware?", [unit])
    assert TRAIN_TOKENS < pairs.input_ids.shape[1] <= READ_TOKENS
    last = max(o[1] for o in pairs.offsets[0] if o is not None)
    assert unit[last:] == ""  # read to its last character, the closing fence


def test_token_span_covers_exactly_the_answer(tokenizer: reader.PairTokenizer) -> None:
    sentence = "Armenia hosts approximately 10,000 Russian troops."
    pairs = encode_pairs(tokenizer, "How many?", [sentence])
    start = sentence.index("10,000")
    span = token_span(pairs.offsets[0], start, start + len("10,000"))
    assert span is not None
    first, last = span
    offsets = pairs.offsets[0]
    assert offsets[first] is not None and offsets[last] is not None
    assert sentence[offsets[first][0] : offsets[last][1]] == "10,000"
    assert token_span(pairs.offsets[0], 10_000, 10_010) is None  # cut away: no span to learn


def test_best_span_takes_the_best_ordered_pair_within_the_length_limit() -> None:
    offsets: list[tuple[int, int] | None] = [None, (0, 3), (4, 9), (10, 15), None]
    start = np.array([9.0, 0.0, 5.0, 1.0, 9.0])
    end = np.array([9.0, 4.0, 0.0, 1.0, 9.0])
    # the best end (piece 1) lies before the best start (piece 2): the best ordered pair wins instead
    assert best_span(start, end, offsets)[:2] == (4, 15)
    long_offsets: list[tuple[int, int] | None] = [(i, i + 1) for i in range(MAX_ANSWER_TOKENS + 5)]
    n = len(long_offsets)
    s = np.zeros(n)
    e = np.zeros(n)
    s[0], e[-1] = 5.0, 5.0
    got = best_span(s, e, long_offsets)
    assert got[1] - got[0] <= MAX_ANSWER_TOKENS


@given(st.text(alphabet="ab .,1", min_size=1, max_size=30), st.data())
def test_whole_words_only_widens_to_word_edges(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    s, e = whole_words(text, start, end)
    assert s <= start and e >= end
    assert s in (0, len(text)) or not (text[s - 1].isalnum() and text[s].isalnum())
    assert e in (0, len(text)) or not (text[e - 1].isalnum() and text[e].isalnum())


def test_the_shipped_reader_is_the_one_its_card_describes() -> None:
    card = json.loads((WEIGHTS_DIR / "reader.json").read_text())
    model = WEIGHTS_DIR / "reader.onnx"
    assert hashlib.sha256(model.read_bytes()).hexdigest() == card["model"]["sha256"]
    assert model.stat().st_size <= 30 * 1024 * 1024
    assert card["model"]["sha256"] in (WEIGHTS_DIR / "READER.md").read_text()


def test_the_int8_reader_ranks_the_card_sample_like_the_fp32_one() -> None:
    """The card keeps the fp32 model's logits for a fixed sample (training/ship.py); the int8 file must
    put the same candidate first for nearly every question and keep their order closely."""
    card = json.loads((WEIGHTS_DIR / "reader.json").read_text())
    sample = card["reference"]
    model = OnnxReader()
    same_top = 0
    correlations = []
    for item in sample:
        logits = np.array(
            [r.relevance for r in model.read(item["question"], item["sentences"], item.get("contexts"))]
        )
        fp32 = np.array(item["fp32_logits"])
        same_top += int(np.argmax(logits) == np.argmax(fp32))
        correlations.append(np.corrcoef(logits, fp32)[0, 1])
    assert same_top >= 0.9 * len(sample)
    assert float(np.mean(correlations)) > 0.97


def test_a_sentence_reads_the_same_whatever_it_is_read_with() -> None:
    """The int8 model's activation scales come from its whole input: a sentence's confidence must not
    move with the other candidates of the same question (or with their length)."""
    card = json.loads((WEIGHTS_DIR / "reader.json").read_text())
    model = OnnxReader()
    for item in card["reference"][:5]:
        together = model.read(item["question"], item["sentences"], item.get("contexts"))
        for sentence, reading in zip(item["sentences"], together, strict=True):
            alone = model.read(item["question"], [sentence])[0]
            assert alone.relevance == pytest.approx(reading.relevance, abs=1e-5)
            assert alone.answer == reading.answer


def test_a_structured_unit_gets_the_score_only_map_and_prose_the_full_one() -> None:
    """The rival and chunk inputs were fitted on prose: a unit of a Markdown or reST document is mapped
    from its final score alone, with the map fitted beside them; without that map, by the full one."""
    import math

    config = reader.ReaderConfig(
        10, 1.0, 0.0, 0.0, slope=1.0, intercept=-2.0, answer_at=0.5, close_at=0.1,
        rival_weight=-0.5, chunk_weight=4.0, structured_slope=0.5, structured_intercept=-1.0,
    )  # fmt: skip

    def logit(p: float) -> float:
        return math.log(p / (1 - p))

    assert logit(config.confidence(3.0, rival=2.0, chunk=0.5)) == pytest.approx(3.0 - 2.0 - 1.0 + 2.0)
    assert logit(config.confidence(3.0, rival=2.0, chunk=0.5, structured=True)) == pytest.approx(0.5)
    older = dataclasses.replace(config, structured_slope=None, structured_intercept=None)
    assert older.confidence(3.0, 0.0, 2.0, 0.5, structured=True) == config.confidence(3.0, 0.0, 2.0, 0.5)


def test_docs_units_have_their_own_thresholds_once_fitted() -> None:
    config = reader.ReaderConfig(10, 1.0, 0.0, 0.0, slope=1.0, intercept=-2.0, answer_at=0.5, close_at=0.1)
    assert config.floors(True) == config.floors(False) == (0.5, 0.1)
    docs = dataclasses.replace(config, structured_answer_at=0.3, structured_close_at=0.2)
    assert docs.floors(True) == (0.3, 0.2) and docs.floors(False) == (0.5, 0.1)
