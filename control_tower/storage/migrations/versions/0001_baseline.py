"""Baseline: the app database as release 0.1.0 created it (accounts, exception workflow, alerts).

A database created before migrations existed (by `metadata.create_all`) holds some or all of
these tables already: each table is created only when missing, so such a database is adopted
as it is (and stamped when it has them all) before the later revisions run.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [target])


def _tables() -> list[tuple[str, list, list[tuple[str, list[str]]]]]:
    """(table, columns and constraints, indexes as (name, columns)) in creation order."""
    dt, text, i = sa.DateTime(), sa.Text(), sa.Integer()
    return [
        (
            "acct_users",
            [
                _id(),
                sa.Column("name", sa.String(128), nullable=False),
                sa.Column("role", sa.String(32), nullable=False),
                sa.Column("entity_ids", sa.JSON(), nullable=False),
                sa.Column("location_ids", sa.JSON(), nullable=False),
                sa.Column("disabled", sa.Boolean(), nullable=False),
                sa.Column("password_hash", sa.String(255), nullable=False),
                sa.Column("failed_attempts", i, nullable=False),
                sa.Column("locked_until", dt, nullable=True),
                sa.Column("created_at", dt, nullable=False),
                sa.Column("last_login_at", dt, nullable=True),
                sa.Column("password_changed_at", dt, nullable=False),
                sa.PrimaryKeyConstraint("id"),
                sa.UniqueConstraint("name"),
            ],
            [],
        ),
        (
            "acct_sessions",
            [
                _id(),
                sa.Column("user_id", i, nullable=False),
                sa.Column("digest", sa.String(64), nullable=False),
                sa.Column("created_at", dt, nullable=False),
                sa.Column("expires_at", dt, nullable=False),
                sa.Column("ended_at", dt, nullable=True),
                _fk("user_id", "acct_users.id"),
                sa.PrimaryKeyConstraint("id"),
                sa.UniqueConstraint("digest"),
            ],
            [("ix_acct_sessions_user_id", ["user_id"])],
        ),
        (
            "acct_tokens",
            [
                _id(),
                sa.Column("user_id", i, nullable=False),
                sa.Column("digest", sa.String(64), nullable=False),
                sa.Column("prefix", sa.String(16), nullable=False),
                sa.Column("label", sa.String(128), nullable=False),
                sa.Column("created_at", dt, nullable=False),
                sa.Column("last_used_at", dt, nullable=True),
                sa.Column("revoked_at", dt, nullable=True),
                _fk("user_id", "acct_users.id"),
                sa.PrimaryKeyConstraint("id"),
                sa.UniqueConstraint("digest"),
            ],
            [("ix_acct_tokens_user_id", ["user_id"])],
        ),
        (
            "exc_items",
            [
                _id(),
                sa.Column("type", sa.String(64), nullable=False),
                sa.Column("key", sa.String(255), nullable=False),
                sa.Column("status", sa.String(16), nullable=False),
                sa.Column("severity", sa.String(16), nullable=False),
                sa.Column("owner_role", sa.String(32), nullable=False),
                sa.Column("assignee", sa.String(128), nullable=True),
                sa.Column("location_id", sa.String(64), nullable=True),
                sa.Column("entity_id", sa.String(64), nullable=True),
                sa.Column("item_id", sa.String(64), nullable=True),
                sa.Column("sla_hours", sa.Float(), nullable=False),
                sa.Column("created_at", dt, nullable=False),
                sa.Column("last_seen_at", dt, nullable=False),
                sa.Column("times_seen", i, nullable=False),
                sa.Column("active", sa.Boolean(), nullable=False),
                sa.Column("last_action_at", dt, nullable=True),
                sa.Column("snoozed_until", dt, nullable=True),
                sa.Column("resolved_at", dt, nullable=True),
                sa.Column("resolution_code", sa.String(32), nullable=True),
                sa.Column("value_at_risk", sa.Float(), nullable=True),
                sa.Column("detail", sa.JSON(), nullable=False),
                sa.Column("version", i, nullable=False),
                sa.PrimaryKeyConstraint("id"),
                sa.UniqueConstraint("type", "key", name="uq_exc_items_type_key"),
            ],
            [("ix_exc_items_status_type", ["status", "type"])],
        ),
        (
            "exc_alert_notifications",
            [
                _id(),
                sa.Column("rule", sa.String(128), nullable=False),
                sa.Column("scope_value", sa.String(255), nullable=False),
                sa.Column("kind", sa.String(16), nullable=False),
                sa.Column("channel", sa.String(16), nullable=False),
                sa.Column("created_at", dt, nullable=False),
                sa.Column("status", sa.String(16), nullable=False),
                sa.Column("attempts", i, nullable=False),
                sa.Column("error", text, nullable=True),
                sa.Column("subject", text, nullable=False),
                sa.Column("body", text, nullable=False),
                sa.Column("exception_id", i, nullable=True),
                _fk("exception_id", "exc_items.id"),
                sa.PrimaryKeyConstraint("id"),
            ],
            [("ix_exc_alert_notifications_rule", ["rule"])],
        ),
        (
            "exc_alert_states",
            [
                _id(),
                sa.Column("rule", sa.String(128), nullable=False),
                sa.Column("scope_value", sa.String(255), nullable=False),
                sa.Column("state", sa.String(16), nullable=False),
                sa.Column("since", dt, nullable=False),
                sa.Column("evaluated_at", dt, nullable=False),
                sa.Column("period", sa.Date(), nullable=True),
                sa.Column("value", sa.Float(), nullable=True),
                sa.Column("streak", i, nullable=False),
                sa.Column("exception_id", i, nullable=True),
                sa.Column("last_notified_at", dt, nullable=True),
                sa.Column("notifications", i, nullable=False),
                _fk("exception_id", "exc_items.id"),
                sa.PrimaryKeyConstraint("id"),
                sa.UniqueConstraint("rule", "scope_value", name="uq_exc_alert_rule_scope"),
            ],
            [],
        ),
        (
            "exc_audit",
            [
                _id(),
                sa.Column("item_id", i, nullable=False),
                sa.Column("actor", sa.String(128), nullable=False),
                sa.Column("at", dt, nullable=False),
                sa.Column("action", sa.String(32), nullable=False),
                sa.Column("changes", sa.JSON(), nullable=False),
                sa.Column("version", i, nullable=False),
                sa.Column("note", text, nullable=True),
                _fk("item_id", "exc_items.id"),
                sa.PrimaryKeyConstraint("id"),
            ],
            [("ix_exc_audit_item_id", ["item_id"])],
        ),
        (
            "exc_comments",
            [
                _id(),
                sa.Column("item_id", i, nullable=False),
                sa.Column("author", sa.String(128), nullable=False),
                sa.Column("created_at", dt, nullable=False),
                sa.Column("body", text, nullable=False),
                _fk("item_id", "exc_items.id"),
                sa.PrimaryKeyConstraint("id"),
            ],
            [("ix_exc_comments_item_id", ["item_id"])],
        ),
    ]


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for table, columns, indexes in _tables():
        if table in existing:
            continue
        op.create_table(table, *columns)
        for name, index_columns in indexes:
            op.create_index(name, table, index_columns, unique=False)


def downgrade() -> None:
    for table, _columns, _indexes in reversed(_tables()):
        op.drop_table(table)
