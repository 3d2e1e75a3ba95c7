"""budget months: what each key spent and what calls in progress hold, per month

Revision ID: 0014
Revises: 0013
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('budget_months',
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('spent', sa.Float(), nullable=False),
    sa.Column('held', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key_id', 'month')
    )


def downgrade() -> None:
    op.drop_table('budget_months')
