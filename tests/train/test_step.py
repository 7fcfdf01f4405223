"""The one training step: the loop, compression retraining and ``bench --train`` all run it."""

import pytest
import torch

from squeezenet.errors import OptionError
from squeezenet.models import SqueezeNet, SqueezeNetConfig
from squeezenet.speed.training import bench_train
from squeezenet.train import step as step_module
from squeezenet.train.config import TrainConfig
from squeezenet.train.step import StepOptions, Stepper, cross_entropy


def _count_steps(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = step_module.Stepper.__call__

    def counted(self, images, targets, step):
        calls.append(step)
        return original(self, images, targets, step)

    monkeypatch.setattr(step_module.Stepper, "__call__", counted)
    return calls


@pytest.mark.slow
def test_bench_train_times_the_training_loops_own_step(monkeypatch):
    calls = _count_steps(monkeypatch)
    result = bench_train(batch_size=8, steps=3)
    assert calls == list(range(5))  # two warm-up steps, then the three timed: every one the loop's Stepper
    assert result["ours_images_per_s"] > 0 and result["baseline_images_per_s"] > 0


def test_compression_retraining_runs_the_same_step(monkeypatch):
    from squeezenet.compression.retrain import frozen_copy, retrain

    calls = _count_steps(monkeypatch)
    model = SqueezeNet(
        SqueezeNetConfig(layout="v1_1", stem="small", in_channels=1, num_classes=10, base_e=16, incr_e=16)
    )
    batches = iter([(torch.randn(4, 1, 28, 28), None)] * 3)
    retrain(model, batches, 3, 1e-3, frozen_copy(model), "test", 7, torch.device("cpu"), progress=False)
    assert calls == [0, 1, 2]


def test_the_step_is_seeded_by_the_run_and_the_step_number():
    """Dropout masks come from (seed, step): the same two steps give the same weights; another seed does not."""

    def two_steps(seed: int) -> torch.Tensor:
        torch.manual_seed(0)
        model = SqueezeNet(
            SqueezeNetConfig(layout="v1_1", stem="small", in_channels=1, num_classes=10, base_e=16, incr_e=16)
        )
        stepper = Stepper(
            model, StepOptions(lr=1e-2, total_steps=2, seed=seed, amp="off"), torch.device("cpu"), cross_entropy()
        )
        x, y = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(1)), torch.arange(8) % 10
        for step in range(2):
            stepper(x, y, step)
        return model.final_conv.weight.detach().clone()

    assert torch.equal(two_steps(3), two_steps(3)) and not torch.equal(two_steps(3), two_steps(4))


def test_option_errors_name_fields_in_python_and_flags_on_the_command_line():
    from squeezenet.cli.args import flag

    with pytest.raises(OptionError) as caught:
        TrainConfig(epochs=0).resolved()
    assert str(caught.value) == "epochs must be at least 1, got 0"
    assert caught.value.render(flag) == "--epochs must be at least 1, got 0"
    with pytest.raises(OptionError) as caught:
        TrainConfig(freeze="features").resolved()
    assert str(caught.value) == "freeze keeps pretrained layers fixed: it needs weights"
    assert caught.value.render(flag) == "--freeze keeps pretrained layers fixed: it needs --weights"
