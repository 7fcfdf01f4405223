"""The one exception type the CLI turns into a one-line message and a nonzero exit."""


class SqueezeNetError(Exception):
    """A problem with the user's input (file, flag, data), reported without a traceback."""
