"""merge payments and audit branches

Revision ID: a1f6c8e3b274
Revises: c4d9e2f17a35, 5e7a0b3c9d12
Create Date: 2023-05-15 14:30:02.118734

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1f6c8e3b274'
down_revision = ('c4d9e2f17a35', '5e7a0b3c9d12')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
