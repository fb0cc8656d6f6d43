"""Index generations: build one, publish it atomically, verify it, load it.

Layout of the index folder:

    CURRENT                  name of the generation being served (replaced atomically)
    generations/<name>/      manifest.json, store.sqlite, chunks.faiss, chunks.npy, sentences.npy
    models/<model key>/      the ONNX export of the embedding model, shared by generations
    .lock                    held (flock) by the one build allowed at a time

A build writes `generations/<name>.tmp/`, renames it into place and only then replaces CURRENT, so a
reader always sees a complete generation, old or new, whatever happens to the build.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from qabot import markup, vectors
from qabot.config import Settings
from qabot.corpus import Document, Problem, load_corpus
from qabot.models.encoder import OnnxEncoder, export_onnx, model_key
from qabot.text import SEGMENTER_VERSION, SENTENCE, Span, chunk_sections, split

FORMAT_VERSION = 1
ARTIFACTS = ("store.sqlite", "chunks.faiss", "chunks.npy", "sentences.npy")
KEEP_GENERATIONS = 2
TERM_CACHE = 200_000  # term counts an open index remembers (~30 MB at most)
SCOPES_KEPT = 64  # filters an open index remembers the documents and chunks of (Index.scope)
TITLE_TOKENS = 24  # room kept in each chunk for the title the chunk is embedded with
FIX = "run `qabot index --full` to rebuild it"
MANIFEST_KEYS = {"format", "generation", "model", "model_key", "dim", "counts", "artifacts"}
COUNT_KEYS = {"documents", "sentences", "chunks"}


class StoreError(RuntimeError):
    """The index is missing, broken, busy or does not match the settings; the message names the fix."""


@dataclass(frozen=True)
class DocumentParts:
    """A document cut into sentences and chunks (chunks index into `sentences`), and their vectors."""

    doc: Document
    sentences: list[Span]
    chunks: list[tuple[int, int]]
    sentence_vectors: np.ndarray | None = None
    chunk_vectors: np.ndarray | None = None


@dataclass(frozen=True)
class BuildReport:
    generation: str
    documents: int
    chunks: int
    sentences: int
    embedded_documents: int
    reused_documents: int
    removed_documents: int
    seconds: float
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Progress:
    """Callbacks a build reports through (the CLI draws them as a progress bar)."""

    start: Callable[[str, int], None] = lambda label, total: None
    advance: Callable[[int], None] = lambda n: None


# ---------------------------------------------------------------- build


def build(
    settings: Settings, full: bool = False, progress: Progress | None = None, wait: bool = False
) -> BuildReport:
    """Build a new generation from the corpus and publish it; reuse unchanged documents unless `full`.

    When another build holds the index, raise StoreError, or with `wait` (qabot.library's adds and
    removes, which must land) wait for it to finish.
    """
    progress = progress or Progress()
    began = time.perf_counter()
    index_dir = settings.index_dir
    index_dir.mkdir(parents=True, exist_ok=True)
    with _build_lock(index_dir, wait):
        _clean_leftovers(index_dir)
        loaded = load_corpus(settings.corpus_dir)
        if not loaded.documents:
            raise StoreError(f"no documents to index in {settings.corpus_dir} (.txt, .md or .jsonl)")
        key = model_key(settings.model)
        model_dir = export_onnx(settings.model, index_dir / "models" / key, threads=settings.threads)
        encoder = OnnxEncoder(model_dir, threads=settings.threads)
        params = _chunker_params(settings, encoder.max_seq_length)
        previous = None if full else _previous_parts(index_dir, key, params)
        parts, reused = _split(loaded.documents, previous or {}, encoder, params)
        _embed(parts, encoder, progress)
        removed = len(set(previous or {}) - {p.doc.id for p in parts})
        name = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        manifest = _write_generation(index_dir, name, parts, settings, key, params, encoder)
        _publish(index_dir, name)
        _prune(index_dir, keep=name)
    return BuildReport(
        generation=name,
        documents=len(parts),
        chunks=manifest["counts"]["chunks"],
        sentences=manifest["counts"]["sentences"],
        embedded_documents=len(parts) - reused,
        reused_documents=reused,
        removed_documents=removed,
        seconds=time.perf_counter() - began,
        problems=loaded.problems,
    )


@contextmanager
def _build_lock(index_dir: Path, wait: bool = False) -> Iterator[None]:
    # flock is released by the kernel when its holder dies, so a killed build never leaves a stale lock.
    with open(index_dir / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError("another `qabot index` is already running on this index") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _chunker_params(settings: Settings, max_seq_length: int) -> dict[str, int]:
    budget = min(settings.chunk_tokens, max_seq_length - 2) - TITLE_TOKENS
    return {
        "chunk_tokens": max(budget, 8),
        "overlap": settings.chunk_overlap,
        "format": FORMAT_VERSION,
        "segmenter": SEGMENTER_VERSION,
    }


def _split(
    documents: Sequence[Document],
    previous: dict[str, DocumentParts],
    encoder: OnnxEncoder,
    params: dict[str, int],
) -> tuple[list[DocumentParts], int]:
    parts: list[DocumentParts] = []
    reused = 0
    for doc in documents:
        old = previous.get(doc.id)
        if old is not None and (old.doc.sha256, old.doc.title, old.doc.syntax) == (
            doc.sha256,
            doc.title,
            doc.syntax,
        ):
            parts.append(
                DocumentParts(doc, old.sentences, old.chunks, old.sentence_vectors, old.chunk_vectors)
            )
            reused += 1
            continue
        sentences = split(doc.text, doc.path, doc.body_start, doc.syntax)
        if not sentences:
            continue
        counts = encoder.count_tokens([embedded_text(doc, s) for s in sentences])
        chunks = chunk_sections(sentences, counts, params["chunk_tokens"], params["overlap"])
        parts.append(DocumentParts(doc, sentences, chunks))
    return parts, reused


def chunk_text(doc: Document, sentences: Sequence[Span], first: int, last: int) -> str:
    """What a chunk of an unstructured document is embedded as: the title, then its sentences."""
    return f"{doc.title}\n{doc.text[sentences[first].start : sentences[last].end]}"


def keyword_title(doc: Document, span: Span) -> str:
    """The title a chunk is keyword-indexed under (weighted double): in a structured document with the
    section path of its first unit, so that the headings above a passage count as evidence for it."""
    return markup.section_path(doc.title, span.section)


def embedded_text(doc: Document, span: Span) -> str:
    """What a unit is embedded as: its text, in structured documents without link targets and tags."""
    text = doc.text[span.start : span.end]
    if doc.syntax == markup.ASCIIDOC:
        from qabot.asciidoc import plain

        return plain(text)
    return markup.plain(text) if markup.structured(doc.syntax) else text


def _embed(parts: list[DocumentParts], encoder: OnnxEncoder, progress: Progress) -> None:
    """Vectors for the units and chunks of every part that has none yet.

    A structured document's chunk vector is the mean of its units' vectors (see `_mean_chunks`), so only
    its units go through the model; other documents' chunks are embedded as `chunk_text`.
    """
    todo = [i for i, p in enumerate(parts) if p.chunk_vectors is None]
    embedded = [i for i in todo if not markup.structured(parts[i].doc.syntax)]
    chunk_texts = [
        chunk_text(parts[i].doc, parts[i].sentences, a, b) for i in embedded for a, b in parts[i].chunks
    ]
    sentence_texts = [embedded_text(parts[i].doc, s) for i in todo for s in parts[i].sentences]
    progress.start("embedding", len(chunk_texts) + len(sentence_texts))
    chunk_vectors = encoder.encode(chunk_texts, progress.advance)
    sentence_vectors = encoder.encode(sentence_texts, progress.advance)
    c = s = 0
    for i in todo:
        p = parts[i]
        units = sentence_vectors[s : s + len(p.sentences)]
        if i in embedded:
            chunks = chunk_vectors[c : c + len(p.chunks)]
            c += len(p.chunks)
        else:
            chunks = _mean_chunks(units, p.chunks)
        parts[i] = DocumentParts(p.doc, p.sentences, p.chunks, units, chunks)
        s += len(p.sentences)


def _mean_chunks(units: np.ndarray, chunks: Sequence[tuple[int, int]]) -> np.ndarray:
    """Each chunk's vector as the normalised mean of its units' vectors.

    For documentation: embedding chunks as well as units was half of the build's model work (393k word
    pieces of 700k on the FastAPI docs), and the mean did as well there (top-1 -2, top-3 +5 of 96
    questions; docs/benchmarks.md, "Documentation").
    """
    if not chunks:
        return np.zeros((0, units.shape[1]), dtype=np.float32)
    means = np.stack([units[a : b + 1].mean(axis=0) for a, b in chunks])
    norms = np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    return np.asarray(means / norms, dtype=np.float32)


FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"  # qabot.bm25 tokenizes as this does
SCHEMA = f"""
CREATE TABLE documents(
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, path TEXT NOT NULL, title TEXT NOT NULL,
    date TEXT, url TEXT, meta TEXT NOT NULL, sha256 TEXT NOT NULL, body_start INTEGER NOT NULL,
    text TEXT NOT NULL);
