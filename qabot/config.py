"""Settings, read in one place: command-line flags over environment variables over `.env`."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# Thread counts the OpenMP (FAISS) and BLAS (numpy) pools read once, when their libraries load. Here rather
# than in qabot.vectors because the console entry sets them before anything imports numpy.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    """Every knob qabot has. Environment variables are `QABOT_<NAME>` (and `DISCORD_TOKEN`)."""

    model_config = SettingsConfigDict(env_prefix="QABOT_", env_file=".env", extra="ignore")

    corpus_dir: Path = Field(Path("corpus"), description="Folder of documents to index.")
    index_dir: Path = Field(Path("index"), description="Where index generations are written.")
    model: str = Field(
        DEFAULT_MODEL,
        description="sentence-transformers model: the packaged default, a local path, or a hub name.",
    )
    chunk_tokens: int = Field(128, ge=16, le=512, description="Word pieces per chunk at most.")
    chunk_overlap: int = Field(1, ge=0, le=4, description="Sentences shared by neighbouring chunks.")
    top_k: int = Field(3, ge=1, le=20, description="Quotes per answer.")
    min_confidence: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Answer only from this confidence (0-1) up; unset means the index's calibration, "
        "else the shipped reader's.",
    )
    threads: int = Field(
        2, ge=1, le=64, validate_default=True, description="CPU threads for encoding and search."
    )
    discord_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("DISCORD_TOKEN", "QABOT_DISCORD_TOKEN")
    )
    discord_guild_id: int | None = Field(None, description="Sync commands to this guild only (development).")
    discord_owner_ids: list[int] = Field(default_factory=list, description="User ids allowed to /reindex.")
    discord_max_concurrency: int = Field(
        2, ge=1, le=64, description="Discord requests worked on at once; more are told the bot is busy."
    )
    discord_cooldown_seconds: float = Field(
        3.0, ge=0, le=3600, description="Seconds each Discord user waits between two questions."
    )
    discord_conversation_idle_minutes: float = Field(
        30, gt=0, le=7 * 24 * 60, description="Minutes after which an idle Discord conversation ends."
    )
    discord_max_conversations: int = Field(
        1000, ge=1, le=1_000_000, description="Discord conversations kept in memory; the oldest go first."
    )
    allowed_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="Networks `qabot add` may fetch from although they are not public (CIDRs, a JSON list).",
    )
    fetch_max_bytes: int = Field(
        20_000_000, ge=1, le=1_000_000_000, description="Largest page or file `qabot add` accepts, in bytes."
    )
    fetch_timeout_seconds: float = Field(
        20.0, gt=0, le=600, description="Time limit of one download by `qabot add`, redirects included."
    )
    adds_per_hour: int = Field(
        10, ge=0, le=10_000, description="Documents each Discord user may add per hour (0: no limit)."
    )

    @field_validator("threads")
    @classmethod
    def _at_most_the_cpus(cls, value: int) -> int:
        # More threads than CPUs only oversubscribe them: on a 1-core host the default of 2 would make
        # onnxruntime's two threads take turns on one core.
        return min(value, usable_cpus())
