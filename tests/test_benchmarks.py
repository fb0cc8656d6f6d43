"""Every benchmark runs, at a tiny size, as `python -m benchmarks.NAME` from the repository root.

A rename in the library once broke benchmarks/scale.py (an ImportError) without any test noticing. Here
each benchmark runs in a subprocess, as a person runs it, on the real packaged model, SQLite and FAISS, and
must exit 0 and print its figures. The figures are not held to their targets: at these sizes, on a shared
machine, they measure nothing. What is checked is that each benchmark went through its real code paths
(the rows and ratio lines it prints) and, where a figure does not depend on load, that it is right.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qabot import store
from qabot.config import Settings
from qabot.evaluate import contains_answer
from qabot.scoring import FEATURES

from .conftest import ROOT, SEED_CORPUS

DATA = ROOT.parent / "shared" / "data"  # where the benchmarks look for it
SQUAD = DATA / "squad-dev-a"
SCIFACT = DATA / "scifact"
ANSWERING = "armenian-pm-sees-no-advantage-in-russian-troops.txt"  # answers crash_trials' QUESTION
TIMEOUT = 600  # seconds: a hung benchmark fails instead of stalling the suite


def needs(*paths: Path) -> None:
    """Skip, naming what is missing, when a benchmark's data is not on this machine."""
    for path in paths:
        if not path.exists():
            pytest.skip(f"{path} is absent, and this benchmark reads it")


@pytest.fixture(scope="module")
def bench_env(seed_settings: Settings) -> dict[str, str]:
    """The benchmarks' environment. They borrow the ONNX export from the default index (`Settings()`,
    ./index after a `qabot index`); here that is the session's seed index, so no test depends on what a
    developer left in ./index. A confidence floor of 0 keeps every check of theirs that asks a question
    (crash_trials requires an answer) independent of how good the packaged reader is."""
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "QABOT_INDEX_DIR": str(seed_settings.index_dir),
        "QABOT_CORPUS_DIR": str(SEED_CORPUS),
        "QABOT_MIN_CONFIDENCE": "0",
    }


def run_benchmark(env: dict[str, str], name: str, *args: str | Path) -> str:
    """`python -m benchmarks.NAME ARGS` from the repository root with this venv's python; its stdout."""
    command = [sys.executable, "-m", f"benchmarks.{name}", *map(str, args)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, (
        f"{' '.join(command[1:])} exited {result.returncode}\n"
        f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    )
    return result.stdout


def line(pattern: str, output: str) -> re.Match[str]:
    """The first line of `output` matching `pattern` (anchored at both ends of a line)."""
    found = re.search(rf"^{pattern}$", output, re.MULTILINE)
    assert found, f"no line matches {pattern!r} in:\n{output}"
    return found


NUMBER = r"[\d.]+"


# ---------------------------------------------------------------- index builds


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        (["--mb", "0.01"], "paragraphs, real model"),
        (["--mb", "0.05", "--one-line", "--fake-encoder"], "one line, fake encoder"),
    ],
    ids=["real-model", "one-line-fake-encoder"],
)
def test_big_file(bench_env: dict[str, str], options: list[str], kind: str) -> None:
    needs(SQUAD / "corpus")
    out = run_benchmark(bench_env, "big_file", *options)
    counts = line(rf"{NUMBER} MB \({kind}\): (\d+) sentences, (\d+) chunks", out)
    assert int(counts[1]) > 0 and int(counts[2]) > 0
    line(rf"build {NUMBER} s, peak RSS \d+ MB, generation {NUMBER} MB on disk", out)
    line(r"phases: load_corpus .*, _split .*, _embed .*, _write_generation .*, _publish .*", out)
    line(r"problems: \[\]", out)


def test_incremental(bench_env: dict[str, str]) -> None:
    needs(SQUAD / "corpus")
    out = run_benchmark(
        bench_env,
        "incremental",
        *("--documents", "5", "--paragraphs", "1", "--repeat", "1"),
        *("--synthetic-chunks", "200", "--sentences", "50"),
    )
    line(r"5 documents, \d+ chunks, \d+ sentences; .*", out)
    # the column after the label is how many documents each build embedded: all, none, the changed one
    line(r"full build\s+5\s.*", out)
    assert len(re.findall(r"^nothing changed\s+0\s", out, re.MULTILINE)) == 2  # both corpora
    assert len(re.findall(r"^1 changed \(#1\)\s+1\s", out, re.MULTILINE)) == 2
    line(rf"incremental \(median of 1\) / full = {NUMBER} \(target <= {NUMBER}\): (met|NOT met)", out)
    line(r"synthetic index: 20 documents, 200 chunks, 420 sentences; .*", out)
    line(rf"incremental \(median of 1\) / estimated full = {NUMBER}", out)