CREATE TABLE sentences(rowid INTEGER PRIMARY KEY, doc INTEGER NOT NULL, start INTEGER NOT NULL,
    end INTEGER NOT NULL);
CREATE INDEX sentences_doc ON sentences(doc);
CREATE TABLE chunks(rowid INTEGER PRIMARY KEY, doc INTEGER NOT NULL, first INTEGER NOT NULL,
    last INTEGER NOT NULL);
CREATE VIRTUAL TABLE chunk_fts USING fts5(title, body, tokenize='{FTS_TOKENIZER}');
CREATE VIRTUAL TABLE sentence_fts USING fts5(body, tokenize='{FTS_TOKENIZER}');
CREATE TABLE units(rowid INTEGER PRIMARY KEY, kind TEXT NOT NULL, section TEXT NOT NULL,
    cut INTEGER NOT NULL);
"""
# `units` holds a row only for a sentence id that is more than a plain sentence (a heading, a code block,
# a sentence under a section of a Markdown or reST document): none at all for .txt corpora.


def _write_generation(
    index_dir: Path,
    name: str,
    parts: list[DocumentParts],
    settings: Settings,
    key: str,
    params: dict[str, int],
    encoder: OnnxEncoder,
) -> dict[str, Any]:
    import faiss

    dim = encoder.dim
    final = index_dir / "generations" / name
    tmp = final.with_name(name + ".tmp")
    tmp.mkdir(parents=True)
    db = sqlite3.connect(tmp / "store.sqlite")
    db.executescript(SCHEMA)
    sentence_id = chunk_id = 0
    for doc_row, p in enumerate(parts):
        d = p.doc
        db.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                doc_row,
                d.id,
                d.path,
                d.title,
                d.date,
                d.url,
                json.dumps(d.meta),
                d.sha256,
                d.body_start,
                d.text,
            ),
        )
        db.executemany(
            "INSERT INTO sentences VALUES (?,?,?,?)",
            [(sentence_id + i, doc_row, s.start, s.end) for i, s in enumerate(p.sentences)],
        )
        db.executemany(
            "INSERT INTO units VALUES (?,?,?,?)",
            [
                (sentence_id + i, s.kind, json.dumps(s.section, ensure_ascii=False), int(s.cut))
                for i, s in enumerate(p.sentences)
                if s.kind != SENTENCE or s.section or s.cut
            ],
        )
        db.executemany(
            "INSERT INTO sentence_fts(rowid, body) VALUES (?,?)",
            [(sentence_id + i, d.text[s.start : s.end]) for i, s in enumerate(p.sentences)],
        )
        db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?)",
            [(chunk_id + i, doc_row, sentence_id + a, sentence_id + b) for i, (a, b) in enumerate(p.chunks)],
        )
        db.executemany(
            "INSERT INTO chunk_fts(rowid, title, body) VALUES (?,?,?)",
            [
                (
                    chunk_id + i,
                    keyword_title(d, p.sentences[a]),
                    d.text[p.sentences[a].start : p.sentences[b].end],
                )
                for i, (a, b) in enumerate(p.chunks)
            ],
        )
        sentence_id += len(p.sentences)
        chunk_id += len(p.chunks)
    db.commit()
    db.close()
    chunk_vectors = _stack([p.chunk_vectors for p in parts], dim)
    sentence_vectors = _stack([p.sentence_vectors for p in parts], dim)
    np.save(tmp / "chunks.npy", chunk_vectors)
    np.save(tmp / "sentences.npy", sentence_vectors)
    vectors.set_threads(settings.threads)  # building an HNSW graph uses every thread it is given
    index = vectors.make_index(chunk_vectors)  # exact below vectors.FLAT_MAX chunks, HNSW above
    faiss.write_index(index, str(tmp / "chunks.faiss"))
    manifest = {
        "format": FORMAT_VERSION,
        "generation": name,
        "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": settings.model,
        "model_key": key,
        "dim": dim,
        "max_seq_length": encoder.max_seq_length,
        "chunker": params,
        "faiss_index": vectors.describe(index),  # e.g. "IndexHNSWFlat(M=32,ef=128)"
        "counts": {"documents": len(parts), "sentences": sentence_id, "chunks": chunk_id},
        "documents": {p.doc.id: p.doc.sha256 for p in parts},
        "corpus_dir": str(settings.corpus_dir),
        "artifacts": {n: _file_digest(tmp / n) for n in ARTIFACTS},
        "versions": _versions(),
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
    _fsync_tree(tmp)
    os.replace(tmp, final)
    _fsync_dir(final.parent)  # the rename is durable before CURRENT can name it
    return manifest


def _stack(arrays: Sequence[np.ndarray | None], dim: int) -> np.ndarray:
    present = [a for a in arrays if a is not None and len(a)]
    if not present:
        return np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(present).astype(np.float32))


def _file_digest(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in ("qabot", "sentence-transformers", "faiss-cpu", "onnxruntime", "tokenizers", "numpy"):
        with suppress(metadata.PackageNotFoundError):
            out[package] = metadata.version(package)
    return out


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(index_dir: Path, name: str) -> None:
    tmp = index_dir / "CURRENT.tmp"
    with open(tmp, "w") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / "CURRENT")
    _fsync_dir(index_dir)


def _clean_leftovers(index_dir: Path) -> None:
    """Remove what a killed build left behind (only ever called while holding the build lock)."""
    for leftover in (index_dir / "generations").glob("*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in (index_dir / "models").glob("*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)
    (index_dir / "CURRENT.tmp").unlink(missing_ok=True)


def _prune(index_dir: Path, keep: str) -> None:
    """Keep the new generation and the one before it (readers may still hold it open)."""
    generations = sorted(p for p in (index_dir / "generations").iterdir() if p.is_dir())
    survivors = {keep, *[p.name for p in generations if p.name != keep][-(KEEP_GENERATIONS - 1) :]}
    for path in generations:
        if path.name not in survivors:
            shutil.rmtree(path, ignore_errors=True)


def _previous_parts(index_dir: Path, key: str, params: dict[str, int]) -> dict[str, DocumentParts] | None:
    """The served generation's documents, for reuse when model and chunker are unchanged."""
    try:
        index = open_index_dir(index_dir, verify=True)
    except StoreError:
        return None
    try:
        if index.manifest.get("model_key") != key or index.manifest.get("chunker") != params:
            return None
        return index.all_parts()
    finally:
        index.close()


