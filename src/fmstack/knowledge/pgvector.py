"""The PostgreSQL search backend: vectors in a pgvector column with an HNSW index, keyword search
with PostgreSQL's full-text machinery over the same jieba terms, both inside the database.

Every process that opens the database searches the same index, and a write is searchable as soon
as it is indexed (no snapshot to rebuild). The index is derived data: `kb_chunks` stays the record
(its vectors as bytes, its terms as text), and tables of this backend's own hold the searchable
copy — `kb_vectors` (one row per searchable chunk: its vector, its terms as a `tsvector`, the
number of terms), `kb_postings` (the inverted index: one row per term of each searchable chunk,
with the term's frequency there) and `kb_vector_state` (the knowledge-base revision each knowledge
base is indexed up to). A chunk that is deleted leaves the index with it (cascading foreign keys);
chunks that were added are indexed by the process that wrote them right after its transaction, or
else by the first search that finds the knowledge base's revision ahead of the index. Dropping
these tables loses nothing: they are built again from `kb_chunks` (the postings from `kb_vectors`).

Dense search is an HNSW index per vector dimension (a partial expression index, as one column holds
the vectors of every knowledge base's model) over half-precision copies of the vectors (half the
memory to walk; the hits are scored with the full vectors), with pgvector's iterative scan so that filters
(one knowledge base, allowed documents) still return k rows. Keyword scores are BM25 as the
in-process index computes them (Lucene's form, k1 = 1.5, b = 0.75), computed in SQL from the
postings of the query's terms alone (an index range per term, from an index that holds the
postings' columns, so the table's rows are not visited: the work grows with how many chunks hold
the query's words, not with how long those chunks are), in double precision.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.types import Integer, String

from ..store import Database
from .index import Hit
from .text import simplified

K1, B = 1.5, 0.75  # the in-process index's BM25 (knowledge/keywords.py)
# The HNSW graph (the in-process index's settings) and the candidate list a search keeps, chosen
# with `bench/retrieve.py --backend pgvector` (recall@10 against exact search, p50) at 100k chunks:
# pgvector's defaults (m 16, ef_construction 64) kept recall@10 0.876 at ef_search 100; with these,
# ef_search 100 / 128 / 160 keep 0.949 / 0.962 / 0.971 at nearly the same p50 (~11 ms).
HNSW_M, HNSW_EF_CONSTRUCTION = 32, 80
EF_SEARCH = 128

SCHEMA = [
    "CREATE EXTENSION IF NOT EXISTS vector",
    """CREATE TABLE IF NOT EXISTS kb_vectors (
        chunk_id integer PRIMARY KEY REFERENCES kb_chunks(id) ON DELETE CASCADE,
        kb_id varchar(40) NOT NULL,
        document_id varchar(40) NOT NULL,
        dim integer NOT NULL,
        embedding vector,
        tsv tsvector NOT NULL,
        n_terms integer NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS ix_kb_vectors_kb ON kb_vectors (kb_id, dim)",
    # (keyword search reads kb_postings; the full-text index it once read is not kept up)
    "DROP INDEX IF EXISTS ix_kb_vectors_tsv",
    """CREATE TABLE IF NOT EXISTS kb_postings (
        kb_id varchar(40) NOT NULL,
        term text NOT NULL,
        chunk_id integer NOT NULL REFERENCES kb_chunks(id) ON DELETE CASCADE,
        document_id varchar(40) NOT NULL,
        tf integer NOT NULL,
        n_terms integer NOT NULL,
        PRIMARY KEY (kb_id, term, chunk_id)
    )""",
    "CREATE INDEX IF NOT EXISTS ix_kb_postings_chunk ON kb_postings (chunk_id)",
    # keyword search reads a term's postings from this index alone (no visit to the table's rows)
    "CREATE INDEX IF NOT EXISTS ix_kb_postings_term ON kb_postings (kb_id, term) INCLUDE (chunk_id, document_id, tf, n_terms)",
    """CREATE TABLE IF NOT EXISTS kb_vector_state (
        kb_id varchar(40) PRIMARY KEY REFERENCES knowledge_bases(id) ON DELETE CASCADE,
        revision integer NOT NULL
    )""",
]

_STATE = text(
    """SELECT kb.revision, st.revision FROM knowledge_bases kb
       LEFT JOIN kb_vector_state st ON st.kb_id = kb.id WHERE kb.id = :kb"""
)

