"""add order channel

Revision ID: d2b8f4a61c09
Revises: a1f6c8e3b274
Create Date: 2023-08-21 18:02:11.950283

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd2b8f4a61c09'
down_revision = 'a1f6c8e3b274'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('orders', sa.Column('channel', sa.String(length=20), nullable=False))  # deliberate: 5 NOT NULL column added without a default: fails once orders has rows


def downgrade():
    op.drop_column('orders', 'channel')
