"""End-to-end ``predict`` latency: one image file to its top-5 labels, split into its stages.

A 1 ms model behind a 3 ms decode is a 4 ms product, so the model's latency alone says little
about a camera or phone: this times the path ``predict`` takes (decode, resize to the input's
pixels, the engine with the normalisation in its graph, softmax and top-k) per backend, each
stage alone, and the float path as the baseline in the same run (torchvision's reference
protocol: Pillow decodes, resizes and crops, the float tensor is normalised on the host, then
the engine's float graph).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import torch
from torchvision.transforms import v2

from ..data.images import decode_image, open_image
from ..deploy.metadata import Runner
from ..deploy.runtime import Engine, build_engine
from ..errors import SqueezeNetError
from ..evaluation.model import Runnable
from ..evaluation.predict import Predictor, load_images
from ..formats.loaded import LoadedModel
from ..formats.preprocess import Preprocess
from ..utils.device import cpu_isa
from ..utils.timing import median, time_calls


def bench_predict(
    loaded: LoadedModel,
    image: str | Path,
    backends: list[str],
    calib_data: str | Path | torch.Tensor | None = None,
    engines: dict[str, Engine] | None = None,
    repeats: int = 30,
) -> dict[str, Any]:
    """Milliseconds per stage and in all, per backend, for one image file; ``engines``: engines
    already built (an exported file's), by backend."""
    pre = loaded.preprocess
    x = load_images(pre, [image])  # an unreadable file is a one-line error before anything is timed
    ms = lambda fn: 1000 * median(time_calls(fn, repeats, warmup=5))  # noqa: E731 - a local shorthand
    decoded, opened = decode_image(image, pre.mode, pre.decode_side), open_image(image, pre.mode, pre.decode_side)
    pixels = pre.pixels(decoded)[None]
    reference = reference_transform(pre)
    stages = {
        "decode_ms": ms(lambda: decode_image(image, pre.mode, pre.decode_side)),
        "reference_decode_ms": ms(lambda: open_image(image, pre.mode, pre.decode_side)),
        "resize_ms": ms(lambda: pre.pixels(decoded)),
        "reference_preprocess_ms": ms(lambda: reference(opened)),
    }
    rows = []
    for backend in backends:
        engine = (engines or {}).get(backend) or build_engine(loaded, backend, calib_data)
        run = engine.runner()
        model = Runnable(run, engine.pixel_runner(pre, run), backend, loaded.config, pre, loaded.classes, "")
        predictor = Predictor(model)
        result = predictor([image])[0]
        if "error" in result:
            raise SqueezeNetError(result["error"])

        def float_path(run: Runner = run) -> Any:
            tensor = reference(open_image(image, pre.mode, pre.decode_side))[None]
            probs = torch.softmax(run(tensor).float(), dim=1)
            return probs.topk(min(5, probs.shape[1]))

        model_ms = ms(partial(run, x))
        rows.append(
            {
                "backend": backend,
                "in_graph": engine.backend.pixel_graph is not None,
                "model_ms": model_ms,
                "pixels_model_ms": ms(partial(model.pixels, pixels)),
                "float_path_ms": ms(float_path),
                "end_to_end_ms": ms(partial(predictor, [image])),
                "label": result["top"][0]["label"],
            }
        )
    return {
        "image": str(image),
        "image_bytes": Path(image).stat().st_size,
        "pixels": [decoded.shape[-1], decoded.shape[-2]],
        "isa": cpu_isa(),
        "threads": torch.get_num_threads(),
        **stages,
        "rows": rows,
    }


def reference_transform(pre: Preprocess) -> v2.Transform:
    """torchvision's reference evaluation transform: Pillow resizes and crops the image, then the
    float tensor is normalised on the host (the baseline the pixel path is timed against)."""
    steps: list[v2.Transform] = [v2.Resize(pre.resize, antialias=True)] if pre.resize else []
    return v2.Compose([*steps, v2.CenterCrop(pre.crop), v2.ToImage(), pre.normalize()])


def format_predict(report: dict[str, Any]) -> str:
    w, h = report["pixels"]
    width = max(len("backend"), *(len(r["backend"]) for r in report["rows"]))
    lines = [
        f"end-to-end predict latency, {Path(report['image']).name} ({w}x{h} JPEG as decoded) on {report['isa']}, "
        f"{report['threads']} threads: decode {report['decode_ms']:.2f} ms (Pillow's: "
        f"{report['reference_decode_ms']:.2f} ms), resize and crop "
        f"{report['resize_ms']:.2f} ms (torchvision's reference transform: {report['reference_preprocess_ms']:.2f} ms)",
        f"  {'backend':<{width}} {'model ms':>9} {'on pixels':>10} {'float path':>11} {'file->label':>12} "
        f"{'vs float path':>14} {'vs model':>9}",
    ]
    for r in report["rows"]:
        where = "in-graph" if r["in_graph"] else "host"
        lines.append(
            f"  {r['backend']:<{width}} {r['model_ms']:>9.2f} {r['pixels_model_ms']:>10.2f} "
            f"{r['float_path_ms']:>11.2f} "
            f"{r['end_to_end_ms']:>12.2f} {r['float_path_ms'] / r['end_to_end_ms']:>13.2f}x "
            f"{r['end_to_end_ms'] / r['model_ms']:>8.2f}x   ({r['label']}; normalised {where})"
        )
    lines.append(
        "  model ms: the engine on a preprocessed float tensor; on pixels: on uint8 pixels, normalising in its "
        "graph or on the host; float path: decode, the reference transform, the float graph, top-5"
    )
    return "\n".join(lines)
