"""Search at 10k, 100k and (with --million) 1M vectors, and the full answer path on large synthetic indexes.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.scale              # 10k and 100k, a few minutes
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.scale --million    # adds 1M vectors (~6 minutes more)

Part 1, vector search. Synthetic L2-normalised vectors that follow real ones: MiniLM vectors of the SQuAD
dev-a sentences (embedded at the start, ~5,500; `--sentences N` takes N of them), mixed pairwise with near
neighbours plus noise (see `manifold`); uniform random vectors would have no near neighbours and make every
index look bad. For each size: exact search (IndexFlatIP, the baseline), `qabot.vectors.make_index` forced
to HNSW over a sweep of efSearch, and IVF for comparison; build time, bytes per million vectors,
single-query p50/p95 latency on --threads FAISS threads (2), recall@10 and @50 against exact search, and
speed-up over exact search.

Part 2, the answer path. Generations in the real on-disk format (written by qabot.store's own writer) with
10k and 100k chunks of real sentences (SQuAD and SciFact text, reused) and synthetic vectors. A child
process opens each like `qabot chat` does and times `Answerer.answer` over real SQuAD questions (p50/p95),
with the query encoding alone as the same-run baseline, then reports its resident memory and the time
spent in retrieval and scoring steps. Each size is served with its chunks in exact search and in HNSW;
--budgets adds runs of the largest with other keyword budgets (retrieve.KEYWORD_POSTINGS), and --scoped
runs of it with every question limited to a tenth and to a hundredth of its documents (a folder, as
`qabot ask --source` or a docs bot's project filter does), against the same index unscoped. Quotes are
forced (min_confidence 0) so every question runs the whole path, not the cheaper abstention.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

DIM = 384
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
QUESTIONS = SHARED / "squad-dev-a" / "questions.jsonl"
TEXT_SOURCES = (SHARED / "squad-dev-a" / "corpus", SHARED / "scifact" / "corpus.jsonl")
SENTENCES_PER_DOC = 21  # chunks of 3 sentences sharing 1: 10 chunks a document, ~2 sentences a chunk
CHUNK_SPAN, CHUNK_STEP = 3, 2
EF_SWEEP = (32, 64, 128, 256)
SCOPES = {"10%": "part3", "1%": "part3/sub13"}  # --scoped: the folders of synthetic_generation
WARM_UP = 20  # questions each part-2 server answers before the timed ones (first-call costs)
MEMORY = ("VmRSS", "RssAnon", "RssFile", "VmHWM")
ORIGINAL_ENV = dict(os.environ)


# ---------------------------------------------------------------- synthetic vectors


def real_vectors(cache: Path, limit: int = 0) -> np.ndarray:
    """MiniLM vectors of the SQuAD dev-a corpus's sentences (about 5,500; embedded once, then cached), or
    of `limit` of them spread evenly over the corpus (a quick run: embedding them all takes a minute or
    more on 2 cores). `cache` must name the limit, as a cached file is used whatever it holds."""
    if cache.exists():
        loaded: np.ndarray = np.load(cache)
        return loaded
    from qabot.models.encoder import OnnxEncoder

    split = re.compile(r"(?<=[.!?])\s+")
    texts = [
        s.strip()
        for path in sorted(TEXT_SOURCES[0].glob("*.txt"))
        for s in split.split(path.read_text(encoding="utf-8"))
        if len(s.strip()) > 20
    ]
    if limit:
        texts = texts[:: max(1, len(texts) // limit)][:limit]
    began = time.perf_counter()
    vectors = OnnxEncoder(seed_model_dir(), threads=2).encode(texts)
    print(f"  embedded {len(texts):,} real sentences in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def manifold(n: int, real: np.ndarray, *, seed: int = 0, noise: float = 0.5) -> np.ndarray:
    """`n` normalised vectors on the manifold of `real` ones: each a random mix of a real vector and one
    of its 10 nearest neighbours, plus isotropic noise of norm ~`noise`.

    At the size of `real` these match it in nearest-neighbour similarities (top-1, 10, 50), in the
    similarity of random pairs and in HNSW recall (see docs/performance.md); uniform random vectors, by
    contrast, have no near neighbours at all and make every index look bad.
    """
    import faiss

    rng = np.random.default_rng(seed)
    exact = faiss.IndexFlatIP(real.shape[1])
    exact.add(real)
    _, neighbours = exact.search(real, 11)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for begin in range(0, n, 65_536):
        m = min(65_536, n - begin)
        i = rng.integers(0, len(real), m)
        j = neighbours[i, rng.integers(1, 11, m)]
        mix = rng.random((m, 1), dtype=np.float32)
        jitter = rng.standard_normal((m, real.shape[1]), dtype=np.float32) * (noise / np.sqrt(real.shape[1]))
        out[begin : begin + m] = _unit(mix * real[i] + (1 - mix) * real[j] + jitter)
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return out


# ---------------------------------------------------------------- part 1: vector indexes


def latencies(index: Any, queries: np.ndarray, k: int = 50) -> np.ndarray:
    """Seconds per single-query search (one query per call, as a server answers)."""
    out = np.empty(len(queries))
    for i, q in enumerate(queries):
        began = time.perf_counter()
        index.search(q[None], k)
        out[i] = time.perf_counter() - began
    return out


def recall(truth: np.ndarray, found: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(t[:k]) & set(f[:k])) / k for t, f in zip(truth, found, strict=True)]))


def bytes_per_million(index: Any) -> float:
    import faiss

    size = faiss.serialize_index(index).nbytes
    return float(size / index.ntotal * 1e6)


def ivf_index(data: np.ndarray, nprobe: int) -> Any:
    import faiss

    nlist = max(1, min(int(4 * np.sqrt(len(data))), len(data) // 39))  # FAISS wants 39 points a list
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    sample = data[np.random.default_rng(1).choice(len(data), min(len(data), 64 * nlist), replace=False)]
    index.train(sample)
    index.add(data)
    index.nprobe = nprobe
    return index


def vector_rows(
    n: int, n_queries: int, ivf_nprobe: tuple[int, ...], real: np.ndarray, exact_only: bool = False
) -> list[dict[str, Any]]:
    """Build exact, HNSW and IVF indexes over n vectors and measure each against exact search."""
    from qabot import vectors

    points = manifold(n + n_queries, real)
    data, queries = points[:n], points[n:]
    rows: list[dict[str, Any]] = []

    began = time.perf_counter()
    flat = vectors.make_index(data, flat_max=n)
    flat_seconds = time.perf_counter() - began
    _, truth = flat.search(queries, 50)
    baseline: dict[str, float] = {}

    def row(kind: str, index: Any, seconds: float, setting: str) -> None:
        times = latencies(index, queries)
        _, found = index.search(queries, 50)
        p50 = float(np.median(times))
        baseline.setdefault("p50", p50)  # the first row is exact search
        rows.append(
            {
                "n": n,
                "index": kind,
                "setting": setting,
                "build_s": seconds,
                "mb_per_million": bytes_per_million(index) / 1e6,
                "p50_ms": p50 * 1e3,
                "p95_ms": float(np.percentile(times, 95)) * 1e3,
                "speedup": baseline["p50"] / p50,
                "recall10": recall(truth, found, 10),
                "recall50": recall(truth, found, 50),
            }
        )

    row("exact", flat, flat_seconds, "-")
    del flat
    gc.collect()
    if exact_only:
        return rows

    began = time.perf_counter()
    graph = vectors.make_index(data, flat_max=0)
    seconds = time.perf_counter() - began
    for ef in EF_SWEEP:
        vectors.tune(graph, ef_search=ef)
        default = " (default)" if ef == vectors.HNSW_EF_SEARCH else ""
        row("hnsw", graph, seconds, f"M={vectors.HNSW_M} ef={ef}{default}")
    del graph
    gc.collect()

    if ivf_nprobe:
        began = time.perf_counter()
        ivf = ivf_index(data, ivf_nprobe[0])
        seconds = time.perf_counter() - began
        for nprobe in ivf_nprobe:
            ivf.nprobe = nprobe
            row("ivf", ivf, seconds, f"nlist={ivf.nlist} nprobe={nprobe}")
        del ivf
        gc.collect()
    return rows


def print_vector_rows(rows: list[dict[str, Any]]) -> None:
    print("vector search: single queries, k=50; speedup = exact p50 / this p50 (same run)")
    print(
        f"{'vectors':>9} {'index':<6} {'setting':<26} {'build s':>8} {'MB/1M vec':>10} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'speedup':>8} {'R@10':>6} {'R@50':>6}"
    )
    for r in rows:
        print(
            f"{r['n']:>9,} {r['index']:<6} {r['setting']:<26} {r['build_s']:8.1f} "
            f"{r['mb_per_million']:10.0f} {r['p50_ms']:8.3f} {r['p95_ms']:8.3f} {r['speedup']:8.1f} "
            f"{r['recall10']:6.3f} {r['recall50']:6.3f}"
        )


# ---------------------------------------------------------------- part 2: the answer path


def sentence_pool(limit: int = 200_000) -> tuple[list[str], list[str]]:
    """Real sentences and titles (SQuAD articles, SciFact abstracts), split at punctuation (cheaply)."""
    split = re.compile(r"(?<=[.!?])\s+")
    sentences: list[str] = []
    titles: list[str] = []
    squad, scifact = TEXT_SOURCES
    for path in sorted(squad.glob("*.txt")):
        titles.append(path.stem.replace("_", " "))
        sentences.extend(s for s in split.split(path.read_text(encoding="utf-8")) if s.strip())
    with open(scifact, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            titles.append(record["title"])
            sentences.extend(s for s in split.split(record["text"]) if s.strip())
            if len(sentences) >= limit:
                break
    return [" ".join(s.split()) for s in sentences], titles


def synthetic_generation(
    index_dir: Path, n_chunks: int, model_dir: Path, real: np.ndarray, folders: bool = True
) -> None:
    """Publish a generation with `n_chunks` chunks in the real format, through qabot.store's writer; with
    `folders`, its documents in folders of a tenth and a hundredth of them (SCOPES)."""
    from qabot import store
    from qabot.config import Settings
    from qabot.corpus import Document
    from qabot.text import Span

    pool, titles = sentence_pool()
    rng = np.random.default_rng(7)
    n_docs = max(1, n_chunks // 10)
    settings = Settings(corpus_dir=index_dir.parent / "corpus", index_dir=index_dir)
    key = model_dir.name
    (index_dir / "models").mkdir(parents=True, exist_ok=True)
    link = index_dir / "models" / key
    if not link.exists():
        link.symlink_to(model_dir.resolve(), target_is_directory=True)
    sentence_vectors = manifold(n_docs * SENTENCES_PER_DOC, real, seed=3)
    parts = []
    for d in range(n_docs):
        picks = rng.integers(0, len(pool), SENTENCES_PER_DOC)
        title = titles[d % len(titles)]
        text, spans = f"{title}\n\n", []
        for p in picks:
            spans.append(Span(len(text), len(text) + len(pool[p])))
            text += pool[p] + " "
        # folders a tenth and a hundredth of the documents (SCOPES), for --scoped
        path = f"part{d % 10}/sub{d % 100:02d}/doc{d:06d}.txt" if folders else f"doc{d:06d}.txt"
        doc = Document(f"doc{d:06d}", path, title, text.rstrip())
        chunks = [(a, a + CHUNK_SPAN - 1) for a in range(0, SENTENCES_PER_DOC - 1, CHUNK_STEP)]
        svec = sentence_vectors[d * SENTENCES_PER_DOC : (d + 1) * SENTENCES_PER_DOC]
        cvec = _unit(np.stack([svec[a : b + 1].mean(axis=0) for a, b in chunks]))
        parts.append(store.DocumentParts(doc, spans, chunks, svec, cvec))
    params = store._chunker_params(settings, 256)
    encoder = SimpleNamespace(dim=DIM, max_seq_length=256)
    name = f"synthetic-{n_chunks}"
    store._write_generation(index_dir, name, parts, settings, key, params, encoder)  # type: ignore[arg-type]
    store._publish(index_dir, name)


def reindexed_copy(source: Path, target: Path, flat_max: int) -> None:
    """`source`'s index with its chunks re-indexed by `make_index(flat_max=...)` (other files hard-linked)."""
    import faiss

    from qabot import store, vectors

    shutil.copytree(source, target, symlinks=True, copy_function=os.link)
    generation = store.current_generation(target)
    index = vectors.make_index(np.load(generation / "chunks.npy"), flat_max=flat_max)
    faiss.write_index(index, str(generation / "chunks.faiss.tmp"))
    os.replace(generation / "chunks.faiss.tmp", generation / "chunks.faiss")  # a new file: breaks the link
    manifest = store.read_manifest(generation)
    manifest["faiss_index"] = vectors.describe(index)
    manifest["artifacts"]["chunks.faiss"] = store._file_digest(generation / "chunks.faiss")
    (generation / "manifest.json.tmp").write_text(json.dumps(manifest, indent=2))
    os.replace(generation / "manifest.json.tmp", generation / "manifest.json")