# ---------------------------------------------------------------- load


@dataclass(frozen=True)
class SentenceRow:
    id: int
    doc: int
    start: int
    end: int


@dataclass(frozen=True)
class Unit:
    """What a sentence id is beyond its offsets: its kind (text.SENTENCE, markup.HEADING, markup.CODE,
    text.INTRO, …), the section path above it, and whether its block continues in the next unit."""

    kind: str
    section: tuple[str, ...]
    cut: bool = False


@dataclass(frozen=True)
class ChunkRow:
    id: int
    doc: int
    first: int
    last: int


@dataclass(frozen=True)
class DocumentRow:
    """A document's citation fields, without its text (see `Index.sources`)."""

    row: int
    id: str
    title: str
    path: str
    date: str | None
    url: str | None


@dataclass(frozen=True)
class Scope:
    """The documents a question is limited to (by date or source), and their chunks."""

    docs: tuple[int, ...]
    chunks: np.ndarray  # chunk ids, ascending

    @property
    def docs_json(self) -> str:
        return json.dumps(list(self.docs))


class Index:
    """One published generation, opened read-only."""

    def __init__(self, index_dir: Path, path: Path, manifest: dict[str, Any]) -> None:
        self.index_dir = index_dir
        self.path = path
        self.manifest = manifest
        self.db = sqlite3.connect(
            f"file:{path / 'store.sqlite'}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        try:
            self.db.execute("SELECT count(*) FROM documents").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"the index database at {path} is damaged ({exc}); {FIX}") from None
        # FAISS's vectors are mapped from the file (page cache, shared and reclaimable) and .npy rows are
        # read on demand: np.load(mmap_mode="r") let fault-around pull most of sentences.npy into this
        # process's resident memory, 548 MB against 360 MB at 100k chunks (docs/performance.md).
        try:
            self.faiss = vectors.tune(vectors.read_index(path / "chunks.faiss"))
            self.sentence_vectors = vectors.VectorFile(path / "sentences.npy")
            self.chunk_vectors = vectors.VectorFile(path / "chunks.npy")
        except (RuntimeError, ValueError, OSError) as exc:
            self.close()
            raise StoreError(f"the index at {path} cannot be read ({exc}); {FIX}") from None
        vectors.set_threads(1)  # serving searches one query at a time: a second OpenMP thread only costs
        counts = manifest["counts"]
        if (
            self.faiss.ntotal != counts["chunks"]
            or self.faiss.d != manifest["dim"]
            or self.sentence_vectors.shape != (counts["sentences"], manifest["dim"])
            or self.chunk_vectors.shape != (counts["chunks"], manifest["dim"])
        ):
            self.close()
            raise StoreError(f"the index at {path} is inconsistent with its manifest; {FIX}")
        self._encoder: OnnxEncoder | None = None
        self._vocabularies: set[str] = set()
        self._mean_tokens: dict[str, float] = {}
        # filters -> Scope: a channel's or a project's filter comes back question after question, and
        # working one out reads every document's path and every chunk's row (45 ms at 100k chunks)
        self._scopes: dict[tuple[str | None, str | None, tuple[str, ...]], Scope] = {}
        self._scopes_lock = threading.Lock()
        # (table, term) -> rows holding it; a generation never changes, and the answer path asks for the
        # same terms more than once (the keyword feature and the IDF feature, and question after question)
        self._term_rows: dict[tuple[str, str], int] = {}
        self._documents: dict[int, Document] = {}

    @property
    def generation(self) -> str:
        return str(self.manifest["generation"])

    def encoder(self, threads: int = 2) -> OnnxEncoder:
        if self._encoder is None:
            model_dir = self.index_dir / "models" / self.manifest["model_key"]
            if not (model_dir / "spec.json").exists():
                raise StoreError(f"the model export {model_dir} is missing; {FIX}")
            self._encoder = OnnxEncoder(model_dir, threads=threads)
        return self._encoder

    def document(self, row: int) -> Document:
        doc = self._documents.get(row)
        if doc is None:
            r = self.db.execute(
                "SELECT id, path, title, text, body_start, date, url, meta FROM documents WHERE rowid=?",
                (row,),
            ).fetchone()
            doc = Document(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]))
            self._documents[row] = doc
        return doc

    def find_document(self, wanted: str) -> Document | None:
        """The document whose id, path or file stem is `wanted` (ids first: jsonl records share a path)."""
        for sql in ("SELECT rowid FROM documents WHERE id = ?", "SELECT rowid FROM documents WHERE path = ?"):
            row = self.db.execute(sql, (wanted,)).fetchone()
            if row:
                return self.document(row[0])
        for row, path in self.db.execute("SELECT rowid, path FROM documents"):
            if Path(path).stem == wanted:
                return self.document(row)
        return None

    def document_count(self) -> int:
        return int(self.manifest["counts"]["documents"])

    def chunk_count(self) -> int:
        return int(self.manifest["counts"]["chunks"])

    def chunks(self, ids: Sequence[int]) -> list[ChunkRow]:
        rows = self.db.execute(
            f"SELECT rowid, doc, first, last FROM chunks WHERE rowid IN ({','.join('?' * len(ids))})",
            list(ids),
        ).fetchall()
        by_id = {r[0]: ChunkRow(*r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def scope(self, since: str | None = None, until: str | None = None, sources: Sequence[str] = ()) -> Scope:
        """Documents dated within [since, until] (ISO dates; undated ones are out when either is given)
        whose id, file stem or path matches one of `sources` (a path matches its folders too)."""
        key = (since, until, tuple(sources))
        with self._scopes_lock:  # the bot answers in worker threads
            if key not in self._scopes:
                while self._scopes and len(self._scopes) >= SCOPES_KEPT:
                    self._scopes.pop(next(iter(self._scopes)))  # the oldest
                self._scopes[key] = self._scope(since, until, sources)
            return self._scopes[key]

    def _scope(self, since: str | None, until: str | None, sources: Sequence[str]) -> Scope:
        where, params = [], []
        if since:
            where.append("date IS NOT NULL AND date >= ?")
            params.append(since)
        if until:
            where.append("date IS NOT NULL AND date <= ?")
            params.append(until)
        sql = "SELECT rowid, id, path FROM documents" + (" WHERE " + " AND ".join(where) if where else "")
        docs = [
            row
            for row, doc_id, path in self.db.execute(sql, params)
            if not sources or any(_source_matches(s, doc_id, path) for s in sources)
        ]
        chunks = self.db.execute(
            "SELECT rowid FROM chunks WHERE doc IN (SELECT value FROM json_each(?)) ORDER BY rowid",
            (json.dumps(docs),),
        ).fetchall()
        ids = np.array([c[0] for c in chunks], dtype=np.int64)
        ids.setflags(write=False)  # shared by every question asked with the same filters
        return Scope(tuple(docs), ids)

    def sentence_frequency(self, stems: Sequence[str]) -> tuple[dict[str, int], int]:
        """How many sentences hold each (porter-stemmed) term, and how many sentences there are."""
        return self._frequency("sentence_fts", stems), int(self.manifest["counts"]["sentences"])

    def chunk_frequency(self, stems: Sequence[str]) -> tuple[dict[str, int], int]:
        """How many chunks hold each (porter-stemmed) term in title or body, and how many chunks there are."""
        return self._frequency("chunk_fts", stems), int(self.manifest["counts"]["chunks"])

    def _frequency(self, fts: str, stems: Sequence[str]) -> dict[str, int]:
        vocabulary = f"temp.{fts}_vocab"  # a TEMP table: the generation's database stays read-only
        if fts not in self._vocabularies:  # two threads may both get here: IF NOT EXISTS makes that safe
            self.db.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {vocabulary} USING fts5vocab(main, {fts}, row)"
            )
            self._vocabularies.add(fts)
        found = {}
        for term in dict.fromkeys(stems):
            rows = self._term_rows.get((fts, term))
            if rows is None:
                # One lookup per term: SQLite does not hand `term IN (...)` to fts5vocab, which then walks
                # a range of the vocabulary (p95 4.4 ms against 1 ms at 100k chunks).
                row = self.db.execute(f"SELECT doc FROM {vocabulary} WHERE term = ?", (term,)).fetchone()
                rows = int(row[0]) if row else 0
                if len(self._term_rows) >= TERM_CACHE:
                    self._term_rows.clear()  # a bound on memory; refilling costs a lookup per term
                self._term_rows[fts, term] = rows
            if rows:
                found[term] = rows
        return found

    def mean_tokens(self, fts: str) -> float:
        """Tokens per row of an FTS5 table (all columns), as its `bm25()` divides row lengths by."""
        if fts not in self._mean_tokens:
            # FTS5 keeps the row count and each column's token total in record 1 of its data table
            found = self.db.execute(f"SELECT block FROM {fts}_data WHERE id = 1").fetchone()
            record = found[0] if found else b"\x00"  # an empty table may have no record yet
            rows, at = _fts5_varint(record, 0)
            tokens = 0
            while at < len(record):
                column, at = _fts5_varint(record, at)
                tokens += column
            self._mean_tokens[fts] = tokens / rows if rows else 1.0
        return self._mean_tokens[fts]

    def sentence_rows(self, ids: Sequence[int]) -> list[SentenceRow]:
        rows = self.db.execute(
            f"SELECT rowid, doc, start, end FROM sentences WHERE rowid IN ({','.join('?' * len(ids))})",
            list(ids),
        ).fetchall()
        return [SentenceRow(*r) for r in rows]

    def sentences(self, first: int, last: int) -> list[SentenceRow]:
        rows = self.db.execute(
            "SELECT rowid, doc, start, end FROM sentences WHERE rowid BETWEEN ? AND ? ORDER BY rowid",
            (first, last),
        ).fetchall()
        return [SentenceRow(*r) for r in rows]

    def all_parts(self) -> dict[str, DocumentParts]:
        """Every document with its sentences, chunks and vectors (for incremental builds)."""
        out: dict[str, DocumentParts] = {}
        sentences: dict[int, list[SentenceRow]] = {}
        for r in self.db.execute("SELECT rowid, doc, start, end FROM sentences ORDER BY rowid"):
            sentences.setdefault(r[1], []).append(SentenceRow(*r))
        info = self.units([s.id for rows in sentences.values() for s in rows])
        chunks: dict[int, list[ChunkRow]] = {}
        for r in self.db.execute("SELECT rowid, doc, first, last FROM chunks ORDER BY rowid"):
            chunks.setdefault(r[1], []).append(ChunkRow(*r))
        for (row,) in self.db.execute("SELECT rowid FROM documents ORDER BY rowid").fetchall():
            doc = self.document(row)
            srows, crows = sentences.get(row, []), chunks.get(row, [])
            if not srows or not crows:
                continue
            base = srows[0].id
            out[doc.id] = DocumentParts(
                doc,
                [self._span(s, info.get(s.id)) for s in srows],
                [(c.first - base, c.last - base) for c in crows],
                np.array(self.sentence_vectors[base : srows[-1].id + 1]),
                np.array(self.chunk_vectors[crows[0].id : crows[-1].id + 1]),
            )
        return out

    @staticmethod
    def _span(row: SentenceRow, info: Unit | None) -> Span:
        if info is None:
            return Span(row.start, row.end)
        return Span(row.start, row.end, info.kind, info.section, info.cut)

    def units(self, ids: Sequence[int]) -> dict[int, Unit]:
        """What kind of unit each of these sentence ids is, and its section path; plain sentences of
        unstructured documents are left out (as are all of an index built before units were stored)."""
        if not ids:
            return {}
        try:
            rows = self.db.execute(
                "SELECT rowid, kind, section, cut FROM units WHERE rowid IN (SELECT value FROM json_each(?))",
                (json.dumps(list(ids)),),
            ).fetchall()
        except sqlite3.OperationalError:  # no units table: built by a qabot before it had one
            return {}
        return {r[0]: Unit(r[1], tuple(json.loads(r[2])), bool(r[3])) for r in rows}

    def close(self) -> None:
        self.db.close()
        for name in ("sentence_vectors", "chunk_vectors"):  # absent when opening failed half-way
            opened = getattr(self, name, None)
            if opened is not None:
                opened.close()

    def sources(self) -> list[DocumentRow]:
        """Every indexed document's citation fields (id, title, path, date, url), in index order.

        Reads no document text, so it stays cheap on large corpora.
        """
        rows = self.db.execute("SELECT rowid, id, title, path, date, url FROM documents ORDER BY rowid")
        return [DocumentRow(*r) for r in rows]

    def window(self, doc_id: str, start: int, end: int, n: int) -> tuple[str, str] | None:
        """The verbatim text around the sentence `start:end` of document `doc_id`, `n` sentences each side.

        Returns (text from the first of the `n` sentences before up to `start`, text from `end` to the
        last of the `n` sentences after), within the one document; None when that document has no
        sentence at exactly these offsets (it changed, or left the index, since they were read).
        """
        row = self.db.execute(
            "SELECT s.rowid, s.doc FROM sentences AS s JOIN documents AS d ON d.rowid = s.doc"
            " WHERE d.id = ? AND s.start = ? AND s.end = ?",
            (doc_id, start, end),
        ).fetchone()
        if row is None:
            return None
        sentence, doc = row
        n = max(n, 0)
        rows = [s for s in self.sentences(sentence - n, sentence + n) if s.doc == doc]
        text = self.document(doc).text
        return text[rows[0].start : start], text[end : rows[-1].end]


def _fts5_varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's variable-length integer at `data[at]` (7 bits a byte, high bit set while more follow; a
    ninth byte gives 8 bits) and the offset after it."""
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


def _source_matches(wanted: str, doc_id: str, path: str) -> bool:
    wanted = wanted.strip().strip("/")
    # os.path rather than Path(path).stem: this runs for every document of the index on a scoped question
    stem = os.path.splitext(os.path.basename(path))[0]
    return wanted in (doc_id, path, stem) or path.startswith(wanted + "/")


def current_generation(index_dir: Path) -> Path:
    try:
        name = (index_dir / "CURRENT").read_text().strip()
    except FileNotFoundError:
        raise StoreError(f"no index in {index_dir}: run `qabot index` to build it") from None
    path = index_dir / "generations" / name
    if not name or not path.is_dir():
        raise StoreError(f"the index in {index_dir} points to a missing generation '{name}'; {FIX}")
    return path


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (OSError, json.JSONDecodeError):
        raise StoreError(f"the manifest of {path} is missing or unreadable; {FIX}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise StoreError(f"the index at {path} has an unknown format; {FIX}")
    counts = manifest.get("counts")
    complete = isinstance(counts, dict) and COUNT_KEYS.issubset(counts)
    if not MANIFEST_KEYS.issubset(manifest) or not complete:
        raise StoreError(f"the manifest of {path} is incomplete; {FIX}")
    return manifest


# sha256 runs at about 1 GB/s on the design machine: checking at most this much on every open costs at
# most a quarter of a second (0.6 ms on the seed index, 21 ms on SQuAD); past it, a cold `qabot ask`
# would double, so sizes only (docs/reliability.md, "Should the CLI verify checksums?").
VERIFY_MAX_BYTES = 256 << 20


def verify_artifacts(path: Path, manifest: dict[str, Any], checksums: bool) -> None:
    """Sizes always (cheap: catches truncation); sha256 too when `checksums` (catches corruption)."""
    for name, expected in manifest.get("artifacts", {}).items():
        file = path / name
        if not file.is_file():
            raise StoreError(f"the index file {file} is missing; {FIX}")
        if file.stat().st_size != expected["bytes"]:
            raise StoreError(f"the index file {file} has the wrong size (truncated?); {FIX}")
        if checksums and _file_digest(file)["sha256"] != expected["sha256"]:
            raise StoreError(f"the index file {file} is corrupted (checksum mismatch); {FIX}")


def artifact_bytes(manifest: dict[str, Any]) -> int:
    """What the generation's artifacts total, as its manifest records them."""
    return sum(int(a["bytes"]) for a in manifest.get("artifacts", {}).values())


