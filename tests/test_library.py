"""`qabot add` and `qabot remove` end to end: the real model, real builds on a private copy of the seed index,
the local test site; and what is left after refusals, failed builds, killed adds and adds at once."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from qabot import intake, library, store
from qabot.audit import AUDIT_FILE, AuditLog, Event
from qabot.cli import main
from qabot.config import Settings
from qabot.fetch import FetchPolicy
from tests.conftest import ROOT
from tests.sites import Site

QUESTION = "How much did the water level of Lake Sevan rise?"
ALLOW_LOOPBACK = {"QABOT_ALLOWED_NETWORKS": '["127.0.0.0/8"]', "QABOT_FETCH_TIMEOUT_SECONDS": "1"}


def cli(settings: Settings, *args: str, env: dict[str, str] | None = None) -> Result:
    options = ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]
    return CliRunner().invoke(main, [args[0], *options, *args[1:]], env=env)


def snapshot(settings: Settings) -> dict[str, bytes]:
    """Every file of the corpus and the index with its bytes; the shared model export and the (empty) lock
    files aside, which stay once created, as `qabot index`'s does."""
    files = {}
    for root in (settings.corpus_dir, settings.index_dir):
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if rel.parts[0] != "models" and path.is_file() and path.name not in (".lock", ".library.lock"):
                files[f"{root.name}/{rel}"] = path.read_bytes()
    return files


def served(settings: Settings) -> dict[str, Any]:
    return store.read_manifest(store.current_generation(settings.index_dir))


def events(settings: Settings) -> list[Event]:
    return AuditLog(settings.index_dir / AUDIT_FILE).events()


# ---------------------------------------------------------------- the path a user takes


def test_add_a_dated_page_then_ask_quotes_it_with_its_date_and_url(
    private_index: Settings, site: Site
) -> None:
    url = site.url("/article.html")
    result = cli(private_index, "add", url, env=ALLOW_LOOPBACK)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "Added lake-sevan-rises-again: “Lake Sevan rises again” (2024-05-14 · Anna Petrosyan · "
        f"Caucasus Water News) {url} → lake-sevan-rises-again.txt"
    )
    generation = served(private_index)["generation"]
    assert lines[1].startswith(
        f"Answerable now: generation {generation}, 6 documents (1 embedded, 5 unchanged"
    )
    file = private_index.corpus_dir / "lake-sevan-rises-again.txt"
    assert "\ndate: '2024-05-14'\nauthor: Anna Petrosyan\n" in file.read_text(encoding="utf-8")

    asked = cli(private_index, "ask", QUESTION, "--json", "-k", "1")
    answer = json.loads(asked.output)
    assert answer["answered"] is True
    [quote] = answer["quotes"]
    assert quote["text"].startswith("The water level of Lake Sevan rose by 14 centimetres")
    assert quote["source"] == {
        "id": "lake-sevan-rises-again",
        "title": "Lake Sevan rises again",
        "path": "lake-sevan-rises-again.txt",
        "date": "2024-05-14",
        "url": url,
    }
    assert file.read_text(encoding="utf-8")[quote["start"] : quote["end"]] == quote["text"]
    [event] = events(private_index)
    assert (event.action, event.doc_id, event.input, event.generation) == ("add", file.stem, url, generation)
    assert event.user_id == library.Actor.cli().id


def test_the_same_link_or_content_twice_is_already_in_the_corpus(private_index: Settings, site: Site) -> None:
    first = cli(private_index, "add", site.url("/article.html"), env=ALLOW_LOOPBACK)
    assert first.exit_code == 0, first.output
    before = snapshot(private_index)
    fetched = len(site.requests)
    again = [site.url("/article.html"), site.url("/moved"), site.url("/page-as-binary")]
    result = cli(private_index, "add", *again, "--json", env=ALLOW_LOOPBACK)
    assert result.exit_code == 0, result.output  # already there is not an error
    reason = "already in the corpus as lake-sevan-rises-again"
    assert json.loads(result.output) == {
        "added": [],
        "skipped": [{"input": u, "reason": reason} for u in again],
    }
    assert snapshot(private_index) == before and len(events(private_index)) == 1
    # The known link is not fetched again; /moved is, and is known by where it redirects; /page-as-binary
    # is a new link, and is found by its text.
    assert site.paths()[fetched:] == ["/moved", "/article.html", "/page-as-binary"]


