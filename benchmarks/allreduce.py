"""The paper's communication argument: all-reduce per step, SqueezeNet vs AlexNet, 2 x gloo."""

from squeezenet.speed.allreduce import bench_allreduce
from squeezenet.speed.report import format_results

if __name__ == "__main__":  # the workers are spawned: they re-import this file
    print(format_results({"allreduce": bench_allreduce(steps=3)}))