PHASES = {  # timed inside each answer (per answer, ms): what grows with the index and what does not
    "retrieve": ("dense", "keyword_chunks", "keyword_scores"),
    "scoring": ("lexical_features", "stems"),
}


def serve_child(config: dict[str, Any]) -> dict[str, Any]:
    """In a fresh process: open the index as a server does, time answers, then read this process's memory."""
    import importlib

    from benchmarks.common import PhaseTimer
    from qabot import retrieve, store, vectors
    from qabot.answer import Answerer, parse_filters

    if config["budget"] is not None:
        retrieve.KEYWORD_POSTINGS = config["budget"]
    index = store.open_index_dir(Path(config["index"]))
    answerer = Answerer(index, min_confidence=0.0, threads=2)
    questions, warm_up = config["questions"], config["warm_up"]
    filters = parse_filters(sources=(config["scope"],)) if config.get("scope") else None
    for q in questions[:warm_up]:
        answerer.answer(q, filters=filters)
    timers = [PhaseTimer(importlib.import_module(f"qabot.{m}"), names) for m, names in PHASES.items()]
    answer_s, encode_s = [], []
    profiler = None
    if config.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    for q in questions[warm_up:]:
        began = time.perf_counter()
        answerer.encoder.encode([q])
        encode_s.append(time.perf_counter() - began)
        began = time.perf_counter()
        answerer.answer(q, filters=filters)
        answer_s.append(time.perf_counter() - began)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(config["profile"])
    status = Path("/proc/self/status").read_text()
    memory = {k: int(re.search(rf"{k}:\s+(\d+)", status).group(1)) / 1024 for k in MEMORY}  # type: ignore[union-attr]
    phases = {name: 1e3 * sec / len(answer_s) for timer in timers for name, sec in timer.seconds.items()}
    return {
        "answer": answer_s,
        "encode": encode_s,
        "chunks": index.faiss.ntotal,
        "sentences": len(index.sentence_vectors),
        "faiss": vectors.describe(index.faiss),
        "phases": phases,
        **memory,
    }


