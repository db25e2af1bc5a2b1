"""learning: model_versions.model (a Stage 3 model as data: LightGBM's text and the calibration)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("model_versions", sa.Column("model", sa.JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("model_versions", "model")
