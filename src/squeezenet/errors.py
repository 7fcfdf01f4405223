"""The exceptions the CLI turns into a one-line message and a nonzero exit."""

from __future__ import annotations

from collections.abc import Callable


class SqueezeNetError(Exception):
    """A problem with the user's input (file, flag, data), reported without a traceback."""


class OptionError(SqueezeNetError):
    """A bad value of one field of an options record (``TrainConfig``, ``CompressOptions``, ...).

    The message names fields as ``{field}`` placeholders: a Python caller reads field names
    (``epochs must be at least 1``), the CLI its flags (``--epochs must be at least 1``).
    """

    def __init__(self, field: str, message: str, *others: str) -> None:
        self.field, self.message, self.others = field, message, others
        super().__init__(self.render(str))

    def render(self, name: Callable[[str], str]) -> str:
        return f"{name(self.field)} {self.message.format(**{o: name(o) for o in self.others})}"
