"""KPI sign-offs: who approved which KPI version (name, version, content hash), when and why.

`kpi_signoffs` holds the sign-offs made in the installation (`control-tower kpi certify`, the
catalog page); rows are only added, so the table is the audit trail of certification.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_signoffs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kpi", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("signed_by", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.UniqueConstraint("kpi", "version", "content_hash", name="uq_kpi_signoffs_version"),
    )
    op.create_index("ix_kpi_signoffs_kpi", "kpi_signoffs", ["kpi"])


def downgrade() -> None:
    op.drop_index("ix_kpi_signoffs_kpi", table_name="kpi_signoffs")
    op.drop_table("kpi_signoffs")
