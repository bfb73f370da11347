"""rename orders.note and users.username

Customers sign in by email now; the username stays for the old mobile app.

Revision ID: e9a4b1c7f356
Revises: 7c3e5a9f0d48
Create Date: 2024-03-27 13:15:48.671390

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e9a4b1c7f356'
down_revision = '7c3e5a9f0d48'
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column('orders', 'note', new_column_name='customer_note')  # deliberate: 5 column rename breaks the running code during a rolling deploy
    op.alter_column('users', 'username', new_column_name='legacy_username')


def downgrade():
    pass  # deliberate: 5 empty downgrade: the renames cannot be rolled back
