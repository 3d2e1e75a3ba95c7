"""The schema comes from Alembic migrations and matches the ORM tables."""

from __future__ import annotations

import sqlite3

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from fmstack.store import Base, Database


def test_new_database_is_at_head_and_matches_the_tables(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    head = ScriptDirectory.from_config(db.alembic_config()).get_current_head()
    assert db.revision() == head
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    journal = sqlite3.connect(tmp_path / "a.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "wal"


def test_downgrade_and_upgrade_keep_working(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'b.db'}")
    with db.engine.begin() as conn:
        cfg = db.alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert db.revision() is None
    db.upgrade()
    assert db.revision() is not None


def test_opening_an_existing_database_keeps_its_data(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    from fmstack.chat import ConversationStore

    first = ConversationStore(Database(url))
    cid = first.create(title="keep").id
    again = ConversationStore(Database(url))
    assert again.get(cid).title == "keep"
