"""All table modules, imported here so Alembic and tests see one complete metadata."""

from qari.adapters.persistence.tables import (  # noqa: F401
    accounts,
    alerts,
    decisions,
    engine,
    exchange,
    learning,
    trading,
)
