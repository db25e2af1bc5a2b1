"""task engine: engine_workers (each live `qari worker`'s heartbeat, idle ones included)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engine_workers",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("threads", sa.Integer, nullable=False),
        sa.Column("in_flight", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("engine_workers")
