"""pending orders index and audit schema_version

Revision ID: f0c2d6e8a413
Revises: e9a4b1c7f356
Create Date: 2024-06-03 10:58:19.337142

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f0c2d6e8a413'
down_revision = 'e9a4b1c7f356'
branch_labels = None
depends_on = None

# Built without locking orders against writes; CONCURRENTLY cannot run inside a transaction.
PENDING_ORDERS_INDEX = """
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_status_pending
    ON orders (created_at)
    WHERE status = 'pending'
"""


def upgrade():
    op.add_column('audit_events', sa.Column('schema_version', sa.Integer(), server_default='1', nullable=False))
    # Events written since release 2.4 already carry {"changes": ...}.
    op.execute("UPDATE audit_events SET schema_version = 2 WHERE (payload::jsonb) ? 'changes'")
    with op.get_context().autocommit_block():
        op.execute(PENDING_ORDERS_INDEX)


def downgrade():
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_orders_status_pending")
    op.drop_column('audit_events', 'schema_version')