def test_build_throughput(bench_env: dict[str, str]) -> None:
    out = run_benchmark(
        bench_env, "build_throughput", "--corpus", SEED_CORPUS, "--limit", "20", "--rounds", "1"
    )
    line(r"20 chunk texts, [\d,]+ tokens, 2 threads, best of 1 alternating rounds", out)
    line(rf"sentence-transformers \(torch, batch 32\)\s+{NUMBER}\s+{NUMBER}\s+1\.00\s+{NUMBER}", out)
    line(rf"qabot OnnxEncoder\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}", out)
    verdict = line(
        rf"OnnxEncoder speed-up {NUMBER}x \(target >= {NUMBER}\), min cosine ({NUMBER}) "
        rf"\(target >= ({NUMBER})\): (met|NOT met)",
        out,
    )
    # speed depends on the machine's load; the vectors agreeing with sentence-transformers' does not
    assert float(verdict[1]) >= float(verdict[2])


def test_crash_trials(bench_env: dict[str, str], tmp_path: Path) -> None:
    needs(SQUAD / "corpus")
    articles = tmp_path / "articles"  # one seed article, the one that answers: builds of a few seconds
    articles.mkdir()
    shutil.copy(SEED_CORPUS / ANSWERING, articles)
    out = run_benchmark(
        bench_env,
        "crash_trials",
        *("--trials", "1", "--files", "1", "--seed-corpus", articles, "--work", tmp_path / "work"),
    )
    line(r"corpus: 2 documents in .*", out)
    line(r"killed: (before write|writing|renamed|published|completed) 1", out)
    line(r"served after the kill: (old|new) 1", out)
    line(rf"unkilled --full builds: T {NUMBER} s \(W {NUMBER} s\), T {NUMBER} s \(W {NUMBER} s\); .*", out)
    line(r"1 of 1 trials passed every check; 0 failed", out)


# ---------------------------------------------------------------- serving


def test_cold_ask(bench_env: dict[str, str]) -> None:
    out = run_benchmark(bench_env, "cold_ask", "--rounds", "1", "--no-warm-up")
    for command in (r"qabot ask \(cold process\)", r"python -c 'import sentence_transformers'"):
        line(rf"{command}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}", out)
    line(r"targets for qabot ask \(median < .* s, <= .* x import\): (met|NOT met)", out)
    # which packages the ask path imports does not depend on load: none of the heavy ones
    line(r"heavy packages imported on the ask path: none", out)


def test_segmentation(bench_env: dict[str, str]) -> None:
    needs(SQUAD / "corpus", DATA / "fastapi-docs")
    out = run_benchmark(bench_env, "segmentation", "--mb", "0.01")
    line(rf"qabot / pysbd speed: {NUMBER} x", out)
    plain = line(
        rf"plain-text docs {NUMBER} MB: read wrapped {NUMBER} MB/s \((\d+) units\), "
        rf"line by line {NUMBER} MB/s \((\d+) units\): {NUMBER} x the time",
        out,
    )
    assert int(plain[1]) < int(plain[2])  # wrapped lines are read as one sentence, not one a line


def test_reader(bench_env: dict[str, str]) -> None:
    out = run_benchmark(bench_env, "reader", "--rounds", "1")
    line(rf"one padded batch \(baseline\): +median +{NUMBER} ms a question", out)
    line(rf"qabot \(pairs alone, workers\): median +{NUMBER} ms a question \({NUMBER} x baseline\)", out)
    line(rf"logit moved between the two: mean {NUMBER}, max {NUMBER}", out)


