"""The PostgreSQL + pgvector search backend (knowledge/pgvector.py), on a real PostgreSQL server
with the extension (FMSTACK_TEST_POSTGRES; CI's PostgreSQL pass): the same hits as the in-process
index, writes searchable by another process at once, and an index that is derived data."""

from __future__ import annotations

import os

import httpx
import numpy as np
import pytest
from conftest import LOOPBACK_ALLOW, Server, fresh_database_url
from sqlalchemy import text

from fmstack import Fmstack, Settings
from fmstack.knowledge.index import ChunkIndex
from fmstack.knowledge.pgvector import PgVectorIndex, available

pytestmark = pytest.mark.skipif(
    not os.environ.get("FMSTACK_TEST_POSTGRES"),
    reason="needs a PostgreSQL server with pgvector (FMSTACK_TEST_POSTGRES)",
)

DOCS = {
    "tower.md": "# Eiffel Tower\n\nThe Eiffel Tower in Paris is 330 metres tall. It was finished in 1889 for a world fair.",
    "reef.md": "# Coral reefs\n\nThe Great Barrier Reef lies off Queensland, Australia. Divers see turtles and reef sharks there.",
    "wall.md": "# 长城\n\n长城位于中国北方，全长两万多公里，是古代的防御工程。",
    "tea.md": "# 茶\n\n绿茶起源于中国，龙井茶产于杭州西湖一带。",
    "rust.md": "# Rust\n\nRust is a systems programming language. Its borrow checker prevents data races at compile time.",
    "python.md": "# Python\n\nPython is a programming language with garbage collection; the GIL serialises bytecode.",
}


@pytest.fixture
def sdk(tmp_path):
    url = fresh_database_url("pgvector")
    fm = Fmstack(
        Settings.from_env(
            env={
                "FMSTACK_DATA_DIR": str(tmp_path),
                "FMSTACK_DATABASE_URL": url,
                "FMSTACK_OUTBOUND_ALLOW": LOOPBACK_ALLOW,
            }
        )
    )
    yield fm, url
    fm.close()


def ingest(fm: Fmstack, folder, docs: dict[str, str]) -> None:
    folder.mkdir(exist_ok=True)
    for name, body in docs.items():
        (folder / name).write_text(body, encoding="utf-8")
    report = fm.knowledge.ingest("facts", [str(folder / n) for n in docs])
    assert all(f.status in ("added", "updated") for f in report.files), report.files


def test_the_database_index_finds_what_the_in_process_one_finds(sdk, tmp_path):
    fm, _ = sdk
    assert available(fm.db) and isinstance(fm.knowledge.index, PgVectorIndex)  # chosen on its own
    fm.knowledge.create("facts")
    ingest(fm, tmp_path / "docs", DOCS)
    kb = fm.knowledge.settings("facts").id
    pg, memory = fm.knowledge.index, ChunkIndex(fm.db)
    docs = {d.source.rsplit("/", 1)[-1]: d.id for d in fm.knowledge.documents("facts")}
    for terms in (
        ["eiffel", "tower", "tall"],
        ["长城", "多长"],
        ["programming", "language"],
        ["the", "turtles"],
        ["reef", "turtles", "reef"],  # a word the query repeats counts as often
    ):
        ours, theirs = pg.keyword(kb, terms, 5), memory.keyword(kb, terms, 5)
        assert [h.chunk_id for h in ours] == [h.chunk_id for h in theirs] and ours, terms
        assert np.allclose([h.score for h in ours], [h.score for h in theirs], atol=1e-4)  # the same BM25
    for q in ("How tall is the Eiffel Tower?", "长城有多长？", "which language prevents data races"):
        v = fm.embed([q], model="multilingual-e5-small")[0]
        ours, theirs = pg.dense(kb, v, 4), memory.dense(kb, v, 4)
        assert [h.chunk_id for h in ours] == [h.chunk_id for h in theirs]
        assert np.allclose([h.score for h in ours], [h.score for h in theirs], atol=1e-4)
        allowed = {docs["rust.md"], docs["python.md"]}  # a filter still gives what it allows, nearest first
        assert [h.chunk_id for h in pg.dense(kb, v, 4, allowed)] == [
            h.chunk_id for h in memory.dense(kb, v, 4, allowed)
        ]
        ids = [h.chunk_id for h in theirs]
        assert np.allclose(pg.vectors(kb, ids), memory.vectors(kb, ids))
    for hostile in (["o'neil", "a\\b", "!", "&|", ":*", "'); DROP TABLE kb_vectors; --"], ["(", ")", "<->"]):
        assert (
            pg.keyword(kb, hostile, 5) == memory.keyword(kb, hostile, 5) == []
        )  # quoted, never parsed as SQL or tsquery
    hits = fm.knowledge.retrieve("facts", "龙井茶产于哪里？")  # the whole hybrid path, in Chinese
    assert hits[0].source.endswith("tea.md")


