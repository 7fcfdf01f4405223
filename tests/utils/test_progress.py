"""Progress in a log: a plain line every interval and one at the end of long work; short work is silent."""

from squeezenet.utils.progress import LogProgress


def test_a_log_gets_periodic_lines_and_short_work_none(capsys):
    bar = LogProgress(10, "epoch 1/2", "batch", every=0.0)
    for _ in range(3):
        bar.update()
    bar.set_postfix(loss="0.5")
    bar.close()
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("epoch 1/2: 1/10 batches (10%)")
    assert lines[-1].startswith("epoch 1/2: 3/10 batches (30%)")
    assert lines[-1].endswith("loss 0.5") and "\r" not in "".join(lines)
    quiet = LogProgress(10, "eval", "batch", every=60.0)
    quiet.update()
    quiet.close()
    assert capsys.readouterr().err == ""
