"""Over-the-air updates under TUF, against an HTTP server on 127.0.0.1 that the tests start and stop.

Every refusal leaves the active model's bytes and the state file as they were."""

import fcntl
import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from ota.fleet_helpers import MODEL, Handler, model_file

from squeezenet.errors import OptionError, SqueezeNetError
from squeezenet.ota import publish as publish_module
from squeezenet.ota.device import Device, StaleMetadata
from squeezenet.ota.publish import Repository, _now


def snapshot_of(device: Device) -> tuple[bytes, bytes]:
    return device.active_model().read_bytes(), device.state_file.read_bytes()


def refused(fleet, match: str, **update) -> None:
    before = snapshot_of(fleet.device)
    with pytest.raises(SqueezeNetError, match=match):
        fleet.device.update(fleet.url, MODEL, **update)
    assert snapshot_of(fleet.device) == before


def test_patch_then_full_file_and_the_bytes_per_update(fleet):
    second = model_file(scale=1.01)
    published = fleet.repo.publish(fleet.keys, MODEL, second)
    assert published.release == 2 and set(published.patches) == {1}
    result = fleet.device.update(fleet.url, MODEL)
    assert result.status == "installed" and result.via == "patch" and result.release == 2
    assert result.bytes_fetched <= 24_000 and result.target_bytes < len(second) / 3  # the patch, not the file
    assert fleet.device.confirm().status == "confirmed"
    assert fleet.device.active_model().read_bytes() == second
    third = model_file(seed=5)  # retrained from scratch: no patch pays, the full file is published alone
    assert fleet.repo.publish(fleet.keys, MODEL, third).patches == {}
    result = fleet.device.update(fleet.url, MODEL)
    assert result.via == "full" and fleet.device.active_model().read_bytes() == third
    state = fleet.device.read_state()
    assert state.slots[state.inactive]["release"] == 2  # the previous model stays for rollback
    assert fleet.device.confirm().status == "confirmed" and fleet.device.read_state().trial is None


def test_tampered_and_oversized_targets_are_refused(fleet):
    fleet.repo.publish(fleet.keys, MODEL, model_file(scale=1.01))
    patch = next((fleet.tmp / "repo" / "targets" / MODEL / "2").glob("*.sqzpatch"))
    original = patch.read_bytes()
    patch.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # same length
    refused(fleet, "refused|hash")
    patch.write_bytes(original + b"x" * 100)
    refused(fleet, "refused|length|download failed")
    patch.write_bytes(original)
    assert fleet.device.update(fleet.url, MODEL).via == "patch"


def test_edited_metadata_and_foreign_keys_are_refused(fleet):
    fleet.repo.publish(fleet.keys, MODEL, model_file(scale=1.01))
    role = fleet.tmp / "repo" / "metadata" / "2.demo.json"
    signed = role.read_bytes()
    role.write_bytes(signed.replace(b'"release":2', b'"release":9', 1))  # an edit, not re-signed
    refused(fleet, "refused")
    role.write_bytes(signed)
    # a release signed with another model's key
    fleet.repo.publish(fleet.keys, "other", model_file(seed=3))
    meta = fleet.repo.role(MODEL)
    meta.signed.version += 1
    fleet.repo._write(fleet.repo._sign(meta, fleet.keys.model("other")), f"{meta.signed.version}.{MODEL}.json")
    snapshot = fleet.repo.snapshot().signed
    versions = {**snapshot.meta, f"{MODEL}.json": publish_module.MetaFile(meta.signed.version)}
    fleet.repo._publish_snapshot(fleet.keys, _now(), versions, snapshot.version + 1)
    refused(fleet, "refused")


def test_a_root_signed_below_its_threshold_is_refused(fleet):
    root = fleet.repo.newest_root()
    root.signed.version = 2
    fleet.repo._write(fleet.repo._sign(root, fleet.keys.signer("root-1")), "2.root.json")  # 1 of the 2 needed
    fleet.repo._commit()
    refused(fleet, "refused")


def test_rollbacks_mix_and_match_and_older_releases_are_refused(fleet, monkeypatch):
    old_timestamp = (fleet.tmp / "repo" / "metadata" / "timestamp.json").read_bytes()
    fleet.repo.publish(fleet.keys, MODEL, model_file(scale=1.01))
    assert fleet.device.update(fleet.url, MODEL).release == 2
    fleet.device.confirm()
    metadata = fleet.tmp / "repo" / "metadata"
    new_timestamp = (metadata / "timestamp.json").read_bytes()
    (metadata / "timestamp.json").write_bytes(old_timestamp)  # a replayed timestamp
    refused(fleet, "refused")
    (metadata / "timestamp.json").write_bytes(new_timestamp)
    fleet.repo.publish(fleet.keys, MODEL, model_file(scale=1.02))  # release 3: a snapshot the device has not seen
    current = fleet.repo.timestamp().signed.snapshot_meta.version
    newest = metadata / f"{current}.snapshot.json"
    kept = newest.read_bytes()
    newest.write_bytes((metadata / f"{current - 1}.snapshot.json").read_bytes())  # mix and match
    refused(fleet, "refused")
    newest.write_bytes(kept)
    with pytest.raises(OptionError, match="not above the last published release"):
        fleet.repo.publish(fleet.keys, MODEL, model_file(scale=1.03), release=3)
    monkeypatch.setattr(Repository, "releases", lambda self, model: [])  # a signed index whose newest is release 1
    fleet.repo.publish(fleet.keys, MODEL, model_file(scale=1.03), release=1)
    before = snapshot_of(fleet.device)
    assert fleet.device.update(fleet.url, MODEL).status == "current" and snapshot_of(fleet.device) == before


