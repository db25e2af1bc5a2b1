"""accounts and plans, secret vault

Revision ID: 0001
Revises: None
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MONEY = sa.Numeric(36, 18).with_variant(sa.String(64), "sqlite")  # SQLite NUMERIC is a float
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    plans = op.create_table(
        "plans",
        sa.Column("tier", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("price_usd_month", MONEY, nullable=False),
        sa.Column("features", sa.JSON, nullable=False),
    )
    op.bulk_insert(
        plans,
        [
            {"tier": "trial", "name": "Free Trial", "capacity": 5, "price_usd_month": 0, "features": []},
            {"tier": "pro", "name": "Pro", "capacity": 10, "price_usd_month": 49, "features": []},
            {
                "tier": "premium",
                "name": "Premium",
                "capacity": 20,
                "price_usd_month": 99,
                "features": ["personal_model"],
            },
        ],
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("is_operator", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column(
            "plan_tier",
            sa.String(20),
            sa.ForeignKey("plans.tier", name="fk_users_plan_tier_plans"),
            nullable=False,
            server_default="trial",
        ),
        sa.Column("trial_ends_at", TS, nullable=False),
        sa.Column("plan_active_until", TS, nullable=True),
        sa.Column("waiver", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("totp_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("totp_secret_id", sa.Integer, nullable=True),
        sa.Column("totp_last_step", sa.Integer, nullable=True),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("password_changed_at", TS, nullable=True),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_sessions_user_id_users"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
    )
    op.create_index("ix_login_attempts_email", "login_attempts", ["email"])
    op.create_index("ix_login_attempts_ip", "login_attempts", ["ip"])
    op.create_table(
        "vault_keys",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "vault_secrets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_vault_secrets_user_id_users"),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("exchange", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(255), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("wrap_nonce", sa.LargeBinary, nullable=False),
        sa.Column("key_version", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_vault_secrets_user_id", "vault_secrets", ["user_id"])
    op.create_table(
        "user_settings",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_user_settings_user_id_users"),
            primary_key=True,
        ),
        sa.Column("auto_trading", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("allocation_mode", sa.String(10), nullable=False, server_default="percent"),
        sa.Column("allocation_value", MONEY, nullable=False, server_default="10"),
        sa.Column("max_positions", sa.Integer, nullable=True),
        sa.Column("stop_loss_pct", MONEY, nullable=False, server_default="15"),
        sa.Column("personal_blacklist", sa.JSON, nullable=False, server_default="[]"),
        sa.Column("daily_loss_limit_r", MONEY, nullable=False, server_default="2"),
        sa.Column("weekly_loss_limit_r", MONEY, nullable=False, server_default="5"),
        sa.Column("learning_consent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("spread_limit_bps", sa.Integer, nullable=False, server_default="30"),
        sa.Column("cooldown_hours", sa.Integer, nullable=False, server_default="24"),
    )
    platform = op.create_table(
        "platform_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("engine_enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("kill_switch", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("blacklist", sa.JSON, nullable=False, server_default="[]"),
        sa.Column("updated_at", TS, nullable=True),
    )
    op.bulk_insert(platform, [{"id": 1, "engine_enabled": True, "kill_switch": False, "blacklist": []}])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor_user_id", sa.Integer, nullable=True),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor_user_id", "audit_log", ["actor_user_id"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "platform_state",
        "user_settings",
        "vault_secrets",
        "vault_keys",
        "login_attempts",
        "sessions",
        "users",
        "plans",
    ):
        op.drop_table(table)