_CHECK = text(
    """SELECT kb.revision, st.revision, set_config('hnsw.ef_search', :ef, true),
              set_config('hnsw.iterative_scan', 'relaxed_order', true)
       FROM knowledge_bases kb LEFT JOIN kb_vector_state st ON st.kb_id = kb.id WHERE kb.id = :kb"""
)

_MISSING = """SELECT c.id, c.document_id, c.embedding, c.terms FROM kb_chunks c
       JOIN kb_documents d ON d.id = c.document_id
       WHERE c.kb_id = :kb AND c.level = 0 AND d.status = 'ready' {document}
         AND NOT EXISTS (SELECT 1 FROM kb_vectors v WHERE v.chunk_id = c.id)
       ORDER BY c.id"""

_INSERT = text(
    """INSERT INTO kb_vectors (chunk_id, kb_id, document_id, dim, embedding, tsv, n_terms)
       VALUES (:id, :kb, :doc, :dim, CAST(:vec AS vector), to_tsvector('simple', :terms), :n)
       ON CONFLICT (chunk_id) DO NOTHING"""
)

# A chunk's postings, from its row in kb_vectors: each lexeme of its tsvector with how often it occurs
# (the tsvector's positions, as the in-process index counts terms).
_POSTINGS = """
INSERT INTO kb_postings (kb_id, term, chunk_id, document_id, tf, n_terms)
SELECT v.kb_id, u.lexeme, v.chunk_id, v.document_id, coalesce(array_length(u.positions, 1), 1), v.n_terms
FROM kb_vectors v, unnest(v.tsv) u WHERE {which}
ON CONFLICT DO NOTHING
"""

# BM25 in SQL. `q`: the query's lexemes, parsed as the chunks' terms were, each with how often the
# query has it (a word the query repeats counts as often, as in the in-process index); `idf`: from
# in how many of the knowledge base's chunks each occurs (counted on the postings' index); the
# scores: a sum over the postings of the query's terms.
_KEYWORD = """
WITH q AS MATERIALIZED (
    SELECT lexeme AS term, coalesce(array_length(positions, 1), 1) AS times
    FROM unnest(to_tsvector('simple', :query))
),
idf AS MATERIALIZED (
    SELECT p.term, max(q.times) * ln(1 + (:total - count(*) + 0.5)::float8 / (count(*) + 0.5)::float8) AS w
    FROM kb_postings p JOIN q ON p.term = q.term WHERE p.kb_id = :kb GROUP BY p.term
)
SELECT p.chunk_id, sum(idf.w * p.tf / (p.tf + :k1 * (1 - :b + :b * p.n_terms / :avg))) AS score
FROM kb_postings p JOIN idf ON p.term = idf.term
WHERE p.kb_id = :kb {allowed}
GROUP BY p.chunk_id ORDER BY score DESC, p.chunk_id LIMIT :k
"""


def available(db: Database) -> bool:
    """Whether this database can hold the backend: PostgreSQL with the pgvector extension
    installed on the server (created here if it is not yet, where the role may)."""
    if db.engine.dialect.name != "postgresql":
        return False
    try:
        with db.engine.begin() as conn:
            if conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'vector'")).first():
                return True
            if not conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first():
                return False
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            return True
    except Exception:  # no right to create it: the in-process index serves
        return False


