"""Re-promises of order lines recorded in the tower (`exc_line_promises`).

Each row is one re-promise: the new promised date, the one it replaced, the reason, who
and when. The first promise of a line is never changed.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exc_line_promises",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("promised_date", sa.Date(), nullable=False),
        sa.Column("previous_promised_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_exc_line_promises_line", "exc_line_promises", ["order_id", "line_no"])


def downgrade() -> None:
    op.drop_index("ix_exc_line_promises_line", table_name="exc_line_promises")
    op.drop_table("exc_line_promises")
