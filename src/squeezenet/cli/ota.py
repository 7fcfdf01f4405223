"""Over-the-air updates: ``keys init`` (signing keys), ``publish release|refresh`` (a TUF repository
of releases) and ``update install|init|confirm|status`` (the device side), each job a word."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import OptionError, SqueezeNetError
from ..ota.options import KeysOptions, PublishOptions, UpdateOptions
from .args import add_json, add_record, emit, record_from_args
from .exits import NO, OK, STALE

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
    add_record(p, KeysOptions)
    p.set_defaults(func=cmd_keys)


def cmd_keys(args: argparse.Namespace) -> int:
    options = record_from_args(KeysOptions, args)
    options.check()
    from ..ota.keys import init_keys

    for path in init_keys(args.directory, options.root_keys, options.root_threshold):
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
    add_record(p, PublishOptions, required=("repo", "keys"))
    add_json(p, "the result")
    p.set_defaults(func=cmd_publish)


def cmd_publish(args: argparse.Namespace) -> int:
    action = mode_of(args, "publish", PUBLISH_ACTIONS)
    options = record_from_args(PublishOptions, args)
    options.check()
    if action == "release" and not (options.model and options.weights):
        raise OptionError("model", "and {weights} name the release to publish (or: publish refresh)", "weights")
    from ..ota.keys import KeyStore
    from ..ota.publish import Repository

    repo, keys = Repository(options.repo), KeyStore(options.keys)
    if action == "refresh":
        if not repo.exists():
            raise OptionError("repo", f"{options.repo} holds no repository to refresh")
        versions = repo.refresh(keys)
        emit(versions) if args.json else print(
            f"refreshed {options.repo}: timestamp {versions['timestamp']}, snapshot {versions['snapshot']}"
        )
        return 0
    published = repo.publish(
        keys, options.model, Path(options.weights).read_bytes(), options.release, options.probe_count
    )
    if args.json:
        emit(vars(published))
        return 0
    patches = ", ".join(f"from {b}: {n:,} bytes" for b, n in published.patches.items()) or "none"
    print(f"published {options.model} release {published.release}: {published.full_bytes:,} bytes; patches {patches}")
    return 0


def add_update(sub: Any) -> None:
    p = sub.add_parser("update", help="the device: install the newest release it can run, verified, into A/B slots")
    add_actions(
        p,
        UPDATE_ACTIONS,
        "install (the default): the newest release from --repo; init: provision with --root and --weights; "
        "confirm: run the probe set of the release on trial, commit or revert; status: the active model",
    )
    add_record(p, UpdateOptions, required=("state",))
    add_json(p, "the result")
    p.set_defaults(func=cmd_update)


def cmd_update(args: argparse.Namespace) -> int:
    action = mode_of(args, "update", UPDATE_ACTIONS)
    options = record_from_args(UpdateOptions, args)
    options.check()
    if action == "init" and not (options.root and options.weights):
        raise SqueezeNetError("update init provisions a device: it needs --root and --weights")
    if action == "install" and not (options.repo and options.model):
        raise OptionError("repo", "and {model} say where updates come from", "model")
    from ..ota.device import Device, StaleMetadata

    device = Device(options.state)
    if action == "init":
        state = device.provision(options.root, Path(options.weights).read_bytes(), options.release, options.fix_classes)
        print(f"provisioned {options.state}: release {state.release} in slot {state.active}")
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
        result = (
            device.confirm() if action == "confirm" else device.update(options.repo, options.model, options.deadline)
        )
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
