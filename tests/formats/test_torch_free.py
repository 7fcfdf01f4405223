"""A device verifies, patches and decodes .sqz files with numpy alone: no torch installed."""

import json
import subprocess
import sys

import numpy as np
import torch

from squeezenet.compression.options import CompressOptions
from squeezenet.compression.pipeline import compress
from squeezenet.formats import sqz
from squeezenet.formats.loaded import LoadedModel
from squeezenet.formats.preprocess import FASHION_MNIST
from squeezenet.models import SqueezeNet, SqueezeNetConfig

# torch, torchvision and the runtimes made unimportable, as on a device without the training stack
SCRIPT = """
import json, sys
for name in ("torch", "torchvision", "onnxruntime", "openvino"):
    sys.modules[name] = None
from squeezenet.cli import main
from squeezenet.formats import sqz
base, new, patch, out = sys.argv[1:5]
codes = [main(["diff", "--base", base, "--new", new, "--out", patch]),
         main(["patch", "--base", base, "--patch", patch, "--out", out])]
data = open(out, "rb").read()
header = sqz.read_header(data)
total = float(sum(float(v.sum()) for v in sqz.decode(data).state().values()))
print(json.dumps({"codes": codes, "classes": header.class_spec, "sum": total,
                  "num_classes": header.config.num_classes, "scaled": all(l.scaled for l in header.layers)}))
"""


def test_diff_patch_and_decoding_work_without_torch(tmp_path):
    torch.manual_seed(0)
    config = SqueezeNetConfig(layout="v1_1", stem="small", in_channels=1, num_classes=3, base_e=16, incr_e=16)
    model = LoadedModel(SqueezeNet(config).eval(), FASHION_MNIST, "x", ["a", "b", "c"])
    base, new = (compress(model, CompressOptions(bits=b, channel_scales=True), progress=False).data for b in (4, 3))
    (tmp_path / "base.sqz").write_bytes(base)
    (tmp_path / "new.sqz").write_bytes(new)
    paths = [str(tmp_path / n) for n in ("base.sqz", "new.sqz", "u.sqzpatch", "rebuilt.sqz")]
    done = subprocess.run([sys.executable, "-c", SCRIPT, *paths], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["codes"] == [0, 0] and (tmp_path / "rebuilt.sqz").read_bytes() == new
    assert result["classes"] == ["a", "b", "c"] and result["num_classes"] == 3
    assert result["scaled"]  # channel scales (format version 3) decode without torch too
    expected = sum(float(v.sum()) for v in sqz.decode(new).state().values())
    assert np.isclose(result["sum"], expected)
