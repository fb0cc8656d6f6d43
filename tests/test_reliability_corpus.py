"""Reliability of loading: bad files are reported once, by name, and skipped; odd text stays verbatim."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from hypothesis import example, given, settings
from hypothesis import strategies as st

from qabot import store
from qabot.answer import Answerer
from qabot.cli import main
from qabot.config import Settings
from qabot.corpus import load_corpus, text_document
from qabot.models.encoder import OnnxEncoder
from qabot.text import MAX_SENTENCE_CHARS, segment

from .conftest import SEED_CORPUS
from .test_text import assert_layout_only_lost

# Files a real folder collects, each of which must be skipped and reported once, by name.
BAD_FILES: dict[str, bytes] = {
    "binary.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
    "photo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "latin1.txt": "Le café crème coûte très cher à Gyumri.".encode("latin-1"),
    "notes/cp1251.txt": "Российская военная база находится в Гюмри.".encode("cp1251"),
    "empty.txt": b"",
    "blank.md": b"  \n\t\n\n",
    "front-matter-only.md": b"---\ntitle: Nothing here\ndate: 2024-01-01\n---\n\n",
}
RECORDS = [
    json.dumps({"_id": "rec-1", "title": "A record", "text": "The depot at Meghri stores spare tyres."}),
    '{"_id": "rec-2", "text": "unterminated',
    json.dumps({"_id": "rec-3", "text": "   "}),
]
EXPECTED_PROBLEMS = {
    "binary.txt": "binary file",
    "photo.png": "unsupported file type",
    "latin1.txt": "not UTF-8",
    "notes/cp1251.txt": "not UTF-8",
    "empty.txt": "empty file",
    "blank.md": "empty file",
    "front-matter-only.md": "empty file",
    "records.jsonl:2": "invalid JSON",
    "records.jsonl:3": "empty text",
}
# Invisible characters inside sentences: zero-width space, joiner and non-joiner, word joiner, soft
# hyphen, left-to-right and right-to-left marks, an RTL override and its pop, an isolate, a stray BOM.
INVISIBLE = (
    "Lighthouse Notes\n\n"
    "The Zvartnots\u200b lighthouse keeper feeds seventeen\u200d cats every morning. "
    "His assistant\u200c counts the gulls\u2060 at noon and writes a re\u00adport. "
    "\u200fThe harbour\u200e log is kept in \u202eHebrew\u202c and \u2066Armenian\u2069 script. "
    "\ufeffNobody has ever seen the keeper's boat leave the quay.\n"
)
LONG_LINE = " ".join(["the quiet harbour keeps its grey boats under a wide and patient sky"] * 300) + "\n"
INVISIBLE_QUESTION = "How many cats does the lighthouse keeper feed?"
DUPLICATED = "armenia-invites-more-russian-troops.txt"


def cli(settings: Settings, *args: str) -> Result:
    options = ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]
    return CliRunner().invoke(main, [args[0], *options, *args[1:]])


def write_odd_corpus(corpus: Path) -> None:
    for name, data in BAD_FILES.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_bytes(data)
    (corpus / "records.jsonl").write_text("\n".join(RECORDS) + "\n", encoding="utf-8")
    (corpus / "invisible.txt").write_text(INVISIBLE, encoding="utf-8")
    (corpus / "long-line.txt").write_text(LONG_LINE, encoding="utf-8")
    shutil.copy(corpus / DUPLICATED, corpus / "syndicated-copy.txt")


@pytest.fixture(scope="module")
def odd(seed_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Result]:
    """One seed article plus every bad and odd file above, indexed once through `qabot index`."""
    root = tmp_path_factory.mktemp("odd-corpus")
    (root / "corpus").mkdir()
    shutil.copy(SEED_CORPUS / DUPLICATED, root / "corpus" / DUPLICATED)
    shutil.copytree(seed_settings.index_dir / "models", root / "index" / "models")
    write_odd_corpus(root / "corpus")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    return settings, cli(settings, "index")


def test_build_completes_and_each_bad_file_is_reported_once_by_name(odd: tuple[Settings, Result]) -> None:
    _, result = odd
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.output.splitlines() if line.startswith("skipped ")]
    named = Counter(line.removeprefix("skipped ").split(": ", 1)[0] for line in skipped)
    assert named == Counter(list(EXPECTED_PROBLEMS))
    for line in skipped:
        path, reason = line.removeprefix("skipped ").split(": ", 1)
        assert EXPECTED_PROBLEMS[path] in reason
    # the seed article, its syndicated copy, invisible, long line and the one good record
    assert (
        "Indexed 5 documents" in result.output and f"{len(EXPECTED_PROBLEMS)} files skipped" in result.output
    )
    assert "Traceback" not in result.output


def test_store_build_reports_the_same_problems_once(odd: tuple[Settings, Result]) -> None:
    settings, _ = odd
    report = store.build(settings)  # incremental: everything is reused, problems are found again
    assert (report.documents, report.embedded_documents) == (5, 0)
    paths = [p.path for p in report.problems]
    assert sorted(paths) == sorted(EXPECTED_PROBLEMS) and len(paths) == len(set(paths))
    assert all(EXPECTED_PROBLEMS[p.path] in p.reason for p in report.problems)
    latin = next(p for p in report.problems if p.path == "latin1.txt")
    assert "iconv" in latin.reason  # the reason says how to fix it


def test_every_stored_sentence_is_verbatim_in_its_file(odd: tuple[Settings, Result]) -> None:
    settings, _ = odd
    index = store.open_index(settings, verify=True)
    try:
        parts = index.all_parts()
    finally:
        index.close()
    assert {"invisible", "long-line", "syndicated-copy", "rec-1"} <= set(parts)
    for doc_id, p in parts.items():
        if p.doc.path.endswith(".jsonl"):
            assert doc_id == "rec-1" and p.doc.text == json.loads(RECORDS[0])["text"]
            text = p.doc.text
        else:
            text = (settings.corpus_dir / p.doc.path).read_text(encoding="utf-8")
        for span in p.sentences:
            piece = text[span.start : span.end]
            assert piece == p.doc.text[span.start : span.end] and piece.strip() == piece and piece


def test_invisible_characters_stay_inside_verbatim_quotes(odd: tuple[Settings, Result]) -> None:
    settings, _ = odd
    index = store.open_index(settings)
    try:
        answer = Answerer(index, min_confidence=0.0).answer(INVISIBLE_QUESTION, k=1)
    finally:
        index.close()
    quote = answer.quotes[0]
    assert quote.source.path == "invisible.txt"
    assert quote.text == "The Zvartnots\u200b lighthouse keeper feeds seventeen\u200d cats every morning."
    text = (settings.corpus_dir / "invisible.txt").read_text(encoding="utf-8")
    assert text[quote.start : quote.end] == quote.text
    result = cli(settings, "ask", INVISIBLE_QUESTION, "--json", "-k", "3")
    assert result.exit_code == 0
    for q in json.loads(result.stdout)["quotes"]:
        file_text = (settings.corpus_dir / q["source"]["path"]).read_text(encoding="utf-8")
        assert file_text[q["start"] : q["end"]] == q["text"]


def test_invisible_characters_are_all_kept_in_the_sentences(odd: tuple[Settings, Result]) -> None:
    settings, _ = odd
    index = store.open_index(settings)
    try:
        p = index.all_parts()["invisible"]
    finally:
        index.close()
    quoted = "".join(p.doc.text[s.start : s.end] for s in p.sentences)
    for char in "\u200b\u200c\u200d\u2060\u00ad\u200f\u200e\u202e\u202c\u2066\u2069\ufeff":
        assert char in quoted, f"U+{ord(char):04X} lost"


def test_exact_duplicates_are_indexed_but_not_quoted_twice(odd: tuple[Settings, Result]) -> None:
    settings, _ = odd
    index = store.open_index(settings)
    try:
        answer = Answerer(index).answer("Why did Armenia invite more Russian troops?", k=3)
    finally:
        index.close()
    assert answer.answered
    texts = [q.text for q in answer.quotes]
    assert len(texts) == len(set(texts))


def test_a_long_line_without_punctuation_is_cut_into_citable_pieces(odd: tuple[Settings, Result]) -> None:
    settings, _ = odd
    index = store.open_index(settings)
    try:
        p = index.all_parts()["long-line"]
    finally:
        index.close()
    pieces = [p.doc.text[s.start : s.end] for s in p.sentences]
    assert len(pieces) >= len(LONG_LINE) // MAX_SENTENCE_CHARS
    assert all(len(piece) <= MAX_SENTENCE_CHARS for piece in pieces)
    assert " ".join(pieces).split() == LONG_LINE.split()  # cut at spaces only: no word is lost or split


# ---------------------------------------------------------------- a big file

# Five paragraphs repeated: a few distinct
# paragraphs keep the default suite fast; benchmarks/big_file.py builds 50 MB of varied text.
BIG_BLOCK = "\n\n".join(
    [
        "Armenia currently hosts approximately 10,000 Russian troops. Around 5,000 are stationed at the "
        "102nd Russian military base in the city of Gyumri, near Turkey.",
        "The agreement was signed in 1995 and extended in 2010 until 2044. Dr. Ana Petrosyan of the U.S. "
        "embassy said: “We will not leave.” Prices rose 3.5% last year.",
        "Other Russian forces operate at Zvartnots airport, Erebuni military base, and in the southern and "
        "eastern regions of Armenia",
        "Is the base a pillar of stability? Some say yes! Others disagree, and the debate continues in "
        "Yerevan, Moscow and Brussels",
        "Russian border guards control Armenia’s borders with Turkey and Iran; their presence dates back "
        "to the 1990s and few expect it to change soon.",
    ]
)


def fake_encode(self: OnnxEncoder, texts: object, progress: object = None) -> np.ndarray:
    """A constant unit vector: this test is about loading, segmenting and storing, not the model."""
    n = len(texts)  # type: ignore[arg-type]
    out = np.zeros((n, self.dim), dtype=np.float32)
    out[:, 0] = 1.0
    if callable(progress):
        progress(n)
    return out


def test_a_five_megabyte_file_builds(fresh_index: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OnnxEncoder, "encode", fake_encode)
    size = 5_000_000
    text = ((BIG_BLOCK + "\n\n") * (size // len(BIG_BLOCK) + 1))[:size]
    (fresh_index.corpus_dir / "big.txt").write_text(text, encoding="utf-8")
    report = store.build(fresh_index)
    assert report.problems == [] and report.documents == 6
    index = store.open_index(fresh_index, verify=True)
    try:
        row = next(r for r in range(index.document_count()) if index.document(r).path == "big.txt")
        assert index.document(row).text == text
        first, last = index.db.execute(
            "SELECT min(rowid), max(rowid) FROM sentences WHERE doc = ?", (row,)
        ).fetchone()
        assert last - first + 1 > size // 200  # tens of thousands of sentences
        on_disk = (fresh_index.corpus_dir / "big.txt").read_text(encoding="utf-8")
        for s in index.sentences(first, first + 50) + index.sentences(last - 50, last):
            piece = on_disk[s.start : s.end]
            assert piece and piece.strip() == piece and len(piece) <= MAX_SENTENCE_CHARS
            assert piece == text[s.start : s.end]
        assert index.sentences(last, last)[0].end == len(text.rstrip())
    finally:
        index.close()


# ---------------------------------------------------------------- whole documents, any unicode

INVISIBLES = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u200f", "\u202e", "\u202c"]
INVISIBLES += ["\u2066", "\u2069", "\u00ad"]
BODY = st.sampled_from(
    [
        "Armenia hosts troops. ",
        "Dr. Smith said “no.” ",
        "U.S. ",
        "Why? ",
        "Yes! ",
        "date 2023-12-28 ",
        "Ереван. ",
        "Երևան։ ",
        "耶烈万。",
        "\u00a0",
        "\u2028",
        "\x85",
        "\t",
        " ",
        "\n",
        "\n\n",
        "\r\n",
        "\r\n\r\n",
        "---\n",
        "...",
        "a",
        *INVISIBLES,
    ]
)
META = st.sampled_from(["title: Héllo\u200b wörld", "date: 2024-02-29", "url: https://x.test/a?b=c", "x: [1"])


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, bool]:
    """A .md file's text, with or without front matter (LF or CRLF), and whether it has any."""
    body = "".join(draw(st.lists(BODY, max_size=40)))
    if not draw(st.booleans()):
        return body, False
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    meta = newline.join(draw(st.lists(META, max_size=3)))
    return f"---{newline}{meta}{newline if meta else ''}---{newline}{body}", True