def serve(
    index_dir: Path,
    questions: list[str],
    warm_up: int,
    budget: int | None,
    profile: Path | None,
    scope: str | None = None,
) -> dict[str, Any]:
    """Run `serve_child` in a new process (so memory figures are its own) and return what it measured:
    the first `warm_up` questions are answered untimed."""
    from qabot.config import THREAD_ENV_VARS

    # the environment as this script found it (set_threads() above exports OMP_NUM_THREADS and the like),
    # with the thread defaults `qabot chat` and the bot get from the console entry
    env = {
        **dict.fromkeys(THREAD_ENV_VARS, "1"),
        **ORIGINAL_ENV,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    config = {
        "index": str(index_dir),
        "questions": questions,
        "warm_up": warm_up,
        "budget": budget,
        "profile": str(profile) if profile else None,
        "scope": scope,
    }
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", "--serve-child"],
        input=json.dumps(config),
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise SystemExit(f"serving child failed:\n{result.stderr}")
    out: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def load_questions(n: int) -> list[str]:
    with open(QUESTIONS, encoding="utf-8") as handle:
        items = [json.loads(line)["question"] for line in handle]
    return [items[i] for i in np.random.default_rng(0).choice(len(items), n, replace=False)]


def answer_rows(
    sizes: list[int],
    n_questions: int,
    model_dir: Path,
    work: Path,
    real: np.ndarray,
    profile: Path | None,
    budgets: list[int],
    warm_up: int = WARM_UP,
    scoped: bool = False,
) -> list[dict[str, Any]]:
    """Time the answer path on the seed index (the baseline) and on synthetic generations of `sizes`,
    over `n_questions` questions after `warm_up` others.

    Each size is served with its chunks in exact search and in HNSW (a build writes the first up to
    vectors.FLAT_MAX chunks, the second above); the largest once more per keyword budget in `budgets`
    (retrieve.KEYWORD_POSTINGS) with the index a build would write, and with `scoped` once per SCOPES folder.
    """
    from qabot import retrieve, vectors
    from qabot.config import Settings

    questions = load_questions(warm_up + n_questions)
    runs: list[tuple[str, Path, int | None, str | None]] = [("seed", Settings().index_dir, None, None)]
    for n in sizes:
        base, exact, graph = work / f"index-{n}", work / f"index-{n}-exact", work / f"index-{n}-hnsw"
        if not (base / "CURRENT").exists():
            began = time.perf_counter()
            synthetic_generation(base, n, model_dir, real)
            print(f"  wrote a synthetic generation of {n:,} chunks in {time.perf_counter() - began:.0f} s")
        for target, flat_max in ((exact, n), (graph, 0)):
            if not (target / "CURRENT").exists():
                began = time.perf_counter()
                reindexed_copy(base, target, flat_max)
                print(f"  re-indexed {n:,} chunks in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        runs += [(f"{n:,}", exact, None, None), (f"{n:,}", graph, None, None)]
    if sizes:
        built = work / f"index-{sizes[-1]}-{'exact' if sizes[-1] <= vectors.FLAT_MAX else 'hnsw'}"
        runs += [(f"{sizes[-1]:,}", built, b, None) for b in budgets]
        if scoped:
            runs += [(f"{sizes[-1]:,} in {share}", built, None, folder) for share, folder in SCOPES.items()]
    rows = []
    baseline: dict[str, float] = {}
    unscoped: dict[Path, float] = {}  # p50 of each index served whole: the baseline of its scoped runs
    for i, (label, index_dir, budget, scope) in enumerate(runs):
        largest = profile if i == len(runs) - 1 else None
        result = serve(index_dir, questions, warm_up, budget, largest, scope)
        answer, encode = np.array(result["answer"]), np.array(result["encode"])
        baseline.setdefault("rss", result["VmRSS"])
        if scope is None and budget is None:
            unscoped.setdefault(index_dir, float(np.median(answer)))
        rows.append(
            {
                "label": label,
                "faiss": result["faiss"].replace("Index", ""),
                "budget": retrieve.KEYWORD_POSTINGS if budget is None else budget,
                "chunks": result["chunks"],
                "sentences": result["sentences"],
                "p50_ms": float(np.median(answer)) * 1e3,
                "p95_ms": float(np.percentile(answer, 95)) * 1e3,
                "encode_p50_ms": float(np.median(encode)) * 1e3,
                "ratio": float(np.median(answer) / np.median(encode)),
                "rss_mb": result["VmRSS"],
                "anon_mb": result["RssAnon"],
                "file_mb": result["RssFile"],
                "rss_ratio": result["VmRSS"] / baseline["rss"],
                "phases": result["phases"],
                "whole_ratio": float(np.median(answer)) / unscoped[index_dir],
            }
        )
    return rows


def print_answer_rows(rows: list[dict[str, Any]]) -> None:
    print(
        "answer path: warm Answerer.answer, one question at a time; x encode = answer p50 / query-encoding "
        "p50;\nRSS = resident memory after the run (anonymous + file-backed), x seed = RSS / seed index RSS;"
        '\nbudget = retrieve.KEYWORD_POSTINGS; "in 10%": each question limited to a folder of a tenth of the '
        "documents,\nx whole = its p50 / the same index's p50 unscoped"
    )
    print(
        f"{'chunks':>14} {'faiss':<26} {'budget':>10} {'sentences':>10} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'enc ms':>7} {'x encode':>8} {'RSS MB':>7} {'anon':>6} {'file':>6} {'x seed':>6} {'x whole':>7}"
    )
    for r in rows:
        print(
            f"{r['label']:>14} {r['faiss']:<26} {r['budget']:>10,} {r['sentences']:>10,} {r['p50_ms']:7.1f} "
            f"{r['p95_ms']:7.1f} {r['encode_p50_ms']:7.1f} {r['ratio']:8.2f} {r['rss_mb']:7.0f} "
            f"{r['anon_mb']:6.0f} {r['file_mb']:6.0f} {r['rss_ratio']:6.2f} {r['whole_ratio']:7.2f}"
        )
    print("\nwithin each answer, ms per answer (the same runs):")
    names = [n for group in PHASES.values() for n in group]
    print(f"{'chunks':>14} {'faiss':<26} {'budget':>10} " + " ".join(f"{n:>16}" for n in names))
    for r in rows:
        cells = " ".join(f"{r['phases'].get(n, 0.0):16.2f}" for n in names)
        print(f"{r['label']:>14} {r['faiss']:<26} {r['budget']:>10,} {cells}")


def seed_model_dir() -> Path:
    from qabot.config import Settings
    from qabot.store import open_index_dir

    settings = Settings()
    index = open_index_dir(settings.index_dir)
    try:
        return settings.index_dir / "models" / str(index.manifest["model_key"])
    finally:
        index.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="vector counts for part 1 (comma-separated)")
    parser.add_argument("--million", action="store_true", help="add 1,000,000 vectors to part 1")
    parser.add_argument("--queries", type=int, default=300, help="queries per measurement (default 300)")
    parser.add_argument("--nprobe", default="16,32,64", help="IVF nprobe values ('' skips IVF)")
    parser.add_argument("--answer-sizes", default="10000,100000", help="chunk counts for part 2 ('' skips)")
    parser.add_argument("--questions", type=int, default=150, help="questions timed in part 2")
    parser.add_argument(
        "--warm-up", type=int, default=WARM_UP, help=f"part 2: questions answered before timing ({WARM_UP})"
    )
    parser.add_argument(
        "--budgets", default="", help="part 2: keyword budgets (retrieve.KEYWORD_POSTINGS) to also try"
    )
    parser.add_argument(
        "--scoped",
        action="store_true",
        help="part 2: also serve the largest with questions limited to a folder",
    )
    parser.add_argument("--skip-vectors", action="store_true", help="run part 2 only")
    parser.add_argument("--work", type=Path, default=None, help="keep the synthetic indexes in this folder")
    parser.add_argument(
        "--profile", type=Path, default=None, help="write cProfile stats of the largest part-2 run here"
    )
    parser.add_argument("--threads", type=int, default=2, help="FAISS threads in part 1 (default 2)")
    parser.add_argument(
        "--sentences",
        type=int,
        default=0,
        help="real sentences whose vectors the synthetic ones follow (default 0: all, about 5,500)",
    )
    parser.add_argument(
        "--no-ivf-hnsw", action="store_true", help="part 1: exact search only (to time it at many sizes)"
    )
    parser.add_argument("--serve-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if 0 < args.sentences < 11:
        parser.error("--sentences must be at least 11: each synthetic vector mixes one with its 10 nearest")
    if args.serve_child:
        print(json.dumps(serve_child(json.loads(sys.stdin.read()))))
        return 0

    from qabot import vectors

    vectors.set_threads(args.threads)  # part 1 (part 2's servers run in their own processes)
    with tempfile.TemporaryDirectory(prefix="qabot-scale-") as tmp:
        work = args.work or Path(tmp)
        cache = f"real-sentences-{args.sentences}.npy" if args.sentences else "real-sentences.npy"
        real = real_vectors(work / cache, args.sentences)
        if not args.skip_vectors:
            sizes = [int(s) for s in args.sizes.split(",") if s] + ([1_000_000] if args.million else [])
            nprobe = tuple(int(p) for p in args.nprobe.split(",") if p)
            rows = []
            for n in sizes:
                began = time.perf_counter()
                rows += vector_rows(n, args.queries, nprobe, real, exact_only=args.no_ivf_hnsw)
                print(f"  measured {n:,} vectors in {time.perf_counter() - began:.0f} s", file=sys.stderr)
            print_vector_rows(rows)
            print()
        answer_sizes = [int(s) for s in args.answer_sizes.split(",") if s]
        if answer_sizes:
            model_dir = seed_model_dir()
            budgets = [int(b) for b in args.budgets.split(",") if b]
            rows = answer_rows(
                answer_sizes,
                args.questions,
                model_dir,
                work,
                real,
                args.profile,
                budgets,
                args.warm_up,
                args.scoped,
            )
            print_answer_rows(rows)
    if args.profile:
        import pstats

        pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
