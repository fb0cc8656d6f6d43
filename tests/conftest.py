"""Shared fixtures: the real packaged model on the seed corpus, built once per test session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from qabot import store
from qabot.answer import Answerer
from qabot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SEED_CORPUS = ROOT / "corpus"
EVAL_DIR = ROOT / "eval"


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """An index of the five seed articles (exports the model to ONNX once, then embeds)."""
    settings = Settings(corpus_dir=SEED_CORPUS, index_dir=tmp_path_factory.mktemp("seed-index"))
    store.build(settings)
    return settings


@pytest.fixture(scope="session")
def answerer(seed_settings: Settings) -> Iterator[Answerer]:
    index = store.open_index(seed_settings)
    yield Answerer(index)
    index.close()


@pytest.fixture
def fresh_index(seed_settings: Settings, tmp_path: Path) -> Settings:
    """An empty index folder that already holds the exported model, so builds in tests skip the export."""
    index_dir = tmp_path / "index"
    shutil.copytree(seed_settings.index_dir / "models", index_dir / "models")
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    return Settings(corpus_dir=corpus, index_dir=index_dir)
