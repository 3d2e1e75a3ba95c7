"""fine-tuning: datasets, tuning jobs and their events, tuned models, alias changes; a correction on rated messages

Revision ID: 0018
Revises: 0017
"""

from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def _workspace():
    return sa.Column('workspace_id', sa.String(length=40), server_default='default', nullable=False)


def _workspace_fk():
    return sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE')


def upgrade() -> None:
    op.create_table('alias_changes',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('alias', sa.String(length=200), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('previous', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    _workspace(),
    _workspace_fk(),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alias_changes', schema=None) as batch_op:
        batch_op.create_index('ix_alias_changes_alias', ['workspace_id', 'alias', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alias_changes_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('datasets',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source', sa.JSON(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('splits', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    _workspace(),
    _workspace_fk(),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workspace_id', 'name', 'version')
    )
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datasets_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_datasets_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_datasets_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('tuned_models',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('tuning_job_id', sa.String(length=40), nullable=False),
    sa.Column('base_model', sa.String(length=200), nullable=False),
    sa.Column('base_path', sa.Text(), nullable=False),
    sa.Column('adapter_path', sa.Text(), nullable=False),
    sa.Column('lineage', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    _workspace(),
    _workspace_fk(),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('tuned_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tuned_models_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('tuning_jobs',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('base_model', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('dataset_id', sa.String(length=40), nullable=False),
    sa.Column('training_file', sa.String(length=40), nullable=True),
    sa.Column('validation_file', sa.String(length=40), nullable=True),
    sa.Column('hyperparameters', sa.JSON(), nullable=False),
    sa.Column('suffix', sa.String(length=64), nullable=True),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('job_id', sa.String(length=40), nullable=True),
    sa.Column('fine_tuned_model', sa.String(length=200), nullable=True),
    sa.Column('trained_tokens', sa.Integer(), nullable=True),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('error', sa.JSON(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('estimated_finish', sa.DateTime(timezone=True), nullable=True),
    _workspace(),
    _workspace_fk(),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tuning_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tuning_jobs_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tuning_jobs_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_tuning_jobs_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('tuning_events',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tuning_job_id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    _workspace(),
    sa.ForeignKeyConstraint(['tuning_job_id'], ['tuning_jobs.id'], ondelete='CASCADE'),
    _workspace_fk(),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tuning_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tuning_events_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tuning_events_tuning_job_id'), ['tuning_job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tuning_events_workspace_id'), ['workspace_id'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correction', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('correction')

    with op.batch_alter_table('tuning_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tuning_events_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_tuning_events_tuning_job_id'))
        batch_op.drop_index(batch_op.f('ix_tuning_events_created_at'))

    op.drop_table('tuning_events')
    with op.batch_alter_table('tuning_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tuning_jobs_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_tuning_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_tuning_jobs_created_at'))

    op.drop_table('tuning_jobs')
    with op.batch_alter_table('tuned_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tuned_models_workspace_id'))

    op.drop_table('tuned_models')
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_datasets_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_datasets_name'))
        batch_op.drop_index(batch_op.f('ix_datasets_created_at'))

    op.drop_table('datasets')
    with op.batch_alter_table('alias_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alias_changes_workspace_id'))
        batch_op.drop_index('ix_alias_changes_alias')

    op.drop_table('alias_changes')
