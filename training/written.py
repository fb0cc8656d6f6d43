"""Reader examples from questions written by hand in people's words.

    python -m training.written --out runs/reader/written.jsonl.gz      # --questions: WRITTEN, in order

SQuAD's crowd wrote its questions looking at the paragraph, so most share their words with the sentence
that answers them; people asking qabot mostly have not read it. Helpers (who never ran qabot) wrote
questions about some "train" articles the way someone who skimmed them asks, each with its gold answers
and the article's answering sentence, both verbatim. One group a question: the index's sentence holding
the first gold answer inside that answering sentence (the positive, with the answer's span), and the
three sentences qabot's scorer ranks highest over the whole index that hold no gold answer (negatives),
as `training/prepare.py` mines SQuAD's. Questions the article does not answer bring no group, nor do
questions about the "fit" articles (calibration's; four of them were written about before stop 31). Used by
`training.train --extra`.

    python -m training.written --docs runs/docs/index --questions training/written_docs_questions*.jsonl \
        --out runs/reader/written-docs.jsonl.gz

With `--docs INDEX` the questions are about pages of a documentation index (`training.docs` builds one of
many projects' docs, none of them FastAPI's or an eval set's) and their "sentence" is any verbatim
snippet of the page (a sentence, a line of code): the positive is the unit the index quotes (a paragraph,
a sentence with the code block it introduces, a block) holding the first gold answer inside the snippet.
A quarter of the pages (a stable draw, `held`) bring no group: their questions, answerable and not, are a
docs set to measure with (`--held-out FILE` writes them; `training/pipeline.sh` measures it as
`docs_held`).

`--near N`: each group also brings a group without its answer, the N units of its own page (or article)
the scorer ranks highest less the chunks holding a gold answer (`training.calibrate.near`), as SQuAD's
`--near-share` groups come from their own article: what an on-topic question a project's docs do not
answer meets is that project's pages, and the reader is to learn that they must score low in absolute
terms (FastAPI's and Click's unanswerable questions were declined less as the docs reading improved).
`--unanswered` (with `--near N`): the on-topic questions a page does not answer, which the helpers wrote
beside the answerable ones, bring a group of their own, with no positive: the page's N units the scorer
ranks highest, whose listwise target is "none of these" (`training.train` reads only that group). Both
apply to questions in people's words about SQuAD articles too (stop 31): a paraphrase whose article does
not answer it is what the seed sets' on-topic unanswerable questions are, and SQuAD's own near groups
share their questions' words.
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from itertools import islice
from pathlib import Path
from typing import Any

from qabot import markup
from qabot.answer import Answerer
from qabot.config import Settings
from qabot.evaluate import contains_answer
from qabot.store import Scope, SentenceRow, open_index
from training.calibrate import near
from training.examples import HARD, Corpus, Example, share
from training.measure import project
from training.prepare import split_of

HELD_SHARE = 0.25  # of the documentation pages: measured on, never trained on


# the people's-words questions, in the order they were written (two files: each under git's size limit)
WRITTEN = (Path("training/written_questions.jsonl"), Path("training/written_questions_2.jsonl"))
# the docs questions likewise (the first file alone is what written-docs-19 and docs-held-17 were built from)
DOCS_WRITTEN = (
    Path("training/written_docs_questions.jsonl"),
    Path("training/written_docs_questions_2.jsonl"),
)


def held(page: str) -> bool:
    return share(f"held:{page}") < HELD_SHARE


def trainable(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The questions about "train" articles: calibration and the final combination are fitted on the "fit"
    articles' questions (training/prepare.py), so a reader that has read those articles' sentences with
    written questions would look surer of them there than on articles it never saw."""
    return [i for i in items if split_of(i["source"]) == "train"]


def positive(item: dict[str, Any], corpus: Corpus) -> tuple[int, int, int, int] | None:
    """The index sentence holding the first gold answer where the helper's sentence has it, and the
    answer's characters: (sentence start, end, answer start, end) in the article, or None."""
    text = corpus.text(item["source"])
    at = text.find(item["sentence"])
    if at < 0:
        return None
    answer = item["answers"][0]
    found = text.find(answer, at, at + len(item["sentence"]))
    if found < 0:
        return None
    span = corpus.holder(item["source"], found, found + len(answer))
    return None if span is None else (*span, found, found + len(answer))


