"""Crash trials: SIGKILL `qabot index --full` at random moments; the index must keep serving.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.crash_trials               # 20 trials
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.crash_trials --trials 50 --seed 1

The corpus is the seed articles (or those of `--seed-corpus`) plus `--files` .txt files of `--paragraphs`
SQuAD dev-a paragraphs each, in a temporary folder (or `--work`); the ONNX export is borrowed from ./index
when there is one (else the first build makes it). One build is left to finish, to measure T, the seconds a
`--full` build takes from process start to exit, and W, the seconds from the moment its
generations/<name>.tmp folder appears to the moment CURRENT names the new generation (writing, renaming,
publishing). Each trial then starts `python -m qabot index --full` in a subprocess and kills it with
SIGKILL: odd trials after a random delay in [0, 1.05 T], even trials a random delay in [0, 1.1 W] after the
.tmp folder appears (polled every 5 ms), so the short window where a generation is written and published is
hit however loaded the machine is. T is re-estimated from every build seen reaching its write phase, as the
load of a shared machine changes over a run. After each kill, with nothing cleaned up in between:

1. the served generation verifies (`store.open_index(settings, verify=True)`: sizes and sha256 of every
   artifact), is the one served before the trial or a newer one, and holds every document;
2. `qabot ask --json` exits 0 with an answer whose quotes are verbatim in the corpus files;
3. the next `qabot index` succeeds, leaves no `*.tmp` behind and at most KEEP_GENERATIONS generations.

Where the kill landed is read from the index folder before anything touches it: `before write` (loading,
chunking, embedding), `writing` (generations/<name>.tmp exists), `renamed` (the new generation is in
place, CURRENT not yet replaced), `published` (CURRENT names the new generation; pruning may be pending)
or `completed` (the build exited before the signal). The exit status is 1 when any check failed.

tests/test_reliability_crash.py runs a few fast trials of the same checks in the default suite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED_CORPUS = ROOT / "corpus"
SQUAD = ROOT.parent / "shared" / "data" / "squad-dev-a" / "corpus"
QUESTION = "How many Russian troops does Armenia host?"
PHASES = ("before write", "writing", "renamed", "published", "completed")
POLL = 0.005


@dataclass
class Trial:
    number: int
    delay: float
    at_write: bool = False  # the delay counts from the moment the .tmp generation appeared
    fraction: float = 0.0  # the delay as a fraction of T (or, at_write, of W)
    wrote_after: float | None = None  # seconds from start to the .tmp generation, when it was seen
    phase: str = ""
    served: str = ""  # "old" (served before the trial) or "new"
    seconds: float = 0.0  # the checks' wall time
    failures: list[str] = field(default_factory=list)


def make_corpus(
    out: Path, files: int, per_file: int = 2, source: Path = SQUAD, seed: Path = SEED_CORPUS
) -> int:
    """The `seed` articles plus `files` documents of `per_file` SQuAD paragraphs; returns how many documents.

    Paragraphs are taken round-robin over the articles, so the documents cover every article.
    """
    shutil.copytree(seed, out)
    articles: list[list[tuple[str, str]]] = []
    for path in sorted(source.glob("*.txt")):
        title, *body = [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
        articles.append([(title, p) for p in body])
    paragraphs = [a[i] for i in range(max(map(len, articles))) for a in articles if i < len(a)]
    for d in range(files):
        group = [paragraphs[(d * per_file + i) % len(paragraphs)] for i in range(per_file)]
        text = f"{group[0][0]} (part {d})\n\n" + "\n\n".join(p for _, p in group) + "\n"
        (out / f"squad-{d:04d}.txt").write_text(text, encoding="utf-8")
    return len(list(seed.glob("*.txt"))) + files


def build_command(settings: Any, full: bool = True) -> list[str]:
    command = [sys.executable, "-m", "qabot", "index"]
    command += ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]
    return [*command, "--full"] if full else command


def environment() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def start_build(settings: Any, output: Any = subprocess.DEVNULL) -> subprocess.Popen[str]:
    """`python -m qabot index --full` in a subprocess, its output to `output`."""
    command = build_command(settings)
    return subprocess.Popen(command, stdout=output, stderr=output, text=True, env=environment())


def wait_for_write(process: subprocess.Popen[str], index_dir: Path) -> float | None:
    """Poll until the build's generations/<name>.tmp appears; its time, or None if the build exited first."""
    while process.poll() is None:
        if list((index_dir / "generations").glob("*.tmp")):
            return time.perf_counter()
        time.sleep(POLL)
    return None


def wait_for_publish(process: subprocess.Popen[str], index_dir: Path, before: str) -> float:
    """Poll until CURRENT names another generation than `before` (or the build exits); its time."""
    while served_generation(index_dir) == before and process.poll() is None:
        time.sleep(POLL / 5)
    return time.perf_counter()


