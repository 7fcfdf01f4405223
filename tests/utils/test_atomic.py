import os
import subprocess
import sys

import pytest

from squeezenet.errors import SqueezeNetError
from squeezenet.utils.atomic import atomic_directory, atomic_path, write_bytes


def test_outputs_get_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_bytes(tmp_path / "a.bin", b"x")
        assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o644
        os.umask(0o007)
        write_bytes(tmp_path / "b.bin", b"x")
        assert (tmp_path / "b.bin").stat().st_mode & 0o777 == 0o660
        os.chmod(tmp_path / "a.bin", 0o600)  # replacing a file keeps its mode, as open('w') would
        write_bytes(tmp_path / "a.bin", b"y")
        assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_temporaries_of_killed_writers_are_removed_by_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".m.ckpt.{dead.stdout.strip()}.abc123.tmp"  # as a SIGKILLed writer leaves it
    stale.write_bytes(b"half")
    live = tmp_path / f".m.ckpt.{os.getppid()}.def456.tmp"  # a running writer's: kept
    live.write_bytes(b"busy")
    with atomic_path(tmp_path / "m.ckpt") as tmp:
        tmp.write_bytes(b"whole")
    assert not stale.exists() and live.exists() and (tmp_path / "m.ckpt").read_bytes() == b"whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.ckpt", live.name])


def test_a_folder_is_replaced_whole_and_only_if_it_is_ours(tmp_path):
    dest = tmp_path / "p.hls4ml"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".p.hls4ml.{dead.stdout.strip()}.abc123.tmp"  # a killed export's half-written folder
    (stale / "firmware").mkdir(parents=True)
    for version in ("old", "new"):
        with atomic_directory(dest, "mark.json") as tmp:
            (tmp / "mark.json").write_text(version)
            (tmp / version).write_text(version)
    assert sorted(p.name for p in dest.iterdir()) == ["mark.json", "new"]  # nothing of the old one left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.hls4ml"]  # no temporaries, the stale one gone
    with pytest.raises(RuntimeError), atomic_directory(dest, "mark.json") as tmp:
        (tmp / "mark.json").write_text("broken")
        raise RuntimeError("the build failed")
    assert (dest / "mark.json").read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["p.hls4ml"]
    (tmp_path / "mine").mkdir()
    with pytest.raises(SqueezeNetError, match="not replaced"), atomic_directory(tmp_path / "mine", "mark.json"):
        pass
