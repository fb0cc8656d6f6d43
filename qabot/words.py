"""Words as qabot counts them: content words, Porter stems, and the index's keyword tokens.

The lowest module of the answer path: retrieval, scoring and BM25 all read words through it.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import snowballstemmer

# Function words carry no evidence; dropping them keeps FTS5 OR-queries small and overlap scores honest.
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves
    """.split()
)
_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"[^\W_]+")  # unicode61 separates at everything but letters and digits, "_" included


def content_words(text: str) -> list[str]:
    """Lower-cased words of `text`, in order, without stopwords."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


_STEMMER = snowballstemmer.stemmer("porter")  # the algorithm of SQLite FTS5's porter tokenizer
# The stemmer keeps the word it is stemming in its own fields, so two threads stemming at once (the bot
# answers two questions at a time) mixed their words up: IndexError, or another word's stem, which
# lru_cache then kept for the life of the process.
_STEMMER_LOCK = threading.Lock()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    with _STEMMER_LOCK:
        return str(_STEMMER.stemWord(word))


def stems(words: Sequence[str]) -> list[str]:
    return [stem(w) for w in words]


@lru_cache(maxsize=200_000)
def token(word: str) -> str:
    """One lower-cased word as the index's FTS5 tokenizer ('porter unicode61 remove_diacritics 2') stores
    it: diacritics removed, Porter-stemmed when 3 to 64 characters long."""
    if not word.isascii():
        word = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    return stem(word) if 3 <= len(word) <= 64 else word  # FTS5's porter leaves other lengths alone


def tokens(text: str) -> list[str]:
    """The index's tokens of `text`: runs of letters and digits, lower-cased, as `token`."""
    return [token(w) for w in _TOKEN.findall(text.lower())]
