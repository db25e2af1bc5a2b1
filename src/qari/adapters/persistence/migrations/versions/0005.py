"""engine cycles and scan results

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "engine_cycles",
        sa.Column("id", ID, primary_key=True),
        sa.Column("exchange_id", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("symbols", sa.Integer, nullable=False),
        sa.Column("candidates", sa.Integer, nullable=False),
        sa.Column("users", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("entries_allowed", sa.Boolean, nullable=False),
        sa.Column("health", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_engine_cycles"),
    )
    op.create_index("ix_engine_cycles_exchange_at", "engine_cycles", ["exchange_id", "at"])
    op.create_table(
        "engine_scan_results",
        sa.Column("id", ID, primary_key=True),
        sa.Column("cycle_id", ID, nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("agreeing", sa.Integer, nullable=False),
        sa.Column("layers_agreed", sa.JSON, nullable=False),
        sa.Column("vetoes", sa.JSON, nullable=False),
        sa.Column("candidate", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_engine_scan_results"),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["engine_cycles.id"],
            name="fk_engine_scan_results_cycle_id_engine_cycles",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_engine_scan_results_cycle_id", "engine_scan_results", ["cycle_id"])
    op.create_table(
        "engine_gate_outcomes",
        sa.Column("id", ID, primary_key=True),
        sa.Column("cycle_id", ID, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("blocking_code", sa.String(8), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_engine_gate_outcomes"),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["engine_cycles.id"],
            name="fk_engine_gate_outcomes_cycle_id_engine_cycles",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_engine_gate_outcomes_cycle_id", "engine_gate_outcomes", ["cycle_id"])
    op.create_index("ix_engine_gate_outcomes_user_id", "engine_gate_outcomes", ["user_id"])


def downgrade() -> None:
    op.drop_table("engine_gate_outcomes")
    op.drop_table("engine_scan_results")
    op.drop_index("ix_engine_cycles_exchange_at", table_name="engine_cycles")
    op.drop_table("engine_cycles")