def test_remove_takes_a_document_out_and_keeps_its_file(private_index: Settings, site: Site) -> None:
    assert cli(private_index, "add", site.url("/article.html"), env=ALLOW_LOOPBACK).exit_code == 0
    result = cli(private_index, "remove", "lake-sevan-rises-again")
    assert result.exit_code == 0, result.output
    [kept] = (private_index.index_dir / "removed").iterdir()
    assert result.output.splitlines()[0] == (
        f"Removed lake-sevan-rises-again: “Lake Sevan rises again” (the file is kept as {kept})"
    )
    assert not (private_index.corpus_dir / "lake-sevan-rises-again.txt").exists()
    assert "lake-sevan-rises-again" not in served(private_index)["documents"]
    answer = json.loads(cli(private_index, "ask", QUESTION, "--json").output)
    assert all(q["source"]["id"] != "lake-sevan-rises-again" for q in answer["quotes"])
    assert [e.action for e in events(private_index)] == ["add", "remove"]
    assert "title: Lake Sevan rises again" in kept.read_text(encoding="utf-8")


# ---------------------------------------------------------------- refusals change nothing


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("{site}/to-private", "it redirects to http://10.20.30.40/admin; 10.20.30.40 is a private address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("{site}/big", "it is larger than the 20 MB limit (50 MB)"),
        ("{site}/slow", "127.0.0.1 did not send the page within 1 s"),
        ("{site}/image-as-html", "it is not a web page, a PDF or a text file (it looks like a PNG image)"),
        ("{site}/missing.html", "the server answered 404 Not Found"),
        ("ftp://example.com/a.txt", "only http and https links can be added, not ftp"),
        ("no-such-file.txt", "there is no such file (a link needs http:// or https://)"),
    ],
)
def test_a_refused_add_says_why_in_one_line_and_changes_nothing(
    private_index: Settings, site: Site, given: str, reason: str
) -> None:
    before = snapshot(private_index)
    link = given.format(site=f"http://127.0.0.1:{site.port}")
    result = cli(private_index, "add", link, env=ALLOW_LOOPBACK)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"Error: {link}: {reason}") and line.endswith(".")
    assert snapshot(private_index) == before  # corpus, index and (absent) audit log as they were
    assert not (private_index.index_dir / AUDIT_FILE).exists()


def test_one_refusal_does_not_stop_the_others(private_index: Settings, site: Site) -> None:
    result = cli(
        private_index, "add", "http://10.0.0.1/", site.url("/undated.html"), "--json", env=ALLOW_LOOPBACK
    )
    assert result.exit_code == 1  # something was refused
    report = json.loads(result.stdout)
    assert [d["id"] for d in report["added"]] == ["apricot-harvest-notes"]
    assert report["added"][0]["date"] is None and report["added"][0]["url"] == site.url("/undated.html")
    assert [s["input"] for s in report["skipped"]] == ["http://10.0.0.1/"]


def test_remove_refusals_change_nothing(private_index: Settings, tmp_path: Path) -> None:
    (private_index.corpus_dir / "records.jsonl").write_text(
        '{"_id": "r1", "text": "The first record."}\n{"_id": "r2", "text": "The second record."}\n'
    )
    before = snapshot(private_index)
    result = cli(private_index, "remove", "no-such-id", "r1")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: no-such-id: no document in the corpus has this id.",
        "Error: r1: it is one of the 2 records of records.jsonl; edit that file instead.",
    ]
    assert snapshot(private_index) == before
    (private_index.corpus_dir / "records.jsonl").unlink()
    before = snapshot(private_index)
    everything = sorted(p.stem for p in private_index.corpus_dir.glob("*.txt"))
    result = cli(private_index, "remove", *everything)
    assert result.exit_code == 1
    empty = "it would leave the corpus empty, and an index needs at least one document"
    assert result.output.strip().splitlines() == [f"Error: {doc}: {empty}." for doc in everything]
    assert snapshot(private_index) == before


# ---------------------------------------------------------------- failures and interruptions lose nothing


def test_a_failed_build_undoes_the_add(
    private_index: Settings, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_write_generation", full_disk)  # fails after the file is in the corpus
    before = snapshot(private_index)
    result = cli(private_index, "add", site.url("/article.html"), env=ALLOW_LOOPBACK)
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: the index could not be updated ([Errno 28] No space left on device); nothing was changed"
    )
    assert snapshot(private_index) == before


KILLABLE_ADD = """
import sys
from qabot.cli import main
main([sys.argv[1], "--corpus", sys.argv[2], "--index", sys.argv[3], *sys.argv[4:]])
"""


def kill_an_add_midway(settings: Settings, note: Path) -> None:
    """Run `qabot add NOTE` in a child process and SIGKILL it once the note is in the corpus (its new
    generation only begun: loading the model alone takes longer than the 2 ms between looks)."""
    args = ["add", str(settings.corpus_dir), str(settings.index_dir), str(note)]
    child = subprocess.Popen([sys.executable, "-c", KILLABLE_ADD, *args], cwd=ROOT, env={**os.environ})
    landed = settings.corpus_dir / note.name
    try:
        deadline = time.monotonic() + 120
        while not landed.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        assert landed.exists(), "the add never placed its file"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()


