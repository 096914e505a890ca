"""In-app notifications, escalations, and the recipient of an addressed delivery.

`exc_user_notifications` (one notice to one user, read or not), `exc_escalations` (how far an
item past its SLA has escalated) and `exc_alert_notifications.target`: the address or URL of
a delivery meant for one person (a digest, an escalation notice), so the outbox retries it to
that person rather than to the installation's alert recipients.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exc_user_notifications",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(255), nullable=True),
        sa.Column("exception_id", sa.Integer(), sa.ForeignKey("exc_items.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
    )
    op.create_index(
        "ix_exc_user_notifications_user_read", "exc_user_notifications", ["user_name", "read_at"]
    )
    op.create_table(
        "exc_escalations",
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("exc_items.id"), primary_key=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_notified_at", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    with op.batch_alter_table("exc_alert_notifications") as batch:
        batch.add_column(sa.Column("target", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exc_alert_notifications") as batch:
        batch.drop_column("target")
    op.drop_table("exc_escalations")
    op.drop_index("ix_exc_user_notifications_user_read", table_name="exc_user_notifications")
    op.drop_table("exc_user_notifications")
