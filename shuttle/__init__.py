"""Shuttle: indirect communication and shuttle mediation for restorative justice."""

__version__ = "0.1.0"
