"""``make demo``'s job, run once into a fresh folder, its report written as ``docs/results/demo.{md,json}``."""

import tempfile
import time
from pathlib import Path

from _shared import write_result

from squeezenet.demo import render_markdown, run_demo

with tempfile.TemporaryDirectory() as tmp:
    start = time.perf_counter()
    report = run_demo(Path(tmp) / "demo", quiet=True)
    seconds = time.perf_counter() - start
body = render_markdown(report).split("\n", 1)[1].replace("![learning curves](train/curves.png)", "").strip()
write_result(
    "demo",
    "The demo (`make demo`)",
    body + f"\n\nThe whole command took {seconds:.0f} s.",
    {"report": report, "seconds": seconds},
    ".venv/bin/python benchmarks/demo.py",
)
