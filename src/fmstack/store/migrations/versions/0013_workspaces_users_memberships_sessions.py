"""workspaces, users, memberships, console sessions; every workspace-owned table gets workspace_id

Existing rows go to the workspace "default" (created here), so a single-user install keeps
working unchanged. Names that were unique across the server (knowledge bases, guardrail and
prompt versions, agents) become unique per workspace.

Revision ID: 0013
Revises: 0012
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

SCOPED = [
    'agent_runs', 'agents', 'api_keys', 'audit_log', 'conversations', 'eval_results', 'eval_runs',
    'guardrails', 'jobs', 'kb_chunks', 'kb_documents', 'knowledge_bases', 'messages', 'prompts', 'usage',
]
# names unique server-wide before, per workspace now: table -> (old constraint on PostgreSQL, columns)
UNIQUE = {
    'knowledge_bases': ('knowledge_bases_name_key', ['name']),
    'guardrails': ('guardrails_name_version_key', ['name', 'version']),
    'prompts': ('prompts_name_version_key', ['name', 'version']),
}
# SQLite reflects unnamed constraints; this convention names them so that they can be dropped
SQLITE_NAMES = {'uq': 'uq_%(table_name)s_%(column_0_N_name)s', 'pk': 'pk_%(table_name)s'}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def upgrade() -> None:
    dt = sa.DateTime(timezone=True)
    op.create_table('workspaces',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', dt, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.execute(sa.text("INSERT INTO workspaces (id, name, created_at) VALUES ('default', 'default', CURRENT_TIMESTAMP)"))
    op.create_table('users',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=True),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', dt, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('memberships',
    sa.Column('user_id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'workspace_id')
    )
    op.create_table('user_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', dt, nullable=False),
    sa.Column('expires_at', dt, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    sqlite = _sqlite()
    for table in SCOPED:
        names = SQLITE_NAMES if sqlite and (table in UNIQUE or table == 'agents') else None
        with op.batch_alter_table(table, schema=None, naming_convention=names) as batch_op:
            batch_op.add_column(sa.Column('workspace_id', sa.String(length=40), server_default='default', nullable=False))
            batch_op.create_index(batch_op.f(f'ix_{table}_workspace_id'), ['workspace_id'], unique=False)
            batch_op.create_foreign_key(f'fk_{table}_workspace_id', 'workspaces', ['workspace_id'], ['id'], ondelete='CASCADE')
            if table in UNIQUE:
                pg_name, columns = UNIQUE[table]
                old = f"uq_{table}_{'_'.join(columns)}" if sqlite else pg_name
                batch_op.drop_constraint(old, type_='unique')
                batch_op.create_unique_constraint(f'uq_{table}_workspace', ['workspace_id', *columns])
            if table == 'agents':
                batch_op.drop_constraint('pk_agents' if sqlite else 'agents_pkey', type_='primary')
                batch_op.create_primary_key('pk_agents', ['workspace_id', 'name'])


def downgrade() -> None:
    sqlite = _sqlite()
    for table in SCOPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == 'agents':
                batch_op.drop_constraint('pk_agents', type_='primary')
                batch_op.create_primary_key('agents_pkey', ['name'])
            if table in UNIQUE:
                pg_name, columns = UNIQUE[table]
                batch_op.drop_constraint(f'uq_{table}_workspace', type_='unique')
                batch_op.create_unique_constraint(pg_name, columns)
            if not sqlite:
                batch_op.drop_constraint(f'fk_{table}_workspace_id', type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_workspace_id'))
            batch_op.drop_column('workspace_id')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))
    op.drop_table('user_sessions')
    op.drop_table('memberships')
    op.drop_table('users')
    op.drop_table('workspaces')
