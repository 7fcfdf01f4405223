"""Over-the-air updates: ``keys init`` (signing keys), ``publish release|refresh`` (a TUF repository
of releases) and ``update install|init|confirm|status`` (the device side), each job a word."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import OptionError, SqueezeNetError
from ..ota.keys import MAX_ROOT_KEYS
from ..ota.release import MAX_PROBE_COUNT, MAX_RELEASE, PROBE_COUNT
from .args import add_json, emit, existing_dir, existing_file, integer, output_dir, real
from .exits import NO, OK, STALE

MAX_DEADLINE = 24 * 3600.0  # seconds: a deadline is a bound, never "no deadline"
PUBLISH_ACTIONS = ("release", "refresh")  # the first: what a bare `publish` does
UPDATE_ACTIONS = ("install", "init", "confirm", "status")


def add_actions(p: argparse.ArgumentParser, actions: tuple[str, ...], help: str) -> None:
    """The job of a run as a word (optional: the first of ``actions`` by default), and the earlier
    ``--ACTION`` flags, hidden, which ``mode_of`` still reads."""
    p.add_argument("action", nargs="?", choices=actions, help=help)
    for action in actions[1:]:
        p.add_argument(f"--{action}", action="store_true", help=argparse.SUPPRESS)


def mode_of(args: argparse.Namespace, command: str, actions: tuple[str, ...]) -> str:
    """The action a run names (the first of ``actions`` when none): as a word, or by the earlier
    ``--ACTION`` flag, which still works and says once how it is written now."""
    flagged = [a for a in actions if getattr(args, a, False) is True]
    if len(flagged) + (args.action is not None) > 1:
        raise SqueezeNetError(f"{command}: name one action of {', '.join(actions)}")
    if flagged:
        print(
            f"squeezenet {command}: --{flagged[0]} is deprecated: write `squeezenet {command} {flagged[0]}`",
            file=sys.stderr,
        )
        return flagged[0]
    return args.action or actions[0]


def add_keys(sub: Any) -> None:
    p = sub.add_parser("keys", help="make the ed25519 signing keys of a model repository")
    p.add_argument("action", choices=["init"], help="init: a new key set (never overwrites one)")
    p.add_argument("directory", help="the key folder (keep it private: the root keys offline)")
    p.add_argument("--root-keys", type=integer(1, MAX_ROOT_KEYS), default=1, help="root keys to make")
    p.add_argument(
        "--root-threshold", type=integer(1, MAX_ROOT_KEYS), default=1, help="how many root keys must sign a root"
    )
    p.set_defaults(func=cmd_keys)


def cmd_keys(args: argparse.Namespace) -> int:
    from ..ota.keys import init_keys

    for path in init_keys(args.directory, args.root_keys, args.root_threshold):
        print(f"wrote {path}")
    return 0


def add_publish(sub: Any) -> None:
    p = sub.add_parser("publish", help="release a .sqz model into a TUF repository (signed, with patches)")
    add_actions(
        p,
        PUBLISH_ACTIONS,
        "release (the default): a new release of --model from --weights; refresh: only re-sign the timestamp "
        "(and a snapshot about to expire), from cron",
    )
    p.add_argument("--repo", required=True, type=output_dir, help="the repository folder (served as static files)")
    p.add_argument("--keys", required=True, type=existing_dir, help="the key folder of squeezenet keys init")
    p.add_argument("--model", help="the model's name: its delegated role and target folder")
    p.add_argument("--weights", type=existing_file, help="the release: a .sqz file")
    p.add_argument(
        "--release", type=integer(1, MAX_RELEASE), help="release number (default: one above the last; never lower)"
    )
    p.add_argument(
        "--probe-count", type=integer(1, MAX_PROBE_COUNT), default=PROBE_COUNT, help="inputs in the release's probe set"
    )
    add_json(p, "the result")
    p.set_defaults(func=cmd_publish)


def cmd_publish(args: argparse.Namespace) -> int:
    action = mode_of(args, "publish", PUBLISH_ACTIONS)
    if action == "release" and not (args.model and args.weights):
        raise OptionError("model", "and {weights} name the release to publish (or: publish refresh)", "weights")
    from ..ota.keys import KeyStore
    from ..ota.publish import Repository

    repo, keys = Repository(args.repo), KeyStore(args.keys)
    if action == "refresh":
        if not repo.exists():
            raise OptionError("repo", f"{args.repo} holds no repository to refresh")
        versions = repo.refresh(keys)
        emit(versions) if args.json else print(
            f"refreshed {args.repo}: timestamp {versions['timestamp']}, snapshot {versions['snapshot']}"
        )
        return 0
    published = repo.publish(keys, args.model, Path(args.weights).read_bytes(), args.release, args.probe_count)
    if args.json:
        emit(vars(published))
        return 0
    patches = ", ".join(f"from {b}: {n:,} bytes" for b, n in published.patches.items()) or "none"
    print(f"published {args.model} release {published.release}: {published.full_bytes:,} bytes; patches {patches}")
    return 0


def add_update(sub: Any) -> None:
    p = sub.add_parser("update", help="the device: install the newest release it can run, verified, into A/B slots")
    add_actions(
        p,
        UPDATE_ACTIONS,
        "install (the default): the newest release from --repo; init: provision with --root and --weights; "
        "confirm: run the probe set of the release on trial, commit or revert; status: the active model",
    )
    p.add_argument("--state", required=True, type=output_dir, help="the device's state folder")
    p.add_argument("--repo", help="the repository's URL (its metadata/ and targets/ below it)")
    p.add_argument("--model", help="the model this device runs")
    p.add_argument(
        "--deadline",
        type=real(0.0, MAX_DEADLINE, above=True),
        default=60.0,
        help="seconds each download may take in all",
    )
    p.add_argument("--root", type=existing_file, help="init: the root metadata the device ships with")
    p.add_argument("--weights", type=existing_file, help="init: the model the device ships with")
    p.add_argument("--release", type=integer(0, MAX_RELEASE), default=0, help="init: the release the shipped model is")
    p.add_argument("--fix-classes", action="store_true", help="init: accept only releases with the shipped classes")
    add_json(p, "the result")
    p.set_defaults(func=cmd_update)


def cmd_update(args: argparse.Namespace) -> int:
    action = mode_of(args, "update", UPDATE_ACTIONS)
    if action == "init" and not (args.root and args.weights):
        raise SqueezeNetError("update init provisions a device: it needs --root and --weights")
    if action == "install" and not (args.repo and args.model):
        raise OptionError("repo", "and {model} say where updates come from", "model")
    from ..ota.device import Device, StaleMetadata

    device = Device(args.state)
    if action == "init":
        state = device.provision(args.root, Path(args.weights).read_bytes(), args.release, args.fix_classes)
        print(f"provisioned {args.state}: release {state.release} in slot {state.active}")
        return 0
    if action == "status":
        state = device.read_state()
        info = {
            "active": str(device.active_model(state)),
            "release": state.release,
            "trial": state.trial,
            "bad": state.bad,
            "model": state.model,
        }
        emit(info) if args.json else print(
            f"{info['active']}: release {state.release}" + (" (on trial)" if state.trial else "")
        )
        return 0
    try:
        result = device.confirm() if action == "confirm" else device.update(args.repo, args.model, args.deadline)
    except StaleMetadata as exc:
        print(f"squeezenet: {exc}", file=sys.stderr)
        return STALE  # the metadata expired: nothing installed, the current model serves
    if args.json:
        emit(result.to_dict())
    else:
        what = {
            "installed": f"installed release {result.release} by {result.via}",
            "current": f"release {result.release} is the newest this device can run",
            "confirmed": f"release {result.release} confirmed",
            "reverted": "reverted",
            "nothing-to-confirm": f"release {result.release}: nothing on trial",
        }[result.status]
        fetched = f"; {result.bytes_fetched:,} bytes fetched in {result.seconds:.1f} s" if result.bytes_fetched else ""
        print(f"{what}{fetched}" + (f" ({result.message})" if result.message else ""))
    return OK if result.status != "reverted" else NO