def test_a_write_is_searchable_by_another_process_at_once(sdk, tmp_path):
    fm, url = sdk
    fm.knowledge.create("facts")
    ingest(fm, tmp_path / "docs", {"tower.md": DOCS["tower.md"]})
    srv = Server(tmp_path / "other", env={"FMSTACK_DATABASE_URL": url}).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=60) as h:

            def top(query: str) -> str:
                r = h.post("/api/knowledge-bases/facts/retrieve", json={"query": query})
                assert r.status_code == 200, r.text
                return r.json()["data"][0]["source"].rsplit("/", 1)[-1]

            assert top("How tall is the Eiffel Tower?") == "tower.md"
            ingest(fm, tmp_path / "docs", {"tea.md": DOCS["tea.md"]})
            with fm.db.engine.connect() as conn:  # the writer indexed it: the other process has nothing to do
                kb_rev, done = conn.execute(
                    text(
                        "SELECT kb.revision, st.revision FROM knowledge_bases kb "
                        "JOIN kb_vector_state st ON st.kb_id = kb.id WHERE kb.name = 'facts'"
                    )
                ).one()
            assert kb_rev == done
            assert top("龙井茶产于哪里？") == "tea.md"
            tea = next(d for d in fm.knowledge.documents("facts") if d.source.endswith("tea.md"))
            fm.knowledge.delete_document("facts", tea.id)
            assert top("龙井茶产于哪里？") == "tower.md"  # the only one left
    finally:
        srv.stop()


def test_the_index_is_derived_data(sdk, tmp_path):
    fm, url = sdk
    fm.knowledge.create("facts")
    ingest(fm, tmp_path / "docs", DOCS)
    with fm.db.engine.begin() as conn:  # lost: built again from the chunks at the next search
        conn.execute(text("DROP TABLE kb_vectors, kb_vector_state"))
    assert fm.knowledge.retrieve("facts", "长城有多长")[0].source.endswith("wall.md")  # even by this process
    kb = fm.knowledge.settings("facts").id
    before = fm.knowledge.index.keyword(kb, ["reef", "turtles", "长城"], 5)
    with fm.db.engine.begin() as conn:  # the inverted index alone, lost: built again from the indexed rows
        conn.execute(text("DROP TABLE kb_postings"))
    assert fm.knowledge.index.keyword(kb, ["reef", "turtles", "长城"], 5) == before and len(before) == 2
    with fm.db.engine.begin() as conn:
        conn.execute(text("DROP TABLE kb_vectors, kb_vector_state"))
    again = Fmstack(Settings.from_env(env={"FMSTACK_DATA_DIR": str(tmp_path / "again"), "FMSTACK_DATABASE_URL": url}))
    try:
        assert again.knowledge.retrieve("facts", "Great Barrier Reef")[0].source.endswith("reef.md")
        assert again.knowledge.reindex("facts") == {"knowledge_base": "facts", "backend": "pgvector", "chunks": 6}
    finally:
        again.close()
    memory = Fmstack(
        Settings.from_env(
            env={
                "FMSTACK_DATA_DIR": str(tmp_path / "mem"),
                "FMSTACK_DATABASE_URL": url,
                "FMSTACK_SEARCH_BACKEND": "memory",
            }
        )
    )
    try:
        assert isinstance(memory.knowledge.index, ChunkIndex)
        assert memory.knowledge.retrieve("facts", "Great Barrier Reef")[0].source.endswith("reef.md")
    finally:
        memory.close()