def test_an_add_killed_before_its_generation_is_published_is_undone(
    private_index: Settings, tmp_path: Path
) -> None:
    note = tmp_path / "ferry.md"
    note.write_text("# Ferry\n\nThe ferry to Sevanavank runs from June to September only.\n")
    before = snapshot(private_index)
    generation = served(private_index)["generation"]
    kill_an_add_midway(private_index, note)
    assert served(private_index)["generation"] == generation
    assert (private_index.corpus_dir / "ferry.md").exists()  # in the corpus, not served, not logged
    assert (private_index.index_dir / library.JOURNAL_FILE).exists()
    assert library.settle(private_index) == []  # what the next add or remove, `qabot index`, the bot do first
    assert snapshot(private_index) == before
    assert not (private_index.index_dir / AUDIT_FILE).exists()


def test_qabot_index_settles_a_killed_add_first(private_index: Settings, tmp_path: Path) -> None:
    note = tmp_path / "ferry.md"
    note.write_text("# Ferry\n\nThe ferry to Sevanavank runs from June to September only.\n")
    corpus = {p.name for p in private_index.corpus_dir.iterdir()}
    kill_an_add_midway(private_index, note)
    result = cli(private_index, "index")
    assert result.exit_code == 0 and "Indexed 5 documents" in result.output, result.output
    assert {p.name for p in private_index.corpus_dir.iterdir()} == corpus
    assert "ferry" not in served(private_index)["documents"] and events(private_index) == []


def test_an_add_killed_after_its_generation_is_published_is_kept_and_logged(
    private_index: Settings, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    settle, calls = library.settle, []

    def dies_after_publishing(settings: Settings, locked: bool = False) -> list[Event]:
        calls.append(locked)
        if len(calls) == 2:  # the first settles leftovers; the second would log this add
            raise SystemExit("killed")
        return settle(settings, locked)

    monkeypatch.setattr(library, "settle", dies_after_publishing)
    item = intake.from_link(site.url("/undated.html"), FetchPolicy.from_settings(private_index))
    with pytest.raises(SystemExit):
        library.add(private_index, [item], library.Actor("cli:test", "test"))
    monkeypatch.undo()
    assert "apricot-harvest-notes" in served(private_index)["documents"] and events(private_index) == []
    [event] = library.settle(private_index)
    assert event.doc_id == "apricot-harvest-notes" and event.generation == served(private_index)["generation"]
    assert (private_index.corpus_dir / "apricot-harvest-notes.txt").exists()
    assert events(private_index) == [event]


def test_two_adds_at_once_both_land(private_index: Settings, site: Site, tmp_path: Path) -> None:
    note = tmp_path / "ferry.md"
    note.write_text("# Ferry\n\nThe ferry to Sevanavank runs from June to September only.\n")
    items = [
        intake.from_link(site.url("/article.html"), FetchPolicy.from_settings(private_index)),
        intake.from_file(note, 1000),
    ]
    start = threading.Barrier(2)
    spans: dict[str, tuple[float, float]] = {}
    reports: dict[str, library.AddReport] = {}

    def add(item: intake.Incoming) -> None:
        start.wait()
        began = time.monotonic()
        reports[item.name] = library.add(private_index, [item], library.Actor("cli:test", "test"))
        spans[item.name] = (began, time.monotonic())

    threads = [threading.Thread(target=add, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert max(b for b, _ in spans.values()) < min(e for _, e in spans.values())  # they did overlap
    assert sorted(d.id for r in reports.values() for d in r.added) == ["ferry", "lake-sevan-rises-again"]
    documents = served(private_index)["documents"]
    assert {"ferry", "lake-sevan-rises-again"} <= set(documents) and len(documents) == 7
    logged = events(private_index)
    assert sorted(e.doc_id for e in logged) == ["ferry", "lake-sevan-rises-again"]
    assert len({e.generation for e in logged}) == 2  # one build each, one after the other


def test_the_hourly_limit_counts_the_audit_log(private_index: Settings, site: Site) -> None:
    actor = library.Actor("discord:42", "alice")
    recent = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)).isoformat(timespec="seconds")
    earlier = Event(
        "e1", "add", "old", "Old", "old.txt", None, None, "old.txt", actor.id, "alice", "g", recent
    )
    library.audit_log(private_index).record([earlier])
    assert library.adds_left(private_index, actor, 2) == 1
    assert library.adds_left(private_index, library.Actor("discord:43", "bob"), 2) == 2
    item = intake.from_link(site.url("/undated.html"), FetchPolicy.from_settings(private_index))
    before = snapshot(private_index)
    report = library.add(private_index, [item], actor, limit=1)
    assert report.added == () and report.build is None
    assert report.skipped[0].reason == library.over_limit(1)
    assert snapshot(private_index) == before