def test_expired_metadata_keeps_the_current_model_serving(fleet, capsys):
    fleet.repo.publish(fleet.keys, MODEL, model_file(scale=1.01))
    fleet.repo.refresh(fleet.keys, now=_now() - timedelta(days=3))  # a frozen repository
    before = snapshot_of(fleet.device)
    with pytest.raises(StaleMetadata, match=r"expired.*release 1 keeps serving"):
        fleet.device.update(fleet.url, MODEL)
    assert snapshot_of(fleet.device) == before
    from squeezenet.cli import main

    code = main(["update", "--state", str(fleet.device.dir), "--repo", fleet.url, "--model", MODEL])
    assert code == 3 and "keeps serving" in capsys.readouterr().err
    fleet.repo.refresh(fleet.keys)  # the cron job runs again
    assert fleet.device.update(fleet.url, MODEL).release == 2


def test_a_patch_that_does_not_rebuild_the_signed_file_gives_way_to_the_full_file(fleet, monkeypatch):
    decoy = model_file(scale=0.99)
    real_patch = publish_module.make_patch
    monkeypatch.setattr(publish_module, "make_patch", lambda old, new: real_patch(old, decoy))
    second = model_file(scale=1.01)
    assert fleet.repo.publish(fleet.keys, MODEL, second).patches
    result = fleet.device.update(fleet.url, MODEL)
    assert result.via == "full" and fleet.device.active_model().read_bytes() == second


def test_models_for_another_architecture_or_class_list_are_not_installed(fleet, tmp_path):
    fleet.repo.publish(fleet.keys, MODEL, model_file(layout="v1_0"))
    before = snapshot_of(fleet.device)
    assert fleet.device.update(fleet.url, MODEL).status == "current" and snapshot_of(fleet.device) == before
    fixed = Device(tmp_path / "fixed")
    fixed.provision(tmp_path / "repo" / "metadata" / "1.root.json", fleet.base, release=1, fix_classes=True)
    fleet.repo.publish(fleet.keys, MODEL, model_file(scale=1.01, classes=("ants", "bees", "wasps")))
    assert fixed.update(fleet.url, MODEL).status == "current"
    assert fleet.device.update(fleet.url, MODEL).release == 3  # the same release fits a device whose classes may change


