"""decision records: decisions, decision_candles, gate_evaluations.inputs

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", ID, primary_key=True),
        sa.Column("exchange_id", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("engine_version", sa.String(64), nullable=False),
        sa.Column("weights_version", sa.String(64), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("candidate", sa.Boolean, nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("inputs", sa.LargeBinary, nullable=False),  # zlib-compressed JSON
        sa.Column("verdict", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_at", "decisions", ["at"])
    op.create_index("ix_decisions_exchange_symbol_at", "decisions", ["exchange_id", "symbol", "at"])
    op.create_table(
        "decision_candles",
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.Column("candles", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hash", name="pk_decision_candles"),
    )
    op.create_index("ix_decision_candles_last_used_at", "decision_candles", ["last_used_at"])
    with op.batch_alter_table("gate_evaluations") as batch:
        batch.add_column(sa.Column("inputs", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gate_evaluations") as batch:
        batch.drop_column("inputs")
    op.drop_table("decision_candles")
    op.drop_table("decisions")
