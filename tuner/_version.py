"""The engine version, recorded in experiment state."""

__version__ = "0.1.0"
