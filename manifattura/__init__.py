"""Manifattura: open-source platform for a city's urban-manufacturing programme."""

__version__ = "0.1.0"
