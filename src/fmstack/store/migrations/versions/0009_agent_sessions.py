"""agent runs belong to a session (a conversation) and may replay an earlier run

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agent_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('replay_of', sa.String(length=40), nullable=True))
        batch_op.create_index('ix_agent_runs_session_id', ['session_id'])


def downgrade() -> None:
    with op.batch_alter_table('agent_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_agent_runs_session_id')
        batch_op.drop_column('replay_of')
        batch_op.drop_column('session_id')
