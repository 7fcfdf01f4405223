"""Human-readable benchmark tables."""

from __future__ import annotations

from typing import Any


def format_results(results: dict[str, Any]) -> str:
    lines: list[str] = []
    if "inference" in results:
        from .inference import format_inference

        lines.append(format_inference(results["inference"]))
    if "peers" in results:
        from .peers import format_peers

        lines.append(format_peers(results["peers"]))
    if "predict" in results:
        from .endtoend import format_predict

        lines.append(format_predict(results["predict"]))
    if "train" in results:
        t = results["train"]
        lines += [
            f"training throughput, {t['arch']}{_design(t.get('design'))} at {t['input_size']} px, "
            f"batch {t['batch_size']} "
            f"({t['isa']}, {t['threads']} threads, amp {t['ours_amp']}):",
            f"  plain eager fp32 loop   {t['baseline_images_per_s']:8.0f} images/s   1.00x",
            f"  squeezenet train loop   {t['ours_images_per_s']:8.0f} images/s   {t['ratio']:.2f}x",
        ]
    if "allreduce" in results:
        a = results["allreduce"]
        lines.append(f"data-parallel all-reduce per step, {a['world_size']} x {a['backend']} on this machine:")
        for name, m in a["models"].items():
            lines.append(
                f"  {name:<14} {m['params']:>11,} params  {m['allreduce_bytes_per_step'] / 1e6:9.2f} MB/step  "
                f"{1000 * m['allreduce_seconds_per_step']:9.1f} ms/step"
            )
        lines.append(
            f"  AlexNet / SqueezeNet: {a['bytes_ratio_alexnet_over_squeezenet']:.1f}x bytes, "
            f"{a['seconds_ratio_alexnet_over_squeezenet']:.1f}x time"
        )
    return "\n".join(lines)


def _design(design: dict[str, Any] | None) -> str:
    """`` (bypass simple, stem strided)``: the design overrides a figure was measured with."""
    return f" ({', '.join(f'{k} {v}' for k, v in design.items())})" if design else ""
