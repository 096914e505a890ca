"""Notification outbox: a failed delivery keeps its payload, rounds and next retry time.

Deliveries recorded as failed before stay failed (given up); new failures wait as pending.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exc_alert_notifications") as table:
        table.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        table.add_column(sa.Column("rounds", sa.Integer(), nullable=False, server_default="1"))
        table.add_column(sa.Column("last_attempt_at", sa.DateTime(), nullable=True))
        table.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exc_alert_notifications") as table:
        for column in ("next_attempt_at", "last_attempt_at", "rounds", "payload"):
            table.drop_column(column)
