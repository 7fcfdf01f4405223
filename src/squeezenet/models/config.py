"""SqueezeNet architectures as data: the Section 5 metaparameters plus the macro layout.

One frozen dataclass describes every model the toolkit builds. It is what travels with the
weights (JSON in safetensors metadata), so a file alone is enough to rebuild its module.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from ..errors import SqueezeNetError

NUM_FIRE = 8
FIRST_FIRE = 2  # the paper numbers Fire modules fire2 .. fire9

# The two macro layouts of the authors' release: conv1 (filters, kernel, stride) and the
# layers each max-pool follows.
LAYOUTS: dict[str, dict[str, Any]] = {
    "v1_0": {"conv1": (96, 7, 2), "pool_after": ("conv1", "fire4", "fire8")},
    "v1_1": {"conv1": (64, 3, 2), "pool_after": ("conv1", "fire3", "fire5")},
}
# Bounds that no SqueezeNet comes near (v1.0 has 1.25M parameters; a 21,841-class ImageNet-22k
# head adds 11M). They hold for every config, so a hostile file's header cannot make a reader
# allocate gigabytes: the largest model they admit has MAX_PARAMS parameters.
MAX_WIDTH = 8192  # base_e, incr_e
MAX_CLASSES = 100_000
MAX_IN_CHANNELS = 64
MAX_PARAMS = 1 << 26
# small: conv1 becomes 3x3 stride 1 pad 1, for 28-64 px inputs; strided: 3x3 stride 2 pad 1 in
# place of conv1 and the max-pool after it (same output size, a quarter of the stem's work).
STEMS = ("imagenet", "small", "strided")
BYPASSES = ("none", "simple", "complex")
# squeeze: batch norm between each Fire module's squeeze convolution and its ReLU, a training aid
# (SqueezeNet has none): a saved model has it folded into the squeeze weights (``fold.py``).
NORMS = ("none", "squeeze")
# 3x3: the paper's overlapping 3x3 stride-2 max-pools, sizes rounded up as Caffe does; 2x2:
# non-overlapping 2x2 stride-2 pools, sizes rounded down: the FPGA variant, the only pools hls4ml
# streams (it also drops ceil mode silently). Same tensors, so a 3x3 model's weights load into it.
POOLS = ("3x3", "2x2")
POOL_GEOMETRY: dict[str, tuple[int, int, bool]] = {"3x3": (3, 2, True), "2x2": (2, 2, False)}  # kernel, stride, ceil
LATER_FIELDS: dict[str, Any] = {
    "norm": "none",
    "pool": "3x3",
}  # field -> default, for fields newer than the file format
# The Section 5/6 metaparameters as a user sets them, with what each means. The CLI builds its
# design flags from this table, so the library and every command name them the same way.
DESIGN_FIELDS: dict[str, str] = {
    "base_e": "expand filters in fire2 (base_e)",
    "incr_e": "expand filters added every FREQ Fire modules (incr_e)",
    "freq": "Fire modules between width increases (freq)",
    "pct3x3": "share of expand filters that are 3x3 (pct3x3, 0-1)",
    "sr": "squeeze ratio: squeeze over expand filters (SR)",
    "bypass": "Section 6 shortcuts",
    "stem": "small: a 3x3 stride-1 conv1 for 28-64 px inputs; strided: 3x3 stride 2, no first max-pool",
    "norm": "squeeze: batch norm after each squeeze conv while training, folded into it when saved",
    "pool": "max-pools: 3x3 stride 2 (the paper's); 2x2 stride 2, the FPGA variant (export --format hls4ml)",
}
DESIGN_CHOICES: dict[str, tuple[str, ...]] = {"bypass": BYPASSES, "stem": STEMS, "norm": NORMS, "pool": POOLS}


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


@dataclass(frozen=True)
class SqueezeNetConfig:
    """A point of the SqueezeNet design space. Defaults are SqueezeNet v1.0 exactly."""

    base_e: int = 128
    incr_e: int = 128
    freq: int = 2
    pct3x3: float = 0.5
    sr: float = 0.125
    layout: str = "v1_0"
    stem: str = "imagenet"
    bypass: str = "none"
    norm: str = "none"
    pool: str = "3x3"
    num_classes: int = 1000
    in_channels: int = 3
    dropout: float = 0.5
    conv10_pad: int = 0  # 1 only for models imported from the v1.0 Caffe release

    def __post_init__(self) -> None:
        self._check_types()
        checks = [
            (self.layout in LAYOUTS, f"layout must be one of {sorted(LAYOUTS)}, got {self.layout!r}"),
            (self.stem in STEMS, f"stem must be one of {STEMS}, got {self.stem!r}"),
            (self.bypass in BYPASSES, f"bypass must be one of {BYPASSES}, got {self.bypass!r}"),
            (self.norm in NORMS, f"norm must be one of {NORMS}, got {self.norm!r}"),
            (self.pool in POOLS, f"pool must be one of {POOLS}, got {self.pool!r}"),
            (2 <= self.base_e <= MAX_WIDTH, f"base_e must be in [2, {MAX_WIDTH}], got {self.base_e}"),
            (0 <= self.incr_e <= MAX_WIDTH, f"incr_e must be in [0, {MAX_WIDTH}], got {self.incr_e}"),
            (1 <= self.freq <= NUM_FIRE, f"freq must be in [1, {NUM_FIRE}], got {self.freq}"),
            (0.0 < self.pct3x3 < 1.0, f"pct3x3 must be in (0, 1), got {self.pct3x3}"),
            (0.0 < self.sr <= 4.0, f"sr must be in (0, 4], got {self.sr}"),
            (
                1 <= self.num_classes <= MAX_CLASSES,
                f"num_classes must be in [1, {MAX_CLASSES}], got {self.num_classes}",
            ),
            (
                1 <= self.in_channels <= MAX_IN_CHANNELS,
                f"in_channels must be in [1, {MAX_IN_CHANNELS}], got {self.in_channels}",
            ),
            (0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}"),
            (self.conv10_pad in (0, 1), f"conv10_pad must be 0 or 1, got {self.conv10_pad}"),
        ]
        for ok, message in checks:
            if not ok:
                raise SqueezeNetError(message)
        if self.bypass != "none":
            for n, (inp, (_, e1, e3)) in zip(self.fire_names(), zip(self.fire_inputs(), self.fire_widths())):
                if self.bypass_kind(n) == "identity" and inp != e1 + e3:
                    raise SqueezeNetError(
                        f"simple bypass around {n} needs equal input and output channels, "
                        f"got {inp} -> {e1 + e3}; choose freq/incr_e so they match"
                    )
        if self.param_count() > MAX_PARAMS:
            raise SqueezeNetError(
                f"this design point has {self.param_count():,} parameters, over the {MAX_PARAMS:,} allowed"
            )

    def _check_types(self) -> None:
        """Every field has its declared type (configs also come from files' JSON headers)."""
        kinds = {"int": "an integer", "float": "a finite number", "str": "a string"}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if (
                isinstance(value, bool)
                or not {
                    "int": isinstance(value, int),
                    "float": isinstance(value, (int, float)) and math.isfinite(value),
                    "str": isinstance(value, str),
                }[f.type]
            ):
                raise SqueezeNetError(
                    f"architecture field {f.name} must be {kinds[f.type]}, got {type(value).__name__}"
                )

    def param_count(self) -> int:
        """Parameters of the network this config builds, by arithmetic (nothing allocated)."""
        kernel = self.conv1_geometry()[0]
        total = self.in_channels * self.conv1_filters * kernel * kernel + self.conv1_filters
        for name, inp, (s, e1, e3) in zip(self.fire_names(), self.fire_inputs(), self.fire_widths()):
            total += inp * s + s + s * e1 + e1 + 9 * s * e3 + e3
            if self.norm == "squeeze":
                total += 2 * s  # the batch norm's scale and shift
            if self.bypass_kind(name) == "conv":
                total += inp * (e1 + e3) + e1 + e3
        return total + (self.fire_widths()[-1][1] + self.fire_widths()[-1][2] + 1) * self.num_classes

    # --- Section 5 formula -------------------------------------------------------------
    def fire_widths(self) -> list[tuple[int, int, int]]:
        """(s1x1, e1x1, e3x3) per Fire module, from the paper's Section 5 formula.

        e_i = base_e + incr_e * floor(i / freq); e3x3 = round(e_i * pct3x3), kept in [1, e_i - 1]
        so both expand branches exist; e1x1 = e_i - e3x3; s1x1 = max(1, round(SR * e_i)).
        Rounding is half-up.
        """
        widths = []
        for i in range(NUM_FIRE):
            e = self.base_e + self.incr_e * (i // self.freq)
            e3 = min(max(_round_half_up(e * self.pct3x3), 1), e - 1)
            s = max(1, _round_half_up(self.sr * e))
            widths.append((s, e - e3, e3))
        return widths

    def fire_names(self) -> list[str]:
        return [f"fire{FIRST_FIRE + i}" for i in range(NUM_FIRE)]

    @property
    def conv1_filters(self) -> int:
        return LAYOUTS[self.layout]["conv1"][0]

    def conv1_geometry(self) -> tuple[int, int, int]:
        """(kernel, stride, padding) of conv1."""
        if self.stem == "small":
            return 3, 1, 1
        if self.stem == "strided":
            return 3, 2, 1
        _, kernel, stride = LAYOUTS[self.layout]["conv1"]
        return kernel, stride, 0

    def fire_inputs(self) -> list[int]:
        inputs, channels = [], self.conv1_filters
        for _, e1, e3 in self.fire_widths():
            inputs.append(channels)
            channels = e1 + e3
        return inputs

    def bypass_kind(self, fire_name: str) -> str | None:
        """None, "identity" or "conv" for one Fire module under this config's bypass."""
        n = int(fire_name.removeprefix("fire"))
        if self.bypass == "none":
            return None
        if n % 2 == 1:  # fire3, 5, 7, 9: identity shortcut (Section 6, simple bypass)
            return "identity"
        return "conv" if self.bypass == "complex" else None

    def output_side(self, input_size: int) -> int:
        """The side of conv10's output for square inputs of ``input_size`` (below 1: too small to
        run), by PyTorch's own rules for convolutions and ceil-mode pooling; Fire modules keep the side."""
        kernel, stride, padding = self.conv1_geometry()
        side = (input_size + 2 * padding - kernel) // stride + 1
        pool_kernel, pool_stride, ceil = POOL_GEOMETRY[self.pool]
        for _ in self.pools_after():
            if side < 1:
                break
            pooled = (side - pool_kernel + (pool_stride - 1 if ceil else 0)) // pool_stride + 1
            side = pooled - 1 if ceil and (pooled - 1) * pool_stride >= side else pooled
        return side

    def min_input_size(self) -> int:
        """The smallest image side this network runs on."""
        return next(size for size in range(1, 1024) if self.output_side(size) >= 1)

    def pools_after(self) -> tuple[str, ...]:
        """The layers a max-pool follows (the strided stem strides conv1 instead of pooling it)."""
        pools = LAYOUTS[self.layout]["pool_after"]
        return tuple(p for p in pools if p != "conv1") if self.stem == "strided" else pools

    # --- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every field, except ones added after the first release while they hold their default:
        a plain model's file stays readable by earlier versions (which refuse unknown fields)."""
        data = dataclasses.asdict(self)
        return {k: v for k, v in data.items() if not (k in LATER_FIELDS and v == LATER_FIELDS[k])}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SqueezeNetConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise SqueezeNetError(f"unknown architecture fields {sorted(unknown)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> SqueezeNetConfig:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise SqueezeNetError("architecture metadata is not valid JSON") from None
        if not isinstance(data, dict):
            raise SqueezeNetError("architecture metadata must be a JSON object")
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> SqueezeNetConfig:
        return dataclasses.replace(self, **changes)
