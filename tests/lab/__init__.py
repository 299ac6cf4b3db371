"""The netwire lab: simulated hosts on one machine (see docs/lab.md)."""

from .core import Lab, LabError, LabHost, Node  # noqa: F401
