"""Deep Compression end to end: prune -> retrain -> share weights -> fine-tune centroids -> code.

The result is the ``.sqz`` bytes, a per-layer report, and the compressed model itself; the
bytes are decoded once before returning and must rebuild that model's weights exactly.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..data.images import calibration_tensor, image_files
from ..errors import OptionError
from ..formats import sqz
from ..formats.loaded import LoadedModel
from ..models.summary import ALEXNET_BYTES
from ..utils.device import pick_device
from . import sensitivity
from .cluster import share_weights
from .coding import CodedModel, code_model
from .compensate import compensated_assignment, nearest_layer
from .density import parse_bits, parse_density
from .layers import named_convs
from .options import CompressOptions
from .prune import apply_pruning, density_schedule, remove_pruning
from .retrain import frozen_copy, held_out_top1, labelled_batches, retrain, unlabelled_batches

BUDGET_ATTEMPTS = 6


@dataclass
class HeldOut:
    """Top-1 on the labelled data's held-out images, of the model before and after compression."""

    images: int
    top1_before: float
    top1_after: float


@dataclass
class CompressReport:
    """Where the bytes went and what it took (``to_dict`` for ``--json``)."""

    layers: list[sqz.LayerBytes]
    bias_bytes: int
    table_bytes: int
    header_bytes: int
    stream_entropy_bytes: int
    file_bytes: int
    params: int
    nonzero_params: int
    bits: dict[str, int]
    rate_weight: float
    compress_seconds: float
    decode_seconds: float
    retrain_steps: int = 0
    finetune_steps: int = 0
    size_budget_attempts: int = 1
    sharing: dict[str, str] = dataclasses.field(default_factory=dict)  # per layer: compensated or nearest
    held_out: HeldOut | None = None  # with labelled data: the images it holds out, before and after

    @property
    def fp32_bytes(self) -> int:
        return 4 * self.params

    @property
    def ratio_vs_fp32(self) -> float:
        return self.fp32_bytes / self.file_bytes

    @property
    def ratio_vs_alexnet(self) -> float:
        return ALEXNET_BYTES / self.file_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "fp32_bytes": self.fp32_bytes,
            "ratio_vs_fp32": self.ratio_vs_fp32,
            "ratio_vs_alexnet": self.ratio_vs_alexnet,
        }


@dataclass
class Compressed:
    data: bytes  # the .sqz file
    report: CompressReport
    model: LoadedModel  # what the file decodes to


@dataclass
class _Retraining:
    """The image stream and step counts for retraining after pruning and after sharing."""

    batches: Any
    teacher: torch.nn.Module
    steps: int
    finetune_steps: int
    device: torch.device


