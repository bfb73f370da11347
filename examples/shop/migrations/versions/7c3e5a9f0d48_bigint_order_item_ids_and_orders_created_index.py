"""bigint order item ids and orders created_at index

order_items.id ran out of room in the load test; the order history page sorts by created_at.

Revision ID: 7c3e5a9f0d48
Revises: d2b8f4a61c09
Create Date: 2024-01-09 08:47:26.004517

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c3e5a9f0d48'
down_revision = 'd2b8f4a61c09'
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column('order_items', 'id',  # deliberate: 5 direct int -> bigint type change rewrites the table under an exclusive lock
               existing_type=sa.Integer(),
               type_=sa.BigInteger(),
               existing_nullable=False)
    op.create_index('ix_orders_created_at', 'orders', ['created_at'], unique=False)  # deliberate: 5 create_index without CONCURRENTLY on the big orders table


def downgrade():
    op.drop_index('ix_orders_created_at', table_name='orders')
    op.alter_column('order_items', 'id',
               existing_type=sa.BigInteger(),
               type_=sa.Integer(),
               existing_nullable=False)
