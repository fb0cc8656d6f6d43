"""A reader between two readers: the weights of a fine-tuned run averaged with those it started from.

    python -m training.soup runs/reader/shipped.pt runs/reader/run24/final.pt --share 0.5 \
        --out runs/reader/soup24/final.pt

Fine-tuning on new data (people's words, documentation) moved the reader away from what SQuAD taught
it, and SQuAD dev-a fell with it. Averaging the two weight sets (Wortsman et al., "Robust fine-tuning of
zero-shot models", 2022: WiSE-FT) often keeps most of both, at no training cost, when the run started
from the other weights, as run 24 did from the shipped reader. Here it did not: a 0.5 soup of the
shipped reader and run 24 took back half the SQuAD fall and lost nearly all the gain on people's words
(docs/benchmarks.md, "Stop 37"). `--share` is the fine-tuned run's share.
The result is a checkpoint like `training.train`'s `final.pt`: `training/pipeline.sh` exports and
measures it as any run.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

import torch

from training.model import saved_weights


def weights(path: Path) -> dict[str, torch.Tensor]:
    """A reader's parameters in float32, from anything `training.model.saved_weights` reads."""
    return {name: tensor.float() for name, tensor in saved_weights(path).items()}


def soup(
    base: Mapping[str, torch.Tensor], tuned: Mapping[str, torch.Tensor], share: float
) -> dict[str, torch.Tensor]:
    """(1 - share) × base + share × tuned, parameter by parameter; both must be the same reader."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be between 0 and 1, not {share}")
    if base.keys() != tuned.keys():
        only_one = sorted(set(base) ^ set(tuned))
        raise ValueError(f"not the same reader: parameters only in one of them: {only_one[:5]}")
    for name, tensor in base.items():
        if tensor.shape != tuned[name].shape:
            raise ValueError(
                f"not the same reader: {name} is {tuple(tensor.shape)} against {tuple(tuned[name].shape)}"
            )
    return {name: torch.lerp(base[name], tuned[name], share) for name in base}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("base", type=Path, help="the weights the run started from")
    parser.add_argument("tuned", type=Path, help="the run's weights")
    parser.add_argument("--share", type=float, default=0.5, help="the run's share (0: base, 1: the run)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    mixed = soup(weights(args.base), weights(args.tuned), args.share)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # no "step" or "seconds": training.export's trained.json then says these weights were not trained as such
    torch.save(
        {"model": mixed, "soup": {"base": str(args.base), "tuned": str(args.tuned), "share": args.share}},
        args.out,
    )
    print(f"wrote {args.out}: {args.share} × {args.tuned} + {1 - args.share} × {args.base}")


if __name__ == "__main__":
    main()
