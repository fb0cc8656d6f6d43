"""Ranking evidence that only documentation has: unit kinds, section paths, changelogs.

The scorer (qabot.scoring) was fitted on prose, where every unit is a sentence. In Markdown and reST
documents a unit may be a bare heading or a code block nobody introduced, which match a question's
words without answering it; the headings above a sentence say what it is about ("Logging" above "Set
the level with --log-level"); and a changelog repeats, one line per release, the names the reference
pages explain, in a file of its own or under a page's own "History" heading. Each adjustment here was
measured on the FastAPI docs question set and the news sets (docs/benchmarks.md, "Documentation"; the
changelog sections inside a page on six READMEs, "Stop 35"); a unit of a .txt or .jsonl corpus gets none
of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from qabot import markup, text
from qabot.words import content_words, stems

# Added to the linear score (whose weights sum to ~18 on a perfect match; 8.62 is the abstention line).
WEIGHTS = {
    "code_alone": -1.5,  # a code block, table or include line that no sentence introduces
    "section": 2.0,  # share of the question's rarity-weighted words found only in the section path
    # a changelog line: 1 for a question that is not about versions or changes, -1 for one that is
    "changelog": -2.0,
    "intro": 1.0,  # a sentence with the code, list or table it introduces
    "code": 2.0,  # the unit names code (`identifier`, a code block) that the question does not
    "follows": 2.0,  # cosine of the question and the unit before (which may set up what this one answers)
}
_RELEASE_NOTES = r"(?:release[-_ ]?notes|change[-_ ]?log|changes|news|history|what'?s[-_ ]new)"
_CHANGELOG = re.compile(rf"(?:^|[-_ ]){_RELEASE_NOTES}$", re.I)  # a file's stem or title ends with it
# a whole heading that starts a changelog inside a page (a PyPI README often ends with its release history)
_CHANGELOG_HEADING = re.compile(rf"(?:(?:release|version|change) )?{_RELEASE_NOTES}", re.I)
# a release's own heading: "0.10.3", "[0.10.4] - 2020-01-17", "v2.0.0 (2024-05-01)", "Version 3.1"; not
# "2.0 Migration Guide" (free words after the number need a dash, colon or brackets)
_RELEASE_HEADING = re.compile(
    r"\[?(?:v|version\s+)?\d+(?:\.\d+)+[\w.+-]*\]?(?:\s*[-\u2013\u2014:]\s*[\w ,./-]*|\s*\([\w ,./-]*\))?",
    re.I,
)
_ABOUT_VERSIONS = re.compile(
    r"\b(?:versions?|releases?|released|changelog|release notes|changes|changed|added|introduced|"
    r"removed|dropped|since when|upgrad\w*|\d+\.\d+(?:\.\d+)?)\b",
    re.IGNORECASE,
)
_STANDALONE = {markup.CODE, markup.TABLE, markup.INCLUDE, markup.HTML}


@dataclass(frozen=True)
class Place:
    """Where a unit sits: its kind, section path, and whether its document is a changelog."""

    kind: str
    section: tuple[str, ...]
    changelog: bool


def quotable(place: Place | None) -> bool:
    """A heading alone is never an answer (it stays a unit: chunks hold it, and it is a quote's context)."""
    return place is None or place.kind != markup.HEADING


def is_changelog(path: str, title: str, syntax: str) -> bool:
    """Release notes by name: CHANGELOG.md, release-notes.md, HISTORY.rst, a "Release Notes" title (in a
    Markdown or reST document: `syntax`)."""
    stem = PurePosixPath(path).stem
    return markup.structured(syntax) and bool(_CHANGELOG.search(stem) or _CHANGELOG.search(title.strip()))


def changelog_section(section: tuple[str, ...]) -> bool:
    """Release notes by their headings: a unit under "History", "Changelog" or a release's number."""
    return any(
        _CHANGELOG_HEADING.fullmatch(h.strip()) or _RELEASE_HEADING.fullmatch(h.strip()) for h in section
    )


def about_versions(question: str) -> bool:
    """Whether a question asks about versions, releases or changes (then changelogs are fair answers)."""
    return bool(_ABOUT_VERSIONS.search(question))


def features(
    place: Place | None,
    sentence: str,
    idf: Mapping[str, float],
    versions: bool,
    question_words: frozenset[str] = frozenset(),
    before: float = 0.0,
) -> dict[str, float]:
    """The documentation features of one candidate (empty for a plain sentence of unstructured text);
    `before` is the cosine of the question and the unit before this one in its document."""
    if place is None:
        return {}
    return {
        "code": float(new_code(sentence, question_words)),
        "follows": before,
        "code_alone": float(place.kind in _STANDALONE),
        "section": section_gain(place.section, sentence, idf),
        "changelog": (-1.0 if versions else 1.0) if place.changelog else 0.0,
        "intro": float(place.kind == text.INTRO),
    }


def structured(candidate_features: Mapping[str, float]) -> bool:
    """Whether a candidate is a unit of a structured document: only those have the features above."""
    return "intro" in candidate_features


_FENCED = re.compile(r"^[ \t]*(?:```|~~~)[^\n]*\n(.*?)(?:^[ \t]*(?:```|~~~)|\Z)", re.DOTALL | re.MULTILINE)
_INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_INDENTED_OR_INCLUDE = re.compile(r"^(?:    |\t|\{\*)(.*)$", re.MULTILINE)


def new_code(unit: str, question_words: frozenset[str]) -> bool:
    """Whether the unit shows code (an inline `identifier`, a code block, an include) with a word the
    question does not have: in documentation the answer to "how do I …" is usually a name or a command."""
    code = [
        m.group(1)
        for pattern in (_FENCED, _INLINE_CODE, _INDENTED_OR_INCLUDE)
        for m in pattern.finditer(unit)
    ]
    return any(w not in question_words for piece in code for w in content_words(piece))


def section_gain(section: tuple[str, ...], sentence: str, idf: Mapping[str, float]) -> float:
    """The rarity-weighted share of the question's words that the section path holds and the unit
    does not: what the headings add as evidence."""
    total = sum(idf.values())
    if not section or not total:
        return 0.0
    in_sentence = set(stems(content_words(sentence)))
    in_section = set(stems(content_words(" ".join(section)))) - in_sentence
    return sum(v for t, v in idf.items() if t in in_section) / total


def adjustment(values: Mapping[str, float], weights: Mapping[str, float] | None = None) -> float:
    w = WEIGHTS if weights is None else weights
    return sum(w[name] * values.get(name, 0.0) for name in w)