def open_index_dir(index_dir: Path, verify: bool | None = None, verify_max_bytes: int | None = None) -> Index:
    """The served generation, its artifacts checked first: sizes always; sha256 too when `verify` is
    True, or when it is None (the default) and they total at most `verify_max_bytes` (VERIFY_MAX_BYTES).

    Nothing is remembered between opens: every process checks what it is about to read.
    """
    path = current_generation(index_dir)
    manifest = read_manifest(path)
    if verify is None:
        limit = VERIFY_MAX_BYTES if verify_max_bytes is None else verify_max_bytes
        verify = artifact_bytes(manifest) <= limit
    verify_artifacts(path, manifest, checksums=verify)
    return Index(index_dir, path, manifest)


def open_index(settings: Settings, verify: bool | None = None, verify_max_bytes: int | None = None) -> Index:
    """The served generation, after checking it was built with the configured model (`verify` and
    `verify_max_bytes` as for `open_index_dir`)."""
    index = open_index_dir(settings.index_dir, verify=verify, verify_max_bytes=verify_max_bytes)
    if index.manifest["model"] != settings.model:
        index.close()
        raise StoreError(
            f"the index was built with model '{index.manifest['model']}' but the settings ask for "
            f"'{settings.model}'; {FIX}"
        )
    return index
