from pathlib import Path

import torch

from squeezenet.formats.weights import read_safetensors, save_model
from squeezenet.models import SqueezeNet, arch_config
from squeezenet.zoo import create_model

REPO = Path(__file__).resolve().parents[1]


def test_torch_hub_local_entry_points(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "v11.pth"
    save_model(SqueezeNet(arch_config("squeezenet1_1")), path)
    model = torch.hub.load(str(REPO), "squeezenet1_1", source="local", weights=str(path))
    assert torch.equal(
        model.state_dict()["features.0.weight"], torch.load(path, weights_only=True)["features.0.weight"]
    )
    assert model(torch.randn(1, 3, 224, 224)).shape == (1, 1000)
    point = torch.hub.load(str(REPO), "squeezenet1_1", source="local", sr=0.25, bypass="simple")
    assert point.config.sr == 0.25 and point.config.bypass == "simple"


def test_create_model_resets_the_head_when_the_class_count_differs(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "v11.safetensors"
    save_model(SqueezeNet(arch_config("squeezenet1_1")), path)
    model = create_model("squeezenet1_1", pretrained=path, num_classes=7)
    saved = read_safetensors(path)[0]
    state = model.state_dict()
    assert state["classifier.1.weight"].shape[0] == 7 and model(torch.randn(1, 3, 224, 224)).shape == (1, 7)
    assert all(torch.equal(state[k], saved[k]) for k in saved if not k.startswith("classifier.1."))
    assert create_model("squeezenet1_1", pretrained=path).config.num_classes == 1000
    assert create_model("squeezenet1_0", num_classes=5).config.num_classes == 5
