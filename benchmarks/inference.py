"""The peer table and end-to-end predict latency: ImageNet SqueezeNet v1.1 at 224 px on this CPU.

Every recipe we ship beside every peer (each library with its own defaults), in interleaved
rounds: images/s at batch 32, batch-1 latency, top-1 on the 250 ``val/`` images; then
file-to-label latency of ``predict`` on a JPEG. Writes ``docs/results/deploy-CLASS.{md,json}``,
CLASS the CPU class the kernels run as (``amx``, ``avx512-vnni``, ``avx2``; with
``ONEDNN_MAX_CPU_ISA`` set, the class it caps to). ``--no-write`` prints only.
"""

import os

from _shared import require_shared, write_result
from inference_class import cpu_class

from squeezenet.evaluation.model import runnable
from squeezenet.evaluation.predict import eval_data
from squeezenet.formats.weights import load_model
from squeezenet.speed.endtoend import bench_predict, format_predict
from squeezenet.speed.peers import OURS, bench_peers, format_peers

shared = require_shared()
sample = shared / "imagenet-sample"
loaded = load_model(shared / "weights" / "squeezenet1_1-imagenet.pth")


def val() -> object:
    return eval_data(
        runnable(loaded), sample, classes_file=sample / "synset_words.txt", batch_size=50, workers=0
    ).float_batches(loaded.preprocess)


peers = bench_peers(loaded, sample / "calib", val, batch_size=32)
image = sorted((sample / "val").rglob("*.JPEG"))[0]
e2e = bench_predict(
    loaded,
    image,
    ["torch", "onnxruntime-int8", "openvino-int8", "openvino-int8-sym", "openvino-int8-float-first"],
    sample / "calib",
)
rows = {r["engine"]: r for r in peers["rows"]}
fp32 = rows["torch"]["top1"]
ours = {n: r for n, r in rows.items() if n.startswith(OURS) and fp32 - r["top1"] <= 0.5}
others = {n: r for n, r in rows.items() if not n.startswith(OURS)}
fast, quick = max(ours.values(), key=lambda r: r["images_per_s"]), min(ours.values(), key=lambda r: r["latency_ms_bs1"])
peer_fast, peer_quick = (
    max(others.values(), key=lambda r: r["images_per_s"]),
    min(others.values(), key=lambda r: r["latency_ms_bs1"]),
)
summary = {
    "fastest_ours": fast["engine"],
    "fastest_peer": peer_fast["engine"],
    "throughput_ratio": fast["images_per_s"] / peer_fast["images_per_s"],
    "lowest_latency_ours": quick["engine"],
    "lowest_latency_peer": peer_quick["engine"],
    "latency_ms_ours": quick["latency_ms_bs1"],
    "latency_ms_peer": peer_quick["latency_ms_bs1"],
    "fp32_ours_vs_openvino_defaults": rows[OURS + "openvino"]["images_per_s"]
    / rows["openvino-defaults"]["images_per_s"],
    "bf16_ours_vs_openvino_defaults": rows[OURS + "openvino-bf16"]["images_per_s"]
    / rows["openvino-defaults"]["images_per_s"],
}
lines = [
    "| engine | images/s (batch 32) | range over rounds | vs fastest peer | batch-1 ms | range | top-1 |",
    "|---|---|---|---|---|---|---|",
    *[
        f"| {r['engine']} | {r['images_per_s']:.0f} | "
        f"{r['images_per_s_range'][0]:.0f}-{r['images_per_s_range'][1]:.0f} | "
        f"{r['vs_fastest_peer']:.2f}x | {r['latency_ms_bs1']:.2f} | {r['latency_ms_bs1_range'][0]:.2f}-"
        f"{r['latency_ms_bs1_range'][1]:.2f} | {r['top1']:.2f}% |"
        for r in peers["rows"]
    ],
    "",
    f"Medians of {peers['rounds']} interleaved rounds. Within 0.5 top-1 points of fp32 ({fp32:.2f}%), our fastest at "
    f"batch 32 is {fast['engine']} at **{summary['throughput_ratio']:.2f}x** the fastest peer ({peer_fast['engine']}); "
    f"our lowest batch-1 latency {quick['latency_ms_bs1']:.2f} ms ({quick['engine']}) against the peers' "
    f"{peer_quick['latency_ms_bs1']:.2f} ms ({peer_quick['engine']}). Our fp32 OpenVINO engine runs at "
    f"{summary['fp32_ours_vs_openvino_defaults']:.2f}x OpenVINO's defaults on the same file, which compute bf16 where "
    f"the CPU has it; at that precision ours (`openvino-bf16`) runs at "
    f"{summary['bf16_ours_vs_openvino_defaults']:.2f}x.",
    "",
    "The LiteRT and ExecuTorch rows are device files: batch-1 graphs, run image by image at batch 32 (their "
    "batch-32 figure is a loop over the batch); `docs/results/edge.md` has their accuracy and sizes.",
    *(
        [
            "",
            "Under ONEDNN_MAX_CPU_ISA the OpenVINO and PyTorch eager rows run the capped kernels; ONNX Runtime's "
            "MLAS kernels do not read that variable and dispatch on the CPU's own flags, so its rows here are the "
            "uncapped CPU's, and torch.compile's generated code is not a capped run either (check its top-1). "
            "Compare the OpenVINO rows among themselves.",
        ]
        if "ONEDNN_MAX_CPU_ISA" in os.environ
        else []
    ),
    "",
    "```",
    format_predict(e2e),
    "```",
]
print(format_peers(peers))
write_result(
    f"deploy-{cpu_class()}",
    f"Inference engines on this CPU ({cpu_class()})",
    "\n".join(lines),
    {"peers": peers, "predict": e2e, "summary": summary},
    ("ONEDNN_MAX_CPU_ISA=" + os.environ["ONEDNN_MAX_CPU_ISA"] + " " if "ONEDNN_MAX_CPU_ISA" in os.environ else "")
    + ".venv/bin/python benchmarks/inference.py",
)
