"""Which fraction of each layer's weights survives pruning.

A spec is ``paper`` (Table 1's compression column: 1x1 filters dense, 3x3 expand filters at
33%), a single number for every layer, or comma-separated ``pattern=density`` pairs where a
pattern is a layer kind (``conv1``, ``conv10``, ``squeeze1x1``, ``expand1x1``, ``expand3x3``,
``shortcut``), a full layer name (``fire9/expand3x3``) or ``default``.
"""

from __future__ import annotations

from ..errors import SqueezeNetError

PRESETS = {"paper": "expand3x3=0.33,default=1.0", "dense": "default=1.0"}


def parse_density(spec: str, layer_names: list[str]) -> dict[str, float]:
    spec = PRESETS.get(spec, spec)
    rules: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = part.rpartition("=")
        key = key if sep else "default"
        try:
            density = float(value)
        except ValueError:
            raise SqueezeNetError(f"density spec {spec!r}: {value!r} is not a number") from None
        if not 0.0 < density <= 1.0:
            raise SqueezeNetError(f"density spec {spec!r}: densities lie in (0, 1], got {density}")
        rules[key] = density
    kinds = {name.split("/")[-1] for name in layer_names}
    unknown = [k for k in rules if k != "default" and k not in kinds and k not in layer_names]
    if unknown:
        raise SqueezeNetError(f"density spec names no layer: {unknown[0]!r}")
    default = rules.get("default", 1.0)
    return {n: rules.get(n, rules.get(n.split("/")[-1], default)) for n in layer_names}


def parse_bits(default: int, spec: str | None, layer_names: list[str]) -> dict[str, int]:
    """Bits per layer: ``default`` everywhere, overridden by ``pattern=bits`` pairs."""
    bits = {n: default for n in layer_names}
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        key, _, value = part.rpartition("=")
        if not value.isdigit() or not 1 <= int(value) <= 8:
            raise SqueezeNetError(f"bits spec {spec!r}: bits lie in 1..8, got {value!r}")
        matched = [n for n in layer_names if n == key or n.split("/")[-1] == key]
        if not matched:
            raise SqueezeNetError(f"bits spec names no layer: {key!r}")
        for n in matched:
            bits[n] = int(value)
    return bits