class PgVectorIndex:
    """`SearchIndex` (knowledge/index.py) inside PostgreSQL."""

    def __init__(self, db: Database, *, ef_search: int = EF_SEARCH):
        self.db = db
        self.ef_search = ef_search
        self._ready = False
        self._lock = threading.Lock()
        self._dims: set[int] = set()  # dimensions whose HNSW index exists
        self._stats: dict[str, tuple[int | None, int, float]] = {}  # kb -> (revision, chunks, mean terms)

    # -- keeping the index up to date ---------------------------------------------------------------
    def _schema(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            with self.db.engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('fmstack.kb_vectors'))"))  # one DDL at a time
                had_postings = conn.execute(text("SELECT to_regclass('kb_postings')")).scalar() is not None
                for stmt in SCHEMA:
                    conn.execute(text(stmt))
                if not had_postings:  # new, or lost: the postings of what is indexed already
                    conn.execute(text(_POSTINGS.format(which="true")))
                rows = conn.execute(text("SELECT DISTINCT dim FROM kb_vectors WHERE dim > 0")).scalars()
                for dim in rows:
                    self._graph(conn, dim)
            self._ready = True

    def _graph(self, conn: Any, dim: int) -> None:
        if dim in self._dims:
            return
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('fmstack.kb_vectors'))"))
        conn.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS ix_kb_vectors_hnsw_{dim} ON kb_vectors USING hnsw "
                f"((embedding::halfvec({dim})) halfvec_ip_ops) WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
                f"WHERE dim = {dim}"
            )
        )
        self._dims.add(dim)

    def refresh(self, kb_id: str, *, document_id: str | None = None, revision: int | None = None) -> int:
        """Index the knowledge base's chunks that are not yet (all of them, the first time);
        returns how many were added. Safe to call from any process at any time.

        A writer passes the document it stored and the revision its write made: when every write
        before it is indexed, only that document's chunks are read (at 100k chunks, looking for
        what is missing everywhere costs a second; one document's chunks, milliseconds)."""
        self._schema()
        written = revision
        with self.db.engine.begin() as conn:
            current, done = conn.execute(_STATE, {"kb": kb_id}).first() or (None, None)
            if current is None or current == done:
                return 0
            conn.execute(
                text("INSERT INTO kb_vector_state (kb_id, revision) VALUES (:kb, -1) ON CONFLICT DO NOTHING"),
                {"kb": kb_id},
            )
            # one indexer per knowledge base at a time; the others wait here, then find it done
            done = conn.execute(
                text("SELECT revision FROM kb_vector_state WHERE kb_id = :kb FOR UPDATE"), {"kb": kb_id}
            ).scalar()
            own = document_id is not None and written is not None and done == written - 1
            if own:
                revision = written
            else:
                revision = conn.execute(
                    text("SELECT revision FROM knowledge_bases WHERE id = :kb"), {"kb": kb_id}
                ).scalar()
            if done is not None and revision is not None and done >= revision:
                return 0
            added = 0
            batch: list[dict] = []
            missing = text(_MISSING.format(document="AND c.document_id = :doc" if own else ""))
            for cid, doc, emb, terms in conn.execute(missing, {"kb": kb_id, "doc": document_id}):
                vec = np.frombuffer(emb, dtype=np.float32) if emb else None
                words = simplified(terms or "")
                dim = 0 if vec is None else int(vec.shape[0])
                if dim:
                    self._graph(conn, dim)
                batch.append(
                    {
                        "id": cid,
                        "kb": kb_id,
                        "doc": doc,
                        "dim": dim,
                        "vec": None if vec is None else _literal(vec),
                        "terms": words,
                        "n": len(words.split()),
                    }
                )
                if len(batch) >= 500:
                    added += self._insert(conn, batch)
                    batch = []
            if batch:
                added += self._insert(conn, batch)
            conn.execute(
                text("UPDATE kb_vector_state SET revision = :rev WHERE kb_id = :kb"), {"rev": revision, "kb": kb_id}
            )
            return added

    @staticmethod
    def _insert(conn: Any, batch: list[dict]) -> int:
        """Index a batch of chunks: their rows, then their postings."""
        conn.execute(_INSERT, batch)
        postings = text(_POSTINGS.format(which="v.chunk_id = ANY(:ids)")).bindparams(
            bindparam("ids", type_=ARRAY(Integer))
        )
        conn.execute(postings, {"ids": [row["id"] for row in batch]})
        return len(batch)

    def rebuild(self, kb_id: str) -> int:
        """Index the knowledge base again from its chunks (after a restore, or to move a knowledge
        base that was searched in process into the database now rather than at its next search)."""
        self._schema()
        with self.db.engine.begin() as conn:
            conn.execute(text("DELETE FROM kb_vectors WHERE kb_id = :kb"), {"kb": kb_id})
            conn.execute(text("DELETE FROM kb_postings WHERE kb_id = :kb"), {"kb": kb_id})
            conn.execute(text("DELETE FROM kb_vector_state WHERE kb_id = :kb"), {"kb": kb_id})
        return self.refresh(kb_id)

    def _search(self, kb_id: str, stmt: Any, params: dict[str, Any], ef: int | None = None) -> list[Any]:
        """Run a search on one connection: first the check that the index has every write (else
        this search indexes them), then the query. Tables dropped under a running server (they
        are derived data) are made again."""
        try:
            return self._search_once(kb_id, stmt, params, ef)
        except ProgrammingError as e:
            if getattr(e.orig, "sqlstate", None) != "42P01":  # undefined_table
                raise
            with self._lock:
                self._ready, self._dims = False, set()
            return self._search_once(kb_id, stmt, params, ef)

    def _search_once(self, kb_id: str, stmt: Any, params: dict[str, Any], ef: int | None) -> list[Any]:
        self._schema()
        # the index's state, and (for this transaction only) the HNSW scan's candidate list and the
        # iterative scan that keeps filtered searches at k rows: one round trip
        check = _CHECK if ef is not None else _STATE
        with self.db.engine.connect() as conn:
            revision, done, *_ = conn.execute(check, {"kb": kb_id, "ef": str(ef)}).first() or (None, None)
            if revision is not None and revision != done:
                conn.rollback()
                self.refresh(kb_id)
                if ef is not None:
                    conn.execute(check, {"kb": kb_id, "ef": str(ef)})
            rows = list(conn.execute(stmt, params).all())
            conn.rollback()
        return rows

    # -- searching ----------------------------------------------------------------------------------
    def dense(self, kb_id: str, query: np.ndarray, k: int, allowed: set[str] | None = None) -> list[Hit]:
        dim = int(query.shape[0])
        where = "AND document_id = ANY(:allowed)" if allowed is not None else ""
        # the graph walks half-precision copies; the scores are the full vectors' inner products
        order = f"(embedding::halfvec({dim})) <#> CAST(:q AS halfvec({dim}))"
        exact = f"(embedding::vector({dim})) <#> CAST(:q AS vector({dim}))"
        stmt = text(
            f"SELECT chunk_id, -({exact}) AS score FROM kb_vectors "
            f"WHERE kb_id = :kb AND dim = {dim} {where} ORDER BY {order} LIMIT :k"
        )
        params: dict[str, Any] = {"kb": kb_id, "q": _literal(query), "k": k}
        if allowed is not None:
            stmt = stmt.bindparams(bindparam("allowed", type_=ARRAY(String)))
            params["allowed"] = sorted(allowed)
        rows = self._search(kb_id, stmt, params, ef=max(self.ef_search, k))
        hits = [Hit(int(c), float(s)) for c, s in rows]
        return sorted(hits, key=lambda h: -h.score)  # relaxed order: nearly sorted

    def keyword(self, kb_id: str, terms: list[str], k: int, allowed: set[str] | None = None) -> list[Hit]:
        if not terms:
            return []
        total, mean = self._corpus(kb_id)
        if not total:
            return []
        where = "AND p.document_id = ANY(:allowed)" if allowed is not None else ""
        stmt = text(_KEYWORD.format(allowed=where))
        params: dict[str, Any] = {
            "kb": kb_id,
            "query": " ".join(terms),
            "total": total,
            "avg": max(mean, 1e-9),
            "k1": K1,
            "b": B,
            "k": k,
        }
        if allowed is not None:
            stmt = stmt.bindparams(bindparam("allowed", type_=ARRAY(String)))
            params["allowed"] = sorted(allowed)
        return [Hit(int(c), float(s)) for c, s in self._search(kb_id, stmt, params)]

    def _corpus(self, kb_id: str) -> tuple[int, float]:
        """Searchable chunks and their mean number of terms (BM25's N and avgdl), per revision."""
        with self.db.engine.connect() as conn:
            revision = conn.execute(
                text("SELECT revision FROM kb_vector_state WHERE kb_id = :kb"), {"kb": kb_id}
            ).scalar()
            cached = self._stats.get(kb_id)
            if cached is not None and cached[0] == revision:
                return cached[1], cached[2]
            n, mean = conn.execute(
                text("SELECT count(*), coalesce(avg(n_terms), 0) FROM kb_vectors WHERE kb_id = :kb"), {"kb": kb_id}
            ).one()
        self._stats[kb_id] = (revision, int(n), float(mean))
        return int(n), float(mean)

    def vectors(self, kb_id: str, chunk_ids: list[int]) -> np.ndarray:
        """The stored vectors of these chunks, in the same order (zeros for an unknown id)."""
        if not chunk_ids:
            return np.zeros((0, 0), dtype=np.float32)
        stmt = text("SELECT id, embedding FROM kb_chunks WHERE kb_id = :kb AND id = ANY(:ids)").bindparams(
            bindparam("ids", type_=ARRAY(Integer))
        )
        with self.db.engine.connect() as conn:
            found = {
                int(c): np.frombuffer(e, dtype=np.float32)
                for c, e in conn.execute(stmt, {"kb": kb_id, "ids": [int(c) for c in chunk_ids]})
                if e
            }
        dim = next((v.shape[0] for v in found.values()), 0)
        out = np.zeros((len(chunk_ids), dim), dtype=np.float32)
        for i, c in enumerate(chunk_ids):
            v = found.get(c)
            if v is not None and v.shape[0] == dim:
                out[i] = v
        return out


def _literal(vec: np.ndarray) -> str:
    """A vector as pgvector's text form."""
    return "[" + ",".join(repr(float(x)) for x in vec) + "]"