def test_scale(bench_env: dict[str, str], tmp_path: Path) -> None:
    needs(SQUAD / "questions.jsonl", SQUAD / "corpus", SCIFACT / "corpus.jsonl")
    out = run_benchmark(
        bench_env,
        "scale",
        *("--sizes", "2000", "--queries", "5", "--nprobe", "8", "--sentences", "50"),
        *("--answer-sizes", "2000", "--questions", "5", "--warm-up", "1", "--work", tmp_path, "--scoped"),
    )
    # part 1: exact search is its own baseline, so its speed-up and recalls are exactly 1
    line(rf"\s+2,000 exact\s+-\s+{NUMBER}\s+\d+\s+{NUMBER}\s+{NUMBER}\s+1\.0\s+1\.000\s+1\.000", out)
    line(r"\s+2,000 hnsw\s+M=\d+ ef=\d+ \(default\)\s.*", out)
    line(r"\s+2,000 ivf\s+nlist=\d+ nprobe=8\s.*", out)
    # part 2: the seed index (the baseline) and the synthetic one served exact and through HNSW
    line(r"\s+seed FlatIP\s.*\s1\.00", out)
    line(r"\s+2,000 FlatIP\s+[\d,]+\s+4,200\s.*", out)
    line(r"\s+2,000 HNSWFlat\(M=\d+,ef=\d+\)\s+[\d,]+\s+4,200\s.*", out)
    line(rf"\s+2,000 in 10%\s+FlatIP\s+[\d,]+\s+4,200\s.*\s{NUMBER}", out)  # a folder of 20 documents
    line(r"\s+2,000 in 1%\s+FlatIP\s+[\d,]+\s+4,200\s.*", out)
    line(r"\s+2,000 HNSWFlat\(M=\d+,ef=\d+\)\s+[\d,]+(\s+\d+\.\d\d){5}", out)  # the per-phase table


# ---------------------------------------------------------------- fitting the scorer


def test_squad_folds(bench_env: dict[str, str], tmp_path: Path) -> None:
    """Sources at even positions of the sorted names go to fold A, odd ones to fold B."""
    records = [
        {"question": f"q{i}", "answers": ["x"], "source": source}
        for i, source in enumerate(["b", "a", "c", "b", "a"])
    ] + [{"question": "no source", "answers": []}]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = run_benchmark(bench_env, "squad_folds", questions, tmp_path / "fold")
    line(rf"fold A: 3 questions from 2 documents -> {re.escape(str(tmp_path / 'foldA.jsonl'))}", out)
    line(rf"fold B: 2 questions from 1 documents -> {re.escape(str(tmp_path / 'foldB.jsonl'))}", out)
    for fold, sources in (("A", ["a", "c", "a"]), ("B", ["b", "b"])):
        lines = (tmp_path / f"fold{fold}.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(record)["source"] for record in lines] == sources


def squad_sample(out: Path, articles: int = 2, paragraphs: int = 2, per_article: int = 4) -> Path:
    """The first `paragraphs` paragraphs of the first SQuAD dev-a articles as a corpus in `out`/corpus,
    and (returned) a question file of `per_article` questions each whose gold answer is in that text."""
    (out / "corpus").mkdir(parents=True)
    records = [json.loads(r) for r in (SQUAD / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    chosen = []
    for path in sorted((SQUAD / "corpus").glob("*.txt"))[:articles]:
        text = "\n\n".join(path.read_text(encoding="utf-8").split("\n\n")[: paragraphs + 1]).strip() + "\n"
        (out / "corpus" / path.name).write_text(text, encoding="utf-8")
        mine = [r for r in records if r["source"] == path.stem and contains_answer(text, r["answers"])]
        chosen += mine[:per_article]
    questions = out / "questions.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in chosen), encoding="utf-8")
    return questions


def test_fit_scorer(bench_env: dict[str, str], seed_settings: Settings, tmp_path: Path) -> None:
    needs(SQUAD / "questions.jsonl", SQUAD / "corpus")
    questions = squad_sample(tmp_path)
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    shutil.copytree(seed_settings.index_dir / "models", settings.index_dir / "models")  # no export
    store.build(settings)
    out = run_benchmark(
        bench_env, "fit_scorer", "--index", settings.index_dir, "--questions", questions, "--per-fold", "4"
    )
    for fold in "AB":
        line(rf"fold {fold}: 4 questions, answer among candidates for {NUMBER}", out)
    line(rf"fold A top-1: current {NUMBER}  fitted {NUMBER} \(fitted here\)", out)
    line(rf"fold B top-1: current {NUMBER}  fitted {NUMBER} \(held out\)", out)
    for feature in FEATURES:
        line(rf'    "{feature}": -?{NUMBER},', out)