def measure_build(settings: Any) -> tuple[float, float]:
    """Seconds an unkilled `qabot index --full` takes from process start to exit (T), and from the moment
    its .tmp generation appears to the moment CURRENT names it (W: writing, renaming, publishing)."""
    before = served_generation(settings.index_dir)
    began = time.perf_counter()
    with tempfile.TemporaryFile("w+") as output:
        process = start_build(settings, output)
        writing = wait_for_write(process, settings.index_dir)
        published = wait_for_publish(process, settings.index_dir, before)
        process.wait()
        ended = time.perf_counter()
        if process.returncode != 0:
            output.seek(0)
            raise RuntimeError(f"the measuring build failed ({process.returncode}): {output.read()[-2000:]}")
    return ended - began, published - (writing or published)


def served_generation(index_dir: Path) -> str:
    """The name CURRENT holds ("" before the first build)."""
    try:
        return (index_dir / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return ""


def leftovers(index_dir: Path) -> list[str]:
    """What a killed build may leave behind; empty after a build that finished."""
    found = [*(index_dir / "generations").glob("*.tmp"), *(index_dir / "models").glob("*.tmp")]
    found += [p for p in [index_dir / "CURRENT.tmp"] if p.exists()]
    return sorted(str(p.relative_to(index_dir)) for p in found)


def phase_of(index_dir: Path, before: str, known: set[str], completed: bool) -> str:
    """Where a killed build was, read from the index folder before anything cleans it."""
    if completed:
        return "completed"
    if served_generation(index_dir) != before:
        return "published"
    generations = index_dir / "generations"
    if list(generations.glob("*.tmp")):
        return "writing"
    if any(p.is_dir() and p.name not in known for p in generations.iterdir()):
        return "renamed"
    return "before write"


def kill_build(settings: Any, delay: float, at_write: bool = False) -> tuple[bool, float | None]:
    """Start a `--full` build and SIGKILL it `delay` seconds after it started (or, `at_write`, after its
    .tmp generation appeared). Returns whether it had already finished, and when (seconds from start) its
    .tmp generation appeared, if it was seen."""
    began = time.perf_counter()
    process = start_build(settings)
    written = wait_for_write(process, settings.index_dir) if at_write else None
    deadline = (written or began) + delay
    while process.poll() is None and time.perf_counter() < deadline:
        if written is None and list((settings.index_dir / "generations").glob("*.tmp")):
            written = time.perf_counter()
        time.sleep(POLL)
    process.send_signal(signal.SIGKILL)
    completed = process.wait() == 0
    return completed, None if written is None else written - began


def check_served(settings: Any, before: str, documents: int) -> str:
    """The served generation verifies and is the previous one or newer; returns "old" or "new"."""
    from qabot import store

    index = store.open_index(settings, verify=True)
    try:
        name, count = index.generation, index.document_count()
    finally:
        index.close()
    if count != documents:
        raise AssertionError(f"generation {name} holds {count} documents, not {documents}")
    if name == before:
        return "old"
    if name > before:
        return "new"
    raise AssertionError(f"generation {name} is older than {before}, which was served before the kill")


def check_ask(settings: Any, question: str = QUESTION) -> None:
    """`qabot ask --json` answers with quotes that are verbatim at their offsets in the corpus files."""
    from click.testing import CliRunner

    from qabot.cli import main

    options = ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]
    result = CliRunner().invoke(main, ["ask", *options, "--json", question])
    if result.exit_code != 0:
        raise AssertionError(f"ask exited {result.exit_code}: {result.output.strip()[-500:]}")
    answer = json.loads(result.stdout)
    if not answer["answered"] or not answer["quotes"]:
        raise AssertionError(f"ask did not answer: {result.stdout[:300]}")
    for quote in answer["quotes"]:
        text = (settings.corpus_dir / quote["source"]["path"]).read_text(encoding="utf-8")
        if text[quote["start"] : quote["end"]] != quote["text"]:
            raise AssertionError(f"quote not verbatim at {quote['source']['path']}:{quote['start']}")


def check_rebuild(settings: Any) -> None:
    """The next `qabot index` succeeds, cleans every leftover and keeps at most KEEP_GENERATIONS."""
    from click.testing import CliRunner

    from qabot import store
    from qabot.cli import main

    options = ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]
    result = CliRunner().invoke(main, ["index", *options])
    if result.exit_code != 0:
        raise AssertionError(f"the next build exited {result.exit_code}: {result.output.strip()[-500:]}")
    if leftovers(settings.index_dir):
        raise AssertionError(f"the next build left {leftovers(settings.index_dir)}")
    generations = [p for p in (settings.index_dir / "generations").iterdir() if p.is_dir()]
    if len(generations) > store.KEEP_GENERATIONS:
        raise AssertionError(f"{len(generations)} generations kept, more than {store.KEEP_GENERATIONS}")
    store.open_index(settings, verify=True).close()


