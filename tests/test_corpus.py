from __future__ import annotations

import json
from pathlib import Path

import pytest

from qabot.corpus import load_corpus

from .conftest import SEED_CORPUS


def test_seed_corpus_front_matter() -> None:
    result = load_corpus(SEED_CORPUS)
    assert result.problems == []
    by_id = {d.id: d for d in result.documents}
    assert len(by_id) == 5
    doc = by_id["armenia-invites-more-russian-troops"]
    assert doc.title == "Armenia Invites More Russian Troops to Its Territory"
    assert doc.date == "2021-02-23"
    assert doc.url is None
    assert doc.text[doc.body_start :].startswith("Date: 23 February 2021")
    # offsets index the file exactly as it is on disk
    assert doc.text == (SEED_CORPUS / doc.path).read_text(encoding="utf-8")


def test_markdown_without_front_matter_takes_title_from_first_line(tmp_path: Path) -> None:
    notes_text = "# Field notes { #notes }\n\nThe base is in Gyumri.\n"
    (tmp_path / "notes.md").write_text(notes_text, encoding="utf-8")
    (tmp_path / "plain.md").write_text("Base notes\n\nThe base is in Gyumri.\n", encoding="utf-8")
    notes, plain = load_corpus(tmp_path).documents
    # a heading's words, as a reader sees them (no marks, no anchor)
    assert (notes.id, notes.title, notes.body_start, notes.date) == ("notes", "Field notes", 0, None)
    assert plain.title == "Base notes"


def test_link_targets_above_the_first_heading_are_not_the_title(tmp_path: Path) -> None:
    (tmp_path / "options.md").write_text(
        "(options)=\n\n# Options\n\nOptions are optional.\n", encoding="utf-8"
    )
    (tmp_path / "intro.rst").write_text(
        ".. _intro:\n\nIntroduction\n============\n\nHello.\n", encoding="utf-8"
    )
    intro, options = load_corpus(tmp_path).documents
    assert (options.title, intro.title) == ("Options", "Introduction")


def test_rest_comments_directives_and_fields_above_the_first_heading_are_not_the_title(
    tmp_path: Path,
) -> None:
    """Pages of real reST docs open with a licence comment, `.. module::` or a field list."""
    pages = {
        "api.rst": ".. Licensed under the Apache License: http://www.apache.org/licenses/LICENSE-2.0\n"
        ".. For details: https://example.org/NOTICE.txt\n\n.. _api:\n\n===============\n"
        "Coverage.py API\n===============\n\nThere are a few ways.\n",
        "index.rst": ".. master file, created by\n   sphinx-quickstart on Wed Mar  5 2014.\n\n"
        "==================\nWelcome to AIOHTTP\n==================\n\nHello.\n",
        "testing.rst": ".. module:: aiohttp.test_utils\n    :synopsis: tests\n\nTesting\n=======\n\nText.\n",
        "intro.rst": ":Version: 5.7.0\n:Keywords: task, queue,\n  python\n\nWhat's a Task Queue?\n"
        "====================\n\nText.\n",
        "support.rst": ".. include:: ../SUPPORT.rst\n",
        "config.rst": ".. module:: pyramid.config\n\n:mod:`pyramid.config`\n---------------------\n\nText.\n",
        "notes.md": ":smile: Notes without a heading\n\nMore.\n",
    }
    for name, text in pages.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    titles = {d.path: d.title for d in load_corpus(tmp_path).documents}
    assert titles == {
        "api.rst": "Coverage.py API",
        "index.rst": "Welcome to AIOHTTP",
        "testing.rst": "Testing",
        "intro.rst": "What's a Task Queue?",
        "support.rst": "support",
        "config.rst": "pyramid.config",
        "notes.md": ":smile: Notes without a heading",
    }


