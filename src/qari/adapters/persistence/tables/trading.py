"""Tables for trading."""

from __future__ import annotations