def run_trial(settings: Any, number: int, delay: float, documents: int, at_write: bool = False) -> Trial:
    """Kill one build after `delay` seconds, then run every check; failures are recorded, not raised."""
    trial = Trial(number, delay, at_write)
    index_dir = settings.index_dir
    before = served_generation(index_dir)
    known = {p.name for p in (index_dir / "generations").iterdir()}
    completed, trial.wrote_after = kill_build(settings, delay, at_write)
    began = time.perf_counter()
    trial.phase = phase_of(index_dir, before, known, completed)
    checks: tuple[tuple[str, Callable[[], object]], ...] = (
        ("served", lambda: setattr(trial, "served", check_served(settings, before, documents))),
        ("ask", lambda: check_ask(settings)),
        ("rebuild", lambda: check_rebuild(settings)),
    )
    for name, check in checks:
        try:
            check()
        except Exception as exc:  # a benchmark reports every failure, whatever raised it
            trial.failures.append(f"{name}: {type(exc).__name__}: {exc}")
    trial.seconds = time.perf_counter() - began
    return trial


def schedule(rng: random.Random, trials: int) -> list[tuple[float, bool]]:
    """(fraction, at_write) per trial: odd trials anywhere in [0, 1.05 T], even ones in [0, 1.1 W] after
    the .tmp generation appears."""
    return [
        (rng.uniform(0.0, 1.05), False) if n % 2 else (rng.uniform(0.0, 1.1), True)
        for n in range(1, trials + 1)
    ]


def run_trials(
    settings: Any,
    plan: list[tuple[float, bool]],
    total: float,
    tail: float,
    documents: int,
    report: Callable[[Trial], None] = lambda trial: None,
) -> list[Trial]:
    """Run the planned trials; T follows the machine's load (each build that reaches its write phase
    tells how long the next one will take), so delays keep spanning the whole build."""
    trials = []
    for number, (fraction, at_write) in enumerate(plan, 1):
        trial = run_trial(settings, number, fraction * (tail if at_write else total), documents, at_write)
        trial.fraction = fraction
        if trial.wrote_after is not None:
            total = trial.wrote_after + tail
        trials.append(trial)
        report(trial)
    return trials


def print_table(trials: list[Trial], builds: list[tuple[float, float]]) -> None:
    print(f"{'trial':>5}  {'SIGKILL after':<26} {'killed':<13} {'served':<7} {'checks s':>8}  result")
    for t in trials:
        result = "ok" if not t.failures else "FAIL " + "; ".join(t.failures)
        if t.at_write:
            when = f"{t.delay:6.3f} s into W ({t.fraction:.2f} W)"
        else:
            when = f"{t.delay:6.2f} s ({t.fraction:.2f} T)"
        print(f"{t.number:>5}  {when:<26} {t.phase:<13} {t.served or '-':<7} {t.seconds:8.2f}  {result}")
    phases = Counter(t.phase for t in trials)
    served = Counter(t.served for t in trials if t.served)
    failed = sum(1 for t in trials if t.failures)
    print()
    print("killed: " + ", ".join(f"{p} {phases[p]}" for p in PHASES if phases[p]))
    print("served after the kill: " + ", ".join(f"{k} {v}" for k, v in sorted(served.items())))
    print(
        "unkilled --full builds: "
        + ", ".join(f"T {total:.2f} s (W {tail:.2f} s)" for total, tail in builds)
        + "; T from process start to exit, W from the .tmp generation's appearance to its publication"
    )
    print(f"{len(trials) - failed} of {len(trials)} trials passed every check; {failed} failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20, help="builds to kill (default 20)")
    parser.add_argument("--files", type=int, default=100, help="SQuAD documents added to the seed corpus")
    parser.add_argument("--paragraphs", type=int, default=2, help="SQuAD paragraphs per document")
    parser.add_argument(
        "--seed-corpus",
        type=Path,
        default=SEED_CORPUS,
        help=f"articles the corpus starts from, one of them answering {QUESTION!r} (default ./corpus)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random delays")
    parser.add_argument("--work", type=Path, default=None, help="keep corpus and index in this folder")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from qabot import store
    from qabot.config import Settings
    from qabot.models.encoder import model_key

    work = args.work or Path(tempfile.mkdtemp(prefix="qabot-crash-"))
    try:
        corpus, index_dir = work / "corpus", work / "index"
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.rmtree(index_dir, ignore_errors=True)
        documents = make_corpus(corpus, args.files, args.paragraphs, seed=args.seed_corpus)
        settings = Settings(corpus_dir=corpus, index_dir=index_dir)
        seed_model = Settings().index_dir / "models" / model_key(settings.model)
        if (seed_model / "spec.json").exists():
            shutil.copytree(seed_model, index_dir / "models" / seed_model.name)
        print(f"corpus: {documents} documents in {corpus}; index: {index_dir}", flush=True)
        store.build(settings)  # the generation the first trial starts from (and the model export)
        builds = [measure_build(settings)]
        total, tail = builds[0]
        print(f"an unkilled --full build: T {total:.2f} s, W {tail:.2f} s; {args.trials} trials", flush=True)
        plan = schedule(random.Random(args.seed), args.trials)

        def progress(t: Trial) -> None:
            print(f"  trial {t.number}: {t.phase}, {'ok' if not t.failures else 'FAIL'}", flush=True)

        trials = run_trials(settings, plan, total, tail, documents, progress)
        builds.append(measure_build(settings))  # the load may change over a long run: measure again
        print()
        print_table(trials, builds)
        return 1 if any(t.failures for t in trials) else 0
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
