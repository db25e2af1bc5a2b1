"""task engine: engine_units (units done, keyed by cycle+exchange+user), engine_shared_scans

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engine_units",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("cycle_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("exchange_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.Integer, primary_key=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.JSON, nullable=False),
    )
    op.create_table(
        "engine_shared_scans",
        sa.Column("cycle_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("exchange_id", sa.String(32), primary_key=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("engine_shared_scans")
    op.drop_table("engine_units")
