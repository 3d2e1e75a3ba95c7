"""guardrails, versioned

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('guardrails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'version')
    )
    with op.batch_alter_table('guardrails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guardrails_name'), ['name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('guardrails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guardrails_name'))
    op.drop_table('guardrails')
