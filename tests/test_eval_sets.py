"""The question sets under eval/ stay checkable: each answer is text of the document it names, so a set
that drifts from its corpus (a page renamed, an answer mistyped) fails here rather than as a lower score."""

import json
from functools import cache
from pathlib import Path

import pytest

from qabot.extract import extract

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT / "corpus"
SETS = {  # set -> its corpus folder
    **{name: NEWS for name in ("seed", "heldout", "paraphrase", "fresh", "blind", "blind2", "blind3")},
    "click": ROOT / "eval/corpora/click/docs",
    "structlog": ROOT / "eval/corpora/structlog/docs",
    "nodejs": ROOT / "eval/corpora/nodejs/docs",
    "rq": ROOT / "eval/corpora/rq/docs",
    "readmes": ROOT / "eval/corpora/readmes/docs",
    "libffi": ROOT / "eval/corpora/libffi/docs",
    "valgrind": ROOT / "eval/corpora/valgrind/docs",
    "rstdocs": ROOT / "eval/corpora/rstdocs/docs",
    "psycopg2": ROOT / "eval/corpora/psycopg2/docs",
    "starlette": ROOT / "eval/corpora/starlette/docs",
    "cmake": ROOT / "eval/corpora/cmake/docs",
    "npm": ROOT / "eval/corpora/npm/docs",
    "git": ROOT / "eval/corpora/git/docs",
    "statsmodels": ROOT / "eval/corpora/statsmodels/docs",
    "cryptography": ROOT / "eval/corpora/cryptography/docs",
    "sdl": ROOT / "eval/corpora/sdl/docs",
    **{name: ROOT / f"eval/corpora/{name}/docs" for name in ("plaintext", "plaintext2", "specs", "specs2")},
    "fastapi": ROOT.parent / "shared/data/fastapi-docs",
}


@cache  # a PDF takes seconds to extract, and a set asks about each page many times
def page_text(corpus: Path, source: str) -> str:
    """The text qabot indexes for a page: the file's own, or what is extracted from an HTML page, a PDF or a
    notebook."""
    suffixes = (".md", ".rst", ".txt", ".html", ".pdf", ".ipynb", "")
    found = [p for p in (corpus / f"{source}{suffix}" for suffix in suffixes) if p.is_file()]
    assert found, f"no page {source} in {corpus}"
    if found[0].suffix in (".html", ".pdf", ".ipynb"):
        return extract(found[0])[0]
    return found[0].read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_answer_is_text_of_its_page(name: str) -> None:
    corpus = SETS[name]
    if not corpus.is_dir():
        pytest.skip(f"{corpus} is not on this machine")
    lines = (ROOT / f"eval/{name}_questions.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line]
    assert len({r["id"] for r in rows}) == len(rows)
    answerable = [r for r in rows if r["answers"]]
    assert answerable and len(answerable) < len(rows)  # both kinds, so declining is measured too
    for row in rows:
        assert row["question"].strip()
        if not row["answers"] and not row.get("source"):
            continue  # an unanswerable question need not name a page
        text = " ".join(page_text(corpus, row["source"]).split())  # an answer may run over a line break
        missing = [a for a in row["answers"] if " ".join(a.split()) not in text]
        assert not missing, (row["id"], missing)
