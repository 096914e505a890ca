"""Exception items record when their condition began in the source (`event_at`).

Items stored before keep it empty and count their age from first detection until
detection sees them again and fills it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exc_items") as table:  # SQLite alters by copying the table
        table.add_column(sa.Column("event_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exc_items") as table:
        table.drop_column("event_at")