def compress(loaded: LoadedModel, options: CompressOptions, progress: bool = True) -> Compressed:
    """Prune (and retrain), share weights (and fine-tune centroids), code; with a size budget,
    re-code with narrower bits until the file's real size fits it."""
    start = time.perf_counter()
    options.check()
    torch.manual_seed(options.seed)
    model = copy.deepcopy(loaded.model).float().eval()
    convs = named_convs(model)
    densities = parse_density(options.density or default_density(options.epochs), list(convs))
    bits = parse_bits(options.bits, options.bits_spec, list(convs))
    scaled = dict.fromkeys(convs, bool(options.channel_scales))
    _check_budget_reachable(model, densities, options)
    if options.calib_data is not None:
        image_files(options.calib_data)  # an empty folder is refused now, not after pruning and retraining
    retraining = _retraining(loaded, options)
    compensating = options.compensate and (options.calib_data is not None or options.data is not None)
    # Nothing retrained: compensation starts again from the dense weights, so it absorbs the pruning error too.
    dense = (
        {name: conv.weight.detach().clone() for name, conv in convs.items()}
        if compensating and not retraining
        else None
    )
    masks = _prune(model, convs, densities, options, retraining, progress)
    images = _calibration_images(loaded, options) if compensating or options.size_budget is not None else None

    target = options.size_budget
    if target is not None:  # measured once; each attempt below only re-chooses for a lower target
        table = sensitivity.measure(
            model,
            named_convs(model),
            masks,
            images,
            options.rate_weight,
            (False, True) if options.channel_scales is None else (options.channel_scales,),
            compensating,
            progress,
        )
    for attempt in range(BUDGET_ATTEMPTS):
        if target is not None:
            chosen = sensitivity.choose(table, list(convs), target, _fixed_bytes(model, masks, options))
            bits = {name: setting.bits for name, setting in chosen.items()}
            scaled = {name: setting.scaled for name, setting in chosen.items()}
        coded = copy.deepcopy(model)  # sharing rewrites the weights: every attempt starts from the pruned model
        if dense is not None:
            with torch.no_grad():
                for name, conv in named_convs(coded).items():
                    conv.weight.copy_(dense[name])
        result, sharing = _share_and_code(
            coded, loaded, masks, bits, scaled, images if compensating else None, options, retraining, progress
        )
        if options.size_budget is None or len(result.data) <= options.size_budget:
            break
        # the estimate missed: aim lower by the miss, doubled each try (a small step often narrows no layer)
        target -= (len(result.data) - options.size_budget) * 2**attempt + 512
    else:
        raise OptionError(
            "size_budget",
            f"of {options.size_budget:,} bytes could not be met ({len(result.data):,} after "
            f"{BUDGET_ATTEMPTS} tries); prune more ({{density}})",
            "density",
        )
    encode_seconds = time.perf_counter() - start

    decode_start = time.perf_counter()
    decoded = sqz.decode(result.data, "the compressed model").state()
    decode_seconds = time.perf_counter() - decode_start
    mismatched = [k for k, v in result.state.items() if not np.array_equal(decoded[k], v.detach().numpy())]
    if mismatched:
        raise RuntimeError(f"internal error: {mismatched[0]} does not survive the .sqz round trip")

    state = result.state
    nonzero = sum(int(m.sum()) for m in masks.values()) + sum(
        t.numel() for k, t in state.items() if not k.endswith(".weight")
    )
    report = CompressReport(
        **{f.name: getattr(result.sizes, f.name) for f in dataclasses.fields(result.sizes)},
        file_bytes=len(result.data),
        params=sum(t.numel() for t in state.values()),
        nonzero_params=nonzero,
        bits=bits,
        rate_weight=options.rate_weight,
        compress_seconds=encode_seconds,
        decode_seconds=decode_seconds,
        retrain_steps=retraining.steps if retraining else 0,
        finetune_steps=retraining.finetune_steps if retraining else 0,
        size_budget_attempts=attempt + 1,
        sharing=sharing,
    )
    if options.data is not None:
        (before, after), images = held_out_top1(
            [loaded.model, coded], options.data, options.seed, loaded.preprocess, options.split
        )
        report.held_out = HeldOut(images, before, after)
    return Compressed(result.data, report, LoadedModel(coded, loaded.preprocess, "sqz", loaded.classes))


def _retraining(loaded: LoadedModel, options: CompressOptions) -> _Retraining | None:
    """The retraining stream, built only when something retrains."""
    if not options.retrains:
        return None
    if options.calib_data is not None:
        batches, n = unlabelled_batches(options.calib_data, loaded.preprocess, options.batch_size, options.seed)
    else:
        batches, n = labelled_batches(options.data, options.batch_size, options.seed, loaded, options.split)
    steps, finetune_steps = (
        math.ceil(e * math.ceil(n / options.batch_size)) for e in (options.epochs, options.finetune)
    )
    return _Retraining(batches, frozen_copy(loaded.model), steps, finetune_steps, pick_device(options.device))


def _prune(
    model: torch.nn.Module,
    convs: dict[str, torch.nn.Conv2d],
    densities: dict[str, float],
    options: CompressOptions,
    retraining: _Retraining | None,
    progress: bool,
) -> dict[str, torch.Tensor]:
    """Prune to ``densities`` in ``prune_stages`` steps, retraining after each; the masks."""
    steps = retraining.steps if retraining else 0
    for stage, stage_densities in enumerate(density_schedule(densities, options.prune_stages), 1):
        apply_pruning(convs, stage_densities)
        if steps:
            stage_steps = steps // options.prune_stages + (stage <= steps % options.prune_stages)
            desc = f"retrain pruned {stage}/{options.prune_stages}"
            retrain(
                model,
                retraining.batches,
                stage_steps,
                options.lr,
                retraining.teacher,
                desc,
                options.seed,
                retraining.device,
                progress,
            )
    return remove_pruning(convs)


def _share_and_code(
    model: torch.nn.Module,
    loaded: LoadedModel,
    masks: dict[str, torch.Tensor],
    bits: dict[str, int],
    scaled: dict[str, bool],
    images: torch.Tensor | None,
    options: CompressOptions,
    retraining: _Retraining | None,
    progress: bool,
) -> tuple[CodedModel, dict[str, str]]:
    """Share each layer's weights at ``bits``, its codebook ``scaled`` per channel or not
    (error-compensated when ``images`` are given), fine-tune the centroids, and code; also say
    how each layer was shared."""
    convs = named_convs(model)
    if images is not None:
        assignment = compensated_assignment(
            copy.deepcopy(loaded.model).float().eval(),
            model,
            masks,
            bits,
            scaled,
            images,
            options.rate_weight,
            progress,
        )
    else:
        assignment = {
            name: nearest_layer(conv.weight, masks[name], bits[name], options.rate_weight, scaled[name])
            for name, conv in convs.items()
        }
    shared = {
        name: share_weights(
            conv, assignment[name].codebook, assignment[name].index, masks[name], assignment[name].scale
        )
        for name, conv in convs.items()
    }
    if retraining and retraining.finetune_steps:  # only centroids and biases move now
        retrain(
            model,
            retraining.batches,
            retraining.finetune_steps,
            options.lr,
            retraining.teacher,
            "fine-tune centroids",
            options.seed,
            retraining.device,
            progress,
        )
    layers = [(name, bits[name], options.gap_bits) for name in convs]
    methods = {name: a.method for name, a in assignment.items()}
    return code_model(model, shared, layers, loaded.preprocess, loaded.classes), methods


