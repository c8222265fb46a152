import itertools

import torch

from occamlab.data import data_spec, load_data
from occamlab.data.twelve_bit import icosahedron, twelve_bit_inputs_and_labels


def test_all_4096_inputs_balanced_labels_and_a_clean_split():
    x, y = twelve_bit_inputs_and_labels()
    assert x.shape == (4096, 12) and set(x.unique().tolist()) == {0.0, 1.0}
    assert len({tuple(r) for r in x.tolist()}) == 4096
    assert int(y.sum()) == 2036
    data = load_data(data_spec("twelve_bit", seed=3))
    assert len(data.train) == 3482 and len(data.test) == 614
    both = {tuple(r) for r in data.train.x.tolist()} | {tuple(r) for r in data.test.x.tolist()}
    assert len(both) == 4096


def test_labels_are_invariant_under_the_icosahedral_rotations():
    v = icosahedron()
    x, y = twelve_bit_inputs_and_labels()
    index = {tuple(int(b) for b in row): i for i, row in enumerate(x.tolist())}
    # A rotation of the icosahedron permutes its vertices: the 5-fold rotation about v_0.
    axis = v[0]
    angle = torch.tensor(2 * torch.pi / 5, dtype=torch.float64)
    k = torch.tensor(
        [[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]],
        dtype=torch.float64,
    )
    rot = torch.eye(3, dtype=torch.float64) + torch.sin(angle) * k + (1 - torch.cos(angle)) * k @ k
    rotated = v @ rot.T
    perm = [int((rotated[i] - v).norm(dim=1).argmin()) for i in range(12)]
    assert sorted(perm) == list(range(12)) and perm != list(range(12))
    for bits in itertools.islice(itertools.product((0, 1), repeat=12), 0, 4096, 37):
        moved = [0] * 12
        for i, b in enumerate(bits):
            moved[perm[i]] = b
        assert y[index[tuple(bits)]] == y[index[tuple(moved)]]
