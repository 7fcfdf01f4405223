"""Deep Compression end to end: prune -> retrain -> share weights -> fine-tune centroids -> code.

The result is the ``.sqz`` bytes, a per-layer report, and the compressed model itself; the
bytes are decoded once before returning and must rebuild that model's weights exactly.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..data.images import calibration_tensor
from ..errors import SqueezeNetError
from ..formats import sqz
from ..formats.loaded import LoadedModel
from ..models.summary import ALEXNET_BYTES
from . import sensitivity
from .cluster import nearest_assignment, share_weights, unshare_weights
from .compensate import compensated_assignment
from .density import parse_bits, parse_density
from .layers import forward_blocks, named_convs, state_key
from .prune import apply_pruning, density_schedule, remove_pruning
from .retrain import frozen_copy, labelled_batches, retrain, unlabelled_batches


@dataclass
class CompressOptions:
    bits: int = 6
    bits_spec: str | None = None  # per-layer overrides, e.g. "conv1=8,expand3x3=5"
    density: str | None = None  # None: "paper" when retraining, else "dense" (see default_density)
    gap_bits: int = 8  # Deep Compression's position field for conv layers
    calib_data: str | Path | None = None  # unlabelled images: distillation
    train_data: str | None = None  # labelled: fashion-mnist or an ImageNet-layout folder
    epochs: float = 0  # retraining after pruning; fractions are a share of an epoch's steps
    finetune_epochs: float | None = None  # centroid fine-tuning after weight sharing (None: same as epochs)
    prune_stages: int = 1  # iterative pruning: reach the density in this many prune-retrain steps
    lr: float = 1e-4
    batch_size: int = 32
    seed: int = 42
    size_budget: int | None = None  # bytes: choose bits per layer by measured sensitivity
    compensate: bool = True  # with calibration or training images: GPTQ-style assignment
    rate_weight: float = 1.0  # entropy-constrained k-means (cluster.py); 0: plain k-means, as Han et al.


@dataclass
class _Retraining:
    """The image stream and step counts for retraining after pruning and after sharing."""

    batches: Any
    teacher: torch.nn.Module
    steps: int
    finetune_steps: int


def compress(loaded: LoadedModel, options: CompressOptions, progress: bool = True) -> tuple[bytes, dict[str, Any], LoadedModel]:
    """Prune (and retrain), share weights (and fine-tune centroids), code; with a size budget,
    re-code with narrower bits until the file's real size fits it."""
    start = time.perf_counter()
    _check_options(options)
    torch.manual_seed(options.seed)
    model = copy.deepcopy(loaded.model).float().eval()
    convs = named_convs(model)
    densities = parse_density(options.density or default_density(options.epochs), list(convs))
    bits = parse_bits(options.bits, options.bits_spec, list(convs))
    retraining = _retraining(loaded, options)
    compensating = options.compensate and (options.calib_data is not None or options.train_data is not None)
    # Nothing retrained: compensation starts again from the dense weights, so it absorbs the pruning error too.
    dense = {name: conv.weight.detach().clone() for name, conv in convs.items()} if compensating and not retraining else None
    masks = _prune(model, convs, densities, options, retraining, progress)
    images = _calibration_images(loaded, options) if compensating or options.size_budget is not None else None

    target = options.size_budget
    if target is not None:  # measured once; each attempt below only re-chooses for a lower target
        table = sensitivity.measure(model, named_convs(model), masks, images[:32], options.rate_weight)
    for attempt in range(_BUDGET_ATTEMPTS):
        if target is not None:
            bits = sensitivity.choose_bits(table, list(convs), target, _fixed_bytes(model, masks, options))
        coded = copy.deepcopy(model)  # sharing rewrites the weights: every attempt starts from the pruned model
        if dense is not None:
            with torch.no_grad():
                for name, conv in named_convs(coded).items():
                    conv.weight.copy_(dense[name])
        data, sizes, state = _share_and_code(coded, loaded, masks, bits, images if compensating else None, options, retraining, progress)
        if options.size_budget is None or len(data) <= options.size_budget:
            break
        # the estimate missed: aim lower by the miss, doubled each try (a small step often narrows no layer)
        target -= (len(data) - options.size_budget) * 2**attempt + 512
    else:
        raise SqueezeNetError(f"could not fit {options.size_budget:,} bytes ({len(data):,} after {_BUDGET_ATTEMPTS} tries); prune more (--density)")
    encode_seconds = time.perf_counter() - start

    decode_start = time.perf_counter()
    _, _, _, decoded = sqz.decode_sqz(data, "the compressed model")
    decode_seconds = time.perf_counter() - decode_start
    mismatched = [k for k, v in state.items() if not torch.equal(decoded[k], v)]
    if mismatched:
        raise RuntimeError(f"internal error: {mismatched[0]} does not survive the .sqz round trip")

    params = sum(t.numel() for t in state.values())
    nonzero = sum(int(m.sum()) for m in masks.values()) + sum(t.numel() for k, t in state.items() if not k.endswith(".weight"))
    report = {
        **sizes,
        "file_bytes": len(data),
        "params": params,
        "nonzero_params": nonzero,
        "fp32_bytes": 4 * params,
        "ratio_vs_fp32": 4 * params / len(data),
        "ratio_vs_alexnet": ALEXNET_BYTES / len(data),
        "compress_seconds": encode_seconds,
        "decode_seconds": decode_seconds,
        "retrain_steps": retraining.steps if retraining else 0,
        "finetune_steps": retraining.finetune_steps if retraining else 0,
        "bits": bits,
        "rate_weight": options.rate_weight,
        "size_budget_attempts": attempt + 1,
    }
    return data, report, LoadedModel(coded, loaded.preprocess, "sqz", loaded.classes)


