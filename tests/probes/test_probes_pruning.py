import pytest
import torch

from occamlab.probes.pruning import (
    apply_masks,
    magnitude_masks,
    prunable_names,
    random_masks,
    sparsity,
)


def params(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "a.weight": torch.randn(30, 20, generator=g),
        "a.bias": torch.randn(30, generator=g),
        "b.weight": torch.randn(10, 30, generator=g) * 3,
        "c.weight": torch.randn(4, 3, 5, generator=g),
    }


def test_candidates_are_weights_unless_biases_are_asked_for():
    p = params()
    assert prunable_names(p) == ["a.weight", "b.weight", "c.weight"]
    assert "a.bias" in prunable_names(p, include_biases=True)


@pytest.mark.parametrize("s", [0.0, 0.2, 0.5, 0.8, 0.97, 1.0])
def test_global_and_layerwise_hit_the_requested_sparsity_exactly(s):
    p = params()
    total = 600 + 300 + 60
    g = magnitude_masks(p, sparsity=s)
    assert sum(int((~m).sum()) for m in g.values()) == round(s * total)
    layer = magnitude_masks(p, sparsity=s, scope="layer")
    for m in layer.values():
        assert int((~m).sum()) == round(s * m.numel())
    assert set(g) == {"a.weight", "b.weight", "c.weight"}


def test_global_pruning_uses_one_threshold_and_prefers_small_weights():
    p = params()
    m = magnitude_masks(p, sparsity=0.5)
    kept = torch.cat([p[k][m[k]].abs().reshape(-1) for k in m])
    pruned = torch.cat([p[k][~m[k]].abs().reshape(-1) for k in m])
    assert float(kept.min()) >= float(pruned.max())
    # The layer with 3x larger weights keeps more of them.
    assert float(m["b.weight"].float().mean()) > float(m["a.weight"].float().mean())


def test_rates_prune_a_layer_on_its_own_at_a_scaled_rate():
    p = params()
    m = magnitude_masks(p, sparsity=0.4, rates={"b.weight": 0.5})
    assert int((~m["b.weight"]).sum()) == round(0.2 * 300)
    rest = int((~m["a.weight"]).sum()) + int((~m["c.weight"]).sum())
    assert rest == round(0.4 * 660)
    with pytest.raises(ValueError, match="not pruned"):
        magnitude_masks(p, sparsity=0.4, rates={"a.bias": 0.5})


def test_iterative_pruning_keeps_earlier_pruned_weights_pruned():
    p = params()
    first = magnitude_masks(p, sparsity=0.2)
    moved = {k: v.clone() for k, v in p.items()}
    moved["a.weight"] = moved["a.weight"] * torch.linspace(5, 0.1, 20)  # magnitudes change
    second = magnitude_masks(moved, sparsity=0.36, existing=first)
    for k in first:
        assert not bool((second[k] & ~first[k]).any())
    assert sparsity(second) == pytest.approx(round(0.36 * 960) / 960)


def test_random_masks_match_the_counts_and_are_seeded():
    p = params()
    mag = magnitude_masks(p, sparsity=0.7, scope="layer")
    r1 = random_masks(p, sparsity=0.7, scope="layer", generator=torch.Generator().manual_seed(1))
    r2 = random_masks(p, sparsity=0.7, scope="layer", generator=torch.Generator().manual_seed(1))
    r3 = random_masks(p, sparsity=0.7, scope="layer", generator=torch.Generator().manual_seed(2))
    for k in mag:
        assert int(r1[k].sum()) == int(mag[k].sum())
        assert torch.equal(r1[k], r2[k])
    assert any(not torch.equal(r1[k], r3[k]) for k in mag)


def test_apply_masks_zeros_pruned_entries_and_copies():
    p = params()
    m = magnitude_masks(p, sparsity=0.5)
    out = apply_masks(p, m)
    assert float(out["a.weight"][~m["a.weight"]].abs().sum()) == 0.0
    assert torch.equal(out["a.weight"][m["a.weight"]], p["a.weight"][m["a.weight"]])
    assert out["a.bias"] is p["a.bias"] or torch.equal(out["a.bias"], p["a.bias"])
    assert float(p["a.weight"].abs().min()) > 0  # the input is untouched


def test_bad_input_is_refused():
    p = params()
    with pytest.raises(ValueError, match="sparsity"):
        magnitude_masks(p, sparsity=1.5)
    with pytest.raises(ValueError, match="unknown"):
        magnitude_masks(p, sparsity=0.5, names=["nope"])
    with pytest.raises(ValueError, match="unknown"):
        apply_masks(p, {"nope": torch.ones(1, dtype=torch.bool)})
