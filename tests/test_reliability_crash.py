"""Reliability of the index: killed builds, damaged files, concurrent readers and builders.

The crash trials share their checks with benchmarks/crash_trials.py (which runs 20 or more of them on a
bigger corpus); here a few run on the seed corpus, killed at random points of a measured build.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner, Result

from qabot import retrieve, store
from qabot.answer import Answer, Answerer
from qabot.cli import main
from qabot.config import Settings

from .conftest import ROOT, SEED_CORPUS

QUESTION = "How many Russian troops does Armenia host?"
FIX = "qabot index --full"


ANSWERING = "armenian-pm-sees-no-advantage-in-russian-troops.txt"  # answers QUESTION


@pytest.fixture
def small(fresh_index: Settings) -> Settings:
    """`fresh_index` with only the article that answers QUESTION: builds that take about a second."""
    for file in fresh_index.corpus_dir.iterdir():
        if file.name != ANSWERING:
            file.unlink()
    return fresh_index


def cli(settings: Settings, *args: str) -> Result:
    options = ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]
    return CliRunner().invoke(main, [args[0], *options, *args[1:]])


def one_line_error(result: Result) -> str:
    """The CLI refused in one line (click's `Error: ...`), with exit code 1 and no traceback."""
    assert isinstance(result.exception, SystemExit), f"unexpected exception: {result.exception!r}"
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def assert_verbatim(answer: Answer, corpus_dir: Path) -> None:
    for quote in answer.quotes:
        text = (corpus_dir / quote.source.path).read_text(encoding="utf-8")
        assert text[quote.start : quote.end] == quote.text


@functools.cache
def crash_trials() -> ModuleType:
    """benchmarks/crash_trials.py, whose checks the trials here share."""
    name = "benchmarks_crash_trials"
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "crash_trials.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- crash safety


def test_killed_builds_leave_a_verified_generation_serving(small: Settings) -> None:
    """SIGKILL `qabot index --full` at random points of a measured build; every check of the benchmark."""
    trials = crash_trials()
    # The measuring build publishes the first generation. T counts from process start (imports, load,
    # embed, write, publish), W from the moment the .tmp generation appears.
    total, tail = trials.measure_build(small)
    plan = trials.schedule(random.Random(7), 3)  # 0.34 T, 0.17 W after the .tmp appears, 0.68 T
    outcomes = trials.run_trials(small, plan, total, tail, 1)
    report = [(t.phase, round(t.delay, 3), t.at_write, t.served, t.failures) for t in outcomes]
    assert all(not t.failures for t in outcomes), report
    assert {t.served for t in outcomes} <= {"old", "new"}


def test_the_generation_rename_is_durable_before_current_names_it(
    fresh_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Power loss, not just SIGKILL: the folder holding the renamed generation is fsynced before CURRENT
    names it, or CURRENT could survive a power cut that the rename did not."""
    events: list[tuple[str, Path]] = []
    replace, fsync_dir = os.replace, store._fsync_dir

    def recording_replace(src: object, dst: object) -> None:
        events.append(("replace", Path(str(dst))))
        replace(src, dst)  # type: ignore[arg-type]

    def recording_fsync_dir(folder: Path) -> None:
        events.append(("fsync dir", folder))
        fsync_dir(folder)

    monkeypatch.setattr(os, "replace", recording_replace)
    monkeypatch.setattr(store, "_fsync_dir", recording_fsync_dir)
    monkeypatch.setattr(store, "split", lambda text, path, start=0, syntax="": [])  # nothing to embed: fast
    name = store.build(fresh_index).generation
    monkeypatch.undo()
    generations = fresh_index.index_dir / "generations"
    renamed = events.index(("replace", generations / name))
    published = events.index(("replace", fresh_index.index_dir / "CURRENT"))
    assert ("fsync dir", generations) in events[renamed:published]


def test_phase_is_read_from_the_index_folder(tmp_path: Path) -> None:
    trials = crash_trials()
    index_dir, first = tmp_path, "20260101T000000000000Z"
    (index_dir / "generations" / first).mkdir(parents=True)
    (index_dir / "CURRENT").write_text(first + "\n")
    known = {first}
    assert trials.phase_of(index_dir, first, known, completed=False) == "before write"
    (index_dir / "generations" / "20990101T000000000000Z.tmp").mkdir()
    assert trials.phase_of(index_dir, first, known, completed=False) == "writing"
    (index_dir / "generations" / "20990101T000000000000Z.tmp").rename(
        index_dir / "generations" / "20990101T000000000000Z"
    )
    assert trials.phase_of(index_dir, first, known, completed=False) == "renamed"
    (index_dir / "CURRENT").write_text("20990101T000000000000Z\n")
    assert trials.phase_of(index_dir, first, known, completed=False) == "published"
    assert trials.phase_of(index_dir, first, known, completed=True) == "completed"


# ---------------------------------------------------------------- integrity, through the CLI


@pytest.fixture
def served(seed_settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the seed index's generations (the model export is linked, not copied)."""
    index_dir = tmp_path / "index"
    shutil.copytree(seed_settings.index_dir / "generations", index_dir / "generations")
    shutil.copy(seed_settings.index_dir / "CURRENT", index_dir / "CURRENT")
    (index_dir / "models").symlink_to(seed_settings.index_dir / "models")
    return Settings(corpus_dir=SEED_CORPUS, index_dir=index_dir)


@pytest.fixture
def big(served: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """`served`, one byte over the checksum limit: opened with sizes checked only, as an index of more
    than 256 MB is (the damage tests below show what still refuses a damaged index then)."""
    manifest = store.read_manifest(generation(served))
    monkeypatch.setattr(store, "VERIFY_MAX_BYTES", store.artifact_bytes(manifest) - 1)
    return served


def generation(settings: Settings) -> Path:
    return store.current_generation(settings.index_dir)


def flip(path: Path, offset: int, count: int = 16) -> None:
    """Same-size corruption: invert `count` bytes at `offset` (negative: from the end)."""
    data = bytearray(path.read_bytes())
    start = offset % len(data)
    data[start : start + count] = bytes(b ^ 0xFF for b in data[start : start + count])
    path.write_bytes(bytes(data))


def edit_manifest(settings: Settings, **changes: object) -> None:
    path = generation(settings) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGES: dict[str, tuple[Callable[[Settings], None], str]] = {
    "truncated vectors": (lambda s: truncate(generation(s) / "chunks.npy"), "wrong size"),
    "truncated database": (lambda s: truncate(generation(s) / "store.sqlite"), "wrong size"),
    "truncated faiss": (lambda s: truncate(generation(s) / "chunks.faiss"), "wrong size"),
    "missing faiss": (lambda s: (generation(s) / "chunks.faiss").unlink(), "is missing"),
    "missing sentence vectors": (lambda s: (generation(s) / "sentences.npy").unlink(), "is missing"),
    "missing manifest": (lambda s: (generation(s) / "manifest.json").unlink(), "missing or unreadable"),
    "truncated manifest": (lambda s: truncate(generation(s) / "manifest.json"), "missing or unreadable"),
    "missing CURRENT target": (lambda s: shutil.rmtree(generation(s)), "missing generation"),
    "empty CURRENT": (lambda s: (s.index_dir / "CURRENT").write_text(""), "missing generation"),
    "corrupted faiss header": (lambda s: flip(generation(s) / "chunks.faiss", 0), "cannot be read"),
    "corrupted vectors header": (lambda s: flip(generation(s) / "chunks.npy", 0), "cannot be read"),
    "another model": (lambda s: edit_manifest(s, model="all-mpnet-base-v2"), "built with model"),
    "another dimension": (lambda s: edit_manifest(s, dim=768), "inconsistent with its manifest"),
    "another model export": (lambda s: edit_manifest(s, model_key="mpnet-0123456789"), "export"),
    "another format": (lambda s: edit_manifest(s, format=2), "unknown format"),
}


def test_the_private_copy_answers_before_any_damage(served: Settings) -> None:
    result = cli(served, "ask", QUESTION, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["answered"]


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_index_is_refused_in_one_line_naming_the_fix(big: Settings, damage: str) -> None:
    """On an index over the checksum limit, so that what refuses is the size check and the reading on
    load, the checks every index gets (a small one refuses same-size damage by checksum first)."""
    breaks, reason = DAMAGES[damage]
    breaks(big)
    line = one_line_error(cli(big, "ask", QUESTION, "--json"))
    assert reason in line and FIX in line


def test_missing_index_names_the_build_command(tmp_path: Path) -> None:
    settings = Settings(corpus_dir=SEED_CORPUS, index_dir=tmp_path / "index")
    assert "run `qabot index`" in one_line_error(cli(settings, "ask", QUESTION))


def test_corrupted_database_header_is_refused_in_one_line(big: Settings) -> None:
    """Same size and no checksum (a big index), so the size check passes; opening the index reads the
    database once."""
    flip(generation(big) / "store.sqlite", 0)
    line = one_line_error(cli(big, "ask", QUESTION, "--json"))
    assert "damaged" in line and FIX in line


def test_corrupted_database_pages_never_give_a_traceback(big: Settings) -> None:
    """Without a checksum (a big index), a damaged page is only found when a query reads it: a one-line
    error then, or a verbatim answer."""
    path = generation(big) / "store.sqlite"
    flip(path, path.stat().st_size // 2, 4096)
    result = cli(big, "ask", QUESTION, "--json")
    if result.exit_code != 0:
        assert FIX in one_line_error(result)
        return
    for quote in json.loads(result.stdout)["quotes"]:
        text = (big.corpus_dir / quote["source"]["path"]).read_text(encoding="utf-8")
        assert text[quote["start"] : quote["end"]] == quote["text"]


def test_manifest_missing_keys_is_refused_in_one_line(served: Settings) -> None:
    """A manifest of the right format number but without keys Index reads (hand-edited, another version)."""
    path = generation(served) / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["counts"]
    path.write_text(json.dumps(manifest))
    assert FIX in one_line_error(cli(served, "ask", QUESTION, "--json"))


def change_stored_text(settings: Settings) -> None:
    """A same-size edit inside a stored document's text: a figure the corpus file does not contain."""
    path = generation(settings) / "store.sqlite"
    data = path.read_bytes()
    assert data.count(b"approximately 10,000") >= 1
    path.write_bytes(data.replace(b"approximately 10,000", b"approximately 90,000"))


def test_a_changed_stored_text_is_never_quoted(served: Settings) -> None:
    """The seed index is under the checksum limit, so `qabot ask` checks sha256 on open and refuses."""
    change_stored_text(served)
    line = one_line_error(cli(served, "ask", QUESTION, "--json"))
    assert "store.sqlite is corrupted (checksum mismatch)" in line and FIX in line


def test_checksums_are_checked_up_to_the_limit_and_skipped_above_it(served: Settings) -> None:
    """The limit is inclusive; above it only sizes are checked, so the changed text is served (the
    documented cost of not hashing a big index on every open); `verify=True` checks whatever the size."""
    change_stored_text(served)
    total = store.artifact_bytes(store.read_manifest(generation(served)))
    for verify, limit in ((None, total), (True, 0), (None, None)):  # None: VERIFY_MAX_BYTES, 256 MB
        with pytest.raises(store.StoreError, match=r"checksum mismatch.*qabot index --full"):
            store.open_index(served, verify=verify, verify_max_bytes=limit)
    index = store.open_index(served, verify_max_bytes=total - 1)
    try:
        assert any(
            "approximately 90,000" in index.document(row).text for row in range(index.document_count())
        )
    finally:
        index.close()


def test_the_cli_skips_checksums_on_a_big_index(big: Settings) -> None:
    """Over the limit, `qabot ask` opens with sizes checked only (docs/reliability.md says so)."""
    change_stored_text(big)
    result = cli(big, "ask", QUESTION, "--json")
    assert result.exit_code == 0 and "90,000" in result.stdout


ARTIFACTS = ["store.sqlite", "chunks.npy", "sentences.npy", "chunks.faiss"]


@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_same_size_corruption_is_refused_by_checksums(served: Settings, artifact: str) -> None:
    """On an index under the limit the CLI, like every build, checks sha256 on open."""
    flip(generation(served) / artifact, -64, 64)
    with pytest.raises(store.StoreError, match=r"checksum mismatch.*qabot index --full"):
        store.open_index(served, verify=True)
    line = one_line_error(cli(served, "ask", QUESTION, "--json"))
    assert f"{artifact} is corrupted (checksum mismatch)" in line and FIX in line


@pytest.mark.parametrize("artifact", ["chunks.npy", "sentences.npy", "chunks.faiss"])
def test_same_size_vector_corruption_of_a_big_index_still_quotes_verbatim(
    big: Settings, artifact: str
) -> None:
    """Over the limit, corrupted vectors are not seen by `ask`; it still never gives a traceback or a
    quote that is not verbatim (quotes come from the database, the vectors only rank)."""
    flip(generation(big) / artifact, -64, 64)
    result = cli(big, "ask", QUESTION, "--json")
    if result.exit_code == 0:  # answered from the damaged vectors
        for quote in json.loads(result.stdout)["quotes"]:
            text = (big.corpus_dir / quote["source"]["path"]).read_text(encoding="utf-8")
            assert text[quote["start"] : quote["end"]] == quote["text"]
    else:
        assert FIX in one_line_error(result)


class PaddedSearch:
    """A FAISS index that pads with -1, as IVF and HNSW indexes do when they find fewer than k."""

    ntotal = 10

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        ids = np.full((1, k), -1, dtype=np.int64)
        scores = np.full((1, k), -np.finfo(np.float32).max, dtype=np.float32)
        ids[0, :2], scores[0, :2] = [7, 3], [0.9, 0.5]
        return scores, ids


def test_faiss_padding_ids_are_never_hits() -> None:
    index = SimpleNamespace(faiss=PaddedSearch())
    hits = retrieve.dense(index, np.ones(4, dtype=np.float32), 50)  # type: ignore[arg-type]
    assert [h.id for h in hits] == [7, 3]


def test_k_larger_than_the_index_returns_only_real_chunks(fresh_index: Settings) -> None:
    for file in fresh_index.corpus_dir.iterdir():
        file.unlink()
    (fresh_index.corpus_dir / "one.txt").write_text("Armenia hosts about 10,000 Russian troops.\n")
    store.build(fresh_index)
    index = store.open_index(fresh_index)
    try:
        assert index.faiss.ntotal == 1
        answerer = Answerer(index, min_confidence=0.0)
        vector = answerer.encoder.encode([QUESTION])[0]
        assert [h.id for h in retrieve.dense(index, vector, 50)] == [0]
        answer = answerer.answer(QUESTION, k=20)
        assert [q.text for q in answer.quotes] == ["Armenia hosts about 10,000 Russian troops."]
        assert_verbatim(answer, fresh_index.corpus_dir)
    finally:
        index.close()


def test_index_with_zero_chunks_never_cites(fresh_index: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every document segments to nothing: the build publishes a generation with no chunks at all.
    monkeypatch.setattr(store, "split", lambda text, path, start=0, syntax="": [])
    report = store.build(fresh_index)
    monkeypatch.undo()
    assert (report.documents, report.chunks, report.sentences) == (0, 0, 0)
    index = store.open_index(fresh_index, verify=True)
    try:
        assert index.faiss.ntotal == 0
        answerer = Answerer(index)
        assert retrieve.dense(index, answerer.encoder.encode([QUESTION])[0], 50) == []
        answer = answerer.answer(QUESTION)
        assert not answer.answered and answer.quotes == ()
    finally:
        index.close()
    result = cli(fresh_index, "ask", QUESTION, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["answered"] is False and data["quotes"] == []


# ---------------------------------------------------------------- concurrency


def test_answers_keep_coming_during_and_after_a_build(small: Settings) -> None:
    old_generation = store.build(small).generation
    old = store.open_index(small)
    answerer = Answerer(old)
    inside, answered = threading.Event(), threading.Event()

    def hold(label: str, total: int) -> None:  # called inside the build, with the lock held
        inside.set()
        answered.wait(60)

    reports: list[store.BuildReport] = []
    builder = threading.Thread(  # incremental: nothing to embed, but a whole new generation published
        target=lambda: reports.append(store.build(small, progress=store.Progress(hold)))
    )
    builder.start()
    try:
        assert inside.wait(60)
        during = answerer.answer(QUESTION)
        assert during.answered
        assert_verbatim(during, small.corpus_dir)
    finally:
        answered.set()
        builder.join(120)
    assert reports and reports[0].generation != old_generation
    # the old Index still answers after the switch: the previous generation is kept on disk
    assert old.path.is_dir()
    after = answerer.answer(QUESTION)
    assert after.answered and after.quotes == during.quotes
    new = store.open_index(small, verify=True)
    try:
        assert new.generation == reports[0].generation
        fresh = Answerer(new).answer(QUESTION)
        assert fresh.answered
        assert_verbatim(fresh, small.corpus_dir)
    finally:
        new.close()
        old.close()


def test_readers_opening_the_index_during_builds_always_get_a_whole_generation(
    small: Settings,
) -> None:
    store.build(small)
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: set[str] = set()

    def reader() -> None:
        while not stop.is_set():
            try:
                index = store.open_index(small)
                try:
                    seen.add(index.generation)
                    assert index.faiss.ntotal == index.manifest["counts"]["chunks"] > 0
                    assert index.document(0).text
                finally:
                    index.close()
            except BaseException as exc:  # collected for the main thread, which asserts on them
                errors.append(exc)
                return

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        last = [store.build(small).generation for _ in range(2)][-1]
        deadline = time.monotonic() + 30
        while last not in seen and not errors and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(60)
    assert errors == []
    assert last in seen and len(seen) >= 2


def test_a_second_build_is_refused_while_one_runs(small: Settings) -> None:
    inside, release = threading.Event(), threading.Event()

    def hold(label: str, total: int) -> None:
        inside.set()
        release.wait(60)

    reports: list[store.BuildReport] = []
    first = threading.Thread(target=lambda: reports.append(store.build(small, progress=store.Progress(hold))))
    first.start()
    try:
        assert inside.wait(60)
        with pytest.raises(store.StoreError, match="already running"):
            store.build(small)
        line = one_line_error(cli(small, "index"))
        assert "already running" in line
    finally:
        release.set()
        first.join(120)
    assert len(reports) == 1 and reports[0].documents == 1
    store.open_index(small, verify=True).close()


HOLD_LOCK = """
import fcntl, sys, time
handle = open(sys.argv[1], "a+")
fcntl.flock(handle, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(120)
"""


def test_lock_of_a_killed_build_does_not_block_the_next(small: Settings) -> None:
    lock = small.index_dir / ".lock"
    small.index_dir.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(store.StoreError, match="already running"):
            store.build(small)
    finally:
        holder.kill()
        holder.wait()
    assert lock.exists()  # the file stays; the kernel released the dead holder's flock
    report = store.build(small)
    assert report.documents == 1
    assert not list((small.index_dir / "generations").glob("*.tmp"))
