"""Reliability of asking: any question gets an answer, a refusal or a one-line error, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from qabot.answer import MAX_QUESTION_CHARS, Answer, Answerer, QuestionError
from qabot.cli import main
from qabot.config import Settings

# Questions people (and bots, and pasted logs) send; each must be answered, declined or refused.
QUESTIONS: dict[str, str] = {
    "empty": "",
    "whitespace": " \t \u3000 ",
    "huge": "How many troops does Armenia host? " * (100_000 // 35 + 1),
    "just over the limit": "troops" + "s" * (MAX_QUESTION_CHARS - 5),
    "at the limit": ("Armenia troops " * 100)[:MAX_QUESTION_CHARS],
    "control characters": "How many\x00 Russian\x07 troops\x1b[31m does Armenia\x7f host?\x9b",
    "only control characters": "\x00\x01\x02\x1b\x7f",
    "only invisible characters": "\u200b\u200d\u2060\ufeff\u202e",
    "undecodable argv bytes": "troops in Gyumri \udcff\udcfe",
    "russian": "Сколько российских военных находится в Армении?",
    "armenian": "Քանի՞ ռուս զինվոր կա Հայաստանում։",
    "chinese": "亚美尼亚有多少俄罗斯军队？",
    "right to left": "\u202eHow many troops does Armenia host?\u202c",
    "emoji": "🇦🇲🇷🇺 how many troops? 💣💣",
    "@everyone": "@everyone how many Russian troops does Armenia host?",
    "mentions": "@here <@123456789012345678> <@&987654321098765432> <#1234>",
    "markdown": "**How many** _Russian_ `troops` > does ~~Armenia~~ host? ```rm -rf /``` || spoiler ||",
    "rich markup": "[bold red]How many troops[/] [link=https://x.test]click[/link] [/]",
    "links": "[click me](https://evil.example/x?a=1) https://example.com/armenia?troops=10000",
    "html": "<script>alert('troops')</script><img src=x onerror=alert(1)>",
    "fts syntax": 'troops" OR "x" NEAR(a b) * AND NOT -col:1 ^ {title}: (',
    "sql": "'; DROP TABLE documents; -- how many troops",
    "only punctuation": "?!.,;:—…",
    "only stopwords": "What is it that they would have been?",
    "one long word": "a" * 900,
    "newlines": "How many\nRussian troops\r\ndoes Armenia host?\n",
    "leading dash": "-1 degrees in Gyumri?",
}
# What the question should get: an answer with quotes, an abstention, or a refusal (QuestionError).
REFUSED = {
    "empty",
    "whitespace",
    "huge",
    "just over the limit",
    "only control characters",
    "only invisible characters",
}


def run(settings: Settings, *args: str, stdin: str | None = None) -> Result:
    options = ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]
    return CliRunner().invoke(main, [args[0], *options, *args[1:]], input=stdin)


def assert_no_crash(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.output


def assert_verbatim_json(quotes: list[dict[str, object]], corpus_dir: Path) -> None:
    for q in quotes:
        source = q["source"]
        assert isinstance(source, dict) and isinstance(q["start"], int) and isinstance(q["end"], int)
        text = (corpus_dir / str(source["path"])).read_text(encoding="utf-8")
        assert text[q["start"] : q["end"]] == q["text"]


def consistent(answered: bool, status: str, quotes: object) -> bool:
    """Answered: quotes and the status says so; declined: the closest quotes ("unsure") or none."""
    expected = {"answered": answered and bool(quotes), "unsure": not answered and bool(quotes)}
    return expected.get(status, not answered and not quotes)


def assert_whole_answer(answer: Answer, corpus_dir: Path) -> None:
    assert consistent(answer.answered, answer.status, answer.quotes), answer
    for quote in answer.quotes:
        text = (corpus_dir / quote.source.path).read_text(encoding="utf-8")
        assert text[quote.start : quote.end] == quote.text
    if not answer.answered:
        assert len(answer.nearest) <= 3


@pytest.mark.parametrize("name", QUESTIONS)
def test_the_answerer_answers_declines_or_refuses(
    answerer: Answerer, name: str, seed_settings: Settings
) -> None:
    question = QUESTIONS[name]
    if name in REFUSED:
        with pytest.raises(QuestionError) as refused:
            answerer.answer(question)
        message = str(refused.value)
        assert message and "\n" not in message
        with pytest.raises(QuestionError):
            answerer.search(question)
        return
    answer = answerer.answer(question)
    assert_whole_answer(answer, seed_settings.corpus_dir)
    assert len(answer.question) <= MAX_QUESTION_CHARS and answer.question.isprintable()
    assert all(d.source.path for d in answerer.search(question))


@pytest.mark.parametrize("name", QUESTIONS)
def test_cli_ask_json_never_crashes(seed_settings: Settings, name: str) -> None:
    # `--` ends the options, as a shell user must do for a question starting with a dash
    result = run(seed_settings, "ask", "--json", "--", QUESTIONS[name])
    assert_no_crash(result)
    if name in REFUSED:
        assert result.exit_code == 1
        return
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert set(data) >= {"question", "answered", "quotes"} and consistent(
        data["answered"], data.get("status", "not_found"), data["quotes"]
    )
    assert_verbatim_json(data["quotes"], seed_settings.corpus_dir)


@pytest.mark.parametrize(
    "name", ["empty", "huge", "control characters", "@everyone", "rich markup", "chinese"]
)
def test_cli_ask_text_never_crashes(seed_settings: Settings, name: str) -> None:
    result = run(seed_settings, "ask", "--", QUESTIONS[name])
    assert_no_crash(result)
    assert result.exit_code == (1 if name in REFUSED else 0)
    if name == "rich markup":  # the question is printed as text, not parsed as console markup
        assert "[bold red]How many troops[/]" in result.output


def test_a_question_starting_with_a_dash_needs_the_option_terminator(seed_settings: Settings) -> None:
    """Without `--`, click reads "-1 degrees" as an option: a usage error (exit 2), never a traceback."""
    result = run(seed_settings, "ask", QUESTIONS["leading dash"])
    assert result.exit_code == 2 and "No such option" in result.output
    assert isinstance(result.exception, SystemExit)


def stdin_questions() -> list[tuple[str, str]]:
    """(name, line) for every question stdin can carry: newlines inside would split it, and undecodable
    bytes are a separate test."""
    return [
        (name, " ".join(q.replace("\r", "\n").split("\n")))
        for name, q in QUESTIONS.items()
        if name != "undecodable argv bytes"
    ]


def test_cli_ask_stdin_writes_one_json_line_per_question(seed_settings: Settings) -> None:
    questions = stdin_questions()
    stdin = "".join(line + "\n" for _, line in questions)
    result = run(seed_settings, "ask", "--json", "-", stdin=stdin)
    assert result.exception is None and result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.split("\n") if line]
    asked = [(name, line) for name, line in questions if line.strip()]  # blank lines are skipped, by design
    assert len(out) == len(asked)
    for (name, _), data in zip(asked, out, strict=True):
        assert consistent(data["answered"], data.get("status", "not_found"), data["quotes"])
        assert ("error" in data) == (name in REFUSED), name
        if "error" in data:
            assert data["answered"] is False and data["error"] and "\n" not in data["error"]
        assert_verbatim_json(data["quotes"], seed_settings.corpus_dir)


def test_undecodable_stdin_bytes_do_not_stop_the_batch(seed_settings: Settings) -> None:
    """CliRunner decodes stdin strictly, as Python does under a UTF-8 locale such as en_US.UTF-8."""
    stdin = b"troops in Gyumri \xff\xfe?\nHow many Russian troops does Armenia host?\n"
    options = ["--corpus", str(seed_settings.corpus_dir), "--index", str(seed_settings.index_dir)]
    result = CliRunner().invoke(main, ["ask", *options, "--json", "-"], input=stdin)
    assert result.exception is None and result.exit_code == 0
    assert len(result.stdout.split("\n")) == 3  # two JSON lines


def test_cli_chat_json_keeps_going_after_bad_turns(seed_settings: Settings) -> None:
    turns = [line for _, line in stdin_questions() if line.strip()]
    stdin = "".join(f"{t}\nHow many Russian troops does Armenia host?\n" for t in turns)
    result = run(seed_settings, "chat", "--json", stdin=stdin)
    assert result.exception is None and result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.split("\n") if line]
    assert len(out) == 2 * len(turns)
    for data in out[1::2]:  # the good question after every bad turn is still answered
        assert data["answered"] and data["quotes"]
        assert_verbatim_json(data["quotes"], seed_settings.corpus_dir)


def test_no_candidates_is_never_an_answer_whatever_the_threshold(answerer: Answerer) -> None:
    """A keyword baseline without a floor (as eval and calibrate run it) on a question of stopwords."""
    floorless = Answerer(answerer.index, min_confidence=0.0, mode="keyword")
    answer = floorless.answer(QUESTIONS["only stopwords"])
    assert consistent(answer.answered, answer.status, answer.quotes)
