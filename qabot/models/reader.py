"""The reader: a cross-encoder that reads a question with one candidate sentence.

It gives, for each pair, a logit for "this sentence answers the question" and, for each of the sentence's
word pieces, logits for the answer span's start and end. Trained by `training/train.py` from the packaged
all-MiniLM-L6-v2 weights on SQuAD train; served from an int8 ONNX file with onnxruntime (no torch).

The pair encoding lives here, used both by training and by serving, so the two can never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qabot.markup import HEADING, section_path
from qabot.models.encoder import ModelError, session

# Question + sentence word pieces, special tokens included. The reader was trained on pairs of at most
# TRAIN_TOKENS; it reads up to READ_TOKENS, because a documentation unit (a sentence with the code block it
# introduces) often runs past 128 and its code is the answer: Click +2 answers as served, FastAPI and
# squad-dev-a within one question, news sentences unchanged (docs/benchmarks.md, stop 20).
TRAIN_TOKENS = 128
READ_TOKENS = 256
MAX_QUESTION_TOKENS = 48  # longer questions are cut (the sentence needs the room)
MAX_ANSWER_TOKENS = 30  # longest answer span considered
# A reader trained with context reads each candidate as "candidate [SEP] title [SEP] previous unit": the
# candidate keeps the positions and token type (1) it had alone, the context after it reads as type 0 like
# the question, and truncation cuts the context before the candidate. The previous unit is where the
# sentence's subject usually is ("It was blockaded for nine months"), and where documentation restates
# the question before the unit that answers it.
CONTEXT_SEP = " [SEP] "


@dataclass(frozen=True)
class Pairs:
    """A padded batch of (question, sentence) encodings, and where each word piece sits in its sentence."""

    input_ids: np.ndarray  # (batch, width) int64
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    offsets: list[list[tuple[int, int] | None]]  # per row, per token: (start, end) in the sentence, or None


@dataclass(frozen=True)
class PairTokenizer:
    """The model's tokenizer twice: for pairs (the sentence truncated first) and for questions alone."""

    pairs: Any
    words: Any


def configure(tokenizer: Any, max_tokens: int = READ_TOKENS) -> PairTokenizer:
    """A `tokenizers.Tokenizer` set up for pairs of at most `max_tokens`: no padding, the sentence
    truncated first."""
    from tokenizers import Tokenizer

    words = Tokenizer.from_str(tokenizer.to_str())
    words.no_padding()
    words.no_truncation()
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens, strategy="only_second")
    return PairTokenizer(tokenizer, words)


def _short_question(tokenizer: PairTokenizer, question: str) -> str:
    encoding = tokenizer.words.encode(question, add_special_tokens=False)
    if len(encoding.ids) <= MAX_QUESTION_TOKENS:
        return question
    return question[: encoding.offsets[MAX_QUESTION_TOKENS - 1][1]]


CONTEXT_LOOKBACK = 3  # units looked back for the previous one that is not a heading


def context_of(
    title: str,
    before: Sequence[tuple[str, str | None]],
    kind: str | None = None,
    section: Sequence[str] = (),
    prose: bool = True,
    sections: bool = False,
) -> str:
    """What a candidate is read with. Prose (`prose`): its document's title and the nearest unit before it
    that is not a heading (`before`: (text, kind) of the units before it in its document, nearest first; a
    heading is skipped because docs headings are the questions training asks). A previous unit that is the
    title itself, a .txt file's first line, is not repeated. A unit of a structured document (Markdown,
    reST: it has a `kind`) is never read with its previous unit (the docs sets got worse that way,
    docs/benchmarks.md, stop 22); with `sections`, it is read with its page title and section path
    ("Query Parameters › Optional parameters"), which tells apart the many like code blocks of a manual."""
    if kind is not None:
        return section_path(title, section) if sections else ""
    if not prose:
        return ""
    previous = next((t for t, kind in before[:CONTEXT_LOOKBACK] if kind != HEADING), "")
    title, previous = title.strip(), previous.strip()
    if previous == title:
        previous = ""
    return CONTEXT_SEP.join(p for p in (title, previous) if p)


