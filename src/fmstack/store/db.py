"""The database handle: engine, sessions, and migrating to the newest schema on open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from ..errors import ConfigError

MIGRATIONS = Path(__file__).parent / "migrations"
MAX_INT = 2**63 - 1  # the largest integer a column holds (BIGINT; SQLite's INTEGER)


class Database:
    def __init__(self, url: str, *, migrate: bool = True):
        self.url = url
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if str(path) not in ("", ":memory:"):
                path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = create_engine(url, pool_pre_ping=True)
        except Exception as e:  # bad URL, missing driver
            raise ConfigError(f"cannot open database {url!r}: {e} (check FMSTACK_DATABASE_URL)") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "handle_error", _sqlite_overflow)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            self.upgrade()

    def alembic_config(self):
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations, all or nothing: a failing step leaves the schema (and data) as it was."""
        from alembic import command

        engine = self.engine
        if engine.dialect.name == "sqlite":
            # pysqlite commits DDL on its own; hand transaction control to SQLAlchemy for this run
            # (the recipe from SQLAlchemy's SQLite notes) so DDL is rolled back with the rest.
            # Foreign keys are off while the schema changes (SQLite's own procedure for rebuilding a
            # table: dropping the old copy must not cascade into its children) and checked at the end.
            engine = create_engine(self.url, poolclass=NullPool)
            event.listen(engine, "connect", lambda c, r: _sqlite_pragmas(c, r, foreign_keys=False))
            event.listen(engine, "connect", lambda dbapi_conn, _r: setattr(dbapi_conn, "isolation_level", None))
            event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        try:
            with engine.begin() as conn:
                cfg = self.alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                if engine.dialect.name == "sqlite":
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration left rows without their parent: {broken[:5]}")
        finally:
            if engine is not self.engine:
                engine.dispose()

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        with self.sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record, foreign_keys: bool = True) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_overflow(ctx: ExceptionContext) -> None:
    """An integer SQLite cannot hold (beyond 64 bits) is the value's fault, as PostgreSQL reports
    it (NumericValueOutOfRange, a DataError): the same error on both databases, not an
    OverflowError that reads as the server's."""
    if isinstance(ctx.original_exception, OverflowError):
        raise DataError(ctx.statement, ctx.parameters, ctx.original_exception) from ctx.original_exception
