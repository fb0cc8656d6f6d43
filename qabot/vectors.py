"""Vector indexes sized to the collection: exact search while it is cheap, HNSW graph search beyond.

An exhaustive inner-product scan costs time linear in the number of vectors (measured on the 2-core box:
1.5 ms at 20,000 384-d vectors, 9 ms at 100,000, 19 ms at 200,000, one query on one thread); an HNSW
graph answers in a quarter of a millisecond at 100,000 or 1,000,000 vectors for 272 more bytes per vector,
at a recall measured against exact search (benchmarks/scale.py, docs/performance.md) rather than assumed.

Threads: FAISS uses OpenMP; `set_threads` sets its pool at run time. For one query at a time (serving),
use 1: a second OpenMP thread made single-query exact search slower on 2 cores (14 ms against 9 ms at
100,000 vectors when idle, 4x slower when another process was busy), and HNSW searches one query on one
thread anyway. Building an HNSW index (`make_index`) does use every thread it is given. OMP_NUM_THREADS,
OMP_WAIT_POLICY, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS are read once, when the library is loaded, so
set them in the environment before Python starts (or before the first `import numpy`/`import faiss`);
onnxruntime takes its thread count per session (`OnnxEncoder(threads=...)`).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qabot.config import THREAD_ENV_VARS

# Up to this many vectors exact search takes under ~1.5 ms a query; beyond it HNSW is 6-50x faster at
# recall@10 >= 0.99 and builds in seconds (benchmarks/scale.py).
FLAT_MAX = 20_000
HNSW_M = 32  # graph degree: 32 links per vector (64 on the bottom layer)
HNSW_EF_CONSTRUCTION = 80
# Candidate list length at query time. Retrieval asks for 50 neighbours and FAISS searches with
# max(efSearch, k), so this is the floor. On synthetic vectors 128 kept recall@10 >= 0.99 at 10k-1M, but on
# the real SciFact index (28,241 chunks) it cost 0.6 points of nDCG@10 against exact search (0.7285 against
# 0.7346); 256 gives 0.7336 and 512 0.7343, for 0.50 ms a query at 100k vectors instead of 0.28
# (docs/benchmarks.md). Stored in the index file by faiss.write_index, and set again when an index is
# loaded (`tune`), so indexes built with another value search with this one.
HNSW_EF_SEARCH = 256


def make_index(vectors: np.ndarray, *, flat_max: int = FLAT_MAX) -> Any:
    """An inner-product index over `vectors` (n × dim, L2-normalised): exact up to `flat_max`, else HNSW.

    Both kinds return inner products as scores, higher is better, and pad with id -1 when asked for more
    neighbours than there are vectors. Zero vectors give an empty exact index.
    """
    import faiss

    if vectors.ndim != 2:
        raise ValueError(f"vectors must be a 2-d array (n × dim), not shape {vectors.shape}")
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = data.shape
    index: Any
    if n <= flat_max:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    if n:
        index.add(data)
    return index


def read_index(path: Path) -> Any:
    """Load an index written by `faiss.write_index`, its vectors mapped from the file rather than copied.

    The vectors then live in the page cache (shared, reclaimable, and loaded in no time) instead of in
    the process's private memory. Falls back to an ordinary read on FAISS builds without the flag.
    """
    import faiss

    flag = getattr(faiss, "IO_FLAG_MMAP_IFC", None)
    if flag is not None:
        try:
            return faiss.read_index(str(path), flag)
        except RuntimeError:  # an index type whose codes cannot be mapped
            pass
    return faiss.read_index(str(path))


class VectorFile:
    """Rows of a 2-d .npy file, read on demand with pread: indexing as a numpy array, nothing mapped.

    With `np.load(mmap_mode="r")` every page fault maps its neighbours too (fault-around), so scattered
    reads of a few rows per question end up holding most of the file in the process's resident memory;
    reading just the rows asked for keeps serving memory flat however large the index is. Thread-safe.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "rb")  # noqa: SIM115 - held for the object's lifetime, closed by close()
        version = np.lib.format.read_magic(self._file)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(self._file)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(self._file)
        if len(shape) != 2 or fortran or dtype.hasobject:
            raise ValueError(f"{path} does not hold a 2-d C-ordered numeric array")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self._offset = self._file.tell()
        self._row_bytes = self.shape[1] * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: int | slice | Sequence[int] | np.ndarray) -> np.ndarray:
        n = self.shape[0]
        if isinstance(key, int | np.integer):
            row = int(key) + n if key < 0 else int(key)
            if not 0 <= row < n:
                raise IndexError(f"row {key} out of range for {n} rows")
            one: np.ndarray = self._read(row, 1)[0]
            return one
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step != 1:
                return self[np.arange(start, stop, step)]
            return self._read(start, max(0, stop - start))
        ids = np.asarray(key, dtype=np.int64).reshape(-1)
        ids = np.where(ids < 0, ids + n, ids)
        if len(ids) and (ids.min() < 0 or ids.max() >= n):
            raise IndexError(f"row out of range for {n} rows")
        out = np.empty((len(ids), self.shape[1]), dtype=self.dtype)
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        # one read per run of consecutive rows: a chunk's sentences are consecutive
        breaks = np.flatnonzero(np.diff(sorted_ids) > 1) + 1
        for run in np.split(np.arange(len(ids)), breaks) if len(ids) else []:
            first, last = int(sorted_ids[run[0]]), int(sorted_ids[run[-1]])
            block = self._read(first, last - first + 1)
            out[order[run]] = block[sorted_ids[run] - first]
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        rows = self._read(0, self.shape[0])
        return rows if dtype is None else rows.astype(dtype)

    def _read(self, first: int, count: int) -> np.ndarray:
        out = np.empty((count, self.shape[1]), dtype=self.dtype)
        view, done = out.data.cast("B"), 0
        offset = self._offset + first * self._row_bytes
        while done < len(view):  # one call reads at most ~2 GB
            got = os.preadv(self._file.fileno(), [view[done:]], offset + done)
            if got <= 0:
                raise OSError(f"{self.path} is shorter than its header says")
            done += got
        return out

    def close(self) -> None:
        self._file.close()


def describe(index: Any) -> str:
    """What the manifest records as `faiss_index`, e.g. "IndexFlatIP" or "IndexHNSWFlat(M=32,ef=128)"."""
    name = type(index).__name__
    hnsw = getattr(index, "hnsw", None)
    if hnsw is None:
        return name
    return f"{name}(M={index.hnsw.nb_neighbors(1)},ef={hnsw.efSearch})"


def tune(index: Any, ef_search: int | None = HNSW_EF_SEARCH) -> Any:
    """Set query-time parameters on a loaded index (returned for chaining): by default the current
    HNSW_EF_SEARCH, whatever the index was built with. A no-op for exact indexes.
    """
    hnsw = getattr(index, "hnsw", None)
    if hnsw is not None and ef_search is not None:
        hnsw.efSearch = int(ef_search)
    return index


def set_threads(n: int) -> None:
    """Use `n` threads in FAISS and, when possible, in the already loaded BLAS.

    Also sets the OMP/OpenBLAS/MKL environment variables when they are unset, which only affects
    libraries imported afterwards and child processes (see the module docstring).
    """
    import faiss

    n = max(1, int(n))
    faiss.omp_set_num_threads(n)
    for name in THREAD_ENV_VARS:
        os.environ.setdefault(name, str(n))
    try:  # optional (it comes with scikit-learn); without it the BLAS keeps the pool it started with
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:
        return
    threadpoolctl.threadpool_limits(limits=n, user_api="blas")
