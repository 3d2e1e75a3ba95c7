"""files (OpenAI's Files API) and batches with their per-line results

Revision ID: 0017
Revises: 0016
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def _workspace():
    return sa.Column('workspace_id', sa.String(length=40), server_default='default', nullable=False)


def _workspace_fk():
    return sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE')


def upgrade() -> None:
    op.create_table('files',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=500), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    _workspace(),
    _workspace_fk(),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_files_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_files_purpose'), ['purpose'], unique=False)
        batch_op.create_index(batch_op.f('ix_files_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('batches',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('endpoint', sa.String(length=100), nullable=False),
    sa.Column('input_file_id', sa.String(length=40), nullable=False),
    sa.Column('output_file_id', sa.String(length=40), nullable=True),
    sa.Column('error_file_id', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('job_id', sa.String(length=40), nullable=True),
    sa.Column('caller', sa.JSON(), nullable=True),
    sa.Column('completion_window', sa.String(length=10), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('in_progress_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finalizing_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelling_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    _workspace(),
    _workspace_fk(),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batches_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_batches_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_batches_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('batch_results',
    sa.Column('batch_id', sa.String(length=40), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('custom_id', sa.String(length=500), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=True),
    _workspace(),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], ondelete='CASCADE'),
    _workspace_fk(),
    sa.PrimaryKeyConstraint('batch_id', 'line')
    )
    with op.batch_alter_table('batch_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_results_workspace_id'), ['workspace_id'], unique=False)


def downgrade() -> None:
    op.drop_table('batch_results')
    op.drop_table('batches')
    op.drop_table('files')
