"""Documentation as a corpus, end to end: the packaged model on a small Markdown and reST corpus."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from qabot import discord_render, markup, render, store
from qabot.answer import Answer, Answerer, Quote, Source
from qabot.config import Settings
from qabot.evaluate import QuoteChecker
from qabot.models.reader import OnnxReader, Reading

from .conftest import DOCS


@pytest.fixture(scope="module")
def docs_answerer(docs_settings: Settings) -> Iterator[Answerer]:
    index = store.open_index(docs_settings)
    yield Answerer(index, min_confidence=0.0)
    index.close()


def top(answerer: Answerer, question: str) -> Quote:
    answer = answerer.answer(question, k=3)
    assert answer.quotes, answer
    assert all(QuoteChecker(DOCS)(q) for q in answer.quotes)  # verbatim at their offsets, code included
    return answer.quotes[0]


def test_the_command_comes_with_the_sentence_that_introduces_it(docs_answerer: Answerer) -> None:
    quote = top(docs_answerer, "How do I set the Weather API key?")
    assert quote.text == (
        "To set the default key to be used for the Weather API, run this:\n\n"
        "```bash\nqabot keys set weather --value sk-12345\n```"
    )
    assert quote.source.path == "cli.md"  # above the changelog line naming the same command
    assert quote.source.section == ("Command line", "Setting the key")


def test_a_question_about_versions_may_be_answered_by_the_changelog(docs_answerer: Answerer) -> None:
    quote = top(docs_answerer, "Which version added the --log-level option?")
    assert quote.source.path == "CHANGELOG.md"
    assert quote.source.section == ("Changelog", "0.3.0")


def test_the_section_path_is_evidence(docs_answerer: Answerer) -> None:
    quote = top(docs_answerer, "What is the default logging level?")
    assert quote.text == "Set the level with `--log-level`. The default level is `warning`."
    assert quote.source.section == ("Command line", "Logging")  # "logging" is only in its heading
    assert quote.before == "Logging"  # its own heading
    assert quote.after == ""  # not the next section's heading ("Installing plugins")


def test_no_answer_span_is_marked_in_documentation(docs_answerer: Answerer, answerer: Answerer) -> None:
    """The reader's span misses the answer in most right docs quotes, so the quote is the answer there;
    in news prose the span is marked (the answer in bold, `answer` in JSON)."""
    for question in ("What is the default logging level?", "How do I set the Weather API key?"):
        assert top(docs_answerer, question).answer is None
    news = answerer.answer("How many Russian troops are in Armenia?", k=1)
    assert news.quotes and news.quotes[0].answer is not None


def test_an_indented_code_block_beside_a_quote_keeps_its_first_line_indented(
    docs_answerer: Answerer,
) -> None:
    """A reST code block as a quote's context starts at its line's start, so it shows as code (every
    line as indented as on the page), not as a first line at the margin and the rest indented."""
    quote = top(docs_answerer, "Do workers answer several questions at once?")
    assert quote.text.startswith("Each worker process answers one question at a time")
    assert quote.before == "    qabot work --workers 4\n    qabot work --status"
    assert markup.pieces(quote.before) == [markup.Piece(True, "qabot work --workers 4\nqabot work --status")]


def test_rst_literal_blocks_are_quoted_with_their_sentence(docs_answerer: Answerer) -> None:
    quote = top(docs_answerer, "How do I serve on all interfaces?")
    assert quote.text.endswith("qabot serve --host 0.0.0.0 --port 8080")
    assert quote.source.section == ("Running servers", "Production")


def test_a_sphinx_page_kept_as_txt_is_read_as_rest(docs_answerer: Answerer) -> None:
    """Sphinx projects (Django) may keep their reST in .txt files: such a page is read with its structure
    (title, sections, a directive's code with the sentence introducing it), its roles shown as on the page."""
    quote = top(docs_answerer, "How do I run qabot behind a reverse proxy?")
    assert (quote.source.path, quote.source.syntax) == ("proxy.txt", markup.RST)
    assert quote.source.title == "Running behind a proxy"
    assert quote.text.endswith(".. code-block:: console\n\n    $ qabot serve --forwarded-allow-ips 10.0.0.5")
    shown = markup.as_page(quote.text, quote.source.syntax)
    assert "`TRUSTED_PROXIES`" in shown and ":setting:" not in shown
    (message,) = discord_render.answer_embeds(Answer("q?", True, (quote,)))
    description = message[0].description or ""
    assert "TRUSTED\\_PROXIES" in description and ":setting:" not in description  # read, then escaped
    assert "```" in description and "qabot serve --forwarded-allow-ips 10.0.0.5" in description  # as code


def test_headings_alone_are_not_answers(docs_answerer: Answerer) -> None:
    answer = docs_answerer.answer("Installing plugins", k=3)
    assert answer.quotes and all(q.text != "Installing plugins" for q in answer.quotes)


CODE_QUOTE = Quote(
    text="Install it:\n\n```console\n$ <b>pip</b> install x\n```",
    start=10,
    end=60,
    score=12.0,
    source=Source("cli", "The qabot command line", "cli.md", None, None, ("Command line", "Setting the key")),
    cut=True,
)


def test_terminal_shows_code_as_code_with_the_section_path() -> None:
    console = Console(record=True, width=100, color_system=None)
    console.print(render.answer_text(Answer("q?", True, (CODE_QUOTE,))))
    shown = console.export_text()
    assert "$ pip install x" in shown and "```" not in shown
    assert "The qabot command line › Command line › Setting the key (undated) — cli.md" in shown
    assert "cut: the block goes on after char 60" in shown
    source = render.answer_json(Answer("q?", True, (CODE_QUOTE,)))["quotes"][0]
    assert source["source"]["section"] == ["Command line", "Setting the key"]
    assert source["cut"] is True


def test_discord_puts_code_in_a_fenced_block_it_cannot_break_out_of() -> None:
    text = "Run @everyone:\n\n```sh\necho ```@everyone <@123>\n```"
    sneaky = Quote(**{**CODE_QUOTE.__dict__, "text": text})
    (message,) = discord_render.answer_embeds(Answer("q?", True, (CODE_QUOTE, sneaky)))
    description = message[0].description or ""
    assert "```console\n$ pip install x\n```" in description
    fences = [line for line in description.split("\n") if line.startswith("```")]
    assert fences == ["```console", "```", "```sh", "```"]  # the quoted ``` no longer closes the block
    assert "@everyone" not in description.replace("@\u200beveryone", "")
    assert message[0].fields[0].name == "[1] The qabot command line › Command line › Setting the key"


def test_discord_code_blocks_stay_within_the_size_limits() -> None:
    code = "\n".join(f"line {i} " + "x" * 100 for i in range(200))
    long = Quote(**{**CODE_QUOTE.__dict__, "text": f"Run:\n\n```\n{code}\n```"})
    for message in discord_render.answer_embeds(Answer("q?", True, (long, long, long))):
        assert sum(discord_render.embed_size(e) for e in message) <= discord_render.MESSAGE_EMBEDS_TOTAL
        for embed in message:
            assert discord_render.size(embed.description or "") <= discord_render.DESCRIPTION_LIMIT
            assert (embed.description or "").count("```") % 2 == 0
            assert discord_render.CODE_SHORTENED in (embed.description or "")


def test_a_bad_reST_file_is_indexed_as_plain_text(tmp_path: Path) -> None:
    from qabot.text import split

    text = "Title\n=====\n\n.. include:: /etc/passwd\n\n.. raw:: html\n   :file: /etc/passwd\n\nWords here."
    spans = split(text, "bad.rst")
    assert [text[s.start : s.end] for s in spans][-1] == "Words here."
    assert all("root:" not in text[s.start : s.end] for s in spans)


def test_discord_neighbours_leave_their_code_out() -> None:
    plain = Quote(**{**CODE_QUOTE.__dict__, "text": "Create a key.", "cut": False})
    plain = Quote(**{**plain.__dict__, "after": "Run:\n\n```\nopenssl rand -hex 32\n```"})
    (message,) = discord_render.answer_embeds(Answer("q?", True, (plain,)))
    assert (message[0].description or "").endswith("> **Create a key.** Run: …")


def test_a_context_reader_reads_docs_units_alone(docs_answerer: Answerer) -> None:
    """Prose is read with its title and previous unit (test_training_examples); docs units with nothing."""
    index = docs_answerer.index
    rows = index.sentences(0, 40)
    units = index.units([r.id for r in rows])
    assert rows and all(r.id in units for r in rows)  # Markdown and reST units all have a kind
    assert docs_answerer.contexts(rows) == [""] * len(rows)
    paths = docs_answerer.contexts(rows, prose=False, sections=True)
    for row, path in zip(rows, paths, strict=True):
        title = index.document(row.doc).title
        assert path == markup.section_path(title, units[row.id].section) and path.startswith(title)
    assert any(" › " in p for p in paths)  # headings below the page title


def test_a_reader_trained_with_section_paths_is_given_them_on_the_answer_path(
    docs_answerer: Answerer,
) -> None:
    seen: list[list[str] | None] = []

    class Recording(OnnxReader):
        def read(
            self, question: str, sentences: Sequence[str], contexts: Sequence[str] | None = None
        ) -> list[Reading]:
            seen.append(None if contexts is None else list(contexts))
            return super().read(question, sentences, contexts)

    reader = Recording(threads=1)
    answerer = Answerer(docs_answerer.index, min_confidence=0.0, reader=reader)
    answerer.ranked("how do I set the default key?")
    assert seen == [None]  # the shipped reader reads docs units alone
    reader.config = replace(reader.config, sections=True)
    candidates, _ = answerer.ranked("how do I set the default key?")
    read = [c.sentence for c in candidates if c.confidence is not None]
    units = answerer.index.units([s.id for s in read])
    wanted = [markup.section_path(answerer.index.document(s.doc).title, units[s.id].section) for s in read]
    assert seen[-1] is not None and sorted(seen[-1]) == sorted(wanted)


def test_only_units_of_structured_documents_count_as_structured(
    docs_answerer: Answerer, answerer: Answerer
) -> None:
    """What picks the confidence map for docs units: every candidate from the Markdown pages, none from
    the plain-text seed articles."""
    from qabot import evidence

    docs, _ = docs_answerer.ranked("How do I set the default key?", k=5)
    prose, _ = answerer.ranked("How many Russian troops are in Armenia?", k=5)
    assert docs and prose
    assert all(evidence.structured(c.features) for c in docs)
    assert not any(evidence.structured(c.features) for c in prose)


def test_docs_quotes_are_answered_from_the_docs_threshold(
    docs_answerer: Answerer, seed_settings: Settings, tmp_path: Path
) -> None:
    """A reader whose docs thresholds differ from prose's: a docs quote is declined (still shown as
    closest) under its own threshold while prose is answered under prose's; a threshold the asker
    chooses applies to both."""
    import dataclasses
    import json

    from qabot.models.reader import CONFIG_FILE, WEIGHTS_DIR, OnnxReader, load_config

    shipped = load_config(WEIGHTS_DIR)
    config = dataclasses.replace(shipped, structured_answer_at=0.999, structured_close_at=0.0)
    for name in ("reader.onnx", "reader-tokenizer.json"):
        (tmp_path / name).symlink_to(WEIGHTS_DIR / name)
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"config": dataclasses.asdict(config)}))
    reader = OnnxReader(tmp_path)
    docs = Answerer(docs_answerer.index, reader=reader).answer("How do I set the Weather API key?")
    assert docs.structured and not docs.answered and docs.quotes
    assert docs.quotes[0].confidence is not None and docs.quotes[0].confidence < 0.999
    seed = store.open_index(seed_settings)
    prose = Answerer(seed, reader=reader).answer("How many Russian troops are in Armenia?")
    assert not prose.structured and prose.answered
    seed.close()
    chosen = Answerer(docs_answerer.index, min_confidence=0.0, reader=reader)
    assert chosen.answer("How do I set the Weather API key?").answered


def test_a_changelog_inside_a_readme_ranks_below_its_usage(docs_answerer: Answerer) -> None:
    # a PyPI README often ends with its release history, one line per release naming what the page explains
    quote = top(docs_answerer, "How do I stop a request to a slow server from hanging?")
    assert quote.source.path == "weather-client.md"
    assert quote.source.section == ("weather-client", "Usage")
    versions = top(docs_answerer, "Which release added the deadline argument?")
    assert versions.source.section == ("weather-client", "History", "1.2.0 (2025-03-01)")
