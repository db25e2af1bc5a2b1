"""user_settings.guard_order_cap_usdt / guard_day_cap_usdt: a user's own blast-radius caps (issue 16)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(36, 18).with_variant(sa.String(64), "sqlite")  # as in 0001: SQLite NUMERIC is a float


def upgrade() -> None:
    with op.batch_alter_table("user_settings") as batch:
        batch.add_column(sa.Column("guard_order_cap_usdt", MONEY, nullable=True))
        batch.add_column(sa.Column("guard_day_cap_usdt", MONEY, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_settings") as batch:
        batch.drop_column("guard_day_cap_usdt")
        batch.drop_column("guard_order_cap_usdt")
