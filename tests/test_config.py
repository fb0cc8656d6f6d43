from __future__ import annotations

import pytest

from qabot.config import Settings, usable_cpus


def test_threads_never_exceed_the_usable_cpus() -> None:
    assert Settings(threads=64).threads == usable_cpus()
    assert Settings(threads=1).threads == 1


def test_default_threads_fit_a_one_cpu_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0})
    assert Settings().threads == 1