def hard_negatives(
    answerer: Answerer,
    question: str,
    answers: Sequence[str],
    is_positive: Callable[[SentenceRow], bool],
    scope: Scope | None = None,
) -> list[SentenceRow] | None:
    """The scorer's best `HARD` candidates for the question (within `scope`) that hold no gold answer and
    are not the positive, best first; None when there are fewer."""
    candidates, _ = answerer.candidates(question, scope)
    kept = (
        c.sentence
        for c in candidates
        if not is_positive(c.sentence) and not contains_answer(answerer.sentence_text(c.sentence), answers)
    )
    rows = list(islice(kept, HARD))
    return rows if len(rows) == HARD else None


def example(item: dict[str, Any], corpus: Corpus, answerer: Answerer, near_n: int = 0) -> Example | None:
    """A group from a question about a SQuAD article (see `positive` and `hard_negatives`); with `near_n`,
    also that many of its article's sentences outside the answer's chunks as a group without the answer."""
    place = positive(item, corpus)
    if place is None:
        return None
    start, end, a_start, a_end = place
    doc, answers = item["source"], tuple(item["answers"])
    index = answerer.index

    def is_positive(s: SentenceRow) -> bool:
        return s.start == start and index.document(s.doc).id == doc

    rows = hard_negatives(answerer, item["question"], answers, is_positive)
    if rows is None:
        return None

    def contexts(units: Sequence[SentenceRow]) -> tuple[str, ...]:
        return tuple(corpus.context(index.document(s.doc).id, s.start) for s in units)

    absent = near_units(answerer, item, -1, near_n) if near_n else []  # the positive's chunk is left out
    return Example(
        item["id"],
        item["question"],
        answers,
        corpus.text(doc)[start:end],
        (a_start - start, a_end - start),
        tuple(answerer.sentence_text(s) for s in rows),
        absent=tuple(answerer.sentence_text(s) for s in absent),
        contexts=(corpus.context(doc, start), *contexts(rows)),
        absent_contexts=contexts(absent),
    )


def unit_holding(item: dict[str, Any], answerer: Answerer) -> tuple[SentenceRow, int, int] | None:
    """The unit of the item's page holding the first gold answer where the helper's snippet has it, and
    the answer's characters in the page; None when the snippet or the answer is not there, or only a
    heading holds it (headings are never quoted)."""
    index = answerer.index
    found = index.db.execute("SELECT rowid, text FROM documents WHERE id = ?", (item["source"],)).fetchone()
    if found is None:
        return None
    row, text = found
    at = text.find(item["sentence"])
    answer = item["answers"][0]
    a_start = text.find(answer, at, at + len(item["sentence"])) if at >= 0 else -1
    if a_start < 0:
        return None
    a_end = a_start + len(answer)
    rows = index.db.execute(
        "SELECT rowid, doc, start, end FROM sentences WHERE doc = ? AND start <= ? AND end >= ?",
        (row, a_start, a_end),
    ).fetchall()
    units = index.units([r[0] for r in rows])
    for r in rows:
        unit = units.get(r[0])
        if unit is None or unit.kind != markup.HEADING:
            return SentenceRow(*r), a_start, a_end
    return None


def near_units(answerer: Answerer, item: dict[str, Any], positive_id: int, n: int) -> list[SentenceRow]:
    """The scorer's best `n` units of the item's page outside the chunks holding a gold answer (fewer
    when the page has fewer), none of them the positive (so none holds a gold answer either)."""
    scope = near(answerer.index, item["source"], item["answers"])
    if not len(scope.chunks):
        return []
    candidates, _ = answerer.candidates(item["question"], scope)
    # FTS5 narrows a scope by document only, so keyword hits may bring the answer's chunks back
    ranges = [(c.first, c.last) for c in answerer.index.chunks(scope.chunks.tolist())]
    kept = (
        c.sentence
        for c in candidates
        if c.sentence.id != positive_id and any(a <= c.sentence.id <= b for a, b in ranges)
    )
    return list(islice(kept, n))


