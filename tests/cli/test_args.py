"""Flags made one way: every field of an options record that has help is a flag, made from the record."""

import dataclasses

import pytest

from squeezenet.cli import build_parser
from squeezenet.cli.args import Number, flag, record_from_args
from squeezenet.compression.options import AdaptOptions, CompressOptions
from squeezenet.deploy.options import ExportOptions
from squeezenet.explore.options import ExploreOptions
from squeezenet.ota.options import KeysOptions, PublishOptions, UpdateOptions
from squeezenet.train.config import TrainConfig

RECORDS = {
    "compress": CompressOptions,
    "adapt": AdaptOptions,
    "export": ExportOptions,
    "train": TrainConfig,
    "explore": ExploreOptions,
    "keys": KeysOptions,
    "publish": PublishOptions,
    "update": UpdateOptions,
}
REQUIRED = {
    "train": ["--out", "run"],
    "explore": ["sr", "--out", "sweep"],
    "compress": ["--weights", "imagenet", "--out", "m.sqz"],
    "adapt": ["--weights", "README.md", "--data", "fashion-mnist", "--out", "m.sqz"],
    "export": ["--weights", "imagenet", "--out", "m.onnx"],
    "keys": ["init", "keys"],
    "publish": ["--repo", "repo", "--keys", "."],
    "update": ["--state", "state"],
}


@pytest.mark.parametrize("command", RECORDS)
def test_each_record_field_with_help_is_a_flag_made_from_it(command):
    record = RECORDS[command]
    parser = build_parser()._subparsers._group_actions[0].choices[command]
    actions = {a.dest: a for a in parser._actions}
    defaults = record()
    for field in dataclasses.fields(record):
        if "help" not in field.metadata:
            continue
        action = actions[field.name]
        assert action.option_strings[0] == flag(field.name) and action.help.startswith(field.metadata["help"])
        if field.type.startswith("bool"):
            continue
        assert action.default == getattr(defaults, field.name) or action.required
        if isinstance(action.type, Number):
            low = field.metadata.get("low", 0)
            assert (action.type.low, action.type.above) == (low, field.metadata.get("above", False))
            assert "high" not in field.metadata or action.type.high == field.metadata["high"]
    # the defaults of the command line are the record's own
    args = build_parser().parse_args([command, *REQUIRED[command]])
    parsed = record_from_args(record, args)
    required = [name for name, action in actions.items() if action.required and hasattr(defaults, name)]
    assert parsed == dataclasses.replace(defaults, **{k: getattr(parsed, k) for k in required})
