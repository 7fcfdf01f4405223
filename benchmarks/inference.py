"""The peer table and end-to-end predict latency: ImageNet SqueezeNet v1.1 at 224 px on this CPU.

Every engine a user might pick (each with its library's defaults) beside ours, in one run:
images/s at batch 32, batch-1 latency, top-1 on the 250 ``val/`` images; then file-to-label
latency of ``predict`` on a JPEG. Writes docs/deploy/peers.{json,md}.
"""

import json
import sys

from _shared import REPO, require_shared

from squeezenet.evaluation.model import runnable
from squeezenet.evaluation.predict import eval_data
from squeezenet.formats.weights import load_model
from squeezenet.speed.endtoend import bench_predict, format_predict
from squeezenet.speed.peers import bench_peers, format_peers
from squeezenet.utils.atomic import write_text

shared = require_shared()
sample = shared / "imagenet-sample"
loaded = load_model(shared / "weights" / "squeezenet1_1-imagenet.pth")


def val() -> object:
    return eval_data(
        runnable(loaded), sample, classes_file=sample / "synset_words.txt", batch_size=50, workers=0
    ).batches


peers = bench_peers(loaded, sample / "calib", val, batch_size=32)
print(format_peers(peers), flush=True)
image = sorted((sample / "val").rglob("*.JPEG"))[0]
e2e = bench_predict(loaded, image, ["torch", "onnxruntime-int8", "openvino-int8"], sample / "calib")
print(format_predict(e2e))
if "--no-write" not in sys.argv:
    out = REPO / "docs" / "deploy"
    write_text(out / "peers.json", json.dumps({"peers": peers, "predict": e2e}, indent=2) + "\n")
    write_text(out / "peers.md", f"```\n{format_peers(peers)}\n\n{format_predict(e2e)}\n```\n")
