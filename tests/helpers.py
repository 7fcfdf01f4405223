"""Test helpers shared across test modules (tests/ is on pytest's pythonpath)."""

from squeezenet.models import SqueezeNetConfig


def formula_params(config: SqueezeNetConfig) -> int:
    """Parameters from the Section 5 formula alone, independent of the module code."""
    conv1_k = 3 if config.stem in ("small", "strided") or config.layout == "v1_1" else 7
    c1 = {"v1_0": 96, "v1_1": 64}[config.layout]
    total = config.in_channels * c1 * conv1_k**2 + c1
    channels = c1
    for i in range(8):
        e = config.base_e + config.incr_e * (i // config.freq)
        e3 = min(max(int(e * config.pct3x3 + 0.5), 1), e - 1)
        e1, s = e - e3, max(1, int(config.sr * e + 0.5))
        total += channels * s + s + s * e1 + e1 + 9 * s * e3 + e3 + (2 * s if config.norm == "squeeze" else 0)
        channels = e
    return total + channels * config.num_classes + config.num_classes


def run_cli(capsys, *argv: object) -> tuple[int, str, str]:
    """``squeezenet ARGV`` in this process: (exit code, stdout, stderr); argparse's exits count."""
    from squeezenet.cli import main

    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def imagenet_reference(shared: object, path: object) -> object:
    """ImageNet v1.1's 250 ``val/`` images (normalised), their labels, 256 ``calib/`` images and
    the fp32 logits, made once per test run into ``path`` (written whole, then renamed) and read
    back by every worker and subprocess that checks an int8 engine against fp32. The logits come
    from ONNX Runtime's fp32 graph (the export is checked against PyTorch to 1e-3 elsewhere; a
    quarter of eager PyTorch's time)."""
    import os
    from pathlib import Path

    import torch

    path = Path(str(path))
    if not path.exists():
        from squeezenet.data.images import calibration_tensor
        from squeezenet.deploy.inputs import BuildInputs
        from squeezenet.deploy.runtime import build_engine
        from squeezenet.evaluation.predict import folder_loader
        from squeezenet.formats.weights import load_model

        sample = Path(str(shared)) / "imagenet-sample"
        loaded = load_model(Path(str(shared)) / "weights" / "squeezenet1_1-imagenet.pth")
        batches = list(folder_loader(loaded, sample / "val", sample / "synset_words.txt", 50, 0))
        images = loaded.preprocess.normalize_pixels(torch.cat([b[0] for b in batches]))
        calib = calibration_tensor(sample / "calib", loaded.preprocess)
        fp32 = build_engine(loaded, "onnxruntime", inputs=BuildInputs(loaded, calib)).runner()(images)
        labels = torch.cat([b[1] for b in batches])
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        torch.save({"images": images, "labels": labels, "calib": calib, "fp32": fp32}, partial)
        partial.replace(path)  # two workers may both make it: either copy is whole
    return torch.load(path, weights_only=True)


def int8_fidelity(shared: object, reference: object, backend: str) -> tuple[float, float, float, float]:
    """ImageNet v1.1 on the 250 ``val/`` images, fp32 against ``backend`` calibrated on ``calib/``
    (``reference``: ``imagenet_reference``'s file): (top-1 agreement, KL to fp32, fp32 top-1 %,
    int8 top-1 %)."""
    from pathlib import Path

    import torch

    from squeezenet.deploy.inputs import BuildInputs
    from squeezenet.deploy.runtime import build_engine
    from squeezenet.formats.weights import load_model

    data = imagenet_reference(shared, reference)
    loaded = load_model(Path(str(shared)) / "weights" / "squeezenet1_1-imagenet.pth")
    fp32, labels = data["fp32"], data["labels"]
    int8 = build_engine(loaded, backend, inputs=BuildInputs(loaded, data["calib"])).runner()(data["images"])
    agreement = float((int8.argmax(1) == fp32.argmax(1)).float().mean())
    kl = float(
        torch.nn.functional.kl_div(int8.log_softmax(1), fp32.log_softmax(1), log_target=True, reduction="batchmean")
    )
    fp32_top1, int8_top1 = (float((x.argmax(1) == labels).float().mean()) * 100 for x in (fp32, int8))
    return agreement, kl, fp32_top1, int8_top1


def assert_a_flipped_bit_is_refused(path: object, flip: object = None) -> None:
    """One bit two thirds into ``flip`` (default: ``path``; an IR's ``.bin``) changed: reading
    ``path`` back is refused in one line naming it. Before the files carried their digest, every
    exported format loaded and scored such a file."""
    import re
    from pathlib import Path

    import pytest

    from squeezenet.deploy.shipped import read_shipped
    from squeezenet.errors import SqueezeNetError

    target = Path(str(flip or path))
    original = target.read_bytes()
    damaged = bytearray(original)
    damaged[len(damaged) * 2 // 3] ^= 0x08
    target.write_bytes(bytes(damaged))
    try:
        with pytest.raises(SqueezeNetError, match=f"{re.escape(str(path))}: damaged"):
            read_shipped(path)
    finally:
        target.write_bytes(original)
    read_shipped(path)
