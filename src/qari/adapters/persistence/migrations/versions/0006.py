"""platform_state.operator_user_id: the operator is claimed once, atomically

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("platform_state") as batch:
        batch.add_column(sa.Column("operator_user_id", sa.Integer, nullable=True))
    op.execute(
        "UPDATE platform_state SET operator_user_id = (SELECT MIN(id) FROM users WHERE is_operator)"
        " WHERE id = 1"
    )


def downgrade() -> None:
    with op.batch_alter_table("platform_state") as batch:
        batch.drop_column("operator_user_id")
