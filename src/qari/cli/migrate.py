"""`qari migrate`: bring the database schema to the latest revision."""

from __future__ import annotations

from qari.adapters.persistence import migrate as migrations
from qari.config import get_settings


def migrate() -> None:
    """Apply all database migrations."""
    migrations.upgrade(get_settings().resolved_database_url)