def default_density(epochs: float) -> str:
    """Prune only what retraining can recover: post-training, the paper's 33% 3x3 density costs
    ImageNet v1.1 many top-1 points even with compensation (docs/results/compression.md), so
    nothing is pruned."""
    return "paper" if epochs > 0 else "dense"


def _calibration_images(loaded: LoadedModel, options: CompressOptions) -> torch.Tensor:
    """Up to 256 eval-transformed images: the calibration folder, or the first training batch."""
    if options.calib_data is not None:
        return calibration_tensor(options.calib_data, loaded.preprocess, max_images=256)
    return next(labelled_batches(options.data, 256, options.seed, loaded, options.split)[0])[0]


def _check_budget_reachable(model: torch.nn.Module, densities: dict[str, float], options: CompressOptions) -> None:
    """Refuse, before any measuring, a size budget below what the file needs at one bit a weight:
    the biases as stored and one bit for every weight the densities keep (a Huffman code spends
    at least one bit a symbol), headers and tables not even counted."""
    if options.size_budget is None:
        return
    convs = named_convs(model)
    biases = sum(sqz.STORED_BYTES * m.bias.numel() for m in convs.values() if m.bias is not None)
    weights = sum(math.ceil(m.weight.numel() * densities[name]) for name, m in convs.items()) // 8
    if options.size_budget < biases + weights:
        raise OptionError(
            "size_budget",
            f"of {options.size_budget:,} bytes is below {biases + weights:,}, what this model takes at one bit "
            "per weight: raise it, or prune more ({density})",
            "density",
        )


def _fixed_bytes(model: torch.nn.Module, masks: dict[str, torch.Tensor], options: CompressOptions) -> int:
    """Everything in the file but the index streams and codebooks: biases as stored, position
    streams at about their raw size, and header and code tables (about 4 KB in v1.1)."""
    biases = sum(sqz.STORED_BYTES * m.bias.numel() for m in named_convs(model).values() if m.bias is not None)
    positions = sum(int(m.sum()) * options.gap_bits // 8 for m in masks.values() if not bool(m.all()))
    return biases + positions + 4096


def format_report(report: CompressReport) -> str:
    head = (
        f"{'layer':<20} {'density':>7} {'bits':>4} {'scales':>6} {'codebook':>9} {'indices':>9} {'positions':>9} "
        f"{'params':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in report.layers:
        lines.append(
            f"{r.name:<20} {r.density:>7.2f} {r.bits:>4} {'yes' if r.scaled else 'no':>6} {r.codebook_bytes:>9,} "
            f"{r.index_bytes:>9,} "
            f"{r.position_bytes:>9,} {r.params:>9,}"
        )
    lines.append("-" * len(head))
    lines.append(
        f"{report.nonzero_params:,} of {report.params:,} parameters kept; biases {report.bias_bytes:,} bytes, "
        f"code tables {report.table_bytes:,}, header {report.header_bytes:,}; "
        f"file {report.file_bytes:,} bytes ({report.file_bytes / 1e6:.3f} MB): "
        f"{report.ratio_vs_fp32:.1f}x smaller than fp32, {report.ratio_vs_alexnet:.0f}x smaller than AlexNet (240 MB)"
    )
    streams = sum(r.index_bytes + r.position_bytes for r in report.layers)
    lines.append(
        f"coded streams {streams:,} bytes; order-0 entropy of their symbols {report.stream_entropy_bytes:,} "
        "bytes (the floor for any coder that codes them independently)"
    )
    rounded = [name for name, method in report.sharing.items() if method == "nearest"]
    if rounded and len(rounded) < len(report.sharing):
        lines.append(
            f"{len(rounded)} of {len(report.sharing)} layers kept nearest-centroid rounding, which scored a lower "
            f"output error on the calibration images than compensation: {', '.join(rounded)}"
        )
    lines.append(f"compressed in {report.compress_seconds:.1f} s, decoded in {report.decode_seconds:.2f} s")
    if report.held_out:
        h = report.held_out
        lines.append(f"held-out top-1 {h.top1_before:.2f}% before, {h.top1_after:.2f}% after, on {h.images} images")
    return "\n".join(lines)
