"""Action requests raised from exception items, their audit trail and outbox deliveries.

`exc_action_requests` (one row per request, typed parameters as JSON, approval, delivery and
confirmation facts), `exc_action_events` (who did what, when) and `exc_action_deliveries`
(one row per request and outbox channel); `acct_users.permissions` (what a user may do
beyond their role, e.g. approve as a planner lead).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("acct_users") as batch:
        batch.add_column(sa.Column("permissions", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "exc_action_requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_uid", sa.String(36), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("system", sa.String(16), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("exception_id", sa.Integer(), sa.ForeignKey("exc_items.id"), nullable=True),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("location_id", sa.String(64), nullable=True),
        sa.Column("item_id", sa.String(64), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("approval_rule", sa.String(128), nullable=True),
        sa.Column("approver_role", sa.String(32), nullable=True),
        sa.Column("approver_permission", sa.String(32), nullable=True),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("expected_by", sa.Date(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("confirmed_by", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("request_uid", name="uq_exc_action_requests_uid"),
    )
    op.create_index("ix_exc_action_requests_status", "exc_action_requests", ["status"])
    op.create_index("ix_exc_action_requests_exception_id", "exc_action_requests", ["exception_id"])
    op.create_table(
        "exc_action_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "request_id", sa.Integer(), sa.ForeignKey("exc_action_requests.id"), nullable=False
        ),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_exc_action_events_request_id", "exc_action_events", ["request_id"])
    op.create_table(
        "exc_action_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "request_id", sa.Integer(), sa.ForeignKey("exc_action_requests.id"), nullable=False
        ),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.UniqueConstraint("request_id", "channel", name="uq_exc_action_deliveries_channel"),
    )
    op.create_index("ix_exc_action_deliveries_request_id", "exc_action_deliveries", ["request_id"])


def downgrade() -> None:
    op.drop_table("exc_action_deliveries")
    op.drop_table("exc_action_events")
    op.drop_table("exc_action_requests")
    with op.batch_alter_table("acct_users") as batch:
        batch.drop_column("permissions")
