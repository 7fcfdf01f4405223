"""Inference backends on ImageNet SqueezeNet v1.1 at 224 px, batch 32 and batch 1."""

from _shared import require_shared

from squeezenet.speed.inference import bench_inference, format_inference
from squeezenet.formats.weights import load_model

shared = require_shared()
loaded = load_model(shared / "weights" / "squeezenet1_1-imagenet.pth")
report = bench_inference(
    loaded, ["torch", "torch-compile", "onnxruntime", "onnxruntime-int8"], batch_size=32,
    calib_data=shared / "imagenet-sample" / "calib",
)
print(format_inference(report))
