"""All table modules, imported here so Alembic and tests see one complete metadata."""

from qari.adapters.persistence.tables import accounts, alerts, decisions, engine, exchange, trading  # noqa: F401
