"""Precisions as data (no imports: the CLI lists them as choices): the footprint planner's, and
hls4ml's fixed-point widths."""

BYTES_PER_VALUE = {"fp32": 4, "fp16": 2, "int8": 1}
PRECISIONS = (*BYTES_PER_VALUE, "sqz")  # sqz: the weights as a real .sqz file, activations int8
# hls4ml: the width of every fixed-point number (its integer part is profiled, deploy/hls.py); 16 is
# hls4ml's own default width, and docs/results/fpga.md measures the narrower ones
DEFAULT_FIXED_BITS = 16
FIXED_BITS_RANGE = (6, 32)