def docs_example(item: dict[str, Any], answerer: Answerer, near_n: int = 0) -> Example | None:
    """A group from a question about a documentation page: the unit quoting the answer, and the three
    units of its project that qabot's scorer ranks highest and that hold no gold answer; with `near_n`,
    also that many of its page's units outside the answer's chunks as a group without the answer.

    Negatives come from the page's own project because that is where the question is asked (a project's
    docs bot, `training.measure --within-project`): over the whole index, 31 % of them were other
    projects' units (stop 45, 150 questions), which no served list holds and some of which answer the
    question for that other project ("retry with backoff" in huey's docs for a celery question)."""
    place = unit_holding(item, answerer)
    if place is None:
        return None
    row, a_start, a_end = place
    answers = tuple(item["answers"])
    name = project(item["source"])
    scope = answerer.index.scope(sources=(name,)) if name else None
    rows = hard_negatives(answerer, item["question"], answers, lambda s: s.id == row.id, scope)
    if rows is None:
        return None
    absent = near_units(answerer, item, row.id, near_n) if near_n else []
    return Example(
        item["id"],
        item["question"],
        answers,
        answerer.sentence_text(row),
        (a_start - row.start, a_end - row.start),
        tuple(answerer.sentence_text(s) for s in rows),
        absent=tuple(answerer.sentence_text(s) for s in absent),
        contexts=tuple(answerer.contexts([row, *rows])),
        absent_contexts=tuple(answerer.contexts(absent)) if absent else (),
        sections=tuple(answerer.contexts([row, *rows], prose=False, sections=True)),
        absent_sections=tuple(answerer.contexts(absent, prose=False, sections=True)) if absent else (),
    )


def unanswered_example(item: dict[str, Any], answerer: Answerer, n: int) -> Example | None:
    """A question its page does not answer: no positive, and a group without the answer of the page's `n`
    units the scorer ranks highest (None when the page has none)."""
    units = near_units(answerer, item, -1, n)  # without answers, no chunk of the page is left out
    if not units:
        return None
    return Example(
        item["id"],
        item["question"],
        (),
        "",
        (0, 0),
        (),
        absent=tuple(answerer.sentence_text(s) for s in units),
        absent_contexts=tuple(answerer.contexts(units)),
        absent_sections=tuple(answerer.contexts(units, prose=False, sections=True)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("runs/reader/data"))
    parser.add_argument("--questions", type=Path, nargs="+", default=list(WRITTEN))
    parser.add_argument("--out", type=Path, default=Path("runs/reader/written.jsonl.gz"))
    parser.add_argument(
        "--docs", type=Path, help="A documentation index the questions are about (instead of --data's)."
    )
    parser.add_argument(
        "--held-out", type=Path, help="With --docs: write the held pages' questions here (eval format)."
    )
    parser.add_argument(
        "--near",
        type=int,
        default=0,
        metavar="N",
        help="Each question also brings a group without its answer: N units of its page or article.",
    )
    parser.add_argument(
        "--unanswered",
        action="store_true",
        help="With --near: a question its page or article does not answer brings such a group alone.",
    )
    args = parser.parse_args()
    if args.unanswered and not args.near:
        parser.error("--unanswered needs --near N (how many of the page's units make its group)")
    corpus = None if args.docs else Corpus(args.data)
    index = open_index(Settings(index_dir=args.docs or args.data / "index"), verify=False)
    answerer = Answerer(index, mode="scorer")
    items = [
        json.loads(line) for path in args.questions for line in path.read_text("utf-8").splitlines() if line
    ]
    if args.docs:
        held_items = [i for i in items if held(i["source"])]
        items = [i for i in items if not held(i["source"])]
        if args.held_out:
            args.held_out.write_text("".join(json.dumps(i) + "\n" for i in held_items), encoding="utf-8")
            pages = len({i["source"] for i in held_items})
            print(f"{len(held_items)} questions of {pages} held pages", flush=True)
    else:
        kept = trainable(items)
        if len(kept) < len(items):
            print(f'{len(items) - len(kept)} questions about "fit" articles left out', flush=True)
        items = kept
    groups, skipped, unanswered = [], 0, 0
    for item in items:
        if not item["answers"]:
            lone = unanswered_example(item, answerer, args.near) if args.unanswered else None
            if lone is not None:
                groups.append(lone)
                unanswered += 1
            continue
        ex = example(item, corpus, answerer, args.near) if corpus else docs_example(item, answerer, args.near)
        if ex is None:
            skipped += 1
        else:
            groups.append(ex)
    partial = args.out.with_name(args.out.name + ".partial")
    with gzip.open(partial, "wt", encoding="utf-8") as sink:
        for ex in groups:
            sink.write(json.dumps(asdict(ex)) + "\n")
    partial.replace(args.out)  # whole or absent: runs/data*.sh skip a groups file that exists
    print(
        f"{len(groups)} groups ({unanswered} of unanswered questions), "
        f"{skipped} answerable questions without one",
        flush=True,
    )


if __name__ == "__main__":
    main()
