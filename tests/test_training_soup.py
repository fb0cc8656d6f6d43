"""`training.soup`: a reader whose weights lie between two readers'."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from training.model import Reader, load_encoder
from training.soup import soup, weights
from training.train import model_path


@pytest.fixture(scope="module")
def readers() -> tuple[Reader, Reader]:
    torch.manual_seed(0)
    base = Reader(load_encoder(model_path(), layers=1)).eval()
    tuned = copy.deepcopy(base)
    with torch.no_grad():
        for parameter in tuned.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.01)
    return base, tuned


def test_a_soup_lies_between_its_readers_and_loads_as_a_reader(
    readers: tuple[Reader, Reader], tmp_path: Path
) -> None:
    """Share 0 is the base, 1 the tuned reader, 0.5 their mean; the base saved as a checkpoint
    ({"model": …}) and the tuned one as a bare state dict (a final.pt) both read back."""
    base, tuned = readers
    torch.save({"model": base.state_dict(), "step": 10}, tmp_path / "checkpoint.pt")
    torch.save(tuned.state_dict(), tmp_path / "final.pt")
    a, b = weights(tmp_path / "checkpoint.pt"), weights(tmp_path / "final.pt")
    name = "encoder.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(soup(a, b, 0.0)[name], a[name])
    assert torch.equal(soup(a, b, 1.0)[name], b[name])
    assert torch.allclose(soup(a, b, 0.5)[name], (a[name] + b[name]) / 2, atol=1e-7)
    assert not torch.equal(a[name], b[name])
    mixed = copy.deepcopy(base)
    mixed.load_state_dict(soup(a, b, 0.5))
    ids = torch.tensor([[101, 2043, 2001, 102, 1996, 3578, 102]])
    mask, types = torch.ones_like(ids), torch.tensor([[0, 0, 0, 0, 1, 1, 1]])
    with torch.no_grad():
        low, high = float(base(ids, mask, types)[0]), float(tuned(ids, mask, types)[0])
        middle = float(mixed(ids, mask, types)[0])
    assert min(low, high) - 0.05 <= middle <= max(low, high) + 0.05


def test_a_soup_of_different_readers_or_a_share_outside_0_to_1_is_refused(
    readers: tuple[Reader, Reader],
) -> None:
    base, tuned = readers
    a, b = base.state_dict(), tuned.state_dict()
    with pytest.raises(ValueError, match="between 0 and 1"):
        soup(a, b, 1.5)
    fewer = dict(b)
    del fewer["span.bias"]
    with pytest.raises(ValueError, match=r"span\.bias"):
        soup(a, fewer, 0.5)
    wider = dict(b, **{"span.bias": torch.zeros(3)})
    with pytest.raises(ValueError, match=r"span\.bias"):
        soup(a, wider, 0.5)
