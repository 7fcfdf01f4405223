"""Training throughput of the squeezenet loop vs a plain eager fp32 loop, same run."""

import json
import sys

from squeezenet.data.fashion_mnist import load_fashion_mnist
from squeezenet.errors import SqueezeNetError
from squeezenet.speed.report import format_results
from squeezenet.speed.training import bench_train

try:
    train, _, _ = load_fashion_mnist()
except SqueezeNetError:
    train = None  # synthetic images of the same shape
for batch in (None, 256):  # the demo recipe's batch, and a larger one
    result = bench_train("squeezenet1_1", batch, steps=20, data=train)
    print(format_results({"train": result}))
    json.dump(result, sys.stderr)
    print(file=sys.stderr)
