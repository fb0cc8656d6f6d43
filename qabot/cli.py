"""The `qabot` command: thin shells over the library. Each command parses options, calls, renders."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console

from qabot.config import THREAD_ENV_VARS, Settings

if TYPE_CHECKING:  # (imported where used: `qabot ask` stays fast to start)
    from collections.abc import Sequence

    from qabot.corpus import Problem
    from qabot.library import Skipped
    from qabot.store import BuildReport

F = TypeVar("F", bound=Callable[..., Any])
ONE_SHOT = frozenset({"ask", "search", "show"})  # commands that print and end: nothing to tear down
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def common_options(func: F) -> F:
    """--corpus and --index on every command (the contract in DESIGN.md)."""
    func = click.option(
        "--index",
        "index_dir",
        type=click.Path(path_type=Path),
        default=None,
        help="Index folder [env QABOT_INDEX_DIR; default ./index].",
    )(func)
    func = click.option(
        "--corpus",
        "corpus_dir",
        type=click.Path(path_type=Path),
        default=None,
        help="Corpus folder [env QABOT_CORPUS_DIR; default ./corpus].",
    )(func)
    return func


def load_settings(**overrides: Any) -> Settings:
    """Flags over environment over .env: only flags actually given override."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


@contextmanager
def domain_errors() -> Iterator[None]:
    """Library errors become one-line messages and a non-zero exit, never a traceback."""
    from qabot.answer import QuestionError
    from qabot.models.encoder import ModelError
    from qabot.store import StoreError

    try:
        yield
    except (StoreError, QuestionError, ModelError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    except sqlite3.DatabaseError as exc:  # damage found past the checks done on load
        raise click.ClickException(
            f"the index database is damaged ({exc}); run `qabot index --full`"
        ) from None


@click.group()
@click.version_option(package_name="qabot")
def main() -> None:
    """Answer questions about a folder of documents with verbatim, cited quotes."""


def run() -> None:
    """The console entry point: `main`, in a process set up for a small host.

    One-shot commands end with `os._exit` once their output is flushed: tearing the interpreter down
    (freeing every module; pydantic's alone takes ~60 ms) was ~100 ms of a ~0.7 s `qabot ask`, and they
    leave nothing for atexit handlers or finalisers to do (the index is opened read-only). Exit codes are
    kept; every other command exits the ordinary way.
    """
    # Serving searches one query at a time, where a second OpenMP thread only costs (docs/performance.md,
    # section 2); builds raise FAISS's count to `threads` for the HNSW graph (store.build). onnxruntime has
    # its own pool. The user's own setting wins.
    for name in THREAD_ENV_VARS:
        os.environ.setdefault(name, "1")
    one_shot = len(sys.argv) > 1 and sys.argv[1] in ONE_SHOT
    try:
        main()
    except SystemExit as exc:
        if not one_shot:
            raise
        os._exit(_flushed(_exit_status(exc.code)))


def _exit_status(code: object) -> int:
    """The status Python would exit with for `SystemExit(code)` (a message is printed, as Python does)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _flushed(status: int) -> int:
    """Flush what is buffered; like Python at exit, a failed flush (a closed pipe) makes the status 120."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            status = status or 120
    return status


def problem_lines(problems: Sequence[Problem]) -> list[str]:
    """A line per file that could not be read, but one for all the files of types qabot does not read
    when there are several (an HTML docs site's stylesheets, scripts and fonts are dozens of lines)."""
    unsupported = Counter(p.unsupported for p in problems if p.unsupported)
    grouped = sum(unsupported.values()) > 1
    generated = Counter(p.generated for p in problems if p.generated)
    lines = [
        f"skipped {p.path}: {p.reason}"
        for p in problems
        if not (grouped and p.unsupported) and not p.generated
    ]
    if generated:
        parts = ", ".join(f"{part} ({n})" if n > 1 else part for part, n in generated.most_common())
        lines.append(
            f"skipped {sum(generated.values())} files a docs generator makes beside its pages: {parts}"
        )
    if grouped:
        kinds = ", ".join(f"{kind} ({n})" for kind, n in unsupported.most_common())
        lines.append(f"skipped {sum(unsupported.values())} files of types qabot does not read: {kinds}")
    return lines


@main.command()
@common_options
@click.option("--full", is_flag=True, help="Re-embed every document instead of only new or changed ones.")
def index(corpus_dir: Path | None, index_dir: Path | None, full: bool) -> None:
    """Build or update the index from the corpus (the index rebuild command)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from qabot import library, store

    settings = load_settings(corpus_dir=corpus_dir, index_dir=index_dir)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with domain_errors(), Progress(*columns, console=err_console, transient=True) as bar:
        library.settle(settings)  # finish or undo an add or remove that was interrupted
        task = bar.add_task("loading", total=None)

        def start(label: str, total: int) -> None:
            bar.update(task, description=label, total=total, completed=0)

        report = store.build(
            settings, full=full, progress=store.Progress(start, lambda n: bar.advance(task, n))
        )
    for line in problem_lines(report.problems):
        err_console.print(line, markup=False)
    console.print(
        f"Indexed {report.documents} documents ({report.embedded_documents} embedded, "
        f"{report.reused_documents} unchanged, {report.removed_documents} removed): "
        f"{report.chunks} chunks, {report.sentences} sentences in {report.seconds:.1f} s; "
        f"{len(report.problems)} files skipped. Generation {report.generation}.",
        markup=False,
    )


@main.command()
@common_options
@click.argument("inputs", nargs=-1, required=True, metavar="URL|FILE...")
@click.option("--json", "as_json", is_flag=True, help='Print {"added": [...], "skipped": [...]}.')
def add(corpus_dir: Path | None, index_dir: Path | None, inputs: tuple[str, ...], as_json: bool) -> None:
    """Add web pages (http or https links) and .html, .pdf, .txt or .md files to the corpus, and index them.

    A page or PDF is stored as a .txt file whose front matter holds the title, date, author, site and URL it
    states. Exits 1 when any input was refused (an input already in the corpus is not an error).
    """
    from qabot import library
    from qabot.fetch import FetchPolicy

    settings = load_settings(corpus_dir=corpus_dir, index_dir=index_dir)
    with domain_errors():
        incoming, skipped = library.prepare(settings, inputs, FetchPolicy.from_settings(settings))
        report = library.add(settings, incoming, library.Actor.cli(), skipped)
    if as_json:
        click.echo(json.dumps(report.json(), ensure_ascii=False))
    else:
        for doc in report.added:
            about = " · ".join(x for x in (doc.date or "undated", doc.author, doc.source) if x)
            console.print(
                f"Added {doc.id}: “{doc.title}” ({about}){f' {doc.url}' if doc.url else ''} → {doc.path}",
                markup=False,
                soft_wrap=True,
            )
        _print_skipped(report.skipped)
        if report.build is not None:
            console.print(f"Answerable now: {_built(report.build)}", markup=False, soft_wrap=True)
    if any(s.refused for s in report.skipped):
        raise click.exceptions.Exit(1)


@main.command()
@common_options
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@click.option("--json", "as_json", is_flag=True, help='Print {"removed": [...], "skipped": [...]}.')
def remove(corpus_dir: Path | None, index_dir: Path | None, ids: tuple[str, ...], as_json: bool) -> None:
    """Take documents out of the corpus and the index, by id (as `qabot add` printed it, or `qabot search`
    shows). The file is moved to INDEX/removed/, not deleted."""
    from qabot import library

    settings = load_settings(corpus_dir=corpus_dir, index_dir=index_dir)
    with domain_errors():
        report = library.remove(settings, ids, library.Actor.cli())
    if as_json:
        click.echo(json.dumps(report.json(), ensure_ascii=False))
    else:
        for doc in report.removed:
            console.print(
                f"Removed {doc.id}: “{doc.title}” (the file is kept as {doc.kept})",
                markup=False,
                soft_wrap=True,
            )
        _print_skipped(report.skipped)
        if report.build is not None:
            console.print(f"Index updated: {_built(report.build)}", markup=False, soft_wrap=True)
    if report.skipped:
        raise click.exceptions.Exit(1)


def _print_skipped(skipped: Sequence[Skipped]) -> None:
    for s in skipped:
        if s.refused:
            err_console.print(f"Error: {s.input}: {s.reason}.", markup=False, soft_wrap=True)
        else:
            console.print(f"Skipped {s.input}: {s.reason}.", markup=False, soft_wrap=True)


def _built(built: BuildReport) -> str:
    return (
        f"generation {built.generation}, {built.documents} documents ({built.embedded_documents} embedded, "
        f"{built.reused_documents} unchanged, {built.removed_documents} removed) in {built.seconds:.1f} s."
    )


def _answerer(settings: Settings) -> Any:
    from qabot.answer import Answerer
    from qabot.store import open_index

    return Answerer(open_index(settings), min_confidence=settings.min_confidence, threads=settings.threads)


def _stdin() -> Any:
    """Standard input as UTF-8 text where an undecodable byte becomes U+FFFD instead of ending the batch."""
    return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")


def _lines(stream: Any) -> Iterator[str]:
    for line in stream:
        yield line.rstrip("\n")


def filter_options(func: F) -> F:
    """--since, --until and --source, shared by ask and search."""
    func = click.option(
        "--source", "sources", multiple=True, help="Only this document id, file stem or folder (repeatable)."
    )(func)
    func = click.option("--until", default=None, help="Only documents dated on or before (YYYY[-MM[-DD]]).")(
        func
    )
    func = click.option("--since", default=None, help="Only documents dated on or after (YYYY[-MM[-DD]]).")(
        func
    )
    return func


@main.command()
@common_options
@click.argument("question")
@click.option("-k", "top_k", type=click.IntRange(1, 20), default=None, help="Quotes to show [default 3].")
@filter_options
@click.option(
    "--timeline/--no-timeline",
    default=None,
    help="One quote per document, oldest first [default: when the question asks how something changed].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the Answer JSON (JSONL with '-').")
def ask(
    corpus_dir: Path | None,
    index_dir: Path | None,
    question: str,
    top_k: int | None,
    since: str | None,
    until: str | None,
    sources: tuple[str, ...],
    timeline: bool | None,
    as_json: bool,
) -> None:
    """Answer QUESTION with verbatim quotes; '-' reads one question per line from stdin."""
    from qabot import render
    from qabot.answer import QuestionError, parse_filters

    settings = load_settings(corpus_dir=corpus_dir, index_dir=index_dir, top_k=top_k)
    with domain_errors():
        filters = parse_filters(since, until, sources)
        answerer = _answerer(settings)
        questions = _lines(_stdin()) if question == "-" else iter([question])
        for line in questions:
            if not line.strip() and question == "-":
                continue
            try:
                answer = answerer.answer(line, settings.top_k, filters=filters, timeline=timeline)
            except QuestionError as exc:
                if question != "-":
                    raise
                if as_json:
                    error = {"question": line, "answered": False, "quotes": [], "error": str(exc)}
                    click.echo(json.dumps(error, ensure_ascii=False))
                else:
                    err_console.print(f"{exc}", markup=False)
                continue
            if as_json:
                click.echo(json.dumps(render.answer_json(answer), ensure_ascii=False))
            else:
                console.print(render.answer_text(answer))


@main.command()
@common_options
@click.argument("query")
@click.option("-k", "top_k", type=click.IntRange(1, 100), default=5, show_default=True, help="Documents.")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the Search JSON (JSONL with '-').")
def search(
    corpus_dir: Path | None,
    index_dir: Path | None,
    query: str,
    top_k: int,
    since: str | None,
    until: str | None,
    sources: tuple[str, ...],
    as_json: bool,
) -> None:
    """Rank documents for QUERY; '-' reads one query per line from stdin."""
    from qabot import render
    from qabot.answer import parse_filters

    settings = load_settings(corpus_dir=corpus_dir, index_dir=index_dir)
    queries = [q for q in _lines(_stdin()) if q.strip()] if query == "-" else [query]
    with domain_errors():
        filters = parse_filters(since, until, sources)
        answerer = _answerer(settings)
        for q in queries:
            documents = answerer.search(q, top_k, filters=filters)
            if as_json:
                click.echo(json.dumps(render.search_json(q, documents), ensure_ascii=False))
            else:
                console.print(render.search_text(q, documents))


@main.command()
@common_options
@click.option("-k", "top_k", type=click.IntRange(1, 20), default=None, help="Quotes per answer [default 3].")
@click.option(
    "--json", "as_json", is_flag=True, help="Read turns from stdin, write one Answer JSON per turn."
)
def chat(corpus_dir: Path | None, index_dir: Path | None, top_k: int | None, as_json: bool) -> None:
    """Ask question after question with everything loaded once; '/new' starts over, '/quit' ends."""
    from qabot import render
    from qabot.answer import QuestionError

    settings = load_settings(corpus_dir=corpus_dir, index_dir=index_dir, top_k=top_k)
    with domain_errors():
        answerer = _answerer(settings)
    stdin = _stdin()
    if not as_json:
        console.print("qabot chat: ask about the documents. '/new' starts over, '/quit' or Ctrl-D ends.")
    history: list[str] = []
    while True:
        if as_json:
            line = stdin.readline()
            if not line:
                return
            line = line.rstrip("\n")
            if not line.strip():
                history.clear()  # an empty line starts a new conversation
                continue
        else:
            try:
                line = console.input("[bold]> [/bold]")
            except (EOFError, KeyboardInterrupt):
                console.print()
                return
            if line.strip() in {"/quit", "/exit"}:
                return
            if line.strip() == "/new":
                history.clear()
                console.print("New conversation.", style="dim")
                continue
            if not line.strip():
                continue
        try:
            answer = answerer.answer(line, settings.top_k, history=history)
        except QuestionError as exc:
            if as_json:
                click.echo(json.dumps({"question": line, "answered": False, "quotes": [], "error": str(exc)}))
            else:
                console.print(str(exc), style="yellow", markup=False)
            continue
        history.append(answer.question)
        if as_json:
            click.echo(json.dumps(render.answer_json(answer), ensure_ascii=False))
            sys.stdout.flush()
        else:
            console.print(render.answer_text(answer))


@main.command()
@common_options
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print the document as JSON.")
def show(corpus_dir: Path | None, index_dir: Path | None, source: str, as_json: bool) -> None:
    """Print the indexed text of SOURCE (an id, file stem or path): the text citation offsets index."""
    from qabot.store import open_index

    settings = load_settings(corpus_dir=corpus_dir, index_dir=index_dir)
    with domain_errors():
        index = open_index(settings)
        doc = index.find_document(source)
    if doc is None:
        raise click.ClickException(f"no indexed document matches '{source}' (try `qabot search`)")
    if as_json:
        fields = {"id": doc.id, "title": doc.title, "path": doc.path, "date": doc.date, "url": doc.url}
        click.echo(json.dumps({**fields, "text": doc.text}, ensure_ascii=False))
    else:
        click.echo(doc.text, nl=not doc.text.endswith("\n"))


@main.command("eval")
@common_options
@click.argument("file", type=click.Path(exists=True, path_type=Path), required=False)
@click.option(
    "--beir",
    "beir_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Score document ranking on BEIR data (queries, qrels) against the index.",
)
@click.option("--split", default="train", show_default=True, help="BEIR split (queries_<split>.jsonl).")
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "scorer", "reader", "dense", "keyword", "all"]),
    default="hybrid",
    show_default=True,
    help="Answering to score; 'all' adds the baselines (scorer, reader, dense, keyword) in one run.",
)
@click.option(
    "--limit", type=click.IntRange(1), default=None, help="Score a fixed random sample of this size."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of that sample.")
@click.option(
    "-k", "top_k", type=click.IntRange(1, 20), default=3, show_default=True, help="Quotes per answer."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def eval_command(
    corpus_dir: Path | None,
    index_dir: Path | None,
    file: Path | None,
    beir_dir: Path | None,
    split: str,
    mode: str,
    limit: int | None,
    seed: int,
    top_k: int,
    as_json: bool,
) -> None:
    """Score answers on a question set FILE (JSONL), or document ranking with --beir DIR."""
    import dataclasses
    import random

    from qabot import evaluate
    from qabot.answer import MODES, Answerer
    from qabot.store import open_index

    if (file is None) == (beir_dir is None):
        raise click.UsageError("give a question FILE or --beir DIR")
    settings = load_settings(corpus_dir=corpus_dir, index_dir=index_dir)
    modes = list(MODES) if mode == "all" else [mode]
    reports: dict[str, dict[str, Any]] = {}
    with domain_errors():
        index = open_index(settings)
        for m in modes:
            # Baselines quote whatever ranks first: they have no calibrated way to abstain.
            floor = settings.min_confidence if m == "hybrid" else 0.0
            answerer = Answerer(index, min_confidence=floor, threads=settings.threads, mode=m)
            if beir_dir is not None:
                queries, qrels = evaluate.load_beir(beir_dir, split)
                if limit:
                    queries = dict(
                        random.Random(seed).sample(sorted(queries.items()), min(limit, len(queries)))
                    )

                def rank(text: str, k: int, a: Answerer = answerer) -> list[str]:
                    return [d.source.id for d in a.search(text, k)]

                reports[m] = dataclasses.asdict(evaluate.evaluate_beir(rank, queries, qrels))
            else:
                assert file is not None
                items = evaluate.load_items(file)
                if limit:
                    items = random.Random(seed).sample(items, min(limit, len(items)))
                results = evaluate.run_items(answerer, items, top_k)
                checker = evaluate.QuoteChecker(settings.corpus_dir)
                reports[m] = dataclasses.asdict(evaluate.score(results, checker))
    if as_json:
        click.echo(json.dumps(reports if mode == "all" else reports[mode], indent=2))
        return
    from rich.table import Table

    table = Table(title=f"qabot eval {file or beir_dir}")
    table.add_column("metric")
    for m in modes:
        table.add_column(m, justify="right")
    for key in next(iter(reports.values())):
        if key == "extra":
            for extra in reports[modes[0]]["extra"]:
                table.add_row(extra, *[_fmt(reports[m]["extra"].get(extra)) for m in modes])
            continue
        table.add_row(key, *[_fmt(reports[m][key]) for m in modes])
    console.print(table)


def _fmt(value: Any) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


@main.command("discord")
@common_options
@click.option(
    "--sync",
    is_flag=True,
    help="Publish the slash commands on start (globally, or to QABOT_DISCORD_GUILD_ID when set).",
)
def discord_(corpus_dir: Path | None, index_dir: Path | None, sync: bool) -> None:
    """Run the Discord bot (token from DISCORD_TOKEN; build the index first with `qabot index`)."""
    from qabot.bot import BotError, run

    settings = load_settings(corpus_dir=corpus_dir, index_dir=index_dir)
    token = settings.discord_token
    if token is None or not token.get_secret_value().strip():
        raise click.ClickException("no Discord token: set DISCORD_TOKEN (in the environment or .env)")
    with domain_errors():
        try:
            run(settings, sync=sync)
        except BotError as exc:
            raise click.ClickException(str(exc)) from None


@main.command()
@common_options
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--negatives",
    type=click.Path(exists=True, path_type=Path),
    multiple=True,
    help="Question sets about other corpora: every one counts as unanswerable here.",
)
@click.option(
    "--precision",
    type=click.FloatRange(0.5, 1.0),
    default=0.9,
    show_default=True,
    help="Share of abstentions that must be right (unanswerable, or the top quote was wrong).",
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Use a fixed random sample per file.")
def calibrate(
    corpus_dir: Path | None,
    index_dir: Path | None,
    file: Path,
    negatives: tuple[Path, ...],
    precision: float,
    limit: int | None,
) -> None:
    """Choose the abstention threshold on a labelled question set FILE and store it with the index."""
    import dataclasses
    import random

    from qabot import evaluate
    from qabot.answer import Answerer, save_calibration
    from qabot.store import open_index

    settings = load_settings(corpus_dir=corpus_dir, index_dir=index_dir)

    def sample(path: Path) -> list[evaluate.Item]:
        items = evaluate.load_items(path)
        return random.Random(0).sample(items, min(limit, len(items))) if limit else items

    items = sample(file)
    for path in negatives:
        items += [dataclasses.replace(i, answers=(), source=None) for i in sample(path)]
    with domain_errors():
        index = open_index(settings)
        answerer = Answerer(index, min_confidence=0.0, threads=settings.threads)
        results = evaluate.run_items(answerer, items)
    threshold, got_precision, recall = evaluate.calibrate(results, precision)
    save_calibration(settings.index_dir, index.manifest["model_key"], threshold, precision, len(items))
    console.print(
        f"Abstention threshold {threshold} (abstentions right {got_precision:.3f}, "
        f"declining {recall:.3f} of what should be declined) over {len(items)} questions; "
        f"saved to {settings.index_dir / 'calibration.json'}.",
        markup=False,
    )
