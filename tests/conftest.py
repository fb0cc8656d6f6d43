"""Shared fixtures: the real packaged model on the seed corpus, built once per test session; sockets that
reach loopback only, in every test; a local web site for `qabot add`."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from qabot import store
from qabot.answer import Answerer
from qabot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SEED_CORPUS = ROOT / "corpus"
EVAL_DIR = ROOT / "eval"
DOCS = ROOT / "tests" / "data" / "docs"


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """An index of the five seed articles (exports the model to ONNX once, then embeds)."""
    settings = Settings(corpus_dir=SEED_CORPUS, index_dir=tmp_path_factory.mktemp("seed-index"))
    store.build(settings)
    return settings


@pytest.fixture(scope="session")
def docs_settings(seed_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """An index of the small Markdown and reST corpus (tests/data/docs), built once, read by many tests."""
    index_dir = tmp_path_factory.mktemp("docs-index")
    shutil.copytree(seed_settings.index_dir / "models", index_dir / "models")
    settings = Settings(corpus_dir=DOCS, index_dir=index_dir)
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


# ---------------------------------------------------------------- loopback only


LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
LOOPBACK_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]


@dataclass
class Network:
    """What the tests tried: every connection (loopback included), and what the guard refused."""

    connections: list[tuple[str, int]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def network(monkeypatch: pytest.MonkeyPatch) -> Iterator[Network]:
    """No test sends a packet beyond loopback, even when the code under test is wrong: a connect or send to
    another address, and a DNS lookup of a name (only numeric hosts and localhost resolve without one),
    is refused before it leaves the process, and fails the test even if the code swallows the error."""
    seen = Network()
    connect, connect_ex, sendto = socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto
    getaddrinfo = socket.getaddrinfo

    def allowed(sock: socket.socket, address: Any, what: str) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return  # Unix sockets stay on the machine
        host, port = str(address[0]), int(address[1])
        if what == "connect":
            seen.connections.append((host, port))
        if not _loopback(host):
            seen.refused.append(f"{what} {host}:{port}")
            raise ConnectionRefusedError(f"test network guard: {what} to {host}:{port} is beyond loopback")

    def guarded_connect(self: socket.socket, address: Any) -> None:
        allowed(self, address, "connect")
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        allowed(self, address, "connect")
        return connect_ex(self, address)

    def guarded_sendto(self: socket.socket, data: Any, *args: Any) -> int:
        allowed(self, args[-1], "send")
        return sendto(self, data, *args)

    def guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or name.lower() in LOCAL_NAMES:
            return getaddrinfo(host, port, *args, **kwargs)
        try:  # numeric hosts ("127.0.0.1", "2130706433") resolve without asking anyone
            getaddrinfo(host, port, flags=socket.AI_NUMERICHOST)
        except socket.gaierror:
            seen.refused.append(f"DNS lookup of {name}")
            raise socket.gaierror(socket.EAI_NONAME, f"test network guard: no DNS lookup of {name}") from None
        return getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", guarded_sendto)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield seen
    assert not seen.refused, f"the test tried to reach beyond loopback: {seen.refused}"


@pytest.fixture(scope="session")
def site() -> Iterator[Any]:
    """tests/sites.py served on 127.0.0.1 for the whole session."""
    from tests.sites import serve

    with serve() as running:
        yield running


@pytest.fixture
def private_index(seed_settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the seed corpus and of its built index (the model export linked, not copied), so
    an add rebuilds by embedding only what it adds; fetching from the loopback test site is allowed."""
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(seed_settings.corpus_dir, corpus)
    shutil.copytree(seed_settings.index_dir / "generations", index_dir / "generations")
    shutil.copy(seed_settings.index_dir / "CURRENT", index_dir / "CURRENT")
    (index_dir / "models").symlink_to(seed_settings.index_dir / "models")
    return seed_settings.model_copy(
        update={"corpus_dir": corpus, "index_dir": index_dir, "allowed_networks": LOOPBACK_NETWORKS}
    )
