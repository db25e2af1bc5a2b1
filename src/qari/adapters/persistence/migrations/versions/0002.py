"""exchange connections

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exchange_connections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_exchange_connections_user_id_users"),
            nullable=False,
        ),
        sa.Column("exchange", sa.String(20), nullable=False),
        sa.Column("key_hint", sa.String(8), nullable=False),
        sa.Column(
            "secret_id",
            sa.Integer,
            sa.ForeignKey(
                "vault_secrets.id",
                ondelete="SET NULL",
                name="fk_exchange_connections_secret_id_vault_secrets",
            ),
            nullable=True,
        ),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_detail", sa.String(1000), nullable=False, server_default=""),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("ip_restricted", sa.Boolean, nullable=True),
        sa.Column("ips", sa.JSON, nullable=False),
        sa.Column("permissions", sa.JSON, nullable=False),
        sa.Column("key_expires_at", TS, nullable=True),
        sa.Column("verified_at", TS, nullable=True),
        sa.Column("checked_at", TS, nullable=True),
        sa.Column("reachable", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("user_id", "exchange", name="uq_exchange_connections_user_exchange"),
    )
    op.create_index("ix_exchange_connections_user_id", "exchange_connections", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_exchange_connections_user_id", table_name="exchange_connections")
    op.drop_table("exchange_connections")
