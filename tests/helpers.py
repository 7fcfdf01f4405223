"""Test helpers shared across test modules (tests/ is on pytest's pythonpath)."""

from squeezenet.models import SqueezeNetConfig


def formula_params(config: SqueezeNetConfig) -> int:
    """Parameters from the Section 5 formula alone, independent of the module code."""
    conv1_k = 3 if config.stem == "small" or config.layout == "v1_1" else 7
    c1 = {"v1_0": 96, "v1_1": 64}[config.layout]
    total = config.in_channels * c1 * conv1_k**2 + c1
    channels = c1
    for i in range(8):
        e = config.base_e + config.incr_e * (i // config.freq)
        e3 = min(max(int(e * config.pct3x3 + 0.5), 1), e - 1)
        e1, s = e - e3, max(1, int(config.sr * e + 0.5))
        total += channels * s + s + s * e1 + e1 + 9 * s * e3 + e3
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
