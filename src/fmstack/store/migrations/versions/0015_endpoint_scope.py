"""model endpoints belong to the whole server ("") or to one workspace: scope joins the key

Existing endpoints were the whole server's and stay so.

Revision ID: 0015
Revises: 0014
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    names = {'pk': 'pk_%(table_name)s'} if sqlite else None
    with op.batch_alter_table('model_endpoints', schema=None, naming_convention=names) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=40), server_default='', nullable=False))
        batch_op.drop_constraint('pk_model_endpoints' if sqlite else 'model_endpoints_pkey', type_='primary')
        batch_op.create_primary_key('pk_model_endpoints', ['scope', 'name'])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM model_endpoints WHERE scope <> ''"))
    with op.batch_alter_table('model_endpoints', schema=None) as batch_op:
        batch_op.drop_constraint('pk_model_endpoints', type_='primary')
        batch_op.create_primary_key('model_endpoints_pkey', ['name'])
        batch_op.drop_column('scope')