_BUDGET_ATTEMPTS = 6


def _check_options(options: CompressOptions) -> None:
    finetune_epochs = options.epochs if options.finetune_epochs is None else options.finetune_epochs
    if not all(math.isfinite(e) and e >= 0 for e in (options.epochs, finetune_epochs)):
        raise SqueezeNetError("--epochs and --finetune-epochs count epochs: they must be finite and not negative")
    if not (math.isfinite(options.rate_weight) and options.rate_weight >= 0):
        raise SqueezeNetError(f"--rate-weight weighs code length against error: it must be a finite number >= 0, got {options.rate_weight}")
    if options.prune_stages < 1:
        raise SqueezeNetError(f"--prune-stages counts pruning steps: it must be at least 1, got {options.prune_stages}")
    if options.prune_stages > 1 and options.epochs == 0:
        raise SqueezeNetError("--prune-stages N retrains between steps: it needs --epochs")
    if options.size_budget is not None and options.size_budget <= 0:
        raise SqueezeNetError(f"--size-budget must be a positive size, got {options.size_budget:,} bytes")


def _retraining(loaded: LoadedModel, options: CompressOptions) -> _Retraining | None:
    """The retraining stream, built only when something retrains."""
    finetune_epochs = options.epochs if options.finetune_epochs is None else options.finetune_epochs
    if options.epochs == 0 and finetune_epochs == 0:
        return None
    if options.calib_data is not None:
        batches, n = unlabelled_batches(options.calib_data, loaded.preprocess, options.batch_size, options.seed)
    elif options.train_data is not None:
        batches, n = labelled_batches(options.train_data, options.batch_size, options.seed, loaded)
    else:
        raise SqueezeNetError("--epochs and --finetune-epochs retrain on images: pass --calib-data or --train-data")
    steps, finetune_steps = (math.ceil(e * math.ceil(n / options.batch_size)) for e in (options.epochs, finetune_epochs))
    return _Retraining(batches, frozen_copy(loaded.model), steps, finetune_steps)


def _prune(
    model: torch.nn.Module, convs: dict[str, torch.nn.Conv2d], densities: dict[str, float], options: CompressOptions,
    retraining: _Retraining | None, progress: bool,
) -> dict[str, torch.Tensor]:  # fmt: skip
    """Prune to ``densities`` in ``prune_stages`` steps, retraining after each; the masks."""
    steps = retraining.steps if retraining else 0
    for stage, stage_densities in enumerate(density_schedule(densities, options.prune_stages), 1):
        apply_pruning(convs, stage_densities)
        if steps:
            stage_steps = steps // options.prune_stages + (stage <= steps % options.prune_stages)
            desc = f"retrain pruned {stage}/{options.prune_stages}"
            retrain(model, retraining.batches, stage_steps, options.lr, retraining.teacher, desc, progress)
    return remove_pruning(convs)


