"""The fleet fixture of every over-the-air test (tests/ota/fleet_helpers.py)."""

from ota.fleet_helpers import fleet  # noqa: F401
