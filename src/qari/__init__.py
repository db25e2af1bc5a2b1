"""QARI: a self-hostable, multi-user, spot-only autonomous crypto trading platform."""

__version__ = "0.1.0"
