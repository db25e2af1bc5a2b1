"""Tables for accounts."""

from __future__ import annotations
