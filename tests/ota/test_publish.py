"""The publisher never reports success while breaking the fleet: names, keys, paths, and a stop at any write."""

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from helpers import run_cli
from ota.fleet_helpers import MODEL, model_file

from squeezenet.errors import SqueezeNetError
from squeezenet.ota import publish as publish_module
from squeezenet.ota.keys import KeyStore, init_keys
from squeezenet.ota.publish import Repository, _now
from squeezenet.ota.release import TUF_ROLES, Release


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", [*TUF_ROLES, "x.root", "m.json"])
def test_tuf_role_names_are_refused_before_anything_is_written(fleet, name):
    """``--model root`` once overwrote 1.root.json and reported success; ``timestamp`` left targets behind."""
    before = files(fleet.tmp / "repo")
    with pytest.raises(SqueezeNetError, match="reserved"):
        fleet.repo.publish(fleet.keys, name, model_file(scale=1.01))
    assert files(fleet.tmp / "repo") == before


def test_keys_of_another_repository_are_refused_before_anything_is_written(fleet, tmp_path):
    """Signing with them returned 0 and left every device refusing every update, refresh included."""
    init_keys(tmp_path / "other", root_keys=1)
    other = KeyStore(tmp_path / "other")
    before = files(fleet.tmp / "repo")
    for publish in (
        lambda: fleet.repo.publish(other, MODEL, model_file(scale=1.01)),
        lambda: fleet.repo.publish(other, "new-model", model_file(scale=1.01)),
        lambda: fleet.repo.refresh(other),
        lambda: fleet.repo.refresh(other, _now() + timedelta(days=6)),  # re-signs the snapshot too
    ):
        with pytest.raises(SqueezeNetError, match=r"not the one|another repository"):
            publish()
        assert files(fleet.tmp / "repo") == before
    mixed = tmp_path / "mixed"  # the right top-level keys, another key for the model
    shutil.copytree(fleet.tmp / "keys", mixed)
    shutil.copy(tmp_path / "other" / "targets.pem", mixed / "models" / f"{MODEL}.pem")
    with pytest.raises(SqueezeNetError, match=f"key for {MODEL}"):
        fleet.repo.publish(KeyStore(mixed), MODEL, model_file(scale=1.01))
    assert files(fleet.tmp / "repo") == before
    assert fleet.device.update(fleet.url, MODEL).status == "current"


class Stopped(BaseException):
    """A publish stopped dead at a write, as by SIGKILL: no handler or cleanup of ours runs."""


def test_a_publish_stopped_at_each_write_leaves_the_repository_as_devices_saw_it(fleet, monkeypatch):
    """Stopped before its k-th write, for every k: the timestamp (what every device and the next
    publish start from) is unchanged, devices see release 1, and the next publish succeeds."""
    real_write = publish_module.write_bytes
    writes: list[str] = []

    def counting(dest, data):
        writes.append(Path(dest).name)
        real_write(dest, data)

    counted = Repository(fleet.tmp / "count")
    shutil.copytree(fleet.tmp / "repo", counted.root)
    monkeypatch.setattr(publish_module, "write_bytes", counting)
    counted.publish(fleet.keys, MODEL, model_file(scale=1.01))
    assert writes[-1] == "timestamp.json" and len(writes) >= 5
    timestamp = (fleet.tmp / "repo" / "metadata" / "timestamp.json").read_bytes()
    for stop_at in range(len(writes)):
        done = []

        def stopping(dest, data, stop_at=stop_at, done=done):
            if len(done) == stop_at:
                raise Stopped
            done.append(dest)
            real_write(dest, data)

        monkeypatch.setattr(publish_module, "write_bytes", stopping)
        with pytest.raises(Stopped):
            Repository(fleet.tmp / "repo").publish(fleet.keys, MODEL, model_file(scale=1.01))
        assert (fleet.tmp / "repo" / "metadata" / "timestamp.json").read_bytes() == timestamp, stop_at
        assert fleet.device.update(fleet.url, MODEL).status == "current", stop_at
    monkeypatch.setattr(publish_module, "write_bytes", real_write)
    assert Repository(fleet.tmp / "repo").publish(fleet.keys, MODEL, model_file(scale=1.01)).release == 2
    assert fleet.device.update(fleet.url, MODEL).release == 2
    assert fleet.device.confirm().status == "confirmed"


def test_no_write_leaves_the_repository_even_through_the_internal_api(fleet, tmp_path):
    record = Release(MODEL, 2, "0" * 64, 1, {}, f"{MODEL}/2/probe.json")
    for path in (f"{MODEL}/../../../escaped", f"/{MODEL}/abs", "../outside"):
        with pytest.raises(SqueezeNetError, match="repository"):
            fleet.repo._write_role(fleet.keys, MODEL, {path: (b"x", {"kind": "probe"})}, [record], _now())
    outside = tmp_path / "elsewhere"
    shutil.copytree(fleet.tmp / "repo" / "targets" / MODEL, outside)
    shutil.rmtree(fleet.tmp / "repo" / "targets" / MODEL)
    os.symlink(outside, fleet.tmp / "repo" / "targets" / MODEL)  # a link planted in the repository
    before = files(outside)
    with pytest.raises(SqueezeNetError, match="outside the repository"):
        fleet.repo.publish(fleet.keys, MODEL, model_file(scale=1.01))
    assert files(outside) == before and not list(tmp_path.rglob("*escaped*"))


def test_a_file_as_the_repository_is_one_line(tmp_path, fleet, capsys):
    (tmp_path / "file").write_text("x")
    weights = tmp_path / "m.sqz"
    weights.write_bytes(fleet.base)
    argv = [
        "publish",
        "--repo",
        tmp_path / "file",
        "--keys",
        fleet.tmp / "keys",
        "--model",
        MODEL,
        "--weights",
        weights,
    ]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "is a file" in err
    with pytest.raises(SqueezeNetError, match="is a file"):
        Repository(tmp_path / "file")
