"""Helpers the benchmark scripts share (run them from the repository root: `python -m benchmarks.NAME`)."""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


class PhaseTimer:
    """Wraps the named functions of a module so the seconds spent in each add up across calls."""

    def __init__(self, module: Any, phases: Sequence[str]) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        for name in phases:
            setattr(module, name, self._wrap(name, getattr(module, name)))

    def _wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - began

        return timed


def seed_model_dir() -> Path:
    """The ONNX export a `qabot index` of the default settings left behind."""
    from qabot.config import Settings
    from qabot.models.encoder import model_key

    settings = Settings()
    path = settings.index_dir / "models" / model_key(settings.model)
    if not (path / "spec.json").exists():
        raise SystemExit(f"no ONNX export at {path}: run `qabot index` first")
    return path
