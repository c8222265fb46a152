import pytest
import torch

from occamlab.data import split_train
from tests.conftest import toy_data


def test_split_train_is_a_seeded_disjoint_cover():
    data = toy_data(n_train=50, n_test=10)
    a, b = split_train(data, fraction=0.4, seed=3)
    assert (len(a.train), len(b.train)) == (20, 30)
    assert a.test is data.test and b.test is data.test and a.num_outputs == data.num_outputs
    rows = torch.cat([a.train.x, b.train.x])
    # every training example appears exactly once
    matches = (rows.unsqueeze(1) == data.train.x.unsqueeze(0)).all(-1)
    assert matches.sum(0).tolist() == [1] * 50 and matches.sum(1).tolist() == [1] * 50
    again, _ = split_train(data, fraction=0.4, seed=3)
    other, _ = split_train(data, fraction=0.4, seed=4)
    assert torch.equal(again.train.x, a.train.x) and not torch.equal(other.train.x, a.train.x)


@pytest.mark.parametrize("fraction", [0.0, 1.0, 0.001])
def test_split_train_refuses_empty_parts(fraction):
    with pytest.raises(ValueError, match="fraction"):
        split_train(toy_data(n_train=50), fraction=fraction, seed=0)
