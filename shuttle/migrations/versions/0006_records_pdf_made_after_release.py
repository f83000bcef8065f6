"""records.pdf of a big released package is made after the release (its state)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 16:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("disclosure_request") as batch:
        batch.add_column(sa.Column("pdf_state", sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("disclosure_request") as batch:
        batch.drop_column("pdf_state")