@pytest.mark.parametrize("step", ["downloaded", "slot-written", "pending-recorded", "swapped", "confirmed"])
def test_power_loss_after_each_durable_step(fleet, step):
    second = model_file(scale=1.01)
    fleet.repo.publish(fleet.keys, MODEL, second)
    argv = [
        sys.executable,
        "-m",
        "squeezenet",
        "update",
        "--state",
        str(fleet.device.dir),
        "--repo",
        fleet.url,
        "--model",
        MODEL,
    ]
    if step == "confirmed":
        assert subprocess.run(argv, capture_output=True, timeout=120).returncode == 0
        argv = [*argv[:6], "confirm"]
    env = {**os.environ, "SQUEEZENET_OTA_CRASH_AFTER": step}
    killed = subprocess.run(argv, capture_output=True, env=env, timeout=120)
    assert killed.returncode == -9, killed.stderr[-500:]
    assert fleet.device.active_model().read_bytes() in (fleet.base, second)  # the old or the new, never a mixture
    fleet.device.read_state()  # parses
    with open(fleet.device.dir / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a killed run holds no lock
        fcntl.flock(lock, fcntl.LOCK_UN)
    fleet.device.update(fleet.url, MODEL)  # the next run finishes what was started
    fleet.device.confirm()
    state = fleet.device.read_state()
    assert fleet.device.active_model().read_bytes() == second and state.release == 2 and state.trial is None


def test_a_release_failing_its_probe_is_reverted_marked_bad_and_never_retried(fleet, monkeypatch):
    real_probe = publish_module.make_probe

    def wrong_labels(contents, seed, count):
        probe = real_probe(contents, seed, count)
        return {**probe, "labels": [(label + 1) % contents.config.num_classes for label in probe["labels"]]}

    with monkeypatch.context() as patched:
        patched.setattr(publish_module, "make_probe", wrong_labels)
        fleet.repo.publish(fleet.keys, MODEL, model_file(scale=1.01))
    assert fleet.device.update(fleet.url, MODEL).release == 2
    result = fleet.device.confirm()
    assert result.status == "reverted" and result.release == 1 and "failed its probe set" in result.message
    assert fleet.device.active_model().read_bytes() == fleet.base and fleet.device.read_state().bad == [2]
    assert fleet.device.update(fleet.url, MODEL).status == "current"  # never retried
    third = model_file(scale=1.02)
    fleet.repo.publish(fleet.keys, MODEL, third)
    assert fleet.device.update(fleet.url, MODEL).release == 3 and fleet.device.confirm().status == "confirmed"


@pytest.mark.parametrize("mode", ["drip", "stall"])
def test_drip_fed_and_stalled_downloads_end_by_the_deadline(fleet, mode):
    fleet.repo.publish(fleet.keys, MODEL, model_file(scale=1.01))
    Handler.mode = mode
    start = time.monotonic()
    refused(fleet, "download failed", deadline=1.5, read_timeout=1.0)
    assert time.monotonic() - start < 6


def test_two_updates_never_interleave(fleet):
    with open(fleet.device.dir / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        refused(fleet, "another update is running")


def test_keys_publish_and_update_misuse_is_one_line(capsys, tmp_path, fleet):
    from squeezenet.cli import main

    assert main(["keys", "init", str(tmp_path / "k"), "--root-keys", "1", "--root-threshold", "2"]) == 2
    assert main(["keys", "init", str(fleet.tmp / "keys")]) == 2  # never overwrites a key set
    assert main(["publish", "--repo", str(fleet.tmp / "repo"), "--keys", str(fleet.tmp / "keys")]) == 2
    (tmp_path / "bad.sqz").write_bytes(b"SQZF" + bytes(40))
    assert (
        main(
            [
                "publish",
                "--repo",
                str(fleet.tmp / "repo"),
                "--keys",
                str(fleet.tmp / "keys"),
                "--model",
                MODEL,
                "--weights",
                str(tmp_path / "bad.sqz"),
            ]
        )
        == 2
    )
    assert main(["update", "--state", str(tmp_path / "none"), "--repo", fleet.url, "--model", MODEL]) == 2
    assert (
        main(
            [
                "update",
                "init",
                "--state",
                str(tmp_path / "x"),
                "--root",
                str(tmp_path / "bad.sqz"),
                "--weights",
                str(tmp_path / "bad.sqz"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 6 and all(line.startswith("squeezenet") for line in err) and "Traceback" not in "".join(err)
    shutil.rmtree(tmp_path / "x", ignore_errors=True)
    assert not (tmp_path / "x" / "state.json").exists()


DEVICE_SCRIPT = """
import sys
for name in ("torch", "torchvision", "openvino", "nncf"):
    sys.modules[name] = None
from squeezenet.cli import main
state, url = sys.argv[1:3]
codes = [main(["update", "--state", state, "--repo", url, "--model", "demo"]),
         main(["update", "confirm", "--state", state])]
print(codes, sorted(m for m in sys.modules if m.split(".")[0] == "torch" and sys.modules[m] is not None))
"""


def test_the_device_side_needs_no_training_stack(fleet):
    fleet.repo.publish(fleet.keys, MODEL, model_file(scale=1.01))
    done = subprocess.run(
        [sys.executable, "-c", DEVICE_SCRIPT, str(fleet.device.dir), fleet.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[0, 0] []"
    assert fleet.device.read_state().release == 2 and fleet.device.read_state().trial is None


def test_the_earlier_flag_spellings_still_work_and_say_how_they_are_written_now(fleet, capsys):
    from helpers import run_cli

    fleet.repo.publish(fleet.keys, MODEL, model_file(scale=1.01))
    state = str(fleet.device.dir)
    assert run_cli(capsys, "update", "--state", state, "--repo", fleet.url, "--model", MODEL)[0] == 0
    code, out, err = run_cli(capsys, "update", "--state", state, "--confirm")
    assert code == 0 and "confirmed" in out
    assert err.strip() == "squeezenet update: --confirm is deprecated: write `squeezenet update confirm`"
    code, out, err = run_cli(capsys, "update", "status", "--state", state, "--json")
    assert code == 0 and '"trial": null' in out and err == ""
    keys, repo = fleet.tmp / "keys", fleet.tmp / "repo"
    code, out, err = run_cli(capsys, "publish", "--refresh", "--repo", repo, "--keys", keys)
    assert code == 0 and out.startswith("refreshed") and "write `squeezenet publish refresh`" in err
    assert run_cli(capsys, "publish", "refresh", "--repo", repo, "--keys", keys)[2] == ""
    code, _, err = run_cli(capsys, "update", "confirm", "--state", state, "--status")
    assert code == 2 and "name one action" in err
