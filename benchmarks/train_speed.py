"""Training throughput of the squeezenet loop vs a plain eager fp32 loop, same run: v1.1 as
released (small-image stem) at the demo recipe's batch and a larger one, and the demo's model."""

import json
import sys

from squeezenet.data.fashion_mnist import load_fashion_mnist
from squeezenet.demo import DEMO_DESIGN
from squeezenet.errors import SqueezeNetError
from squeezenet.speed.report import format_results
from squeezenet.speed.training import bench_train

try:
    train, _, _ = load_fashion_mnist()
except SqueezeNetError:
    train = None  # synthetic images of the same shape
for batch, design in ((None, None), (256, None), (None, DEMO_DESIGN)):
    result = bench_train("squeezenet1_1", batch, steps=20, data=train, design=design)
    print(format_results({"train": result}))
    json.dump(result, sys.stderr)
    print(file=sys.stderr)
