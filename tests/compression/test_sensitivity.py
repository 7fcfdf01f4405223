"""Width and channel-scale allocation under a size budget: the convex hull and the greedy walk."""

import pytest
import torch

from squeezenet.compression.layers import named_convs
from squeezenet.compression.sensitivity import CANDIDATE_BITS, Sensitivity, Setting, choose, measure
from squeezenet.errors import OptionError
from squeezenet.models import SqueezeNet, SqueezeNetConfig

WIDE, NARROW, NARROW_SCALED, TINY = Setting(8, False), Setting(4, False), Setting(4, True), Setting(2, False)


def _table() -> Sensitivity:
    points = {
        ("a", WIDE): (1000, 0.0),
        ("a", NARROW): (500, 0.1),
        ("a", NARROW_SCALED): (520, 0.01),  # 20 bytes of scales buy a tenth of the damage
        ("a", TINY): (250, 1.0),
        ("b", WIDE): (1000, 0.0),
        ("b", NARROW): (500, 0.5),  # above the chord from WIDE to TINY: never worth stopping at
        ("b", TINY): (250, 0.6),
    }
    return Sensitivity({k: d for k, (_, d) in points.items()}, {k: s for k, (s, _) in points.items()})


def test_the_cheapest_damage_per_byte_is_taken_first_and_the_budget_holds():
    table = _table()
    assert choose(table, ["a", "b"], 2000, 0) == {"a": WIDE, "b": WIDE}
    assert choose(table, ["a", "b"], 1520, 0) == {"a": NARROW_SCALED, "b": WIDE}
    # b skips its non-convex point; its step frees enough for a to take its widest setting back
    assert choose(table, ["a", "b"], 1519, 100) == {"a": WIDE, "b": TINY}
    assert choose(table, ["a", "b"], 1100, 100) == {"a": NARROW_SCALED, "b": TINY}
    with pytest.raises(OptionError, match="no bit allocation fits"):
        choose(table, ["a", "b"], 499, 0)


@torch.no_grad()
def test_measure_scores_every_setting_and_narrower_costs_more():
    torch.manual_seed(0)
    model = SqueezeNet(SqueezeNetConfig(layout="v1_1", stem="small", in_channels=1, num_classes=10)).eval()
    convs = {n: c for n, c in named_convs(model).items() if n in ("conv1", "fire5/expand3x3", "conv10")}
    masks = {n: torch.ones_like(c.weight, dtype=torch.bool) for n, c in convs.items()}
    before = {n: c.weight.clone() for n, c in convs.items()}
    table = measure(model, convs, masks, torch.randn(8, 1, 28, 28), rate_weight=1.0)
    assert len(table.damage) == len(convs) * len(CANDIDATE_BITS) * 2
    for name in convs:
        assert table.size[name, Setting(2, False)] < table.size[name, Setting(8, False)]
        assert table.size[name, Setting(8, True)] > table.size[name, Setting(8, False)]  # the scales are stored
        assert table.damage[name, Setting(2, True)] > table.damage[name, Setting(8, True)]
    assert all(torch.equal(c.weight, before[n]) for n, c in convs.items())  # every layer put back


@torch.no_grad()
def test_damage_is_scored_on_images_compensation_was_not_fitted_to(monkeypatch):
    """Scored in-sample, compensation's fit hides a large layer's damage and the budget starves it."""
    from squeezenet.compression import sensitivity

    torch.manual_seed(0)
    model = SqueezeNet(SqueezeNetConfig(layout="v1_1", stem="small", in_channels=1, num_classes=10)).eval()
    convs = {n: c for n, c in named_convs(model).items() if n == "conv10"}
    masks = {n: torch.ones_like(c.weight, dtype=torch.bool) for n, c in convs.items()}
    images = torch.randn(2 * sensitivity.IMAGES, 1, 28, 28)
    fitted, scored, fitting = [], [], []
    hessians = sensitivity.input_hessians

    def spy(net, layers, x):
        fitted.append(x)
        fitting.append(True)
        try:
            return hessians(net, layers, x)
        finally:
            fitting.clear()

    monkeypatch.setattr(sensitivity, "input_hessians", spy)
    model.register_forward_pre_hook(lambda _m, inputs: None if fitting else scored.append(inputs[0]))
    measure(model, convs, masks, images, rate_weight=1.0, scales=(False,))
    assert len(fitted) == 1 and torch.equal(fitted[0], images[sensitivity.IMAGES :])
    assert scored and all(torch.equal(x, images[: sensitivity.IMAGES]) for x in scored)