@settings(max_examples=200, deadline=None)
@given(documents())
@example(("date 2023-12-28 ---\n", False))  # a rule is a whole line, not what a date line leaves
def test_sentences_of_whole_documents_are_verbatim_and_after_the_front_matter(doc: tuple[str, bool]) -> None:
    text, has_front_matter = doc
    document = text_document(text, "doc.md")
    if document is None:  # nothing but front matter and whitespace
        assert not text.strip() or text.startswith("---")
        return
    assert document.text == text  # offsets index the file as read, front matter included
    if has_front_matter and document.body_start:
        assert text[: document.body_start].rstrip("\r\n").endswith("---")
    # nothing is lost but whitespace and rule lines ("---" is a separator in plain text, not a sentence)
    assert_layout_only_lost(text, segment(document.text, document.body_start), document.body_start)


# ---------------------------------------------------------------- files from other editors


def test_offsets_hold_against_read_text_for_crlf_files(tmp_path: Path) -> None:
    """The contract reads files with `read_text`, which turns CRLF into LF: offsets must count the same."""
    (tmp_path / "windows.txt").write_bytes(
        b"Title line\r\n\r\nFirst sentence here. Second sentence here.\r\nThird one is here.\r\n"
    )
    document = load_corpus(tmp_path).documents[0]
    on_disk = (tmp_path / "windows.txt").read_text(encoding="utf-8")
    for span in segment(document.text, document.body_start):
        assert on_disk[span.start : span.end] == document.text[span.start : span.end]


def test_front_matter_after_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Windows editors write a UTF-8 BOM first; front matter after it is still front matter."""
    (tmp_path / "bom.md").write_bytes(
        "\ufeff---\ntitle: Base report\ndate: 2024-03-01\n---\nThe base has a new commander.\n".encode()
    )
    document = load_corpus(tmp_path).documents[0]
    assert (document.title, document.date) == ("Base report", "2024-03-01")
    sentences = [document.text[s.start : s.end] for s in segment(document.text, document.body_start)]
    assert sentences == ["The base has a new commander."]


def test_an_impossible_front_matter_date_does_not_stop_the_load(tmp_path: Path) -> None:
    """PyYAML raises ValueError (not YAMLError) for `date: 2024-02-30`; one file must not stop the build."""
    (tmp_path / "good.txt").write_text("The base has a new commander.\n", encoding="utf-8")
    (tmp_path / "bad-date.md").write_text(
        "---\ntitle: Report\ndate: 2024-02-30\n---\nThe report is late.\n", encoding="utf-8"
    )
    result = load_corpus(tmp_path)
    loaded = {d.path for d in result.documents} | {p.path for p in result.problems}
    assert loaded == {"good.txt", "bad-date.md"}
