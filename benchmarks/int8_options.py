"""ONNX Runtime int8 options on this CPU: top-1 on held-out images and images/s, in one run."""

import time
from functools import partial

import torch
from _shared import require_shared

from squeezenet.data.images import calibration_tensor
from squeezenet.deploy.onnx_export import to_onnx
from squeezenet.deploy.ort import ort_session, session_runner
from squeezenet.deploy.quantize import Int8Options, quantize_int8
from squeezenet.evaluation.accuracy import evaluate
from squeezenet.evaluation.model import runnable
from squeezenet.evaluation.predict import eval_data
from squeezenet.formats.weights import load_model
from squeezenet.utils.timing import median, time_calls

shared = require_shared()
sample = shared / "imagenet-sample"
loaded = load_model(shared / "weights" / "squeezenet1_1-imagenet.pth")
proto = to_onnx(loaded)
val = eval_data(runnable(loaded), sample, classes_file=sample / "synset_words.txt", batch_size=50)
loader = list(val.float_batches(loaded.preprocess))
calib = calibration_tensor(sample / "calib", loaded.preprocess)
batch = torch.randn(32, 3, 224, 224)
fp32 = session_runner(ort_session(proto.SerializeToString()))
base = evaluate(fp32, loader, progress=False)
base_ips = 32 / median(time_calls(partial(fp32, batch), 10))
print(f"{'options':<62} {'top-1':>6} {'top-5':>6} {'img/s':>7} {'vs fp32':>7} {'quantize s':>10}")
print(f"{'onnxruntime fp32':<62} {base.top1:6.2f} {base.top5:6.2f} {base_ips:7.0f} {1.0:6.2f}x")
for options in [
    Int8Options(reduce_range=False),
    Int8Options(reduce_range=True),
    Int8Options(reduce_range=True, per_channel=False),
    Int8Options(reduce_range=True, calibrate_method="Entropy"),
    Int8Options(reduce_range=True, calibrate_method="Percentile"),
    Int8Options(reduce_range=True, quant_format="QOperator"),
]:
    start = time.perf_counter()
    run = session_runner(ort_session(quantize_int8(proto, calib, options)))
    seconds = time.perf_counter() - start
    result = evaluate(run, loader, progress=False)
    ips = 32 / median(time_calls(partial(run, batch), 10))
    name = (
        f"{options.quant_format} per_channel={options.per_channel} {options.calibrate_method} "
        f"reduce_range={options.reduce_range}"
    )
    print(f"{name:<62} {result.top1:6.2f} {result.top5:6.2f} {ips:7.0f} {ips / base_ips:6.2f}x {seconds:10.1f}")
