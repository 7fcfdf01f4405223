"""Run a sweep: each (point, seed) trains with the training loop, then appends its row.

Finished rows are skipped on rerun; the point in flight resumes from its own checkpoint;
``shard=(I, N)`` takes every N-th job so machines can split one sweep into one folder.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from ..data.sources import TrainSource, build_source
from ..models.squeezenet import SqueezeNet
from ..models.summary import summarize
from ..train.config import TrainConfig
from ..train.loop import model_config_for, train
from ..utils.progress import progress
from .results import append_row, read_rows, row_key


def _job_dir(out: Path, point: dict[str, Any], seed: int) -> Path:
    tag = hashlib.sha256(json.dumps({**point, "seed": seed}, sort_keys=True).encode()).hexdigest()[:12]
    return out / "runs" / tag


def run_sweep(
    points: list[dict[str, Any]],
    base: TrainConfig,
    out: str | Path,
    seeds: int = 1,
    shard: tuple[int, int] = (0, 1),
    quiet: bool = False,
) -> list[dict[str, Any]]:
    out = Path(out)
    results = out / "results.csv"
    jobs = [(p, base.seed + s) for p in points for s in range(seeds)]
    mine = [job for i, job in enumerate(jobs) if i % shard[1] == shard[0]]
    resolved = base.resolved()
    source = build_source(resolved.data, resolved.data_dir, resolved.input_size, 0, resolved.download)
    bar = progress(len(mine), "sweep", "point", quiet=quiet)
    rows = []
    for point, seed in mine:
        cfg = TrainConfig(
            **{
                **base.to_dict(),
                "design": {**base.design, **point},
                "seed": seed,
                "out": str(_job_dir(out, point, seed)),
                "resume": True,
                "quiet": True,
            }
        )
        row_stub = _row_stub(cfg, source, seed)
        if row_key(row_stub) in {row_key(r) for r in read_rows(results)}:
            bar.update()
            continue
        start = time.perf_counter()
        summary = train(cfg)
        row = {
            **row_stub,
            "top1": summary.val_top1,
            "top5": summary.val_top5,
            "train_seconds": round(time.perf_counter() - start, 2),
        }
        append_row(results, row)
        rows.append(row)
        bar.update()
        bar.set_postfix(last=f"{point} top1 {row['top1']:.2f}%")
    bar.close()
    return rows


def _row_stub(cfg: TrainConfig, source: TrainSource, seed: int) -> dict[str, Any]:
    """Metaparameters, size and MACs of the job's model (no training needed)."""
    config = model_config_for(cfg.resolved(), source)
    summary = summarize(SqueezeNet(config), source.input_size)
    return {
        "sr": config.sr,
        "pct3x3": config.pct3x3,
        "base_e": config.base_e,
        "incr_e": config.incr_e,
        "freq": config.freq,
        "bypass": config.bypass,
        "params": summary.total_params,
        "size_bytes": summary.size_bytes,
        "macs": summary.total_macs,
        "seed": seed,
    }
