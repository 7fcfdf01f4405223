"""The footprint planner's precisions, as data (no imports: the CLI lists them as choices)."""

BYTES_PER_VALUE = {"fp32": 4, "fp16": 2, "int8": 1}
PRECISIONS = (*BYTES_PER_VALUE, "sqz")  # sqz: the weights as a real .sqz file, activations int8
