from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from qabot import store
from qabot.answer import Answerer
from qabot.config import Settings
from qabot.models.encoder import OnnxEncoder


def test_manifest_describes_the_build(seed_settings: Settings) -> None:
    index = store.open_index(seed_settings, verify=True)
    manifest = index.manifest
    assert manifest["model"] == "all-MiniLM-L6-v2"
    assert manifest["dim"] == 384
    assert manifest["max_seq_length"] == 256
    assert manifest["counts"]["documents"] == 5
    assert manifest["counts"]["chunks"] == index.faiss.ntotal > 5
    assert set(manifest["artifacts"]) == set(store.ARTIFACTS)
    assert {"sentence-transformers", "faiss-cpu", "onnxruntime"} <= set(manifest["versions"])
    assert manifest["chunker"]["overlap"] == 1
    assert manifest["faiss_index"] == "IndexFlatIP"  # exact search at this size (vectors.FLAT_MAX)
    index.close()


def test_serving_maps_no_npy_file_and_close_releases_them(seed_settings: Settings) -> None:
    maps, fds = Path("/proc/self/maps"), Path("/proc/self/fd")
    if not maps.exists():
        pytest.skip("needs /proc")
    generation = store.current_generation(seed_settings.index_dir)
    npy = {str(generation / name) for name in ("sentences.npy", "chunks.npy")}

    def npy_handles() -> int:  # other tests' open indexes may hold the same files
        return sum(1 for fd in fds.iterdir() if _target(fd) in npy)

    before = npy_handles()
    index = store.open_index(seed_settings)
    Answerer(index).answer("How many Russian troops does Armenia host?")
    # rows are read on demand (pread), so pages never stay in this process's resident memory
    assert not any(name in maps.read_text() for name in npy)
    assert npy_handles() == before + 2
    index.close()
    assert npy_handles() == before


def _target(fd: Path) -> str:
    try:
        return os.readlink(fd)
    except OSError:  # closed meanwhile
        return ""


def test_every_stored_sentence_is_its_document_text(seed_settings: Settings) -> None:
    index = store.open_index(seed_settings)
    for parts in index.all_parts().values():
        for span in parts.sentences:
            piece = parts.doc.text[span.start : span.end]
            assert piece.strip() == piece and piece
            assert span.start >= parts.doc.body_start
    index.close()


def test_incremental_build_embeds_only_what_changed(fresh_index: Settings) -> None:
    first = store.build(fresh_index)
    assert (first.embedded_documents, first.reused_documents) == (5, 0)
    corpus = fresh_index.corpus_dir
    changed = corpus / "armenia-and-russia-enhance-defense-cooperation.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\nA new closing sentence.\n", encoding="utf-8")
    (corpus / "russia-considers-armenia-strategic-ally.txt").unlink()
    (corpus / "extra.md").write_text("# Extra\n\nThe base has a new commander.\n", encoding="utf-8")
    second = store.build(fresh_index)
    assert (second.embedded_documents, second.reused_documents, second.removed_documents) == (2, 3, 1)
    assert second.documents == 5
    full = store.build(fresh_index, full=True)
    assert (full.embedded_documents, full.reused_documents) == (5, 0)
    # the reused vectors equal freshly computed ones
    a = store.open_index(fresh_index)
    assert a.chunk_vectors.shape[0] == full.chunks


def test_failed_build_leaves_the_previous_generation_serving(
    fresh_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = store.build(fresh_index)
    (fresh_index.corpus_dir / "new.txt").write_text("Something new to embed.", encoding="utf-8")

    def broken(self: OnnxEncoder, texts: object, progress: object = None) -> object:
        raise RuntimeError("power cut")

    monkeypatch.setattr(OnnxEncoder, "encode", broken)
    with pytest.raises(RuntimeError, match="power cut"):
        store.build(fresh_index)
    monkeypatch.undo()
    index = store.open_index(fresh_index, verify=True)
    assert index.generation == good.generation
    index.close()
    assert store.build(fresh_index).documents == 6


def test_leftovers_of_a_killed_build_are_cleaned(fresh_index: Settings) -> None:
    store.build(fresh_index)
    leftover = fresh_index.index_dir / "generations" / "20990101T000000000000Z.tmp"
    leftover.mkdir()
    (leftover / "store.sqlite").write_bytes(b"half")
    store.build(fresh_index)
    assert not leftover.exists()
    assert len(list((fresh_index.index_dir / "generations").iterdir())) == store.KEEP_GENERATIONS


def test_model_mismatch_is_refused_in_one_sentence(seed_settings: Settings) -> None:
    other = seed_settings.model_copy(update={"model": "sentence-transformers/all-mpnet-base-v2"})
    with pytest.raises(store.StoreError) as caught:
        store.open_index(other)
    message = str(caught.value)
    assert "built with model 'all-MiniLM-L6-v2'" in message
    assert "qabot index --full" in message and "\n" not in message


def test_missing_index_says_how_to_build(tmp_path: object) -> None:
    settings = Settings(index_dir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(store.StoreError, match="run `qabot index`"):
        store.open_index(settings)


@pytest.mark.parametrize("damage", ["truncate", "corrupt", "delete"])
def test_damaged_artifacts_are_detected(fresh_index: Settings, damage: str) -> None:
    store.build(fresh_index)
    path = store.current_generation(fresh_index.index_dir) / "chunks.npy"
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "corrupt":
        path.write_bytes(data[:-8] + b"\x7f" * 8)
    else:
        path.unlink()
    with pytest.raises(store.StoreError, match="qabot index --full"):
        store.open_index(fresh_index, verify=True)


def test_manifest_from_another_format_is_refused(fresh_index: Settings) -> None:
    store.build(fresh_index)
    manifest_path = store.current_generation(fresh_index.index_dir) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format"] = 99
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(store.StoreError, match="unknown format"):
        store.open_index(fresh_index)


def test_two_builds_never_run_at_once(fresh_index: Settings) -> None:
    fresh_index.index_dir.mkdir(parents=True, exist_ok=True)
    with open(fresh_index.index_dir / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(store.StoreError, match="already running"):
            store.build(fresh_index)


def test_empty_corpus_is_an_error_and_builds_nothing(fresh_index: Settings) -> None:
    for file in fresh_index.corpus_dir.iterdir():
        file.unlink()
    with pytest.raises(store.StoreError, match="no documents"):
        store.build(fresh_index)
    assert not (fresh_index.index_dir / "CURRENT").exists()
