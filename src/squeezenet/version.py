"""The package version, in a module of its own: every layer may read it without importing the rest."""

__version__ = "0.2.0"