def encode_pairs(
    tokenizer: PairTokenizer,
    question: str,
    sentences: Sequence[str],
    contexts: Sequence[str] | None = None,
) -> Pairs:
    """Encode `question` with each of `sentences` (a `configure`d tokenizer), padded to the longest; with
    `contexts` (one a sentence), each sentence is followed by its context (see CONTEXT_SEP). Offsets cover
    the sentence's word pieces only, so an answer span is always inside the sentence."""
    question = _short_question(tokenizer, question)
    if contexts is None:
        seconds = list(sentences)
    else:
        seconds = [s + CONTEXT_SEP + c if c else s for s, c in zip(sentences, contexts, strict=True)]
    encodings = tokenizer.pairs.encode_batch([(question, s) for s in seconds])
    width = max((len(e.ids) for e in encodings), default=0)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    offsets: list[list[tuple[int, int] | None]] = []
    for row, e in enumerate(encodings):
        n = len(e.ids)
        size = len(sentences[row])
        own = [seq == 1 and o[0] < size for o, seq in zip(e.offsets, e.sequence_ids, strict=True)]
        ids[row, :n], mask[row, :n] = e.ids, e.attention_mask
        # the sentence and the [SEP] after it read as in a plain pair (type 1); the context as type 0
        context = [
            seq == 1 and o[0] >= size + len(CONTEXT_SEP)
            for o, seq in zip(e.offsets, e.sequence_ids, strict=True)
        ]
        types[row, :n] = [0 if c else t for t, c in zip(e.type_ids, context, strict=True)]
        offsets.append([o if keep else None for o, keep in zip(e.offsets, own, strict=True)])
    return Pairs(ids, mask, types, offsets)


def token_span(offsets: Sequence[tuple[int, int] | None], start: int, end: int) -> tuple[int, int] | None:
    """The first and last word piece covering characters [start, end) of the sentence, if it was kept."""
    first = last = None
    for i, o in enumerate(offsets):
        if o is None or o[1] <= start or o[0] >= end:
            continue
        first = i if first is None else first
        last = i
    return None if first is None or last is None else (first, last)


def best_span(
    start_logits: np.ndarray, end_logits: np.ndarray, offsets: Sequence[tuple[int, int] | None]
) -> tuple[int, int, float]:
    """The character span (in the sentence) with the highest start + end logit, and that logit."""
    valid = np.array([o is not None for o in offsets[: len(start_logits)]])
    if not valid.any():
        return 0, 0, float("-inf")
    s = np.where(valid, start_logits[: len(valid)], -np.inf)
    e = np.where(valid, end_logits[: len(valid)], -np.inf)
    scores = s[:, None] + e[None, :]
    n = len(valid)
    # only end >= start, and at most MAX_ANSWER_TOKENS long
    allowed = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(np.ones((n, n), dtype=bool), MAX_ANSWER_TOKENS)
    scores = np.where(allowed, scores, -np.inf)
    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    first, last = offsets[int(i)], offsets[int(j)]
    assert first is not None and last is not None
    return first[0], last[1], float(scores[i, j])


@dataclass(frozen=True)
class Reading:
    """What the reader makes of one sentence for one question."""

    relevance: float  # logit that the sentence answers the question
    answer: tuple[int, int] | None  # the answer's characters in the sentence (None: nothing readable)
    answer_score: float = 0.0  # the span's start + end logit: how answer-like the best span is


WEIGHTS_DIR = Path(__file__).parent / "weights"
CONFIG_FILE = "reader.json"


class ReaderMissing(ModelError):
    """No reader model where one was expected."""