def _share_and_code(
    model: torch.nn.Module, loaded: LoadedModel, masks: dict[str, torch.Tensor], bits: dict[str, int],
    images: torch.Tensor | None, options: CompressOptions, retraining: _Retraining | None, progress: bool,
) -> tuple[bytes, dict[str, Any], dict[str, torch.Tensor]]:  # fmt: skip
    """Share each layer's weights at ``bits`` (error-compensated when ``images`` are given), fine-tune
    the centroids, round what the file stores to float16, and code: (bytes, sizes, state)."""
    convs = named_convs(model)
    if images is not None:
        assignment = compensated_assignment(forward_blocks(model), convs, masks, bits, images, options.rate_weight, progress)
    else:
        assignment = {name: nearest_assignment(conv.weight, bits[name], masks[name], options.rate_weight) for name, conv in convs.items()}
    shared = {name: share_weights(conv, *assignment[name], masks[name]) for name, conv in convs.items()}
    if retraining and retraining.finetune_steps:  # only centroids and biases move now
        retrain(model, retraining.batches, retraining.finetune_steps, options.lr, retraining.teacher, "fine-tune centroids", progress)
    with torch.no_grad():  # the file keeps codebooks in float16: the model is what it decodes to
        for name in convs:
            shared[name].codebook.copy_(sqz.stored(shared[name].codebook))
    layers = [
        sqz.CodedLayer(f"{state_key(model, name)}.weight", name, shared[name].codebook.detach().numpy().copy(),
                       shared[name].index.numpy(), shared[name].mask.numpy().astype(bool), bits[name], options.gap_bits)
        for name, conv in convs.items()
    ]  # fmt: skip
    for conv in convs.values():
        unshare_weights(conv)
    coded = {layer.key for layer in layers}
    state = model.state_dict()
    raw = {k: v for k, v in state.items() if k not in coded}
    with torch.no_grad():  # and biases too (state_dict tensors share the model's storage)
        for tensor in raw.values():
            tensor.copy_(sqz.stored(tensor))
    data, sizes = sqz.encode_sqz(model.config, loaded.preprocess, loaded.classes, layers, raw)
    return data, sizes, state


def default_density(epochs: float) -> str:
    """Prune only what retraining can recover: post-training, the paper's 33% 3x3 density costs
    ~11 top-1 points on ImageNet v1.1 even with compensation (measured), so nothing is pruned."""
    return "paper" if epochs > 0 else "dense"


def _calibration_images(loaded: LoadedModel, options: CompressOptions) -> torch.Tensor:
    """Up to 256 eval-transformed images: the calibration folder, or the first training batch."""
    if options.calib_data is not None:
        return calibration_tensor(options.calib_data, loaded.preprocess, max_images=256)
    if options.train_data is not None:
        return next(labelled_batches(options.train_data, 256, options.seed, loaded)[0])[0]
    raise SqueezeNetError("--size-budget measures sensitivity on images: pass --calib-data or --train-data")


def _fixed_bytes(model: torch.nn.Module, masks: dict[str, torch.Tensor], options: CompressOptions) -> int:
    """Everything in the file but the index streams, as .sqz v2 stores it: float16 biases,
    position streams at about their raw size, and header and code tables (about 4 KB in v1.1)."""
    biases = sum(2 * m.bias.numel() for m in named_convs(model).values() if m.bias is not None)
    positions = sum(int(m.sum()) * options.gap_bits // 8 for m in masks.values() if not bool(m.all()))
    return biases + positions + 4096


def format_report(report: dict[str, Any]) -> str:
    head = f"{'layer':<20} {'density':>7} {'bits':>4} {'codebook':>9} {'indices':>9} {'positions':>9} {'params':>9}"
    lines = [head, "-" * len(head)]
    for r in report["layers"]:
        lines.append(
            f"{r['name']:<20} {r['density']:>7.2f} {r['bits']:>4} {r['codebook_bytes']:>9,} {r['index_bytes']:>9,} "
            f"{r['position_bytes']:>9,} {r['params']:>9,}"
        )
    lines.append("-" * len(head))
    lines.append(
        f"{report['nonzero_params']:,} of {report['params']:,} parameters kept; biases {report['bias_bytes']:,} bytes, "
        f"code tables {report['table_bytes']:,}, header {report['header_bytes']:,}; "
        f"file {report['file_bytes']:,} bytes ({report['file_bytes'] / 1e6:.3f} MB): "
        f"{report['ratio_vs_fp32']:.1f}x smaller than fp32, {report['ratio_vs_alexnet']:.0f}x smaller than AlexNet (240 MB)"
    )
    streams = sum(r["index_bytes"] + r["position_bytes"] for r in report["layers"])
    lines.append(f"coded streams {streams:,} bytes; order-0 entropy of their symbols {report['stream_entropy_bytes']:,} "
                 "bytes (the floor for any coder that codes them independently)")
    lines.append(f"compressed in {report['compress_seconds']:.1f} s, decoded in {report['decode_seconds']:.2f} s")
    return "\n".join(lines)
