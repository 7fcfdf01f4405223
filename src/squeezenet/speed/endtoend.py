"""End-to-end ``predict`` latency: one image file to its top-5 labels, split into its stages.

A 1 ms model behind a 3 ms decode is a 4 ms product, so the model's latency alone says little
about a camera or phone: this times the path ``predict`` takes (decode, preprocess, engine,
softmax and top-k) per backend, and each stage alone, on the same file in the same run.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import torch

from ..data.images import open_image
from ..deploy.metadata import Runner
from ..errors import SqueezeNetError
from ..evaluation.model import Runnable, runnable
from ..evaluation.predict import Predictor, load_images
from ..formats.loaded import LoadedModel
from ..utils.device import cpu_isa
from ..utils.timing import median, time_calls


def bench_predict(
    loaded: LoadedModel,
    image: str | Path,
    backends: list[str],
    calib_data: str | Path | torch.Tensor | None = None,
    runners: dict[str, Runner] | None = None,
    repeats: int = 100,
) -> dict[str, Any]:
    """Milliseconds per stage and in all, per backend, for one image file; ``runners``: engines
    already built, by backend."""
    reference = runnable(loaded)
    load_images(reference, [image])  # an unreadable file is a one-line error before anything is timed
    pre = loaded.preprocess
    ms = lambda fn: 1000 * median(time_calls(fn, repeats, warmup=10))  # noqa: E731 - a local shorthand
    decoded = open_image(image, pre.mode, pre.decode_side)
    transform = pre.eval_transform()
    x = transform(decoded)[None]
    stages = {
        "decode_ms": ms(lambda: open_image(image, pre.mode, pre.decode_side)),
        "preprocess_ms": ms(lambda: transform(decoded)),
    }
    rows = []
    for backend in backends:
        if backend in (runners or {}):
            model = Runnable(runners[backend], backend, loaded.config, pre, loaded.classes, "")
        else:
            model = reference if backend == "torch" else runnable(loaded, backend, calib_data)
        predictor = Predictor(model)
        result = predictor([image])[0]
        if "error" in result:
            raise SqueezeNetError(result["error"])
        rows.append(
            {
                "backend": backend,
                "model_ms": ms(partial(model.run, x)),
                "end_to_end_ms": ms(partial(predictor, [image])),
                "label": result["top"][0]["label"],
            }
        )
    return {
        "image": str(image),
        "image_bytes": Path(image).stat().st_size,
        "pixels": list(decoded.size),
        "isa": cpu_isa(),
        "threads": torch.get_num_threads(),
        **stages,
        "rows": rows,
    }


def format_predict(report: dict[str, Any]) -> str:
    w, h = report["pixels"]
    width = max(len("backend"), *(len(r["backend"]) for r in report["rows"]))
    lines = [
        f"end-to-end predict latency, {Path(report['image']).name} ({w}x{h} JPEG as decoded) on {report['isa']}, "
        f"{report['threads']} threads: decode {report['decode_ms']:.2f} ms, "
        f"preprocess {report['preprocess_ms']:.2f} ms",
        f"  {'backend':<{width}} {'model ms':>9} {'file->label ms':>15}",
    ]
    for r in report["rows"]:
        lines.append(f"  {r['backend']:<{width}} {r['model_ms']:>9.2f} {r['end_to_end_ms']:>15.2f}   ({r['label']})")
    return "\n".join(lines)