@dataclass(frozen=True)
class ReaderConfig:
    """How the reader's output is used, fitted on SQuAD train (`training/fit.py`, `training/calibrate.py`)
    and shipped beside the weights in reader.json."""

    depth: int  # how many of the scorer's best candidates the reader reads
    reader_weight: float  # the final score: a weighted sum of the reader's logit,
    scorer_weight: float  # the linear scorer's score,
    rank_weight: float  # and 1 / (1 + the scorer's rank)
    slope: float  # confidence = sigmoid(slope * final score + intercept)
    intercept: float
    answer_at: float  # confidence from which an answer is given
    close_at: float  # confidence from which declined passages are still shown as "closest"
    span_weight: float = 0.0  # weight of the answer span's score in the confidence
    context: bool = False  # the model reads each prose candidate with its context (CONTEXT_SEP)
    sections: bool = False  # and each unit of a structured document with its section path (context_of)
    # A quote is less likely the answer when another candidate scores nearly as well (the reader is
    # unsure between them), and more likely when the question is close in meaning to its chunk (the
    # embedding sees past other words). Both fitted by training/calibrate.py; 0 leaves them out.
    rival_weight: float = 0.0  # weight of the best other candidate's final score
    chunk_weight: float = 0.0  # weight of the question's cosine with the quote's chunk
    # Those two were fitted on prose; a unit of a structured document (Markdown, reST: a code block, a
    # sentence with the block it introduces) gets a map from its final score alone (None: the same map as
    # prose). Fitted on documentation questions (`training/docs_confidence.py`), that map is flatter than
    # prose's: the same score is right less often in docs. Docs quotes are answered at the same
    # probability as prose (the structured thresholds None); a reader may still ship its own.
    structured_slope: float | None = None
    structured_intercept: float | None = None
    structured_answer_at: float | None = None
    structured_close_at: float | None = None

    @property
    def reads_context(self) -> bool:
        return self.context or self.sections

    def combine(self, relevance: float, scorer: float, rank: int) -> float:
        return self.reader_weight * relevance + self.scorer_weight * scorer + self.rank_weight / (1 + rank)

    def floors(self, structured: bool = False) -> tuple[float, float]:
        """(answer from, show as closest from) for a quote of a structured document or of prose."""
        if structured and self.structured_answer_at is not None and self.structured_close_at is not None:
            return self.structured_answer_at, self.structured_close_at
        return self.answer_at, self.close_at

    def confidence(
        self,
        combined: float,
        answer_score: float = 0.0,
        rival: float = 0.0,
        chunk: float = 0.0,
        structured: bool = False,
    ) -> float:
        if structured and self.structured_slope is not None and self.structured_intercept is not None:
            z = self.structured_slope * combined + self.structured_intercept
        else:
            z = (
                self.slope * combined
                + self.span_weight * answer_score
                + self.rival_weight * rival
                + self.chunk_weight * chunk
                + self.intercept
            )
        return float(1 / (1 + np.exp(-z)))


def load_config(model_dir: Path) -> ReaderConfig:
    try:
        data = json.loads((model_dir / CONFIG_FILE).read_text())
        return ReaderConfig(**data["config"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        advice = "; reinstall qabot to get its packaged weights" if model_dir == WEIGHTS_DIR else ""
        raise ReaderMissing(f"no usable reader in {model_dir} ({exc}){advice}") from None


class OnnxReader:
    """The shipped reader on onnxruntime; the session is loaded on the first `read`."""

    def __init__(self, model_dir: Path = WEIGHTS_DIR, threads: int = 2) -> None:
        from tokenizers import Tokenizer

        self.config = load_config(model_dir)
        self.model_path = model_dir / "reader.onnx"
        self._tokenizer = configure(Tokenizer.from_file(str(model_dir / "reader-tokenizer.json")))
        self._session: Any = None
        self._pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="reader")  # threads start on use

    def read(
        self, question: str, sentences: Sequence[str], contexts: Sequence[str] | None = None
    ) -> list[Reading]:
        """One reading per sentence, in order; `contexts` (one a sentence, see `context_of`) are read only
        by a reader trained with them (`config.reads_context`).

        Each pair runs alone, unpadded, one pair per worker thread. In one padded batch, the int8 model's
        activation scales came from the whole batch, so a sentence's logit moved with its batch mates (by
        up to ~1.2), and padding cost time: this way takes 0.6-0.7 x as long as one padded batch on the
        same two threads (`python -m benchmarks.reader`)."""
        if not sentences:
            return []
        if self._session is None:
            self._session = session(self.model_path, 1)
        pairs = encode_pairs(
            self._tokenizer, question, sentences, contexts if self.config.reads_context else None
        )
        lengths = pairs.attention_mask.sum(axis=1)

        def run(row: int) -> list[np.ndarray]:
            n = int(lengths[row])
            feed = {
                "input_ids": pairs.input_ids[row : row + 1, :n],
                "attention_mask": pairs.attention_mask[row : row + 1, :n],
                "token_type_ids": pairs.token_type_ids[row : row + 1, :n],
            }
            return [a[0] for a in self._session.run(None, feed)]

        # longest first, so the workers finish together
        order = sorted(range(len(sentences)), key=lambda row: -lengths[row])
        results = dict(zip(order, self._pool.map(run, order), strict=True))
        out = []
        for row, offsets in enumerate(pairs.offsets):
            relevance, start, end = results[row]
            s, e, score = best_span(start, end, offsets)
            s, e = whole_words(sentences[row], s, e)
            found = e > s and np.isfinite(score)
            out.append(Reading(float(relevance), (s, e) if found else None, score if found else 0.0))
        return out


def whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) widened to whole words: a span may begin or end inside a word piece's word
    ("##yumri" of "Gyumri"), and half a word is no answer."""
    while 0 < start < len(text) and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while 0 < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end
