"""trading: positions, orders, fills, gate evaluations, journal

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(36, 18).with_variant(sa.String(64), "sqlite")  # SQLite NUMERIC is a float
TS = sa.DateTime(timezone=True)


def _money(*names: str, nullable: bool = False) -> list[sa.Column]:
    return [sa.Column(name, MONEY, nullable=nullable) for name in names]


def upgrade() -> None:
    op.create_table(
        "positions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, nullable=False, index=True),
        sa.Column("exchange_id", sa.String(40), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("base", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("leg2_state", sa.String(20), nullable=False),
        *_money(
            "entry_price",
            "structural_stop",
            "stop_price",
            "pt1",
            "pt2",
            "leg1_qty",
            "leg2_qty",
            "planned_r_quote",
            "fee_rate",
            "bought_qty",
            "sold_qty",
            "fee_base",
            "fees_quote",
            "cost_quote",
            "proceeds_quote",
        ),
        *_money("blended_entry", "entered_qty_at_pt1", "realised_pnl_quote", "realised_r", nullable=True),
        sa.Column("exit_reason", sa.String(40), nullable=True),
        sa.Column("order_seq", sa.Integer, nullable=False),
        sa.Column("stop_mode", sa.String(20), nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("layer_results", sa.JSON, nullable=False),
        sa.Column("gate_evaluation_id", sa.Integer, nullable=True),
        sa.Column("leg1_expires_at", TS, nullable=False),
        sa.Column("leg2_expires_at", TS, nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_positions_user_symbol", "positions", ["user_id", "symbol"])
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("position_id", sa.Integer, sa.ForeignKey("positions.id", ondelete="CASCADE"), index=True),
        sa.Column("user_id", sa.Integer, nullable=False, index=True),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("qty_base", MONEY, nullable=False),
        sa.Column("price", MONEY, nullable=True),
        sa.Column("trigger_price", MONEY, nullable=True),
        sa.Column("client_order_id", sa.String(64), nullable=False, unique=True),
        sa.Column("exchange_order_id", sa.String(64), nullable=True),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("filled_base", MONEY, nullable=False),
        sa.Column("avg_price", MONEY, nullable=True),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("fee_currency", sa.String(20), nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "fills",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("position_id", sa.Integer, sa.ForeignKey("positions.id", ondelete="CASCADE"), index=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True),
        sa.Column("user_id", sa.Integer, nullable=False, index=True),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("trade_id", sa.String(64), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        *_money("price", "qty_base", "fee"),
        sa.Column("fee_currency", sa.String(20), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.UniqueConstraint("order_id", "trade_id", name="uq_fills_order_trade"),
    )
    op.create_table(
        "gate_evaluations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, nullable=False, index=True),
        sa.Column("exchange_id", sa.String(40), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=False, index=True),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("blocking_code", sa.String(4), nullable=True, index=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("results", sa.JSON, nullable=False),
        sa.Column("candidate", sa.JSON, nullable=False),
        sa.Column("at", TS, nullable=False, index=True),
    )
    op.create_table(
        "r_ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, nullable=False, index=True),
        sa.Column(
            "position_id",
            sa.Integer,
            sa.ForeignKey("positions.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        *_money("r", "pnl_quote"),
        sa.Column("at", TS, nullable=False, index=True),
    )
    op.create_table(
        "position_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("position_id", sa.Integer, sa.ForeignKey("positions.id", ondelete="CASCADE"), index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_table(
        "entry_locks",
        sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("symbol", sa.String(40), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("entry_locks", "position_events", "r_ledger", "gate_evaluations", "fills", "orders"):
        op.drop_table(table)
    op.drop_index("ix_positions_user_symbol", table_name="positions")
    op.drop_table("positions")
