from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from qabot.cli import main
from qabot.config import Settings

COMMANDS = sorted(main.commands)
ROOT = Path(__file__).resolve().parents[1]


def run(settings: Settings, *args: str, stdin: str | None = None) -> tuple[int, str]:
    options = ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]
    result = CliRunner().invoke(main, [args[0], *options, *args[1:]], input=stdin)
    return result.exit_code, result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "--corpus" in result.output and "--index" in result.output


def test_commands_cover_the_contract() -> None:
    assert {"index", "ask", "search", "chat", "eval"} <= set(COMMANDS)


def test_ask_json(seed_settings: Settings) -> None:
    code, out = run(seed_settings, "ask", "How many Russian troops does Armenia host?", "--json", "-k", "2")
    assert code == 0
    data = json.loads(out)
    assert data["answered"] and len(data["quotes"]) == 2
    quote = data["quotes"][0]
    text = (seed_settings.corpus_dir / quote["source"]["path"]).read_text(encoding="utf-8")
    assert text[quote["start"] : quote["end"]] == quote["text"]


def test_ask_stdin_writes_jsonl_one_per_question(seed_settings: Settings) -> None:
    stdin = (
        "Who is the Russian ambassador to Armenia?\n\nWhat is the capital of Australia?\n" + "x" * 2000 + "\n"
    )
    code, out = run(seed_settings, "ask", "-", "--json", stdin=stdin)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["answered"] for line in lines] == [True, False, False]
    assert "too long" in lines[2]["error"]


def test_ask_text_shows_quote_and_citation(seed_settings: Settings) -> None:
    code, out = run(seed_settings, "ask", "How many Russian troops does Armenia host?")
    assert code == 0
    assert "approximately 10,000" in out
    assert "Sources:" in out and "armenian-pm-sees-no-advantage-in-russian-troops.txt" in out


def test_ask_declines_off_topic(seed_settings: Settings) -> None:
    code, out = run(seed_settings, "ask", "What is the capital of Australia?")
    assert code == 0
    assert "Not in the corpus" in out and "Nearest documents" in out


def test_search_json(seed_settings: Settings) -> None:
    code, out = run(seed_settings, "search", "Shoygu visit to Gyumri", "--json", "-k", "2")
    assert code == 0
    data = json.loads(out)
    assert data["query"] == "Shoygu visit to Gyumri"
    assert [set(d) for d in data["documents"]] == [{"id", "title", "path", "score"}] * 2


def test_chat_json_answers_each_turn(seed_settings: Settings) -> None:
    stdin = "Who is the Russian ambassador to Armenia?\n\nWhat is the capital of Australia?\n"
    code, out = run(seed_settings, "chat", "--json", stdin=stdin)
    assert code == 0
    assert [json.loads(line)["answered"] for line in out.splitlines()] == [True, False]


def test_chat_interactive_loop(seed_settings: Settings) -> None:
    code, out = run(seed_settings, "chat", stdin="How many Russian troops does Armenia host?\n/new\n/quit\n")
    assert code == 0
    assert "10,000" in out


def test_index_reports_summary_and_skipped_files(fresh_index: Settings) -> None:
    (fresh_index.corpus_dir / "broken.txt").write_bytes(b"\xff\xfe\x00\x00binary")
    code, out = run(fresh_index, "index")
    assert code == 0
    assert "Indexed 5 documents" in out and "1 files skipped" in out
    assert "skipped broken.txt: binary file" in out
    # a docs site's assets are one line, not one each
    for name in ("site.css", "theme.css", "search.js"):
        (fresh_index.corpus_dir / name).write_text("body {}", encoding="utf-8")
    code, out = run(fresh_index, "index")
    assert code == 0 and "4 files skipped" in out and "skipped broken.txt: binary file" in out
    assert "skipped 3 files of types qabot does not read: .css (2), .js (1)" in out
    assert "site.css" not in out


def test_a_first_build_shows_no_bar_but_its_own(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """The first build exports the model, and transformers drew a "Loading weights" bar of its own."""
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "page.md").write_text("# Page\n\nOne sentence here.\n", encoding="utf-8")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    code, out = run(settings, "index")
    captured = capfd.readouterr()
    assert code == 0 and "Indexed 1 documents" in out
    assert "Loading weights" not in out + captured.out + captured.err


def test_missing_index_is_a_one_line_error(tmp_path: Path) -> None:
    settings = Settings(corpus_dir=tmp_path, index_dir=tmp_path / "none")
    code, out = run(settings, "ask", "Anything?")
    assert code == 1
    assert out.strip() == f"Error: no index in {tmp_path / 'none'}: run `qabot index` to build it"


def test_empty_question_is_a_usage_error(seed_settings: Settings) -> None:
    code, out = run(seed_settings, "ask", "  ")
    assert code == 1 and "the question is empty" in out


def console_script() -> list[str]:
    """What the installed `qabot` script runs: the entry point pyproject.toml declares, in a new process."""
    tomllib = pytest.importorskip("tomllib")
    with open(ROOT / "pyproject.toml", "rb") as handle:
        module, func = tomllib.load(handle)["project"]["scripts"]["qabot"].split(":")
    code = f"import sys; from {module} import {func}; sys.argv[0] = 'qabot'; sys.exit({func}())"
    return [sys.executable, "-c", code]


def test_console_ask_prints_every_answer_and_exits_0(seed_settings: Settings) -> None:
    options = ["--corpus", str(seed_settings.corpus_dir), "--index", str(seed_settings.index_dir)]
    questions = "How many Russian troops does Armenia host?\nWho is the Russian ambassador to Armenia?\n"
    result = subprocess.run(
        [*console_script(), "ask", "-", "--json", *options], input=questions, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["answered"] for a in answers] == [True, True]
    assert "10,000 Russian troops" in answers[0]["quotes"][0]["text"]


def test_console_ask_domain_error_exits_1(tmp_path: Path) -> None:
    missing = tmp_path / "none"
    result = subprocess.run(
        [*console_script(), "ask", "Anything?", "--corpus", str(tmp_path), "--index", str(missing)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == f"Error: no index in {missing}: run `qabot index` to build it"


def test_console_usage_error_exits_2() -> None:
    result = subprocess.run([*console_script(), "ask"], capture_output=True, text=True)
    assert result.returncode == 2 and "Missing argument 'QUESTION'" in result.stderr


THREADS_PROBE = """
import os, sys
sys.argv = ["qabot", "--version"]
from qabot.cli import run
try:
    run()
except SystemExit:
    pass
import faiss
print(os.environ["OMP_NUM_THREADS"], faiss.omp_get_max_threads())
"""


@pytest.mark.parametrize(("given", "expected"), [(None, "1 1"), ("2", "2 2")])
def test_console_entry_sets_one_openmp_thread_unless_told(given: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if given is not None:
        env["OMP_NUM_THREADS"] = given
    result = subprocess.run([sys.executable, "-c", THREADS_PROBE], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # FAISS reads it when it loads: every thread, the bot's workers too, then searches on one
    assert result.stdout.split("\n")[-2] == expected
