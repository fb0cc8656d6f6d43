"""Check hand-written question files and append the lines that pass to a written questions file.

    python -m training.merge_written /work/notes/wq91/out/*.jsonl --corpus runs/reader/data/corpus \
        --into training/written_questions_2.jsonl
    python -m training.merge_written /work/notes/dq94/out/*.jsonl --corpus runs/docs/corpus \
        --into training/written_docs_questions_2.jsonl

A source names its file without the suffix: an article's `.txt`, or a docs page's Markdown or reST
(`training/prompts/written_docs_questions.txt`).

Helpers write questions in people's words (`training/prompts/written_questions.txt`); nothing they write
is trusted as it is. A line passes when it has exactly the prompt's keys, its id and question are new,
and, answerable, every answer and its sentence are verbatim in its source and the sentence holds the
first answer; unanswerable, it has no answers and no sentence. New against every file of
`training.written.WRITTEN`, `DOCS_WRITTEN` and `--into`. A line that fails is reported and left out;
`--dry-run` only reports.
"""

from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path
from typing import Any

from qabot import markup
from training.written import DOCS_WRITTEN, WRITTEN

KEYS = {"id", "question", "answers", "sentence", "source"}


def problem(item: dict[str, Any], text: str | None) -> str | None:
    """Why `item` cannot be used, or None. `text`: its source article's text (None when missing)."""
    if set(item) != KEYS:
        return f"keys {sorted(item)}"
    if not isinstance(item["question"], str) or not item["question"].strip():
        return "no question"
    if text is None:
        return f"no article {item['source']!r}"
    answers, sentence = item["answers"], item["sentence"]
    if not answers:
        return None if sentence is None else "unanswerable with a sentence"
    if not isinstance(sentence, str) or sentence not in text:
        return "sentence not verbatim"
    missing = [a for a in answers if not isinstance(a, str) or not a or a not in text]
    if missing:
        return f"answer not verbatim: {missing[0]!r}"
    if answers[0] not in sentence:
        return "sentence without the first answer"
    return None


def source_text(corpus: Path, source: str) -> str | None:
    """The text of `source` under `corpus` (its one file of that name, whatever the suffix), or None."""
    found = [
        f
        for f in corpus.glob(f"{glob.escape(source)}.*")
        if (f.suffix == ".txt" or markup.structured(markup.syntax_of(f.name))) and f.stem == Path(source).name
    ]
    return found[0].read_text(encoding="utf-8") if len(found) == 1 else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--corpus", type=Path, default=Path("runs/reader/data/corpus"))
    parser.add_argument("--into", type=Path, default=WRITTEN[-1])
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    files = dict.fromkeys([*WRITTEN, *DOCS_WRITTEN, args.into])
    existing = [
        json.loads(line) for f in files if f.exists() for line in f.read_text("utf-8").splitlines() if line
    ]
    ids = {i["id"] for i in existing}
    questions = {(i["source"], i["question"].strip().lower()) for i in existing}
    texts: dict[str, str | None] = {}
    kept: list[dict[str, Any]] = []
    failed = 0
    for path in args.files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                print(f"{path}:{number}: not JSON ({e})")
                failed += 1
                continue
            source = str(item.get("source"))
            if source not in texts:
                texts[source] = source_text(args.corpus, source)
            why = problem(item, texts[source])
            key = (source, str(item.get("question", "")).strip().lower())
            if why is None and (item["id"] in ids or key in questions):
                why = "id or question already there"
            if why is not None:
                print(f"{path}:{number}: {why}")
                failed += 1
                continue
            ids.add(item["id"])
            questions.add(key)
            kept.append(item)
    answerable = sum(bool(i["answers"]) for i in kept)
    unanswerable = len(kept) - answerable
    print(f"{len(kept)} pass ({answerable} answerable, {unanswerable} unanswerable), {failed} left out")
    if kept and not args.dry_run:
        with args.into.open("a", encoding="utf-8") as out:
            out.writelines(json.dumps(i, ensure_ascii=False) + "\n" for i in kept)


if __name__ == "__main__":
    main()
