"""The schema comes from Alembic migrations and matches the ORM tables."""

from __future__ import annotations

import sqlite3

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import fresh_database_url

from fmstack.store import Base, Database


def url_for(tmp_path, name: str) -> str:
    return fresh_database_url(name) or f"sqlite:///{tmp_path / (name + '.db')}"


def test_new_database_is_at_head_and_matches_the_tables(tmp_path):
    db = Database(url_for(tmp_path, "a"))
    head = ScriptDirectory.from_config(db.alembic_config()).get_current_head()
    assert db.revision() == head
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    if db.engine.dialect.name == "sqlite":
        journal = sqlite3.connect(tmp_path / "a.db").execute("PRAGMA journal_mode").fetchone()[0]
        assert journal == "wal"


def test_downgrade_and_upgrade_keep_working(tmp_path):
    db = Database(url_for(tmp_path, "b"))
    with db.engine.begin() as conn:
        cfg = db.alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert db.revision() is None
    db.upgrade()
    assert db.revision() is not None


def test_opening_an_existing_database_keeps_its_data(tmp_path):
    url = url_for(tmp_path, "c")
    from fmstack.chat import ConversationStore

    first = ConversationStore(Database(url))
    cid = first.create(title="keep").id
    again = ConversationStore(Database(url))
    assert again.get(cid).title == "keep"


def test_a_failing_migration_changes_nothing(tmp_path):
    """All or nothing: a step that fails rolls back the DDL before it, on SQLite too."""
    import shutil

    from fmstack.store.db import MIGRATIONS

    url = url_for(tmp_path, "d")
    db = Database(url)
    before = db.revision()
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts)
    (scripts / "versions" / "9999_bad.py").write_text(
        "from alembic import op\nimport sqlalchemy as sa\n"
        f"revision = '9999'\ndown_revision = {before!r}\n"
        "def upgrade():\n    op.create_table('will_vanish', sa.Column('id', sa.Integer, primary_key=True))\n"
        "    raise RuntimeError('boom')\n"
        "def downgrade():\n    pass\n"
    )
    original = db.alembic_config

    def config():
        cfg = original()
        cfg.set_main_option("script_location", str(scripts))
        return cfg

    db.alembic_config = config
    try:
        db.upgrade()
    except RuntimeError as e:
        assert "boom" in str(e)
    else:
        raise AssertionError("the bad migration did not fail")
    assert db.revision() == before
    from sqlalchemy import inspect

    assert "will_vanish" not in inspect(db.engine).get_table_names()


def test_a_database_of_the_previous_release_keeps_its_keys_and_endpoints(tmp_path):
    """A database made at 0011 (before roles, limits and encrypted secrets) is upgraded in place:
    its keys become owner keys that still work, its endpoint's plain-text API key still reads."""
    import hashlib

    from alembic import command
    from sqlalchemy import text

    from fmstack import Fmstack, Settings
    from fmstack.store.tables import utcnow

    url = url_for(tmp_path, "prev")
    old = Database(url, migrate=False)
    with old.engine.begin() as conn:
        cfg = old.alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0011")
    with old.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO api_keys (id, name, prefix, key_hash, created_at) VALUES ('key_old', 'old', 'fmk-old', :h, :t)"
            ),
            {"h": hashlib.sha256(b"fmk-old-secret").hexdigest(), "t": utcnow()},
        )
        conn.execute(
            text(
                "INSERT INTO model_endpoints (name, kind, base_url, model, api_key, created_at) "
                "VALUES ('legacy', 'chat', 'http://127.0.0.1:9/v1', 'm', 'sk-plain', :t)"
            ),
            {"t": utcnow()},
        )
    old.close()
    settings = Settings.from_env(env={"FMSTACK_DATA_DIR": str(tmp_path), "FMSTACK_DATABASE_URL": url})
    with Fmstack(settings) as fm:
        record = fm.keys.lookup("fmk-old-secret")
        assert record is not None and record.role == "owner" and record.rpm is None
        assert fm.models.specs["legacy"].api_key == "sk-plain"
        assert fm.endpoints.reseal(fm.secrets) == 1  # sealed now
        assert fm.models.specs["legacy"].api_key == "sk-plain"
    with Fmstack(settings) as fm:
        assert fm.models.specs["legacy"].api_key == "sk-plain"


def test_an_integer_no_column_holds_is_a_data_error_on_every_database(tmp_path):
    """Past 64 bits: PostgreSQL refuses it as out of range, SQLite's driver raises OverflowError;
    both reach callers as the DataError the server answers with a 400 (not a 500)."""
    from sqlalchemy import select
    from sqlalchemy.exc import DataError

    from fmstack.store import MessageRow

    db = Database(url_for(tmp_path, "ints"))
    with pytest.raises(DataError), db.session() as s:
        s.execute(select(MessageRow).offset(2**70)).all()
    with db.session() as s:  # the connection is fine after it
        assert s.execute(select(MessageRow).offset(2**63 - 1)).all() == []
    db.close()