def test_a_page_that_opens_with_a_sentence_is_titled_by_its_file_name(tmp_path: Path) -> None:
    """MkDocs pages often have no heading of their own (the site's menu titles them), and READMEs open
    with logos and badges: their first line of text is not a title."""
    pages = {
        "early-hints.md": "Starlette includes support for HTTP/2 and HTTP/3 server push, making it\n"
        "possible to push resources to the client.\n\n## Usage\n\nText.\n",
        "staticfiles.md": "Starlette also includes a `StaticFiles` class for serving files:\n\n"
        "```python\nfrom starlette.staticfiles import StaticFiles\n```\n",
        "ruff.md": "<!-- Begin section: Overview -->\n\n# Ruff\n\nAn extremely fast linter.\n",
        "black.md": "<!--\nblack documentation master file, created by\nsphinx-quickstart.\n-->\n\n"
        "# The uncompromising code formatter\n\nBy using Black, you agree.\n",
        "pypdf.md": "[![PyPI version](https://badge.fury.io/py/pypdf.svg)](https://pypi.org/p/pypdf)\n"
        "[![](https://img.shields.io/badge/-documentation-green)](https://pypdf.rtfd.io/)\n\n"
        "# pypdf\n\npypdf is a PDF library.\n",
        "hub.md": '<p align="center">\n  <img src="logo.svg"/>\n</p>\n\n'
        "The huggingface_hub library allows you to interact with the Hub.\n",
        "welcome.md": "{.hide-header}\n# Welcome to Click\n\nClick is a package.\n",
        "README.md": "This project parses dates in many languages and formats.\n",
        "Field_Notes.md": "Notes from the base, taken daily.\n",
        "release-notes.md": "## 1.10.0 (October 24, 2026)\n\n* Fixed a bug.\n\n## 1.9.0\n\n* Added it.\n",
        "guide.md": "Usage\n-----\n\nRun it.\n\n## Options\n\nSome.\n",
        "benchmark.md": "## Notes on Performance\n\nFast.\n\n### Script\n\n"
        "```sh\n# Default Worker\nrq\n```\n",
        "index.md": "## Overview\n\nThis project parses dates.\n",
        "home/index.md": '<p align="center"><img src="logo.svg"/></p>\n\n---\n\n'
        '**Documentation**: <a href="https://starlette.dev/">https://starlette.dev</a>\n\n---\n\n'
        "# Introduction\n\nStarlette is a lightweight ASGI framework.\n",
    }
    (tmp_path / "home").mkdir()
    for name, text in pages.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    titles = {d.path: d.title for d in load_corpus(tmp_path).documents}
    assert titles == {
        "early-hints.md": "Early hints",  # as MkDocs names a page without a title
        "staticfiles.md": "Staticfiles",
        "ruff.md": "Ruff",
        "black.md": "The uncompromising code formatter",
        "pypdf.md": "pypdf",
        "hub.md": "Hub",
        "welcome.md": "Welcome to Click",
        "README.md": "This project parses dates in many languages and formats.",  # a name that says nothing
        "Field_Notes.md": "Field Notes",
        "release-notes.md": "Release notes",  # "## 1.10.0" is one section among others, not the title
        "guide.md": "Guide",
        "benchmark.md": "Notes on Performance",  # the top of its outline (a `#` in code is not a heading)
        "index.md": "Overview",
        "home/index.md": "Introduction",
    }


def test_jsonl_records_are_documents(tmp_path: Path) -> None:
    records = [
        {"_id": "a1", "title": "First", "text": "Alpha text.", "metadata": {"kind": "x"}},
        {"_id": "a2", "title": "", "text": "Beta text here."},
        {"_id": "a3", "text": "   "},
    ]
    (tmp_path / "set.jsonl").write_text(
        "\n".join(json.dumps(r) for r in records) + "\nnot json\n", encoding="utf-8"
    )
    result = load_corpus(tmp_path)
    assert [(d.id, d.title, d.path, d.text) for d in result.documents] == [
        ("a1", "First", "set.jsonl", "Alpha text."),
        ("a2", "Beta text here.", "set.jsonl", "Beta text here."),
    ]
    assert [(p.path, p.reason) for p in result.problems] == [
        ("set.jsonl:3", "empty text"),
        ("set.jsonl:4", "invalid JSON (Expecting value)"),
    ]


def test_bad_files_are_reported_once_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("A fine sentence.", encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (tmp_path / "latin.txt").write_bytes("Caf\xe9 cr\xe8me.".encode("latin-1"))
    (tmp_path / "empty.md").write_text("", encoding="utf-8")
    (tmp_path / "data.bin").write_bytes(b"\x00\x01")
    (tmp_path / ".hidden.txt").write_text("ignored", encoding="utf-8")
    result = load_corpus(tmp_path)
    assert [d.id for d in result.documents] == ["good"]
    reasons = {p.path: p.reason for p in result.problems}
    assert set(reasons) == {"image.txt", "latin.txt", "empty.md", "data.bin"}
    assert reasons["image.txt"].startswith("binary file")
    assert reasons["latin.txt"].startswith("not UTF-8")


def test_same_stem_in_two_formats_keeps_ids_unique(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("One.", encoding="utf-8")
    (tmp_path / "a.md").write_text("Two.", encoding="utf-8")
    assert sorted(d.id for d in load_corpus(tmp_path).documents) == ["a", "a.txt"]


def test_missing_corpus_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_corpus(tmp_path / "nope")
